//! From a tidy CSV to what is plotted: per group, per x, the mean and its 95% interval
//! (Student's t over replications, or Wilson's for a fraction of trials), and the axes' bounds.

use super::PlotSpec;
use anyhow::{Context, anyhow, bail};
use std::collections::BTreeMap;

/// One plotted point: mean and the half-width of its 95% confidence interval over the
/// rows at this x.
pub(super) struct Mark {
    pub(super) x: f64,
    pub(super) y: f64,
    /// The interval's ends (both `y` for a single row).
    pub(super) low: f64,
    pub(super) high: f64,
}

/// Wilson's 95% score interval for `successes` of `trials`.
pub(super) fn wilson(successes: f64, trials: f64) -> (f64, f64) {
    const Z: f64 = 1.96;
    let p = successes / trials;
    let centre = p + Z * Z / (2.0 * trials);
    let spread = Z * (p * (1.0 - p) / trials + Z * Z / (4.0 * trials * trials)).sqrt();
    let scale = 1.0 + Z * Z / trials;
    (
        ((centre - spread) / scale).max(0.0),
        ((centre + spread) / scale).min(1.0),
    )
}

pub(super) type Series = Vec<(String, Vec<Mark>)>;

pub(super) fn column(headers: &csv::StringRecord, name: &str) -> anyhow::Result<usize> {
    headers.iter().position(|h| h == name).ok_or_else(|| {
        anyhow!(
            "no column {name}; the columns are {}",
            headers.iter().collect::<Vec<_>>().join(", ")
        )
    })
}

pub(super) fn series(csv: &[u8], spec: &PlotSpec) -> anyhow::Result<Series> {
    let mut reader = csv::Reader::from_reader(csv);
    let headers = reader.headers()?.clone();
    let (xi, yi) = (column(&headers, &spec.x)?, column(&headers, &spec.y)?);
    let gi = spec
        .group
        .as_deref()
        .map(|g| column(&headers, g))
        .transpose()?;
    let only = spec
        .only
        .iter()
        .map(|(c, v)| Ok((column(&headers, c)?, v.as_str())))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let ti = spec
        .trials
        .as_deref()
        .map(|t| column(&headers, t))
        .transpose()?;
    // group -> x (as ordered bits) -> (x, [(y, trials)])
    type ByX = BTreeMap<u64, (f64, Vec<(f64, f64)>)>;
    let mut groups: BTreeMap<String, ByX> = BTreeMap::new();
    for (n, record) in reader.records().enumerate() {
        let record = record?;
        if only.iter().any(|&(c, v)| record.get(c) != Some(v)) {
            continue;
        }
        let (Some(xs), Some(ys)) = (record.get(xi), record.get(yi)) else {
            continue;
        };
        if ys.is_empty() {
            continue; // a failed point
        }
        let x: f64 = xs
            .parse()
            .with_context(|| format!("row {}: {} = {xs:?} is not a number", n + 2, spec.x))?;
        let y: f64 = ys
            .parse()
            .with_context(|| format!("row {}: {} = {ys:?} is not a number", n + 2, spec.y))?;
        // NaN marks an undefined value (a percentile of nothing): no point, not a dive. A
        // logarithmic axis has no place for values <= 0: those points are left out too.
        let off_axis = |v: f64, log: bool| !v.is_finite() || (log && v <= 0.0);
        if off_axis(x, spec.log_x) || off_axis(y, spec.log_y) {
            continue;
        }
        let trials = match ti {
            Some(t) => {
                let cell = record.get(t).unwrap_or("");
                cell.parse()
                    .with_context(|| format!("row {}: trials {cell:?} is not a number", n + 2))?
            }
            None => 1.0,
        };
        let group = gi.and_then(|g| record.get(g)).unwrap_or("").to_string();
        // Order x numerically: flip the bits of negatives so u64 order is f64 order.
        let key = if x.is_sign_negative() {
            !x.to_bits()
        } else {
            x.to_bits() | (1 << 63)
        };
        groups
            .entry(group)
            .or_default()
            .entry(key)
            .or_insert((x, Vec::new()))
            .1
            .push((y, trials));
    }
    Ok(groups
        .into_iter()
        .map(|(g, by_x)| {
            let marks = by_x
                .into_values()
                .map(|(x, rows)| {
                    if ti.is_some() {
                        let trials: f64 = rows.iter().map(|&(_, n)| n).sum();
                        let successes: f64 = rows.iter().map(|&(y, n)| y * n).sum();
                        let (low, high) = wilson(successes, trials);
                        return Mark {
                            x,
                            y: successes / trials,
                            low,
                            high,
                        };
                    }
                    let n = rows.len() as f64;
                    let mean = rows.iter().map(|&(y, _)| y).sum::<f64>() / n;
                    let err = if rows.len() > 1 {
                        let sd = (rows.iter().map(|&(y, _)| (y - mean).powi(2)).sum::<f64>()
                            / (n - 1.0))
                            .sqrt();
                        student_t_975(rows.len() - 1) * sd / n.sqrt()
                    } else {
                        0.0
                    };
                    Mark {
                        x,
                        y: mean,
                        low: mean - err,
                        high: mean + err,
                    }
                })
                .collect();
            (g, marks)
        })
        .collect())
}

/// The 97.5% quantile of Student's t with `df` degrees of freedom: a two-sided 95%
/// interval is the mean plus or minus this many standard errors.
pub(super) fn student_t_975(df: usize) -> f64 {
    const TABLE: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    TABLE.get(df.wrapping_sub(1)).copied().unwrap_or(1.96)
}

pub(super) fn bounds(
    values: impl Iterator<Item = f64>,
    log: bool,
    name: &str,
) -> anyhow::Result<(f64, f64)> {
    // On a logarithmic axis an error bar reaching 0 or below is cut at the axis.
    let vs: Vec<f64> = values.filter(|&v| !log || v > 0.0).collect();
    let (lo, hi) = vs
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    if !lo.is_finite() {
        bail!("nothing to plot: no row has both {name} and a value");
    }
    // A spread below 1e-9 of the values is float noise in one value: a flat line.
    Ok(if log {
        (lo / 1.5, hi * 1.5)
    } else if hi - lo > 1e-9 * hi.abs().max(lo.abs()) {
        let pad = (hi - lo) * 0.05;
        (lo - pad, hi + pad)
    } else {
        (lo - 1.0, hi + 1.0)
    })
}
