//! `server_capacity`: many clients connect to one server at once. The server application
//! accepts 10,000 connections a second; what it has not accepted yet waits in the accept
//! queue, min(backlog, somaxconn = 4096) + 1 long (Linux's, measured: `host::ListenerRules`). When the queue is full, Linux drops the
//! SYN (and the final ACK of a handshake already under way), and the client waits for its
//! SYN retransmission a second later: the p99 time to a response jumps from milliseconds
//! to seconds once the clients outrun the accept rate by more than the queue holds.
//!
//! The prediction drawn beside the measurement is the fluid bound of [`slow_predicted`]:
//! zero exactly when the accept rate and the queue absorb the burst, as measured, and above
//! the measurement past that point (by 0.02 to 0.16 on the quick preset).
//!
//! N connections open evenly over one second from ceil(N / 20,000) client hosts (so no
//! host runs out of ports) through a star to the server, 1 ms per link; each sends 100
//! bytes and waits for 100 back. The run goes on until every SYN retry has ended.
//!
//! The knee is checked on Linux 6.18 too, scaled to what a harness can drive (100 accepts a
//! second, backlog 32, 100 to 300 clients): `listener_load.py capacity` writes
//! `experiments/data/linux_server_capacity_knee.csv`, and the experiment's test runs the
//! model on the same points ([`slow_at`]).

use crate::grid::{Axis, Point, Value};
use crate::plot::PlotSpec;
use crate::{Experiment, Measured, Preset, all_clients_stats, host_counters, run_scenario};
use std::cell::Cell;
use std::rc::Rc;
use synack_kernel::SimTime;
use synack_link::Way;
use synack_net::app::percentile;
use synack_net::{Observer, SegmentFate};
use synack_tcp::host::Datagram;
use synack_tcp::{Flags, FourTuple, Transition};

/// The experiment.
pub struct ServerCapacity;

/// The accept queue's cap (`somaxconn`).
const SOMAXCONN: u32 = 4096;

/// At most this fraction of `clients` waits a second or more: a fluid queue fed at
/// `clients` a second for one second and drained at the accept rate turns away what
/// exceeds the accept rate and the queue together. Fewer wait that long: a client whose
/// final ACK (not its SYN) met the full queue is established on its side, and its request,
/// retransmitted after 200 ms, completes the handshake once the burst is over and the queue
/// drains.
pub fn slow_predicted(clients: u64, backlog: u32) -> f64 {
    slow_bound(clients, backlog, ACCEPTS_PER_S)
}

/// [`slow_predicted`] for a server accepting `accepts_per_s`. Linux's accept queue holds
/// min(backlog, somaxconn) + 1 (`host::ListenerRules`, measured).
pub fn slow_bound(clients: u64, backlog: u32, accepts_per_s: f64) -> f64 {
    let queue = f64::from(backlog.min(SOMAXCONN) + 1);
    let excess = clients as f64 - accepts_per_s - queue;
    excess.max(0.0) / clients as f64
}

/// The kernel's check of the knee: `listener_load.py capacity` rows, the same scenario
/// scaled to 100 accepts a second and backlog 32 (the harness cannot drive 10,000
/// handshakes a second), on Linux 6.18 here.
pub const KERNEL_KNEE_CSV: &str = include_str!("../data/linux_server_capacity_knee.csv");

/// Of `attempted` connections, the fraction whose response took a second or more (a
/// retransmission's wait): the `slow_fraction` column.
fn slow_fraction(attempted: u64, response_times_s: &[f64]) -> f64 {
    response_times_s.iter().filter(|&&t| t >= 1.0).count() as f64 / attempted as f64
}

/// The slow fraction of one run of the scenario, for a server accepting `accepts_per_s`.
pub fn slow_at(clients: u64, backlog: u32, accepts_per_s: f64, seed: u64) -> Result<f64, String> {
    let summary = run_scenario(&scenario(clients, backlog, accepts_per_s), seed, None)?;
    let stats = all_clients_stats(&summary)?;
    Ok(slow_fraction(stats.attempted, &stats.response_times_s))
}

/// Connections the server application accepts per second.
pub const ACCEPTS_PER_S: f64 = 10_000.0;
const PER_HOST: u64 = 20_000;

fn scenario(clients: u64, backlog: u32, accepts_per_s: f64) -> String {
    let hosts = clients.div_ceil(PER_HOST);
    format!(
        r#"duration_s = 200.0
[topology]
kind = "star"
clients = {hosts}
[[servers]]
backlog = {backlog}
accept_interval_ms = {interval}
request_bytes = 100
response_bytes = 100
[[clients]]
schedule = {{ kind = "rate", start_s = 1.0, per_second = {rate}, count = {count} }}
request_bytes = 100
response_bytes = 100
"#,
        interval = 1e3 / accepts_per_s,
        rate = (clients / hosts) as f64,
        count = clients / hosts,
    )
}

/// The first SYN sent and the last response the server sent (its last accept: the
/// server answers as soon as it has accepted and read the request).
#[derive(Default)]
struct Span {
    first_syn: Cell<Option<SimTime>>,
    last_response: Cell<Option<SimTime>>,
}

struct Watch(Rc<Span>);

impl Observer for Watch {
    fn segment(&mut self, at: SimTime, _: &str, _: Way, d: &Datagram, fate: SegmentFate) {
        let s = &d.segment;
        if fate != SegmentFate::Sent {
            return;
        }
        if s.dst_port == 80 && s.flags == Flags::SYN && self.0.first_syn.get().is_none() {
            self.0.first_syn.set(Some(at));
        } else if s.src_port == 80 && s.len > 0 {
            self.0.last_response.set(Some(at));
        }
    }

    fn transition(&mut self, _: &str, _: &FourTuple, _: &Transition) {}
}

impl Experiment for ServerCapacity {
    fn name(&self) -> &'static str {
        "server_capacity"
    }

    fn about(&self) -> &'static str {
        "Connections that wait a second or more for a response when N clients connect within one second to a server that accepts 10,000 a second, by backlog, beside the fluid bound (dotted): none while the accept rate and queue absorb the burst, and past that point up to the excess they cannot hold; a client whose final ACK met the full queue gets in sooner, on its request's retransmission, which keeps the measurement below the bound; the CSV also has the p99 times"
    }

    fn axes(&self) -> Vec<Axis> {
        vec![
            Axis::ints(
                "backlog",
                "listen() backlog (the accept queue is min(backlog, 4096))",
                &[128, 1024, 4096],
                &[128, 512, 1024, 4096],
            )
            .within(1.0, f64::INFINITY),
            Axis::ints(
                "clients",
                "connections opened within one second",
                &[1000, 5000, 10000, 11000, 12000, 13000, 15000, 20000],
                &[1000, 5000, 10000, 12000, 15000, 20000, 50000, 100000],
            )
            .within(1.0, f64::INFINITY),
        ]
    }

    fn columns(&self) -> Vec<(&'static str, &'static str)> {
        vec![
            ("accepted", "connections the server application accepted"),
            (
                "accepted_per_s",
                "accepted / (last response sent - first SYN sent), per simulated second",
            ),
            ("setup_p99_s", "99th percentile handshake time, client side"),
            ("response_p50_s", "median time from connect to the response"),
            (
                "response_p99_s",
                "99th percentile time from connect to the response",
            ),
            (
                "accept_queue_drops",
                "SYNs and final ACKs dropped because the accept queue was full",
            ),
            ("failed", "connections that never got a response"),
            (
                "slow_fraction",
                "connections whose response took a second or more (a retransmission's wait)",
            ),
            (
                "slow_predicted",
                "max(0, clients - 10,000 x 1 s - accept queue (min(backlog, 4096) + 1)) / clients: the excess the queue cannot hold, an upper bound (module doc)",
            ),
        ]
    }

    fn run(&self, point: &Point, _preset: Preset) -> Result<Measured, String> {
        let clients = point.i64("clients") as u64;
        let backlog = point.i64("backlog") as u32;
        let span = Rc::new(Span::default());
        let summary = run_scenario(
            &scenario(clients, backlog, ACCEPTS_PER_S),
            point.seed,
            Some(Box::new(Watch(Rc::clone(&span)))),
        )?;
        let stats = all_clients_stats(&summary)?;
        let attempted = stats.attempted;
        let (mut setup, mut response) = (stats.setup_times_s, stats.response_times_s);
        setup.sort_by(f64::total_cmp);
        response.sort_by(f64::total_cmp);
        let server = host_counters(&summary, "server0")?;
        let span = match (span.first_syn.get(), span.last_response.get()) {
            (Some(first), Some(last)) => last.saturating_since(first).as_secs_f64(),
            _ => f64::NAN,
        };
        Ok(Measured {
            values: vec![
                Value::Int(server.accepted as i64),
                Value::Float(server.accepted as f64 / span),
                Value::Float(percentile(&setup, 0.99)),
                Value::Float(percentile(&response, 0.5)),
                Value::Float(percentile(&response, 0.99)),
                Value::Int(server.accept_queue_drops as i64),
                Value::Int((attempted - response.len() as u64) as i64),
                Value::Float(slow_fraction(attempted, &response)),
                Value::Float(slow_predicted(clients, backlog)),
            ],
            events: summary.events,
        })
    }

    fn plot(&self) -> PlotSpec {
        PlotSpec::new(
            "Connections that waited a second or more for a response, against clients connecting within a second, by backlog",
            "clients",
            "slow_fraction",
            Some("backlog"),
        )
        .theory("slow_predicted")
        .labels(
            "Clients connecting within one second",
            "Connections that waited >= 1 s (fraction)",
        )
    }
}
