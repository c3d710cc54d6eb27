//! `synack plot`: a labeled line chart of any tidy CSV, as SVG; the experiments' own plots
//! use the same code.

use anyhow::Context;
use clap::Args;
use std::path::PathBuf;
use synack_report::plot::{PlotSpec, humanize, line_chart_svg};

#[derive(Args)]
pub struct PlotArgs {
    /// The CSV to plot.
    file: PathBuf,
    /// Column for the x axis (its name carries its unit).
    #[arg(long)]
    x: String,
    /// Column for the y axis.
    #[arg(long)]
    y: String,
    /// Column whose values split the rows into lines.
    #[arg(long)]
    group: Option<String>,
    /// Logarithmic x axis.
    #[arg(long)]
    log_x: bool,
    /// Logarithmic y axis.
    #[arg(long)]
    log_y: bool,
    /// Title (default: "Y by X", in words).
    #[arg(long)]
    title: Option<String>,
    /// A column of theory's prediction for --y, drawn dotted in each group's colour.
    #[arg(long, value_name = "COLUMN")]
    theory: Option<String>,
    /// The x axis's label (default: the column's name in words, its unit in parentheses).
    #[arg(long, value_name = "TEXT")]
    x_label: Option<String>,
    /// The y axis's label (default likewise).
    #[arg(long, value_name = "TEXT")]
    y_label: Option<String>,
    /// A column whose values each get a panel of their own, on shared axes.
    #[arg(long, value_name = "COLUMN")]
    facet: Option<String>,
    /// A column of trials when --y is a fraction of them: replications are pooled and
    /// drawn with Wilson's 95% interval (otherwise Student's t on the replications' mean).
    #[arg(long, value_name = "COLUMN")]
    trials: Option<String>,
    /// The SVG to write.
    #[arg(short = 'o', long = "output")]
    output: PathBuf,
}

pub fn run(args: &PlotArgs) -> anyhow::Result<()> {
    if args.output.extension().is_none_or(|e| e != "svg") {
        anyhow::bail!(
            "-o {}: the chart is SVG, so the file must end in .svg (rsvg-convert turns it into PNG)",
            args.output.display()
        );
    }
    let csv = std::fs::read(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let spec = PlotSpec {
        title: args
            .title
            .clone()
            .unwrap_or_else(|| format!("{} by {}", humanize(&args.y), humanize(&args.x))),
        x: args.x.clone(),
        y: args.y.clone(),
        group: args.group.clone(),
        log_x: args.log_x,
        log_y: args.log_y,
        only: Vec::new(),
        x_label: args.x_label.clone(),
        y_label: args.y_label.clone(),
        theory: args.theory.clone(),
        facet: args.facet.clone(),
        trials: args.trials.clone(),
    };
    let svg = line_chart_svg(&csv, &spec).with_context(|| format!("{}", args.file.display()))?;
    synack_report::write_atomic(&args.output, svg.as_bytes())
}
