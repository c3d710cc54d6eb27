//! `synack`: the command-line front end.
//!
//! Every failure, from a bad flag to a bad value, ends in one line on stderr and exit code 2;
//! an interrupted run (SIGINT, SIGTERM, SIGHUP) in one line and exit code 130.

/// `println!` for the program's output: a closed pipe (`synack profiles | head -1`) ends the
/// program quietly with exit code 141 (128 + SIGPIPE, as a Unix tool killed by it reports),
/// and any other write error (`> /dev/full`) is one line on stderr and exit code 1.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::write_stdout_line(format_args!($($arg)*))
    };
}

mod bench;
mod drill;
mod plot;
mod profiles;
mod run;
mod summary;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "synack",
    version = concat!(env!("CARGO_PKG_VERSION"), " (", env!("SYNACK_REVISION"), ")"),
    about = "A discrete-event simulator of TCP connection management",
    after_help = "Exit codes: 0 done; 1 a drill script failed, or output could not be written;\n\
                  2 bad input (one line on stderr names it; nothing is written); 130 interrupted\n\
                  (SIGINT, SIGTERM or SIGHUP; no partial file is left)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Benchmarks whose figures can be set beside ns-3's (benches/ns3, benches/compare_ns3.sh).
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// The OS profiles side by side, retry schedules measured (--tsv for scripts).
    Profiles(profiles::ProfilesArgs),
    /// Runs one scenario file and prints its summary.
    #[command(after_help = RUN_HELP)]
    Run(run::RunArgs),
    /// Runs packetdrill-style scripts against the TCP model; exit 1 if one fails.
    #[command(after_help = DRILL_HELP)]
    Drill(drill::DrillArgs),
    /// A line chart of a tidy CSV as SVG: one line per group, error bars over replications.
    #[command(after_help = PLOT_HELP)]
    Plot(plot::PlotArgs),
}

const RUN_HELP: &str = "Examples:
  synack run experiments/scenarios/syn_flood.toml
  synack run my.toml --seed 7 --until 30 --trace --pcap --json --out /tmp/my-run

Exit codes: 0 the run finished; 2 bad input (the scenario's field or line, in one line; nothing
is written); 130 interrupted (no partial file is left).";

const DRILL_HELP: &str = "Examples:
  synack drill crates/cli/tests/drill/linux/
  synack drill --strict --profile freebsd script.pkt
  cd gtests/net/tcp && synack drill --profile linux .   (google/packetdrill's own tests)

Exit codes: 0 every script passed or ended as `not modelled`; 1 a script failed; 2 a script
or flag could not be read (its line, in one line).";

const PLOT_HELP: &str = "Examples:
  synack plot results/time_wait_msl.csv --x time_wait_s --y stale_fraction --group rules -o stale.svg

Exit codes: 0 the SVG was written; 2 bad input (the column or flag, in one line; nothing is
written).";

/// Writes one line to stdout; see [`outln`].
fn write_stdout_line(line: std::fmt::Arguments) {
    synack_report::print_line("synack", line);
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return synack_report::clap_exit(err, "synack: "),
    };
    let result = match cli.command {
        Command::Bench(command) => bench::run(command),
        Command::Plot(args) => plot::run(&args),
        Command::Run(args) => run::run(&args),
        Command::Drill(args) => match drill::run(&args) {
            Ok(true) => Ok(()),
            Ok(false) => return ExitCode::from(1),
            Err(e) => Err(e),
        },
        Command::Profiles(args) => {
            profiles::run(&args);
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if err.is::<run::Interrupted>() => {
            eprintln!("synack: {err}");
            ExitCode::from(130)
        }
        Err(err) => fail(&format!("error: {err:#}")),
    }
}

fn fail(line: &str) -> ExitCode {
    eprintln!("synack: {line}");
    ExitCode::from(2)
}
