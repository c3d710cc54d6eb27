//! Running an experiment's quick preset in a test and reading its CSV back.

use experiments::sweep::sweep;
use experiments::{Experiment, ExperimentArgs, Report};
use std::collections::BTreeMap;

/// One CSV row, by column name.
#[derive(Debug)]
pub struct Row(BTreeMap<String, String>);

impl Row {
    /// The cell of `column`, as written.
    pub fn get(&self, column: &str) -> &str {
        self.0
            .get(column)
            .unwrap_or_else(|| panic!("no column {column}"))
    }

    /// The cell of `column`, as a number.
    pub fn num(&self, column: &str) -> f64 {
        let cell = self.get(column);
        cell.parse()
            .unwrap_or_else(|_| panic!("{column} = {cell:?} is not a number"))
    }
}

/// Runs `experiment`'s quick preset on `seed` in a scratch directory: its report and rows.
pub fn quick_rows(experiment: &dyn Experiment, seed: u64) -> (Report, Vec<Row>) {
    let out = std::env::temp_dir().join(format!(
        "synack-{}-{}",
        experiment.name(),
        std::process::id()
    ));
    let report = sweep(experiment, &ExperimentArgs::quick(out.clone(), seed)).unwrap();
    let mut reader = csv::Reader::from_path(&report.csv).unwrap();
    let headers = reader.headers().unwrap().clone();
    let rows = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            Row(headers
                .iter()
                .zip(r.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect())
        })
        .collect();
    let _ = std::fs::remove_dir_all(&out);
    (report, rows)
}
