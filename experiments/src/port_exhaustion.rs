//! `port_exhaustion`: a crawler that opens connections to one server and closes each
//! actively holds one TIME-WAIT entry per connection for the TIME-WAIT length T. Every
//! entry pins an ephemeral port (the 4-tuple is taken), so with P ports connects start
//! failing (EADDRNOTAVAIL) once the rate passes P / T: for Linux, 28,232 / 60 s = 470.5
//! per second.
//!
//! One client sends requests at `rate_ratio` x P / T of the setup's *unmitigated* profile
//! for 1.5 T, to a server 5 ms away that closes after the client. Setups:
//! - `linux`, `freebsd` (T = 60 s), `macos` (30 s), `windows` (240 s), each with the
//!   profile's port range (Linux 32768-60999, FreeBSD 10000-65535, macOS and Windows
//!   49152-65535). The TIME-WAIT table cap (Linux's tcp_max_tw_buckets, 32,768) is kept by
//!   the other profiles for want of a source, and below FreeBSD's 55,536 ports it would
//!   let closing sockets skip TIME-WAIT and hide the port limit; so here the other OSes'
//!   tables hold one entry per port;
//! - Linux plus one mitigation: `linux+tw_reuse` (tcp_tw_reuse = 1: a TIME-WAIT tuple is
//!   reused once its last timestamp is over a second old), `linux+linger_zero` (close with
//!   SO_LINGER 0: a RST, no TIME-WAIT), `linux+keep_alive` (10 requests per connection),
//!   `linux+wide_range` (ports 1024-65535; past tcp_max_tw_buckets = 32,768 entries,
//!   closing sockets skip TIME-WAIT, as in Linux).

use crate::grid::{Axis, Point, Value};
use crate::plot::PlotSpec;
use crate::{Experiment, Measured, Preset, client_stats, host_counters, run_scenario};
use synack_tcp::host::Profile;

/// The experiment.
pub struct PortExhaustion;

const SETUPS: [&str; 8] = [
    "linux",
    "freebsd",
    "macos",
    "windows",
    "linux+tw_reuse",
    "linux+linger_zero",
    "linux+keep_alive",
    "linux+wide_range",
];

const KEEP_ALIVE_REQUESTS: u32 = 10;

/// The link's one-way delay.
const LINK_DELAY_S: f64 = 0.005;

/// Connects predicted to fail when connects come at `per_second` for `offered_s` seconds
/// and each holds one of `ports` for `hold_s`: once the ports run out, none frees until the
/// first holder's time is up, and from then ports free as fast as they were taken.
pub fn predicted_failures(ports: f64, hold_s: f64, per_second: f64, offered_s: f64) -> f64 {
    if per_second * hold_s <= ports {
        return 0.0;
    }
    let attempts = (per_second * offered_s).round();
    let refilled = per_second * (offered_s - hold_s).max(0.0).min(ports / per_second);
    (attempts - ports - refilled).max(0.0)
}

/// The setup's profile and its P / T, connections per second, before any mitigation.
fn base(setup: &str) -> Result<(Profile, f64), String> {
    let name = setup.split('+').next().unwrap_or(setup);
    let profile: Profile = name.parse().map_err(|e| format!("setup {setup}: {e}"))?;
    let config = profile.config();
    let (low, high) = config.ephemeral_ports;
    let ports = f64::from(high - low + 1);
    Ok((profile, ports / config.tcp.time_wait_length().as_secs_f64()))
}

fn scenario(setup: &str, requests_per_s: f64, time_wait_s: f64) -> Result<String, String> {
    let (profile, _) = base(setup)?;
    let mitigation = setup.split_once('+').map_or("none", |(_, m)| m);
    let (mut tcp, mut close, mut per_connection) = (String::new(), "active", 1);
    match mitigation {
        "none" if profile != Profile::Linux => {
            let (low, high) = profile.config().ephemeral_ports;
            tcp.push_str(&format!("max_time_wait = {}\n", u32::from(high - low) + 1));
        }
        "none" => {}
        "tw_reuse" => tcp.push_str("tw_reuse = \"on\"\n"),
        "linger_zero" => close = "linger-zero",
        "keep_alive" => per_connection = KEEP_ALIVE_REQUESTS,
        "wide_range" => tcp.push_str("ephemeral_ports = [1024, 65535]\n"),
        other => return Err(format!("mitigation {other}: not known")),
    }
    let offered_s = 1.5 * time_wait_s;
    let per_second = requests_per_s / f64::from(per_connection);
    Ok(format!(
        r#"duration_s = {duration}
[link]
delay_ms = {delay_ms}
[client_tcp]
profile = "{profile}"
{tcp}[server_tcp]
profile = "{profile}"
[[servers]]
backlog = 4096
request_bytes = 100
response_bytes = 100
[[clients]]
schedule = {{ kind = "rate", start_s = 0.0, per_second = {per_second}, count = {count} }}
request_bytes = 100
response_bytes = 100
requests_per_connection = {per_connection}
close = "{close}"
"#,
        duration = offered_s + 5.0,
        delay_ms = LINK_DELAY_S * 1e3,
        count = (per_second * offered_s).round() as u64,
    ))
}

impl Experiment for PortExhaustion {
    fn name(&self) -> &'static str {
        "port_exhaustion"
    }

    fn about(&self) -> &'static str {
        "Connect failures of a client that closes actively, against its request rate as a multiple of ports / TIME-WAIT (470.5 per second for Linux), per OS and per mitigation: none below the limit, failures above it as predicted (dotted) from ports, TIME-WAIT and the 3 RTT before it, and every mitigation lifts it"
    }

    fn axes(&self) -> Vec<Axis> {
        vec![
            Axis::strs(
                "setup",
                "OS profile, or Linux plus one mitigation",
                &SETUPS,
                &SETUPS,
            ),
            Axis::floats(
                "rate_ratio",
                "request rate / (ports / TIME-WAIT length) of the unmitigated profile",
                &[0.5, 0.9, 0.95, 1.0, 1.05, 1.1, 1.5, 2.0],
                &[0.5, 0.8, 0.9, 0.95, 1.05, 1.1, 1.25, 1.5, 2.0],
            )
            .within(0.001, f64::INFINITY),
        ]
    }

    fn columns(&self) -> Vec<(&'static str, &'static str)> {
        vec![
            (
                "limit_per_s",
                "ports / TIME-WAIT length of the unmitigated profile, connections per second",
            ),
            ("requests_per_s", "requests offered per second"),
            ("connections", "connections the client tried to open"),
            (
                "connect_failures",
                "connects that failed: no free port, or a handshake error",
            ),
            ("failure_rate", "connect_failures / connections"),
            (
                "failure_rate_predicted",
                "predicted_failures / connections: a port held from connect to TIME-WAIT's end (3 RTT + T); 0 with a mitigation",
            ),
            (
                "time_wait_peak",
                "most TIME-WAIT entries at once, client side",
            ),
            (
                "time_wait_skipped",
                "client closes that skipped TIME-WAIT because the table was full",
            ),
        ]
    }

    fn run(&self, point: &Point, _preset: Preset) -> Result<Measured, String> {
        let setup = point.str("setup");
        let (profile, limit) = base(setup)?;
        let time_wait_s = profile.config().tcp.time_wait_length().as_secs_f64();
        let requests_per_s = point.f64("rate_ratio") * limit;
        let text = scenario(setup, requests_per_s, time_wait_s)?;
        let summary = run_scenario(&text, point.seed, None)?;
        let client = client_stats(&summary)?;
        let counters = host_counters(&summary, "client0")?;
        let failures = client.not_started + client.refused + client.reset + client.timed_out;
        // The client enters TIME-WAIT when the server's FIN arrives: handshake, request and
        // response, and the FIN exchange, 3 RTT after connect.
        let predicted = match setup.contains('+') {
            true => 0.0,
            false => {
                let (low, high) = profile.config().ephemeral_ports;
                let ports = f64::from(high - low) + 1.0;
                let hold_s = time_wait_s + 3.0 * 2.0 * LINK_DELAY_S;
                predicted_failures(ports, hold_s, requests_per_s, 1.5 * time_wait_s)
            }
        };
        Ok(Measured {
            values: vec![
                Value::Float(limit),
                Value::Float(requests_per_s),
                Value::Int(client.attempted as i64),
                Value::Int(failures as i64),
                Value::Float(failures as f64 / client.attempted as f64),
                Value::Float(predicted / client.attempted as f64),
                Value::Int(counters.time_wait_peak as i64),
                Value::Int(counters.time_wait_skipped as i64),
            ],
            events: summary.events,
        })
    }

    fn plot(&self) -> PlotSpec {
        PlotSpec::new(
            "Failed connects against request rate / (ports / TIME-WAIT), by OS and mitigation",
            "rate_ratio",
            "failure_rate",
            Some("setup"),
        )
        .theory("failure_rate_predicted")
    }
}
