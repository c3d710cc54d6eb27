//! `handshake_data`: does putting the request on the handshake save a round trip?
//!
//! A client (Linux profile) opens a connection and sends a 100-byte request, and the
//! server answers 100 bytes; the time from connect() to the whole response, in round
//! trips, against the one-way delay. Four ways to send the request:
//! - `own_segment`: written once connect() returns, in a segment after the handshake's ACK;
//! - `third_segment`: written during the handshake (a write blocked in SYN-SENT), so it
//!   rides on the handshake's last segment (measured on Linux 6.18:
//!   write_blocked_in_syn_sent.pkt; a non-blocking write there gets EAGAIN,
//!   write_in_syn_sent_eagain.pkt);
//! - `syn_to_linux`: on the SYN (Fast Open without a cookie) to a Linux server, which drops
//!   it and acknowledges the SYN alone, so the client sends it again at once on the
//!   handshake's ACK (measured: syn_data_discarded.pkt, fast_open_data_not_acked.pkt);
//! - `syn_to_rfc9293`: on the SYN to a server that holds it until established, as RFC 9293
//!   3.10.7.2 allows (the `rfc9293` profile).
//!
//! The prediction: two round trips every way. The request is on the wire by the time the
//! SYN-ACK is in (one round trip) in all four, and a server that holds SYN data still hands
//! it to the application only once established, half a round trip after it would have
//! come anyway. The request on the third segment saves a segment, not time; only a server
//! that delivers SYN data before the handshake completes (Fast Open with a valid cookie,
//! not modelled) would answer after one round trip. The link has no bandwidth limit, so
//! the times are exact multiples of the delay.

use crate::grid::{Axis, Point, Value};
use crate::plot::PlotSpec;
use crate::{Experiment, Measured, Preset, run_scenario};
use std::cell::RefCell;
use std::rc::Rc;
use synack_kernel::SimTime;
use synack_link::Way;
use synack_net::{Observer, SegmentFate};
use synack_tcp::host::{Datagram, Profile};
use synack_tcp::{FourTuple, Transition};

/// The experiment.
pub struct HandshakeData;

/// The ways to send the request.
pub const WAYS: [&str; 4] = [
    "own_segment",
    "third_segment",
    "syn_to_linux",
    "syn_to_rfc9293",
];

/// Connections a point: without loss each one is the same, so a few show it.
const CONNECTIONS: u64 = 10;
/// Bytes of the request and of the response.
const REQUEST_BYTES: u64 = 100;

/// The scenario's `request_on` and the server's profile for a way of sending.
fn request_and_server(way: &str) -> Result<(&'static str, Profile), String> {
    Ok(match way {
        "own_segment" => ("own-segment", Profile::Linux),
        "third_segment" => ("third-segment", Profile::Linux),
        "syn_to_linux" => ("syn", Profile::Linux),
        "syn_to_rfc9293" => ("syn", Profile::Rfc9293),
        other => return Err(format!("way {other}: expected one of {WAYS:?}")),
    })
}

fn scenario(request_on: &str, server: Profile, delay_ms: f64) -> String {
    // Connections a second apart, each done in 4 delays (at most 0.8 s).
    format!(
        r#"duration_s = {duration}
[link]
delay_ms = {delay_ms}
bandwidth_mbps = 0.0
[server_tcp]
profile = "{server}"
[[servers]]
request_bytes = {REQUEST_BYTES}
response_bytes = {REQUEST_BYTES}
[[clients]]
schedule = {{ kind = "rate", start_s = 0.0, per_second = 1.0, count = {CONNECTIONS} }}
request_bytes = {REQUEST_BYTES}
response_bytes = {REQUEST_BYTES}
request_on = "{request_on}"
"#,
        duration = CONNECTIONS + 2,
    )
}

/// What the client put on the wire toward the server.
#[derive(Default)]
struct Sent {
    segments: u64,
    payload_bytes: u64,
}

struct Watch(Rc<RefCell<Sent>>);

impl Observer for Watch {
    fn segment(&mut self, _: SimTime, _: &str, way: Way, d: &Datagram, fate: SegmentFate) {
        if way == Way::Forward && fate == SegmentFate::Sent {
            let mut sent = self.0.borrow_mut();
            sent.segments += 1;
            sent.payload_bytes += u64::from(d.segment.len);
        }
    }

    fn transition(&mut self, _: &str, _: &FourTuple, _: &Transition) {}
}

impl Experiment for HandshakeData {
    fn name(&self) -> &'static str {
        "handshake_data"
    }

    fn about(&self) -> &'static str {
        "Time from connect() to the whole response, in round trips, against the one-way delay, by where the request goes: in its own segment after the handshake, on the handshake's last segment, or on the SYN to a Linux server (which drops it, so it is sent again) or to an RFC 9293 server (which holds it until established). Two round trips every way, as predicted (dotted): the request on the third segment saves one segment of the six a connection's client sends, not time, and data on a SYN saves a round trip only where the server delivers it before the handshake completes (Fast Open with a cookie, not modelled)"
    }

    fn axes(&self) -> Vec<Axis> {
        vec![
            Axis::strs(
                "way",
                "where the request goes: own_segment, third_segment, or on the SYN to a linux or an rfc9293 server",
                &WAYS,
                &WAYS,
            ),
            Axis::floats(
                "delay_ms",
                "the link's one-way delay, ms",
                &[1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0],
                &[
                    0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 150.0, 200.0, 300.0, 400.0,
                ],
            )
            .within(0.001, 1000.0),
        ]
    }

    fn replications(&self, _preset: Preset) -> u32 {
        1
    }

    fn columns(&self) -> Vec<(&'static str, &'static str)> {
        vec![
            ("responses", "connections that got the whole response"),
            (
                "response_rtts",
                "mean time from connect() to the whole response, in round trips (2 x delay_ms)",
            ),
            (
                "response_rtts_predicted",
                "prediction: 2 round trips every way (the request reaches the server's application one and a half round trips after connect())",
            ),
            (
                "client_segments",
                "segments the client sent a connection, handshake to last ACK",
            ),
            (
                "request_copies",
                "request bytes the client sent, over the request's size: 2 when the server dropped them from the SYN",
            ),
        ]
    }

    fn run(&self, point: &Point, _preset: Preset) -> Result<Measured, String> {
        let (request_on, server) = request_and_server(point.str("way"))?;
        let delay_ms = point.f64("delay_ms");
        let sent = Rc::new(RefCell::new(Sent::default()));
        let summary = run_scenario(
            &scenario(request_on, server, delay_ms),
            point.seed,
            Some(Box::new(Watch(Rc::clone(&sent)))),
        )?;
        let stats = crate::client_stats(&summary)?;
        let times = &stats.response_times_s;
        if times.is_empty() {
            return Err("no connection got its response".into());
        }
        let rtt_s = 2.0 * delay_ms / 1e3;
        let mean_s = times.iter().sum::<f64>() / times.len() as f64;
        let sent = sent.borrow();
        let connections = CONNECTIONS as f64;
        Ok(Measured {
            values: vec![
                Value::Int(times.len() as i64),
                // The clock counts nanoseconds: nine decimals are all the ratio holds.
                Value::Float((mean_s / rtt_s * 1e9).round() / 1e9),
                Value::Float(2.0),
                Value::Float(sent.segments as f64 / connections),
                Value::Float(sent.payload_bytes as f64 / (connections * REQUEST_BYTES as f64)),
            ],
            events: summary.events,
        })
    }

    fn plot(&self) -> PlotSpec {
        PlotSpec::new(
            "Time to the response by where the request goes: two round trips every way",
            "delay_ms",
            "response_rtts",
            Some("way"),
        )
        .facet("way")
        .theory("response_rtts_predicted")
        .log_x()
        .labels(
            "One-way delay (ms)",
            "Time from connect() to the response (round trips)",
        )
    }
}
