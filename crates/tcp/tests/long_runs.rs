//! Long runs and extreme values: simulated time near its maximum, sequence numbers wrapping
//! many times. Nothing may overflow or panic.

use std::sync::Arc;
use synack_kernel::{SimDuration, SimTime};
use synack_tcp::host::{HostConfig, Profile, TwReuse};
use synack_tcp::{Connection, Event, Flags, Output, Seq, State, TcpConfig, TimeWaitLength};

/// Moves segments between two endpoints with a fixed delay until both are quiet or `limit`.
fn shuttle(
    a: &mut Connection,
    b: &mut Connection,
    start: SimTime,
    delay: SimDuration,
    limit: SimTime,
) -> SimTime {
    let mut now = start;
    let mut in_flight: Vec<(SimTime, bool, synack_tcp::Segment)> = Vec::new();
    let mut out = Output::default();
    loop {
        // Collect what each side sent at `now`.
        let next_arrival = in_flight.iter().map(|f| f.0).min();
        let next_timer = [a.next_deadline(), b.next_deadline()]
            .into_iter()
            .flatten()
            .min();
        let Some(t) = [next_arrival, next_timer].into_iter().flatten().min() else {
            return now;
        };
        if t > limit {
            return now;
        }
        now = t;
        if let Some(i) = in_flight.iter().position(|f| f.0 == now) {
            let (_, to_b, seg) = in_flight.remove(i);
            let target = if to_b { &mut *b } else { &mut *a };
            target.handle(&seg, now, &mut out);
            let from_b = to_b;
            for s in out.segments.drain(..) {
                in_flight.push((now.saturating_add(delay), !from_b, s));
            }
        } else {
            for (side, c) in [(false, &mut *a), (true, &mut *b)] {
                c.on_timeout(now, &mut out);
                for s in out.segments.drain(..) {
                    in_flight.push((now.saturating_add(delay), !side, s));
                }
            }
        }
        out.events.clear();
        out.transitions.clear();
    }
}

fn pair(config: TcpConfig, start: SimTime, iss: (u32, u32)) -> (Connection, Connection, Output) {
    let config = Arc::new(config);
    let mut out = Output::default();
    let client = Connection::connect(config.clone(), 40000, 80, Seq(iss.0), 1, start, &mut out);
    let syn = out.segments.remove(0);
    let server = Connection::accept(config, &syn, Seq(iss.1), 2, start, &mut out);
    (client, server, out)
}

#[test]
fn sequence_numbers_wrap_five_times_without_a_wrong_byte() {
    // 65000-byte segments keep this quick: 21.5 GB is five laps of the 32-bit space.
    let config = TcpConfig {
        mss: 65000,
        recv_buffer: 4_000_000,
        timestamps: false,
        delayed_ack: None,
        ..TcpConfig::default()
    };
    let (mut client, mut server, mut out) =
        pair(config, SimTime::ZERO, (u32::MAX - 10, u32::MAX - 20));
    let synack = out.segments.pop().unwrap();
    out.segments.clear();
    client.handle(&synack, SimTime::ZERO, &mut out);
    let ack = out.segments.pop().unwrap();
    server.handle(&ack, SimTime::ZERO, &mut out);
    assert_eq!(server.state(), State::Established);
    let total: u64 = 5 * (1u64 << 32) + 12345;
    client.send(total, SimTime::ZERO, &mut out).unwrap();
    let mut in_flight = std::mem::take(&mut out.segments);
    let mut read = 0u64;
    let mut now = SimTime::ZERO;
    while !in_flight.is_empty() {
        now = now.saturating_add(SimDuration::from_micros(10));
        let batch = std::mem::take(&mut in_flight);
        for seg in batch {
            let (target, to_server) = if seg.src_port == 40000 {
                (&mut server, true)
            } else {
                (&mut client, false)
            };
            target.handle(&seg, now, &mut out);
            if to_server {
                read += server.receive(u64::MAX, now, &mut out).unwrap();
            }
            in_flight.append(&mut out.segments);
        }
    }
    assert_eq!(read, total);
    assert_eq!(server.integrity().intact, total);
    assert!(server.integrity().is_clean());
    assert_eq!(client.unacknowledged(), 0);
}

#[test]
fn a_connection_near_the_end_of_simulated_time_saturates_instead_of_overflowing() {
    let start = SimTime::from_nanos(u64::MAX - 5_000_000_000);
    let config = TcpConfig {
        timestamps: true,
        keepalive: Some(synack_tcp::Keepalive::default()),
        ..TcpConfig::default()
    };
    let (mut client, mut server, mut out) = pair(config, start, (1, 2));
    let synack = out.segments.pop().unwrap();
    client.handle(&synack, start, &mut out);
    let ack = out.segments.pop().unwrap();
    server.handle(&ack, start, &mut out);
    client.send(1_000_000, start, &mut out).unwrap();
    client.close(start, &mut out).unwrap();
    // Nothing is delivered: every retransmission and timer runs toward SimTime::MAX.
    let mut now = start;
    for _ in 0..100 {
        let Some(d) = client.next_deadline() else {
            break;
        };
        now = d;
        client.on_timeout(now, &mut out);
        out.segments.clear();
    }
    assert!(now <= SimTime::MAX);
    // And a delivering pair there closes cleanly (TIME-WAIT saturates at the end of time).
    let (mut a, mut b, mut out) = pair(TcpConfig::default(), start, (7, 8));
    let synack = out.segments.pop().unwrap();
    a.handle(&synack, start, &mut out);
    let ack = out.segments.pop().unwrap();
    b.handle(&ack, start, &mut out);
    a.close(start, &mut out).unwrap();
    out.segments.clear();
    let _ = shuttle(
        &mut a,
        &mut b,
        start,
        SimDuration::from_millis(1),
        SimTime::MAX,
    );
    assert!(
        b.is_finished() || b.state() == State::CloseWait,
        "{}",
        b.state()
    );
    assert!(
        matches!(a.state(), State::TimeWait | State::FinWait2 | State::Closed),
        "{}",
        a.state()
    );
    let _ = (Event::Closed, Flags::NONE);
}

#[test]
fn contradictory_or_reversed_settings_are_rejected_with_their_field() {
    let linux = Profile::Linux.config();
    let zero_tw_with_reuse = HostConfig {
        tw_reuse: TwReuse::On,
        tcp: TcpConfig {
            time_wait: TimeWaitLength::Fixed(SimDuration::ZERO),
            ..linux.tcp.clone()
        },
        ..linux.clone()
    };
    assert_eq!(zero_tw_with_reuse.validate().unwrap_err().field, "tw_reuse");
    let max_below_min = TcpConfig {
        rto_max: SimDuration::from_millis(100),
        ..TcpConfig::default()
    };
    let err = max_below_min.validate().unwrap_err();
    assert_eq!(err.field, "rto_max");
    assert!(
        err.message.contains("must be at least rto_min"),
        "{}",
        err.message
    );
    let reversed = HostConfig {
        ephemeral_ports: (60999, 32768),
        ..linux
    };
    assert_eq!(reversed.validate().unwrap_err().field, "ephemeral_ports");
}
