//! `half_open`: a client sends a SYN and crashes before the SYN-ACK comes back. The server
//! holds a half-open connection in its SYN queue, retransmits the SYN-ACK into the void on
//! its profile's schedule, and frees the slot when it gives up.
//!
//! A 10 ms link of infinite bandwidth joins client and server. The client connects at 1 s
//! and crashes at 1.005 s, with its SYN in flight. Times are measured from the SYN's
//! arrival at the server, from the segments sent on the link and the server's own state
//! transitions. The run lasts 300 s, longer than any profile holds a half-open connection.
//!
//! Each row is one expiry of the server's SYN-ACK timer, numbered k from 1: a
//! retransmission, or after the last one the drop that frees the slot. Beside it, the
//! textbook's schedule: a timer doubling from the initial RTO fires for the k-th time at
//! (2^k - 1) x RTO, so Linux's five retransmissions and its drop land on 1, 3, 7, 15, 31
//! and 63 s; its profile's timer wheel makes each a little late (here 1.03, 3.04, 7.17,
//! 15.36, 31.49 and 65.5 s, for a SYN arriving at 1.01 s; `half_open_lifetime` draws how
//! the drop spreads over arrival times).

use crate::grid::{Axis, Point, Value};
use crate::plot::PlotSpec;
use crate::{Experiment, Measured, Preset, run_scenario};
use std::cell::RefCell;
use std::rc::Rc;
use synack_kernel::SimTime;
use synack_link::Way;
use synack_net::{Observer, SegmentFate};
use synack_tcp::host::{Datagram, Profile};
use synack_tcp::{Flags, FourTuple, State, Transition};

/// The experiment.
pub struct HalfOpen;

const SCENARIO_SERVER: &str = "server0";

fn scenario(profile: &str) -> String {
    format!(
        r#"duration_s = 300.0
[link]
delay_ms = 10.0
bandwidth_mbps = 0.0
[server_tcp]
profile = "{profile}"
[[servers]]
[[clients]]
schedule = {{ kind = "at", times_s = [1.0] }}
[[faults]]
kind = "crash"
host = "client0"
at_s = 1.005
"#
    )
}

/// What the server did with the half-open connection.
#[derive(Default)]
struct Seen {
    syn_arrived: Option<SimTime>,
    synacks_sent: Vec<SimTime>,
    freed: Option<SimTime>,
}

struct Watch(Rc<RefCell<Seen>>);

impl Observer for Watch {
    fn segment(
        &mut self,
        at: SimTime,
        _link: &str,
        _way: Way,
        datagram: &Datagram,
        fate: SegmentFate,
    ) {
        let flags = datagram.segment.flags;
        let mut seen = self.0.borrow_mut();
        let syn_ack = Flags::SYN | Flags::ACK;
        if flags == syn_ack && fate == SegmentFate::Sent {
            seen.synacks_sent.push(at);
        } else if flags == Flags::SYN && fate == SegmentFate::Delivered {
            seen.syn_arrived.get_or_insert(at);
        }
    }

    fn transition(&mut self, node: &str, _tuple: &FourTuple, transition: &Transition) {
        if node == SCENARIO_SERVER
            && transition.from == State::SynReceived
            && transition.to == State::Closed
        {
            self.0.borrow_mut().freed.get_or_insert(transition.at);
        }
    }
}

impl Experiment for HalfOpen {
    fn name(&self) -> &'static str {
        "half_open"
    }

    fn about(&self) -> &'static str {
        "SYN-ACK retransmissions to a client that crashed after its SYN, and when the SYN-queue slot is freed, per profile, beside the textbook doubling from the initial RTO (dotted): Linux resends at 1, 3, 7, 15 and 31 s and frees the slot at 63 s, each up to 4% late on its timer wheel (half_open_lifetime shows the spread), FreeBSD gives up after 3 resends at 15 s, and Windows, starting from 3 s, frees it at 189 s"
    }

    fn axes(&self) -> Vec<Axis> {
        vec![
            Axis::profiles(
                "profile",
                "OS profile of the server",
                &Profile::ALL,
                &Profile::ALL,
            ),
            Axis::ints(
                "expiry",
                "which expiry of the SYN-ACK timer (a retransmission, or the drop after the last)",
                &[1, 2, 3, 4, 5, 6, 7],
                &[1, 2, 3, 4, 5, 6, 7, 8],
            )
            .within(1.0, 30.0),
        ]
    }

    fn replications(&self, _preset: Preset) -> u32 {
        // Deterministic: nothing in the run draws from the seed but the ISNs.
        1
    }

    fn columns(&self) -> Vec<(&'static str, &'static str)> {
        vec![
            (
                "synack_retransmits",
                "SYN-ACK retransmissions to the vanished client",
            ),
            (
                "synack_resent_at_s",
                "when each was sent, seconds after the SYN arrived, separated by spaces",
            ),
            (
                "slot_held_s",
                "seconds from the SYN's arrival until the server dropped the half-open connection",
            ),
            (
                "event",
                "what this expiry did: resend, drop, or none (the profile had stopped)",
            ),
            (
                "fired_at_s",
                "when this expiry came, seconds after the SYN arrived (NaN if none)",
            ),
            (
                "doubling_s",
                "the textbook's time for it: (2^k - 1) x the profile's initial RTO (NaN if none)",
            ),
        ]
    }

    fn run(&self, point: &Point, _preset: Preset) -> Result<Measured, String> {
        let seen = Rc::new(RefCell::new(Seen::default()));
        let summary = run_scenario(
            &scenario(point.str("profile")),
            point.seed,
            Some(Box::new(Watch(Rc::clone(&seen)))),
        )?;
        let seen = seen.borrow();
        let arrived = seen.syn_arrived.ok_or("the SYN never arrived")?;
        let freed = seen
            .freed
            .ok_or("the server never dropped the half-open connection")?;
        let since = |t: SimTime| t.saturating_since(arrived).as_secs_f64();
        let (first, resent) = seen
            .synacks_sent
            .split_first()
            .ok_or("the server sent no SYN-ACK")?;
        if *first != arrived {
            return Err(format!("first SYN-ACK at {:?}, SYN at {arrived:?}", first));
        }
        let resent_at: Vec<String> = resent.iter().map(|&t| since(t).to_string()).collect();
        let k = point.i64("expiry") as usize;
        let (event, fired) = match k.cmp(&(resent.len() + 1)) {
            std::cmp::Ordering::Less => ("resend", since(resent[k - 1])),
            std::cmp::Ordering::Equal => ("drop", since(freed)),
            std::cmp::Ordering::Greater => ("none", f64::NAN),
        };
        let rto = point
            .profile("profile")
            .config()
            .tcp
            .rto_initial
            .as_secs_f64();
        Ok(Measured {
            values: vec![
                Value::Int(resent.len() as i64),
                Value::Str(resent_at.join(" ")),
                Value::Float(since(freed)),
                Value::Str(event.to_string()),
                Value::Float(fired),
                Value::Float(if event == "none" {
                    f64::NAN
                } else {
                    ((1u64 << k) - 1) as f64 * rto
                }),
            ],
            events: summary.events,
        })
    }

    fn plot(&self) -> PlotSpec {
        PlotSpec::new(
            "SYN-ACK timer expiries for a vanished client (the last of each line frees the slot)",
            "expiry",
            "fired_at_s",
            Some("profile"),
        )
        .theory("doubling_s")
        .log_y()
        .labels(
            "SYN-ACK timer expiry k (a resend; the last, the drop)",
            "Seconds after the SYN arrived",
        )
    }
}
