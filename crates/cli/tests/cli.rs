//! The `synack` binary as a user runs it.

mod common;
use common::synack;

#[test]
fn profiles_prints_the_measured_schedules() {
    let (code, out, _) = synack(&["profiles", "--tsv"]);
    assert_eq!(code, 0);
    let rows: Vec<Vec<&str>> = out.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(
        rows[0][..3],
        ["profile", "syn_sent_at_s", "connect_gives_up_s"]
    );
    let row = |name: &str| rows.iter().find(|r| r[0] == name).unwrap().clone();
    // Linux on its HZ 250 timer wheel, measured on Linux 6.18 (wheel.rs): every 1 s SYN
    // timer after the first runs 1.024 s, a 2 s SYN-ACK timer 2.016 s, an 8 s one 8.192 s.
    assert_eq!(
        row("linux")[1..9],
        [
            "0,1.024,2.048,3.072,4.096,5.120,7.136,11.264,19.456,35.584,69.632",
            "135.168",
            "1.024,3.040,7.168,15.360,31.488",
            "65.536",
            "250",
            "133.260-135.304",
            "63.628-65.672",
            "60"
        ]
    );
    assert_eq!(row("linux-classic")[6], "129.164-131.208");
    assert_eq!(
        row("rfc9293")[3..9],
        ["1,3,7,15,31", "63", "none", "180", "63", "240"]
    );
    assert_eq!(row("windows")[1..3], ["0,3,9", "21"]);
    assert_eq!(
        (row("freebsd")[2], row("macos")[2], row("macos")[8]),
        ("75", "75", "30")
    );
}

#[test]
fn bench_hold_prints_events_per_second() {
    let (code, out, _) = synack(&[
        "bench",
        "hold",
        "--pending",
        "100",
        "--events",
        "10000",
        "--queue",
        "heap",
    ]);
    assert_eq!(code, 0);
    assert!(
        out.starts_with("synack-hold queue=heap pending=100 events=10000 "),
        "{out}"
    );
    assert!(out.contains(" events_per_s="), "{out}");
}

#[test]
fn profiles_reads_as_an_aligned_table_a_column_a_profile() {
    let (code, out, _) = synack(&["profiles"]);
    assert_eq!(code, 0);
    assert!(out.lines().all(|l| l.len() <= 120), "{out}");
    assert!(
        out.contains("  freebsd        SYN at 0,1,2,3,4,5,7,11,19,35,67; connect fails at 75\n"),
        "{out}"
    );
    let table: Vec<Vec<&str>> = out
        .lines()
        .skip_while(|l| !l.starts_with("profile "))
        .take_while(|l| !l.is_empty())
        .map(|l| l.split_whitespace().collect())
        .collect();
    let profiles = table[0].len() - 1;
    assert_eq!(profiles, 6, "{out}");
    // Every setting has a value under each profile, in the same columns.
    let start = |l: &str, word: &str| l.find(word).unwrap();
    let header = out.lines().find(|l| l.starts_with("profile ")).unwrap();
    let somaxconn = out.lines().find(|l| l.starts_with("somaxconn ")).unwrap();
    assert_eq!(
        start(header, " linux-classic") + 1,
        start(somaxconn, " 128 ") + 1
    );
    assert!(table.iter().skip(1).all(|r| r.len() > profiles), "{out}");
    // What a profile keeps from Linux is marked, and said so.
    let ports = table.iter().find(|r| r[0] == "ports").unwrap();
    assert_eq!(
        ports[1..],
        [
            "32768-60999",
            "32768-60999",
            "10000-65535",
            "49152-65535",
            "49152-65535",
            "32768-60999*"
        ]
    );
    let time_wait = table.iter().find(|r| r[0] == "time_wait_s").unwrap();
    assert!(
        time_wait.iter().all(|v| !v.ends_with('*')),
        "every TIME-WAIT is sourced"
    );
    let somaxconn = table.iter().find(|r| r[0] == "somaxconn").unwrap();
    assert_eq!(
        somaxconn[1..],
        ["4096", "128", "4096*", "4096*", "4096*", "4096*"]
    );
    assert!(
        out.contains("\n* kept from Linux for want of a source"),
        "{out}"
    );
    let checked = table.iter().find(|r| r[0] == "checked_against").unwrap();
    assert_eq!(
        checked[1..],
        [
            "kernel",
            "kernel+sheet",
            "freebsd-suite",
            "sheet",
            "sheet",
            "rfc"
        ]
    );
}

/// Each system's ephemeral range, from the reference sheet (Windows and macOS
/// 49152-65535, FreeBSD 10000-65535), and the list of inherited settings for scripts.
#[test]
fn profiles_tsv_has_each_systems_port_range_and_what_it_inherits() {
    let (_, out, _) = synack(&["profiles", "--tsv"]);
    let rows: Vec<Vec<&str>> = out.lines().map(|l| l.split('\t').collect()).collect();
    let column = |name: &str| rows[0].iter().position(|c| *c == name).unwrap();
    let (ports, inherited) = (column("ports"), column("inherited_from_linux"));
    let row = |name: &str| rows.iter().find(|r| r[0] == name).unwrap().clone();
    assert_eq!(row("freebsd")[ports], "10000-65535");
    assert_eq!(row("macos")[ports], "49152-65535");
    assert_eq!(row("windows")[ports], "49152-65535");
    assert_eq!(row("linux")[inherited], "");
    assert!(
        row("windows")[inherited]
            .split(',')
            .any(|s| s == "tw_reuse")
    );
    assert!(
        !row("macos")[inherited]
            .split(',')
            .any(|s| s == "fin_wait_2_s")
    );
}

#[test]
fn bad_input_is_one_line_naming_the_flag_with_exit_2() {
    for (args, needle) in [
        (&["bench", "hold", "--pending", "0"][..], "--pending"),
        (
            &["bench", "hold", "--queue", "splay"][..],
            "wheel, heap, priority-queue",
        ),
        (&["bench", "hold", "--events", "-5"][..], "--events"),
        (&["frobnicate"][..], "frobnicate"),
        // Clap's whole message, folded: its tip, and what is missing.
        (
            &["run", "--sed", "3", "x.toml"][..],
            "a similar argument exists: '--seed'",
        ),
        (
            &["run"][..],
            "required arguments were not provided: <SCENARIO>",
        ),
    ] {
        let (code, out, err) = synack(args);
        assert_eq!(code, 2, "{args:?}");
        assert!(out.is_empty(), "{args:?}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

#[test]
fn plot_draws_any_tidy_csv_and_names_a_missing_column() {
    let dir = std::env::temp_dir().join(format!("synack-plot-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let csv = dir.join("in.csv");
    std::fs::write(
        &csv,
        "rate_pps,delay_s,os\n10,0.5,linux\n10,0.7,linux\n20,1.5,linux\n10,0.2,bsd\n20,0.4,bsd\n",
    )
    .unwrap();
    let svg = dir.join("out.svg");
    let (code, _, err) = synack(&[
        "plot",
        csv.to_str().unwrap(),
        "--x",
        "rate_pps",
        "--y",
        "delay_s",
        "--group",
        "os",
        "--log-y",
        "-o",
        svg.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let drawn = std::fs::read_to_string(&svg).unwrap();
    assert!(drawn.starts_with("<svg"));
    // Axes and legend in words: the unit of delay_s in parentheses, the group's name as the
    // legend's title, each value alone.
    for text in ["Rate pps", "Delay (s)", "Os", "linux", "bsd"] {
        assert!(
            drawn.contains(&format!("\n{text}\n</text>")),
            "{text}: {drawn}"
        );
    }
    assert!(!drawn.contains("os=linux"));
    let (code, _, err) = synack(&[
        "plot",
        csv.to_str().unwrap(),
        "--x",
        "rate",
        "--y",
        "delay_s",
        "-o",
        "x.svg",
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("no column rate; the columns are rate_pps, delay_s, os"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_closed_pipe_ends_quietly_and_a_full_disk_is_one_line_with_exit_1() {
    use std::process::{Command, Stdio};
    // A pipe whose reading end is closed before synack writes: every write fails (EPIPE).
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_synack"))
        .arg("profiles")
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(141));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_synack"))
        .arg("profiles")
        .stdout(full)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("cannot write to standard output"), "{err}");
}

#[test]
fn plot_leaves_out_nan_and_values_a_log_axis_cannot_show_and_writes_only_svg() {
    let dir = std::env::temp_dir().join(format!("synack-plot-nan-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let draw = |name: &str, rows: &str, log: bool| {
        let csv = dir.join(format!("{name}.csv"));
        std::fs::write(&csv, format!("x,y\n{rows}")).unwrap();
        let svg = dir.join(format!("{name}.svg"));
        let mut args = vec!["plot", csv.to_str().unwrap(), "--x", "x", "--y", "y"];
        if log {
            args.push("--log-y");
        }
        args.extend(["--title", "t", "-o", svg.to_str().unwrap()]);
        let (code, _, err) = synack(&args);
        assert_eq!(code, 0, "{name}: {err}");
        std::fs::read_to_string(&svg).unwrap()
    };
    let clean = draw("clean", "1,2\n2,3\n4,5\n", false);
    // A NaN row is drawn as no point at all: the chart is the one without that row.
    assert_eq!(draw("nan", "1,2\n2,3\n3,NaN\n4,5\n", false), clean);
    // A zero on a logarithmic axis is left out, not a reason to refuse the chart.
    let log_clean = draw("log_clean", "1,2\n2,3\n4,5\n", true);
    assert_eq!(draw("log_zero", "1,2\n2,3\n3,0\n4,5\n", true), log_clean);
    let png = dir.join("chart.png");
    let (code, _, err) = synack(&[
        "plot",
        dir.join("clean.csv").to_str().unwrap(),
        "--x",
        "x",
        "--y",
        "y",
        "-o",
        png.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("must end in .svg"), "{err}");
    assert!(!png.exists());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Bare `synack` shows the help laid out as `--help` does (not folded onto one line), on
/// stderr, with exit code 2; `--version` names the revision it was built from.
#[test]
fn bare_synack_prints_the_help_unfolded_and_version_names_the_revision() {
    let (code, out, err) = synack(&[]);
    assert_eq!(code, 2);
    assert_eq!(out, "");
    assert!(err.contains("\nUsage: synack <COMMAND>\n"), "{err}");
    assert!(err.contains("\nExit codes: "), "{err}");
    assert!(!err.contains("; Usage:"), "folded: {err}");
    let (code, out, _) = synack(&["--version"]);
    assert_eq!(code, 0);
    let revision = out
        .trim()
        .strip_prefix("synack 0.1.0 (")
        .unwrap()
        .strip_suffix(')');
    assert!(revision.is_some_and(|r| !r.is_empty()), "{out}");
}

#[test]
fn run_drill_and_plot_help_give_examples_and_exit_codes() {
    for command in ["run", "drill", "plot"] {
        let (code, out, _) = synack(&[command, "--help"]);
        assert_eq!(code, 0);
        assert!(out.contains("\nExamples:\n  synack "), "{command}: {out}");
        assert!(out.contains("\nExit codes: 0 "), "{command}: {out}");
    }
}
