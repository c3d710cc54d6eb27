//! `three_segment_close`: how often a close takes three segments (FIN, FIN+ACK, ACK) rather
//! than the textbook's four, against the server's delayed-ACK timeout.
//!
//! The client closes once it has its response. Linux does not ACK a FIN that ends
//! ESTABLISHED after data at once: the ACK waits on the delayed-ACK timer (40 ms, its
//! minimum ATO), and if the application closes first the ACK rides on its FIN, so the
//! client goes straight from FIN-WAIT-1 to TIME-WAIT. Measured on Linux 6.18:
//! `fin_ack_delayed_after_data.pkt` (the ACK alone 40-45 ms after the FIN) and
//! `fin_ack_rides_on_fin.pkt` (a close 10 ms after the FIN sends one FIN+ACK). FreeBSD
//! ACKs every FIN at once (tcp_input.c, TF_ACKNOW), as RFC 9293 3.10.7.4 says, so its
//! closes always take four segments.
//!
//! Here the server application closes an exponential delay after the client's FIN, mean
//! 40 ms (its own work before it closes), and the x axis is the server's delayed-ACK
//! timeout D. The prediction: with Linux's rule a close is three segments when the
//! application closes before the ACK is due, 1 - e^(-D / 40 ms); with FreeBSD's, never.
//! The axis stops at 200 ms, Linux's longest ATO (TCP_DELACK_MAX): an ACK held longer
//! would meet the client's retransmitted FIN (its RTO is at least 200 ms plus the RTT),
//! which is ACKed at once, so the fraction levels off below the prediction (measured: at
//! 300 and 400 ms, 13 and 46 standard deviations below it).
//! 400 connections a point (2,000 on the full preset), 20 a second over a 5 ms link,
//! 100 bytes each way; counted at the client, the closer, by the state TIME-WAIT came from.

use crate::grid::{Axis, Point, Value};
use crate::plot::PlotSpec;
use crate::{Experiment, Measured, Preset, run_scenario};
use std::cell::RefCell;
use std::rc::Rc;
use synack_kernel::SimTime;
use synack_link::Way;
use synack_net::{Observer, SegmentFate};
use synack_tcp::host::{Datagram, Profile};
use synack_tcp::{FourTuple, State, Transition};

/// The experiment.
pub struct ThreeSegmentClose;

/// The mean of the server application's delay from the client's FIN to its close, ms.
pub const CLOSE_DELAY_MEAN_MS: f64 = 40.0;

/// The profiles compared: Linux's delayed ACK of a FIN, and FreeBSD's ACK at once.
pub const PROFILES: [Profile; 2] = [Profile::Linux, Profile::FreeBsd];

/// The fraction of closes predicted to take three segments, for a delayed-ACK timeout of
/// `delayed_ack_ms`: the chance that the application closes before the ACK is due, where
/// the profile delays a FIN's ACK; none where it ACKs a FIN at once.
pub fn three_segment_predicted(profile: Profile, delayed_ack_ms: f64) -> f64 {
    if profile.config().tcp.delay_fin_ack {
        1.0 - (-delayed_ack_ms / CLOSE_DELAY_MEAN_MS).exp()
    } else {
        0.0
    }
}

fn connections(preset: Preset) -> u64 {
    match preset {
        Preset::Quick => 400,
        Preset::Full => 2000,
    }
}

fn scenario(profile: Profile, delayed_ack_ms: f64, connections: u64) -> String {
    format!(
        r#"duration_s = {duration}
[link]
delay_ms = 5.0
[client_tcp]
profile = "{profile}"
[server_tcp]
profile = "{profile}"
delayed_ack_ms = {delayed_ack_ms}
[[servers]]
request_bytes = 100
response_bytes = 100
close_delay_ms = {CLOSE_DELAY_MEAN_MS}
[[clients]]
schedule = {{ kind = "rate", start_s = 0.0, per_second = 20.0, count = {connections} }}
request_bytes = 100
response_bytes = 100
"#,
        duration = connections as f64 / 20.0 + 10.0,
    )
}

/// The client's entries into TIME-WAIT: all of them, and those straight from FIN-WAIT-1.
#[derive(Default)]
struct Closes {
    time_wait: u64,
    from_fin_wait_1: u64,
}

struct Watch(Rc<RefCell<Closes>>);

impl Observer for Watch {
    fn segment(&mut self, _: SimTime, _: &str, _: Way, _: &Datagram, _: SegmentFate) {}

    fn transition(&mut self, node: &str, _: &FourTuple, t: &Transition) {
        if node != "client0" || t.to != State::TimeWait {
            return;
        }
        let mut closes = self.0.borrow_mut();
        closes.time_wait += 1;
        closes.from_fin_wait_1 += u64::from(t.from == State::FinWait1);
    }
}

impl Experiment for ThreeSegmentClose {
    fn name(&self) -> &'static str {
        "three_segment_close"
    }

    fn about(&self) -> &'static str {
        "Closes that take three segments (the server's FIN carries its ACK, so the client goes from FIN-WAIT-1 straight to TIME-WAIT) against the server's delayed-ACK timeout D, the server closing an exponential delay of mean 40 ms after the client's FIN. Linux ACKs a FIN after data on its delayed-ACK timer, and the fraction follows 1 - e^(-D / 40 ms) (0.60 at its own 40 ms against 0.63 predicted; theory dotted); FreeBSD ACKs every FIN at once, so its closes always take four"
    }

    fn axes(&self) -> Vec<Axis> {
        vec![
            Axis::profiles(
                "profile",
                "both hosts' OS profile: linux delays the ACK of a FIN, freebsd sends it at once",
                &PROFILES,
                &PROFILES,
            ),
            Axis::floats(
                "delayed_ack_ms",
                "the server's delayed-ACK timeout, ms (0: every segment ACKed at once)",
                &[
                    0.0, 5.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 80.0, 100.0, 150.0, 200.0,
                ],
                &[
                    0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0, 40.0, 50.0, 60.0, 80.0, 100.0, 125.0,
                    150.0, 175.0, 200.0,
                ],
            )
            .within(0.0, 200.0),
        ]
    }

    fn replications(&self, _preset: Preset) -> u32 {
        1
    }

    fn columns(&self) -> Vec<(&'static str, &'static str)> {
        vec![
            ("closes", "client connections that reached TIME-WAIT"),
            (
                "three_segment_fraction",
                "the fraction of them that came straight from FIN-WAIT-1: the server's FIN carried its ACK",
            ),
            (
                "three_segment_predicted",
                "prediction: 1 - e^(-delayed_ack_ms / 40) for linux (the server closes before its ACK is due), 0 for freebsd",
            ),
        ]
    }

    fn run(&self, point: &Point, preset: Preset) -> Result<Measured, String> {
        let profile = point.profile("profile");
        let delayed_ack_ms = point.f64("delayed_ack_ms");
        let closes = Rc::new(RefCell::new(Closes::default()));
        let summary = run_scenario(
            &scenario(profile, delayed_ack_ms, connections(preset)),
            point.seed,
            Some(Box::new(Watch(Rc::clone(&closes)))),
        )?;
        let closes = closes.borrow();
        if closes.time_wait == 0 {
            return Err("no connection reached TIME-WAIT".into());
        }
        Ok(Measured {
            values: vec![
                Value::Int(closes.time_wait as i64),
                Value::Float(closes.from_fin_wait_1 as f64 / closes.time_wait as f64),
                Value::Float(three_segment_predicted(profile, delayed_ack_ms)),
            ],
            events: summary.events,
        })
    }

    fn plot(&self) -> PlotSpec {
        PlotSpec::new(
            "Closes in three segments (FIN, FIN+ACK, ACK) against the server's delayed-ACK timeout",
            "delayed_ack_ms",
            "three_segment_fraction",
            Some("profile"),
        )
        .theory("three_segment_predicted")
        .trials("closes")
        .labels(
            "Server's delayed-ACK timeout (ms)",
            "Closes where the FIN carried the ACK (fraction)",
        )
    }
}
