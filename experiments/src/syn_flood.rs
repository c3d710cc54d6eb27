//! `syn_flood`: spoofed SYNs at rate A fill the server's SYN queue with half-open requests
//! that never complete, on the model's Linux profile and on a real Linux 6.18 kernel.
//!
//! The textbook's queue is a loss system of B slots, each held for the half-open lifetime
//! L (63 s, 64.6 s on Linux's timer wheel): a legitimate SYN finds a free slot with
//! probability 1 - E(B, A x L), Erlang's loss formula. Linux keeps a queue otherwise, as
//! measured by `crates/tcp/tests/kernel/listener_load.py` (`host::ListenerRules`):
//! - With cookies off, a SYN from an unproven peer is dropped once fewer than a quarter of
//!   `max_syn_backlog` is left, so (with B = backlog = max_syn_backlog here) a legitimate
//!   client finds B - B/4 + 1 slots, not B.
//! - Once the queue is more than half full of requests past their first SYN-ACK timeout,
//!   each request's retry limit falls towards 2 (`reqsk_timer_handler`): under a flood a
//!   request lives 7 or 15 s, not 64.6 s. The mean is what the kernel measured in this
//!   scenario at its highest flood rate (Little's law: the SYN queue's mean over the
//!   requests admitted a second), used for every backlog: pruning's limit depends on the
//!   ratio of requests to young ones, not on B. Between, the queue holds about B/2, where
//!   pruning starts, so a request lives B / (2A).
//!
//! So the prediction drawn is 1 - E(B - B/4 + 1, A x L(A)), with L(A) = 64.6 s while
//! A x 64.6 s < B / 2, else B / (2A), but never below the saturated lifetime the kernel
//! measured nor above the unpruned one.
//!
//! The measurement is of the steady state, which takes care. A flood switched on at full
//! rate against an empty queue fills it at once, and its requests then age and die
//! together, for ever: what a connect sees depends on where in that cycle it falls. So the
//! flood ramps in: for its first 64.6 s it sends at min(A, B / 64.6 s), which fills the
//! queue with entries of every age, then at A (Poisson throughout). Legitimate clients
//! arrive at Poisson times (2 a second, 200 of them, from 10 hosts) from 65.6 s on, so they
//! see the queue as time does.
//!
//! The server (5 ms away) listens with backlog B, and `max_syn_backlog` and `somaxconn`
//! are B too. Defences:
//! - `off`: nothing (SYN cookies off);
//! - `cookies`: SYN cookies when the queue is full (Linux's default);
//! - `rate_filter`: a per-source filter of 3 SYNs a second (burst 40), against the flood
//!   from 65,536 forged addresses: spoofing defeats it. The clients come from 10 hosts, so
//!   that even with every SYN retried (7 SYNs a connect) no host of theirs passes the
//!   filter's rate: from one host, the retries of those the flood turned away drained its
//!   bucket, and first tries fell far below the prediction (1 of 400 where 25 were due);
//! - `rate_filter_unspoofed`: the same filter, against the flood from one address, which
//!   it holds to 3 a second.
//!
//! `source = kernel` reads `experiments/data/linux_syn_flood.csv`: the same scenario run by
//! `listener_load.py flood` against Linux 6.18 in a network namespace here (backlog 256,
//! 5 SYN-ACK retries, cookies off and when-full; `crates/tcp/tests/kernel/
//! syn_flood_series.sh` refreshes it). Its clients give up after 15 s of SYN retries (the
//! model's go on for 131 s), so its `success_rate` counts connects established by then.
//!
//! "First try" counts handshakes completed on the first SYN (setup under the 1 s initial
//! RTO). The SYN queue's occupancy is averaged over the clients' window, from the server's
//! own state transitions (the kernel: `ss` every 0.5 s).

use crate::grid::{Axis, Point, Value};
use crate::kernel_data::{self, Row};
use crate::plot::PlotSpec;
use crate::stats::erlang_b;
use crate::{Experiment, Measured, Preset, all_clients_stats, run_world};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::{Mutex, OnceLock};
use synack_kernel::SimTime;
use synack_link::Way;
use synack_net::app::percentile;
use synack_net::{Observer, SegmentFate};
use synack_tcp::host::schedule::half_open_lifetime;
use synack_tcp::host::{Datagram, Profile, SynRateLimit};
use synack_tcp::{FourTuple, State, Transition};

/// The experiment.
pub struct SynFlood;

const DEFENCES: [&str; 4] = ["off", "cookies", "rate_filter", "rate_filter_unspoofed"];
/// Whose listener: the model's, or the real kernel's (measured).
pub const SOURCES: [&str; 2] = ["model", "kernel"];

/// The kernel's series: `listener_load.py flood` rows (crates/tcp/tests/kernel).
const KERNEL_CSV: &str = include_str!("../data/linux_syn_flood.csv");

/// The kernel's series, read once.
fn kernel_table() -> &'static [Row] {
    static TABLE: OnceLock<Vec<Row>> = OnceLock::new();
    TABLE.get_or_init(|| kernel_data::rows(KERNEL_CSV))
}

/// The kernel's runs of the point's scenario, by seed.
fn kernel_runs(defence: &str, retries: u32, backlog: u32, flood_per_s: f64) -> Vec<&'static Row> {
    let cookies = match defence {
        "off" => 0.0,
        "cookies" => 1.0,
        _ => return Vec::new(),
    };
    if retries != 5 {
        return Vec::new();
    }
    kernel_table()
        .iter()
        .filter(|r| {
            r["syncookies"] == cookies
                && r["backlog"] == f64::from(backlog)
                && r["flood_per_s"] == flood_per_s
        })
        .collect()
}

/// A request's mean lifetime under a flood that keeps Linux's queue full, measured on the
/// kernel in this scenario: the run with cookies off at the highest flood rate, by Little's
/// law (SYN-queue mean / requests admitted a second, while the clients connect).
pub fn saturated_lifetime_s() -> f64 {
    kernel_table()
        .iter()
        .filter(|r| r["syncookies"] == 0.0)
        .max_by(|a, b| a["flood_per_s"].total_cmp(&b["flood_per_s"]))
        .map_or(f64::NAN, |r| r["lifetime_s"])
}

/// The slots a legitimate (unproven) SYN may take with cookies off, backlog =
/// `max_syn_backlog` = `somaxconn` = B: Linux's last-quarter rule leaves B - B/4 + 1
/// (its full queue, B + 1, is never reached).
pub fn free_slots(backlog: u32) -> u32 {
    (backlog - backlog / 4 + 1).min(backlog + 1)
}

/// The mean half-open lifetime at flood rate `admitted_per_s`, pruning included (the
/// module's documentation).
pub fn pruned_lifetime_s(retries: u32, backlog: u32, admitted_per_s: f64) -> f64 {
    let full = half_open_lifetime_s(retries);
    let half_queue = f64::from(backlog) / 2.0;
    if admitted_per_s * full <= half_queue {
        return full;
    }
    let saturated = saturated_lifetime_s().min(full);
    (half_queue / admitted_per_s).clamp(saturated, full)
}
/// Legitimate connects, and their rate (Poisson), from this many hosts.
const CLIENTS: u64 = 200;
const CLIENTS_PER_S: f64 = 2.0;
const CLIENT_HOSTS: u64 = 10;
/// The per-source filter: SYNs a second, and burst.
const FILTER_PER_S: f64 = 3.0;
const FILTER_BURST: u32 = 40;

/// The mean half-open lifetime on the Linux profile with `retries` SYN-ACK
/// retransmissions: 2^(n+1) - 1 s doubling from 1 s, made longer by its timer wheel, which
/// spreads 63 s over 63.6-65.7 s for 5 (64.6 s on average; `half_open_lifetime`). Erlang's
/// formula needs only the mean.
pub fn half_open_lifetime_s(retries: u32) -> f64 {
    static MEANS: Mutex<BTreeMap<u32, f64>> = Mutex::new(BTreeMap::new());
    let mut means = MEANS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    *means.entry(retries).or_insert_with(|| {
        let mut linux = Profile::Linux.config();
        linux.tcp.synack_retries = retries;
        half_open_lifetime(&linux).mean_s
    })
}

/// The SYN rate the server's queue sees under `defence`: a per-source filter holds a
/// single source to its rate, and cannot tell forged sources apart.
pub fn admitted_flood_per_s(defence: &str, flood_per_s: f64) -> f64 {
    if defence == "rate_filter_unspoofed" {
        flood_per_s.min(FILTER_PER_S)
    } else {
        flood_per_s
    }
}

/// The predicted chance that a legitimate SYN completes its handshake at once.
pub fn first_try_predicted(defence: &str, retries: u32, backlog: u32, flood_per_s: f64) -> f64 {
    if defence == "cookies" {
        // A full queue answers with a cookie, which completes like a queued request.
        return 1.0;
    }
    let admitted = admitted_flood_per_s(defence, flood_per_s);
    let offered = admitted * pruned_lifetime_s(retries, backlog, admitted);
    1.0 - erlang_b(free_slots(backlog), offered)
}

/// When the clients start: one lifetime of ramp, and a second.
fn clients_from_s(retries: u32) -> f64 {
    half_open_lifetime_s(retries) + 1.0
}

fn scenario(defence: &str, retries: u32, backlog: u32, flood_per_s: f64) -> String {
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
    let lifetime = half_open_lifetime_s(retries);
    let ramp_per_s = flood_per_s.min(f64::from(backlog) / lifetime);
    let from = clients_from_s(retries);
    let flooder = |per_second: f64, start_s: f64| {
        format!(
            "[[flooders]]\nper_second = {per_second}\nstart_s = {start_s}\n\
             spoofed_sources = {sources}\narrivals = \"poisson\"\n"
        )
    };
    let mut floods = flooder(ramp_per_s, 0.0);
    if flood_per_s > ramp_per_s {
        // Two Poisson streams add up to one at the full rate.
        floods += &flooder(flood_per_s - ramp_per_s, lifetime);
    }
    format!(
        r#"duration_s = {duration}
[topology]
kind = "star"
clients = {CLIENT_HOSTS}
[link]
delay_ms = 5.0
[server_tcp]
syncookies = "{cookies}"
synack_retries = {retries}
max_syn_backlog = {backlog}
somaxconn = {backlog}
[[servers]]
backlog = {backlog}
[[clients]]
schedule = {{ kind = "poisson", start_s = {from}, per_second = {per_host}, count = {count} }}
{floods}"#,
        // Long enough for the last client (the window's mean plus 4 standard deviations)
        // and its SYN retries (the Linux profile gives up after 131 s, up to 135.3 s on its
        // timer wheel).
        duration = from + client_window_s() + 4.0 * (CLIENTS as f64).sqrt() / CLIENTS_PER_S + 136.0,
        per_host = CLIENTS_PER_S / CLIENT_HOSTS as f64,
        count = CLIENTS / CLIENT_HOSTS,
    )
}

/// The clients' mean window, seconds.
fn client_window_s() -> f64 {
    CLIENTS as f64 / CLIENTS_PER_S
}

/// The server's SYN queue over time: occupancy integrated over the clients' window.
struct Queue {
    window: (f64, f64),
    now: usize,
    max: usize,
    since: Option<SimTime>,
    area: f64,
    /// Requests admitted within the window.
    admitted: usize,
}

struct Watch(Rc<RefCell<Queue>>);

impl Observer for Watch {
    fn segment(&mut self, _: SimTime, _: &str, _: Way, _: &Datagram, _: SegmentFate) {}

    fn transition(&mut self, node: &str, _tuple: &FourTuple, t: &Transition) {
        if node != "server0" {
            return;
        }
        let mut q = self.0.borrow_mut();
        let (from, to) = q.window;
        let at = t.at.as_secs_f64().clamp(from, to);
        if let Some(since) = q.since {
            q.area += q.now as f64 * (at - since.as_secs_f64().clamp(from, to));
        }
        q.since = Some(t.at);
        if t.to == State::SynReceived && t.from == State::Listen {
            q.now += 1;
            if (from..to).contains(&t.at.as_secs_f64()) {
                q.admitted += 1;
            }
        } else if t.from == State::SynReceived {
            q.now -= 1;
        }
        if (from..to).contains(&t.at.as_secs_f64()) {
            q.max = q.max.max(q.now);
        }
    }
}

impl Experiment for SynFlood {
    fn name(&self) -> &'static str {
        "syn_flood"
    }

    fn about(&self) -> &'static str {
        "Legitimate handshakes completed on the first SYN during a spoofed SYN flood in steady state, against the flood's rate, by defence, SYN-ACK retries and SYN-queue size, for the model's Linux profile and (at backlog 256) Linux 6.18 measured, beside Erlang's loss formula (dotted) for Linux's queue: without cookies a legitimate SYN finds B - B/4 + 1 slots, held about 9 s once pruning starts (not 64.6 s), so they fall once rate x 9 s passes the queue's size; a bigger queue moves that point to higher rates, fewer retries hardly (pruning already cut them), a per-source filter helps only against an unspoofed flood, and cookies keep every one"
    }

    fn axes(&self) -> Vec<Axis> {
        vec![
            Axis::strs(
                "source",
                "whose listener: the model's Linux profile, or Linux 6.18 (measured: experiments/data/linux_syn_flood.csv, at some points only)",
                &SOURCES,
                &SOURCES,
            ),
            Axis::strs("defence", "the server's defence", &DEFENCES, &DEFENCES),
            Axis::ints(
                "synack_retries",
                "SYN-ACK retransmissions (half-open lifetime 2^(n+1) - 1 s, a little more on the timer wheel)",
                &[5, 2],
                &[5, 3, 2, 1],
            )
            .within(0.0, 30.0),
            Axis::ints(
                "backlog",
                "the SYN queue's size (listen backlog and max_syn_backlog)",
                &[256, 2048],
                &[128, 256, 1024, 4096],
            )
            .within(1.0, 1e6),
            Axis::floats(
                "flood_per_s",
                "spoofed SYNs per second (Poisson)",
                &[
                    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0,
                ],
                &[
                    1.0, 1.4, 2.0, 2.8, 4.0, 5.7, 8.0, 11.3, 16.0, 22.6, 32.0, 45.3, 64.0, 90.5,
                    128.0, 181.0, 256.0, 362.0, 512.0, 724.0, 1024.0, 1448.0, 2048.0,
                ],
            )
            .within(0.0, 1e6),
        ]
    }

    fn replications(&self, preset: Preset) -> u32 {
        match preset {
            Preset::Quick => 4,
            Preset::Full => 10,
        }
    }

    fn columns(&self) -> Vec<(&'static str, &'static str)> {
        vec![
            (
                "series",
                "whose listener, its SYN queue's size and SYN-ACK retries",
            ),
            (
                "offered_load",
                "admitted flood rate x half-open lifetime (pruned) / the slots a legitimate SYN may take: the queue overflows past 1",
            ),
            ("clients", "legitimate connects made"),
            (
                "success_rate",
                "legitimate connects established, of those made (the kernel's clients give up after 15 s)",
            ),
            (
                "first_try_rate",
                "legitimate connects established on the first SYN, of those made",
            ),
            (
                "first_try_predicted",
                "1 - Erlang's loss formula E(queue size, admitted flood rate x lifetime)",
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
            (
                "half_open_lifetime_s",
                "requests' mean lifetime while the clients connect, by Little's law: SYN-queue mean / requests admitted a second",
            ),
        ]
    }

    fn applies(&self, point: &Point) -> bool {
        // The kernel's series: one run a point where it was measured.
        point.str("source") != "kernel"
            || (point.replication as usize)
                < kernel_runs(
                    point.str("defence"),
                    point.i64("synack_retries") as u32,
                    point.i64("backlog") as u32,
                    point.f64("flood_per_s"),
                )
                .len()
    }

    fn run(&self, point: &Point, _preset: Preset) -> Result<Measured, String> {
        let defence = point.str("defence");
        if !DEFENCES.contains(&defence) {
            return Err(format!("defence {defence}: expected one of {DEFENCES:?}"));
        }
        let retries = point.i64("synack_retries") as u32;
        let backlog = point.i64("backlog") as u32;
        let flood = point.f64("flood_per_s");
        let admitted = admitted_flood_per_s(defence, flood);
        let offered = admitted * pruned_lifetime_s(retries, backlog, admitted)
            / f64::from(free_slots(backlog));
        let predicted = first_try_predicted(defence, retries, backlog, flood);
        match point.str("source") {
            "model" => {}
            "kernel" => {
                let runs = kernel_runs(defence, retries, backlog, flood);
                let r = runs
                    .get(point.replication as usize)
                    .ok_or_else(|| format!("no kernel run for {point:?}"))?;
                let clients = r["clients"];
                return Ok(Measured {
                    values: vec![
                        Value::Str(format!("Linux 6.18: {backlog} slots, {retries} retries")),
                        Value::Float(offered),
                        Value::Int(clients as i64),
                        Value::Float(r["established_15s"] / clients),
                        Value::Float(r["first_try_rate"]),
                        Value::Float(predicted),
                        Value::Float(r["setup_p50_s"]),
                        Value::Float(r["setup_p99_s"]),
                        Value::Float(r["syn_queue_mean"]),
                        Value::Int(r["syn_queue_max"] as i64),
                        // With cookies on, a cookie SYN-ACK and a request's look alike
                        // on the wire: the requests' lifetime is not measured there.
                        Value::Float(if defence == "cookies" {
                            f64::NAN
                        } else {
                            r["lifetime_s"]
                        }),
                    ],
                    events: 0,
                });
            }
            other => return Err(format!("source {other}: expected one of {SOURCES:?}")),
        }
        let from = clients_from_s(retries);
        let queue = Rc::new(RefCell::new(Queue {
            window: (from, from + client_window_s()),
            now: 0,
            max: 0,
            since: None,
            area: 0.0,
            admitted: 0,
        }));
        let filter = defence.starts_with("rate_filter");
        let summary = run_world(
            &scenario(defence, retries, backlog, flood),
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
                        per_second: FILTER_PER_S,
                        burst: FILTER_BURST,
                    });
                }
                Ok(())
            },
            Some(Box::new(Watch(Rc::clone(&queue)))),
        )?;
        let client = all_clients_stats(&summary)?;
        let mut setup = client.setup_times_s.clone();
        setup.sort_by(f64::total_cmp);
        let first_try = setup.iter().filter(|&&t| t < 1.0).count();
        let q = queue.borrow();
        let n = client.attempted as f64;
        Ok(Measured {
            values: vec![
                Value::Str(format!("model: {backlog} slots, {retries} retries")),
                Value::Float(offered),
                Value::Int(client.attempted as i64),
                Value::Float(client.connected as f64 / n),
                Value::Float(first_try as f64 / n),
                Value::Float(predicted),
                Value::Float(percentile(&setup, 0.5)),
                Value::Float(percentile(&setup, 0.99)),
                Value::Float(q.area / (q.window.1 - q.window.0)),
                Value::Int(q.max as i64),
                Value::Float(q.area / q.admitted as f64),
            ],
            events: summary.events,
        })
    }

    fn plot(&self) -> PlotSpec {
        PlotSpec::new(
            "Legitimate handshakes done on the first SYN during a SYN flood, by defence: the model, and Linux 6.18 measured",
            "flood_per_s",
            "first_try_rate",
            Some("series"),
        )
        .theory("first_try_predicted")
        .trials("clients")
        .facet("defence")
        .log_x()
        .labels(
            "Spoofed SYNs per second",
            "Handshakes done on the first SYN (fraction)",
        )
    }
}
