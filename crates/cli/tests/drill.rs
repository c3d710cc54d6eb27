//! Every drill script passes against the model (with its profile, for those in a profile's
//! directory), and failures and bad scripts are reported as the issue asks.

use std::path::{Path, PathBuf};
mod common;
use common::synack;

fn drill(args: &[&str], scripts: &[PathBuf]) -> (i32, String, String) {
    let mut all = vec!["drill"];
    all.extend_from_slice(args);
    all.extend(scripts.iter().map(|s| s.to_str().unwrap()));
    synack(&all)
}

fn scripts_in(dir: &Path) -> Vec<PathBuf> {
    let mut scripts: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pkt"))
        .collect();
    scripts.sort();
    scripts
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/drill")
}

#[test]
fn every_linux_script_passes() {
    let scripts = scripts_in(&root());
    assert!(scripts.len() >= 20, "{} scripts", scripts.len());
    let (code, out, err) = drill(&[], &scripts);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        out.lines().filter(|l| l.starts_with("PASS ")).count(),
        scripts.len(),
        "{out}"
    );
}

#[test]
fn profile_scripts_pass_with_their_profile_only() {
    for profile in ["macos", "windows"] {
        let scripts = scripts_in(&root().join(profile));
        let (code, out, _) = drill(&["--profile", profile], &scripts);
        assert_eq!(code, 0, "{profile}: {out}");
        let (code, out, _) = drill(&["--profile", "linux"], &scripts);
        assert_eq!(code, 1, "{profile} scripts must fail on linux: {out}");
    }
}

fn scratch(name: &str, text: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("synack-drill-{}-{name}.pkt", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_mismatch_reports_the_line_expected_actual_and_time() {
    let script = scratch(
        "mismatch",
        "`sysctl -q net.ipv4.tcp_timestamps=0`\n\
         0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n\
         +0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0\n\
         +0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)\n\
         0 > S 0:0(0) <...>\n\
         2 > S 0:0(0) <...>\n",
    );
    let (code, out, _) = drill(&[], std::slice::from_ref(&script));
    assert_eq!(code, 1);
    assert!(
        out.contains("line 6 at 1.000000s: expected > S 0:0(0) at 2.000000s, got it at 1.000000s"),
        "{out}"
    );
    let unexpected = scratch(
        "unexpected",
        "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n\
         +0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0\n\
         +0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)\n\
         0.5 close(3) = 0\n",
    );
    let (code, out, _) = drill(&[], std::slice::from_ref(&unexpected));
    assert_eq!(code, 1);
    assert!(
        out.contains("line 4 at 0.000000s: expected no outbound segment before this line, got > S"),
        "{out}"
    );
}

#[test]
fn unsupported_syntax_and_unknown_settings_are_errors_naming_the_line() {
    for (name, text, needle) in [
        ("flags", "0 < SEW 0:0(0)\n", "line 1: unsupported flags"),
        (
            "backtick",
            "\n`ip link set dev tun0 up`\n",
            "line 2: unsupported command",
        ),
        (
            "sysctl",
            "`sysctl -q net.ipv4.tcp_ecn=1`\n",
            "line 1: unsupported sysctl tcp_ecn",
        ),
        (
            "value",
            "`sysctl -q net.ipv4.tcp_syncookies=7`\n",
            "line 1: sysctl tcp_syncookies=7: expected 0, 1 or 2",
        ),
    ] {
        let script = scratch(name, text);
        let (code, out, err) = drill(&[], &[script]);
        assert_eq!(code, 2, "{name}: {out}{err}");
        assert_eq!(err.lines().count(), 1, "{name}: {err}");
        assert!(err.contains(needle), "{name}: {err}");
    }
    let (code, _, err) = drill(&["--profile", "solaris"], &scripts_in(&root()));
    assert_eq!(code, 2);
    assert!(
        err.contains("--profile solaris: expected one of linux, linux-classic"),
        "{err}"
    );
}
