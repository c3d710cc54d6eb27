//! `last_ack_loss`: what TIME-WAIT is for. The active closer's final ACK (the ACK of the
//! passive closer's FIN) is lost with probability p, each time it is sent. The passive
//! closer, in LAST-ACK, retransmits its FIN. With TIME-WAIT the active closer still knows
//! the connection and ACKs the FIN again, so the close ends cleanly; without it (TIME-WAIT
//! 0) it answers the FIN with a RST, so a fraction p of the passive closes end in a RST.
//! With SO_LINGER 0 the active closer sends a RST instead of a FIN, and the connection
//! never reaches LAST-ACK: every passive close is a RST, whatever p.
//!
//! TIME-WAIT protects only while it lasts: each retransmitted FIN restarts it, but the
//! FIN's RTO doubles (from about 200 ms here: Linux's floor, as the RTT is 10 ms), so after
//! enough FINs TIME-WAIT would be over before the next one came. On Linux the passive
//! closer gives up first: its socket is an orphan (the server closed it), and an orphan
//! retransmits under `tcp_orphan_retries` (8), not `tcp_retries2` (15) (measured on Linux
//! 6.18: crates/cli/tests/drill/linux/orphan_fin_retries.pkt). Its nine FINs come at most
//! 26 s apart, well within TIME-WAIT, so with TIME-WAIT no close ends in a RST: a fraction
//! p^9 (every final ACK lost) ends with LAST-ACK giving up silently about 107 s after the
//! first FIN. Without TIME-WAIT the first retransmitted FIN meets no connection and draws a
//! RST (a fraction p); with SO_LINGER 0 every close is a RST. The plot draws the closes that
//! end unclean (a RST, or LAST-ACK giving up) with `unclean_predicted`: p^9, p and 1.
//! `reset_predicted` and `timeout_predicted` split it.
//!
//! A client opens 200 connections, 10 a second, to a server 5 ms away, sends 100 bytes,
//! gets 100 back and closes; the server closes on the client's FIN. Only the final ACKs
//! are lost (a link rule that knows each connection's FIN from the server's side), drawn
//! from the point's seed. The run lasts until the slowest outcome (LAST-ACK giving up
//! after its FIN retries) is over.

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

/// What the Linux profile's passive closer does when every final ACK is lost: how many
/// chances the final ACK gets (one per FIN the orphan in LAST-ACK sends: the first and its
/// `orphan_retries` retransmissions), and whether TIME-WAIT, restarted by each FIN, still
/// holds when the last of them comes (the gap doubles from the RTO floor).
pub fn final_ack_chances() -> Result<(i32, bool), String> {
    let linux = synack_tcp::host::Profile::Linux.config();
    let tcp = &linux.tcp;
    let retries = tcp.orphan_retries.unwrap_or(tcp.data_retries);
    let time_wait = tcp.time_wait_length();
    let mut gap = tcp.rto_min;
    let mut chances = 1;
    while chances <= retries as i32 {
        if gap >= time_wait {
            return Ok((chances, false));
        }
        chances += 1;
        gap = gap.saturating_mul(2);
    }
    Ok((chances, true))
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
        "How passive closes end when the final ACK is lost with probability p: with TIME-WAIT none ends in a RST, and a fraction p^9 ends with LAST-ACK giving up after Linux's 8 orphan retries; without it the fraction ended by a RST tracks p, and with SO_LINGER 0 all are RSTs; theory dotted"
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
                "unclean_fraction",
                "ended by a RST or by LAST-ACK giving up",
            ),
            (
                "reset_predicted",
                "0 with TIME-WAIT (it outlasts the FINs), p without it, 1 with SO_LINGER 0",
            ),
            (
                "timeout_predicted",
                "p^(FINs the orphan sends) with TIME-WAIT, 0 otherwise",
            ),
            ("unclean_predicted", "reset_predicted + timeout_predicted"),
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
        let (reset_predicted, timeout_predicted) = match closer {
            "time_wait" => {
                let (chances, time_wait_holds) = final_ack_chances()?;
                let all_lost = loss.powi(chances);
                if time_wait_holds {
                    (0.0, all_lost)
                } else {
                    (all_lost, 0.0)
                }
            }
            "no_time_wait" => (loss, 0.0),
            _ => (1.0, 0.0),
        };
        Ok(Measured {
            values: vec![
                Value::Int(ended as i64),
                Value::Float(share(e.clean)),
                Value::Float(share(e.reset)),
                Value::Float(share(e.timed_out)),
                Value::Float(share(e.reset + e.timed_out)),
                Value::Float(reset_predicted),
                Value::Float(timeout_predicted),
                Value::Float(reset_predicted + timeout_predicted),
            ],
            events: summary.events,
        })
    }

    fn plot(&self) -> PlotSpec {
        PlotSpec::new(
            "Passive closes ended unclean (RST or LAST-ACK giving up) against final-ACK loss",
            "final_ack_loss",
            "unclean_fraction",
            Some("active_closer"),
        )
        .theory("unclean_predicted")
    }
}
