//! The `link_loss` experiment's claims, on its quick preset: every loss model loses what it
//! is configured to lose, in bursts of the configured length; and the output is
//! byte-identical from run to run.

use experiments::link_loss::{self, Row};
use experiments::{ExperimentArgs, Preset};
use std::path::PathBuf;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("synack-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn loss_rates_and_bursts_match_the_configuration() {
    let rows: Vec<Row> = link_loss::rows(Preset::Quick, 1);
    assert_eq!(rows.len(), 11);
    for r in &rows {
        assert!(
            (r.loss_rate_measured - r.loss_rate_expected).abs() <= r.loss_rate_4sigma,
            "{r:?}"
        );
        if r.bursts > 100 {
            // Burst lengths are geometric; 4 sigma of their mean.
            let q = 1.0 / r.burst_len_expected_pkts;
            let sigma = ((1.0 - q) / (q * q) / r.bursts as f64).sqrt();
            assert!(
                (r.burst_len_measured_pkts - r.burst_len_expected_pkts).abs() <= 4.0 * sigma,
                "{r:?}"
            );
        }
    }
    let lossless = &rows[0];
    assert_eq!((lossless.loss_rate_measured, lossless.bursts), (0.0, 0));
}

#[test]
fn the_same_seed_writes_the_same_bytes() {
    let run = |dir: &PathBuf| {
        let args = ExperimentArgs {
            quick: true,
            full: false,
            out: dir.clone(),
            seed: 7,
        };
        link_loss::run(&args).unwrap();
        let csv = std::fs::read(dir.join("link_loss.csv")).unwrap();
        let json = std::fs::read(dir.join("link_loss.json")).unwrap();
        (csv, json)
    };
    let (a, b) = (scratch("a"), scratch("b"));
    assert_eq!(run(&a), run(&b));
    let leftovers: Vec<_> = std::fs::read_dir(&a)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let _ = std::fs::remove_dir_all(&a);
    let _ = std::fs::remove_dir_all(&b);
}
