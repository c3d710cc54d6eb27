//! The experiments: each is a parameter grid plus the thing it measures, writing
//! `<out>/<name>.csv` (one row per grid point, units in the column names) and
//! `<out>/<name>.json` (what produced it). Every point's seed comes from the base seed and
//! the point's own parameters, not its position, so adding a point changes no other.
//!
//! Files are written to a temporary name and renamed, so an interrupted run leaves no
//! partial output.

pub mod link_loss;
mod output;

pub use output::{Metadata, point_seed, write_atomic, write_csv};

use clap::Args;
use std::path::PathBuf;

/// How big a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// Small enough that every experiment together runs in minutes on 2 cores.
    Quick,
    /// The figures for publication.
    Full,
}

/// The options every experiment binary takes.
#[derive(Debug, Clone, Args)]
pub struct ExperimentArgs {
    /// The small preset (the default).
    #[arg(long, conflicts_with = "full")]
    pub quick: bool,
    /// The publication preset.
    #[arg(long)]
    pub full: bool,
    /// Where to write `<name>.csv` and `<name>.json`.
    #[arg(long, default_value = "results")]
    pub out: PathBuf,
    /// Base seed; each point's seed is derived from it and the point's parameters.
    #[arg(long, default_value_t = synack_kernel::DEFAULT_SEED)]
    pub seed: u64,
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
}

/// An experiment that `all` can run.
pub struct Experiment {
    /// Its name: the binary's and the output files'.
    pub name: &'static str,
    /// Runs it, writing its files; returns a one-line summary.
    pub run: fn(&ExperimentArgs) -> anyhow::Result<String>,
}

/// Every experiment, in the order `all` runs them.
pub const ALL: &[Experiment] = &[Experiment {
    name: link_loss::NAME,
    run: link_loss::run,
}];

/// The shared `main` of experiment binaries: parse, run, and turn any failure into one
/// line on stderr with exit code 2.
pub fn main_with(
    parse: impl FnOnce() -> Result<ExperimentArgs, clap::Error>,
    body: impl FnOnce(&ExperimentArgs) -> anyhow::Result<()>,
) -> std::process::ExitCode {
    let fail = |line: &str| {
        eprintln!("{line}");
        std::process::ExitCode::from(2)
    };
    let args = match parse() {
        Ok(args) => args,
        Err(err) if !err.use_stderr() => {
            let _ = err.print();
            return std::process::ExitCode::SUCCESS;
        }
        Err(err) => {
            let message = err.to_string();
            return fail(message.lines().next().unwrap_or(&message));
        }
    };
    match body(&args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => fail(&format!("error: {err:#}")),
    }
}
