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
//!
//! `phase = time_wait` runs the close phase again and counts who is left holding
//! TIME-WAIT: the first closer always (its FIN leaves before the other's arrives), the
//! second only when the close was simultaneous, since otherwise the other's FIN reaches it
//! first and it closes passively (CLOSE-WAIT, LAST-ACK, no TIME-WAIT). Half of the
//! endpoints, then, or both.

use crate::grid::{Axis, Point, Value};
use crate::plot::PlotSpec;
use crate::{Experiment, Measured, Preset, host_counters, run_scenario};

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
        "Simultaneous opens and closes against the offset between the peers, as a ratio of the one-way delay: simultaneous exactly when the offset is below the delay; and who is left in TIME-WAIT: the first closer always, the second only in a simultaneous close (both), so half the endpoints otherwise"
    }

    fn axes(&self) -> Vec<Axis> {
        vec![
            Axis::strs(
                "phase",
                "open (offset between the connects), close (between the closes), or time_wait (the close phase, counting who holds TIME-WAIT)",
                &["open", "close", "time_wait"],
                &["open", "close", "time_wait"],
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
                "time_wait_first_closer",
                "1 if the endpoint that closed first entered TIME-WAIT",
            ),
            (
                "time_wait_second_closer",
                "1 if the endpoint that closed second entered TIME-WAIT",
            ),
            (
                "endpoint_fraction",
                "the phase's own fraction of the 2 endpoints: simultaneous opens, simultaneous closes, or holders of TIME-WAIT",
            ),
            (
                "endpoint_fraction_predicted",
                "open, close: 1 when the offset is below the one-way delay (each segment leaves before the other arrives), else 0; time_wait: 1 then, else 0.5 (the first closer alone)",
            ),
        ]
    }

    fn run(&self, point: &Point, _preset: Preset) -> Result<Measured, String> {
        let delay_ms = point.f64("one_way_delay_ms");
        let offset_s = point.f64("offset_ratio") * delay_ms / 1e3;
        let phase = point.str("phase");
        let (open, close) = match phase {
            "open" => (offset_s, 0.0),
            "close" | "time_wait" => (0.0, offset_s),
            other => return Err(format!("phase {other}: expected open, close or time_wait")),
        };
        let summary = run_scenario(&scenario(delay_ms, open, close), point.seed, None)?;
        let opens = summary.simultaneous_opens as f64 / 2.0;
        let closes = summary.simultaneous_closes as f64 / 2.0;
        // Side a (client0) closes at 30 s, side b (server0) the offset later.
        let held = |node: &str| -> Result<f64, String> {
            Ok(host_counters(&summary, node)?.time_wait_peak.min(1) as f64)
        };
        let (first, second) = (held("client0")?, held("server0")?);
        let simultaneous = point.f64("offset_ratio") < 1.0;
        let (own, predicted) = match phase {
            "open" => (opens, if simultaneous { 1.0 } else { 0.0 }),
            "close" => (closes, if simultaneous { 1.0 } else { 0.0 }),
            _ => ((first + second) / 2.0, if simultaneous { 1.0 } else { 0.5 }),
        };
        Ok(Measured {
            values: vec![
                Value::Float(opens),
                Value::Float(closes),
                Value::Float(first),
                Value::Float(second),
                Value::Float(own),
                Value::Float(predicted),
            ],
            events: summary.events,
        })
    }

    fn plot(&self) -> PlotSpec {
        PlotSpec::new(
            "Simultaneous opens and closes, and who holds TIME-WAIT, against the offset between the peers",
            "offset_ratio",
            "endpoint_fraction",
            Some("one_way_delay_ms"),
        )
        .facet("phase")
        .theory("endpoint_fraction_predicted")
        .labels(
            "Offset between the peers / one-way delay",
            "Endpoints, of 2 (simultaneous; or in TIME-WAIT)",
        )
    }
}
