//! Embeds the source's git revision, and whether the sources differed from it, at build
//! time: an experiment's run record names the code that produced it, wherever it runs.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn main() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let revision = git(&["-C", root, "rev-parse", "HEAD"]).unwrap_or_else(|| "unknown".into());
    // Dirty: any change to the sources (results/ is what runs write, so it does not count).
    let dirty = git(&["-C", root, "status", "--porcelain", "--", ".", ":!results"])
        .map_or("unknown".to_string(), |s| (!s.is_empty()).to_string());
    println!("cargo:rustc-env=SYNACK_GIT_REVISION={revision}");
    println!("cargo:rustc-env=SYNACK_GIT_DIRTY={dirty}");
    for watched in [
        "/.git/HEAD",
        "/.git/index",
        "/crates",
        "/experiments/src",
        "/Cargo.toml",
    ] {
        println!("cargo:rerun-if-changed={root}{watched}");
    }
}
