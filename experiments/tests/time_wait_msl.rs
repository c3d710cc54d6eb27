//! The `time_wait_msl` experiment's claims: a TIME-WAIT at least as long as old
//! duplicates live lets no connection accept an earlier incarnation's bytes, whatever the
//! ISN generator; a shorter one with a constant ISN does. Without RFC 1337, TIME-WAIT is
//! assassinated and protects nothing. Under Linux's rules every old copy restarts
//! TIME-WAIT, so with RFC 1337 on the copies themselves keep the tuple out of use.

mod common;

#[test]
fn time_wait_at_least_the_segment_lifetime_keeps_old_incarnations_out() {
    let (report, rows) = common::quick_rows(&experiments::time_wait_msl::TimeWaitMsl, 19);
    assert_eq!((report.points, report.failed), (160, 0));
    let lifetime = experiments::time_wait_msl::MAX_LIFETIME_S;
    for r in &rows {
        let (t, stale) = (r.num("time_wait_s"), r.num("stale_accepted"));
        assert!(r.num("connections") > 20.0, "{r:?}");
        let constant = r.get("isn") == "constant";
        let linux = r.get("time_wait_rules") == "linux";
        match r.get("rfc1337") {
            "on" if t >= lifetime || linux => assert_eq!(stale, 0.0, "{r:?}"),
            "on" if constant => assert!(stale > 0.0, "{r:?}"),
            // An RST drawn by an old copy ends TIME-WAIT early: no length protects.
            "off" if constant => assert!(stale > 0.0, "{r:?}"),
            _ => {}
        }
        // Where theory rules stale bytes out, the count is exactly 0 (an impossibility has
        // no sampling error), and its column says so.
        let ruled_out = r.num("stale_fraction_theory") == 0.0;
        let expected = matches!(r.get("isn"), "clock4us" | "rfc6528")
            || (r.get("rfc1337") == "on" && (t >= lifetime || linux));
        assert_eq!(ruled_out, expected, "{r:?}");
        if ruled_out {
            assert_eq!(stale, 0.0, "{r:?}");
        }
        assert_eq!(r.num("stale_fraction"), stale / r.num("connections"));
        if r.get("rfc1337") == "off" && constant {
            // Assassination: any length is useless, 15 s included.
            assert!(r.num("stale_fraction") > 0.9, "{r:?}");
        }
        if matches!(r.get("isn"), "clock4us" | "rfc6528") {
            assert_eq!(
                stale, 0.0,
                "the clock moves the window past old copies: {r:?}"
            );
        }
    }
}
