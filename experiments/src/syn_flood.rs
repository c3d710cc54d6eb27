//! `syn_flood`: spoofed SYNs at rate A fill the server's SYN queue with half-open requests
//! that never complete; each holds its slot for the half-open lifetime L, the SYN-ACK
//! retry schedule (doubling from 1 s: L = 2^(n+1) - 1 s for n retries, 63 s for Linux's 5).
//! Once A x L exceeds the queue's size B, the queue is full nearly all the time and a
//! legitimate SYN finds a free slot only with probability about B / (A x L).
//!
//! A client connects to the server (5 ms away) once a second, 100 times, from 70 s on,
//! when the flood (from 0 s to the end) has filled the queue; the run ends after the
//! last client's SYN retries. The server's backlog is 256. Defences:
//! - `off`: nothing (SYN cookies off);
//! - `cookies`: SYN cookies when the queue is full (Linux's default);
//! - `rate_filter`: a per-source filter of 2 SYNs a second (burst 4), against the flood
//!   from 65,536 forged addresses: spoofing defeats it;
//! - `rate_filter_unspoofed`: the same filter, against the flood from one address.
//!
//! "First try" counts handshakes completed on the first SYN (setup under the 1 s initial
//! RTO). The SYN queue's occupancy is averaged over the clients' window, from the server's
//! own state transitions.

use crate::grid::{Axis, Point, Value};
use crate::plot::PlotSpec;
use crate::{Experiment, Measured, Preset, client_stats, run_world};
use std::cell::RefCell;
use std::rc::Rc;
use synack_kernel::SimTime;
use synack_link::Way;
use synack_net::app::percentile;
use synack_net::{Observer, SegmentFate};
use synack_tcp::host::{Datagram, SynRateLimit};
use synack_tcp::{FourTuple, State, Transition};

/// The experiment.
pub struct SynFlood;

const DEFENCES: [&str; 4] = ["off", "cookies", "rate_filter", "rate_filter_unspoofed"];
const BACKLOG: u32 = 256;
const CLIENTS_FROM_S: f64 = 70.0;
const CLIENTS: u64 = 100;

/// The half-open lifetime for `retries` SYN-ACK retransmissions doubling from 1 s.
pub fn half_open_lifetime_s(retries: u32) -> f64 {
    f64::from((1u32 << (retries + 1)) - 1)
}

fn scenario(defence: &str, retries: u32, flood_per_s: f64) -> String {
    let cookies = if defence == "cookies" {
        "when-full"
    } else {
        "off"
    };
    let sources = if defence == "rate_filter_unspoofed" {
        1
    } else {
        65536
    };
    format!(
        r#"duration_s = {duration}
[link]
delay_ms = 5.0
[server_tcp]
syncookies = "{cookies}"
synack_retries = {retries}
[[servers]]
backlog = {BACKLOG}
[[clients]]
schedule = {{ kind = "rate", start_s = {CLIENTS_FROM_S}, per_second = 1.0, count = {CLIENTS} }}
[[flooders]]
per_second = {flood_per_s}
spoofed_sources = {sources}
arrivals = "poisson"
"#,
        // The last client's SYN retries end 131 s after it starts.
        duration = CLIENTS_FROM_S + CLIENTS as f64 + 135.0,
    )
}

/// The server's SYN queue over time: occupancy integrated over the clients' window.
#[derive(Default)]
struct Queue {
    now: usize,
    max: usize,
    since: Option<SimTime>,
    area: f64,
}

const WINDOW: (f64, f64) = (CLIENTS_FROM_S, CLIENTS_FROM_S + CLIENTS as f64);

struct Watch(Rc<RefCell<Queue>>);

impl Observer for Watch {
    fn segment(&mut self, _: SimTime, _: &str, _: Way, _: &Datagram, _: SegmentFate) {}

    fn transition(&mut self, node: &str, _tuple: &FourTuple, t: &Transition) {
        if node != "server0" {
            return;
        }
        let mut q = self.0.borrow_mut();
        let at = t.at.as_secs_f64().clamp(WINDOW.0, WINDOW.1);
        if let Some(since) = q.since {
            q.area += q.now as f64 * (at - since.as_secs_f64().clamp(WINDOW.0, WINDOW.1));
        }
        q.since = Some(t.at);
        if t.to == State::SynReceived && t.from == State::Listen {
            q.now += 1;
        } else if t.from == State::SynReceived {
            q.now -= 1;
        }
        if (WINDOW.0..WINDOW.1).contains(&t.at.as_secs_f64()) {
            q.max = q.max.max(q.now);
        }
    }
}

impl Experiment for SynFlood {
    fn name(&self) -> &'static str {
        "syn_flood"
    }

    fn about(&self) -> &'static str {
        "Legitimate handshakes completed on the first SYN during a spoofed SYN flood, against flood rate x half-open lifetime / backlog, by defence and SYN-ACK retries: they collapse past 1 without cookies (a per-source filter does not help against forged sources), and stay at 100% with cookies"
    }

    fn axes(&self) -> Vec<Axis> {
        vec![
            Axis::strs("defence", "the server's defence", &DEFENCES, &DEFENCES),
            Axis::ints(
                "synack_retries",
                "SYN-ACK retransmissions (half-open lifetime 2^(n+1) - 1 s)",
                &[5, 2],
                &[5, 3, 2, 1],
            )
            .within(0.0, 255.0),
            Axis::floats(
                "flood_per_s",
                "spoofed SYNs per second",
                &[2.0, 8.0, 32.0, 128.0, 512.0],
                &[
                    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0,
                ],
            )
            .within(0.0, f64::INFINITY),
        ]
    }

    fn columns(&self) -> Vec<(&'static str, &'static str)> {
        vec![
            (
                "predicted_load",
                "flood rate x half-open lifetime / backlog: the queue overflows past 1",
            ),
            ("success_rate", "legitimate connects established, of 100"),
            (
                "first_try_rate",
                "legitimate connects established on the first SYN, of 100",
            ),
            ("setup_p50_s", "median setup time of those established"),
            ("setup_p99_s", "99th percentile setup time"),
            (
                "syn_queue_mean",
                "mean SYN-queue occupancy while the clients connect",
            ),
            (
                "syn_queue_max",
                "most SYN-queue entries while the clients connect",
            ),
        ]
    }

    fn run(&self, point: &Point, _preset: Preset) -> Result<Measured, String> {
        let defence = point.str("defence");
        if !DEFENCES.contains(&defence) {
            return Err(format!("defence {defence}: expected one of {DEFENCES:?}"));
        }
        let retries = point.i64("synack_retries") as u32;
        let flood = point.f64("flood_per_s");
        let queue = Rc::new(RefCell::new(Queue::default()));
        let filter = defence.starts_with("rate_filter");
        let summary = run_world(
            &scenario(defence, retries, flood),
            point.seed,
            |spec| {
                if filter {
                    let server = spec
                        .nodes
                        .iter_mut()
                        .find(|n| n.name == "server0")
                        .and_then(|n| n.host.as_mut())
                        .ok_or("no server0")?;
                    server.syn_rate_limit = Some(SynRateLimit {
                        per_second: 2.0,
                        burst: 4,
                    });
                }
                Ok(())
            },
            Some(Box::new(Watch(Rc::clone(&queue)))),
        )?;
        let client = client_stats(&summary)?;
        let mut setup = client.setup_times_s.clone();
        setup.sort_by(f64::total_cmp);
        let first_try = setup.iter().filter(|&&t| t < 1.0).count();
        let q = queue.borrow();
        let n = client.attempted as f64;
        Ok(Measured {
            values: vec![
                Value::Float(flood * half_open_lifetime_s(retries) / f64::from(BACKLOG)),
                Value::Float(client.connected as f64 / n),
                Value::Float(first_try as f64 / n),
                Value::Float(percentile(&setup, 0.5)),
                Value::Float(percentile(&setup, 0.99)),
                Value::Float(q.area / (WINDOW.1 - WINDOW.0)),
                Value::Int(q.max as i64),
            ],
            events: summary.events,
        })
    }

    fn plot(&self) -> PlotSpec {
        // Against the predicted load, both SYN-ACK retry counts fall on one curve.
        let mut spec = PlotSpec::new(
            "Legitimate handshakes done on the first SYN against flood rate x half-open lifetime / backlog",
            "predicted_load",
            "first_try_rate",
            Some("defence"),
        );
        spec.log_x = true;
        spec
    }
}
