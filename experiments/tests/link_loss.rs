//! The `link_loss` experiment's claims on its quick preset: each loss model loses what it
//! is configured to lose, in bursts of the configured length.

use experiments::ExperimentArgs;
use experiments::sweep::sweep;

#[test]
fn loss_rates_and_bursts_match_the_configuration() {
    let out = std::env::temp_dir().join(format!("synack-link-loss-{}", std::process::id()));
    let report = sweep(
        &experiments::link_loss::LinkLoss,
        &ExperimentArgs::quick(out.clone(), 1),
    )
    .unwrap();
    assert_eq!((report.points, report.failed), (30, 0));
    let mut reader = csv::Reader::from_path(&report.csv).unwrap();
    let headers = reader.headers().unwrap().clone();
    let col = |r: &csv::StringRecord, name: &str| -> f64 {
        r.get(headers.iter().position(|h| h == name).unwrap())
            .unwrap()
            .parse()
            .unwrap()
    };
    let mut checked = 0;
    for r in reader.records() {
        let r = r.unwrap();
        let (rate, measured, sigma4) = (
            col(&r, "loss_rate"),
            col(&r, "loss_rate_measured"),
            col(&r, "loss_rate_4sigma"),
        );
        assert!((measured - rate).abs() <= sigma4, "{r:?}");
        let bursts = col(&r, "bursts");
        if bursts > 100.0 {
            // Geometric burst lengths: 4 sigma of their mean.
            let (expected, got) = (
                col(&r, "burst_len_expected_pkts"),
                col(&r, "burst_len_measured_pkts"),
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
    let _ = std::fs::remove_dir_all(&out);
}
