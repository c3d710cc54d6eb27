//! The `scale` experiment runs every lifecycle to a clean close at each size. Its speed
//! and memory are machine measurements, judged in benchmarks and the closing notes, not
//! in a timed test.

mod common;

#[test]
fn every_connection_opened_at_once_completes_its_lifecycle() {
    let (report, rows) = common::quick_rows(&experiments::scale::Scale, 41);
    assert_eq!((report.points, report.failed), (3, 0));
    for r in &rows {
        let n = r.num("connections");
        assert_eq!((r.num("connected"), r.num("closed_pairs")), (n, n), "{r:?}");
        // Ten events a lifecycle: 9 segments and the open; TIME-WAIT ends 20 s on.
        assert!(r.num("events") >= 10.0 * n, "{r:?}");
        assert!(r.num("sim_end_s") >= 21.0, "{r:?}");
        for machine in ["wall_s", "lifecycles_per_wall_s", "peak_rss_mb"] {
            assert!(r.num(machine) > 0.0, "{machine}: {r:?}");
        }
    }
}
