//! Runs the `link_loss` experiment; see `experiments::link_loss`.

use clap::Parser;
use std::process::ExitCode;

#[derive(Parser)]
#[command(about = "Measured loss rate and burst length of the link's loss models against theory")]
struct Cli {
    #[command(flatten)]
    args: experiments::ExperimentArgs,
}

fn main() -> ExitCode {
    experiments::main_with(
        || Cli::try_parse().map(|c| c.args),
        |args| {
            println!(
                "{}: {}",
                experiments::link_loss::NAME,
                experiments::link_loss::run(args)?
            );
            Ok(())
        },
    )
}
