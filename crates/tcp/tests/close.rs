//! Closing: FIN-WAIT-1, FIN-WAIT-2, CLOSING, TIME-WAIT, CLOSE-WAIT, LAST-ACK, and
//! half-close (RFC 9293 figure 5 and 3.10.7.4 steps five and eight).

mod common;
use common::*;
use synack_kernel::SimDuration;
use synack_tcp::{Cause, Event, Flags, State, TcpConfig, TimeWaitLength, UserError};

fn fin_wait_1(config: TcpConfig) -> Driver {
    let mut d = Driver::established(config);
    d.close();
    assert_eq!(d.sent(), [w("F.", ISS + 1, PEER_ISS + 1, 0)]);
    d.transitions();
    d.events();
    d
}

#[test]
fn established_close_finwait1_sends_fin() {
    let mut d = Driver::established(config());
    d.now = secs(2);
    d.close();
    assert_eq!(d.sent(), [w("F.", ISS + 1, PEER_ISS + 1, 0)]);
    assert_eq!(d.conn.state(), State::FinWait1);
    // The FIN waits one RTO: the handshake's (instant) RTT sample floors it at 200 ms.
    assert_eq!(
        d.conn.next_deadline(),
        Some(secs(2) + SimDuration::from_millis(200))
    );
}

#[test]
fn finwait1_ack_finwait2() {
    let mut d = fin_wait_1(config());
    d.recv(Flags::ACK, PEER_ISS + 1, ISS + 2, 0);
    assert_eq!(d.transitions(), [(State::FinWait1, State::FinWait2)]);
    assert_eq!(d.sent(), Vec::<Wire>::new());
}

#[test]
fn finwait1_fin_closing_on_simultaneous_close() {
    let mut d = fin_wait_1(config());
    d.recv(Flags::FIN | Flags::ACK, PEER_ISS + 1, ISS + 1, 0);
    assert_eq!(d.transitions(), [(State::FinWait1, State::Closing)]);
    assert_eq!(d.sent(), [w(".", ISS + 2, PEER_ISS + 2, 0)]);
    assert_eq!(d.events(), [Event::PeerClosed]);
}

#[test]
fn closing_ack_timewait_for_two_msl() {
    let mut d = fin_wait_1(TcpConfig {
        time_wait: TimeWaitLength::TwiceMsl,
        msl: SimDuration::from_secs(30),
        ..config()
    });
    d.recv(Flags::FIN | Flags::ACK, PEER_ISS + 1, ISS + 1, 0);
    d.transitions();
    d.now = secs(3);
    d.recv(Flags::ACK, PEER_ISS + 2, ISS + 2, 0);
    assert_eq!(d.transitions(), [(State::Closing, State::TimeWait)]);
    assert_eq!(d.conn.next_deadline(), Some(secs(63)));
}

#[test]
fn finwait1_fin_and_ack_of_our_fin_timewait_at_once() {
    let mut d = fin_wait_1(config());
    d.now = secs(1);
    d.recv(Flags::FIN | Flags::ACK, PEER_ISS + 1, ISS + 2, 0);
    let t = d.out.transitions[0];
    assert_eq!(
        (t.from, t.to, t.cause),
        (State::FinWait1, State::TimeWait, Cause::PeerFinAndAck)
    );
    assert_eq!(d.out.transitions.len(), 1);
    assert_eq!(d.sent(), [w(".", ISS + 2, PEER_ISS + 2, 0)]);
    // 2 x MSL = 60 s by default.
    assert_eq!(d.conn.next_deadline(), Some(secs(61)));
}

#[test]
fn finwait2_fin_timewait() {
    let mut d = fin_wait_1(config());
    d.recv(Flags::ACK, PEER_ISS + 1, ISS + 2, 0);
    d.transitions();
    d.now = secs(5);
    d.recv(Flags::FIN | Flags::ACK, PEER_ISS + 1, ISS + 2, 0);
    assert_eq!(d.transitions(), [(State::FinWait2, State::TimeWait)]);
    assert_eq!(d.sent(), [w(".", ISS + 2, PEER_ISS + 2, 0)]);
    assert_eq!(d.conn.next_deadline(), Some(secs(65)));
}

#[test]
fn timewait_retransmitted_fin_reacked_and_restarted() {
    let mut d = fin_wait_1(config());
    d.recv(Flags::FIN | Flags::ACK, PEER_ISS + 1, ISS + 2, 0);
    d.sent();
    d.now = secs(20);
    d.recv(Flags::FIN | Flags::ACK, PEER_ISS + 1, ISS + 2, 0);
    assert_eq!(d.sent(), [w(".", ISS + 2, PEER_ISS + 2, 0)]);
    assert_eq!(d.conn.state(), State::TimeWait);
    assert_eq!(d.conn.next_deadline(), Some(secs(80)));
}

#[test]
fn timewait_expiry_closed() {
    let mut d = fin_wait_1(config());
    d.recv(Flags::FIN | Flags::ACK, PEER_ISS + 1, ISS + 2, 0);
    d.transitions();
    d.events();
    d.run_until(secs(60));
    assert_eq!(d.conn.state(), State::Closed);
    let t = d.out.transitions[0];
    assert_eq!(
        (t.at, t.from, t.to, t.cause),
        (
            secs(60),
            State::TimeWait,
            State::Closed,
            Cause::TimeWaitExpired
        )
    );
    assert_eq!(d.events(), [Event::Closed]);
}

#[test]
fn timewait_rst_closed() {
    let mut d = fin_wait_1(config());
    d.recv(Flags::FIN | Flags::ACK, PEER_ISS + 1, ISS + 2, 0);
    d.transitions();
    d.recv(Flags::RST, PEER_ISS + 2, 0, 0);
    assert_eq!(d.transitions(), [(State::TimeWait, State::Closed)]);
}

#[test]
fn timewait_rst_ignored_with_rfc1337() {
    let mut d = fin_wait_1(TcpConfig {
        rfc1337: true,
        ..config()
    });
    d.recv(Flags::FIN | Flags::ACK, PEER_ISS + 1, ISS + 2, 0);
    d.recv(Flags::RST, PEER_ISS + 2, 0, 0);
    assert_eq!(d.conn.state(), State::TimeWait);
}

#[test]
fn timewait_syn_with_higher_seq_may_start_a_new_incarnation() {
    let mut d = fin_wait_1(config());
    d.recv(Flags::FIN | Flags::ACK, PEER_ISS + 1, ISS + 2, 0);
    let newer = from_peer(Flags::SYN, PEER_ISS + 100_000, 0, 0);
    let older = from_peer(Flags::SYN, PEER_ISS, 0, 0);
    assert!(d.conn.time_wait().unwrap().accepts_syn(&newer));
    assert!(!d.conn.time_wait().unwrap().accepts_syn(&older));
    // The endpoint itself answers a SYN in TIME-WAIT with a challenge ACK (the host decides
    // on new incarnations).
    d.sent();
    d.recv_segment(&older);
    assert_eq!(d.sent(), [w(".", ISS + 2, PEER_ISS + 2, 0)]);
}

#[test]
fn finwait2_orphaned_times_out_closed() {
    let mut d = fin_wait_1(config());
    d.now = secs(1);
    d.recv(Flags::ACK, PEER_ISS + 1, ISS + 2, 0);
    assert_eq!(d.conn.next_deadline(), Some(secs(61)));
    d.transitions();
    d.run_until(secs(61));
    let t = d.out.transitions[0];
    assert_eq!(
        (t.at, t.to, t.cause),
        (secs(61), State::Closed, Cause::FinWait2Timeout)
    );
}

#[test]
fn finwait2_after_shutdown_waits_for_the_peer_without_timeout() {
    let mut d = Driver::established(config());
    d.conn.shutdown(d.now, &mut d.out).unwrap();
    d.recv(Flags::ACK, PEER_ISS + 1, ISS + 2, 0);
    assert_eq!(d.conn.state(), State::FinWait2);
    assert_eq!(d.conn.next_deadline(), None);
}

#[test]
fn finwait2_data_still_delivered_after_half_close() {
    let mut d = Driver::established(TcpConfig {
        delayed_ack: None,
        ..config()
    });
    d.conn.shutdown(d.now, &mut d.out).unwrap();
    d.recv(Flags::ACK, PEER_ISS + 1, ISS + 2, 0);
    d.sent();
    d.events();
    d.recv(Flags::ACK | Flags::PSH, PEER_ISS + 1, ISS + 2, 700);
    assert_eq!(d.sent(), [w(".", ISS + 2, PEER_ISS + 701, 0)]);
    assert_eq!(d.events(), [Event::Readable]);
    assert_eq!(d.conn.receive(10_000, d.now, &mut d.out), Ok(700));
    assert_eq!(d.conn.integrity().intact, 700);
}

#[test]
fn finwait1_rst_closed_reset() {
    let mut d = fin_wait_1(config());
    d.recv(Flags::RST, PEER_ISS + 1, 0, 0);
    assert_eq!(d.conn.state(), State::Closed);
    assert!(d.conn.failure().is_some());
}

#[test]
fn established_fin_closewait_acks_and_signals_end_of_stream() {
    let mut d = Driver::established(config());
    d.recv(Flags::FIN | Flags::ACK, PEER_ISS + 1, ISS + 1, 0);
    assert_eq!(d.sent(), [w(".", ISS + 1, PEER_ISS + 2, 0)]);
    assert_eq!(d.conn.state(), State::CloseWait);
    assert_eq!(d.events(), [Event::PeerClosed]);
    assert!(d.conn.peer_closed());
}

#[test]
fn closewait_send_still_flows_to_the_peer() {
    let mut d = Driver::established(config());
    d.recv(Flags::FIN | Flags::ACK, PEER_ISS + 1, ISS + 1, 0);
    d.sent();
    d.send(100);
    assert_eq!(d.sent(), [w("P.", ISS + 1, PEER_ISS + 2, 100)]);
}

#[test]
fn closewait_close_lastack_sends_fin() {
    let mut d = Driver::established(config());
    d.recv(Flags::FIN | Flags::ACK, PEER_ISS + 1, ISS + 1, 0);
    d.sent();
    d.transitions();
    d.close();
    assert_eq!(d.sent(), [w("F.", ISS + 1, PEER_ISS + 2, 0)]);
    assert_eq!(d.transitions(), [(State::CloseWait, State::LastAck)]);
}

#[test]
fn lastack_ack_closed() {
    let mut d = Driver::established(config());
    d.recv(Flags::FIN | Flags::ACK, PEER_ISS + 1, ISS + 1, 0);
    d.close();
    d.transitions();
    d.events();
    d.recv(Flags::ACK, PEER_ISS + 2, ISS + 2, 0);
    assert_eq!(d.transitions(), [(State::LastAck, State::Closed)]);
    assert_eq!(d.events(), [Event::Closed]);
    assert_eq!(d.conn.next_deadline(), None);
}

#[test]
fn lastack_rst_closed() {
    let mut d = Driver::established(config());
    d.recv(Flags::FIN | Flags::ACK, PEER_ISS + 1, ISS + 1, 0);
    d.close();
    d.recv(Flags::RST, PEER_ISS + 2, 0, 0);
    assert_eq!(d.conn.state(), State::Closed);
    assert_eq!(d.conn.failure(), None);
}

#[test]
fn closing_rst_closed() {
    let mut d = fin_wait_1(config());
    d.recv(Flags::FIN | Flags::ACK, PEER_ISS + 1, ISS + 1, 0);
    d.recv(Flags::RST, PEER_ISS + 2, 0, 0);
    assert_eq!(d.conn.state(), State::Closed);
}

#[test]
fn lastack_fin_lost_retransmitted_on_rto() {
    let mut d = Driver::established(config());
    d.recv(Flags::FIN | Flags::ACK, PEER_ISS + 1, ISS + 1, 0);
    d.close();
    d.sent();
    let (start, rto) = (d.now, d.conn.rto());
    assert_eq!(
        d.timeline(start + rto),
        [(start + rto, w("F.", ISS + 1, PEER_ISS + 2, 0))]
    );
}

#[test]
fn finwait1_send_and_close_are_refused_as_closing() {
    let mut d = fin_wait_1(config());
    assert_eq!(
        d.conn.send(10, d.now, &mut d.out),
        Err(UserError::Closing(State::FinWait1))
    );
    assert_eq!(
        d.conn.shutdown(d.now, &mut d.out),
        Err(UserError::Closing(State::FinWait1))
    );
    // A second close is harmless.
    assert_eq!(d.conn.close(d.now, &mut d.out), Ok(()));
}

#[test]
fn closed_send_is_refused() {
    let mut d = Driver::established(config());
    d.conn.abort(d.now, &mut d.out);
    assert_eq!(
        d.conn.send(10, d.now, &mut d.out),
        Err(UserError::DoesNotExist)
    );
}

#[test]
fn established_close_with_unread_data_sends_rst() {
    let mut d = Driver::established(config());
    d.recv(Flags::ACK | Flags::PSH, PEER_ISS + 1, ISS + 1, 50);
    d.sent();
    d.close();
    assert_eq!(d.sent(), [w("R.", ISS + 1, PEER_ISS + 51, 0)]);
    assert_eq!(d.conn.state(), State::Closed);
}

#[test]
fn established_close_with_linger_zero_sends_rst_and_skips_timewait() {
    let mut d = Driver::established(config());
    d.conn.set_linger_zero(true);
    d.transitions();
    d.close();
    assert_eq!(d.sent(), [w("R.", ISS + 1, PEER_ISS + 1, 0)]);
    assert_eq!(d.transitions(), [(State::Established, State::Closed)]);
    assert_eq!(d.conn.next_deadline(), None);
}

#[test]
fn established_abort_sends_rst() {
    let mut d = Driver::established(config());
    d.conn.abort(d.now, &mut d.out);
    assert_eq!(d.sent(), [w("R.", ISS + 1, PEER_ISS + 1, 0)]);
    let t = d.out.transitions[0];
    assert_eq!((t.to, t.cause), (State::Closed, Cause::Abort));
}

#[test]
fn established_fin_out_of_order_waits_for_the_gap() {
    let mut d = Driver::established(TcpConfig {
        delayed_ack: None,
        ..config()
    });
    d.recv(Flags::FIN | Flags::ACK, PEER_ISS + 101, ISS + 1, 0);
    assert_eq!(d.conn.state(), State::Established);
    d.sent();
    d.recv(Flags::ACK, PEER_ISS + 1, ISS + 1, 100);
    assert_eq!(d.conn.state(), State::CloseWait);
    assert_eq!(d.sent(), [w(".", ISS + 1, PEER_ISS + 102, 0)]);
}

#[test]
fn timewait_fixed_length_ignores_the_msl() {
    let mut d = fin_wait_1(TcpConfig {
        msl: SimDuration::from_secs(120),
        time_wait: TimeWaitLength::Fixed(SimDuration::from_secs(60)),
        ..config()
    });
    d.recv(Flags::FIN | Flags::ACK, PEER_ISS + 1, ISS + 2, 0);
    assert_eq!(d.conn.next_deadline(), Some(secs(60)));
}

#[test]
fn timewait_zero_length_closes_at_once() {
    let mut d = fin_wait_1(TcpConfig {
        time_wait: TimeWaitLength::Fixed(SimDuration::ZERO),
        ..config()
    });
    d.recv(Flags::FIN | Flags::ACK, PEER_ISS + 1, ISS + 2, 0);
    assert_eq!(d.conn.next_deadline(), Some(secs(0)));
    d.run_until(secs(0));
    assert_eq!(d.conn.state(), State::Closed);
}

/// Fuzzer finding: the go-back after an RTO forgets the FIN was sent, and a late ACK
/// covering the first FIN must still count it (it once overran the send buffer).
#[test]
fn finwait1_late_ack_of_fin_after_a_zero_window_go_back_finwait2() {
    let mut d = Driver::established(config());
    d.send(500);
    d.close();
    assert_eq!(
        d.sent(),
        [
            w("P.", ISS + 1, PEER_ISS + 1, 500),
            w("F.", ISS + 501, PEER_ISS + 1, 0)
        ]
    );
    let mut closed = from_peer(Flags::ACK, PEER_ISS + 1, ISS + 1, 0);
    closed.window = 0;
    d.recv_segment(&closed);
    let rto = d.conn.next_deadline().unwrap();
    d.run_until(rto);
    // The window is shut: the go-back resends one byte only, not the FIN.
    assert_eq!(d.sent(), [w(".", ISS + 1, PEER_ISS + 1, 1)]);
    d.recv(Flags::ACK, PEER_ISS + 1, ISS + 502, 0);
    assert_eq!(d.conn.state(), State::FinWait2);
    assert_eq!(d.sent(), Vec::<Wire>::new());
    assert_eq!(d.conn.unacknowledged(), 0);
}
