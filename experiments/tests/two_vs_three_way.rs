//! The `two_vs_three_way` experiment's claims: old duplicate SYNs make no bogus connection
//! with the three-way handshake, and more and more with the two-way one.

mod common;

#[test]
fn stale_syns_make_bogus_connections_only_with_a_two_way_handshake() {
    let (report, rows) = common::quick_rows(&experiments::two_vs_three_way::TwoVsThreeWay, 17);
    assert_eq!((report.points, report.failed), (10, 0));
    let mut two_way = Vec::new();
    for r in &rows {
        let (p, bogus) = (r.num("duplicate_probability"), r.num("bogus_connections"));
        match r.get("handshake") {
            "three_way" => {
                assert_eq!((bogus, r.num("bogus_state_s")), (0.0, 0.0), "{r:?}");
            }
            "two_way" => {
                // At most one bogus connection per duplicated SYN: Binomial(2000, p).
                let mean = 2000.0 * p;
                assert!(
                    bogus >= 0.5 * mean && bogus <= mean + 4.0 * mean.sqrt(),
                    "{r:?}"
                );
                assert_eq!(bogus > 0.0, r.num("bogus_state_s") > 0.0, "{r:?}");
                two_way.push((p, bogus));
            }
            other => panic!("handshake {other}"),
        }
    }
    two_way.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert_eq!(two_way.len(), 5);
    assert_eq!(two_way[0], (0.0, 0.0));
    assert!(
        two_way.windows(2).all(|w| w[1].1 > w[0].1),
        "bogus connections grow with duplication: {two_way:?}"
    );
}
