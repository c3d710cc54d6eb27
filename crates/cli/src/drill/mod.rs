//! `synack drill`: packetdrill scripts against the TCP model. See `parse` for the script
//! language, `knobs` for options and commands, `wire` for how segments are compared, and
//! `run` and `calls` for how a script is played.

mod calls;
mod knobs;
mod parse;
mod run;
mod wire;

use anyhow::Context;
use clap::Args;
use std::path::{Path, PathBuf};
use synack_tcp::host::profile;

#[derive(Args)]
pub struct DrillArgs {
    /// OS profile the stack under test starts from (linux, linux-classic, freebsd, macos,
    /// windows, rfc9293); the script's sysctl lines then change it.
    #[arg(long, default_value = "linux")]
    profile: String,
    /// The scripts.
    #[arg(required = true)]
    scripts: Vec<PathBuf>,
}

/// How a drill ended: `Ok(true)` when every script passed. Every script is parsed and
/// configured before any runs, so a bad one stops the drill before a result is printed.
pub fn run(args: &DrillArgs) -> anyhow::Result<bool> {
    let base = profile(&args.profile).with_context(|| {
        format!(
            "--profile {}: expected one of {}",
            args.profile,
            synack_tcp::host::PROFILES.join(", ")
        )
    })?;
    let bsd_names = matches!(args.profile.as_str(), "freebsd" | "macos");
    let mut scripts = Vec::new();
    for path in &args.scripts {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let script = parse::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let mut knobs = knobs::Knobs::new(base.clone(), bsd_names);
        knobs
            .configure(&script, &dir)
            .and_then(|()| knobs.validate())
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        scripts.push((path, script, knobs, dir));
    }
    let (mut passed, total) = (0, scripts.len());
    for (path, script, knobs, dir) in scripts {
        let (verdict, not_modelled) = run::run(&script, knobs, &dir);
        match verdict {
            Ok(()) => {
                passed += 1;
                outln!("PASS {}", path.display());
            }
            Err(failure) => outln!("FAIL {}: {failure}", path.display()),
        }
        if !not_modelled.is_empty() {
            outln!("  not modelled: {}", not_modelled.join("; "));
        }
    }
    outln!(
        "synack drill --profile {}: {passed} passed, {} failed",
        args.profile,
        total - passed
    );
    Ok(passed == total)
}
