//! `handshake_loss`: how long the three-way handshake takes, and how often it fails, as the
//! link loses more, under each OS profile's SYN and SYN-ACK retry policy.
//!
//! One client connects to one server over a 10 ms link of infinite bandwidth (so the RTT
//! is exactly 20 ms) that loses each segment,
//! in both directions, with the point's probability. Both hosts run the point's profile, so
//! the client's SYN schedule and the server's SYN-ACK schedule are that OS's. Connections
//! start 100 ms apart; the run goes on 200 s past the last, longer than any profile's
//! give-up time (131 s at most), so every handshake has ended.
//!
//! A handshake fails when `connect` reports an error before the connection is established;
//! the give-up time is the time from `connect` to that error.

use crate::grid::{Axis, Point, Value};
use crate::plot::PlotSpec;
use crate::{Experiment, Measured, Preset, client_stats, run_scenario};
use synack_net::app::percentile;

/// The experiment.
pub struct HandshakeLoss;

/// The profiles whose retry policies are compared.
const PROFILES: [&str; 5] = ["linux", "linux-classic", "freebsd", "macos", "windows"];

fn connections(preset: Preset) -> u64 {
    match preset {
        Preset::Quick => 200,
        Preset::Full => 1000,
    }
}

fn scenario(profile: &str, loss: f64, count: u64) -> String {
    format!(
        r#"duration_s = {duration}
[link]
delay_ms = 10.0
bandwidth_mbps = 0.0
loss = {loss}
[client_tcp]
profile = "{profile}"
[server_tcp]
profile = "{profile}"
[[servers]]
request_bytes = 100
response_bytes = 100
[[clients]]
schedule = {{ kind = "rate", start_s = 0.0, per_second = 10.0, count = {count} }}
request_bytes = 100
response_bytes = 100
"#,
        duration = count as f64 / 10.0 + 200.0,
    )
}

impl Experiment for HandshakeLoss {
    fn name(&self) -> &'static str {
        "handshake_loss"
    }

    fn about(&self) -> &'static str {
        "Handshake setup time and failure rate against loss, per OS retry policy: one RTT without loss, more failures as loss grows (soonest for Windows, with two SYN retries), and under total loss each OS gives up at its documented time"
    }

    fn axes(&self) -> Vec<Axis> {
        vec![
            Axis::strs(
                "profile",
                "OS profile of both hosts (SYN and SYN-ACK retries)",
                &PROFILES,
                &PROFILES,
            ),
            Axis::floats(
                "loss_rate",
                "probability that the link loses a segment, each direction",
                &[0.0, 0.2, 0.4, 0.6, 1.0],
                &[0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 1.0],
            )
            .within(0.0, 1.0),
        ]
    }

    fn replications(&self, preset: Preset) -> u32 {
        match preset {
            Preset::Quick => 2,
            Preset::Full => 10,
        }
    }

    fn columns(&self) -> Vec<(&'static str, &'static str)> {
        vec![
            ("connections", "connections attempted"),
            ("established", "handshakes completed (client side)"),
            ("failed", "handshakes that ended in an error"),
            ("failure_rate", "failed / connections"),
            (
                "setup_p50_s",
                "median handshake time, seconds (NaN if none)",
            ),
            ("setup_p90_s", "90th percentile handshake time, seconds"),
            ("setup_p99_s", "99th percentile handshake time, seconds"),
            (
                "give_up_min_s",
                "earliest failure, seconds after connect (NaN if none)",
            ),
            ("give_up_max_s", "latest failure, seconds after connect"),
        ]
    }

    fn run(&self, point: &Point, preset: Preset) -> Result<Measured, String> {
        let count = connections(preset);
        let text = scenario(point.str("profile"), point.f64("loss_rate"), count);
        let summary = run_scenario(&text, point.seed, None)?;
        let client = client_stats(&summary)?;
        if client.not_started > 0 {
            return Err(format!("{} connects refused locally", client.not_started));
        }
        let failed = client.handshake_failure_times_s.len() as u64;
        if client.connected + failed != client.attempted {
            return Err(format!(
                "{} of {} handshakes still open at the end",
                client.attempted - client.connected - failed,
                client.attempted
            ));
        }
        let mut setup = client.setup_times_s.clone();
        setup.sort_by(f64::total_cmp);
        let mut give_up = client.handshake_failure_times_s.clone();
        give_up.sort_by(f64::total_cmp);
        Ok(Measured {
            values: vec![
                Value::Int(client.attempted as i64),
                Value::Int(client.connected as i64),
                Value::Int(failed as i64),
                Value::Float(failed as f64 / client.attempted as f64),
                Value::Float(percentile(&setup, 0.5)),
                Value::Float(percentile(&setup, 0.9)),
                Value::Float(percentile(&setup, 0.99)),
                Value::Float(give_up.first().copied().unwrap_or(f64::NAN)),
                Value::Float(give_up.last().copied().unwrap_or(f64::NAN)),
            ],
            events: summary.events,
        })
    }

    fn plot(&self) -> PlotSpec {
        PlotSpec::new(
            "Failed handshakes against loss, by OS retry policy",
            "loss_rate",
            "failure_rate",
            Some("profile"),
        )
    }
}
