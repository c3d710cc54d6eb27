//! `handshake_loss`: how long the three-way handshake takes, and how often it fails, as the
//! link loses more, under each OS profile's SYN and SYN-ACK retry policy.
//!
//! One client connects to one server over a 10 ms link of infinite bandwidth (so the RTT
//! is exactly 20 ms) that loses each segment,
//! in both directions, with the point's probability. Both hosts run the point's profile, so
//! the client's SYN schedule and the server's SYN-ACK schedule are that OS's. Connections
//! start 100 ms apart; the run goes on 200 s past the last, longer than any profile's
//! give-up time (135.3 s at most: Linux's 131 s made late by its timer wheel), so every
//! handshake has ended.
//!
//! A handshake fails when `connect` reports an error before the connection is established;
//! the give-up time is the time from `connect` to that error.
//!
//! The prediction beside it: the client fails exactly when no SYN-ACK reaches it before it
//! gives up. Its SYNs go out on its profile's schedule (measured by driving one into a
//! black hole); the first to arrive opens a request, whose SYN-ACKs follow the server's
//! schedule from that moment until it is dropped, and each later SYN that arrives draws
//! one more SYN-ACK at once (as Linux does) or, once the request is gone, opens a new
//! one. Each segment is lost independently with probability p; the prediction sums over
//! which SYNs arrive (at most 2^7 cases) the chance that every SYN-ACK sent in time is
//! lost.

use crate::grid::{Axis, Point, Value};
use crate::plot::PlotSpec;
use crate::{Experiment, Measured, Preset, client_stats, run_scenario};
use synack_net::app::percentile;
use synack_tcp::host::Profile;
use synack_tcp::host::schedule::{
    RetrySchedule, connect_into_black_hole, synack_to_a_vanished_peer,
};

/// One-way delay of the link, seconds.
const DELAY_S: f64 = 0.010;

/// The chance that a handshake fails at loss `p`, given the client's SYN schedule and the
/// server's SYN-ACK schedule, each measured into a black hole (see the module doc).
pub fn failure_predicted(client: &RetrySchedule, server: &RetrySchedule, p: f64) -> f64 {
    let secs = |t: synack_kernel::SimTime| t.as_secs_f64();
    let syns: Vec<f64> = client.sends.iter().map(|&t| secs(t)).collect();
    let give_up = secs(client.gives_up);
    let synacks: Vec<f64> = server.sends.iter().map(|&t| secs(t)).collect();
    let dropped_after = secs(server.gives_up);
    let mut failure = 0.0;
    for arrived in 0u32..(1 << syns.len()) {
        let n_arrived = arrived.count_ones() as i32;
        let chance = (1.0 - p).powi(n_arrived) * p.powi(syns.len() as i32 - n_arrived);
        // SYN-ACKs that would reach the client before it gives up.
        let mut in_time = 0;
        let mut request: Option<f64> = None;
        for (i, &sent) in syns.iter().enumerate() {
            if arrived & (1 << i) == 0 {
                continue;
            }
            let at = sent + DELAY_S;
            match request {
                Some(opened) if at < opened + dropped_after => {
                    in_time += usize::from(at + DELAY_S < give_up);
                }
                _ => {
                    // A new request: its own SYN-ACK schedule, up to the next request.
                    let next = syns[i + 1..]
                        .iter()
                        .enumerate()
                        .find(|&(j, &t)| {
                            arrived & (1 << (i + 1 + j)) != 0 && t + DELAY_S >= at + dropped_after
                        })
                        .map_or(f64::INFINITY, |(_, &t)| t + DELAY_S);
                    in_time += synacks
                        .iter()
                        .map(|&s| at + s)
                        .filter(|&t| t < next && t + DELAY_S < give_up)
                        .count();
                    request = Some(at);
                }
            }
        }
        failure += chance * p.powi(in_time as i32);
    }
    failure
}

/// The experiment.
pub struct HandshakeLoss;

/// The profiles whose retry policies are compared.
const PROFILES: [Profile; 5] = [
    Profile::Linux,
    Profile::LinuxClassic,
    Profile::FreeBsd,
    Profile::MacOs,
    Profile::Windows,
];

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
        "Handshake failure rate against loss, per OS retry policy, beside the chance that no SYN-ACK reaches the client in time (dotted): none below 20% loss except Windows (two SYN retries), a knee between 50% and 80% for the others, and every failure at the profile's give-up time (in the legend: Linux 131 s nominal, 135 s for a connect at 0 s on its timer wheel; FreeBSD and macOS 75 s, Windows 21 s); the CSV also has setup times"
    }

    fn axes(&self) -> Vec<Axis> {
        vec![
            Axis::profiles(
                "profile",
                "OS profile of both hosts (SYN and SYN-ACK retries)",
                &PROFILES,
                &PROFILES,
            ),
            Axis::floats(
                "loss_rate",
                "probability that the link loses a segment, each direction",
                &[0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0],
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
            (
                "retry_policy",
                "the profile and when its connect gives up into a black hole, for the legend",
            ),
            ("connections", "connections attempted"),
            ("established", "handshakes completed (client side)"),
            ("failed", "handshakes that ended in an error"),
            ("failure_rate", "failed / connections"),
            (
                "failure_predicted",
                "the chance that no SYN-ACK reaches the client before it gives up (module doc)",
            ),
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
        let name = point.str("profile");
        let config = point.profile("profile").config();
        let syns = connect_into_black_hole(&config);
        let synacks = synack_to_a_vanished_peer(&config);
        let gives_up = syns.gives_up.as_secs_f64();
        Ok(Measured {
            values: vec![
                Value::Str(format!("{name} (gives up at {gives_up} s)")),
                Value::Int(client.attempted as i64),
                Value::Int(client.connected as i64),
                Value::Int(failed as i64),
                Value::Float(failed as f64 / client.attempted as f64),
                Value::Float(failure_predicted(&syns, &synacks, point.f64("loss_rate"))),
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
            Some("retry_policy"),
        )
        .theory("failure_predicted")
        .trials("connections")
        .labels(
            "Loss probability, each segment, each way",
            "Handshakes that failed (fraction)",
        )
    }
}
