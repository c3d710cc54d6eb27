//! The freebsd profile's endpoint rules, each as FreeBSD's own state-event suite
//! (freebsd-net/tcp-testsuite, state-event-engine/) checks it; the script each test
//! follows is named. The suite itself runs in CI (crates/cli/tests/conformance/freebsd.sh);
//! these tests keep the rules checked where the suite cannot be had.

mod common;
use common::*;
use synack_tcp::host::Profile;
use synack_tcp::{ErrorKind, Event, Flags, State, TcpConfig, TimeWait, Verdict};

/// The freebsd profile's endpoint, without timestamps (the suite's peers send none).
fn freebsd() -> TcpConfig {
    TcpConfig {
        timestamps: false,
        ..Profile::FreeBsd.config().tcp
    }
}

/// Established by our connect; the peer's SYN-ACK offered MSS 1460 and no window scale.
fn established() -> Driver {
    Driver::established(freebsd())
}

#[test]
fn established_buffer_rounds_up_to_mss_and_accepts_past_the_advertised_window() {
    // rcv-rst-established-right-edge-insecure: SO_RCVBUF 65536, then 65700 (45 x 1460);
    // a RST at RCV.NXT + 65699 is in the window, one at + 65700 is not.
    let mut d = Driver::connect(freebsd());
    assert_eq!(d.conn.recv_buffer(), 65_536);
    d.recv(Flags::SYN | Flags::ACK, PEER_ISS, ISS + 1, 0);
    assert_eq!(d.conn.recv_buffer(), 65_700);
    assert_eq!(d.conn.rcv_wnd(), 65_535, "16 bits unscaled");
    d.out.clear();
    d.recv(Flags::RST, PEER_ISS + 1 + 65_700, 0, 0);
    assert_eq!(d.conn.state(), State::Established);
    assert_eq!(d.sent(), Vec::<Wire>::new());
    d.recv(Flags::RST, PEER_ISS + 1 + 65_699, 0, 0);
    assert_eq!(d.conn.state(), State::Established, "challenged");
    assert_eq!(d.sent(), [w(".", ISS + 1, PEER_ISS + 1, 0)]);
}

#[test]
fn established_rst_from_us_advertises_window_zero() {
    // rcv-syn-established-left-edge-insecure: `> R. 1:1(0) ack 1 win 0`.
    let mut d = Driver::established(TcpConfig {
        rfc5961_syn: false,
        ..freebsd()
    });
    d.recv(Flags::SYN, PEER_ISS + 1, 0, 0);
    let rst = d.out.segments.last().copied().expect("a RST");
    assert_eq!(wire(&rst), w("R.", ISS + 1, PEER_ISS + 1, 0));
    assert_eq!(rst.window, 0);
    assert_eq!(d.conn.failure().map(|f| f.kind), Some(ErrorKind::Reset));
}

#[test]
fn fin_wait_1_peer_fin_acked_with_our_fin_again() {
    // rcv-rst-closing: after `> F. 1:1(0) ack 1` and `< F. 1:1(0) ack 1`, FreeBSD sends
    // `> F. 1:1(0) ack 2` (CLOSING).
    let mut d = established();
    d.close();
    assert_eq!(d.sent(), [w("F.", ISS + 1, PEER_ISS + 1, 0)]);
    d.recv(Flags::FIN | Flags::ACK, PEER_ISS + 1, ISS + 1, 0);
    assert_eq!(d.conn.state(), State::Closing);
    assert_eq!(d.sent(), [w("F.", ISS + 1, PEER_ISS + 2, 0)]);
}

#[test]
fn closing_syn_challenge_ack_is_bare() {
    // rcv-syn-closing-left-edge-secure: the challenge ACK is `> . 2:2(0) ack 2`.
    let mut d = established();
    d.close();
    d.recv(Flags::FIN | Flags::ACK, PEER_ISS + 1, ISS + 1, 0);
    d.out.clear();
    d.recv(Flags::SYN, PEER_ISS + 2, 0, 0);
    assert_eq!(d.sent(), [w(".", ISS + 2, PEER_ISS + 2, 0)]);
}

#[test]
fn last_ack_rst_reports_econnreset() {
    // rcv-rst-last-ack-left-edge-secure: SO_ERROR [ECONNRESET].
    let mut d = established();
    d.recv(Flags::FIN | Flags::ACK, PEER_ISS + 1, ISS + 1, 0);
    d.close();
    assert_eq!(d.conn.state(), State::LastAck);
    d.recv(Flags::RST, PEER_ISS + 2, 0, 0);
    assert_eq!(d.conn.failure().map(|f| f.kind), Some(ErrorKind::Reset));
}

#[test]
fn syn_sent_syn_ack_text_taken_and_acknowledged() {
    // rcv-syn-ack-with-data-syn-sent-ack-left-edge: `< S. 0:3(3) ack 1`, `> . 1:1(0) ack 4`.
    let mut d = Driver::connect(freebsd());
    d.out.clear();
    d.recv(Flags::SYN | Flags::ACK, PEER_ISS, ISS + 1, 3);
    assert_eq!(d.sent(), [w(".", ISS + 1, PEER_ISS + 4, 0)]);
    assert!(d.events().contains(&Event::Readable));
}

#[test]
fn syn_sent_simultaneous_open_text_held_until_established() {
    // rcv-syn-with-data-syn-sent: `< S 0:3(3)`, `> S. 0:0(0) ack 1`; `< . 4:4(0) ack 1`,
    // then `read = 3`.
    let mut d = Driver::connect(freebsd());
    d.out.clear();
    d.recv(Flags::SYN, PEER_ISS, 0, 3);
    assert_eq!(d.sent(), [w("S.", ISS, PEER_ISS + 1, 0)]);
    assert!(!d.events().contains(&Event::Readable));
    d.recv(Flags::ACK, PEER_ISS + 4, ISS + 1, 0);
    assert_eq!(d.conn.state(), State::Established);
    assert!(d.events().contains(&Event::Readable));
    assert_eq!(d.conn.rcv_nxt().0, PEER_ISS + 4);
}

fn time_wait() -> TimeWait {
    TimeWait {
        snd_nxt: synack_tcp::Seq(ISS + 2),
        rcv_nxt: synack_tcp::Seq(PEER_ISS + 2),
        ts_recent: None,
        rcv_wnd: 65_535,
        last_invalid_ack_ms: 0,
    }
}

#[test]
fn time_wait_follows_tcp_twcheck() {
    // rcv-*-time-wait: RSTs ignored, with ACK or not; a SYN at or below RCV.NXT ignored;
    // a bare FIN dropped; an old ACK answered; the duplicate ACK not.
    let config = freebsd();
    let verdict = |flags: Flags, seq: u32, ack: u32| {
        time_wait().on_segment(&from_peer(flags, seq, ack, 0), &config, ms(100))
    };
    let rcv_nxt = PEER_ISS + 2;
    assert_eq!(verdict(Flags::RST, rcv_nxt, 0), Verdict::Ignore);
    assert_eq!(
        verdict(Flags::RST | Flags::ACK, rcv_nxt, ISS + 2),
        Verdict::Ignore
    );
    assert_eq!(verdict(Flags::SYN, rcv_nxt, 0), Verdict::Ignore);
    assert!(matches!(
        verdict(Flags::SYN, rcv_nxt + 1, 0),
        Verdict::Reopen(_)
    ));
    assert_eq!(
        verdict(Flags::SYN | Flags::ACK, rcv_nxt, ISS + 2),
        Verdict::Ack
    );
    assert_eq!(verdict(Flags::FIN, rcv_nxt, 0), Verdict::Ignore);
    assert_eq!(verdict(Flags::ACK, rcv_nxt - 1, ISS + 2), Verdict::Ack);
    assert_eq!(verdict(Flags::ACK, rcv_nxt, ISS + 2), Verdict::Ignore);
    assert_eq!(
        verdict(Flags::FIN | Flags::ACK, rcv_nxt - 1, ISS + 2),
        Verdict::AckAndRestart
    );
}
