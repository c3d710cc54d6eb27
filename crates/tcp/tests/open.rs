//! Opening: CLOSED, LISTEN, SYN-SENT, SYN-RECEIVED and their edges (RFC 9293 figure 5 and
//! 3.10.7.3), plus the CLOSED rules.

mod common;
use common::*;
use synack_kernel::SimDuration;
use synack_tcp::{Cause, ErrorKind, Event, Flags, Seq, State, TcpConfig, closed_reply};

#[test]
fn closed_connect_synsent_sends_syn_and_arms_initial_rto() {
    let mut d = Driver::connect(config());
    assert_eq!(d.sent(), [w("S", ISS, 0, 0)]);
    assert_eq!(d.conn.state(), State::SynSent);
    assert_eq!(d.conn.next_deadline(), Some(secs(1)));
    let t = d.out.transitions[0];
    assert_eq!(
        (t.from, t.to, t.cause),
        (State::Closed, State::SynSent, Cause::Connect)
    );
}

#[test]
fn synsent_synack_established_sends_ack() {
    let mut d = Driver::connect(config());
    d.sent();
    d.now = ms(30);
    d.recv(Flags::SYN | Flags::ACK, PEER_ISS, ISS + 1, 0);
    assert_eq!(d.sent(), [w(".", ISS + 1, PEER_ISS + 1, 0)]);
    assert_eq!(d.conn.state(), State::Established);
    assert_eq!(d.events(), [Event::Connected]);
    assert_eq!(d.conn.next_deadline(), None);
    // The 30 ms sample sets the RTO: 30 + 4 x 15 = 90 ms, floored at 200 ms.
    assert_eq!(d.conn.rto(), SimDuration::from_millis(200));
}

#[test]
fn synsent_syn_synreceived_sends_synack_with_original_iss() {
    let mut d = Driver::connect(config());
    d.sent();
    d.now = ms(5);
    d.recv(Flags::SYN, PEER_ISS, 0, 0);
    assert_eq!(d.sent(), [w("S.", ISS, PEER_ISS + 1, 0)]);
    assert_eq!(
        d.transitions(),
        [
            (State::Closed, State::SynSent),
            (State::SynSent, State::SynReceived)
        ]
    );
    // The SYN-ACK is on the SYN-ACK schedule from now: first retransmission 1 s later.
    assert_eq!(d.conn.next_deadline(), Some(ms(1005)));
}

#[test]
fn synreceived_ack_established_after_simultaneous_open() {
    let mut d = Driver::connect(config());
    d.recv(Flags::SYN, PEER_ISS, 0, 0);
    d.sent();
    // The peer's own SYN-ACK is below RCV.NXT: answered with an ACK (RFC 9293 step one).
    d.recv(Flags::SYN | Flags::ACK, PEER_ISS, ISS + 1, 0);
    assert_eq!(d.sent(), [w(".", ISS + 1, PEER_ISS + 1, 0)]);
    assert_eq!(d.conn.state(), State::SynReceived);
    // The peer's ACK of our SYN completes it.
    d.recv(Flags::ACK, PEER_ISS + 1, ISS + 1, 0);
    assert_eq!(d.conn.state(), State::Established);
    assert!(d.events().contains(&Event::Connected));
    assert_eq!(d.conn.next_deadline(), None);
}

#[test]
fn synsent_rst_with_acceptable_ack_closed_refused() {
    let mut d = Driver::connect(config());
    d.sent();
    d.now = ms(1);
    d.recv(Flags::RST | Flags::ACK, 0, ISS + 1, 0);
    assert_eq!(d.conn.state(), State::Closed);
    let failure = d.conn.failure().unwrap();
    assert_eq!(
        (failure.kind, failure.state, failure.at),
        (ErrorKind::Refused, State::SynSent, ms(1))
    );
    assert_eq!(d.sent(), Vec::<Wire>::new());
}

#[test]
fn synsent_rst_without_ack_ignored() {
    let mut d = Driver::connect(config());
    d.sent();
    d.recv(Flags::RST, 0, 0, 0);
    assert_eq!(d.conn.state(), State::SynSent);
    assert_eq!(d.sent(), Vec::<Wire>::new());
}

#[test]
fn synsent_unacceptable_ack_sends_rst_and_stays() {
    let mut d = Driver::connect(config());
    d.sent();
    d.recv(Flags::SYN | Flags::ACK, PEER_ISS, ISS + 7, 0);
    assert_eq!(d.sent(), [w("R", ISS + 7, 0, 0)]);
    assert_eq!(d.conn.state(), State::SynSent);
}

#[test]
fn synsent_close_closed_without_segment() {
    let mut d = Driver::connect(config());
    d.sent();
    d.close();
    assert_eq!(d.conn.state(), State::Closed);
    assert_eq!(d.sent(), Vec::<Wire>::new());
    assert_eq!(d.events(), [Event::Closed]);
}

#[test]
fn synsent_send_queues_data_onto_the_third_segment() {
    let mut d = Driver::connect(config());
    d.sent();
    d.send(300);
    assert_eq!(d.sent(), Vec::<Wire>::new());
    d.recv(Flags::SYN | Flags::ACK, PEER_ISS, ISS + 1, 0);
    assert_eq!(d.sent(), [w("P.", ISS + 1, PEER_ISS + 1, 300)]);
}

// Linux 6.18, tcp_fastopen=5: fast_open_data_not_acked.pkt, fast_open_syn_retransmit.pkt.
#[test]
fn synsent_synack_of_the_syn_alone_resends_the_syn_data_at_once() {
    let mut d = Driver::connect_with_data(config(), 100);
    assert_eq!(d.sent(), [w("S", ISS, 0, 100)]);
    d.recv(Flags::SYN | Flags::ACK, PEER_ISS, ISS + 1, 0);
    assert_eq!(d.conn.state(), State::Established);
    assert_eq!(d.sent(), [w("P.", ISS + 1, PEER_ISS + 1, 100)]);
}

#[test]
fn synsent_synack_of_the_syn_data_sends_a_bare_ack() {
    let mut d = Driver::connect_with_data(config(), 100);
    d.sent();
    d.recv(Flags::SYN | Flags::ACK, PEER_ISS, ISS + 101, 0);
    assert_eq!(d.sent(), [w(".", ISS + 101, PEER_ISS + 1, 0)]);
    assert_eq!(d.conn.next_deadline(), None);
}

#[test]
fn synsent_timeout_retransmits_the_syn_without_its_data() {
    let mut d = Driver::connect_with_data(config(), 100);
    d.sent();
    d.run_until(secs(1));
    assert_eq!(d.sent(), [w("S", ISS, 0, 0)]);
    d.recv(Flags::SYN | Flags::ACK, PEER_ISS, ISS + 1, 0);
    assert_eq!(d.sent(), [w("P.", ISS + 1, PEER_ISS + 1, 100)]);
}

// Linux 6.18 without a cookie: syn_data_discarded.pkt.
#[test]
fn listen_syn_with_data_drops_it_and_acks_the_syn_alone() {
    let mut d = Driver::accept_syn_data(config(), 10);
    assert_eq!(d.sent(), [w("S.", ISS, PEER_ISS + 1, 0)]);
    d.recv(Flags::ACK, PEER_ISS + 1, ISS + 1, 0);
    assert_eq!(d.events(), [Event::Connected]);
    assert_eq!(d.conn.receive(1000, d.now, &mut d.out), Ok(0));
}

// RFC 9293 3.10.7.2: queued until established.
#[test]
fn listen_syn_with_data_held_acks_it_and_delivers_once_established() {
    let mut d = Driver::accept_syn_data(
        TcpConfig {
            hold_syn_data: true,
            ..config()
        },
        10,
    );
    assert_eq!(d.sent(), [w("S.", ISS, PEER_ISS + 11, 0)]);
    d.recv(Flags::ACK, PEER_ISS + 11, ISS + 1, 0);
    assert_eq!(d.conn.state(), State::Established);
    assert_eq!(d.conn.receive(1000, d.now, &mut d.out), Ok(10));
}

#[test]
fn synreceived_syn_retransmitted_without_its_held_data_gets_the_synack_again() {
    let mut d = Driver::accept_syn_data(
        TcpConfig {
            hold_syn_data: true,
            ..config()
        },
        10,
    );
    d.sent();
    d.recv(Flags::SYN, PEER_ISS, 0, 0);
    assert_eq!(d.sent(), [w("S.", ISS, PEER_ISS + 11, 0)]);
}

#[test]
fn listen_syn_synreceived_sends_synack() {
    let mut d = Driver::accept(config());
    assert_eq!(d.sent(), [w("S.", ISS, PEER_ISS + 1, 0)]);
    let t = d.out.transitions[0];
    assert_eq!(
        (t.from, t.to, t.cause),
        (State::Listen, State::SynReceived, Cause::PassiveOpen)
    );
    assert_eq!(d.conn.next_deadline(), Some(secs(1)));
}

#[test]
fn synreceived_ack_established() {
    let mut d = Driver::accept(config());
    d.sent();
    d.recv(Flags::ACK, PEER_ISS + 1, ISS + 1, 0);
    assert_eq!(d.conn.state(), State::Established);
    assert_eq!(d.events(), [Event::Connected]);
    assert_eq!(d.sent(), Vec::<Wire>::new());
    assert_eq!(d.conn.next_deadline(), None);
}

#[test]
fn synreceived_ack_with_data_established_and_delivers() {
    let mut d = Driver::accept(TcpConfig {
        delayed_ack: None,
        ..config()
    });
    d.sent();
    d.recv(Flags::ACK | Flags::PSH, PEER_ISS + 1, ISS + 1, 100);
    assert_eq!(d.conn.state(), State::Established);
    assert_eq!(d.events(), [Event::Connected, Event::Readable]);
    assert_eq!(d.sent(), [w(".", ISS + 1, PEER_ISS + 101, 0)]);
    assert_eq!(d.conn.receive(1000, d.now, &mut d.out), Ok(100));
}

#[test]
fn synreceived_rst_returns_to_listen() {
    let mut d = Driver::accept(config());
    d.sent();
    d.recv(Flags::RST, PEER_ISS + 1, 0, 0);
    assert_eq!(d.conn.state(), State::Listen);
    assert_eq!(d.events(), [Event::ReturnedToListen]);
    assert!(d.conn.is_finished());
    assert_eq!(d.conn.next_deadline(), None);
}

#[test]
fn synreceived_rst_after_simultaneous_open_refused() {
    let mut d = Driver::connect(config());
    d.recv(Flags::SYN, PEER_ISS, 0, 0);
    d.recv(Flags::RST, PEER_ISS + 1, 0, 0);
    assert_eq!(d.conn.failure().map(|f| f.kind), Some(ErrorKind::Refused));
}

#[test]
fn synreceived_retransmitted_syn_resends_synack_at_once() {
    let mut d = Driver::accept(config());
    d.sent();
    d.now = ms(400);
    d.recv(Flags::SYN, PEER_ISS, 0, 0);
    assert_eq!(d.sent(), [w("S.", ISS, PEER_ISS + 1, 0)]);
    assert_eq!(d.conn.state(), State::SynReceived);
    // The retransmission timer is not disturbed.
    assert_eq!(d.conn.next_deadline(), Some(secs(1)));
}

#[test]
fn synreceived_new_syn_returns_to_listen() {
    let mut d = Driver::accept(config());
    d.sent();
    d.recv(Flags::SYN, PEER_ISS + 10, 0, 0);
    assert_eq!(d.conn.state(), State::Listen);
}

#[test]
fn synreceived_unacceptable_ack_sends_rst() {
    let mut d = Driver::accept(config());
    d.sent();
    d.recv(Flags::ACK, PEER_ISS + 1, ISS + 50, 0);
    assert_eq!(d.sent(), [w("R", ISS + 50, 0, 0)]);
    assert_eq!(d.conn.state(), State::SynReceived);
}

#[test]
fn synreceived_ack_with_fin_closewait() {
    let mut d = Driver::accept(config());
    d.sent();
    d.transitions();
    d.recv(Flags::ACK | Flags::FIN, PEER_ISS + 1, ISS + 1, 0);
    assert_eq!(
        d.transitions(),
        [
            (State::SynReceived, State::Established),
            (State::Established, State::CloseWait)
        ]
    );
    assert_eq!(d.sent(), [w(".", ISS + 1, PEER_ISS + 2, 0)]);
    assert_eq!(d.events(), [Event::Connected, Event::PeerClosed]);
}

#[test]
fn listen_syn_with_two_way_handshake_established_at_once() {
    let mut d = Driver::accept(TcpConfig {
        two_way_handshake: true,
        ..config()
    });
    assert_eq!(d.sent(), [w("S.", ISS, PEER_ISS + 1, 0)]);
    assert_eq!(d.conn.state(), State::Established);
    assert_eq!(d.events(), [Event::Connected]);
    // Nothing waits for an ACK of our SYN.
    assert_eq!(d.conn.next_deadline(), None);
}

#[test]
fn synsent_synack_with_two_way_handshake_established_without_ack() {
    let mut d = Driver::connect(TcpConfig {
        two_way_handshake: true,
        ..config()
    });
    d.sent();
    d.recv(Flags::SYN | Flags::ACK, PEER_ISS, ISS + 1, 0);
    assert_eq!(d.conn.state(), State::Established);
    assert_eq!(d.sent(), Vec::<Wire>::new());
}

#[test]
fn closed_segment_with_ack_gets_rst_at_its_ack() {
    let seg = from_peer(Flags::ACK, 77, 1234, 10);
    let reply = closed_reply(&seg).unwrap();
    assert_eq!(wire(&reply), w("R", 1234, 0, 0));
    assert_eq!((reply.src_port, reply.dst_port), (OURS, THEIRS));
}

#[test]
fn closed_segment_without_ack_gets_rst_ack_past_it() {
    let seg = from_peer(Flags::SYN, 77, 0, 0);
    assert_eq!(wire(&closed_reply(&seg).unwrap()), w("R.", 0, 78, 0));
    let seg = from_peer(Flags::FIN, 77, 0, 10);
    assert_eq!(closed_reply(&seg).unwrap().ack, Seq(77 + 11));
}

#[test]
fn closed_rst_gets_nothing() {
    assert_eq!(
        closed_reply(&from_peer(Flags::RST | Flags::ACK, 1, 2, 0)),
        None
    );
}

#[test]
fn mss_option_caps_what_we_send() {
    let mut d = Driver::connect(config());
    d.sent();
    let mut synack = from_peer(Flags::SYN | Flags::ACK, PEER_ISS, ISS + 1, 0);
    synack.mss = Some(500);
    d.recv_segment(&synack);
    d.sent();
    d.send(1200);
    assert_eq!(
        d.sent(),
        [
            w(".", ISS + 1, PEER_ISS + 1, 500),
            w(".", ISS + 501, PEER_ISS + 1, 500),
            w("P.", ISS + 1001, PEER_ISS + 1, 200)
        ]
    );
}

#[test]
fn synreceived_close_finwait1_sends_fin_at_once() {
    let mut d = Driver::accept(config());
    d.sent();
    d.transitions();
    d.close();
    assert_eq!(d.sent(), [w("F.", ISS + 1, PEER_ISS + 1, 0)]);
    assert_eq!(d.transitions(), [(State::SynReceived, State::FinWait1)]);
    // One ACK covers our SYN and our FIN.
    d.recv(Flags::ACK, PEER_ISS + 1, ISS + 2, 0);
    assert_eq!(d.transitions(), [(State::FinWait1, State::FinWait2)]);
}

#[test]
fn synsent_synack_with_mss_zero_sends_at_the_minimum_mss() {
    // Found by the fuzzer: an MSS option of 0 made the sender loop on empty segments.
    let mut d = Driver::connect(config());
    d.sent();
    let mut synack = from_peer(Flags::SYN | Flags::ACK, PEER_ISS, ISS + 1, 0);
    synack.mss = Some(0);
    d.recv_segment(&synack);
    d.sent();
    d.send(200);
    assert_eq!(
        d.sent(),
        [
            w(".", ISS + 1, PEER_ISS + 1, 88),
            w(".", ISS + 89, PEER_ISS + 1, 88),
            w("P.", ISS + 177, PEER_ISS + 1, 24)
        ]
    );
}
