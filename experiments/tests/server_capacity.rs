//! The `server_capacity` experiment's claims: the accept queue overflows exactly when
//! the clients arriving within a second exceed what the server accepts in that second by
//! more than the queue holds; then SYNs are dropped and the p99 response time jumps to
//! the SYN retransmission (a second and more), and fewer connections are accepted per
//! second than the server could.

mod common;

use experiments::server_capacity::ACCEPTS_PER_S;

#[test]
fn the_accept_queue_overflows_past_accept_rate_plus_queue_and_p99_jumps_to_seconds() {
    let (report, rows) = common::quick_rows(&experiments::server_capacity::ServerCapacity, 37);
    assert_eq!((report.points, report.failed), (12, 0));
    for r in &rows {
        let (clients, backlog) = (r.num("clients"), r.num("backlog"));
        assert_eq!(r.num("accepted"), clients, "{r:?}");
        assert_eq!(r.num("failed"), 0.0, "{r:?}");
        assert!(r.num("accepted_per_s") <= ACCEPTS_PER_S * 1.01, "{r:?}");
        let excess = clients - ACCEPTS_PER_S;
        let queue = backlog.min(4096.0);
        if excess <= 0.0 {
            assert_eq!(r.num("accept_queue_drops"), 0.0, "{r:?}");
            assert!(r.num("response_p99_s") < 0.05, "{r:?}");
        } else if excess < queue * 0.9 {
            // The queue holds the excess: waits, no drops.
            assert_eq!(r.num("accept_queue_drops"), 0.0, "{r:?}");
            assert!(r.num("response_p99_s") < 1.0, "{r:?}");
        } else if excess > queue * 1.1 {
            assert!(r.num("accept_queue_drops") > 0.0, "{r:?}");
            assert!(r.num("response_p99_s") >= 1.0, "{r:?}");
        }
    }
    // Overflow costs throughput: the server idles while clients wait out SYN timeouts.
    let rate = |backlog: f64| {
        rows.iter()
            .find(|r| r.num("backlog") == backlog && r.num("clients") == 20_000.0)
            .map(|r| r.num("accepted_per_s"))
            .expect("a row")
    };
    assert!(
        rate(128.0) < 0.6 * rate(4096.0),
        "{} {}",
        rate(128.0),
        rate(4096.0)
    );
}
