//! Retry timings, exactly, for each backoff schedule: the reference's figures for Linux,
//! classic Linux, macOS, FreeBSD-style connect timeouts and Windows.

mod common;
use common::*;
use synack_kernel::{SimDuration, SimTime};
use synack_tcp::{Backoff, Cause, ErrorKind, State, TcpConfig};

/// Active open into a black hole: when each SYN goes out, and when connect fails.
fn syn_schedule(config: TcpConfig) -> (Vec<f64>, f64) {
    let mut d = Driver::connect(config);
    let mut times = vec![0.0];
    d.sent();
    for (at, seg) in d.timeline(SimTime::from_secs(10_000).unwrap()) {
        assert_eq!(seg, w("S", ISS, 0, 0));
        times.push(at.as_secs_f64());
    }
    let failure = d.conn.failure().expect("connect fails");
    assert_eq!(failure.kind, ErrorKind::TimedOut);
    assert_eq!(
        d.out.transitions.last().map(|t| t.cause),
        Some(Cause::Timeout)
    );
    (times, failure.at.as_secs_f64())
}

#[test]
fn synsent_timeouts_linux_linear_first_four_then_doubling_fail_at_131s() {
    let (syns, fail) = syn_schedule(config());
    assert_eq!(
        syns,
        [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 7.0, 11.0, 19.0, 35.0, 67.0]
    );
    assert_eq!(fail, 131.0);
}

#[test]
fn synsent_timeouts_classic_linux_doubling_fail_at_127s() {
    let (syns, fail) = syn_schedule(TcpConfig {
        syn_backoff: Backoff::Doubling,
        ..config()
    });
    assert_eq!(syns, [0.0, 1.0, 3.0, 7.0, 15.0, 31.0, 63.0]);
    assert_eq!(fail, 127.0);
}

#[test]
fn synsent_timeouts_macos_table_cut_by_connect_timeout_at_75s() {
    let table = [1, 1, 1, 1, 1, 2, 4, 8, 16, 32, 64, 64, 64]
        .map(SimDuration::from_secs)
        .to_vec();
    let (syns, fail) = syn_schedule(TcpConfig {
        syn_backoff: Backoff::Table(table),
        syn_retries: 12,
        connect_timeout: Some(SimDuration::from_secs(75)),
        ..config()
    });
    assert_eq!(
        syns,
        [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 7.0, 11.0, 19.0, 35.0, 67.0]
    );
    assert_eq!(fail, 75.0);
}

#[test]
fn synsent_timeouts_windows_3s_doubling_two_retries_fail_at_21s() {
    let (syns, fail) = syn_schedule(TcpConfig {
        rto_initial: SimDuration::from_secs(3),
        syn_backoff: Backoff::Doubling,
        syn_retries: 2,
        ..config()
    });
    assert_eq!(syns, [0.0, 3.0, 9.0]);
    assert_eq!(fail, 21.0);
}

#[test]
fn synsent_backoff_is_capped_at_rto_max() {
    let (syns, fail) = syn_schedule(TcpConfig {
        syn_backoff: Backoff::Doubling,
        syn_retries: 8,
        rto_max: SimDuration::from_secs(10),
        ..config()
    });
    // Waits 1, 2, 4, 8, then 16 capped at 10.
    assert_eq!(syns, [0.0, 1.0, 3.0, 7.0, 15.0, 25.0, 35.0, 45.0, 55.0]);
    assert_eq!(fail, 65.0);
}

#[test]
fn synreceived_timeouts_synack_at_1_3_7_15_31_dropped_at_63s() {
    let mut d = Driver::accept(config());
    d.sent();
    let times: Vec<f64> = d
        .timeline(SimTime::from_secs(1000).unwrap())
        .into_iter()
        .map(|(at, seg)| {
            assert_eq!(seg, w("S.", ISS, PEER_ISS + 1, 0));
            at.as_secs_f64()
        })
        .collect();
    assert_eq!(times, [1.0, 3.0, 7.0, 15.0, 31.0]);
    let failure = d.conn.failure().unwrap();
    assert_eq!(
        (failure.kind, failure.state, failure.at),
        (ErrorKind::TimedOut, State::SynReceived, secs(63))
    );
}

#[test]
fn synsent_retransmitted_handshake_falls_back_to_3s_rto() {
    let mut d = Driver::connect(config());
    d.run_until(secs(1));
    d.recv(
        synack_tcp::Flags::SYN | synack_tcp::Flags::ACK,
        PEER_ISS,
        ISS + 1,
        0,
    );
    assert_eq!(d.conn.state(), State::Established);
    // Karn: the SYN was retransmitted, so no sample; RFC 6298 5.7 gives 3 s.
    assert_eq!(d.conn.rto(), SimDuration::from_secs(3));
}
