//! `synack drill`: packetdrill-style scripts against the TCP model. See `parse` for the
//! syntax accepted and `run` for how a script is played.

mod parse;
mod run;

use anyhow::Context;
use clap::Args;
use std::path::PathBuf;
use synack_tcp::host::profile;

#[derive(Args)]
pub struct DrillArgs {
    /// OS profile the stack under test starts from (linux, linux-classic, freebsd, macos,
    /// windows, rfc9293); sysctl lines then change it.
    #[arg(long, default_value = "linux")]
    profile: String,
    /// The scripts.
    #[arg(required = true)]
    scripts: Vec<PathBuf>,
}

/// How a drill ended: `Ok(true)` when every script passed.
pub fn run(args: &DrillArgs) -> anyhow::Result<bool> {
    let base = profile(&args.profile).with_context(|| {
        format!(
            "--profile {}: expected one of {}",
            args.profile,
            synack_tcp::host::PROFILES.join(", ")
        )
    })?;
    let mut scripts = Vec::new();
    for path in &args.scripts {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let script = parse::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let config = run::configure(base.clone(), &script)
            .map_err(|e| anyhow::anyhow!("{}: {}", path.display(), e.0))?;
        scripts.push((path, script, config));
    }
    let mut all_pass = true;
    for (path, script, config) in scripts {
        match run::run(&script, config) {
            Ok(()) => println!("PASS {}", path.display()),
            Err(failure) => {
                all_pass = false;
                println!("FAIL {}: {failure}", path.display());
            }
        }
    }
    Ok(all_pass)
}
