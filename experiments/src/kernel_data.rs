//! The real kernel's measurements in `experiments/data/` (README there), read as rows of
//! named numbers; a cell that is not a number reads as NaN.

use std::collections::BTreeMap;

/// One row: its cells by column name.
pub type Row = BTreeMap<String, f64>;

/// The rows of a CSV with a header, as the kernel scripts write them.
pub fn rows(csv_text: &str) -> Vec<Row> {
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map(|h| h.iter().map(str::to_string).collect())
        .unwrap_or_default();
    reader
        .records()
        .filter_map(Result::ok)
        .map(|record| {
            header
                .iter()
                .zip(record.iter())
                .map(|(name, cell)| (name.clone(), cell.parse().unwrap_or(f64::NAN)))
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn cells_by_name_and_words_as_nan() {
        let rows = super::rows("a,b\n1,x\n2.5,3\n");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1]["a"], 2.5);
        assert!(rows[0]["b"].is_nan());
    }
}
