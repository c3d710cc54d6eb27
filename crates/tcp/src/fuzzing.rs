//! Drives an endpoint or a host with arbitrary input and checks invariants after every
//! step; shared by the cargo-fuzz targets (`crates/tcp/fuzz`) and the proptests of the test
//! suite. Bytes decode into operations: segments with any flags, sequence and ACK numbers
//! anywhere in the 32-bit space, any length and options; user calls; and time jumps.
//!
//! Invariants (a violation panics, which the fuzzer reports):
//! - SND.UNA <= SND.NXT, modulo 2^32;
//! - every state change is an edge of the state diagram (`State::can_become`);
//! - the out-of-order buffer stays within [`crate::MAX_OUT_OF_ORDER`] segments, and the
//!   data delivered and not yet read never exceeds the receive buffer;
//! - after `on_timeout(now)`, no deadline is left at or before `now` (no timer loop, no
//!   deadline in the past).

use crate::host::{Datagram, Host, HostConfig};
use crate::{Connection, DataId, Flags, Output, Segment, Seq, State, TcpConfig, Timestamps};
use std::sync::Arc;
use synack_kernel::{RandomStreams, SimDuration, SimTime};

/// Reads the input a byte or a word at a time; zeros once it runs out.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }

    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn segment(input: &mut Input, ports: (u16, u16), near: (Seq, Seq)) -> Segment {
    let flags = Flags::from_bits(input.u8());
    // Half the time near the live numbers (so segments get past the window checks), half
    // anywhere in the 32-bit space.
    let mode = input.u8();
    let seq = if mode & 1 == 0 {
        near.0 + u32::from(input.u8())
    } else {
        Seq(input.u32())
    };
    let ack = if mode & 2 == 0 {
        near.1 + u32::from(input.u8())
    } else {
        Seq(input.u32())
    };
    let mut s = Segment::new(ports.0, ports.1, seq, ack, flags);
    s.len = u32::from(input.u8()) * 16;
    s.window = u32::from(input.u8()) << (input.u8() % 12);
    s.data = DataId {
        incarnation: 9,
        offset: u64::from(input.u8()),
    };
    if mode & 4 != 0 {
        s.mss = Some(u16::from(input.u8()) * 8);
    }
    if mode & 8 != 0 {
        s.timestamps = Some(Timestamps {
            val: input.u32(),
            ecr: input.u32(),
        });
    }
    s
}

fn check(conn: &Connection, out: &Output, recv_buffer: u32) {
    assert!(
        conn.snd_una().le(conn.snd_nxt()),
        "SND.UNA {} > SND.NXT {}",
        conn.snd_una(),
        conn.snd_nxt()
    );
    for t in &out.transitions {
        assert!(
            t.from.can_become(t.to),
            "illegal edge {} -> {}",
            t.from,
            t.to
        );
    }
    assert!(conn.out_of_order_len() <= crate::MAX_OUT_OF_ORDER);
    assert!(conn.rcv_wnd() <= recv_buffer);
}

fn settle(conn: &mut Connection, now: SimTime, out: &mut Output) {
    conn.on_timeout(now, out);
    if let Some(d) = conn.next_deadline() {
        assert!(
            d > now,
            "deadline {d} left at or before now {now} in {}",
            conn.state()
        );
    }
}

/// Runs one endpoint through `data`.
pub fn endpoint(data: &[u8]) {
    let mut input = Input(data);
    let config = TcpConfig {
        delayed_ack: if input.u8() & 1 == 0 {
            None
        } else {
            Some(SimDuration::from_millis(40))
        },
        rfc5961: input.u8() & 1 == 0,
        rfc1337: input.u8() & 1 == 0,
        timestamps: input.u8() & 1 == 0,
        recv_buffer: 4096,
        keepalive: (input.u8() & 1 == 0).then(crate::Keepalive::default),
        ..TcpConfig::default()
    };
    let recv_buffer = config.recv_buffer;
    let config = Arc::new(config);
    let mut out = Output::default();
    let mut now = SimTime::ZERO;
    let iss = Seq(input.u32());
    let peer_iss = Seq(input.u32());
    let mut conn = if input.u8() & 1 == 0 {
        Connection::connect(config, 40000, 80, iss, 1, now, &mut out)
    } else {
        let mut syn = Segment::new(80, 40000, peer_iss, Seq(0), Flags::SYN);
        syn.window = 65535;
        Connection::accept(config, &syn, iss, 1, now, &mut out)
    };
    check(&conn, &out, recv_buffer);
    let mut steps = 0;
    while !input.is_empty() && steps < 2000 {
        steps += 1;
        out.clear();
        match input.u8() % 10 {
            0..=4 => {
                let seg = segment(&mut input, (80, 40000), (conn.rcv_nxt(), conn.snd_una()));
                conn.handle(&seg, now, &mut out);
            }
            5 => {
                let _ = conn.send(u64::from(input.u32() % 100_000), now, &mut out);
            }
            6 => {
                let _ = conn.receive(u64::from(input.u32()), now, &mut out);
            }
            7 => match input.u8() % 4 {
                0 => {
                    let _ = conn.shutdown(now, &mut out);
                }
                1 => {
                    let _ = conn.close(now, &mut out);
                }
                2 => conn.abort(now, &mut out),
                _ => conn.set_linger_zero(true),
            },
            _ => {
                // A jump in time: to the next deadline, or by an arbitrary amount.
                let jump = SimDuration::from_micros(u64::from(input.u32()) * 16);
                now = match (input.u8() & 1, conn.next_deadline()) {
                    (0, Some(d)) => d.max(now),
                    _ => now.saturating_add(jump),
                };
                settle(&mut conn, now, &mut out);
            }
        }
        check(&conn, &out, recv_buffer);
    }
}

/// Runs a host with a listener through `data`: datagrams from arbitrary sources and socket
/// calls, with time jumps.
pub fn host(data: &[u8]) {
    let mut input = Input(data);
    let mut config = crate::host::Profile::Linux.config();
    config.tcp.timestamps = input.u8() & 1 == 0;
    config.syncookies = match input.u8() % 3 {
        0 => crate::host::SynCookies::Off,
        1 => crate::host::SynCookies::WhenFull,
        _ => crate::host::SynCookies::Always,
    };
    config.max_syn_backlog = 4;
    config.max_time_wait = 8;
    let config: HostConfig = config;
    let local = 0x0a00_0001;
    let mut host = Host::new(
        config,
        vec![local],
        &RandomStreams::new(u64::from(input.u8())),
        "fuzz",
        0,
    )
    .expect("valid");
    host.listen(80, 4).expect("fresh port");
    let mut now = SimTime::ZERO;
    let mut ids = Vec::new();
    let mut steps = 0;
    while !input.is_empty() && steps < 2000 {
        steps += 1;
        match input.u8() % 8 {
            0..=3 => {
                let remote = 0x0b00_0000 | u32::from(input.u8() % 4);
                let ports = (
                    1000 + u16::from(input.u8() % 4),
                    if input.u8() & 3 == 0 { 81 } else { 80 },
                );
                let near = (Seq(input.u32()), Seq(input.u32()));
                let seg = segment(&mut input, ports, near);
                host.handle(&Datagram::new(remote, local, seg), now);
            }
            4 => {
                if let Ok(id) = host.connect(
                    0x0b00_0000 | u32::from(input.u8() % 4),
                    80,
                    crate::host::ConnectOptions::default(),
                    now,
                ) {
                    ids.push(id);
                }
            }
            5 => {
                if let Ok(Some(id)) = host.accept(80) {
                    ids.push(id);
                }
            }
            6 => {
                if !ids.is_empty() {
                    let id = ids[usize::from(input.u8()) % ids.len()];
                    let _ = match input.u8() % 4 {
                        0 => host.send(id, u64::from(input.u8()) * 100, now),
                        1 => host.receive(id, 10_000, now).map(|_| ()),
                        2 => host.close(id, now),
                        _ => host.shutdown(id, now),
                    };
                }
            }
            _ => {
                now = match (input.u8() & 1, host.next_deadline()) {
                    (0, Some(d)) => d.max(now),
                    _ => now
                        .saturating_add(SimDuration::from_millis(u64::from(input.u32() % 200_000))),
                };
                host.on_timeout(now);
                if let Some(d) = host.next_deadline() {
                    assert!(d > now, "host deadline {d} left at or before now {now}");
                }
            }
        }
        let output = std::mem::take(host.output());
        for (_, _, t) in &output.transitions {
            assert!(
                t.from.can_become(t.to),
                "illegal edge {} -> {}",
                t.from,
                t.to
            );
        }
        // Linux holds backlog + 1 requests (host::ListenerRules).
        assert!(host.syn_queue_len(80) <= 5, "SYN queue above its cap");
        assert!(host.time_wait_len() <= 8, "TIME-WAIT table above its cap");
        for id in &ids {
            if let Some(c) = host.connection(*id) {
                assert!(c.snd_una().le(c.snd_nxt()));
                assert!(c.state() != State::Listen || c.is_finished());
            }
        }
    }
}
