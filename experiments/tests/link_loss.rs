//! The `link_loss` experiment's claims on its quick preset: each loss model loses what it
//! is configured to lose, in bursts of the configured length.

mod common;

#[test]
fn loss_rates_and_bursts_match_the_configuration() {
    let (report, rows) = common::quick_rows(&experiments::link_loss::LinkLoss, 1);
    assert_eq!((report.points, report.failed), (30, 0));
    let mut checked = 0;
    for r in &rows {
        let (rate, measured, sigma4) = (
            r.num("loss_rate"),
            r.num("loss_rate_measured"),
            r.num("loss_rate_4sigma"),
        );
        assert!((measured - rate).abs() <= sigma4, "{r:?}");
        let bursts = r.num("bursts");
        if bursts > 100.0 {
            // Geometric burst lengths: 4 sigma of their mean.
            let (expected, got) = (
                r.num("burst_len_expected_pkts"),
                r.num("burst_len_measured_pkts"),
            );
            let q = 1.0 / expected;
            assert!(
                (got - expected).abs() <= 4.0 * ((1.0 - q) / (q * q) / bursts).sqrt(),
                "{r:?}"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 24, "every lossy point has enough bursts to check");
}
