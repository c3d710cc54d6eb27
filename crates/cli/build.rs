//! Puts the git revision into `synack --version`, or "unknown revision" outside a clone.

use std::process::Command;

fn main() {
    let revision = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|out| out.status.success())
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map(|rev| rev.trim().to_string())
        .filter(|rev| !rev.is_empty())
        .unwrap_or_else(|| "unknown revision".into());
    println!("cargo:rustc-env=SYNACK_REVISION={revision}");
    // A new commit changes HEAD's ref, or HEAD itself when detached.
    // Only paths that exist: Cargo reruns a script whose watched path is missing every time.
    println!("cargo:rerun-if-changed=build.rs");
    for path in [
        "../../.git/HEAD",
        "../../.git/refs/heads",
        "../../.git/packed-refs",
    ] {
        if std::path::Path::new(path).exists() {
            println!("cargo:rerun-if-changed={path}");
        }
    }
}
