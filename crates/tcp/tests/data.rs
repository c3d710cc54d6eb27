//! Data transfer in ESTABLISHED: ACK policy, out-of-order data, retransmission (RFC 6298,
//! Karn, R2), the user timeout, keepalive, zero windows and sequence wrap-around.

mod common;
use common::*;
use synack_kernel::SimDuration;
use synack_tcp::{ErrorKind, Event, Flags, Keepalive, State, TcpConfig, Timestamps};

#[test]
fn established_data_readable_and_ack_delayed_40ms() {
    let mut d = Driver::established(config());
    d.now = secs(1);
    d.recv(Flags::ACK | Flags::PSH, PEER_ISS + 1, ISS + 1, 100);
    assert_eq!(d.events(), [Event::Readable]);
    assert_eq!(d.sent(), Vec::<Wire>::new());
    assert_eq!(d.conn.next_deadline(), Some(ms(1040)));
    d.run_until(ms(1040));
    assert_eq!(d.sent(), [w(".", ISS + 1, PEER_ISS + 101, 0)]);
    assert_eq!(d.conn.next_deadline(), None);
}

#[test]
fn established_second_full_segment_acked_at_once() {
    let mut d = Driver::established(config());
    d.recv(Flags::ACK, PEER_ISS + 1, ISS + 1, 1460);
    assert_eq!(d.sent(), Vec::<Wire>::new());
    d.recv(Flags::ACK, PEER_ISS + 1461, ISS + 1, 1460);
    assert_eq!(d.sent(), [w(".", ISS + 1, PEER_ISS + 2921, 0)]);
    assert_eq!(d.conn.next_deadline(), None);
}

#[test]
fn established_out_of_order_acked_at_once_and_held_until_the_gap_fills() {
    let mut d = Driver::established(config());
    d.recv(Flags::ACK, PEER_ISS + 101, ISS + 1, 100);
    assert_eq!(d.sent(), [w(".", ISS + 1, PEER_ISS + 1, 0)]);
    assert_eq!(d.conn.out_of_order_len(), 1);
    assert_eq!(d.events(), Vec::<Event>::new());
    d.recv(Flags::ACK, PEER_ISS + 1, ISS + 1, 100);
    assert_eq!(d.sent(), [w(".", ISS + 1, PEER_ISS + 201, 0)]);
    assert_eq!(d.conn.receive(1000, d.now, &mut d.out), Ok(200));
    assert_eq!(d.conn.integrity().intact, 200);
    assert!(d.conn.integrity().is_clean());
}

/// Sender SWS avoidance (RFC 9293 3.8.6.2.1; Linux's `tcp_snd_wnd_test`): whole segments
/// only, never a runt cut to fit what the window leaves.
#[test]
fn established_send_whole_segments_within_the_window_never_a_runt() {
    let mut d = Driver::established(config());
    let mut small = from_peer(Flags::ACK, PEER_ISS + 1, ISS + 1, 0);
    small.window = 3000;
    d.recv_segment(&small);
    d.send(5000);
    assert_eq!(
        d.sent(),
        [
            w(".", ISS + 1, PEER_ISS + 1, 1460),
            w(".", ISS + 1461, PEER_ISS + 1, 1460),
        ]
    );
    // The ACK of both, with the same window, lets the rest go: a full segment and the
    // last 620 bytes, which are all that is left.
    let mut ack = from_peer(Flags::ACK, PEER_ISS + 1, ISS + 2921, 0);
    ack.window = 3000;
    d.recv_segment(&ack);
    assert_eq!(
        d.sent(),
        [
            w(".", ISS + 2921, PEER_ISS + 1, 1460),
            w("P.", ISS + 4381, PEER_ISS + 1, 620)
        ]
    );
}

/// With timestamps agreed every segment carries 12 bytes of option, so a segment holds the
/// MSS less 12: 1,448 to an MSS of 1,460 (RFC 9293 3.7.1; Linux's mss_cache, measured on
/// Linux 6.18: `tcpi_snd_mss` 988 to an MSS of 1,000, tcp_maxseg_listener.pkt).
#[test]
fn established_with_timestamps_segments_hold_mss_less_the_option() {
    let mut d = Driver::connect(TcpConfig {
        timestamps: true,
        ..config()
    });
    let mut syn_ack = from_peer(Flags::SYN | Flags::ACK, PEER_ISS, ISS + 1, 0);
    syn_ack.timestamps = Some(Timestamps { val: 7, ecr: 0 });
    d.recv_segment(&syn_ack);
    d.out.clear();
    assert_eq!(d.conn.send_mss(), 1448);
    assert_eq!(d.conn.advertised_mss(), 1448);
    d.send(3000);
    assert_eq!(
        d.sent().iter().map(|w| w.3).collect::<Vec<_>>(),
        [1448, 1448, 104]
    );
}

#[test]
fn established_lost_data_retransmitted_with_doubling_rto() {
    let mut d = Driver::established(config());
    d.now = secs(10);
    d.send(100);
    d.sent();
    // RTO 200 ms after the handshake's sample; then 400, 800 ms.
    let resends: Vec<_> = d.timeline(ms(10_000 + 200 + 400 + 800));
    assert_eq!(
        resends,
        [
            (ms(10_200), w("P.", ISS + 1, PEER_ISS + 1, 100)),
            (ms(10_600), w("P.", ISS + 1, PEER_ISS + 1, 100)),
            (ms(11_400), w("P.", ISS + 1, PEER_ISS + 1, 100)),
        ]
    );
    assert_eq!(d.conn.next_deadline(), Some(ms(13_000)));
    // The ACK of the retransmission resets the backoff (no RTT sample: Karn).
    d.now = ms(11_450);
    d.recv(Flags::ACK, PEER_ISS + 1, ISS + 101, 0);
    assert_eq!(d.conn.next_deadline(), None);
    assert_eq!(d.conn.rto(), SimDuration::from_millis(200));
    assert_eq!(d.conn.unacknowledged(), 0);
}

#[test]
fn established_rtt_samples_set_the_rto_per_rfc6298() {
    let mut d = Driver::connect(config());
    d.now = ms(100);
    d.recv(Flags::SYN | Flags::ACK, PEER_ISS, ISS + 1, 0);
    // First sample 100 ms: SRTT 100, RTTVAR 50, RTO = 100 + 4 x 50 = 300 ms.
    assert_eq!(d.conn.rto(), SimDuration::from_millis(300));
    d.send(100);
    d.now = ms(300);
    d.recv(Flags::ACK, PEER_ISS + 1, ISS + 101, 0);
    // Second sample 200 ms: RTTVAR = 3/4 x 50 + 1/4 x 100 = 62.5,
    // SRTT = 7/8 x 100 + 1/8 x 200 = 112.5: RTO = 112.5 + 250 = 362.5 ms.
    assert_eq!(d.conn.rto(), SimDuration::from_micros(362_500));
}

#[test]
fn established_data_retries_exhausted_timed_out_after_924_6s() {
    let mut d = Driver::established(config());
    d.send(100);
    d.sent();
    let resends = d.timeline(secs(2000));
    assert_eq!(resends.len(), 15);
    let failure = d.conn.failure().unwrap();
    assert_eq!(
        (failure.kind, failure.state),
        (ErrorKind::TimedOut, State::Established)
    );
    // 0.2 s doubling, capped at 120 s, 16 waits: Linux's documented 924.6 s for tcp_retries2 = 15.
    assert_eq!(failure.at, ms(924_600));
}

#[test]
fn established_user_timeout_fails_at_the_first_rto_past_it() {
    let mut d = Driver::established(TcpConfig {
        user_timeout: Some(SimDuration::from_secs(5)),
        ..config()
    });
    d.send(100);
    d.timeline(secs(100));
    // RTOs fire at 0.2, 0.6, 1.4, 3.0, 6.2 s: the first at or past 5 s fails.
    assert_eq!(
        d.conn.failure().map(|f| (f.kind, f.at)),
        Some((ErrorKind::TimedOut, ms(6_200)))
    );
}

#[test]
fn established_fin_retransmitted_after_data_on_go_back() {
    let mut d = Driver::established(config());
    d.send(100);
    d.close();
    assert_eq!(
        d.sent(),
        [
            w("P.", ISS + 1, PEER_ISS + 1, 100),
            w("F.", ISS + 101, PEER_ISS + 1, 0)
        ]
    );
    d.run_until(ms(200));
    assert_eq!(
        d.sent(),
        [
            w("P.", ISS + 1, PEER_ISS + 1, 100),
            w("F.", ISS + 101, PEER_ISS + 1, 0)
        ]
    );
    // An ACK of the data alone leaves the FIN outstanding.
    d.recv(Flags::ACK, PEER_ISS + 1, ISS + 101, 0);
    assert_eq!(d.conn.state(), State::FinWait1);
    d.recv(Flags::ACK, PEER_ISS + 1, ISS + 102, 0);
    assert_eq!(d.conn.state(), State::FinWait2);
}

#[test]
fn established_zero_window_probed_on_the_persist_timer() {
    let mut d = Driver::established(config());
    let mut closed = from_peer(Flags::ACK, PEER_ISS + 1, ISS + 1, 0);
    closed.window = 0;
    d.recv_segment(&closed);
    d.send(500);
    assert_eq!(d.sent(), Vec::<Wire>::new());
    // With nothing in flight, the RTO doubles as the persist timer: a 1-byte probe.
    assert_eq!(d.conn.next_deadline(), Some(ms(200)));
    d.run_until(ms(200));
    assert_eq!(d.sent(), [w(".", ISS + 1, PEER_ISS + 1, 1)]);
    // The window opens: the rest goes.
    d.recv(Flags::ACK, PEER_ISS + 1, ISS + 2, 0);
    assert_eq!(d.sent(), [w("P.", ISS + 2, PEER_ISS + 1, 499)]);
}

#[test]
fn established_receive_window_shrinks_with_unread_data_and_trims() {
    let mut d = Driver::established(TcpConfig {
        recv_buffer: 3000,
        delayed_ack: None,
        ..config()
    });
    d.recv(Flags::ACK, PEER_ISS + 1, ISS + 1, 1460);
    d.recv(Flags::ACK, PEER_ISS + 1461, ISS + 1, 1460);
    assert_eq!(d.conn.rcv_wnd(), 80);
    d.sent();
    // 1460 bytes offered, 80 fit: the rest is cut.
    d.recv(Flags::ACK, PEER_ISS + 2921, ISS + 1, 1460);
    assert_eq!(d.sent(), [w(".", ISS + 1, PEER_ISS + 3001, 0)]);
    assert_eq!(d.conn.rcv_wnd(), 0);
    // Reading opens it again, and a window update goes out.
    assert_eq!(d.conn.receive(3000, d.now, &mut d.out), Ok(3000));
    let update = d.out.segments.pop().unwrap();
    assert_eq!(
        (wire(&update), update.window),
        (w(".", ISS + 1, PEER_ISS + 3001, 0), 3000)
    );
}

#[test]
fn established_idle_keepalive_probes_then_timed_out_at_7875s() {
    let mut d = Driver::established(TcpConfig {
        keepalive: Some(Keepalive::default()),
        ..config()
    });
    let mut probes: Vec<_> = d.timeline(secs(100_000));
    // Linux sends a RST when the last probe goes unanswered (measured on Linux 6.18:
    // crates/cli/tests/drill/linux/keepalive.pkt).
    let (reset_at, reset) = probes.pop().expect("a RST");
    assert_eq!(
        (reset_at, reset),
        (secs(7875), w("R.", ISS + 1, PEER_ISS + 1, 0))
    );
    let times: Vec<u64> = probes
        .iter()
        .map(|(at, _)| at.as_nanos() / 1_000_000_000)
        .collect();
    assert_eq!(times, (0..9).map(|k| 7200 + 75 * k).collect::<Vec<_>>());
    assert!(
        probes
            .iter()
            .all(|(_, seg)| *seg == w(".", ISS, PEER_ISS + 1, 0))
    );
    assert_eq!(
        d.conn.failure().map(|f| (f.kind, f.at)),
        Some((ErrorKind::TimedOut, secs(7875)))
    );
}

#[test]
fn established_keepalive_answered_stays_open() {
    let mut d = Driver::established(TcpConfig {
        keepalive: Some(Keepalive::default()),
        ..config()
    });
    d.run_until(secs(7200));
    assert_eq!(d.sent(), [w(".", ISS, PEER_ISS + 1, 0)]);
    d.recv(Flags::ACK, PEER_ISS + 1, ISS + 1, 0);
    assert_eq!(d.conn.next_deadline(), Some(secs(14_400)));
}

#[test]
fn established_sequence_numbers_wrap_around() {
    let iss = u32::MAX - 1000;
    let mut d = Driver::connect_with_iss(
        TcpConfig {
            delayed_ack: None,
            ..config()
        },
        iss,
    );
    let peer_iss = u32::MAX - 2000;
    let mut synack = from_peer(Flags::SYN | Flags::ACK, peer_iss, iss.wrapping_add(1), 0);
    synack.data.offset = 0;
    d.recv_segment(&synack);
    d.sent();
    d.send(5000);
    let sent = d.sent();
    assert_eq!(sent.len(), 4);
    assert_eq!(sent[1].1, iss.wrapping_add(1461));
    d.recv(
        Flags::ACK,
        peer_iss.wrapping_add(1),
        iss.wrapping_add(5001),
        0,
    );
    assert_eq!(d.conn.unacknowledged(), 0);
    assert_eq!(d.conn.next_deadline(), None);
    // Receive 4000 bytes across the peer's wrap too.
    for k in 0..4u32 {
        let mut seg = from_peer(
            Flags::ACK,
            peer_iss.wrapping_add(1 + 1000 * k),
            iss.wrapping_add(5001),
            1000,
        );
        seg.data.offset = u64::from(1000 * k);
        d.recv_segment(&seg);
    }
    assert_eq!(d.conn.integrity().intact, 4000);
    assert!(d.conn.integrity().is_clean());
    assert_eq!(d.conn.rcv_nxt().0, peer_iss.wrapping_add(4001));
}

/// Without window scaling the window is a 16-bit field (RFC 7323 2.2): data starting
/// 65,536 bytes past RCV.NXT is outside it, however large the buffer, and is ACKed and
/// dropped; with both SYNs offering a scale the whole free buffer is the window.
#[test]
fn established_unscaled_window_is_at_most_65535_bytes() {
    let config = TcpConfig {
        recv_buffer: 131_072,
        window_scale: Some(7),
        ..config()
    };
    let mut d = Driver::established(config.clone());
    assert_eq!(d.conn.rcv_wnd(), 65_535);
    d.recv(Flags::ACK, PEER_ISS + 1 + 65_536, ISS + 1, 1000);
    assert_eq!(d.conn.out_of_order_len(), 0);
    assert_eq!(d.sent(), [w(".", ISS + 1, PEER_ISS + 1, 0)]);

    let mut d = Driver::connect(config);
    let mut synack = from_peer(Flags::SYN | Flags::ACK, PEER_ISS, ISS + 1, 0);
    synack.window_scale = Some(7);
    d.recv_segment(&synack);
    d.out.clear();
    assert_eq!(d.conn.rcv_wnd(), 131_072);
    d.recv(Flags::ACK, PEER_ISS + 1 + 65_536, ISS + 1, 1000);
    assert_eq!(d.conn.out_of_order_len(), 1);
}
