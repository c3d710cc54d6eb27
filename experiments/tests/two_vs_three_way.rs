//! The `two_vs_three_way` experiment's claims: old duplicate SYNs make no bogus connection
//! with the three-way handshake, and more and more with the two-way one.

mod common;

use experiments::stats::{Z, binomial_band};

#[test]
fn stale_syns_make_bogus_connections_only_with_a_two_way_handshake() {
    let (report, rows) = common::quick_rows(&experiments::two_vs_three_way::TwoVsThreeWay, 17);
    assert_eq!((report.points, report.failed), (16, 0));
    let mut two_way = Vec::new();
    for r in &rows {
        let (p, bogus) = (r.num("duplicate_probability"), r.num("bogus_connections"));
        match r.get("handshake") {
            "three_way" => {
                assert_eq!((bogus, r.num("bogus_state_s")), (0.0, 0.0), "{r:?}");
            }
            "two_way" => {
                // One bogus connection per copied SYN that outlives the original:
                // Binomial(2000, p x 0.998).
                let predicted = r.num("bogus_predicted");
                assert_eq!(
                    predicted,
                    experiments::two_vs_three_way::bogus_predicted(true, p)
                );
                let (low, high) = binomial_band(2000.0, predicted / 2000.0, Z);
                assert!((low..=high).contains(&bogus), "{low} to {high}: {r:?}");
                assert_eq!(bogus > 0.0, r.num("bogus_state_s") > 0.0, "{r:?}");
                two_way.push((p, bogus));
            }
            other => panic!("handshake {other}"),
        }
    }
    two_way.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert_eq!(two_way.len(), 8);
    assert_eq!(two_way[0], (0.0, 0.0));
    assert!(
        two_way.windows(2).all(|w| w[1].1 > w[0].1),
        "bogus connections grow with duplication: {two_way:?}"
    );
}
