//! synack's experiments, and the sweep harness they are built on.
//!
//! An experiment is a parameter grid plus what it measures at each point
//! ([`sweep::Experiment`]). The harness runs the points in parallel, each on a seed derived
//! from the base seed and its parameters, and writes `<out>/<name>.csv` (one row per point
//! and replication, units in the column names), `<out>/<name>.json` (what produced it) and
//! `<out>/<name>.svg` (the headline plot). Every binary takes the same options; `all` also
//! writes `<out>/README.md`, which shows every plot with its sentence.

pub mod close_wait_leak;
pub mod grid;
pub mod half_open;
pub mod half_open_lifetime;
pub mod handshake_data;
pub mod handshake_loss;
pub mod isn_guessing;
pub mod kernel_data;
pub mod last_ack_loss;
pub mod link_loss;
pub mod os_profiles;
mod output;
pub mod port_exhaustion;
pub mod scale;
pub mod server_capacity;
pub mod simultaneous;
pub mod stats;
pub mod sweep;
pub mod syn_flood;
pub mod three_segment_close;
pub mod time_wait_msl;
pub mod two_vs_three_way;

pub use output::point_seed;
pub use sweep::{Experiment, Measured, Report, Shard};
pub use synack_report::{clap_exit, plot, write_atomic};

use clap::{Args, CommandFactory, FromArgMatches, Parser};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU8, Ordering};
use synack_kernel::queue::{QueueFamily, QueueKind, family};

/// How big a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// Small: every experiment together runs in minutes on 2 cores.
    Quick,
    /// The figures for publication.
    Full,
}

/// Where the presets' results go by default (committed, indexed by its README).
pub const RESULTS: &str = "results";

/// The options every experiment binary takes.
#[derive(Debug, Clone, Args)]
pub struct ExperimentArgs {
    /// The small preset (the default).
    #[arg(long, conflicts_with = "full")]
    pub quick: bool,
    /// The publication preset.
    #[arg(long)]
    pub full: bool,
    /// Where to write <name>.csv, .json and .svg (with --set, required: another folder).
    #[arg(long, default_value = RESULTS)]
    pub out: PathBuf,
    /// Base seed; each point's seed derives from it and the point's parameters.
    #[arg(long, default_value_t = synack_kernel::DEFAULT_SEED)]
    pub seed: u64,
    /// Points run at once (default: one per core).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub jobs: Option<u32>,
    /// Run only the points whose index is K mod N, into <name>.shard-K-of-N.csv.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<Shard>,
    /// Skip the points an interrupted run of the same sweep finished.
    #[arg(long)]
    pub resume: bool,
    /// Override a grid axis: NAME=V1,V2,... (repeatable).
    #[arg(long, value_name = "NAME=VALUES")]
    pub set: Vec<String>,
    /// Stop once this many points are done, as an interrupt would: the cache is kept and
    /// no file is written. For testing --resume.
    #[arg(long, hide = true)]
    pub stop_after: Option<usize>,
    /// The simulator's event queue: wheel, heap or priority-queue. Results are the same on
    /// every queue (same-time events run by a model rule), which this lets one check.
    #[arg(long, default_value_t = QueueKind::Wheel)]
    pub queue: QueueKind,
}

impl ExperimentArgs {
    /// The preset asked for.
    pub fn preset(&self) -> Preset {
        if self.full {
            Preset::Full
        } else {
            Preset::Quick
        }
    }

    /// Quick-preset options writing to `out` (for tests and `all`).
    pub fn quick(out: PathBuf, seed: u64) -> Self {
        ExperimentArgs {
            quick: true,
            full: false,
            out,
            seed,
            jobs: None,
            shard: None,
            resume: false,
            set: Vec::new(),
            stop_after: None,
            queue: QueueKind::Wheel,
        }
    }
}

/// Runs a scenario given as TOML text on `seed` to its `duration_s`, with `observer`
/// watching if given: how experiments built on scenarios run a point.
pub fn run_scenario(
    text: &str,
    seed: u64,
    observer: Option<Box<dyn synack_net::Observer>>,
) -> Result<synack_net::Summary, String> {
    run_world(text, seed, |_| Ok(()), observer)
}

/// [`run_scenario`], with `tweak` changing the built world first: for what the TOML form
/// does not say (ISN generators, link rules, socket options).
pub fn run_world(
    text: &str,
    seed: u64,
    tweak: impl FnOnce(&mut synack_net::WorldSpec) -> Result<(), String>,
    observer: Option<Box<dyn synack_net::Observer>>,
) -> Result<synack_net::Summary, String> {
    let mut scenario = synack_net::scenario::parse(text).map_err(|e| e.to_string())?;
    scenario.seed = seed;
    let end = scenario.duration().map_err(|e| e.to_string())?;
    let mut spec = scenario.world().map_err(|e| e.to_string())?;
    tweak(&mut spec)?;
    match QUEUE.load(Ordering::Relaxed) {
        q if q == QueueKind::Heap as u8 => run_on::<family::Heap>(spec, end, observer),
        q if q == QueueKind::PriorityQueue as u8 => {
            run_on::<family::PriorityQueue>(spec, end, observer)
        }
        _ => run_on::<family::Wheel>(spec, end, observer),
    }
}

/// The event queue runs use, from `--queue`: set once, before any point runs.
static QUEUE: AtomicU8 = AtomicU8::new(QueueKind::Wheel as u8);

fn run_on<Q: QueueFamily>(
    spec: synack_net::WorldSpec,
    end: synack_kernel::SimTime,
    observer: Option<Box<dyn synack_net::Observer>>,
) -> Result<synack_net::Summary, String> {
    let mut world = synack_net::World::<Q>::with_queue(spec).map_err(|e| e.to_string())?;
    if let Some(observer) = observer {
        world.observe(observer);
    }
    Ok(world.run_until(end))
}

/// Every client's statistics in a run, added up (a scenario with many client hosts has a
/// client on each); an error if no client made a connection.
pub fn all_clients_stats(
    summary: &synack_net::Summary,
) -> Result<synack_net::app::ClientStats, String> {
    let mut all = synack_net::app::ClientStats::default();
    for app in &summary.apps {
        if let synack_net::AppSummary::Client(c) = app {
            all.attempted += c.attempted;
            all.not_started += c.not_started;
            all.connected += c.connected;
            all.completed += c.completed;
            all.refused += c.refused;
            all.reset += c.reset;
            all.timed_out += c.timed_out;
            all.setup_times_s.extend(&c.setup_times_s);
            all.response_times_s.extend(&c.response_times_s);
            all.handshake_failure_times_s
                .extend(&c.handshake_failure_times_s);
            all.handshaking += c.handshaking;
            all.exchanging += c.exchanging;
        }
    }
    if all.attempted == 0 {
        return Err("no client made a connection".into());
    }
    Ok(all)
}

/// The statistics of a run's first client.
pub fn client_stats(summary: &synack_net::Summary) -> Result<synack_net::app::ClientStats, String> {
    summary
        .first_client()
        .cloned()
        .ok_or_else(|| "the scenario has no client".to_string())
}

/// The statistics of a run's first server.
pub fn server_stats(summary: &synack_net::Summary) -> Result<synack_net::app::ServerStats, String> {
    summary
        .first_server()
        .copied()
        .ok_or_else(|| "the scenario has no server".to_string())
}

/// The TCP counters of the host named `node` at the end of a run.
pub fn host_counters(
    summary: &synack_net::Summary,
    node: &str,
) -> Result<synack_tcp::host::HostCounters, String> {
    summary
        .host(node)
        .copied()
        .ok_or_else(|| format!("no host {node}"))
}

/// Every experiment, in the order `all` runs them.
pub fn all() -> Vec<&'static dyn Experiment> {
    vec![
        &link_loss::LinkLoss,
        &handshake_loss::HandshakeLoss,
        &two_vs_three_way::TwoVsThreeWay,
        &handshake_data::HandshakeData,
        &time_wait_msl::TimeWaitMsl,
        &last_ack_loss::LastAckLoss,
        &three_segment_close::ThreeSegmentClose,
        &port_exhaustion::PortExhaustion,
        &syn_flood::SynFlood,
        &close_wait_leak::CloseWaitLeak,
        &half_open::HalfOpen,
        &half_open_lifetime::HalfOpenLifetime,
        &simultaneous::Simultaneous,
        &isn_guessing::IsnGuessing,
        &os_profiles::OsProfiles,
        &server_capacity::ServerCapacity,
        &scale::Scale,
    ]
}

#[derive(Parser)]
struct AllCli {
    #[command(flatten)]
    args: ExperimentArgs,
}

fn fail(line: &str) -> ExitCode {
    eprintln!("{line}");
    ExitCode::from(2)
}

fn axes_help(experiments: &[&dyn Experiment]) -> String {
    let mut help = String::from(
        "Grid axes (quick values | full values), overridable with --set NAME=VALUES:\n",
    );
    for e in experiments {
        for a in e.axes() {
            let list = |vs: &[grid::Value]| {
                vs.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            };
            help.push_str(&format!(
                "  {:<22} {} [{} | {}]\n",
                a.name,
                a.about,
                list(&a.quick),
                list(&a.full)
            ));
        }
    }
    help
}

/// Runs experiments with parsed options; exit 2 for bad input, 1 if a point failed.
/// `results/README.md`: every experiment's plot, each with the sentence on what it shows.
pub fn results_index(experiments: &[&dyn Experiment], args: &ExperimentArgs) -> String {
    let preset = match args.preset() {
        Preset::Quick => "quick",
        Preset::Full => "full",
    };
    let mut index = format!(
        "# Results\n\nWritten by `all` on the {preset} preset with base seed {}. Each CSV has one \
         row per point and replication; its JSON sidecar says what produced it.\n",
        args.seed
    );
    index.push_str("\nWhat each OS profile was checked against:\n\n");
    for profile in synack_tcp::host::Profile::ALL {
        index.push_str(&format!(
            "- `{profile}`: {}.\n",
            profile.checked_against_in_words()
        ));
    }
    for e in experiments {
        let name = e.name();
        index.push_str(&format!(
            "\n## {name}\n\n{}.\n\n![{name}]({name}.svg)\n\n[CSV]({name}.csv), [metadata]({name}.json)\n",
            e.about().trim_end_matches('.')
        ));
        if e.machine_dependent() {
            index.push_str(
                "\nMeasured on the machine that ran it, so not kept in the repository: `all` (or this experiment's binary) draws it; `benches/README.md` has a reference run.\n",
            );
        }
    }
    index.push_str(include_str!("common_claims.md"));
    index
}

/// Each experiment's `--set` overrides, all checked (names and values) before anything
/// runs: `EXPERIMENT.axis=...` goes to that experiment, `axis=...` to every experiment that
/// has the axis, and an override no experiment takes is an error.
fn overrides_for(
    experiments: &[&dyn Experiment],
    args: &ExperimentArgs,
) -> Result<Vec<Vec<String>>, String> {
    // results/ holds the presets' own results, which the README indexes: a grid changed by
    // --set would overwrite them with a subset.
    if let Some(o) = args.set.first()
        && args.out == Path::new(RESULTS)
    {
        return Err(format!(
            "--set {o}: a changed grid needs its own --out DIR; the default, {RESULTS}/, holds \
             the presets' results"
        ));
    }
    let mut per: Vec<Vec<String>> = vec![Vec::new(); experiments.len()];
    for o in &args.set {
        let (name, values) = o.split_once('=').unwrap_or((o, ""));
        let (only, axis) = match name.split_once('.') {
            Some((experiment, axis)) => (Some(experiment), axis),
            None => (None, name),
        };
        if let Some(only) = only
            && !experiments.iter().any(|e| e.name() == only)
        {
            let names: Vec<&str> = experiments.iter().map(|e| e.name()).collect();
            return Err(format!(
                "--set {o}: no experiment {only}; the experiments are {}",
                names.join(", ")
            ));
        }
        let mut taken = false;
        for (i, e) in experiments.iter().enumerate() {
            let has = e.axes().iter().any(|a| a.name == axis);
            if only.is_some_and(|x| x != e.name()) || (only.is_none() && !has) {
                continue;
            }
            // An experiment named for an axis it lacks: its grid says which axes it has.
            per[i].push(format!("{axis}={values}"));
            taken = true;
        }
        if !taken {
            return Err(format!("--set {o}: no such axis in any experiment"));
        }
    }
    for (e, set) in experiments.iter().zip(&per) {
        let preset = args.preset();
        grid::Grid::new(
            &e.axes(),
            preset == Preset::Full,
            e.replications(preset),
            set,
        )
        .map_err(|err| format!("{}: {err}", e.name()))?;
    }
    Ok(per)
}

fn run_all(experiments: &[&dyn Experiment], args: &ExperimentArgs, index: bool) -> ExitCode {
    QUEUE.store(args.queue as u8, Ordering::Relaxed);
    let per = match overrides_for(experiments, args) {
        Ok(per) => per,
        Err(err) => return fail(&err),
    };
    let mut failed = 0;
    for (e, set) in experiments.iter().zip(per) {
        let args = ExperimentArgs {
            set,
            ..args.clone()
        };
        match sweep::sweep(*e, &args) {
            Ok(report) => {
                failed += report.failed;
                synack_report::print_line(
                    e.name(),
                    format_args!(
                        "{}: {} points ({} resumed, {} failed), {} events -> {}",
                        e.name(),
                        report.points,
                        report.resumed,
                        report.failed,
                        report.events,
                        report.csv.display()
                    ),
                );
            }
            Err(err) => return fail(&format!("{}: error: {err:#}", e.name())),
        }
    }
    if index && args.shard.is_none() && args.stop_after.is_none() {
        let readme = args.out.join("README.md");
        if let Err(err) = write_atomic(&readme, results_index(experiments, args).as_bytes()) {
            return fail(&format!("all: error: {err:#}"));
        }
    }
    if failed > 0 {
        eprintln!("{failed} points failed; their rows carry the error");
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}

/// An example command for one experiment: its first axis narrowed to two quick values.
fn example_help(e: &dyn Experiment) -> String {
    let name = e.name();
    let axes = e.axes();
    let narrowed = axes.first().map_or(String::new(), |a| {
        let values: Vec<String> = a.quick.iter().take(2).map(ToString::to_string).collect();
        format!(" --set {}={}", a.name, values.join(","))
    });
    format!(
        "\nExample (two values of the first axis on the quick preset):\n  cargo run --release -p experiments --bin {name} -- --quick{narrowed} --out /tmp/{name}\nwrites /tmp/{name}/{name}.csv (a row per point and replication), {name}.json (what produced it) and {name}.svg (the plot).\n"
    )
}

/// `main` of one experiment's binary.
pub fn main_for(experiment: &'static dyn Experiment) -> ExitCode {
    // The about after augment_args, which would put ExperimentArgs' doc comment in its place.
    let command = ExperimentArgs::augment_args(clap::Command::new(experiment.name()))
        .about(experiment.about())
        .after_help(axes_help(&[experiment]) + &example_help(experiment));
    let args = match command
        .try_get_matches()
        .and_then(|m| ExperimentArgs::from_arg_matches(&m))
    {
        Ok(args) => args,
        Err(err) => return clap_exit(err, ""),
    };
    run_all(&[experiment], &args, false)
}

/// `main` of `all`: every experiment with the same options.
pub fn main_all() -> ExitCode {
    let experiments = all();
    let command = AllCli::command()
        .name("all")
        .about("Every experiment, on one preset, writing each one's CSV, JSON and SVG and results/README.md; --set AXIS=... applies to the experiments with that axis, --set EXPERIMENT.AXIS=... to one")
        .after_help(axes_help(&experiments));
    let args = match command
        .try_get_matches()
        .and_then(|m| AllCli::from_arg_matches(&m))
    {
        Ok(cli) => cli.args,
        Err(err) => return clap_exit(err, ""),
    };
    run_all(&experiments, &args, true)
}
