//! Merges shard CSVs (`<name>.shard-K-of-N.csv`) into the CSV an unsharded run would have
//! written, byte for byte: `merge --out results/NAME.csv SHARD.csv...`.

use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(about = "Merges shard CSVs into the unsharded CSV, byte for byte")]
struct Cli {
    /// The merged CSV to write.
    #[arg(long)]
    out: PathBuf,
    /// The shard CSVs, in any order.
    #[arg(required = true)]
    shards: Vec<PathBuf>,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return experiments::clap_exit(err, ""),
    };
    match experiments::sweep::merge(&cli.shards)
        .and_then(|csv| experiments::write_atomic(&cli.out, &csv))
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("merge: error: {err:#}");
            ExitCode::from(2)
        }
    }
}
