//! `close_wait_leak`: a server that never closes the connections it accepted. Each client
//! closes after its response, so every connection the server served sits in CLOSE-WAIT
//! for good, holding a descriptor; once the descriptor limit (`max_open`) is reached,
//! accept fails with EMFILE, the accept queue fills and new connections are refused.
//!
//! One client opens connections at 20 per second to a server over a 5 ms link; each sends
//! 100 bytes and waits for 100 back. The server's backlog is 16, so the accept queue holds
//! at most 16 connections the application could not take. The run ends 30 s after the
//! last connect, before any refused client's SYN retries run out (so "not served" counts
//! them, whatever their final error).

use crate::grid::{Axis, Point, Value};
use crate::plot::PlotSpec;
use crate::{
    Experiment, Measured, Preset, client_stats, host_counters, run_scenario, server_stats,
};

/// The experiment.
pub struct CloseWaitLeak;

const RATE_PER_S: f64 = 20.0;

fn scenario(connections: u64, descriptor_limit: u32) -> String {
    format!(
        r#"duration_s = {duration}
[link]
delay_ms = 5.0
[server_tcp]
max_open = {descriptor_limit}
[[servers]]
backlog = 16
close = "never"
request_bytes = 100
response_bytes = 100
[[clients]]
schedule = {{ kind = "rate", start_s = 0.0, per_second = {RATE_PER_S}, count = {connections} }}
request_bytes = 100
response_bytes = 100
"#,
        duration = connections as f64 / RATE_PER_S + 30.0,
    )
}

impl Experiment for CloseWaitLeak {
    fn name(&self) -> &'static str {
        "close_wait_leak"
    }

    fn about(&self) -> &'static str {
        "A server that never closes: connections left in CLOSE-WAIT against connections offered, by descriptor limit. The count grows one for one with the connections served until the limit, and every connection past it is refused service"
    }

    fn axes(&self) -> Vec<Axis> {
        vec![
            Axis::ints(
                "descriptor_limit",
                "the server's open-connection limit (max_open, like ulimit -n)",
                &[100, 250],
                &[100, 250, 1000],
            )
            .within(1.0, f64::INFINITY),
            Axis::ints(
                "connections",
                "connections the client opens",
                &[25, 50, 75, 100, 150, 200, 250, 300, 350, 400],
                &[100, 200, 400, 600, 800, 1000, 1500, 2000],
            )
            .within(1.0, f64::INFINITY),
        ]
    }

    fn columns(&self) -> Vec<(&'static str, &'static str)> {
        vec![
            ("served", "connections the server accepted and answered"),
            ("close_wait", "server connections in CLOSE-WAIT at the end"),
            (
                "close_wait_predicted",
                "min(connections, descriptor limit): every one served leaks, none past the limit is served",
            ),
            (
                "accept_failures",
                "accept calls that failed for want of a descriptor (EMFILE)",
            ),
            (
                "not_served",
                "client connections that never got their response",
            ),
        ]
    }

    fn run(&self, point: &Point, _preset: Preset) -> Result<Measured, String> {
        let connections = point.i64("connections") as u64;
        let limit = point.i64("descriptor_limit") as u32;
        let summary = run_scenario(&scenario(connections, limit), point.seed, None)?;
        let (client, server) = (client_stats(&summary)?, server_stats(&summary)?);
        let counters = host_counters(&summary, "server0")?;
        Ok(Measured {
            values: vec![
                Value::Int(server.responses as i64),
                Value::Int(counters.close_wait as i64),
                Value::Int(connections.min(u64::from(limit)) as i64),
                Value::Int(server.accept_refused as i64),
                Value::Int((client.attempted - client.completed) as i64),
            ],
            events: summary.events,
        })
    }

    fn plot(&self) -> PlotSpec {
        PlotSpec::new(
            "Server connections stuck in CLOSE-WAIT against connections offered, by descriptor limit",
            "connections",
            "close_wait",
            Some("descriptor_limit"),
        )
        .theory("close_wait_predicted")
        .labels(
            "Connections offered",
            "Server connections in CLOSE-WAIT at the end",
        )
    }
}
