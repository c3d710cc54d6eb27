//! `scale`: the cost of a connection lifecycle as the connections open at once grow, on
//! the `synack bench lifecycle` workload (the ns-3 anchor's scenario) with every
//! connection opened at once (10 million a second) and a 10 s MSL, so all of them are
//! open together. The claims it checks (issue 10): lifecycles per wall second stay within
//! 2x of the figure at 1,000 connections, and peak memory stays near 1 KiB per pair.
//!
//! Unlike every other experiment, four columns measure the machine, not the model, and
//! change from run to run: `wall_s`, `events_per_wall_s`, `lifecycles_per_wall_s` and
//! the memory columns. The points run one at a time (whatever `--jobs` says) so that
//! their timings and peak memory are their own: the process's peak RSS is reset before
//! each point (`/proc/self/clear_refs`) and read after it (`VmHWM`). Memory the process
//! already holds (from earlier experiments under `all`) is reused first, so a small point
//! can show 0 bytes per pair there; run `scale` alone for its memory figures.

use crate::grid::{Axis, Point, Value};
use crate::plot::PlotSpec;
use crate::{Experiment, Measured, Preset};
use std::sync::Mutex;
use std::time::Instant;
use synack_kernel::SimDuration;
use synack_net::lifecycle::Lifecycle;

/// The experiment.
pub struct Scale;

/// One point at a time: timings and peak memory are per point.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// A `/proc/self/status` field, in KiB (Linux); `None` elsewhere.
fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

impl Experiment for Scale {
    fn name(&self) -> &'static str {
        "scale"
    }

    fn machine_dependent(&self) -> bool {
        true
    }

    fn about(&self) -> &'static str {
        "Connection lifecycles per wall second against the connections open at once (all opened together, 10 s MSL): the cost per lifecycle as state grows; the CSV also has events per second and peak memory per connection pair (machine measurements, not deterministic)"
    }

    fn axes(&self) -> Vec<Axis> {
        vec![
            Axis::ints(
                "connections",
                "connections opened at once",
                &[1_000, 10_000, 100_000],
                &[1_000, 10_000, 100_000, 1_000_000, 10_000_000],
            )
            .within(1.0, f64::INFINITY),
        ]
    }

    fn columns(&self) -> Vec<(&'static str, &'static str)> {
        vec![
            ("connected", "handshakes completed"),
            ("closed_pairs", "lifecycles closed cleanly on both sides"),
            ("events", "kernel events"),
            ("sim_end_s", "simulated time of the last event"),
            ("wall_s", "wall time of the run (machine)"),
            ("events_per_wall_s", "events / wall_s (machine)"),
            ("lifecycles_per_wall_s", "connected / wall_s (machine)"),
            (
                "peak_rss_mb",
                "the process's peak resident memory during the point (machine)",
            ),
            (
                "bytes_per_pair",
                "(peak RSS - RSS before) / connections (machine)",
            ),
        ]
    }

    fn run(&self, point: &Point, _preset: Preset) -> Result<Measured, String> {
        let connections = point.i64("connections") as u64;
        let workload = Lifecycle {
            connections,
            rate: 1e7,
            msl: SimDuration::from_secs(10),
            bytes: 1000,
            seed: point.seed,
        };
        let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        // 5: reset the peak RSS (VmHWM) to the current RSS.
        let _ = std::fs::write("/proc/self/clear_refs", "5");
        let before = status_kib("VmRSS:").unwrap_or(0);
        let mut world = workload.world().map_err(|e| e.to_string())?;
        let start = Instant::now();
        let report = workload.finish(&mut world);
        let wall = start.elapsed().as_secs_f64();
        drop(world);
        let peak = status_kib("VmHWM:").unwrap_or(0);
        Ok(Measured {
            values: vec![
                Value::Int(report.connected as i64),
                Value::Int(report.client_closed.min(report.server_closed) as i64),
                Value::Int(report.events as i64),
                Value::Float(report.sim_end.as_secs_f64()),
                Value::Float(wall),
                Value::Float(report.events as f64 / wall),
                Value::Float(report.connected as f64 / wall),
                Value::Float(peak as f64 / 1024.0),
                Value::Float(peak.saturating_sub(before) as f64 * 1024.0 / connections as f64),
            ],
            events: report.events,
        })
    }

    fn plot(&self) -> PlotSpec {
        let mut spec = PlotSpec::new(
            "Lifecycles per wall second against connections open at once",
            "connections",
            "lifecycles_per_wall_s",
            None,
        );
        spec.log_x = true;
        spec
    }
}
