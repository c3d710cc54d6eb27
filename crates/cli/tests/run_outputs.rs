//! `synack run`'s outputs beside the summary: pcaps (decoded by tshark), traces, and the
//! sequence diagram.

use std::collections::BTreeMap;
use std::path::Path;
mod common;
use common::{scenario, scratch, synack};
use std::process::Command;

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
        // The server closes on the client's FIN, within Linux's delayed-ACK timeout: its FIN
        // carries the ACK, and the client goes from FIN-WAIT-1 straight to TIME-WAIT.
        ">FIN-WAIT-1<",
        ">CLOSE-WAIT<",
        ">LAST-ACK<",
        ">TIME-WAIT<",
    ] {
        assert!(svg.contains(needle), "missing {needle}");
    }
    // Ten connections: each one's numbers count from its own SYN, so every SYN and SYN-ACK
    // reads seq=0 and no raw ISN appears.
    let dir = scratch("diagram-handshake");
    let (code, _, err) = synack(&[
        "run",
        scenario("handshake").to_str().unwrap(),
        "--diagram",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let svg = std::fs::read_to_string(dir.join("diagram.svg")).unwrap();
    let numbers: Vec<u64> = svg
        .split("seq=")
        .skip(1)
        .map(|rest| {
            rest.split(|c: char| !c.is_ascii_digit())
                .next()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert_eq!(
        numbers.iter().filter(|&&n| n == 0).count(),
        20,
        "{numbers:?}"
    );
    assert!(numbers.iter().all(|&n| n < 1_000_000), "{numbers:?}");
    let star = scenario("crash_reboot");
    let (code, _, err) = synack(&[
        "run",
        star.to_str().unwrap(),
        "--diagram",
        "--out",
        scratch("star").to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("a diagram draws one link between two hosts"),
        "{err}"
    );
    // A flood's attacker has a link of its own: the reason is named, and the traces asked
    // for beside the diagram are not begun.
    let out = scratch("flood");
    let (code, _, err) = synack(&[
        "run",
        scenario("syn_flood").to_str().unwrap(),
        "--trace",
        "--pcap",
        "--diagram",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("has 2 links (link0, attacker)"), "{err}");
    assert!(
        !out.exists(),
        "{:?}",
        std::fs::read_dir(&out).map(|d| d.count())
    );
}

/// A run that sends nothing still writes the pcap it names (a header, no packets), and a
/// client that never connected says so instead of printing NaN percentiles.
#[test]
fn pcap_files_are_named_and_written_even_without_traffic() {
    let dir = scratch("quiet");
    std::fs::create_dir_all(&dir).unwrap();
    let quiet = dir.join("quiet.toml");
    std::fs::write(&quiet, "duration_s = 1.0\n[[servers]]\n").unwrap();
    let out = dir.join("out");
    let (code, stdout, err) = synack(&[
        "run",
        quiet.to_str().unwrap(),
        "--pcap",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let named = format!("pcap: {}/link0.pcap\n", out.display());
    assert!(stdout.contains(&named), "{stdout}");
    // The pcap global header alone: 24 bytes.
    assert_eq!(std::fs::read(out.join("link0.pcap")).unwrap().len(), 24);
    let refused = dir.join("refused.toml");
    std::fs::write(
        &refused,
        "duration_s = 1.0\n[[clients]]\nport = 81\nschedule = { kind = \"at\", times_s = [0.5] }\n",
    )
    .unwrap();
    let (code, stdout, err) = synack(&["run", refused.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let client = stdout.lines().find(|l| l.starts_with("app 0")).unwrap();
    let cells: Vec<&str> = client.split_whitespace().collect();
    // "app 0", client0, attempted 1, not_started 0, connected 0, completed 0, refused 1,
    // ..., and no setup times.
    assert_eq!(
        cells[2..8],
        ["client0", "1", "0", "0", "0", "1"],
        "{stdout}"
    );
    assert_eq!(cells[cells.len() - 3..], ["-", "-", "-"], "{stdout}");
    assert!(!stdout.contains("NaN"), "{stdout}");
}

/// The rows of a `transitions.csv`: time, host, local, remote, from, to, cause.
fn transitions(dir: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(dir.join("transitions.csv")).unwrap();
    let rows = text.lines().skip(1);
    rows.map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

/// TIME-WAIT's end and a crash are state changes like any other: in the trace, with their
/// causes, and in the diagram.
#[test]
fn traces_record_time_wait_expiry_and_crash() {
    let dir = scratch("tw-expiry");
    let teardown = scenario("teardown");
    let (code, _, err) = synack(&[
        "run",
        teardown.to_str().unwrap(),
        "--trace",
        "--diagram",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let rows = transitions(&dir);
    let entered = rows
        .iter()
        .find(|r| r[5] == "TIME-WAIT")
        .expect("TIME-WAIT entered");
    let ended = rows
        .iter()
        .find(|r| r[4] == "TIME-WAIT")
        .expect("TIME-WAIT ended");
    // Linux's TIME-WAIT lasts 60 s (TCP_TIMEWAIT_LEN), the teardown scenario's profile.
    let entered_s: f64 = entered[0].parse().unwrap();
    let ended_s: f64 = ended[0].parse().unwrap();
    assert!(
        (ended_s - entered_s - 60.0).abs() < 1e-9,
        "{entered:?} {ended:?}"
    );
    assert_eq!(
        ended[1..],
        [
            &entered[1],
            &entered[2],
            &entered[3],
            "TIME-WAIT",
            "CLOSED",
            "TimeWaitExpired"
        ]
    );
    let svg = std::fs::read_to_string(dir.join("diagram.svg")).unwrap();
    assert!(svg.contains(">CLOSED (TIME-WAIT over)<"), "{svg}");

    // The crash at 5 s ends every socket server0 then had, from the state it was in.
    let dir = scratch("crash");
    let crash = scenario("crash_reboot");
    let (code, _, err) = synack(&[
        "run",
        crash.to_str().unwrap(),
        "--trace",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let rows = transitions(&dir);
    let mut open_at_crash = BTreeMap::new();
    let before = |r: &&Vec<String>| r[1] == "server0" && r[0].parse::<f64>().unwrap() < 5.0;
    for r in rows.iter().filter(before) {
        open_at_crash.insert((r[2].clone(), r[3].clone()), r[5].clone());
    }
    open_at_crash.retain(|_, state| state != "CLOSED");
    let crashed: BTreeMap<_, _> = rows
        .iter()
        .filter(|r| r[6] == "Crash")
        .map(|r| {
            assert_eq!(
                (r[0].as_str(), r[1].as_str(), r[5].as_str()),
                ("5.000000000", "server0", "CLOSED")
            );
            ((r[2].clone(), r[3].clone()), r[4].clone())
        })
        .collect();
    assert!(!crashed.is_empty());
    assert_eq!(crashed, open_at_crash);
}

/// A long run's diagram stays a picture: the first connections, bursts collapsed, the
/// port on each label; or one connection by port.
#[test]
fn diagram_of_a_long_run_is_bounded_collapsed_and_chosen_by_port() {
    let dir = scratch("diagram-pileup");
    let pileup = scenario("time_wait_pileup");
    let (code, _, err) = synack(&[
        "run",
        pileup.to_str().unwrap(),
        "--diagram",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let svg = std::fs::read_to_string(dir.join("diagram.svg")).unwrap();
    let height: f64 = svg
        .split("height=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .parse()
        .unwrap();
    // Ten connections of about ten segments each, at 26 px a row.
    assert!(height < 10_000.0, "{height} px");
    assert!(
        svg.contains(" connections drawn (--diagram-first N"),
        "a note says what is left out"
    );
    assert_eq!(svg.matches(">:50080 SYN seq=0<").count(), 1);
    assert_eq!(svg.matches("SYN seq=0<").count(), 10);
    assert!(svg.contains(">:50080 CLOSED (TIME-WAIT over)<"));

    // The half-close's 1 MB is collapsed, and its end (the server's FIN) is drawn.
    let dir = scratch("diagram-half-close");
    let half_close = scenario("half_close");
    let (code, _, err) = synack(&[
        "run",
        half_close.to_str().unwrap(),
        "--diagram",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let svg = std::fs::read_to_string(dir.join("diagram.svg")).unwrap();
    assert!(svg.contains(" segments …<"));
    assert!(svg.contains(">FIN,ACK seq=1000001 ack=1002<"));
    assert!(svg.contains(">LAST-ACK<") && svg.contains(">TIME-WAIT<"));
    assert!(!svg.contains("cut after"));

    let dir = scratch("diagram-port");
    let (code, _, err) = synack(&[
        "run",
        pileup.to_str().unwrap(),
        "--diagram-port",
        "50081",
        "--until",
        "30",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let svg = std::fs::read_to_string(dir.join("diagram.svg")).unwrap();
    assert_eq!(svg.matches("SYN seq=0<").count(), 1);
    assert!(svg.contains("(1 of "), "{svg}");
    let (code, _, err) = synack(&["run", pileup.to_str().unwrap(), "--diagram-first", "0"]);
    assert_eq!((code, err.lines().count()), (2, 1), "{err}");
}

/// Without --out, traces go to synack-run/<scenario name> in the current directory, not into
/// the clone's results/; a reused --out that holds another run's trace files says so.
#[test]
fn default_out_is_beside_the_caller_and_a_reused_out_names_stale_files() {
    let cwd = scratch("default-out");
    std::fs::create_dir_all(&cwd).unwrap();
    let teardown = scenario("teardown");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_synack"))
        .args(["run", teardown.to_str().unwrap(), "--trace"])
        .current_dir(&cwd)
        .output()
        .unwrap();
    assert_eq!(status.status.code(), Some(0));
    assert!(cwd.join("synack-run/teardown/segments.csv").exists());
    let out = cwd.join("synack-run/teardown");
    let (code, _, err) = synack(&[
        "run",
        teardown.to_str().unwrap(),
        "--pcap",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0);
    let note = err
        .lines()
        .find(|l| l.contains("also holds"))
        .unwrap_or_default();
    assert!(note.contains("segments.csv"), "{err}");
    assert!(note.contains("transitions.csv"), "{err}");
    assert!(!note.contains("link0.pcap"), "{err}");
    let _ = std::fs::remove_dir_all(&cwd);
}
