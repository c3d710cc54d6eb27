//! `two_vs_three_way`: why TCP needs three segments to open. The link duplicates segments
//! and delivers the copies late (exponential extra delay, mean 10 s), so old duplicate
//! SYNs reach the server after the connection they belonged to has closed. With the
//! three-way handshake the server only half-opens: its SYN-ACK reaches a client that
//! knows nothing of the connection and answers with a RST. With the two-way variant (the
//! server is established on the SYN) every stale SYN makes a bogus connection, which holds
//! state until the client's RST arrives.
//!
//! A client opens 2,000 connections, 20 a second, to a server 5 ms away; each sends 100 bytes
//! and gets 100 back. The client's TIME-WAIT is 1 s, so it has forgotten each connection
//! long before most copies arrive; the run ends 100 s after the last connect. A bogus
//! connection is a second ESTABLISHED at the server for a 4-tuple it already established
//! (client ports are not reused in a run this short).
//!
//! Most bogus connections die one RTT later, on the client's RST. A stale SYN that comes
//! while the client still holds the tuple in TIME-WAIT is answered with an ACK instead;
//! the two-way server then sits ESTABLISHED with nothing to send, and holds the state to
//! the end of the run (counted in `bogus_state_s` up to the end, and in
//! `bogus_still_open`).
//!
//! The prediction: with three segments, none. With two, each connection's SYN is copied
//! with probability p, and its copy makes a bogus connection if it comes after the server
//! has closed the original, about 4 one-way delays (20 ms) after the SYN: a chance of
//! e^(-0.02 / 10) for an extra delay of mean 10 s. So 2,000 x p x 0.998, binomial.

use crate::grid::{Axis, Point, Value};
use crate::plot::PlotSpec;
use crate::{Experiment, Measured, Preset, run_scenario};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use synack_kernel::SimTime;
use synack_link::Way;
use synack_net::{Observer, SegmentFate};
use synack_tcp::host::Datagram;
use synack_tcp::{FourTuple, State, Transition};

/// The experiment.
pub struct TwoVsThreeWay;

const CONNECTIONS: u64 = 2000;
/// The copies' mean extra delay, and how long the server holds the original, seconds.
const COPY_DELAY_S: f64 = 10.0;
const ORIGINAL_HELD_S: f64 = 0.020;

/// Bogus connections expected at duplication probability `p`.
pub fn bogus_predicted(two_way: bool, p: f64) -> f64 {
    if two_way {
        CONNECTIONS as f64 * p * (-ORIGINAL_HELD_S / COPY_DELAY_S).exp()
    } else {
        0.0
    }
}

fn scenario(two_way: bool, duplicate: f64) -> String {
    format!(
        r#"duration_s = {duration}
[link]
delay_ms = 5.0
duplicate = {duplicate}
duplicate_delay_s = {COPY_DELAY_S}
[client_tcp]
time_wait_s = 1.0
two_way_handshake = {two_way}
[server_tcp]
two_way_handshake = {two_way}
[[servers]]
request_bytes = 100
response_bytes = 100
[[clients]]
schedule = {{ kind = "rate", start_s = 0.0, per_second = 20.0, count = {CONNECTIONS} }}
request_bytes = 100
response_bytes = 100
"#,
        duration = CONNECTIONS as f64 / 20.0 + 100.0,
    )
}

/// The server's establishments by tuple, and the bogus ones' lifetimes.
#[derive(Default)]
struct Seen {
    established: BTreeMap<FourTuple, u32>,
    bogus_open: BTreeMap<FourTuple, SimTime>,
    bogus: u64,
    bogus_seconds: f64,
}

struct Watch(Rc<RefCell<Seen>>);

impl Observer for Watch {
    fn segment(&mut self, _: SimTime, _: &str, _: Way, _: &Datagram, _: SegmentFate) {}

    fn transition(&mut self, node: &str, tuple: &FourTuple, t: &Transition) {
        if node != "server0" {
            return;
        }
        let mut seen = self.0.borrow_mut();
        if t.to == State::Established {
            let times = seen.established.entry(*tuple).or_default();
            *times += 1;
            if *times > 1 {
                seen.bogus += 1;
                seen.bogus_open.insert(*tuple, t.at);
            }
        } else if t.to == State::Closed
            && let Some(since) = seen.bogus_open.remove(tuple)
        {
            seen.bogus_seconds += t.at.saturating_since(since).as_secs_f64();
        }
    }
}

impl Experiment for TwoVsThreeWay {
    fn name(&self) -> &'static str {
        "two_vs_three_way"
    }

    fn about(&self) -> &'static str {
        "Bogus connections that old duplicate SYNs make at the server, against the link's duplication probability, for the two-way and the three-way handshake: none with three segments, more and more with two"
    }

    fn axes(&self) -> Vec<Axis> {
        vec![
            Axis::strs(
                "handshake",
                "two-way (established on the SYN) or three-way",
                &["three_way", "two_way"],
                &["three_way", "two_way"],
            ),
            Axis::floats(
                "duplicate_probability",
                "probability that the link also delivers a late copy of a segment",
                &[0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4],
                &[0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5],
            )
            .within(0.0, 1.0),
        ]
    }

    fn replications(&self, preset: Preset) -> u32 {
        match preset {
            Preset::Quick => 1,
            Preset::Full => 5,
        }
    }

    fn columns(&self) -> Vec<(&'static str, &'static str)> {
        vec![
            (
                "bogus_connections",
                "connections the server established from stale SYNs",
            ),
            (
                "bogus_predicted",
                "none with three segments; with two, connections x p x e^(-0.02 / 10), the copies that outlive the original",
            ),
            (
                "bogus_state_s",
                "server-seconds those connections held state (open ones count to the end)",
            ),
            (
                "bogus_still_open",
                "bogus connections the server still held at the end",
            ),
        ]
    }

    fn run(&self, point: &Point, _preset: Preset) -> Result<Measured, String> {
        let two_way = match point.str("handshake") {
            "two_way" => true,
            "three_way" => false,
            other => return Err(format!("handshake {other}: expected two_way or three_way")),
        };
        let seen = Rc::new(RefCell::new(Seen::default()));
        let summary = run_scenario(
            &scenario(two_way, point.f64("duplicate_probability")),
            point.seed,
            Some(Box::new(Watch(Rc::clone(&seen)))),
        )?;
        let seen = seen.borrow();
        let still_open: f64 = seen
            .bogus_open
            .values()
            .map(|&since| summary.end.saturating_since(since).as_secs_f64())
            .sum();
        Ok(Measured {
            values: vec![
                Value::Int(seen.bogus as i64),
                Value::Float(bogus_predicted(two_way, point.f64("duplicate_probability"))),
                Value::Float(seen.bogus_seconds + still_open),
                Value::Int(seen.bogus_open.len() as i64),
            ],
            events: summary.events,
        })
    }

    fn plot(&self) -> PlotSpec {
        PlotSpec::new(
            "Bogus server connections from old duplicate SYNs against duplication probability",
            "duplicate_probability",
            "bogus_connections",
            Some("handshake"),
        )
        .theory("bogus_predicted")
        .labels(
            "Probability that the link copies a segment",
            "Bogus server connections, of 2,000",
        )
    }
}
