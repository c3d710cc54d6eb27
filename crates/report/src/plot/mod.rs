//! Line charts of any tidy CSV the experiments write, as SVG: one line per group, one
//! panel per value of a facet column, and error bars (a 95% confidence interval of the
//! mean, Student's t) where a group has several rows at one x (the replications). Used by
//! every experiment's headline plot and by `synack plot`.

mod canvas;
mod marks;

use canvas::{Panel, draw, draw_legend};
use marks::{bounds, column, series};

use anyhow::anyhow;
use plotters::prelude::*;

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
    /// A column whose values each get a panel of their own, on shared axes: for a factor
    /// that changes the story.
    pub facet: Option<String>,
    /// A column of trials when `y` is a fraction of them: the rows at one x are pooled
    /// (successes over trials) and the interval is Wilson's 95% score interval, which
    /// stays within 0 and 1 and is right for any number of replications.
    pub trials: Option<String>,
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
            facet: None,
            trials: None,
        }
    }

    /// `y` is a fraction of `column`'s trials: pool them and draw Wilson intervals.
    pub fn trials(mut self, column: &str) -> Self {
        self.trials = Some(column.to_string());
        self
    }

    /// One panel per value of `column`.
    pub fn facet(mut self, column: &str) -> Self {
        self.facet = Some(column.to_string());
        self
    }

    /// A logarithmic x axis.
    pub fn log_x(mut self) -> Self {
        self.log_x = true;
        self
    }

    /// A logarithmic y axis.
    pub fn log_y(mut self) -> Self {
        self.log_y = true;
        self
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
    const UNITS: [(&str, &str); 9] = [
        ("_pkts", "packets"),
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

/// The values of `column` in the order they first appear (the grid's order).
fn facet_values(csv: &[u8], column_name: &str) -> anyhow::Result<Vec<String>> {
    let mut reader = csv::Reader::from_reader(csv);
    let at = column(&reader.headers()?.clone(), column_name)?;
    let mut values: Vec<String> = Vec::new();
    for record in reader.records() {
        if let Some(v) = record?.get(at)
            && !values.iter().any(|seen| seen == v)
        {
            values.push(v.to_string());
        }
    }
    Ok(values)
}

/// Panels across, at most two to a row.
const PANELS_PER_ROW: usize = 2;

/// The chart of `csv` as an SVG document.
pub fn line_chart_svg(csv: &[u8], spec: &PlotSpec) -> anyhow::Result<String> {
    // (caption, measured, predicted) for each panel.
    let facets: Vec<(String, PlotSpec)> = match &spec.facet {
        Some(f) => facet_values(csv, f)?
            .into_iter()
            .map(|v| (format!("{}: {v}", humanize(f)), spec.clone().only(f, &v)))
            .collect(),
        None => vec![(spec.title.clone(), spec.clone())],
    };
    let mut panels = Vec::new();
    for (caption, panel_spec) in facets {
        let data = series(csv, &panel_spec)?;
        let theory = match &spec.theory {
            Some(column) => series(
                csv,
                // A prediction is a value, not a sample: no interval.
                &PlotSpec {
                    y: column.clone(),
                    trials: None,
                    ..panel_spec
                },
            )?,
            None => Vec::new(),
        };
        panels.push((caption, data, theory));
    }
    let mut groups: Vec<String> = panels
        .iter()
        .flat_map(|(_, data, _)| data.iter().map(|(g, _)| g.clone()))
        .collect();
    groups.sort();
    groups.dedup();
    // Numbers in numeric order (128 before 1024), names alphabetically.
    if groups.iter().all(|g| g.parse::<f64>().is_ok()) {
        groups.sort_by(|a, b| {
            a.parse::<f64>()
                .unwrap()
                .total_cmp(&b.parse::<f64>().unwrap())
        });
    }
    let all = || {
        panels
            .iter()
            .flat_map(|(_, data, theory)| data.iter().chain(theory.iter()))
    };
    let xs = bounds(
        all().flat_map(|(_, m)| m.iter().map(|m| m.x)),
        spec.log_x,
        &spec.x,
    )?;
    let ys = bounds(
        all().flat_map(|(_, m)| m.iter().flat_map(|m| [m.low, m.high])),
        spec.log_y,
        &spec.y,
    )?;
    let columns = panels.len().clamp(1, PANELS_PER_ROW);
    let rows = panels.len().div_ceil(columns);
    let faceted = spec.facet.is_some();
    let mut svg = String::new();
    {
        let width = if spec.group.is_some() { 1100 } else { 900 };
        let height = if faceted { 40 + 420 * rows as u32 } else { 560 };
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        let failed = |e: &dyn std::fmt::Display| anyhow!("drawing failed: {e}");
        root.fill(&WHITE).map_err(|e| failed(&e))?;
        // The legend gets a column of its own, right of the chart.
        let (charts, legend) = match spec.group {
            Some(_) => {
                let (chart, legend) = root.split_horizontally(860);
                (chart, Some(legend))
            }
            None => (root.clone(), None),
        };
        let charts = if faceted {
            charts
                .titled(&spec.title, ("sans-serif", 18))
                .map_err(|e| failed(&e))?
        } else {
            charts
        };
        let areas = charts.split_evenly((rows, columns));
        for ((caption, data, theory), area) in panels.iter().zip(&areas) {
            let panel = Panel {
                caption,
                data,
                theory,
            };
            match (spec.log_x, spec.log_y) {
                (false, false) => draw(area, spec, &panel, &groups, xs.0..xs.1, ys.0..ys.1)?,
                (true, false) => draw(
                    area,
                    spec,
                    &panel,
                    &groups,
                    (xs.0..xs.1).log_scale(),
                    ys.0..ys.1,
                )?,
                (false, true) => draw(
                    area,
                    spec,
                    &panel,
                    &groups,
                    xs.0..xs.1,
                    (ys.0..ys.1).log_scale(),
                )?,
                (true, true) => draw(
                    area,
                    spec,
                    &panel,
                    &groups,
                    (xs.0..xs.1).log_scale(),
                    (ys.0..ys.1).log_scale(),
                )?,
            }
        }
        if let (Some(legend), Some(group)) = (legend.as_ref(), spec.group.as_deref()) {
            let theory = spec.theory.as_deref().map(humanize);
            draw_legend(legend, group, &groups, theory).map_err(|e| failed(&e))?;
        }
        root.present().map_err(|e| failed(&e))?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::canvas::{Look, tick};
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
        assert_eq!(
            humanize("burst_len_measured_pkts"),
            "Burst len measured (packets)"
        );
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
            !plain.contains("\n40\n</text>") && with.contains("\n40\n</text>"),
            "{with}"
        );
    }

    /// A facet column gives each of its values a panel, captioned, with one legend.
    #[test]
    fn each_facet_value_gets_its_own_captioned_panel() {
        let spec = PlotSpec::new("t", "x", "y", Some("kind")).facet("case");
        let svg = line_chart_svg(CSV, &spec).unwrap();
        assert!(svg.contains("\nCase: on\n</text>") && svg.contains("\nCase: off\n</text>"));
        // Group b appears only where case is on, yet keeps one legend entry.
        assert_eq!(svg.matches("\nb\n</text>").count(), 1, "{svg}");
        assert!(line_chart_svg(CSV, &spec.clone().facet("nothing")).is_err());
    }

    /// With a trials column, replications pool into one rate with Wilson's interval,
    /// which stays inside 0 and 1 where a t interval on two rates would not.
    #[test]
    fn fractions_of_trials_pool_and_get_wilson_intervals() {
        let csv = b"x,rate,n\n1,0.5,10\n1,1,30\n2,1,20\n2,1,20\n";
        let spec = PlotSpec::new("t", "x", "rate", None).trials("n");
        let data = series(csv, &spec).unwrap();
        let marks = &data[0].1;
        assert_eq!(marks[0].y, 35.0 / 40.0);
        // Wilson, z = 1.96, 35 of 40: 0.7389 to 0.9454 (worked out in Python).
        assert!((marks[0].low - 0.7389).abs() < 1e-4 && (marks[0].high - 0.9454).abs() < 1e-4);
        assert_eq!(marks[1].high, 1.0);
        assert!(marks[1].low > 0.9 && marks[1].low < 1.0);
        let plain = series(csv, &PlotSpec::new("t", "x", "rate", None)).unwrap();
        assert!(
            plain[0].1[0].low < 0.0,
            "Student's t on 0.5 and 1 leaves [0, 1]"
        );
    }

    #[test]
    fn ticks_read_as_short_numbers() {
        assert_eq!(tick(0.9999999999999999), "1");
        assert_eq!(tick(9.999999999999998e-5), "1e-4");
        assert_eq!(tick(3.0517578125e-5), "3.05e-5");
        assert_eq!(tick(0.25), "0.25");
        assert_eq!(tick(1000.0), "1000");
        assert_eq!(tick(131.0), "131");
        assert_eq!(tick(2.5e6), "2.5e6");
        assert_eq!(tick(-0.5), "-0.5");
        assert_eq!(tick(0.0), "0");
    }
}
