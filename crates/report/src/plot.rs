//! Line charts of any tidy CSV the experiments write, as SVG: one line per group, and
//! error bars (standard error of the mean) where a group has several rows at one x (the
//! replications). Used by every experiment's headline plot and by `synack plot`.

use anyhow::{Context, anyhow, bail};
use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;
use std::collections::BTreeMap;

/// What to draw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlotSpec {
    /// The chart's title.
    pub title: String,
    /// The x column (its name carries its unit).
    pub x: String,
    /// The y column.
    pub y: String,
    /// A column whose values split the rows into lines.
    pub group: Option<String>,
    /// Logarithmic x axis.
    pub log_x: bool,
    /// Logarithmic y axis.
    pub log_y: bool,
    /// Only the rows whose column (first) holds the value (second), for each pair.
    pub only: Vec<(String, String)>,
}

impl PlotSpec {
    /// A linear chart of `y` against `x`, one line per `group` value.
    pub fn new(title: &str, x: &str, y: &str, group: Option<&str>) -> Self {
        PlotSpec {
            title: title.to_string(),
            x: x.to_string(),
            y: y.to_string(),
            group: group.map(str::to_string),
            log_x: false,
            log_y: false,
            only: Vec::new(),
        }
    }

    /// Keeps only the rows where `column` holds `value`.
    pub fn only(mut self, column: &str, value: &str) -> Self {
        self.only.push((column.to_string(), value.to_string()));
        self
    }
}

/// One plotted point: mean and standard error over the rows at this x.
struct Mark {
    x: f64,
    y: f64,
    err: f64,
}

type Series = Vec<(String, Vec<Mark>)>;

fn column(headers: &csv::StringRecord, name: &str) -> anyhow::Result<usize> {
    headers.iter().position(|h| h == name).ok_or_else(|| {
        anyhow!(
            "no column {name}; the columns are {}",
            headers.iter().collect::<Vec<_>>().join(", ")
        )
    })
}

fn series(csv: &[u8], spec: &PlotSpec) -> anyhow::Result<Series> {
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
    // group -> x (as ordered bits) -> ys
    let mut groups: BTreeMap<String, BTreeMap<u64, (f64, Vec<f64>)>> = BTreeMap::new();
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
            .push(y);
    }
    Ok(groups
        .into_iter()
        .map(|(g, by_x)| {
            let marks = by_x
                .into_values()
                .map(|(x, ys)| {
                    let n = ys.len() as f64;
                    let mean = ys.iter().sum::<f64>() / n;
                    let err = if ys.len() > 1 {
                        (ys.iter().map(|y| (y - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
                            / n.sqrt()
                    } else {
                        0.0
                    };
                    Mark { x, y: mean, err }
                })
                .collect();
            (g, marks)
        })
        .collect())
}

fn bounds(values: impl Iterator<Item = f64>, log: bool, name: &str) -> anyhow::Result<(f64, f64)> {
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
    Ok(if log {
        (lo / 1.5, hi * 1.5)
    } else if hi > lo {
        let pad = (hi - lo) * 0.05;
        (lo - pad, hi + pad)
    } else {
        (lo - 1.0, hi + 1.0)
    })
}

fn draw<X, Y>(
    root: &DrawingArea<SVGBackend<'_>, Shift>,
    spec: &PlotSpec,
    data: &Series,
    x: X,
    y: Y,
) -> anyhow::Result<()>
where
    X: AsRangedCoord<Value = f64>,
    Y: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let err = |e: &dyn std::fmt::Display| anyhow!("drawing failed: {e}");
    let mut chart = ChartBuilder::on(root)
        .caption(&spec.title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(x, y)
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .x_desc(&spec.x)
        .y_desc(&spec.y)
        .draw()
        .map_err(|e| err(&e))?;
    for (i, (group, marks)) in data.iter().enumerate() {
        let color = Palette99::pick(i).mix(1.0);
        let line = chart
            .draw_series(LineSeries::new(
                marks.iter().map(|m| (m.x, m.y)),
                color.stroke_width(2),
            ))
            .map_err(|e| err(&e))?;
        if spec.group.is_some() {
            let label = format!("{}={group}", spec.group.as_deref().unwrap_or(""));
            line.label(label).legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        }
        chart
            .draw_series(
                marks
                    .iter()
                    .map(|m| Circle::new((m.x, m.y), 3, color.filled())),
            )
            .map_err(|e| err(&e))?;
        chart
            .draw_series(marks.iter().filter(|m| m.err > 0.0).map(|m| {
                ErrorBar::new_vertical(m.x, m.y - m.err, m.y, m.y + m.err, color.filled(), 8)
            }))
            .map_err(|e| err(&e))?;
    }
    if spec.group.is_some() {
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(|e| err(&e))?;
    }
    Ok(())
}

/// The chart of `csv` as an SVG document.
pub fn line_chart_svg(csv: &[u8], spec: &PlotSpec) -> anyhow::Result<String> {
    let data = series(csv, spec)?;
    let xs = bounds(
        data.iter().flat_map(|(_, m)| m.iter().map(|m| m.x)),
        spec.log_x,
        &spec.x,
    )?;
    let ys = bounds(
        data.iter()
            .flat_map(|(_, m)| m.iter().flat_map(|m| [m.y - m.err, m.y + m.err])),
        spec.log_y,
        &spec.y,
    )?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 560)).into_drawing_area();
        root.fill(&WHITE)
            .map_err(|e| anyhow!("drawing failed: {e}"))?;
        match (spec.log_x, spec.log_y) {
            (false, false) => draw(&root, spec, &data, xs.0..xs.1, ys.0..ys.1)?,
            (true, false) => draw(&root, spec, &data, (xs.0..xs.1).log_scale(), ys.0..ys.1)?,
            (false, true) => draw(&root, spec, &data, xs.0..xs.1, (ys.0..ys.1).log_scale())?,
            (true, true) => draw(
                &root,
                spec,
                &data,
                (xs.0..xs.1).log_scale(),
                (ys.0..ys.1).log_scale(),
            )?,
        }
        root.present().map_err(|e| anyhow!("drawing failed: {e}"))?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV: &[u8] = b"x,y,kind,case\n1,10,a,on\n1,99,a,off\n2,20,a,on\n2,99,a,off\n1,5,b,on\n";

    #[test]
    fn only_keeps_the_rows_that_match_every_filter() {
        let spec = PlotSpec::new("t", "x", "y", Some("kind")).only("case", "on");
        let data = series(CSV, &spec).unwrap();
        let points: Vec<(String, Vec<(f64, f64)>)> = data
            .into_iter()
            .map(|(g, marks)| (g, marks.iter().map(|m| (m.x, m.y)).collect()))
            .collect();
        assert_eq!(
            points,
            [
                ("a".to_string(), vec![(1.0, 10.0), (2.0, 20.0)]),
                ("b".to_string(), vec![(1.0, 5.0)]),
            ]
        );
        let unknown = PlotSpec::new("t", "x", "y", None).only("nothing", "on");
        assert!(series(CSV, &unknown).is_err());
    }
}
