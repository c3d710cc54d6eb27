//! `synack run` on every shipped scenario, traces, determinism, and bad scenarios.

use std::path::{Path, PathBuf};
use std::process::Command;

fn synack(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_synack"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn scenarios() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../experiments/scenarios");
    let mut all: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    all.retain(|p| p.extension().is_some_and(|e| e == "toml"));
    all.sort();
    all
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("synack-run-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn every_shipped_scenario_runs() {
    let all = scenarios();
    assert!(all.len() >= 8, "{all:?}");
    for s in all {
        let (code, out, err) = synack(&["run", s.to_str().unwrap()]);
        assert_eq!(code, 0, "{}: {err}", s.display());
        assert!(out.starts_with("scenario "), "{out}");
        assert!(out.contains("client: attempted"), "{out}");
    }
}

#[test]
fn traces_are_byte_identical_for_the_same_seed() {
    let lossy = scenarios()
        .into_iter()
        .find(|p| p.ends_with("lost_final_ack.toml"))
        .unwrap();
    let run = |name: &str| {
        let dir = scratch(name);
        let (code, _, err) = synack(&[
            "run",
            lossy.to_str().unwrap(),
            "--trace",
            "--out",
            dir.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{err}");
        let read = |f: &str| std::fs::read(dir.join(f)).unwrap();
        (read("segments.csv"), read("transitions.csv"))
    };
    let (a, b) = (run("a"), run("b"));
    assert_eq!(a, b);
    let segments = String::from_utf8(a.0).unwrap();
    assert!(
        segments.starts_with("time_s,link,way,src,dst,src_port,dst_port,flags,seq,ack,len,fate\n")
    );
    assert!(
        segments.contains(",dropped:random_loss\n"),
        "a 20% lossy link drops something"
    );
    let transitions = String::from_utf8(a.1).unwrap();
    assert!(transitions.contains(",LAST-ACK,CLOSED,"), "{transitions}");
}

#[test]
fn bad_scenarios_are_one_line_naming_the_field_with_exit_2_and_no_trace() {
    let cases = [
        (
            "unknown_key",
            "duration_s = 1.0\ncolour = \"red\"\n",
            "line 2: unknown field `colour`",
        ),
        ("truncated", "duration_s = 1.0\n[link\n", "line 2:"),
        (
            "profile",
            "duration_s = 1.0\n[server_tcp]\nprofile = \"solaris\"\n",
            "server_tcp.profile: expected one of linux",
        ),
        (
            "probability",
            "duration_s = 1.0\n[link]\nloss = 1.5\n",
            "link.loss: must be a probability in [0, 1], got 1.5",
        ),
        (
            "negative_delay",
            "duration_s = 1.0\n[link]\ndelay_ms = -3.0\n",
            "link.delay_ms: must be a finite number of seconds >= 0",
        ),
        (
            "host",
            "duration_s = 1.0\n[[clients]]\nhost = \"nobody\"\n",
            "clients[0].host: no host \"nobody\"",
        ),
        (
            "backlog",
            "duration_s = 1.0\n[[servers]]\nbacklog = 0\n",
            "servers[0].backlog: must be at least 1",
        ),
        (
            "ports",
            "duration_s = 1.0\n[client_tcp]\nephemeral_ports = [60000, 50000]\n",
            "client_tcp.ephemeral_ports: must be a range",
        ),
        ("missing", "seed = 3\n", "missing field `duration_s`"),
    ];
    for (name, text, needle) in cases {
        let dir = scratch(name);
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("s.toml");
        std::fs::write(&file, text).unwrap();
        let out = dir.join("trace");
        let (code, stdout, err) = synack(&[
            "run",
            file.to_str().unwrap(),
            "--trace",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(code, 2, "{name}: {stdout}{err}");
        assert_eq!(err.lines().count(), 1, "{name}: {err}");
        assert!(err.contains(needle), "{name}: {err}");
        assert!(!out.exists(), "{name} left a trace behind");
    }
}
