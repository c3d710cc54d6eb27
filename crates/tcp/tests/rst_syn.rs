//! RST and SYN in synchronized states: RFC 9293 3.10.7.4 steps one, two and four, with and
//! without RFC 5961.

mod common;
use common::*;
use synack_tcp::{ErrorKind, Event, Flags, State, TcpConfig};

fn without_5961() -> TcpConfig {
    TcpConfig {
        rfc5961: false,
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
fn timewait_rst_in_window_not_at_rcv_nxt_challenge_acked() {
    let mut d = Driver::established(config());
    d.close();
    d.recv(Flags::FIN | Flags::ACK, PEER_ISS + 1, ISS + 2, 0);
    d.sent();
    d.recv(Flags::RST, PEER_ISS + 50, 0, 0);
    assert_eq!(d.conn.state(), State::TimeWait);
    assert_eq!(d.sent(), [w(".", ISS + 2, PEER_ISS + 2, 0)]);
}
