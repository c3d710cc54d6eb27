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
    // The same scripts pass on this machine's kernel: .ci/run runs them there too.
    let scripts = scripts_in(&root().join("linux"));
    assert!(scripts.len() >= 60, "{} scripts", scripts.len());
    // The corpus lists every segment Linux sends, so it runs under the stricter rules.
    let (code, out, err) = drill(&["--strict"], &scripts);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        out.lines().filter(|l| l.starts_with("PASS ")).count(),
        scripts.len(),
        "{out}"
    );
}

#[test]
fn profile_scripts_pass_with_their_profile_only() {
    for profile in ["freebsd", "macos", "windows"] {
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
        out.contains(
            "line 6 at 1.024000s: expected > S 0:0(0) <...> at 2.000000s, got it at 1.024000s"
        ),
        "{out}"
    );
    let unexpected = scratch(
        "unexpected",
        "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n\
         +0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0\n\
         +0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)\n\
         0.5 close(3) = 0\n",
    );
    let (code, out, _) = drill(&["--strict"], std::slice::from_ref(&unexpected));
    assert_eq!(code, 1);
    assert!(
        out.contains("line 4 at 0.000000s: expected no outbound segment before this line, got > S"),
        "{out}"
    );
    // packetdrill itself does not look for segments no line expects.
    let (code, out, _) = drill(&[], std::slice::from_ref(&unexpected));
    assert_eq!(code, 0, "{out}");
}

#[test]
fn unsupported_syntax_and_unknown_settings_are_errors_naming_the_line() {
    for (name, text, needle) in [
        ("flags", "0 < SEX 0:0(0)\n", "line 1: unsupported flags"),
        (
            "backtick",
            "\n`rm -rf /`\n",
            "line 2: unsupported command `rm`",
        ),
        (
            "sysctl",
            "`sysctl -q net.ipv4.tcp_bogus=1`\n",
            "line 1: unsupported sysctl net.ipv4.tcp_bogus: Linux 6.18 has no such knob",
        ),
        (
            "two_inits",
            "`sysctl -q net.ipv4.tcp_sack=1`\n`sysctl -q net.ipv4.tcp_sack=0`\n",
            "line 2: a second init command",
        ),
        (
            "option",
            "--frobnicate=1\n",
            "line 1: unsupported option --frobnicate",
        ),
        (
            "tolerance_percent",
            "--tolerance_percent=150\n",
            "line 1: --tolerance_percent=150: expected a percentage in [0, 100]",
        ),
        (
            "value",
            "`sysctl -q net.ipv4.tcp_syncookies=7`\n",
            "line 1: sysctl net.ipv4.tcp_syncookies=7: expected 0, 1 or 2",
        ),
    ] {
        let script = scratch(name, text);
        let (code, out, err) = drill(&[], &[script]);
        assert_eq!(code, 2, "{name}: {out}{err}");
        assert_eq!(err.lines().count(), 1, "{name}: {err}");
        assert!(err.contains(needle), "{name}: {err}");
    }
    let (code, _, err) = drill(
        &["--profile", "solaris"],
        &scripts_in(&root().join("linux")),
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("--profile solaris: expected one of linux, linux-classic"),
        "{err}"
    );
}

#[test]
fn knobs_with_no_effect_in_the_model_are_listed_not_dropped() {
    let script = scratch(
        "not_modelled",
        "--mtu=1500\n\
         `sysctl -q net.ipv4.tcp_congestion_control=cubic; tc qdisc add dev tun0 root pfifo`\n\
         0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n\
         +0 `sysctl -q net.ipv4.tcp_ecn=1`\n",
    );
    let (code, out, err) = drill(&[], &[script]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(
            "  ignored (no effect in the model): --mtu=1500; `tc qdisc add dev tun0 root pfifo`; \
             net.ipv4.tcp_congestion_control=cubic; net.ipv4.tcp_ecn=1"
        ),
        "{out}"
    );
}

#[test]
fn a_shell_script_named_in_backticks_is_read_for_its_sysctls() {
    let dir = std::env::temp_dir().join(format!("synack-drill-sh-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("common")).unwrap();
    std::fs::create_dir_all(dir.join("close")).unwrap();
    std::fs::write(
        dir.join("common/defaults.sh"),
        "#!/bin/bash\nsysctl -q net.ipv4.tcp_syn_retries=1\nsysctl -q net.ipv4.tcp_syn_linear_timeouts=0\n",
    )
    .unwrap();
    let script = dir.join("close/one_retry.pkt");
    // With tcp_syn_retries=1 from the shell script: SYNs at 0 and 1 s, ETIMEDOUT at 3 s.
    std::fs::write(
        &script,
        "`../common/defaults.sh`\n\
         0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n\
         0...3 connect(3, ..., ...) = -1 ETIMEDOUT (Connection timed out)\n\
         0 > S 0:0(0) <...>\n\
         1 > S 0:0(0) <...>\n\
         4 close(3) = 0\n",
    )
    .unwrap();
    let (code, out, err) = drill(&[], &[script]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn a_blocking_call_that_never_returns_fails_at_its_end() {
    let script = scratch(
        "still_blocks",
        "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n\
         0...0.5 connect(3, ..., ...) = 0\n\
         0 > S 0:0(0) <...>\n\
         2 close(3) = 0\n",
    );
    let (code, out, _) = drill(&[], &[script]);
    assert_eq!(code, 1);
    assert!(
        out.contains(
            "line 2 at 0.562500s: expected connect to return by 0.500000s, got it still blocks"
        ),
        "{out}"
    );
}

#[test]
fn a_relative_blocking_call_ends_counting_from_the_previous_event() {
    // packetdrill: `+0.1...0.3` starts 0.1 s and ends 0.3 s after the previous event. The
    // SYN-ACK at 1.2 s lets connect() return then: 1.0 + 0.2 would be too early, and
    // 0.3 s absolute long gone.
    let script = scratch(
        "relative_end",
        "`sysctl -q net.ipv4.tcp_timestamps=0`\n\
         0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n\
         1 fcntl(3, F_GETFL) = 0x2\n\
         +0.1...0.3 connect(3, ..., ...) = 0\n\
         1.1 > S 0:0(0) <...>\n\
         1.3 < S. 0:0(0) ack 1 win 65535 <mss 1460>\n\
         1.3 > . 1:1(0) ack 1\n\
         2 close(3) = 0\n\
         2 > F. 1:1(0) ack 1\n",
    );
    let (code, out, err) = drill(&[], &[script]);
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn a_segment_of_the_same_instant_may_be_listed_after_a_call() {
    // Linux ACKs the data at once; the script reads it first, then lists the ACK, as
    // upstream blocking-accept.pkt does (packetdrill accepts either order).
    let script = scratch(
        "same_instant",
        "`sysctl -q net.ipv4.tcp_timestamps=0`\n\
         0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n\
         +0 bind(3, ..., ...) = 0\n\
         +0 listen(3, 1) = 0\n\
         +0 < S 0:0(0) win 65535 <mss 1460>\n\
         +0 > S. 0:0(0) ack 1 <...>\n\
         +.1 < . 1:1(0) ack 1 win 65535\n\
         +0 accept(3, ..., ...) = 4\n\
         +.1 < P. 1:11(10) ack 1 win 65535\n\
         +0 read(4, ..., 10) = 10\n\
         +0 > . 1:1(0) ack 11\n",
    );
    let (code, out, err) = drill(&[], &[script]);
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn a_sockstat_count_that_does_not_match_fails_its_line() {
    let script = scratch(
        "sockstat",
        "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n\
         +0 bind(3, ..., ...) = 0\n\
         +0 listen(3, 1) = 0\n\
         +0 `sockstat -4 -P tcp -s -p 8080 | grep -c LISTEN | grep 1`\n\
         +0 `sockstat -4 -P tcp -s -p 8080 | grep -c SYN_RCVD | grep 1`\n",
    );
    let (code, out, _) = drill(&["--profile", "freebsd"], std::slice::from_ref(&script));
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("line 5 at 0.000000s: expected `sockstat -4 -P tcp -s -p 8080 | grep -c SYN_RCVD | grep 1` to succeed, got its last grep matched nothing (exit 1)"),
        "{out}"
    );
    let bad = scratch("sockstat-bad", "0 `sockstat -u`\n");
    let (code, out, _) = drill(&["--profile", "freebsd"], std::slice::from_ref(&bad));
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("sockstat -u: expected -4, -N, -s, -P tcp or -p PORT"),
        "{out}"
    );
}
