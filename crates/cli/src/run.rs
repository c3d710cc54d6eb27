//! `synack run SCENARIO.toml`: one scenario, its summary, and optional traces.

use crate::summary;
use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;
use synack_kernel::{SimDuration, SimTime};
use synack_net::diagram::Connections;
use synack_net::scenario::parse;
use synack_net::trace::CsvTrace;
use synack_net::{Summary, World, WorldSpec};

#[derive(Args)]
pub struct RunArgs {
    /// The scenario file (TOML).
    scenario: PathBuf,
    /// Override the scenario's seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Where traces go [default: synack-run/<the scenario file's name> in the current
    /// directory, never the clone's committed results/].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Write segments.csv and transitions.csv to --out.
    #[arg(long)]
    trace: bool,
    /// Write one pcap file per link to --out (LINKTYPE_RAW, for Wireshark and tshark).
    #[arg(long)]
    pcap: bool,
    /// Draw a sequence diagram, --out/diagram.svg (point-to-point scenarios): the first 10
    /// connections, runs of data segments collapsed, cut after 300 segments.
    #[arg(long)]
    diagram: bool,
    /// Draw the first N connections (implies --diagram).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..), conflicts_with = "diagram_port")]
    diagram_first: Option<u32>,
    /// Draw the connections with this port, on either host (implies --diagram).
    #[arg(long, value_name = "PORT", value_parser = clap::value_parser!(u16).range(1..))]
    diagram_port: Option<u16>,
    /// Stop at this simulated time, in seconds, instead of the scenario's duration_s.
    #[arg(long, value_name = "SECONDS")]
    until: Option<f64>,
    /// Print the summary as one JSON document (every counter; no wall-clock time).
    #[arg(long)]
    json: bool,
}

impl RunArgs {
    /// --out, or synack-run/<scenario stem>.
    fn out(&self) -> PathBuf {
        self.out.clone().unwrap_or_else(|| {
            let stem = self.scenario.file_stem().unwrap_or_default();
            PathBuf::from("synack-run").join(stem)
        })
    }

    fn wants_diagram(&self) -> bool {
        self.diagram || self.diagram_first.is_some() || self.diagram_port.is_some()
    }

    fn connections(&self) -> Connections {
        match (self.diagram_port, self.diagram_first) {
            (Some(port), _) => Connections::Port(port),
            (None, Some(n)) => Connections::First(n as usize),
            (None, None) => Connections::default(),
        }
    }
}

pub fn run(args: &RunArgs) -> anyhow::Result<()> {
    let name = args.scenario.display().to_string();
    let (seed, spec, end) = load(args, &name)?;
    let mut world = World::new(spec).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
    let out = args.out();
    attach_observers(args, &out, &name, &mut world)?;
    let links = world.link_names();
    let started = Instant::now();
    let s = run_in_slices(&mut world, end, started)?;
    world
        .finish_observing()
        .with_context(|| format!("cannot write traces to {}", out.display()))?;
    let wall = started.elapsed().as_secs_f64();
    let files = FilesWritten::new(args, &out, &links);
    let stale = files.stale(&out);
    if !stale.is_empty() {
        eprintln!(
            "synack: note: {} also holds files this run did not write (an earlier run's): {}",
            out.display(),
            stale.join(", ")
        );
    }
    if args.json {
        let document = summary::json(&name, seed, &s, files.to_json());
        outln!(
            "{}",
            serde_json::to_string_pretty(&document).expect("plain values")
        );
        return Ok(());
    }
    outln!(
        "scenario {name}: seed {seed}, {:.3} s simulated, {} events, {wall:.3} s wall",
        s.end.as_secs_f64(),
        s.events
    );
    for line in summary::host_table(&s)
        .into_iter()
        .chain(summary::census_table(&s))
        .chain(summary::app_tables(&s))
    {
        outln!("{line}");
    }
    print_notes(&s, &files);
    Ok(())
}

/// The scenario's seed (or --seed), its world, and when the run ends.
fn load(args: &RunArgs, name: &str) -> anyhow::Result<(u64, WorldSpec, SimTime)> {
    let text = std::fs::read_to_string(&args.scenario)
        .with_context(|| format!("cannot read {}", args.scenario.display()))?;
    let mut scenario = parse(&text).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
    if let Some(seed) = args.seed {
        scenario.seed = seed;
    }
    let spec = scenario
        .world()
        .map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
    let end = match args.until {
        Some(s) => SimTime::ZERO.saturating_add(
            SimDuration::try_from_secs_f64(s)
                .with_context(|| format!("--until {s}: expected seconds >= 0"))?,
        ),
        None => scenario
            .duration()
            .map_err(|e| anyhow::anyhow!("{name}: {e}"))?,
    };
    Ok((scenario.seed, spec, end))
}

/// The traces asked for. Everything is checked before any file is opened.
fn attach_observers(
    args: &RunArgs,
    out: &std::path::Path,
    name: &str,
    world: &mut World,
) -> anyhow::Result<()> {
    let lanes = match args.wants_diagram() {
        true => Some(world.point_to_point_hosts().map_err(|why| {
            anyhow::anyhow!("--diagram: {name} {why}; a diagram draws one link between two hosts")
        })?),
        false => None,
    };
    let mut observers: Vec<Box<dyn synack_net::Observer>> = Vec::new();
    let cannot = || format!("cannot write traces to {}", out.display());
    if args.trace {
        observers.push(Box::new(CsvTrace::create(out).with_context(cannot)?));
    }
    if args.pcap {
        observers.push(Box::new(
            synack_net::pcap::PcapTrace::create_for(out, &world.link_names())
                .with_context(cannot)?,
        ));
    }
    if let Some(lanes) = lanes {
        std::fs::create_dir_all(out).with_context(cannot)?;
        observers.push(Box::new(synack_net::diagram::Diagram::new(
            &out.join("diagram.svg"),
            lanes,
            args.connections(),
        )));
    }
    if !observers.is_empty() {
        world.observe(Box::new(synack_net::pcap::Tee(observers)));
    }
    Ok(())
}

/// A run ended by SIGINT, SIGTERM or SIGHUP: its traces are not written, and no temporary
/// file is left (the observers remove theirs as they are dropped). Exit code 130.
#[derive(Debug)]
pub struct Interrupted;

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("interrupted; no trace written")
    }
}

impl std::error::Error for Interrupted {}

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Runs to `end` in slices, so a long run can show progress and stop when interrupted.
fn run_in_slices(
    world: &mut World,
    end: SimTime,
    started: Instant,
) -> Result<Summary, Interrupted> {
    // A second handler cannot be set (tests call run once per process): ignore that.
    let _ = ctrlc::set_handler(|| INTERRUPTED.store(true, Ordering::SeqCst));
    const SLICES: u64 = 1000;
    let bar = ProgressBar::new(100);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {percent}% of simulated time, {elapsed}")
            .expect("valid"),
    );
    let mut summary = None;
    for k in 1..=SLICES {
        let t = SimTime::from_nanos(
            (u128::from(end.as_nanos()) * u128::from(k) / u128::from(SLICES)) as u64,
        );
        summary = Some(world.run_until(t));
        if INTERRUPTED.load(Ordering::SeqCst) {
            bar.finish_and_clear();
            return Err(Interrupted);
        }
        if started.elapsed().as_secs_f64() > 1.0 {
            bar.set_position(k / (SLICES / 100));
        }
    }
    bar.finish_and_clear();
    Ok(summary.expect("at least one slice"))
}

/// The files written, by kind: what --json lists and the text names.
struct FilesWritten {
    traces: Vec<String>,
    pcap: Vec<String>,
    diagram: Option<String>,
}

impl FilesWritten {
    fn new(args: &RunArgs, out: &std::path::Path, links: &[String]) -> Self {
        let out = out.display();
        let traces = match args.trace {
            true => vec![
                format!("{out}/segments.csv"),
                format!("{out}/transitions.csv"),
            ],
            false => vec![],
        };
        let pcap = match args.pcap {
            true => links.iter().map(|l| format!("{out}/{l}.pcap")).collect(),
            false => vec![],
        };
        let diagram = args.wants_diagram().then(|| format!("{out}/diagram.svg"));
        FilesWritten {
            traces,
            pcap,
            diagram,
        }
    }

    fn all(&self) -> impl Iterator<Item = &String> {
        self.traces.iter().chain(&self.pcap).chain(&self.diagram)
    }

    /// Trace files in `out` that this run did not write: left by an earlier run with other
    /// links or other flags, so a reader might take them for this run's. In name order.
    fn stale(&self, out: &std::path::Path) -> Vec<String> {
        if self.all().next().is_none() {
            return Vec::new();
        }
        let Ok(entries) = std::fs::read_dir(out) else {
            return Vec::new();
        };
        let mut stale: Vec<String> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| {
                p.extension()
                    .is_some_and(|x| x == "csv" || x == "pcap" || x == "svg")
            })
            .map(|p| p.display().to_string())
            .filter(|p| !self.all().any(|w| w == p))
            .collect();
        stale.sort();
        stale
    }

    fn to_json(&self) -> serde_json::Value {
        serde_json::json!({"traces": self.traces, "pcap": self.pcap, "diagram": self.diagram})
    }
}

/// Simultaneous opens and closes, unroutable datagrams, and where the files went.
fn print_notes(s: &Summary, files: &FilesWritten) {
    if s.simultaneous_opens + s.simultaneous_closes > 0 {
        outln!(
            "simultaneous opens {} closes {} (per endpoint)",
            s.simultaneous_opens,
            s.simultaneous_closes
        );
    }
    if s.unroutable > 0 {
        outln!(
            "unroutable datagrams: {} (sent to an address no route reaches, such as replies to spoofed sources)",
            s.unroutable
        );
    }
    for (label, written) in [("traces", &files.traces), ("pcap", &files.pcap)] {
        if !written.is_empty() {
            outln!("{label}: {}", written.join(", "));
        }
    }
    if let Some(diagram) = &files.diagram {
        outln!("diagram: {diagram}");
    }
}
