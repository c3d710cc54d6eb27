//! Drawing with plotters: a panel's axes, lines, markers and interval bars, the theory
//! dotted, and the legend.

use super::marks::Series;
use super::{PlotSpec, humanize};
use anyhow::anyhow;
use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;

/// A tick label: four significant digits at most, no trailing zeros, and powers of ten
/// for the very small and very large (`0.25`, `1000`, `3e-5`, not `0.9999999999999999`).
pub(super) fn tick(value: f64) -> String {
    if value == 0.0 || !value.is_finite() {
        return format!("{value}");
    }
    let magnitude = value.abs().log10().floor();
    if !(-3.0..5.0).contains(&magnitude) {
        let mantissa = value / 10f64.powf(magnitude);
        let mantissa = format!("{mantissa:.2}");
        let mantissa = mantissa.trim_end_matches('0').trim_end_matches('.');
        return format!("{mantissa}e{magnitude}");
    }
    let decimals = (3.0 - magnitude).max(0.0) as usize;
    let text = format!("{value:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// How series `i` is drawn: a colour, a dash pattern (dash and gap in pixels; none is
/// solid) and a marker, each cycling at its own length, so lines that coincide still show.
pub(super) struct Look {
    color: RGBColor,
    pub(super) dash: Option<(u32, u32)>,
    pub(super) marker: usize,
}

impl Look {
    pub(super) fn of(i: usize) -> Self {
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
pub(super) const DODGE_PX: f64 = 3.0;

/// Marker shapes: filled circle, triangle, square, cross, diamond, open circle, open square.
pub(super) const MARKERS: usize = 7;

/// Draws `look`'s marker at pixel `at` of `area`.
pub(super) fn marker<DB: DrawingBackend>(
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
pub(super) fn polyline<DB: DrawingBackend>(
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

/// One panel: its caption and its measured and predicted series.
pub(super) struct Panel<'a> {
    pub(super) caption: &'a str,
    pub(super) data: &'a Series,
    pub(super) theory: &'a Series,
}

pub(super) fn draw<X, Y>(
    root: &DrawingArea<SVGBackend<'_>, Shift>,
    spec: &PlotSpec,
    panel: &Panel<'_>,
    groups: &[String],
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
    let caption_size = if spec.facet.is_some() { 15 } else { 18 };
    let mut chart = ChartBuilder::on(root)
        .caption(panel.caption, ("sans-serif", caption_size))
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
        .x_label_formatter(&|v| tick(*v))
        .y_label_formatter(&|v| tick(*v))
        .draw()
        .map_err(|e| err(&e))?;
    let plot = chart.plotting_area();
    let area = plot.strip_coord_spec();
    let (base_x, base_y) = area.get_base_pixel();
    // A series keeps its look, and its place in the dodge, in every panel.
    let index = |group: &str| groups.iter().position(|g| g == group).unwrap_or(0);
    for (group, marks) in panel.data {
        let i = index(group);
        let look = Look::of(i);
        // Series side by side by a few pixels (a dodge), so equal values do not hide one
        // another: each keeps its own marker in view.
        let dodge = ((i as f64 - (groups.len() as f64 - 1.0) / 2.0) * DODGE_PX).round() as i32;
        let pixel = |x: f64, y: f64| {
            let (px, py) = plot.map_coordinate(&(x, y));
            (px - base_x + dodge, py - base_y)
        };
        for m in marks.iter().filter(|m| m.high > m.low) {
            let (top, bottom) = (pixel(m.x, m.high), pixel(m.x, m.low));
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
    for (group, marks) in panel.theory {
        if !panel.data.iter().any(|(g, _)| g == group) {
            continue;
        }
        let style = Look::of(index(group)).color.stroke_width(1);
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
    Ok(())
}

/// Beside the chart, never over the data: each series' line and marker, and its value of
/// the grouping column.
pub(super) fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    group: &str,
    groups: &[String],
    theory: Option<String>,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let title = humanize(group);
    area.draw(&Text::new(
        title,
        (10, 50),
        ("sans-serif", 15).into_font().style(FontStyle::Bold),
    ))?;
    for (i, value) in groups.iter().enumerate() {
        let look = Look::of(i);
        let y = 78 + 22 * i as i32;
        polyline(area, vec![(10, y), (50, y)], &look)?;
        marker(area, (30, y), &look)?;
        area.draw(&Text::new(value.clone(), (60, y - 8), ("sans-serif", 14)))?;
    }
    if let Some(theory) = theory {
        let y = 78 + 22 * groups.len() as i32 + 10;
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
