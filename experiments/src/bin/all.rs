//! Runs every experiment, in order, with the same options: the README's main command.

use clap::Parser;
use std::process::ExitCode;

#[derive(Parser)]
#[command(about = "Runs every synack experiment and writes its CSV and JSON")]
struct Cli {
    #[command(flatten)]
    args: experiments::ExperimentArgs,
}

fn main() -> ExitCode {
    experiments::main_with(
        || Cli::try_parse().map(|c| c.args),
        |args| {
            for experiment in experiments::ALL {
                let summary = (experiment.run)(args)?;
                println!("{}: {summary}", experiment.name);
            }
            Ok(())
        },
    )
}
