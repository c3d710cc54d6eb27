//! `synack drill`: packetdrill scripts against the TCP model. See `parse` for the script
//! language, `knobs` for options and commands, `wire` for how segments are compared,
//! `run` and `calls` for how a script is played, `tcp_info` for its `%{ }%` checks, and
//! `features` for what ends a script as not modelled.

mod calls;
mod conditionals;
mod features;
mod knobs;
mod parse;
mod run;
mod segments;
mod sockstat;
mod syscall;
mod tcp_info;
mod wire;

use anyhow::Context;
use clap::Args;
use features::Feature;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use synack_tcp::host::Profile;

#[derive(Args)]
pub struct DrillArgs {
    /// OS profile the stack under test starts from (linux, linux-classic, freebsd, macos,
    /// windows, rfc9293); the script's sysctl lines then change it.
    #[arg(long, default_value = Profile::Linux.name())]
    profile: String,
    /// Stricter than packetdrill: any segment the stack sends that no line expects fails,
    /// also after the last line, and segments are never merged to match a longer line
    /// (packetdrill's `--strict_segments`). The project's corpus runs with it.
    #[arg(long)]
    strict: bool,
    /// The scripts, or directories to search for `*.pkt` files (in name order).
    #[arg(required = true)]
    scripts: Vec<PathBuf>,
}

/// The scripts named, with each directory replaced by the `*.pkt` files under it.
fn expand(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .with_context(|| format!("cannot read {}", dir.display()))?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()?;
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(&path, out)?;
            } else if path.extension().is_some_and(|e| e == "pkt") {
                out.push(path);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            walk(path, &mut out)?;
        } else {
            out.push(path.clone());
        }
    }
    Ok(out)
}

/// One directory's counts: passed, not modelled by feature, failed.
#[derive(Default)]
struct Tally {
    passed: usize,
    not_modelled: BTreeMap<Feature, usize>,
    failed: usize,
}

fn print_report(tallies: &BTreeMap<String, Tally>) {
    outln!("");
    outln!(
        "{:<28} {:>6} {:>6} {:>6}  not modelled, by feature",
        "directory",
        "passed",
        "n/m",
        "failed"
    );
    for (dir, t) in tallies {
        let by_feature: Vec<String> = t
            .not_modelled
            .iter()
            .map(|(f, n)| format!("{f} {n}"))
            .collect();
        outln!(
            "{:<28} {:>6} {:>6} {:>6}  {}",
            dir,
            t.passed,
            t.not_modelled.values().sum::<usize>(),
            t.failed,
            by_feature.join(", ")
        );
    }
}

/// How a drill ended: `Ok(true)` when every script passed. Every script is parsed and
/// configured before any runs, so a bad one stops the drill before a result is printed.
pub fn run(args: &DrillArgs) -> anyhow::Result<bool> {
    let profile: Profile = args.profile.parse().map_err(|_| {
        anyhow::anyhow!(
            "--profile {}: expected one of {}",
            args.profile,
            Profile::names().join(", ")
        )
    })?;

    let paths = expand(&args.scripts)?;
    if paths.is_empty() {
        anyhow::bail!("no *.pkt scripts in {}", args.scripts[0].display());
    }
    let mut scripts = Vec::new();
    for path in &paths {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let defined: Vec<&str> = profile.uname().into_iter().collect();
        let script = conditionals::resolve(&text, &defined)
            .and_then(|text| parse::parse(&text))
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let mut knobs = knobs::Knobs::new(profile);
        knobs
            .configure(&script, &dir)
            .and_then(|()| knobs.validate())
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        scripts.push((path, script, knobs, dir));
    }
    let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
    for (path, script, knobs, dir) in scripts {
        let (verdict, ignored) = run::run(&script, knobs, &dir, args.strict);
        let shown = dir.display().to_string();
        let shown = shown.strip_prefix("./").unwrap_or(&shown).to_string();
        let tally = tallies.entry(shown).or_default();
        match verdict {
            Ok(()) => {
                tally.passed += 1;
                outln!("PASS {}", path.display());
            }
            Err(stop) => match stop.not_modelled {
                Some(feature) => {
                    *tally.not_modelled.entry(feature).or_default() += 1;
                    outln!("NOT MODELLED {}: {stop}", path.display());
                }
                None => {
                    tally.failed += 1;
                    outln!("FAIL {}: {stop}", path.display());
                }
            },
        }
        if !ignored.is_empty() {
            outln!("  ignored (no effect in the model): {}", ignored.join("; "));
        }
    }
    if tallies.len() > 1 {
        print_report(&tallies);
    }
    let sum = |f: fn(&Tally) -> usize| tallies.values().map(f).sum::<usize>();
    let (passed, failed) = (sum(|t| t.passed), sum(|t| t.failed));
    let not_modelled = sum(|t| t.not_modelled.values().sum());
    outln!(
        "synack drill --profile {}: {passed} passed, {failed} failed, {not_modelled} not modelled",
        args.profile,
    );
    Ok(failed == 0)
}
