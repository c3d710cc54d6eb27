//! `simultaneous`: two peers that open connections to each other, and later close, a little
//! apart. An open is simultaneous (SYN-SENT -> SYN-RECEIVED) when each SYN leaves before the
//! other's arrives, so when the offset is below the one-way delay; likewise a close
//! (FIN-WAIT-1 -> CLOSING) with the FINs.
//!
//! Two peers bind ports 5000 and 6000 on a link of infinite bandwidth. `phase = open` puts
//! the offset between the connects and closes them 0 s apart; `phase = close` connects them
//! 0 s apart (a simultaneous open, so the connection exists) and puts the offset between the
//! closes. Offsets are given as a ratio of the one-way delay; ratio 1 (an exact tie) is left
//! out of the grid.

use crate::grid::{Axis, Point, Value};
use crate::plot::PlotSpec;
use crate::{Experiment, Measured, Preset, run_scenario};

/// The experiment.
pub struct Simultaneous;

fn scenario(delay_ms: f64, open_offset_s: f64, close_offset_s: f64) -> String {
    format!(
        r#"duration_s = 200.0
[link]
delay_ms = {delay_ms}
bandwidth_mbps = 0.0
[[peers]]
open_s = [1.0, {open}]
close_s = [30.0, {close}]
"#,
        open = 1.0 + open_offset_s,
        close = 30.0 + close_offset_s,
    )
}

impl Experiment for Simultaneous {
    fn name(&self) -> &'static str {
        "simultaneous"
    }

    fn about(&self) -> &'static str {
        "Simultaneous opens and closes against the offset between the peers, as a ratio of the one-way delay: simultaneous exactly when the offset is below the delay"
    }

    fn axes(&self) -> Vec<Axis> {
        vec![
            Axis::strs(
                "phase",
                "open (offset between the connects) or close (between the closes)",
                &["open", "close"],
                &["open", "close"],
            ),
            Axis::floats(
                "one_way_delay_ms",
                "the link's delay, each way",
                &[1.0, 20.0],
                &[0.1, 1.0, 5.0, 20.0, 100.0],
            )
            .within(0.0, f64::INFINITY),
            Axis::floats(
                "offset_ratio",
                "offset between the peers / one-way delay",
                &[0.0, 0.25, 0.5, 0.75, 0.9, 0.99, 1.01, 1.1, 1.5, 2.0],
                &[
                    0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1.01, 1.1, 1.5, 2.0, 4.0,
                ],
            ),
        ]
    }

    fn replications(&self, _preset: Preset) -> u32 {
        // Nothing in the run is random but the ISNs, which do not decide the outcome.
        1
    }

    fn columns(&self) -> Vec<(&'static str, &'static str)> {
        vec![
            (
                "simultaneous_open_fraction",
                "endpoints that went SYN-SENT -> SYN-RECEIVED, of 2",
            ),
            (
                "simultaneous_close_fraction",
                "endpoints that went FIN-WAIT-1 -> CLOSING, of 2",
            ),
            (
                "simultaneous_fraction",
                "the phase's own fraction: opens in the open phase, closes in the close phase",
            ),
            (
                "simultaneous_predicted",
                "1 when the offset is below the one-way delay (each segment leaves before the other arrives), else 0",
            ),
        ]
    }

    fn run(&self, point: &Point, _preset: Preset) -> Result<Measured, String> {
        let delay_ms = point.f64("one_way_delay_ms");
        let offset_s = point.f64("offset_ratio") * delay_ms / 1e3;
        let (open, close) = match point.str("phase") {
            "open" => (offset_s, 0.0),
            "close" => (0.0, offset_s),
            other => return Err(format!("phase {other}: expected open or close")),
        };
        let summary = run_scenario(&scenario(delay_ms, open, close), point.seed, None)?;
        let opens = summary.simultaneous_opens as f64 / 2.0;
        let closes = summary.simultaneous_closes as f64 / 2.0;
        let own = if point.str("phase") == "open" {
            opens
        } else {
            closes
        };
        let predicted = if point.f64("offset_ratio") < 1.0 {
            1.0
        } else {
            0.0
        };
        Ok(Measured {
            values: vec![
                Value::Float(opens),
                Value::Float(closes),
                Value::Float(own),
                Value::Float(predicted),
            ],
            events: summary.events,
        })
    }

    fn plot(&self) -> PlotSpec {
        PlotSpec::new(
            "Simultaneous opens and closes against the offset between the peers",
            "offset_ratio",
            "simultaneous_fraction",
            Some("one_way_delay_ms"),
        )
        .facet("phase")
        .theory("simultaneous_predicted")
        .labels(
            "Offset between the peers / one-way delay",
            "Endpoints that went simultaneous (fraction of 2)",
        )
    }
}
