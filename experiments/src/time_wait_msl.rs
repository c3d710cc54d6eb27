//! `time_wait_msl`: why TIME-WAIT lasts as long as old segments can live. A client binds
//! one source port, so every connection to the server is a new incarnation of the same
//! 4-tuple; it reconnects as soon as the tuple is free (it tries 10 times a second, and a
//! connect while the tuple is in TIME-WAIT fails locally). The client's link delivers a
//! late copy of every segment the server sends, after an extra delay uniform on [0, D],
//! and drops anything older than D (its maximum lifetime), so old duplicates linger up
//! to D = 10 s.
//!
//! Each connection carries a 100-byte request and a 200,000-byte response over a 10 ms,
//! 2 Mbit/s link (0.8 s of data). An old copy is accepted when it arrives during the new
//! incarnation's response, before the segment it impersonates, with its sequence and
//! ACK numbers both acceptable; in a lockstep exchange of small messages the ACK number
//! rarely is.
//! A client connection is counted when the byte-identity check finds that it delivered a
//! byte of an earlier incarnation. A TIME-WAIT T >= D keeps the tuple unused until every
//! old copy has expired, whatever the ISNs; with T < D a constant ISN puts the old copies
//! right in the new incarnation's window. Generators: `constant`, `counter` (64,000 per
//! connection, 4.4BSD's increment), `clock4us` (RFC 793) and `rfc6528`.
//!
//! Three decisions, all to isolate the TIME-WAIT length:
//! - Timestamps are off: PAWS (RFC 7323) would reject most old copies by their
//!   timestamps, a second protection that would hide the one measured here.
//! - Copies go toward the client only. Copies toward the server would let a stale SYN and
//!   a stale ACK open a ghost connection at the server, which as the passive closer holds
//!   no TIME-WAIT: a hazard of constant ISNs that no TIME-WAIT length prevents.
//! - The `rfc1337` axis: with it off (Linux's default) the RST a stale segment draws from
//!   the closed server kills the client's TIME-WAIT early (TIME-WAIT assassination,
//!   RFC 1337), and the tuple is reused at once whatever T is.
//! - The `time_wait_rules` axis: under RFC 9293's rules only the peer's FIN again restarts
//!   the timer, so T is the time the tuple stays unused. Under Linux's rules (measured:
//!   `crates/cli/tests/drill/linux/time_wait_old_ack_restarts.pkt`) every segment with an
//!   ACK restarts it, so the late copies themselves hold the tuple until none has arrived
//!   for T: with RFC 1337 on, no length lets a stale byte in, and far fewer incarnations
//!   complete.

use crate::grid::{Axis, Point, Value};
use crate::plot::PlotSpec;
use crate::{Experiment, Measured, Preset, client_stats, host_counters, run_world};
use synack_tcp::{IsnGenerator, TimeWaitRules};

/// The experiment.
pub struct TimeWaitMsl;

/// Longest an old duplicate lives, seconds.
pub const MAX_LIFETIME_S: f64 = 10.0;

const GENERATORS: [&str; 4] = ["constant", "counter", "clock4us", "rfc6528"];

fn isn(name: &str) -> Result<IsnGenerator, String> {
    Ok(match name {
        "constant" => IsnGenerator::Constant(1_000_000),
        "counter" => IsnGenerator::Counter {
            start: 1_000_000,
            step: 64_000,
        },
        "clock4us" => IsnGenerator::Clock4us,
        "rfc6528" => IsnGenerator::Rfc6528,
        other => return Err(format!("isn {other}: expected one of {GENERATORS:?}")),
    })
}

fn duration_s(preset: Preset) -> f64 {
    match preset {
        Preset::Quick => 600.0,
        Preset::Full => 3600.0,
    }
}

fn scenario(time_wait_s: f64, duration_s: f64) -> String {
    format!(
        r#"duration_s = {duration_s}
[link]
delay_ms = 10.0
bandwidth_mbps = 2.0
duplicate = 1.0
max_lifetime_s = {MAX_LIFETIME_S}
[client_tcp]
time_wait_s = {time_wait_s}
timestamps = false
[server_tcp]
timestamps = false
[[servers]]
request_bytes = 100
response_bytes = 200000
[[clients]]
schedule = {{ kind = "rate", start_s = 0.0, per_second = 10.0, count = {count} }}
request_bytes = 100
response_bytes = 200000
source_port = 40000
"#,
        count = (duration_s * 10.0) as u64 - 200,
    )
}

impl Experiment for TimeWaitMsl {
    fn name(&self) -> &'static str {
        "time_wait_msl"
    }

    fn about(&self) -> &'static str {
        "Incarnations of one reused 4-tuple that accepted bytes of an earlier one, against the TIME-WAIT length, by ISN generator, when old duplicates live up to 10 s, one panel per rule set. Under RFC 9293's rules with RFC 1337 on: none once TIME-WAIT is at least that long, more and more below it with a constant or counter ISN. Under Linux's rules every old copy restarts TIME-WAIT, so with RFC 1337 on none gets in at any length. With RFC 1337 off, the default of every shipped profile but freebsd (whose TIME-WAIT ignores every RST), an old copy's RST ends TIME-WAIT early, and almost every constant- or counter-ISN incarnation takes stale bytes at any length, 15 s included. A clock-driven ISN (RFC 793's or RFC 6528's) keeps them all out"
    }

    fn axes(&self) -> Vec<Axis> {
        vec![
            Axis::strs(
                "rfc1337",
                "RFC 1337 on: TIME-WAIT ignores RSTs, which would otherwise end it early",
                &["on", "off"],
                &["on", "off"],
            ),
            Axis::strs(
                "time_wait_rules",
                "which segments restart TIME-WAIT: rfc9293 (the peer's FIN again) or linux (any with an ACK)",
                &["rfc9293", "linux"],
                &["rfc9293", "linux"],
            ),
            Axis::strs(
                "isn",
                "ISN generator of both hosts",
                &GENERATORS,
                &GENERATORS,
            ),
            Axis::floats(
                "time_wait_s",
                "the client's TIME-WAIT length (old duplicates live up to 10 s)",
                &[1.0, 2.0, 4.0, 6.0, 8.0, 9.0, 10.0, 11.0, 12.0, 15.0],
                &[
                    0.5, 1.0, 2.0, 3.0, 5.0, 7.0, 9.0, 9.5, 10.0, 11.0, 15.0, 20.0,
                ],
            )
            .within(0.0, f64::INFINITY),
        ]
    }

    fn columns(&self) -> Vec<(&'static str, &'static str)> {
        vec![
            (
                "rules",
                "the restart rule and RFC 1337 together, for the plot's panels",
            ),
            ("connections", "incarnations of the 4-tuple that completed"),
            (
                "stale_fraction",
                "of the incarnations, those that delivered bytes of an earlier one",
            ),
            (
                "stale_fraction_theory",
                "0 where theory rules stale bytes out (RFC 1337 on with T >= 10 s or Linux's restart rule; a clock-driven ISN, which moves at least 250,000 a second, past a 200,000-byte response); NaN where it gives no closed form",
            ),
            (
                "stale_accepted",
                "client connections that delivered bytes of an earlier incarnation",
            ),
            ("stale_bytes", "the bytes they misdelivered"),
            (
                "server_stale_accepted",
                "server connections that delivered bytes of another incarnation (ghosts included)",
            ),
        ]
    }

    fn run(&self, point: &Point, preset: Preset) -> Result<Measured, String> {
        let generator = isn(point.str("isn"))?;
        let rfc1337 = match point.str("rfc1337") {
            "on" => true,
            "off" => false,
            other => return Err(format!("rfc1337 {other}: expected on or off")),
        };
        let rules = match point.str("time_wait_rules") {
            "rfc9293" => TimeWaitRules::Rfc9293,
            "linux" => TimeWaitRules::Linux,
            other => {
                return Err(format!(
                    "time_wait_rules {other}: expected rfc9293 or linux"
                ));
            }
        };
        let text = scenario(point.f64("time_wait_s"), duration_s(preset));
        let summary = run_world(
            &text,
            point.seed,
            |spec| {
                for host in spec.nodes.iter_mut().filter_map(|n| n.host.as_mut()) {
                    host.tcp.isn = generator;
                    host.tcp.rfc1337 = rfc1337;
                    host.tcp.time_wait_rules = rules;
                }
                // Late copies only toward the client (see the module doc).
                let link = &mut spec.links.first_mut().ok_or("no link")?.config;
                link.forward = Some(synack_link::DirectionConfig {
                    duplicate_probability: 0.0,
                    ..link.both.clone()
                });
                link.both.duplicate_delay = synack_link::Delay::Uniform {
                    min: synack_kernel::SimDuration::ZERO,
                    max: synack_kernel::SimDuration::from_secs(MAX_LIFETIME_S as u64),
                };
                Ok(())
            },
            None,
        )?;
        let client = client_stats(&summary)?;
        let (c, s) = (
            host_counters(&summary, "client0")?,
            host_counters(&summary, "server0")?,
        );
        let clock = matches!(point.str("isn"), "clock4us" | "rfc6528");
        let ruled_out = clock
            || (rfc1337
                && (rules == TimeWaitRules::Linux || point.f64("time_wait_s") >= MAX_LIFETIME_S));
        let rules_label = format!(
            "{}, RFC 1337 {}",
            point.str("time_wait_rules"),
            point.str("rfc1337")
        );
        Ok(Measured {
            values: vec![
                Value::Str(rules_label),
                Value::Int(client.completed as i64),
                Value::Float(c.misdelivered_connections as f64 / client.completed.max(1) as f64),
                Value::Float(if ruled_out { 0.0 } else { f64::NAN }),
                Value::Int(c.misdelivered_connections as i64),
                Value::Int(c.misdelivered_bytes as i64),
                Value::Int(s.misdelivered_connections as i64),
            ],
            events: summary.events,
        })
    }

    fn plot(&self) -> PlotSpec {
        // One panel per rule set: the TIME-WAIT length decides only under RFC 9293's rules
        // with RFC 1337 on, and the other three panels show why.
        PlotSpec::new(
            "Incarnations taking an earlier one's bytes, by TIME-WAIT length (old duplicates live up to 10 s)",
            "time_wait_s",
            "stale_fraction",
            Some("isn"),
        )
        .facet("rules")
        .trials("connections")
        .theory("stale_fraction_theory")
        .labels(
            "Client's TIME-WAIT (s)",
            "Incarnations that took stale bytes (fraction)",
        )
    }
}
