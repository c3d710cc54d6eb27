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
    /// The x axis's label; by default the column's name in words, with its unit.
    pub x_label: Option<String>,
    /// The y axis's label; likewise.
    pub y_label: Option<String>,
    /// A column of what theory (or a reference) predicts for `y`, drawn per group as a thin
    /// dotted line in the group's colour, with a short tick at each predicted value.
    pub theory: Option<String>,
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
            x_label: None,
            y_label: None,
            theory: None,
        }
    }

    /// Draws `column` as the theory beside the measurement.
    pub fn theory(mut self, column: &str) -> Self {
        self.theory = Some(column.to_string());
        self
    }

    /// Labels the axes in words, units in parentheses.
    pub fn labels(mut self, x: &str, y: &str) -> Self {
        self.x_label = Some(x.to_string());
        self.y_label = Some(y.to_string());
        self
    }

    /// Keeps only the rows where `column` holds `value`.
    pub fn only(mut self, column: &str, value: &str) -> Self {
        self.only.push((column.to_string(), value.to_string()));
        self
    }
}

/// A column's name in words, its unit in parentheses: `setup_p99_s` reads "Setup p99 (s)",
/// `events_per_s` "Events (per second)".
pub fn humanize(column: &str) -> String {
    const UNITS: [(&str, &str); 8] = [
        ("_per_wall_s", "per wall-clock second"),
        ("_per_s", "per second"),
        ("_ms", "ms"),
        ("_us", "µs"),
        ("_ns", "ns"),
        ("_s", "s"),
        ("_bytes", "bytes"),
        ("_kb", "KB"),
    ];
    let (words, unit) = UNITS
        .iter()
        .find_map(|(suffix, unit)| Some((column.strip_suffix(suffix)?, Some(*unit))))
        .unwrap_or((column, None));
    let mut text = words.replace('_', " ");
    if let Some(first) = text.get(..1) {
        text = first.to_uppercase() + &text[1..];
    }
    match unit {
        Some(unit) => format!("{text} ({unit})"),
        None => text,
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

/// How series `i` is drawn: a colour, a dash pattern (dash and gap in pixels; none is
/// solid) and a marker, each cycling at its own length, so lines that coincide still show.
struct Look {
    color: RGBColor,
    dash: Option<(u32, u32)>,
    marker: usize,
}

impl Look {
    fn of(i: usize) -> Self {
        const DASHES: [Option<(u32, u32)>; 4] = [None, Some((10, 5)), Some((6, 2)), Some((18, 6))];
        let RGBAColor(r, g, b, _) = Palette99::pick(i).to_rgba();
        Look {
            color: RGBColor(r, g, b),
            dash: DASHES[i % DASHES.len()],
            marker: i % MARKERS,
        }
    }
}

/// Pixels between neighbouring series' dodged positions.
const DODGE_PX: f64 = 3.0;

/// Marker shapes: filled circle, triangle, square, cross, diamond, open circle, open square.
const MARKERS: usize = 7;

/// Draws `look`'s marker at pixel `at` of `area`.
fn marker<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    at: (i32, i32),
    look: &Look,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let (x, y) = at;
    let (fill, line) = (look.color.filled(), look.color.stroke_width(2));
    match look.marker {
        0 => area.draw(&Circle::new(at, 4, fill)),
        1 => area.draw(&TriangleMarker::new(at, 5, fill)),
        2 => area.draw(&Rectangle::new([(x - 4, y - 4), (x + 4, y + 4)], fill)),
        3 => area.draw(&Cross::new(at, 4, line)),
        4 => area.draw(&Polygon::new(
            vec![(x, y - 5), (x + 5, y), (x, y + 5), (x - 5, y)],
            fill,
        )),
        5 => area.draw(&Circle::new(at, 4, line)),
        _ => area.draw(&Rectangle::new([(x - 4, y - 4), (x + 4, y + 4)], line)),
    }
}

/// A line through pixel points, solid or dashed.
fn polyline<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    points: Vec<(i32, i32)>,
    look: &Look,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let style = look.color.stroke_width(2);
    match look.dash {
        None => area.draw(&PathElement::new(points, style)),
        Some((dash, gap)) => area.draw(&plotters::element::DashedPathElement::new(
            points, dash, gap, style,
        )),
    }
}

fn draw<X, Y>(
    root: &DrawingArea<SVGBackend<'_>, Shift>,
    legend: Option<&DrawingArea<SVGBackend<'_>, Shift>>,
    spec: &PlotSpec,
    (data, theory): (&Series, &Series),
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
        .caption(&spec.title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(x, y)
        .map_err(|e| err(&e))?;
    let x_label = spec.x_label.clone().unwrap_or_else(|| humanize(&spec.x));
    let y_label = spec.y_label.clone().unwrap_or_else(|| humanize(&spec.y));
    chart
        .configure_mesh()
        .x_desc(x_label)
        .y_desc(y_label)
        .draw()
        .map_err(|e| err(&e))?;
    let plot = chart.plotting_area();
    let area = plot.strip_coord_spec();
    let (base_x, base_y) = area.get_base_pixel();
    for (i, (_, marks)) in data.iter().enumerate() {
        let look = Look::of(i);
        // Series side by side by a few pixels (a dodge), so equal values do not hide one
        // another: each keeps its own marker in view.
        let dodge = ((i as f64 - (data.len() as f64 - 1.0) / 2.0) * DODGE_PX).round() as i32;
        let pixel = |x: f64, y: f64| {
            let (px, py) = plot.map_coordinate(&(x, y));
            (px - base_x + dodge, py - base_y)
        };
        for m in marks.iter().filter(|m| m.err > 0.0) {
            let (top, bottom) = (pixel(m.x, m.y + m.err), pixel(m.x, m.y - m.err));
            let bar = look.color.stroke_width(1);
            area.draw(&PathElement::new(vec![top, bottom], bar))
                .map_err(|e| err(&e))?;
            for (cx, cy) in [top, bottom] {
                let cap = vec![(cx - 4, cy), (cx + 4, cy)];
                area.draw(&PathElement::new(cap, bar))
                    .map_err(|e| err(&e))?;
            }
        }
        let points: Vec<(i32, i32)> = marks.iter().map(|m| pixel(m.x, m.y)).collect();
        polyline(&area, points.clone(), &look).map_err(|e| err(&e))?;
        for at in points {
            marker(&area, at, &look).map_err(|e| err(&e))?;
        }
    }
    for (group, marks) in theory {
        let Some(i) = data.iter().position(|(g, _)| g == group) else {
            continue;
        };
        let style = Look::of(i).color.stroke_width(1);
        let points: Vec<(i32, i32)> = marks
            .iter()
            .map(|m| {
                let (px, py) = plot.map_coordinate(&(m.x, m.y));
                (px - base_x, py - base_y)
            })
            .collect();
        // A tick at each predicted value, so a lone point's prediction shows too.
        for &(px, py) in &points {
            let tick = PathElement::new(vec![(px - 9, py), (px + 9, py)], style);
            area.draw(&tick).map_err(|e| err(&e))?;
        }
        let dotted = plotters::element::DashedPathElement::new(points, 2, 3, style);
        area.draw(&dotted).map_err(|e| err(&e))?;
    }
    if let (Some(legend), Some(group)) = (legend, spec.group.as_deref()) {
        let theory = spec.theory.as_deref().map(humanize);
        draw_legend(legend, group, data, theory).map_err(|e| err(&e))?;
    }
    Ok(())
}

/// Beside the chart, never over the data: each series' line and marker, and its value of
/// the grouping column.
fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    group: &str,
    data: &Series,
    theory: Option<String>,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let title = humanize(group);
    area.draw(&Text::new(
        title,
        (10, 50),
        ("sans-serif", 15).into_font().style(FontStyle::Bold),
    ))?;
    for (i, (value, _)) in data.iter().enumerate() {
        let look = Look::of(i);
        let y = 78 + 22 * i as i32;
        polyline(area, vec![(10, y), (50, y)], &look)?;
        marker(area, (30, y), &look)?;
        area.draw(&Text::new(value.clone(), (60, y - 8), ("sans-serif", 14)))?;
    }
    if let Some(theory) = theory {
        let y = 78 + 22 * data.len() as i32 + 10;
        let dotted = plotters::element::DashedPathElement::new(
            vec![(10, y), (50, y)],
            2,
            3,
            BLACK.stroke_width(1),
        );
        area.draw(&dotted)?;
        area.draw(&Text::new("theory:", (60, y - 8), ("sans-serif", 14)))?;
        area.draw(&Text::new(theory, (60, y + 10), ("sans-serif", 13)))?;
    }
    Ok(())
}

/// The chart of `csv` as an SVG document.
pub fn line_chart_svg(csv: &[u8], spec: &PlotSpec) -> anyhow::Result<String> {
    let data = series(csv, spec)?;
    let theory = match &spec.theory {
        Some(column) => {
            let theory_spec = PlotSpec {
                y: column.clone(),
                ..spec.clone()
            };
            series(csv, &theory_spec)?
        }
        None => Vec::new(),
    };
    let data = &(&data, &theory);
    let all = || data.0.iter().chain(data.1.iter());
    let xs = bounds(
        all().flat_map(|(_, m)| m.iter().map(|m| m.x)),
        spec.log_x,
        &spec.x,
    )?;
    let ys = bounds(
        all().flat_map(|(_, m)| m.iter().flat_map(|m| [m.y - m.err, m.y + m.err])),
        spec.log_y,
        &spec.y,
    )?;
    let mut svg = String::new();
    {
        let width = if spec.group.is_some() { 1100 } else { 900 };
        let root = SVGBackend::with_string(&mut svg, (width, 560)).into_drawing_area();
        root.fill(&WHITE)
            .map_err(|e| anyhow!("drawing failed: {e}"))?;
        // The legend gets a column of its own, right of the chart.
        let (chart, legend) = match spec.group {
            Some(_) => {
                let (chart, legend) = root.split_horizontally(860);
                (chart, Some(legend))
            }
            None => (root.clone(), None),
        };
        let legend = legend.as_ref();
        match (spec.log_x, spec.log_y) {
            (false, false) => draw(&chart, legend, spec, *data, xs.0..xs.1, ys.0..ys.1)?,
            (true, false) => draw(
                &chart,
                legend,
                spec,
                *data,
                (xs.0..xs.1).log_scale(),
                ys.0..ys.1,
            )?,
            (false, true) => draw(
                &chart,
                legend,
                spec,
                *data,
                xs.0..xs.1,
                (ys.0..ys.1).log_scale(),
            )?,
            (true, true) => draw(
                &chart,
                legend,
                spec,
                *data,
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

    #[test]
    fn column_names_read_as_words_with_units() {
        assert_eq!(humanize("setup_p99_s"), "Setup p99 (s)");
        assert_eq!(humanize("events_per_s"), "Events (per second)");
        assert_eq!(
            humanize("lifecycles_per_wall_s"),
            "Lifecycles (per wall-clock second)"
        );
        assert_eq!(humanize("first_try_rate"), "First try rate");
        assert_eq!(humanize("delay_ms"), "Delay (ms)");
    }

    /// Every series differs from every other in its dash or its marker, not its colour
    /// alone, and equal series sit side by side.
    #[test]
    fn series_that_coincide_stay_apart_and_the_legend_is_beside_the_chart() {
        for i in 0..12 {
            for j in 0..i {
                let (a, b) = (Look::of(i), Look::of(j));
                assert!(a.dash != b.dash || a.marker != b.marker, "{i} and {j}");
            }
        }
        let csv = b"x,y,kind\n1,5,a\n2,6,a\n1,5,b\n2,6,b\n";
        let spec = PlotSpec::new("t", "x", "y", Some("kind"));
        let svg = line_chart_svg(csv, &spec).unwrap();
        // The two identical series' markers: a filled circle, then a triangle, a few
        // pixels apart.
        let circles: Vec<&str> = svg.matches("<circle").collect();
        assert_eq!(circles.len(), 3, "two markers and the legend's: {svg}");
        let x_of = |label: &str| -> f64 {
            let end = svg.find(&format!("\n{label}\n</text>")).unwrap();
            let start = svg[..end].rfind("<text x=\"").unwrap() + 9;
            svg[start..].split('"').next().unwrap().parse().unwrap()
        };
        // The plotting area ends left of x = 860, where the legend's column begins.
        assert!(x_of("a") > 860.0 && x_of("b") > 860.0, "{svg}");
        assert!(
            svg.contains(">\nKind\n</text>") || svg.contains("Kind"),
            "{svg}"
        );
        assert!(
            svg.contains("stroke-dasharray") || svg.matches("<polyline").count() > 2,
            "{svg}"
        );
    }

    /// A theory column is drawn beside the measurement, within the axes, and named in the
    /// legend.
    #[test]
    fn theory_is_drawn_and_named_beside_the_measurement() {
        let csv = b"x,y,predicted,kind\n1,5,5,a\n2,6,40,a\n";
        let spec = PlotSpec::new("t", "x", "y", Some("kind"));
        let plain = line_chart_svg(csv, &spec).unwrap();
        let with = line_chart_svg(csv, &spec.theory("predicted")).unwrap();
        assert!(!plain.contains("\ntheory:\n</text>"));
        assert!(with.contains("\ntheory:\n</text>") && with.contains("\nPredicted\n</text>"));
        // The y axis reaches the prediction of 40, past every measurement.
        assert!(
            !plain.contains("\n40.0\n</text>") && with.contains("\n40.0\n</text>"),
            "{with}"
        );
    }
}
