//! The `syn_flood` experiment's claims: without cookies, legitimate handshakes collapse
//! once flood rate x half-open lifetime exceeds the backlog (and fewer SYN-ACK retries move
//! that point as predicted); with cookies they stay at or above 99%; a per-source filter
//! helps only against an unspoofed flood.

mod common;

#[test]
fn legitimate_handshakes_collapse_past_the_predicted_load_unless_cookies_are_on() {
    let (report, rows) = common::quick_rows(&experiments::syn_flood::SynFlood, 13);
    assert_eq!((report.points, report.failed), (40, 0));
    let first_try = |defence: &str, retries: f64, flood: f64| {
        rows.iter()
            .find(|r| {
                r.get("defence") == defence
                    && r.num("synack_retries") == retries
                    && r.num("flood_per_s") == flood
            })
            .map(|r| r.num("first_try_rate"))
            .expect("a row")
    };
    for r in &rows {
        let load = r.num("predicted_load");
        let expected = r.num("flood_per_s")
            * experiments::syn_flood::half_open_lifetime_s(r.num("synack_retries") as u32)
            / 256.0;
        assert_eq!(load, expected);
        let (success, first) = (r.num("success_rate"), r.num("first_try_rate"));
        match r.get("defence") {
            "cookies" | "rate_filter_unspoofed" => {
                assert!(success >= 0.99 && first >= 0.99, "{r:?}");
            }
            "off" | "rate_filter" => {
                if load <= 0.9 {
                    assert!(success >= 0.99 && first >= 0.99, "{r:?}");
                } else if load >= 3.0 {
                    // A legitimate SYN finds a free slot about backlog / (A x L) of the time.
                    assert!(first <= 1.5 / load, "{r:?}");
                }
                if load >= 7.0 {
                    assert!(success < 0.9, "collapsed even with SYN retries: {r:?}");
                }
            }
            other => panic!("defence {other}"),
        }
    }
    // At 32 SYN/s, 5 retries (63 s) overflow 256 slots and 2 retries (7 s) do not.
    assert!(first_try("off", 2.0, 32.0) >= 0.99);
    assert!(first_try("off", 5.0, 32.0) <= 0.2);
}
