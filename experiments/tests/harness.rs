//! The sweep harness: determinism across --jobs, shards merged byte for byte (with GNU
//! parallel, as the README shows), resume after an interruption, failing points, and bad
//! input.

use experiments::grid::{Axis, Point, Value};
use experiments::plot::PlotSpec;
use experiments::sweep::{merge, sweep};
use experiments::{Experiment, ExperimentArgs, Measured, Preset, Shard};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A cheap experiment: a few draws per point, and a panic at x = 13.
struct Toy;

impl Experiment for Toy {
    fn name(&self) -> &'static str {
        "toy"
    }
    fn about(&self) -> &'static str {
        "a test sweep"
    }
    fn axes(&self) -> Vec<Axis> {
        vec![
            Axis::ints("x", "an integer", &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], &[1, 2]),
            Axis::strs("kind", "a name", &["a", "b"], &["a"]),
        ]
    }
    fn replications(&self, _: Preset) -> u32 {
        2
    }
    fn columns(&self) -> Vec<(&'static str, &'static str)> {
        vec![("y_units", "a measured value")]
    }
    fn run(&self, p: &Point, _: Preset) -> Result<Measured, String> {
        let x = p.i64("x");
        if x == 13 {
            panic!("thirteen\nis unlucky");
        }
        if x == 14 {
            return Err("fourteen fails politely".into());
        }
        // Depends only on the point's seed: the same whatever thread runs it.
        let y = (p.seed % 1000) as f64 / 1000.0 + x as f64;
        Ok(Measured {
            values: vec![Value::Float(y)],
            events: 1,
        })
    }
    fn plot(&self) -> PlotSpec {
        PlotSpec::new("toy", "x", "y_units", Some("kind"))
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("synack-harness-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn args(out: &Path) -> ExperimentArgs {
    ExperimentArgs::quick(out.to_path_buf(), 42)
}

#[test]
fn the_same_seed_and_grid_give_the_same_csv_whatever_the_jobs() {
    let (one, two) = (scratch("jobs1"), scratch("jobs2"));
    sweep(
        &Toy,
        &ExperimentArgs {
            jobs: Some(1),
            ..args(&one)
        },
    )
    .unwrap();
    sweep(
        &Toy,
        &ExperimentArgs {
            jobs: Some(2),
            ..args(&two)
        },
    )
    .unwrap();
    let read = |d: &Path| std::fs::read(d.join("toy.csv")).unwrap();
    assert_eq!(read(&one), read(&two));
    assert_eq!(
        std::fs::read(one.join("toy.svg")).unwrap(),
        std::fs::read(two.join("toy.svg")).unwrap()
    );
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(one.join("toy.json")).unwrap()).unwrap();
    assert_eq!(json["experiment"], "toy");
    assert_eq!(json["seed"], 42);
    assert_eq!(json["preset"], "quick");
    assert_eq!(json["grid"]["axes"][0][0], "x");
    // Run facts live apart, so the metadata is the same for the same seed and grid.
    assert!(json.get("wall_s").is_none() && json.get("git_revision").is_none());
    assert_eq!(
        std::fs::read(one.join("toy.json")).unwrap(),
        std::fs::read(two.join("toy.json")).unwrap()
    );
    let run: serde_json::Value =
        serde_json::from_slice(&std::fs::read(one.join("toy.run.json")).unwrap()).unwrap();
    assert!(run["wall_s"].as_f64().unwrap() >= 0.0);
    let revision = run["git_revision"].as_str().unwrap();
    assert!(revision == "unknown" || revision.len() == 40, "{revision}");
    assert!(["true", "false", "unknown"].contains(&run["git_dirty"].as_str().unwrap()));
    assert!(
        !one.join(".cache").exists(),
        "the cache goes once the sweep is done"
    );
}

#[test]
fn shards_merge_into_the_unsharded_csv_byte_for_byte() {
    let whole = scratch("whole");
    sweep(&Toy, &args(&whole)).unwrap();
    let parts = scratch("parts");
    let shards: Vec<PathBuf> = (0..3)
        .map(|k| {
            sweep(
                &Toy,
                &ExperimentArgs {
                    shard: Some(Shard { index: k, count: 3 }),
                    ..args(&parts)
                },
            )
            .unwrap()
            .csv
        })
        .collect();
    assert_eq!(
        merge(&shards).unwrap(),
        std::fs::read(whole.join("toy.csv")).unwrap()
    );
    // Missing a shard is an error, not a short file.
    assert!(merge(&shards[..2]).is_err());
}

#[test]
fn gnu_parallel_runs_three_shards_and_merge_rebuilds_the_csv() {
    let out = scratch("parallel");
    let link_loss = env!("CARGO_BIN_EXE_link_loss");
    let status = Command::new(link_loss)
        .args(["--quick", "--out"])
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    let shards = out.join("shards");
    let status = Command::new("parallel")
        .args([
            "--will-cite",
            "--jobs",
            "3",
            link_loss,
            "--quick",
            "--jobs",
            "1",
            "--out",
        ])
        .arg(&shards)
        .args(["--shard", "{}/3", ":::", "0", "1", "2"])
        .status()
        .expect("GNU parallel is installed (.ci/run installs it)");
    assert!(status.success());
    let merged = out.join("merged.csv");
    let mut merge_cmd = Command::new(env!("CARGO_BIN_EXE_merge"));
    merge_cmd.arg("--out").arg(&merged);
    for k in 0..3 {
        merge_cmd.arg(shards.join(format!("link_loss.shard-{k}-of-3.csv")));
    }
    assert!(merge_cmd.status().unwrap().success());
    assert_eq!(
        std::fs::read(&merged).unwrap(),
        std::fs::read(out.join("link_loss.csv")).unwrap()
    );
}

#[test]
fn an_interrupted_sweep_leaves_no_csv_and_resume_finishes_it() {
    let out = scratch("resume");
    let stopped = sweep(
        &Toy,
        &ExperimentArgs {
            stop_after: Some(5),
            jobs: Some(1),
            ..args(&out)
        },
    );
    assert!(stopped.is_err());
    assert!(!out.join("toy.csv").exists());
    let report = sweep(
        &Toy,
        &ExperimentArgs {
            resume: true,
            ..args(&out)
        },
    )
    .unwrap();
    assert_eq!(report.resumed, 5);
    let fresh = scratch("fresh");
    sweep(&Toy, &args(&fresh)).unwrap();
    assert_eq!(
        std::fs::read(out.join("toy.csv")).unwrap(),
        std::fs::read(fresh.join("toy.csv")).unwrap()
    );
}

#[test]
fn failing_points_become_rows_with_an_error_and_the_sweep_goes_on() {
    let out = scratch("failing");
    let report = sweep(
        &Toy,
        &ExperimentArgs {
            set: vec!["x=12,13,14".into()],
            ..args(&out)
        },
    )
    .unwrap();
    assert_eq!((report.points, report.failed), (12, 8));
    let csv = std::fs::read_to_string(out.join("toy.csv")).unwrap();
    assert!(csv.contains(",panicked: thirteen is unlucky\n"), "{csv}");
    assert!(csv.contains(",fourteen fails politely\n"), "{csv}");
    assert_eq!(csv.lines().count(), 13);
}

#[test]
fn a_failing_point_sets_the_exit_code_and_bad_input_is_exit_2_without_files() {
    let out = scratch("exit");
    let run = |extra: &[&str]| {
        let o = Command::new(env!("CARGO_BIN_EXE_link_loss"))
            .arg("--out")
            .arg(&out)
            .args(extra)
            .output()
            .unwrap();
        (o.status.code(), String::from_utf8(o.stderr).unwrap())
    };
    // Gilbert-Elliott bursts at a long-run loss of 1 cannot be built: that point fails.
    let (code, _) = run(&[
        "--set",
        "loss_model=gilbert_elliott",
        "--set",
        "loss_rate=0.1,1",
    ]);
    assert_eq!(code, Some(1));
    let _ = std::fs::remove_dir_all(&out);
    for (extra, needle) in [
        (
            &["--set", "loss_rate="][..],
            "the grid is empty: axis loss_rate has no values",
        ),
        (
            &["--set", "loss_rate=lots"][..],
            "--set loss_rate=lots: expected finite numbers",
        ),
        (&["--set", "mtu=1500"][..], "no such axis"),
        (
            &["--set", "loss_rate=0.1,1.5"][..],
            "--set loss_rate=1.5: must be within [0, 1]",
        ),
        (
            &["--set", "loss_model=bernoulli,gilbert"][..],
            "must be one of",
        ),
        (&["--shard", "3/3"][..], "expected K/N with 0 <= K < N"),
        (&["--jobs", "0"][..], "--jobs"),
    ] {
        let (code, err) = run(extra);
        assert_eq!(code, Some(2), "{extra:?}");
        assert_eq!(err.lines().count(), 1, "{extra:?}: {err}");
        assert!(err.contains(needle), "{extra:?}: {err}");
        assert!(
            !out.join("link_loss.csv").exists(),
            "{extra:?} left output behind"
        );
    }
}

#[test]
fn the_results_index_shows_every_experiment_with_its_sentence() {
    let experiments = experiments::all();
    let index = experiments::results_index(
        &experiments,
        &ExperimentArgs::quick(PathBuf::from("results"), 1),
    );
    assert!(
        index.starts_with("# Results\n\nWritten by `all` on the quick preset with base seed 1.")
    );
    for e in &experiments {
        let name = e.name();
        assert!(
            index.contains(&format!("\n## {name}\n\n{}.\n", e.about())),
            "{index}"
        );
        assert!(index.contains(&format!("![{name}]({name}.svg)")), "{index}");
    }
}

/// `all` checks every override against every experiment before any runs: an axis goes to
/// the experiments that have it, `EXPERIMENT.axis` to that one, and a mistake anywhere is
/// one line, exit 2, and no file.
#[test]
fn all_checks_every_override_before_running_anything() {
    let out = scratch("all-set");
    for (extra, needle) in [
        (
            &["--set", "mtu=1500"][..],
            "--set mtu=1500: no such axis in any experiment",
        ),
        (
            &["--set", "nope.loss_rate=0.1"][..],
            "--set nope.loss_rate=0.1: no experiment nope",
        ),
        (
            &["--set", "handshake_loss.loss_rate=1.5"][..],
            "handshake_loss: --set loss_rate=1.5: must be within [0, 1]",
        ),
        // link_loss and handshake_loss both have loss_rate: the second is checked too.
        (&["--set", "loss_rate=0.2,2"][..], "must be within [0, 1]"),
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_all"))
            .args(["--quick", "--out"])
            .arg(&out)
            .args(extra)
            .output()
            .unwrap();
        let err = String::from_utf8(o.stderr).unwrap();
        assert_eq!(o.status.code(), Some(2), "{extra:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{extra:?}: {err}");
        assert!(err.contains(needle), "{extra:?}: {err}");
        assert!(!out.exists(), "{extra:?} wrote {}", out.display());
    }
}

/// Each experiment's --help says what it shows, its axes, and an example to copy.
#[test]
fn each_experiments_help_says_what_it_shows_with_an_example() {
    let o = Command::new(env!("CARGO_BIN_EXE_handshake_loss"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8(o.stdout).unwrap();
    assert!(o.status.success());
    let about = experiments::handshake_loss::HandshakeLoss.about();
    assert!(help.starts_with(about), "{help}");
    assert!(help.contains("\nGrid axes"), "{help}");
    assert!(
        help.contains("  cargo run --release -p experiments --bin handshake_loss -- --quick --set profile=linux,linux-classic --out /tmp/handshake_loss\n"),
        "{help}"
    );
}

/// A closed pipe ends an experiment quietly (exit 141, as a tool killed by SIGPIPE), and
/// another write error in one line with exit 1, not a panic.
#[test]
fn a_closed_stdout_is_quiet_and_a_full_disk_one_line() {
    let out = scratch("closed-stdout");
    let narrow = ["--quick", "--set", "profile=linux", "--set", "loss_rate=0"];
    let mut child = Command::new(env!("CARGO_BIN_EXE_handshake_loss"))
        .args(narrow)
        .arg("--out")
        .arg(&out)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let done = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&done.stderr);
    assert_eq!(done.status.code(), Some(141), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let full = std::fs::File::create("/dev/full").unwrap();
    let done = Command::new(env!("CARGO_BIN_EXE_handshake_loss"))
        .args(narrow)
        .arg("--out")
        .arg(&out)
        .stdout(full)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&done.stderr);
    assert_eq!(done.status.code(), Some(1), "{err}");
    assert_eq!(
        err.lines().collect::<Vec<_>>(),
        ["handshake_loss: cannot write to standard output: No space left on device (os error 28)"]
    );
}

/// A grid changed by --set never lands in results/, whose CSVs are the presets' own: without
/// an --out of its own it is one line and exit 2, before any point runs.
#[test]
fn set_without_its_own_out_is_refused_before_running() {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_link_loss"))
        .args(["--set", "loss_rate=0.1"])
        .output()
        .unwrap();
    let err = String::from_utf8(o.stderr).unwrap();
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(
        err.trim(),
        "--set loss_rate=0.1: a changed grid needs its own --out DIR; the default, results/, \
         holds the presets' results"
    );
}
