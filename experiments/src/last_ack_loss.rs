//! `last_ack_loss`: what TIME-WAIT is for. The active closer's final ACK (the ACK of the
//! passive closer's FIN) is lost with probability p, each time it is sent. The passive
//! closer, in LAST-ACK, retransmits its FIN. With TIME-WAIT the active closer still knows
//! the connection and ACKs the FIN again, so the close ends cleanly; without it (TIME-WAIT
//! 0) it answers the FIN with a RST, so a fraction p of the passive closes end in a RST.
//! With SO_LINGER 0 the active closer sends a RST instead of a FIN, and the connection
//! never reaches LAST-ACK: every passive close is a RST, whatever p.
//!
//! TIME-WAIT protects only while it lasts: each retransmitted FIN restarts it, but the
//! FIN's RTO doubles (from 200 ms here: Linux's floor, as the RTT is 10 ms), and once the
//! gap passes 60 s TIME-WAIT is over before the next FIN comes. The final ACK has 10
//! chances (the first, then one per FIN 0.2, 0.4, ... 51.2 s apart), so a fraction p^10 of
//! closes still end in a RST: about 0.1% at p = 0.5, 35% at p = 0.9. The
//! `reset_predicted` column gives p^10, p and 1 for the three closers.
//!
//! A client opens 200 connections, 10 a second, to a server 5 ms away, sends 100 bytes,
//! gets 100 back and closes; the server closes on the client's FIN. Only the final ACKs
//! are lost (a link rule that knows each connection's FIN from the server's side), drawn
//! from the point's seed. The run lasts until the slowest outcome (LAST-ACK giving up
//! after its FIN retries, 924.6 s for Linux's R2 = 15) is over.

use crate::grid::{Axis, Point, Value};
use crate::plot::PlotSpec;
use crate::{Experiment, Measured, Preset, run_world};
use rand::RngExt;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use synack_kernel::{RandomStreams, SimRng, SimTime};
use synack_link::{DirectionConfig, DropRule, Way};
use synack_net::{Observer, SegmentFate};
use synack_tcp::host::Datagram;
use synack_tcp::{Cause, Flags, FourTuple, Seq, State, Transition};

/// The experiment.
pub struct LastAckLoss;

const CONNECTIONS: u64 = 200;
const CLOSERS: [&str; 3] = ["time_wait", "no_time_wait", "linger_zero"];

fn scenario(closer: &str) -> String {
    let (time_wait, close) = match closer {
        "no_time_wait" => ("time_wait_s = 0.0\n", "active"),
        "linger_zero" => ("", "linger-zero"),
        _ => ("", "active"),
    };
    format!(
        r#"duration_s = {duration}
[link]
delay_ms = 5.0
[client_tcp]
{time_wait}[[servers]]
close = "wait-for-client"
request_bytes = 100
response_bytes = 100
[[clients]]
schedule = {{ kind = "rate", start_s = 0.0, per_second = 10.0, count = {CONNECTIONS} }}
request_bytes = 100
response_bytes = 100
close = "{close}"
"#,
        duration = CONNECTIONS as f64 / 10.0 + 1000.0,
    )
}

/// Chances the final ACK gets with Linux's 60 s TIME-WAIT: the first, then one per
/// retransmitted FIN that comes before TIME-WAIT ends (the gap doubles from the 200 ms
/// RTO floor; each FIN restarts TIME-WAIT).
pub fn ack_chances_within_time_wait() -> Result<i32, String> {
    let linux = synack_tcp::host::profile("linux").ok_or("no linux profile")?;
    let time_wait = linux.tcp.time_wait_length();
    let mut gap = linux.tcp.rto_min;
    let mut chances = 1;
    while gap < time_wait {
        chances += 1;
        gap = gap.saturating_mul(2);
    }
    Ok(chances)
}

/// Which ACK ends each connection (by client port), and the loss draws.
struct FinalAcks {
    fin_ack: BTreeMap<u16, Seq>,
    rng: SimRng,
    loss: f64,
}

/// How each passive close ended, by the server's LAST-ACK transitions.
#[derive(Default)]
struct Endings {
    clean: u64,
    reset: u64,
    timed_out: u64,
    other: u64,
}

struct Watch(Rc<RefCell<Endings>>);

impl Observer for Watch {
    fn segment(&mut self, _: SimTime, _: &str, _: Way, _: &Datagram, _: SegmentFate) {}

    fn transition(&mut self, node: &str, _tuple: &FourTuple, t: &Transition) {
        if node != "server0" || t.to != State::Closed {
            return;
        }
        let mut e = self.0.borrow_mut();
        match (t.from, t.cause) {
            (State::LastAck, Cause::FinAcked) => e.clean += 1,
            (State::LastAck, Cause::Timeout) => e.timed_out += 1,
            (_, Cause::Reset) => e.reset += 1,
            _ => e.other += 1,
        }
    }
}

impl Experiment for LastAckLoss {
    fn name(&self) -> &'static str {
        "last_ack_loss"
    }

    fn about(&self) -> &'static str {
        "How passive closes end when the final ACK is lost with probability p: with TIME-WAIT a RST needs every re-sent final ACK lost, about p^10 (none up to p = 0.3, 0.39 at p = 0.9 against 0.35 predicted), without it the fraction ended by a RST tracks p, and with SO_LINGER 0 all are RSTs; theory dotted"
    }

    fn axes(&self) -> Vec<Axis> {
        vec![
            Axis::strs(
                "active_closer",
                "TIME-WAIT of 60 s, none (TIME-WAIT 0), or SO_LINGER 0",
                &CLOSERS,
                &CLOSERS,
            ),
            Axis::floats(
                "final_ack_loss",
                "probability that each final ACK is lost",
                &[0.0, 0.1, 0.3, 0.5, 0.9, 1.0],
                &[
                    0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0,
                ],
            )
            .within(0.0, 1.0),
        ]
    }

    fn columns(&self) -> Vec<(&'static str, &'static str)> {
        vec![
            ("passive_closes", "server connections that ended"),
            ("clean_fraction", "LAST-ACK ended by the ACK of the FIN"),
            ("reset_fraction", "ended by a RST"),
            (
                "timeout_fraction",
                "LAST-ACK gave up after its FIN retransmissions",
            ),
            (
                "reset_predicted",
                "p^(ACK chances within TIME-WAIT), p without TIME-WAIT, 1 with SO_LINGER 0",
            ),
        ]
    }

    fn run(&self, point: &Point, _preset: Preset) -> Result<Measured, String> {
        let closer = point.str("active_closer");
        if !CLOSERS.contains(&closer) {
            return Err(format!(
                "active_closer {closer}: expected one of {CLOSERS:?}"
            ));
        }
        let state = Arc::new(Mutex::new(FinalAcks {
            fin_ack: BTreeMap::new(),
            rng: RandomStreams::new(point.seed).stream("final_ack_loss"),
            loss: point.f64("final_ack_loss"),
        }));
        let endings = Rc::new(RefCell::new(Endings::default()));
        let summary = run_world(
            &scenario(closer),
            point.seed,
            |spec| {
                let link = &mut spec.links.first_mut().ok_or("no link")?.config;
                // Backward (server to client): learn each connection's final ACK number.
                let seen = Arc::clone(&state);
                link.backward = Some(DirectionConfig {
                    rules: vec![DropRule::matching(move |d: &Datagram| {
                        let s = &d.segment;
                        if s.has(Flags::FIN) {
                            let fin_ack = s.seq + s.len + 1;
                            let mut acks = seen.lock().expect("not poisoned");
                            acks.fin_ack.insert(s.dst_port, fin_ack);
                        }
                        false
                    })],
                    ..link.both.clone()
                });
                // Forward (client to server): lose those ACKs with probability p.
                let lose = Arc::clone(&state);
                link.forward = Some(DirectionConfig {
                    rules: vec![DropRule::matching(move |d: &Datagram| {
                        let s = &d.segment;
                        let mut acks = lose.lock().expect("not poisoned");
                        if s.flags != Flags::ACK
                            || s.len > 0
                            || acks.fin_ack.get(&s.src_port) != Some(&s.ack)
                        {
                            return false;
                        }
                        let loss = acks.loss;
                        acks.rng.random::<f64>() < loss
                    })],
                    ..link.both.clone()
                });
                Ok(())
            },
            Some(Box::new(Watch(Rc::clone(&endings)))),
        )?;
        let e = endings.borrow();
        let ended = e.clean + e.reset + e.timed_out + e.other;
        if ended != CONNECTIONS {
            return Err(format!("{ended} of {CONNECTIONS} server connections ended"));
        }
        let share = |n: u64| n as f64 / ended as f64;
        let loss = point.f64("final_ack_loss");
        let predicted = match closer {
            "time_wait" => loss.powi(ack_chances_within_time_wait()?),
            "no_time_wait" => loss,
            _ => 1.0,
        };
        Ok(Measured {
            values: vec![
                Value::Int(ended as i64),
                Value::Float(share(e.clean)),
                Value::Float(share(e.reset)),
                Value::Float(share(e.timed_out)),
                Value::Float(predicted),
            ],
            events: summary.events,
        })
    }

    fn plot(&self) -> PlotSpec {
        PlotSpec::new(
            "Passive closes ended by a RST against final-ACK loss, by the active closer's TIME-WAIT",
            "final_ack_loss",
            "reset_fraction",
            Some("active_closer"),
        )
        .theory("reset_predicted")
    }
}
