//! `synack run` on every shipped scenario, traces, determinism, and bad scenarios.

use std::path::{Path, PathBuf};
mod common;
use common::{scenario, scratch, synack};
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

/// A `synack run` summary: its `--json` document, and the text a person reads.
struct Summary {
    json: serde_json::Value,
    text: String,
}

impl Summary {
    /// Runs `scenario` twice, with and without `--json`.
    fn of(scenario: &Path) -> Self {
        let (code, out, err) = synack(&["run", scenario.to_str().unwrap(), "--json"]);
        assert_eq!(code, 0, "{}: {err}", scenario.display());
        let json = serde_json::from_str(&out).unwrap();
        let (code, text, err) = synack(&["run", scenario.to_str().unwrap()]);
        assert_eq!(code, 0, "{}: {err}", scenario.display());
        assert!(text.starts_with("scenario "), "{text}");
        Summary { json, text }
    }

    fn host(&self, name: &str, counter: &str) -> f64 {
        self.json["hosts"][name]["counters"][counter]
            .as_f64()
            .expect(counter)
    }

    /// An application's figure; `p50`, `p90`, `p99` are its setup times.
    fn app(&self, index: usize, field: &str) -> f64 {
        let app = &self.json["apps"][index];
        match field {
            "p50" | "p90" | "p99" => app["setup_s"][field].as_f64(),
            _ => app[field].as_f64(),
        }
        .expect(field)
    }
}

/// What each shipped scenario exists to show, checked against values derived from the
/// scenario itself.
fn check_phenomenon(name: &str, scenario: &synack_net::scenario::Scenario, s: &Summary) {
    let rtt = 2.0 * scenario.link.delay_ms / 1e3;
    let near = |a: f64, b: f64| (a - b).abs() < 1e-4;
    match name {
        // Every handshake takes one round trip, no more.
        "handshake" => {
            assert_eq!(s.app(1, "completed"), s.app(1, "attempted"));
            for p in ["p50", "p90", "p99"] {
                assert!(near(s.app(1, p), rtt), "{p} of {}", s.text);
            }
        }
        // The client, the active closer, held TIME-WAIT; the run outlasts Linux's 60 s, so
        // it is gone at the end. The server held none.
        "teardown" => {
            assert_eq!(s.host("client0", "time_wait_peak"), 1.0);
            assert_eq!(s.host("client0", "time_wait"), 0.0);
            assert_eq!(s.host("server0", "time_wait_peak"), 0.0);
        }
        "half_close" => {
            assert_eq!(s.app(1, "completed"), 1.0);
            assert_eq!(s.app(0, "responses"), 1.0);
        }
        "simultaneous" => assert!(s.text.contains("simultaneous opens 2 closes 2")),
        // Lost final ACKs make the server retransmit its SYN-ACK after its initial RTO
        // (1 s): the slow setups take that second on top of a round trip.
        "lost_final_ack" => {
            assert_eq!(s.app(1, "completed"), s.app(1, "attempted"));
            assert!(s.app(1, "p90") >= 1.0 + rtt - 1e-6, "{}", s.text);
        }
        // The SYN queue holds `backlog` half-open requests, and every SYN beyond it is
        // dropped: far more drops than the SYN queue holds, and every entry expires.
        "syn_flood" => {
            let backlog = f64::from(scenario.servers[0].backlog);
            assert!(s.host("server0", "syn_queue_drops") > 100.0 * backlog);
            assert!(s.host("server0", "half_open_expired") >= backlog);
            assert!(s.text.contains("30000 SYNs sent"));
        }
        // The TIME-WAIT peak is the whole ephemeral range, and every connect that found no
        // port was never opened: attempted = opened + port exhaustion.
        "time_wait_pileup" => {
            let [low, high] = scenario.client_tcp.ephemeral_ports.expect("a range");
            let ports = f64::from(high - low) + 1.0;
            assert_eq!(s.host("client0", "time_wait_peak"), ports);
            let (attempted, opened) = (s.app(1, "attempted"), s.host("client0", "opened"));
            assert!(s.host("client0", "port_exhaustion") > 0.0);
            assert_eq!(s.host("client0", "port_exhaustion"), attempted - opened);
            assert_eq!(s.app(1, "not_started"), attempted - opened);
            assert_eq!(s.app(1, "completed"), opened);
        }
        // The server never closes: every connection it accepted stays in CLOSE-WAIT.
        "close_wait_leak" => {
            assert!(s.host("server0", "accepted") > 0.0);
            assert_eq!(
                s.host("server0", "close_wait"),
                s.host("server0", "accepted")
            );
        }
        // The crash resets the one connection open across it; the others complete.
        "crash_reboot" => {
            assert_eq!(s.app(1, "reset"), 1.0);
            assert_eq!(s.app(1, "completed"), s.app(1, "attempted") - 1.0);
            assert_eq!(s.app(1, "refused"), 0.0);
        }
        other => panic!("scenario {other} has no expected phenomenon: add one"),
    }
}

#[test]
fn every_shipped_scenario_runs_and_shows_its_phenomenon() {
    let all = scenarios();
    assert!(all.len() >= 9, "{all:?}");
    for path in all {
        let text = std::fs::read_to_string(&path).unwrap();
        let scenario = synack_net::scenario::parse(&text).unwrap();
        let name = path.file_stem().unwrap().to_str().unwrap();
        check_phenomenon(name, &scenario, &Summary::of(&path));
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
        (
            "flood_faster_than_the_clock",
            "duration_s = 1.0\n[[flooders]]\nper_second = 3e9\n",
            "flooders[0].per_second: must be above 0 and at most 1e9 per second (the clock counts nanoseconds), got 3000000000",
        ),
        (
            "flood_stops_before_it_starts",
            "duration_s = 10.0\n[[flooders]]\nstart_s = 5.0\nstop_s = 2.0\n",
            "flooders[0].stop_s: must not come before start_s (5 s), got 2 s",
        ),
        (
            "clients_faster_than_the_clock",
            "duration_s = 1.0\n[[clients]]\n[clients.schedule]\nkind = \"rate\"\nper_second = 2e9\ncount = 5\n",
            "clients[0].schedule.per_second: must be above 0 and at most 1e9 per second (the clock counts nanoseconds), got 2000000000",
        ),
        (
            "rate_without_count",
            "duration_s = 1.0\n[[clients]]\nschedule = { kind = \"rate\", per_second = 10.0 }\n",
            "clients[0].schedule.count: required for kind \"rate\": how many connections, at least 1",
        ),
        (
            "poisson_with_times",
            "duration_s = 1.0\n[[clients]]\nschedule = { kind = \"poisson\", count = 3, times_s = [0.5] }\n",
            "clients[0].schedule.times_s: does not apply to kind \"poisson\", which takes start_s, per_second and count",
        ),
        (
            "at_with_count",
            "duration_s = 1.0\n[[clients]]\nschedule = { kind = \"at\", times_s = [0.5], count = 3 }\n",
            "clients[0].schedule.count: does not apply to kind \"at\", which takes times_s",
        ),
        (
            "at_without_times",
            "duration_s = 1.0\n[[clients]]\nschedule = { kind = \"at\" }\n",
            "clients[0].schedule.times_s: required for kind \"at\": a list of at least one time, seconds",
        ),
        (
            "zero_duration",
            "duration_s = 0.0\n",
            "duration_s: must be above 0 seconds, got 0",
        ),
        (
            "peer_pair_of_one_host",
            "duration_s = 1.0\n[[peers]]\na = \"client0\"\nb = \"client0\"\nopen_s = [0.1, 0.1]\nclose_s = [0.5, 0.5]\n",
            "peers[0].b: is the same host as a (\"client0\"): a pair needs two hosts",
        ),
        (
            "reboot_without_crash",
            "duration_s = 10.0\n[[faults]]\nkind = \"reboot\"\nhost = \"server0\"\nat_s = 2.0\n",
            "faults[0].at_s: reboots \"server0\" at 2 s, which is not down then: a reboot follows a crash of its host",
        ),
        ("truncated", "duration_s = 1.0\n[link\n", "line 2:"),
        (
            "profile",
            "duration_s = 1.0\n[server_tcp]\nprofile = \"solaris\"\n",
            "server_tcp.profile: expected one of linux",
        ),
        (
            "timer_wheel_hz",
            "duration_s = 1.0\n[client_tcp]\ntimer_wheel_hz = 64\n",
            "client_tcp.timer_wheel_hz: must be 100, 250, 300 or 1000 (CONFIG_HZ; 0 in a scenario: none), got 64",
        ),
        (
            "delayed_ack_ms",
            "duration_s = 1.0\n[server_tcp]\ndelayed_ack_ms = 600\n",
            "server_tcp.delayed_ack_ms: must be at least 0 and below 500 ms (RFC 9293 3.8.6.3), got 600",
        ),
        (
            "close_delay_ms",
            "duration_s = 1.0\n[[servers]]\nclose = \"never\"\nclose_delay_ms = 40\n",
            "servers[0].close_delay_ms: applies only to close = \"wait-for-client\" (0 otherwise), got 40 ms with close = \"never\"",
        ),
        (
            "type_in_words",
            "duration_s = 1.0\n[link]\ndelay_ms = \"5\"\n",
            "line 3: link.delay_ms: invalid type: string \"5\", expected a number",
        ),
        (
            "array_element",
            "duration_s = 1.0\n[[servers]]\nport = 80\n[[servers]]\nport = 70000\n",
            "line 5: servers[1].port: invalid value: integer `70000`, expected a whole number from 0 to 65535",
        ),
        (
            "too_long",
            "duration_s = 1e12\n",
            "duration_s: must be at most 1.8e10 seconds (simulated time ends after about 584 years), got 1000000000000",
        ),
        (
            "probability",
            "duration_s = 1.0\n[link]\nloss = 1.5\n",
            "link.loss: must be a probability in [0, 1], got 1.5",
        ),
        (
            "nan_delay",
            "duration_s = 1.0\n[link]\ndelay_ms = nan\n",
            "link.delay_ms: must be a finite number of milliseconds >= 0, got NaN",
        ),
        (
            "negative_delay",
            "duration_s = 1.0\n[link]\ndelay_ms = -3.0\n",
            "link.delay_ms: must be a finite number of milliseconds >= 0, got -3",
        ),
        (
            "server_port_zero",
            "duration_s = 1.0\n[[servers]]\nport = 0\n",
            "servers[0].port: must be a port 1-65535",
        ),
        (
            "client_port_zero",
            "duration_s = 1.0\n[[clients]]\nport = 0\n",
            "clients[0].port: must be a port 1-65535",
        ),
        (
            "own_host",
            "duration_s = 1.0\n[[clients]]\nhost = \"client0\"\nserver = \"client0\"\n",
            "clients[0].server: is the client's own host \"client0\"",
        ),
        (
            "late_fault",
            "duration_s = 10.0\n[[faults]]\nkind = \"crash\"\nhost = \"server0\"\nat_s = 20.0\n",
            "faults[0].at_s: 20 s is after the run ends (duration_s = 10 s)",
        ),
        (
            "late_times",
            "duration_s = 10.0\n[[clients]]\nschedule = { kind = \"at\", times_s = [1.0, 12.0] }\n",
            "clients[0].schedule.times_s: 12 s is after the run ends (duration_s = 10 s)",
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

/// SIGTERM (or SIGINT) mid-run: one line, exit code 130, and no file left in --out, not
/// even a temporary one.
#[test]
fn an_interrupted_run_leaves_no_file() {
    let dir = scratch("interrupted");
    std::fs::create_dir_all(&dir).unwrap();
    let long = dir.join("long.toml");
    std::fs::write(
        &long,
        "duration_s = 1000.0\n[[servers]]\n[[clients]]\nschedule = { kind = \"rate\", start_s = 0.0, per_second = 100000.0, count = 100000000 }\n",
    )
    .unwrap();
    let out = dir.join("out");
    let child = Command::new(env!("CARGO_BIN_EXE_synack"))
        .args(["run", long.to_str().unwrap(), "--trace", "--pcap"])
        .arg("--out")
        .arg(&out)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the run is writing its traces (at most a minute on a loaded machine).
    let segments = out.join("segments.csv.tmp");
    for _ in 0..600 {
        if segments.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(segments.exists(), "the run began its trace");
    let kill = format!("kill -TERM {}", child.id());
    assert!(
        Command::new("sh")
            .args(["-c", &kill])
            .status()
            .unwrap()
            .success()
    );
    let done = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&done.stderr);
    assert_eq!(done.status.code(), Some(130), "{err}");
    assert_eq!(err.trim(), "synack: interrupted; no trace written");
    let left: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// The summary is aligned tables (every row of a table as wide as its header), names each
/// client's host, counts what is still in progress, and takes a census of sockets; --json
/// has the same figures.
#[test]
fn run_summary_is_aligned_and_counts_sockets_and_attempts_in_progress() {
    // The teardown's one SYN leaves at 1 s on a 5 ms link: at 1.007 s the SYN-ACK is on its
    // way, so the client is in SYN-SENT and the server in SYN-RECEIVED.
    let teardown = scenario("teardown");
    let (code, text, err) = synack(&["run", teardown.to_str().unwrap(), "--until", "1.007"]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = text.lines().collect();
    let table = |first: &str| -> Vec<&str> {
        let start = lines
            .iter()
            .position(|l| l.starts_with(first))
            .expect(first);
        lines[start..]
            .iter()
            .take_while(|l| !l.starts_with('('))
            .copied()
            .take(3)
            .collect()
    };
    for first in ["host ", "sockets at the end ", "app "] {
        let rows = table(first);
        assert!(rows.len() >= 2, "{text}");
        assert!(
            rows.iter().all(|r| r.len() == rows[0].len()),
            "not aligned:\n{text}"
        );
    }
    let census = table("sockets at the end ");
    let header: Vec<&str> = census[0]
        .split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(
        header,
        ["sockets at the end", "LISTEN", "SYN-SENT", "SYN-RECEIVED"],
        "{text}"
    );
    let client: Vec<&str> = census[1].split_whitespace().collect();
    assert_eq!(client, ["client0", "0", "1", "0"], "{text}");
    let server: Vec<&str> = census[2].split_whitespace().collect();
    assert_eq!(server, ["server0", "1", "0", "1"], "{text}");
    let (_, json, _) = synack(&[
        "run",
        teardown.to_str().unwrap(),
        "--until",
        "1.007",
        "--json",
    ]);
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    let client = &json["apps"][1];
    assert_eq!(
        (client["host"].as_str(), client["handshaking"].as_u64()),
        (Some("client0"), Some(1))
    );
    assert_eq!(json["hosts"]["server0"]["sockets"]["SYN-RECEIVED"], 1);
    // At 30 s the client holds TIME-WAIT; at 70 s (the scenario's end) it has expired.
    let (_, json, _) = synack(&["run", teardown.to_str().unwrap(), "--until", "30", "--json"]);
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["hosts"]["client0"]["sockets"]["TIME-WAIT"], 1);
    let (_, json, _) = synack(&["run", teardown.to_str().unwrap(), "--json"]);
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["hosts"]["client0"]["sockets"], serde_json::json!({}));
}

#[test]
fn json_reports_every_host_counter_closed_included() {
    // HostCounters::named destructures every field, so this list is all of them.
    let mut names: Vec<&str> = synack_tcp::host::HostCounters::default()
        .named()
        .iter()
        .map(|(name, _)| *name)
        .collect();
    names.sort_unstable();
    assert!(names.contains(&"closed"));
    let s = Summary::of(&scenario("teardown"));
    let hosts = s.json["hosts"].as_object().expect("hosts");
    assert!(!hosts.is_empty());
    let mut closed = 0.0;
    for (host, value) in hosts {
        let counters = value["counters"].as_object().expect("counters");
        let mut keys: Vec<&str> = counters.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, names, "{host}");
        closed += s.host(host, "closed");
    }
    assert!(closed > 0.0, "a teardown closes connections cleanly");
}
