//! `synack run` on every shipped scenario, traces, determinism, and bad scenarios.

use std::path::{Path, PathBuf};
mod common;
use common::synack;
use std::process::Command;

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

/// A shipped scenario by name.
fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../experiments/scenarios/{name}.toml"))
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("synack-run-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// What each shipped scenario exists to show, as lines its summary must contain.
fn phenomenon(scenario: &str) -> &'static [&'static str] {
    // Columns: host opened accepted refused reset timed_out half_open_expired syn_queue_drops
    // accept_queue_drops cookies_sent cookies_validated cookies_rejected time_wait
    // time_wait_peak time_wait_skipped port_exhaustion close_wait syn_rate_limited
    // misdelivered_connections misdelivered_bytes.
    match scenario {
        "handshake" => &[
            "completed 10 ",
            "setup p50 0.020000 s p90 0.020000 s p99 0.020000 s",
        ],
        // The client holds TIME-WAIT; 70 s is past Linux's 60 s, so it is gone at the end.
        "teardown" => &["client0\t1\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\t1\t"],
        "half_close" => &["completed 1 ", "responses 1 "],
        "simultaneous" => &["simultaneous opens 2 closes 2"],
        // Lost final ACKs make LAST-ACK retransmit FINs: setups stretch past one RTT.
        "lost_final_ack" => &["completed 50 ", "p90 2.010000 s"],
        // Half-open entries fill the SYN queue (128) and SYNs are dropped.
        "syn_flood" => &["server0\t0\t20\t0\t0\t0\t128\t30072\t", "30000 SYNs sent"],
        // 10,000 ports, 60 s of TIME-WAIT: the peak is the port range, then connects fail.
        "time_wait_pileup" => &[
            "client0\t11998\t",
            "\t10000\t0\t2002\t0\t0\t0\t0\n",
            "completed 11998 ",
        ],
        "close_wait_leak" => &["server0\t0\t200\t", "\t200\t0\t0\t0\n"],
        "crash_reboot" => &["completed 3 refused 0 reset 1 "],
        other => panic!("scenario {other} has no expected phenomenon: add one"),
    }
}

#[test]
fn every_shipped_scenario_runs_and_shows_its_phenomenon() {
    let all = scenarios();
    assert!(all.len() >= 9, "{all:?}");
    for s in all {
        let (code, out, err) = synack(&["run", s.to_str().unwrap()]);
        assert_eq!(code, 0, "{}: {err}", s.display());
        assert!(out.starts_with("scenario "), "{out}");
        for needle in phenomenon(s.file_stem().unwrap().to_str().unwrap()) {
            assert!(
                out.contains(needle),
                "{}: no {needle:?} in\n{out}",
                s.display()
            );
        }
    }
}

#[test]
fn traces_and_pcap_are_byte_identical_for_the_same_seed() {
    let lossy = scenario("lost_final_ack");
    let run = |name: &str| {
        let dir = scratch(name);
        let (code, _, err) = synack(&[
            "run",
            lossy.to_str().unwrap(),
            "--trace",
            "--pcap",
            "--out",
            dir.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{err}");
        let read = |f: &str| std::fs::read(dir.join(f)).unwrap();
        (
            read("segments.csv"),
            read("transitions.csv"),
            read("link0.pcap"),
        )
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
            "nan_delay",
            "duration_s = 1.0\n[link]\ndelay_ms = nan\n",
            "link.delay_ms: must be a finite number of seconds >= 0, got NaN",
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
            "sizes",
            "duration_s = 1.0\n[[servers]]\n[[clients]]\nrequest_bytes = 100\n",
            "clients[0].request_bytes: is 100 but servers[0].request_bytes is 1000",
        ),
        (
            "source_port",
            "duration_s = 1.0\n[[clients]]\nsource_port = 0\n",
            "clients[0].source_port: must be a port 1-65535, or unset",
        ),
        (
            "arrivals",
            "duration_s = 1.0\n[[flooders]]\narrivals = \"bursty\"\n",
            "flooders[0].arrivals: expected one of constant, poisson",
        ),
        (
            "close",
            "duration_s = 1.0\n[[clients]]\nclose = \"never\"\n",
            "clients[0].close: expected one of active, passive, linger-zero",
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

/// Retransmissions the simulator made, from segments.csv: sent segments with SYN, FIN or
/// data whose sequence range their flow had already sent.
fn retransmissions_in(segments_csv: &str) -> usize {
    use std::collections::HashMap;
    let mut max_end: HashMap<(String, String, String, String), u32> = HashMap::new();
    let mut count = 0;
    for line in segments_csv.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        if f[11] != "sent" {
            continue;
        }
        let (seq, len): (u32, u32) = (f[8].parse().unwrap(), f[10].parse().unwrap());
        let seg_len = len + u32::from(f[7].contains('S')) + u32::from(f[7].contains('F'));
        if seg_len == 0 {
            continue;
        }
        let flow = (
            f[3].to_string(),
            f[4].to_string(),
            f[5].to_string(),
            f[6].to_string(),
        );
        let end = seq.wrapping_add(seg_len);
        match max_end.get(&flow) {
            Some(&m) if (seq.wrapping_sub(m) as i32) < 0 => {
                count += 1;
                if (end.wrapping_sub(m) as i32) > 0 {
                    max_end.insert(flow, end);
                }
            }
            _ => {
                max_end.insert(flow, end);
            }
        }
    }
    count
}

fn tshark_count(pcap: &Path, filter: &str) -> usize {
    let out = Command::new("tshark")
        .args(["-r", pcap.to_str().unwrap(), "-Y", filter])
        .output()
        .expect("tshark is installed (.ci/run installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().lines().count()
}

#[test]
fn tshark_decodes_every_packet_and_flags_exactly_our_retransmissions() {
    let lossy = scenario("lost_final_ack");
    let dir = scratch("pcap");
    let (code, _, err) = synack(&[
        "run",
        lossy.to_str().unwrap(),
        "--trace",
        "--pcap",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let pcap = dir.join("link0.pcap");
    assert!(tshark_count(&pcap, "tcp") > 500);
    assert_eq!(
        tshark_count(&pcap, "_ws.malformed || _ws.expert.severity >= warning"),
        0
    );
    let expected = retransmissions_in(&std::fs::read_to_string(dir.join("segments.csv")).unwrap());
    assert!(
        expected > 50,
        "a 20% lossy link makes retransmissions: {expected}"
    );
    let flagged = tshark_count(
        &pcap,
        "tcp.analysis.retransmission || tcp.analysis.fast_retransmission || tcp.analysis.spurious_retransmission",
    );
    assert_eq!(flagged, expected);
}

#[test]
fn diagram_draws_the_handshake_and_teardown_and_refuses_other_topologies() {
    let teardown = scenario("teardown");
    let dir = scratch("diagram");
    let (code, _, err) = synack(&[
        "run",
        teardown.to_str().unwrap(),
        "--diagram",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let svg = std::fs::read_to_string(dir.join("diagram.svg")).unwrap();
    assert!(svg.starts_with("<svg"));
    for needle in [
        ">client0<",
        ">server0<",
        ">SYN seq=0<",
        ">SYN,ACK seq=0 ack=1<",
        ">ACK seq=1 ack=1<",
        ">FIN,ACK seq=1001 ack=1001<",
        ">SYN-SENT<",
        ">SYN-RECEIVED<",
        ">FIN-WAIT-2<",
        ">CLOSE-WAIT<",
        ">LAST-ACK<",
        ">TIME-WAIT<",
    ] {
        assert!(svg.contains(needle), "missing {needle}");
    }
    let star = scenario("crash_reboot");
    let (code, _, err) = synack(&[
        "run",
        star.to_str().unwrap(),
        "--diagram",
        "--out",
        scratch("star").to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("is not a point-to-point scenario"), "{err}");
}
