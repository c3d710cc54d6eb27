//! The `close_wait_leak` experiment's claims: CLOSE-WAIT grows one for one with the
//! connections served, and past the descriptor limit new connections are refused.

mod common;

#[test]
fn close_wait_grows_linearly_until_the_descriptor_limit_then_connections_are_refused() {
    let (report, rows) = common::quick_rows(&experiments::close_wait_leak::CloseWaitLeak, 7);
    assert_eq!((report.points, report.failed), (20, 0));
    let (mut under, mut over) = (0, 0);
    for r in &rows {
        let (offered, limit) = (r.num("connections"), r.num("descriptor_limit"));
        let served = offered.min(limit);
        assert_eq!(r.num("served"), served, "{r:?}");
        // Linear, slope one: every connection served is leaked.
        assert_eq!(r.num("close_wait"), served, "{r:?}");
        assert_eq!(r.num("close_wait_predicted"), served, "{r:?}");
        assert_eq!(r.num("not_served"), offered - served, "{r:?}");
        if offered > limit {
            over += 1;
            assert!(r.num("accept_failures") > 0.0, "{r:?}");
        } else {
            under += 1;
            assert_eq!(r.num("accept_failures"), 0.0, "{r:?}");
        }
    }
    assert!(
        under >= 3 && over >= 3,
        "{under} under, {over} over the limit"
    );
}
