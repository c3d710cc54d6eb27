//! TIME-WAIT on the path the simulator takes: a host's compact record, not an endpoint. The
//! test plays the peer; each case asserts the exact answer and the entry's next expiry.
//! Linux's rules are those measured with packetdrill on Linux 6.18
//! (crates/cli/tests/drill/linux/time_wait_*.pkt); the rfc9293 profile keeps the RFC's.
//! The last test checks that an endpoint holding TIME-WAIT itself decides alike.

mod common;

use common::{config, from_peer, ms, secs, wire};
use std::sync::Arc;
use synack_kernel::{RandomStreams, SimDuration, SimTime};
use synack_tcp::host::{ConnectOptions, Datagram, Host, HostConfig, Profile};
use synack_tcp::{
    Cause, Connection, Flags, Output, Segment, Seq, State, TcpConfig, TimeWaitRules, Timestamps,
    Transition,
};

const US: u32 = 0x0a00_0001;
const PEER: u32 = 0x0a00_0002;
const PEER_PORT: u16 = 80;
const PEER_ISS: u32 = 5000;

/// A host whose one connection is in TIME-WAIT since `ms(30)`, after an active close; its
/// ISS, its port, and the peer's RCV.NXT as the host sees it.
struct TimeWaitHost {
    host: Host,
    iss: u32,
    port: u16,
}

fn host_config(profile_name: &str) -> HostConfig {
    let mut config = profile_name.parse::<Profile>().unwrap().config();
    config.tcp.timestamps = false;
    config
}

impl TimeWaitHost {
    fn new(config: HostConfig) -> Self {
        let mut twh = Self::new_unchecked(config);
        assert_eq!(twh.host.time_wait_len(), 1);
        twh.host.output().clear();
        twh
    }

    /// The same steps, whether or not the host kept a TIME-WAIT entry; its output kept.
    fn new_unchecked(config: HostConfig) -> Self {
        let mut host = Host::new(config, vec![US], &RandomStreams::new(1), "us", 0).unwrap();
        let id = host
            .connect(PEER, PEER_PORT, ConnectOptions::default(), SimTime::ZERO)
            .unwrap();
        let syn = host.output().outgoing.pop().unwrap().datagram.segment;
        let (iss, port) = (syn.seq.0, syn.src_port);
        let mut twh = TimeWaitHost { host, iss, port };
        twh.peer(Flags::SYN | Flags::ACK, PEER_ISS, iss + 1, ms(10));
        twh.host.close(id, ms(20)).unwrap();
        let mut fin = from_peer(Flags::FIN | Flags::ACK, PEER_ISS + 1, iss + 2, 0);
        fin.dst_port = port;
        twh.host.handle(&Datagram::new(PEER, US, fin), ms(30));
        twh
    }

    /// The peer sends a segment at `at`; what the host answered.
    fn peer(&mut self, flags: Flags, seq: u32, ack: u32, at: SimTime) -> Vec<common::Wire> {
        let mut seg = from_peer(flags, seq, ack, 0);
        seg.dst_port = self.port;
        self.host.handle(&Datagram::new(PEER, US, seg), at);
        let output = std::mem::take(self.host.output());
        output
            .outgoing
            .iter()
            .map(|o| wire(&o.datagram.segment))
            .collect()
    }

    /// The ACK of everything TIME-WAIT sends: SND.NXT past our FIN, RCV.NXT past theirs.
    fn ack(&self) -> common::Wire {
        (".".into(), self.iss + 2, PEER_ISS + 2, 0)
    }

    fn expiry(&mut self) -> SimTime {
        self.host.next_deadline().unwrap()
    }
}

fn linux() -> TimeWaitHost {
    TimeWaitHost::new(host_config("linux"))
}

fn rfc9293() -> TimeWaitHost {
    TimeWaitHost::new(host_config("rfc9293"))
}

/// 60 s (Linux) after `at`.
fn linux_expiry(at: SimTime) -> SimTime {
    at + SimDuration::from_secs(60)
}

#[test]
fn time_wait_entered_expires_after_time_wait_length() {
    let mut tw = linux();
    assert_eq!(tw.expiry(), linux_expiry(ms(30)));
    let mut rfc = rfc9293();
    assert_eq!(rfc.expiry(), ms(30) + SimDuration::from_secs(240));
}

/// The state changes the host reported since the last look: whether a socket made each
/// (a TIME-WAIT record has none), and what it was.
fn changes(host: &mut Host) -> Vec<(bool, State, State, Cause, SimTime)> {
    let output = std::mem::take(host.output());
    let change =
        |(id, _, t): &(Option<_>, _, Transition)| (id.is_some(), t.from, t.to, t.cause, t.at);
    output.transitions.iter().map(change).collect()
}

#[test]
fn time_wait_expiry_records_time_wait_to_closed() {
    let mut tw = linux();
    let expiry = tw.expiry();
    tw.host
        .on_timeout(SimTime::from_nanos(expiry.as_nanos() - 1));
    assert_eq!(changes(&mut tw.host), []);
    tw.host.on_timeout(expiry);
    let ended = (
        false,
        State::TimeWait,
        State::Closed,
        Cause::TimeWaitExpired,
        expiry,
    );
    assert_eq!(changes(&mut tw.host), [ended]);
    assert_eq!(tw.host.time_wait_len(), 0);
}

#[test]
fn time_wait_rst_at_rcv_nxt_records_reset() {
    let mut tw = linux();
    let mut rst = from_peer(Flags::RST, PEER_ISS + 2, 0, 0);
    rst.dst_port = tw.port;
    tw.host.handle(&Datagram::new(PEER, US, rst), secs(20));
    let ended = (
        false,
        State::TimeWait,
        State::Closed,
        Cause::Reset,
        secs(20),
    );
    assert_eq!(changes(&mut tw.host), [ended]);
}

#[test]
fn time_wait_table_full_records_closed_at_once() {
    let mut config = host_config("linux");
    config.max_time_wait = 0;
    let mut tw = TimeWaitHost::new_unchecked(config);
    let changes = changes(&mut tw.host);
    let entered = (
        true,
        State::FinWait1,
        State::TimeWait,
        Cause::PeerFinAndAck,
        ms(30),
    );
    let ended = (
        false,
        State::TimeWait,
        State::Closed,
        Cause::TimeWaitTableFull,
        ms(30),
    );
    assert_eq!(changes[changes.len() - 2..], [entered, ended]);
    assert_eq!(tw.host.time_wait_len(), 0);
    assert_eq!(tw.host.counters().time_wait_skipped, 1);
}

#[test]
fn time_wait_crash_records_every_socket_and_entry_closed() {
    let mut tw = linux();
    tw.host
        .connect(PEER, PEER_PORT + 1, ConnectOptions::default(), secs(1))
        .unwrap();
    changes(&mut tw.host);
    tw.host.crash(secs(2));
    let socket = (true, State::SynSent, State::Closed, Cause::Crash, secs(2));
    let entry = (false, State::TimeWait, State::Closed, Cause::Crash, secs(2));
    assert_eq!(changes(&mut tw.host), [socket, entry]);
}

#[test]
fn time_wait_fin_again_acked_and_restarted() {
    for mut tw in [linux(), rfc9293()] {
        let answer = tw.peer(Flags::FIN | Flags::ACK, PEER_ISS + 1, tw.iss + 2, secs(20));
        assert_eq!(answer, [tw.ack()]);
        let length = tw.host.time_wait_length();
        assert_eq!(tw.expiry(), secs(20) + length);
    }
}

#[test]
fn time_wait_linux_fin_above_rcv_nxt_acked_and_restarted() {
    let mut tw = linux();
    let answer = tw.peer(
        Flags::FIN | Flags::ACK,
        PEER_ISS + 101,
        tw.iss + 2,
        secs(20),
    );
    assert_eq!(answer, [tw.ack()]);
    assert_eq!(tw.expiry(), linux_expiry(secs(20)));
}

#[test]
fn time_wait_rfc9293_fin_above_rcv_nxt_ignored() {
    let mut tw = rfc9293();
    let before = tw.expiry();
    let answer = tw.peer(
        Flags::FIN | Flags::ACK,
        PEER_ISS + 101,
        tw.iss + 2,
        secs(20),
    );
    assert_eq!(answer, []);
    assert_eq!(tw.expiry(), before);
}

#[test]
fn time_wait_linux_bare_ack_at_rcv_nxt_restarts_silently() {
    let mut tw = linux();
    let answer = tw.peer(Flags::ACK, PEER_ISS + 2, tw.iss + 2, secs(20));
    assert_eq!(answer, []);
    assert_eq!(tw.expiry(), linux_expiry(secs(20)));
}

#[test]
fn time_wait_linux_old_ack_acked_and_restarted() {
    let mut tw = linux();
    let answer = tw.peer(Flags::ACK, PEER_ISS + 1, tw.iss + 2, secs(20));
    assert_eq!(answer, [tw.ack()]);
    assert_eq!(tw.expiry(), linux_expiry(secs(20)));
}

#[test]
fn time_wait_rfc9293_old_ack_acked_not_restarted() {
    let mut tw = rfc9293();
    let before = tw.expiry();
    let answer = tw.peer(Flags::ACK, PEER_ISS + 1, tw.iss + 2, secs(20));
    assert_eq!(answer, [tw.ack()]);
    assert_eq!(tw.expiry(), before);
}

#[test]
fn time_wait_old_syn_acked_not_restarted() {
    for mut tw in [linux(), rfc9293()] {
        let before = tw.expiry();
        let answer = tw.peer(Flags::SYN, PEER_ISS, 0, secs(20));
        assert_eq!(answer, [tw.ack()]);
        assert_eq!(tw.expiry(), before);
    }
}

#[test]
fn time_wait_rst_at_rcv_nxt_closes() {
    for mut tw in [linux(), rfc9293()] {
        let answer = tw.peer(Flags::RST, PEER_ISS + 2, 0, secs(20));
        assert_eq!(answer, []);
        assert_eq!(tw.host.time_wait_len(), 0);
        // CLOSED now: <SEQ=SEG.ACK><CTL=RST>.
        let answer = tw.peer(Flags::ACK, PEER_ISS + 2, tw.iss + 2, secs(21));
        assert_eq!(answer, [("R".into(), tw.iss + 2, 0, 0)]);
    }
}

#[test]
fn time_wait_rfc1337_rst_at_rcv_nxt_ignored() {
    let mut config = host_config("linux");
    config.tcp.rfc1337 = true;
    let mut tw = TimeWaitHost::new(config);
    let before = tw.expiry();
    assert_eq!(tw.peer(Flags::RST, PEER_ISS + 2, 0, secs(20)), []);
    assert_eq!(tw.host.time_wait_len(), 1);
    assert_eq!(tw.expiry(), before);
}

#[test]
fn time_wait_linux_rst_in_window_not_at_rcv_nxt_ignored() {
    let mut tw = linux();
    assert_eq!(tw.peer(Flags::RST, PEER_ISS + 102, 0, secs(20)), []);
    assert_eq!(tw.host.time_wait_len(), 1);
}

#[test]
fn time_wait_rfc9293_rst_in_window_not_at_rcv_nxt_challenge_acked() {
    let mut tw = rfc9293();
    let answer = tw.peer(Flags::RST, PEER_ISS + 102, 0, secs(20));
    assert_eq!(answer, [tw.ack()]);
    assert_eq!(tw.host.time_wait_len(), 1);
}

#[test]
fn time_wait_newer_syn_without_listener_reset() {
    // The 4-tuple reopens (RFC 6191), but nobody listens here: CLOSED's answer.
    let mut tw = linux();
    let answer = tw.peer(Flags::SYN, PEER_ISS + 100_000, 0, secs(20));
    assert_eq!(answer, [("R.".into(), 0, PEER_ISS + 100_001, 0)]);
    assert_eq!(tw.host.time_wait_len(), 0);
}

/// Every kind of segment the peer might send in TIME-WAIT, at `at`.
fn probes(iss: u32) -> Vec<(Flags, u32, u32)> {
    let mut segments = Vec::new();
    for flags in [
        Flags::ACK,
        Flags::FIN | Flags::ACK,
        Flags::RST,
        Flags::RST | Flags::ACK,
        Flags::SYN,
        Flags::SYN | Flags::ACK,
    ] {
        for seq in [
            PEER_ISS,
            PEER_ISS + 1,
            PEER_ISS + 2,
            PEER_ISS + 102,
            PEER_ISS + 200_000,
        ] {
            for ack in [iss + 1, iss + 2, iss + 50] {
                segments.push((flags, seq, ack));
            }
        }
    }
    segments
}

#[test]
fn time_wait_endpoint_and_host_record_answer_alike() {
    for name in ["linux", "rfc9293"] {
        for (flags, seq, ack) in probes(1000) {
            // The endpoint: ISS 1000, closed actively into TIME-WAIT at 30 ms.
            let tcp: TcpConfig = TcpConfig {
                time_wait_rules: host_config(name).tcp.time_wait_rules,
                invalid_ack_interval: host_config(name).tcp.invalid_ack_interval,
                ..config()
            };
            let mut out = Output::default();
            let mut conn = Connection::connect(
                Arc::new(tcp),
                common::OURS,
                PEER_PORT,
                Seq(1000),
                1,
                SimTime::ZERO,
                &mut out,
            );
            let mut synack = from_peer(Flags::SYN | Flags::ACK, PEER_ISS, 1001, 0);
            synack.mss = Some(1460);
            conn.handle(&synack, ms(10), &mut out);
            conn.close(ms(20), &mut out).unwrap();
            conn.handle(
                &from_peer(Flags::FIN | Flags::ACK, PEER_ISS + 1, 1002, 0),
                ms(30),
                &mut out,
            );
            out.clear();
            conn.handle(&from_peer(flags, seq, ack, 0), secs(20), &mut out);
            let endpoint: Vec<_> = out
                .segments
                .iter()
                .map(|s| (s.flags, s.seq.0 - 1000, s.ack.0))
                .collect();
            let endpoint_restarted = conn.next_deadline() == Some(secs(20) + conn_length(&conn));

            let mut tw = TimeWaitHost::new(host_config(name));
            let (host_iss, before) = (tw.iss, tw.expiry());
            let mut seg = from_peer(flags, seq, ack - 1000 + host_iss, 0);
            seg.dst_port = tw.port;
            tw.host.handle(&Datagram::new(PEER, US, seg), secs(20));
            let output = std::mem::take(tw.host.output());
            let host: Vec<_> = output
                .outgoing
                .iter()
                .map(|o| &o.datagram)
                .filter(|d| !d.segment.has(Flags::RST) || !endpoint.is_empty())
                .map(|d| {
                    (
                        d.segment.flags,
                        d.segment.seq.0.wrapping_sub(host_iss),
                        d.segment.ack.0,
                    )
                })
                .collect();
            let host_restarted = tw.host.time_wait_len() == 1 && tw.expiry() != before;
            let case = format!("{name}: {flags} seq {seq} ack {ack}");
            // A reopening SYN ends both; only the host, which has no listener here, answers
            // for CLOSED (filtered above).
            assert_eq!(endpoint, host, "{case}");
            assert_eq!(endpoint_restarted, host_restarted, "{case}");
            assert_eq!(
                conn.time_wait().is_some(),
                tw.host.time_wait_len() == 1,
                "{case}"
            );
        }
    }
}

fn conn_length(conn: &Connection) -> SimDuration {
    conn.config().time_wait_length()
}

#[test]
fn time_wait_rules_default_linux_rfc9293_profile_rfc() {
    assert_eq!(TcpConfig::default().time_wait_rules, TimeWaitRules::Linux);
    assert_eq!(
        host_config("rfc9293").tcp.time_wait_rules,
        TimeWaitRules::Rfc9293
    );
}

/// A segment from the peer with its timestamps option.
fn stamped(flags: Flags, seq: u32, ack: u32, val: u32, ecr: u32, port: u16) -> Segment {
    let mut seg = from_peer(flags, seq, ack, 0);
    seg.dst_port = port;
    seg.timestamps = Some(Timestamps { val, ecr });
    seg
}

/// A segment as it would go on the wire, its sequence number counted from `iss`.
fn whole(seg: &Segment, iss: u32) -> String {
    format!(
        "{} seq {} ack {} win {} len {} ts {:?} mss {:?} wscale {:?} sack {}",
        seg.flags,
        seg.seq.0.wrapping_sub(iss),
        seg.ack.0,
        seg.window,
        seg.len,
        seg.timestamps,
        seg.mss,
        seg.window_scale,
        seg.sack_permitted
    )
}

#[test]
fn time_wait_endpoint_and_host_record_send_the_same_whole_segments() {
    // Linux's profile, timestamps on; the peer's SYN-ACK offers a window scale or not.
    for peer_scale in [None, Some(7)] {
        for (flags, seq, ack) in probes(0) {
            let tcp = Profile::Linux.config().tcp;
            // The endpoint, ISS 1000.
            let mut out = Output::default();
            let conn_config = Arc::new(tcp.clone());
            let mut conn = Connection::connect(
                conn_config,
                40000,
                PEER_PORT,
                Seq(1000),
                1,
                SimTime::ZERO,
                &mut out,
            );
            let syn_val = out.segments[0].timestamps.unwrap().val;
            let mut synack = stamped(Flags::SYN | Flags::ACK, PEER_ISS, 1001, 500, syn_val, 40000);
            synack.mss = Some(1460);
            synack.window_scale = peer_scale;
            conn.handle(&synack, ms(10), &mut out);
            conn.close(ms(20), &mut out).unwrap();
            let fin = stamped(Flags::FIN | Flags::ACK, PEER_ISS + 1, 1002, 600, 20, 40000);
            conn.handle(&fin, ms(30), &mut out);
            out.clear();
            let probe = stamped(flags, seq, ack + 1000, 700, 30, 40000);
            conn.handle(&probe, secs(20), &mut out);
            let endpoint: Vec<String> = out.segments.iter().map(|s| whole(s, 1000)).collect();

            // The host, whose compact record holds the same TIME-WAIT.
            let config = HostConfig {
                tcp,
                ..Profile::Linux.config()
            };
            let mut host = Host::new(config, vec![US], &RandomStreams::new(1), "us", 0).unwrap();
            let id = host
                .connect(PEER, PEER_PORT, ConnectOptions::default(), SimTime::ZERO)
                .unwrap();
            let syn = host.output().outgoing.pop().unwrap().datagram.segment;
            let (iss, port) = (syn.seq.0, syn.src_port);
            let mut synack = stamped(
                Flags::SYN | Flags::ACK,
                PEER_ISS,
                iss + 1,
                500,
                syn_val,
                port,
            );
            synack.mss = Some(1460);
            synack.window_scale = peer_scale;
            host.handle(&Datagram::new(PEER, US, synack), ms(10));
            host.close(id, ms(20)).unwrap();
            let fin = stamped(
                Flags::FIN | Flags::ACK,
                PEER_ISS + 1,
                iss + 2,
                600,
                20,
                port,
            );
            host.handle(&Datagram::new(PEER, US, fin), ms(30));
            assert_eq!(host.time_wait_len(), 1);
            host.output().clear();
            let probe = stamped(flags, seq, ack + iss, 700, 30, port);
            host.handle(&Datagram::new(PEER, US, probe), secs(20));
            let output = std::mem::take(host.output());
            let record: Vec<String> = output
                .outgoing
                .iter()
                .map(|o| &o.datagram)
                // A reopening SYN: the host, with no listener here, answers for CLOSED.
                .filter(|d| !d.segment.has(Flags::RST) || !endpoint.is_empty())
                .map(|d| whole(&d.segment, iss))
                .collect();
            let case = format!("scale {peer_scale:?}: {flags} seq {seq} ack {ack}");
            assert_eq!(endpoint, record, "{case}");
        }
    }
}
