//! The `three_segment_close` experiment's claims: on Linux a close takes three segments
//! when the server closes within its delayed-ACK timeout, 1 - e^(-D / 40 ms) of them; on
//! FreeBSD, which ACKs a FIN at once, never.

mod common;
use experiments::stats::{Z, binomial_band};
use experiments::three_segment_close::ThreeSegmentClose;

#[test]
fn linux_closes_in_three_segments_as_often_as_the_close_beats_the_delayed_ack_and_freebsd_never() {
    let (report, rows) = common::quick_rows(&ThreeSegmentClose, 3);
    assert_eq!((report.points, report.failed), (2 * 12, 0));
    for r in &rows {
        let (n, fraction, predicted) = (
            r.num("closes"),
            r.num("three_segment_fraction"),
            r.num("three_segment_predicted"),
        );
        assert_eq!(n, 400.0, "every connection closes: {r:?}");
        let (low, high) = binomial_band(n, predicted, Z);
        assert!(
            (low..=high).contains(&(fraction * n)),
            "{r:?}: {low}..{high}"
        );
        match (r.get("profile"), r.num("delayed_ack_ms")) {
            ("freebsd", _) | (_, 0.0) => assert_eq!(fraction, 0.0, "{r:?}"),
            // Linux's own 40 ms: most closes, not all.
            ("linux", 40.0) => assert!(fraction > 0.5 && fraction < 0.75, "{r:?}"),
            _ => {}
        }
    }
}
