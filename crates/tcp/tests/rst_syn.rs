//! RST and SYN in synchronized states: RFC 9293 3.10.7.4 steps one, two and four, with and
//! without RFC 5961.

mod common;
use common::*;
use synack_tcp::{ErrorKind, Event, Flags, State, TcpConfig, TimeWaitRules};

fn without_5961() -> TcpConfig {
    TcpConfig {
        rfc5961: false,
        rfc5961_syn: false,
        ..config()
    }
}

#[test]
fn established_rst_at_rcv_nxt_closed_reset() {
    let mut d = Driver::established(config());
    d.now = ms(7);
    d.recv(Flags::RST, PEER_ISS + 1, 0, 0);
    assert_eq!(d.conn.state(), State::Closed);
    let failure = d.conn.failure().unwrap();
    assert_eq!(
        (failure.kind, failure.state, failure.at),
        (ErrorKind::Reset, State::Established, ms(7))
    );
    assert!(matches!(d.events()[..], [Event::Failed(_)]));
    assert_eq!(d.sent(), Vec::<Wire>::new());
}

#[test]
fn established_rst_in_window_challenge_acked() {
    let mut d = Driver::established(config());
    d.recv(Flags::RST, PEER_ISS + 1000, 0, 0);
    assert_eq!(d.conn.state(), State::Established);
    assert_eq!(d.sent(), [w(".", ISS + 1, PEER_ISS + 1, 0)]);
}

#[test]
fn established_rst_in_window_without_5961_closed_reset() {
    let mut d = Driver::established(without_5961());
    d.recv(Flags::RST, PEER_ISS + 1000, 0, 0);
    assert_eq!(d.conn.failure().map(|f| f.kind), Some(ErrorKind::Reset));
}

#[test]
fn established_rst_outside_window_dropped_silently() {
    let mut d = Driver::established(config());
    d.recv(Flags::RST, PEER_ISS + 1 + 200_000, 0, 0);
    d.recv(Flags::RST, PEER_ISS - 10, 0, 0);
    assert_eq!(d.conn.state(), State::Established);
    assert_eq!(d.sent(), Vec::<Wire>::new());
}

#[test]
fn established_syn_challenge_acked() {
    let mut d = Driver::established(config());
    d.recv(Flags::SYN, PEER_ISS + 1, 0, 0);
    assert_eq!(d.sent(), [w(".", ISS + 1, PEER_ISS + 1, 0)]);
    assert_eq!(d.conn.state(), State::Established);
}

#[test]
fn established_syn_without_5961_sends_rst_and_resets() {
    let mut d = Driver::established(without_5961());
    d.recv(Flags::SYN, PEER_ISS + 1, 0, 0);
    assert_eq!(d.sent(), [w("R.", ISS + 1, PEER_ISS + 1, 0)]);
    assert_eq!(d.conn.failure().map(|f| f.kind), Some(ErrorKind::Reset));
}

#[test]
fn established_unacceptable_segment_acked_and_dropped() {
    let mut d = Driver::established(config());
    d.recv(Flags::ACK, PEER_ISS - 500, ISS + 1, 100);
    assert_eq!(d.sent(), [w(".", ISS + 1, PEER_ISS + 1, 0)]);
    assert_eq!(d.conn.integrity().intact, 0);
}

#[test]
fn established_ack_of_unsent_data_acked_and_dropped() {
    let mut d = Driver::established(config());
    d.recv(Flags::ACK, PEER_ISS + 1, ISS + 500, 10);
    assert_eq!(d.sent(), [w(".", ISS + 1, PEER_ISS + 1, 0)]);
    assert_eq!(d.conn.integrity().intact, 0);
}

#[test]
fn finwait2_rst_at_rcv_nxt_closed_reset() {
    let mut d = Driver::established(config());
    d.conn.shutdown(d.now, &mut d.out).unwrap();
    d.recv(Flags::ACK, PEER_ISS + 1, ISS + 2, 0);
    d.recv(Flags::RST, PEER_ISS + 1, 0, 0);
    assert_eq!(
        d.conn.failure().map(|f| (f.kind, f.state)),
        Some((ErrorKind::Reset, State::FinWait2))
    );
}

#[test]
fn closewait_rst_closed_reset() {
    let mut d = Driver::established(config());
    d.recv(Flags::FIN | Flags::ACK, PEER_ISS + 1, ISS + 1, 0);
    d.recv(Flags::RST, PEER_ISS + 2, 0, 0);
    assert_eq!(
        d.conn.failure().map(|f| (f.kind, f.state)),
        Some((ErrorKind::Reset, State::CloseWait))
    );
}

#[test]
fn timewait_rst_in_window_not_at_rcv_nxt_ignored() {
    // Linux (measured: time_wait_rst_in_window_not_next.pkt): no challenge ACK in TIME-WAIT.
    let mut d = Driver::established(config());
    d.close();
    d.recv(Flags::FIN | Flags::ACK, PEER_ISS + 1, ISS + 2, 0);
    d.sent();
    d.recv(Flags::RST, PEER_ISS + 50, 0, 0);
    assert_eq!(d.conn.state(), State::TimeWait);
    assert_eq!(d.sent(), []);
}

#[test]
fn timewait_rfc9293_rst_in_window_not_at_rcv_nxt_challenge_acked() {
    let mut d = Driver::established(TcpConfig {
        time_wait_rules: TimeWaitRules::Rfc9293,
        ..config()
    });
    d.close();
    d.recv(Flags::FIN | Flags::ACK, PEER_ISS + 1, ISS + 2, 0);
    d.sent();
    d.recv(Flags::RST, PEER_ISS + 50, 0, 0);
    assert_eq!(d.conn.state(), State::TimeWait);
    assert_eq!(d.sent(), [w(".", ISS + 2, PEER_ISS + 2, 0)]);
}

#[test]
fn established_bare_acks_out_of_window_answered_once_per_500ms() {
    let mut d = Driver::established(config());
    d.now = ms(1000);
    d.recv(Flags::ACK, PEER_ISS - 500, ISS + 1, 0);
    assert_eq!(d.sent(), [w(".", ISS + 1, PEER_ISS + 1, 0)]);
    // tcp_invalid_ratelimit: the next two within 500 ms get nothing, be they bare ACKs,
    // ACKs of unsent data or SYNs (challenge ACKs).
    d.now = ms(1499);
    d.recv(Flags::ACK, PEER_ISS - 400, ISS + 1, 0);
    d.recv(Flags::ACK, PEER_ISS + 1, ISS + 5000, 0);
    d.recv(Flags::SYN, PEER_ISS + 1, 0, 0);
    assert_eq!(d.sent(), Vec::<Wire>::new());
    // Data out of window is always answered.
    d.recv(Flags::ACK, PEER_ISS - 500, ISS + 1, 100);
    assert_eq!(d.sent(), [w(".", ISS + 1, PEER_ISS + 1, 0)]);
    d.now = ms(1500);
    d.recv(Flags::ACK, PEER_ISS - 400, ISS + 1, 0);
    assert_eq!(d.sent(), [w(".", ISS + 1, PEER_ISS + 1, 0)]);
}

#[test]
fn established_bare_acks_out_of_window_all_answered_without_the_limit() {
    let mut d = Driver::established(TcpConfig {
        invalid_ack_interval: None,
        ..config()
    });
    for _ in 0..3 {
        d.recv(Flags::ACK, PEER_ISS - 500, ISS + 1, 0);
        assert_eq!(d.sent(), [w(".", ISS + 1, PEER_ISS + 1, 0)]);
    }
}

#[test]
fn established_data_with_ack_older_than_the_peer_window_challenge_acked_and_dropped() {
    // RFC 5961 section 5: SEG.ACK below SND.UNA - MAX.SND.WND is blind.
    let mut d = Driver::established(config());
    d.recv(
        Flags::ACK,
        PEER_ISS + 1,
        ISS.wrapping_add(1).wrapping_sub(200_000),
        100,
    );
    assert_eq!(d.sent(), [w(".", ISS + 1, PEER_ISS + 1, 0)]);
    assert_eq!(d.conn.integrity().intact, 0);
    assert_eq!(d.conn.rcv_nxt().0, PEER_ISS + 1);
}

#[test]
fn established_data_with_old_ack_within_the_peer_window_accepted() {
    let mut d = Driver::established(config());
    d.recv(
        Flags::ACK,
        PEER_ISS + 1,
        ISS.wrapping_add(1).wrapping_sub(1000),
        100,
    );
    assert_eq!(d.conn.integrity().intact, 100);
}

#[test]
fn established_data_with_ack_older_than_the_peer_window_without_5961_accepted() {
    // RFC 9293: an old ACK is ignored and the text still processed.
    let mut d = Driver::established(without_5961());
    d.recv(
        Flags::ACK,
        PEER_ISS + 1,
        ISS.wrapping_add(1).wrapping_sub(200_000),
        100,
    );
    assert_eq!(d.conn.integrity().intact, 100);
}
