//! Scenario files: TOML read with serde. Unknown keys are rejected, every field has a
//! default (documented in the README, next to a complete example), and every value is
//! checked when the world is built, with errors naming the field.
//!
//! Topologies name their hosts and number their addresses so a scenario can refer to them:
//! - `point-to-point`: `client0` (10.0.0.1) and `server0` (10.0.1.1) on link `link0`;
//! - `star`: `client{i}` (10.0.0.i+1) and `server{j}` (10.0.1.j+1), each on its own link
//!   (`client{i}`, `server{j}`) to the router `router`;
//! - `dumbbell`: clients on router `left`, servers on router `right`, joined by link
//!   `bottleneck`.
//!
//! With any flooder, host `attacker` (10.0.2.1) joins the server side on link `attacker`.

use crate::app::{
    ClientClose, ClientSpec, FlooderSpec, RequestOn, Schedule, ServerClose, ServerSpec,
};
use crate::topology::NodeId;
use crate::{AppSpec, Fault, LinkSpec, NodeSpec, WorldSpec};
use serde::Deserialize;
use synack_kernel::{SimDuration, SimTime};
use synack_link::{Delay, DirectionConfig, LinkConfig, Loss, Order};
use synack_tcp::host::{HostConfig, Profile, SynCookies, TwReuse};
use synack_tcp::{JiffyWheel, MAX_ACK_DELAY, TimeWaitLength};

/// A bad scenario: the field and what it accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ScenarioError(pub String);

fn bad(field: &str, message: impl std::fmt::Display) -> ScenarioError {
    ScenarioError(format!("{field}: {message}"))
}

/// A whole scenario file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// The run's seed. Default 1.
    #[serde(default = "one")]
    pub seed: u64,
    /// How long to simulate, in seconds. Required.
    pub duration_s: f64,
    /// Hosts and links.
    #[serde(default)]
    pub topology: Topology,
    /// Every link's behaviour.
    #[serde(default)]
    pub link: LinkSection,
    /// The client hosts' TCP.
    #[serde(default)]
    pub client_tcp: TcpSection,
    /// The server hosts' (and the attacker's) TCP.
    #[serde(default)]
    pub server_tcp: TcpSection,
    /// Client applications.
    #[serde(default)]
    pub clients: Vec<ClientSection>,
    /// Server applications.
    #[serde(default)]
    pub servers: Vec<ServerSection>,
    /// SYN flooders.
    #[serde(default)]
    pub flooders: Vec<FlooderSection>,
    /// Scripted faults.
    #[serde(default)]
    pub faults: Vec<FaultSection>,
    /// Peer-to-peer connections (both sides bind and connect: simultaneous open).
    #[serde(default)]
    pub peers: Vec<PeerSection>,
}

/// A pair of peers that open to each other and later close.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerSection {
    /// One side's host. Default `client0`.
    #[serde(default = "client0")]
    pub a: String,
    /// The other side's host. Default `server0`.
    #[serde(default = "server0")]
    pub b: String,
    /// The port each side binds. Default 5000 and 6000.
    #[serde(default = "ports")]
    pub ports: [u16; 2],
    /// When each side connects, seconds.
    pub open_s: [f64; 2],
    /// When each side closes, seconds.
    pub close_s: [f64; 2],
}

fn client0() -> String {
    "client0".into()
}

fn server0() -> String {
    "server0".into()
}

fn ports() -> [u16; 2] {
    [5000, 6000]
}

fn one() -> u64 {
    1
}

/// Topology.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Topology {
    /// `point-to-point` (default), `star` or `dumbbell`.
    #[serde(default = "p2p")]
    pub kind: String,
    /// Client hosts (star and dumbbell). Default 1.
    #[serde(default = "one_u32")]
    pub clients: u32,
    /// Server hosts (star and dumbbell). Default 1.
    #[serde(default = "one_u32")]
    pub servers: u32,
}

fn p2p() -> String {
    "point-to-point".into()
}

fn one_u32() -> u32 {
    1
}

impl Default for Topology {
    fn default() -> Self {
        Topology {
            kind: p2p(),
            clients: 1,
            servers: 1,
        }
    }
}

/// Every link's behaviour, both directions alike.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LinkSection {
    /// Propagation delay, ms. Default 1.
    pub delay_ms: f64,
    /// Uniform jitter added to each packet, up to this many ms. Default 0.
    pub jitter_ms: f64,
    /// Let jitter reorder packets (otherwise FIFO). Default false.
    pub reorder: bool,
    /// Bandwidth in Mbit/s; 0 means infinite. Default 10000.
    pub bandwidth_mbps: f64,
    /// Queue limit in packets. Default 100.
    pub queue_packets: u32,
    /// Independent loss probability. Default 0.
    pub loss: f64,
    /// Bursty loss: mean burst length in packets (Gilbert-Elliott with `loss` as the
    /// long-run rate); 0 means independent loss. Default 0.
    pub loss_burst_pkts: f64,
    /// Duplication probability. Default 0.
    pub duplicate: f64,
    /// Mean extra delay of a duplicate (exponential), seconds. Default 0.
    pub duplicate_delay_s: f64,
    /// Corruption probability. Default 0.
    pub corrupt: f64,
    /// Maximum lifetime in the network, seconds. Default 120.
    pub max_lifetime_s: f64,
}

impl Default for LinkSection {
    fn default() -> Self {
        LinkSection {
            delay_ms: 1.0,
            jitter_ms: 0.0,
            reorder: false,
            bandwidth_mbps: 10_000.0,
            queue_packets: 100,
            loss: 0.0,
            loss_burst_pkts: 0.0,
            duplicate: 0.0,
            duplicate_delay_s: 0.0,
            corrupt: 0.0,
            max_lifetime_s: 120.0,
        }
    }
}

/// A host's TCP: a profile and overrides of its commonest knobs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TcpSection {
    /// OS profile. Default `linux`.
    pub profile: String,
    /// TIME-WAIT length, seconds (fixed); unset keeps the profile's.
    pub time_wait_s: Option<f64>,
    /// SYN retries; unset keeps the profile's.
    pub syn_retries: Option<u32>,
    /// SYN-ACK retries; unset keeps the profile's.
    pub synack_retries: Option<u32>,
    /// `off`, `when-full` or `always`; unset keeps the profile's.
    pub syncookies: Option<String>,
    /// SYN queue cap; unset keeps the profile's.
    pub max_syn_backlog: Option<u32>,
    /// Accept queue cap; unset keeps the profile's.
    pub somaxconn: Option<u32>,
    /// Ephemeral ports `[low, high]`; unset keeps the profile's.
    pub ephemeral_ports: Option<[u16; 2]>,
    /// `off`, `on` or `loopback`; unset keeps the profile's.
    pub tw_reuse: Option<String>,
    /// Most open connections; unset keeps the profile's (none).
    pub max_open: Option<u32>,
    /// Most TIME-WAIT entries; unset keeps the profile's.
    pub max_time_wait: Option<u32>,
    /// Timestamps option; unset keeps the profile's.
    pub timestamps: Option<bool>,
    /// The kernel's timer wheel the handshake's timers run on, ticks a second (100, 250,
    /// 300 or 1000, Linux's CONFIG_HZ; 0 runs them on time); unset keeps the profile's
    /// (Linux: 250, as measured on Linux 6.18; the others: on time).
    pub timer_wheel_hz: Option<u32>,
    /// Delayed-ACK timeout, ms (0: every segment ACKed at once); unset keeps the profile's
    /// (Linux 40, its minimum ATO).
    pub delayed_ack_ms: Option<f64>,
    /// The two-way handshake variant. Default false.
    pub two_way_handshake: bool,
}

impl Default for TcpSection {
    fn default() -> Self {
        TcpSection {
            profile: Profile::Linux.name().into(),
            time_wait_s: None,
            syn_retries: None,
            synack_retries: None,
            syncookies: None,
            max_syn_backlog: None,
            somaxconn: None,
            ephemeral_ports: None,
            tw_reuse: None,
            max_open: None,
            max_time_wait: None,
            timestamps: None,
            timer_wheel_hz: None,
            delayed_ack_ms: None,
            two_way_handshake: false,
        }
    }
}

/// When a client opens connections.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleSection {
    /// `at`, `rate` (default) or `poisson`.
    #[serde(default = "rate")]
    pub kind: String,
    /// `at`: the times, seconds.
    #[serde(default)]
    pub times_s: Vec<f64>,
    /// `rate`, `poisson`: when it starts, seconds. Default 0.
    #[serde(default)]
    pub start_s: f64,
    /// `rate`, `poisson`: connections per second. Default 1.
    #[serde(default = "one_f64")]
    pub per_second: f64,
    /// `rate`, `poisson`: how many. Default 1.
    #[serde(default = "one")]
    pub count: u64,
}

fn rate() -> String {
    "rate".into()
}

fn one_f64() -> f64 {
    1.0
}

impl Default for ScheduleSection {
    fn default() -> Self {
        ScheduleSection {
            kind: rate(),
            times_s: Vec::new(),
            start_s: 0.0,
            per_second: 1.0,
            count: 1,
        }
    }
}

/// A client application.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClientSection {
    /// The host it runs on; unset runs one on every client host.
    pub host: Option<String>,
    /// The server host. Default `server0`.
    pub server: String,
    /// The server port. Default 80.
    pub port: u16,
    /// When it connects.
    pub schedule: ScheduleSection,
    /// Request size, bytes. Default 1000.
    pub request_bytes: u64,
    /// Where the first request goes: `own-segment` (default: written once connected),
    /// `third-segment` (written during the handshake, so it rides on its last segment) or
    /// `syn` (TCP Fast Open without a cookie; one MSS at most on the SYN).
    pub request_on: String,
    /// Response size it waits for, bytes. Default 1000.
    pub response_bytes: u64,
    /// Requests per connection (keep-alive above 1). Default 1.
    pub requests_per_connection: u32,
    /// `active` (default: the client closes first), `passive`, or `linger-zero` (active,
    /// with SO_LINGER 0: a RST, no TIME-WAIT).
    pub close: String,
    /// Shut down writing after the last request (half-close). Default false.
    pub half_close: bool,
    /// Bind this local port for every connection (one 4-tuple, reused once its TIME-WAIT
    /// ends; connects while it is taken fail locally). Default: an ephemeral port.
    pub source_port: Option<u16>,
}

impl Default for ClientSection {
    fn default() -> Self {
        ClientSection {
            host: None,
            server: "server0".into(),
            port: 80,
            schedule: ScheduleSection::default(),
            request_bytes: 1000,
            request_on: "own-segment".into(),
            response_bytes: 1000,
            requests_per_connection: 1,
            close: "active".into(),
            half_close: false,
            source_port: None,
        }
    }
}

/// A server application.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSection {
    /// The host it runs on. Default `server0`.
    pub host: String,
    /// Its port. Default 80.
    pub port: u16,
    /// listen() backlog. Default 128.
    pub backlog: u32,
    /// Time between accepts, ms; 0 accepts at once. Default 0.
    pub accept_interval_ms: f64,
    /// Request size it waits for, bytes. Default 1000.
    pub request_bytes: u64,
    /// Response size, bytes. Default 1000.
    pub response_bytes: u64,
    /// `after-response`, `wait-for-client` (default) or `never` (leaks CLOSE-WAIT).
    pub close: String,
    /// With `wait-for-client`: the mean of an exponential delay from the client's FIN to
    /// the server's close, ms (the application's work before it closes); 0 closes at
    /// once. Default 0.
    pub close_delay_ms: f64,
}

impl Default for ServerSection {
    fn default() -> Self {
        ServerSection {
            host: "server0".into(),
            port: 80,
            backlog: 128,
            accept_interval_ms: 0.0,
            request_bytes: 1000,
            response_bytes: 1000,
            close: "wait-for-client".into(),
            close_delay_ms: 0.0,
        }
    }
}

/// A SYN flooder on host `attacker`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FlooderSection {
    /// The target host. Default `server0`.
    pub target: String,
    /// The target port. Default 80.
    pub port: u16,
    /// SYNs per second. Default 100.
    pub per_second: f64,
    /// Start, seconds. Default 0.
    pub start_s: f64,
    /// Stop, seconds. Default: the end of the run.
    pub stop_s: Option<f64>,
    /// Spoofed source addresses (172.16.0.0 onward). Default 65536.
    pub spoofed_sources: u32,
    /// `constant` (default: one SYN every 1 / per_second) or `poisson`.
    pub arrivals: String,
}

impl Default for FlooderSection {
    fn default() -> Self {
        FlooderSection {
            target: "server0".into(),
            port: 80,
            per_second: 100.0,
            start_s: 0.0,
            stop_s: None,
            spoofed_sources: 65536,
            arrivals: "constant".into(),
        }
    }
}

/// A scripted fault.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSection {
    /// `crash`, `reboot` or `black-hole`.
    pub kind: String,
    /// `crash`, `reboot`: the host.
    #[serde(default)]
    pub host: Option<String>,
    /// `black-hole`: the link.
    #[serde(default)]
    pub link: Option<String>,
    /// `crash`, `reboot`: when; `black-hole`: from when. Seconds.
    pub at_s: f64,
    /// `black-hole`: until when, seconds.
    #[serde(default)]
    pub until_s: Option<f64>,
}

/// Parses a scenario; errors name the line and the field, and say what the field takes in
/// words, not Rust types.
pub fn parse(text: &str) -> Result<Scenario, ScenarioError> {
    toml::from_str(text).map_err(|e| {
        let message = plain_types(&e.message().replace('\n', " "));
        let Some(span) = e.span() else {
            return ScenarioError(message);
        };
        let start = span.start.min(text.len());
        let line = text[..start].matches('\n').count() + 1;
        // An unknown field's message names it already.
        let field = field_at(text, start).filter(|_| !message.starts_with("unknown field"));
        match field {
            Some(field) => ScenarioError(format!("line {line}: {field}: {message}")),
            None => ScenarioError(format!("line {line}: {message}")),
        }
    })
}

/// The dotted name of the key on the line holding byte `at` (`link.delay_ms`), from the
/// line's `key =` and the table header above it.
fn field_at(text: &str, at: usize) -> Option<String> {
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next()?;
    let key = line.split_once('=')?.0.trim();
    if key.is_empty() || key.starts_with('[') {
        return None;
    }
    if !text[..line_start]
        .lines()
        .any(|l| l.trim().starts_with('['))
    {
        return Some(key.to_string());
    }
    let above = &text[..line_start];
    let header = above
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('['))?;
    let name = header.trim_matches(|c| c == '[' || c == ']').trim();
    // An array of tables: which element, by how many of its headers come before.
    let table = if header.starts_with("[[") {
        let index = above.lines().filter(|l| l.trim() == header).count() - 1;
        format!("{name}[{index}]")
    } else {
        name.to_string()
    };
    Some(format!("{table}.{key}"))
}

/// serde's Rust type names in words.
fn plain_types(message: &str) -> String {
    [
        ("expected f64", "expected a number"),
        ("expected u16", "expected a whole number from 0 to 65535"),
        (
            "expected u32",
            "expected a whole number from 0 to 4294967295",
        ),
        ("expected u64", "expected a whole number >= 0"),
        ("expected u8", "expected a whole number from 0 to 255"),
        ("expected a boolean", "expected true or false"),
    ]
    .iter()
    .fold(message.to_string(), |m, (rust, words)| {
        m.replace(rust, words)
    })
}

fn seconds(field: &str, s: f64) -> Result<SimDuration, ScenarioError> {
    SimDuration::try_from_secs_f64(s).ok_or_else(|| {
        let why = if s.is_finite() && s > 0.0 {
            "must be at most 1.8e10 seconds (simulated time ends after about 584 years)"
        } else {
            "must be a finite number of seconds >= 0"
        };
        bad(field, format!("{why}, got {s}"))
    })
}

/// A client's connection schedule; `f` names its fields.
fn client_schedule(
    sched: &ScheduleSection,
    f: &dyn Fn(&str) -> String,
) -> Result<Schedule, ScenarioError> {
    let rate = || {
        if sched.per_second.is_finite() && sched.per_second > 0.0 {
            Ok(sched.per_second)
        } else {
            Err(bad(
                &f("schedule.per_second"),
                format!("must be > 0, got {}", sched.per_second),
            ))
        }
    };
    Ok(match sched.kind.as_str() {
        "at" => Schedule::At(
            sched
                .times_s
                .iter()
                .map(|&t| at(&f("schedule.times_s"), t))
                .collect::<Result<_, _>>()?,
        ),
        "rate" => Schedule::Rate {
            start: at(&f("schedule.start_s"), sched.start_s)?,
            per_second: rate()?,
            count: sched.count,
        },
        "poisson" => Schedule::Poisson {
            start: at(&f("schedule.start_s"), sched.start_s)?,
            per_second: rate()?,
            count: sched.count,
        },
        other => {
            return Err(bad(
                &f("schedule.kind"),
                format!("expected at, rate or poisson, got {other:?}"),
            ));
        }
    })
}

/// A duration given in milliseconds, checked and reported in milliseconds.
fn millis(field: &str, ms: f64) -> Result<SimDuration, ScenarioError> {
    SimDuration::try_from_secs_f64(ms / 1e3).ok_or_else(|| {
        let why = if ms.is_finite() && ms > 0.0 {
            "must be at most 1.8e13 milliseconds (simulated time ends after about 584 years)"
        } else {
            "must be a finite number of milliseconds >= 0"
        };
        bad(field, format!("{why}, got {ms}"))
    })
}

fn at(field: &str, s: f64) -> Result<SimTime, ScenarioError> {
    Ok(SimTime::ZERO.saturating_add(seconds(field, s)?))
}

fn probability(field: &str, p: f64) -> Result<f64, ScenarioError> {
    if (0.0..=1.0).contains(&p) {
        Ok(p)
    } else {
        Err(bad(
            field,
            format!("must be a probability in [0, 1], got {p}"),
        ))
    }
}

impl LinkSection {
    fn config<P>(&self) -> Result<DirectionConfig<P>, ScenarioError> {
        let loss = probability("link.loss", self.loss)?;
        let burst = self.loss_burst_pkts;
        if !(burst == 0.0 || burst >= 1.0) {
            return Err(bad(
                "link.loss_burst_pkts",
                format!("must be 0 (independent loss) or >= 1, got {burst}"),
            ));
        }
        let loss = if loss == 0.0 {
            Loss::None
        } else if burst == 0.0 {
            Loss::Bernoulli { probability: loss }
        } else {
            if loss >= 1.0 {
                return Err(bad("link.loss", "must be below 1 with loss_burst_pkts"));
            }
            let bad_to_good = 1.0 / burst;
            Loss::GilbertElliott {
                good_to_bad: (loss * bad_to_good / (1.0 - loss)).min(1.0),
                bad_to_good,
                loss_good: 0.0,
                loss_bad: 1.0,
            }
        };
        if !(self.bandwidth_mbps.is_finite() && self.bandwidth_mbps >= 0.0) {
            return Err(bad(
                "link.bandwidth_mbps",
                format!("must be >= 0 (0 is infinite), got {}", self.bandwidth_mbps),
            ));
        }
        let jitter = millis("link.jitter_ms", self.jitter_ms)?;
        Ok(DirectionConfig {
            delay: millis("link.delay_ms", self.delay_ms)?,
            jitter: Delay::Uniform {
                min: SimDuration::ZERO,
                max: jitter,
            },
            order: if self.reorder {
                Order::Reorder
            } else {
                Order::Fifo
            },
            bandwidth_bps: (self.bandwidth_mbps > 0.0)
                .then_some((self.bandwidth_mbps * 1e6) as u64),
            queue: synack_link::QueueLimit::Packets(self.queue_packets),
            loss,
            duplicate_probability: probability("link.duplicate", self.duplicate)?,
            duplicate_delay: Delay::Exponential {
                mean: seconds("link.duplicate_delay_s", self.duplicate_delay_s)?,
            },
            corrupt_probability: probability("link.corrupt", self.corrupt)?,
            max_lifetime: Some(seconds("link.max_lifetime_s", self.max_lifetime_s)?),
            ..DirectionConfig::default()
        })
    }
}

fn choice<T: Copy>(field: &str, value: &str, options: &[(&str, T)]) -> Result<T, ScenarioError> {
    options
        .iter()
        .find(|(name, _)| *name == value)
        .map(|&(_, v)| v)
        .ok_or_else(|| {
            bad(
                field,
                format!(
                    "expected one of {}, got {value:?}",
                    options
                        .iter()
                        .map(|(n, _)| *n)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })
}

impl TcpSection {
    fn config(&self, section: &str) -> Result<HostConfig, ScenarioError> {
        let field = |f: &str| format!("{section}.{f}");
        let mut c = match self.profile.parse::<Profile>() {
            Ok(profile) => profile.config(),
            Err(_) => {
                return Err(bad(
                    &field("profile"),
                    format!(
                        "expected one of {}, got {:?}",
                        Profile::names().join(", "),
                        self.profile
                    ),
                ));
            }
        };
        if let Some(s) = self.time_wait_s {
            c.tcp.time_wait = TimeWaitLength::Fixed(seconds(&field("time_wait_s"), s)?);
        }
        if let Some(n) = self.syn_retries {
            c.tcp.syn_retries = n;
        }
        if let Some(n) = self.synack_retries {
            c.tcp.synack_retries = n;
        }
        if let Some(v) = &self.syncookies {
            c.syncookies = choice(
                &field("syncookies"),
                v,
                &[
                    ("off", SynCookies::Off),
                    ("when-full", SynCookies::WhenFull),
                    ("always", SynCookies::Always),
                ],
            )?;
        }
        if let Some(v) = &self.tw_reuse {
            c.tw_reuse = choice(
                &field("tw_reuse"),
                v,
                &[
                    ("off", TwReuse::Off),
                    ("on", TwReuse::On),
                    ("loopback", TwReuse::LoopbackOnly),
                ],
            )?;
        }
        if let Some(n) = self.max_syn_backlog {
            c.max_syn_backlog = n;
        }
        if let Some(n) = self.somaxconn {
            c.somaxconn = n;
        }
        if let Some([low, high]) = self.ephemeral_ports {
            c.ephemeral_ports = (low, high);
        }
        if self.max_open.is_some() {
            c.max_open = self.max_open;
        }
        if let Some(n) = self.max_time_wait {
            c.max_time_wait = n;
        }
        if let Some(t) = self.timestamps {
            c.tcp.timestamps = t;
        }
        if let Some(hz) = self.timer_wheel_hz {
            c.tcp.timer_wheel = (hz > 0).then_some(JiffyWheel { hz });
        }
        if let Some(ms) = self.delayed_ack_ms {
            let delay = millis(&field("delayed_ack_ms"), ms)?;
            if delay >= MAX_ACK_DELAY {
                return Err(bad(
                    &field("delayed_ack_ms"),
                    format!("must be at least 0 and below 500 ms (RFC 9293 3.8.6.3), got {ms}"),
                ));
            }
            c.tcp.delayed_ack = (delay > SimDuration::ZERO).then_some(delay);
        }
        c.tcp.two_way_handshake = self.two_way_handshake;
        c.validate().map_err(|e| bad(&field(e.field), e.message))?;
        Ok(c)
    }
}

struct Built {
    nodes: Vec<NodeSpec>,
    links: Vec<LinkSpec>,
}

impl Built {
    fn node(&self, name: &str, field: &str) -> Result<NodeId, ScenarioError> {
        self.nodes
            .iter()
            .position(|n| n.name == name)
            .map(|i| NodeId(i as u32))
            .ok_or_else(|| {
                bad(
                    field,
                    format!(
                        "no host {name:?}; the hosts are {}",
                        self.nodes
                            .iter()
                            .filter(|n| n.host.is_some())
                            .map(|n| n.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            })
    }

    fn addr(&self, id: NodeId) -> u32 {
        self.nodes[id.0 as usize].addrs[0]
    }
}

impl Scenario {
    /// The world this scenario describes.
    /// The world this scenario describes: its topology, then its applications, then its
    /// faults, each checked and named by field.
    pub fn world(&self) -> Result<WorldSpec, ScenarioError> {
        let duration = at("duration_s", self.duration_s)?;
        let mut built = self.topology()?;
        let mut apps = self.server_apps(&built)?;
        apps.extend(self.client_apps(&built)?);
        apps.extend(self.flooder_apps(&built, duration)?);
        apps.extend(self.peer_apps(&built)?);
        let faults = self.faults(&mut built)?;
        Ok(WorldSpec {
            seed: self.seed,
            nodes: built.nodes,
            links: built.links,
            apps,
            faults,
        })
    }

    /// The nodes and links of `topology`, and an attacker beside the servers if there are
    /// flooders.
    fn topology(&self) -> Result<Built, ScenarioError> {
        let direction = self.link.config()?;
        let link_config = LinkConfig::symmetric(direction);
        let client = self.client_tcp.config("client_tcp")?;
        let server = self.server_tcp.config("server_tcp")?;
        let host = |name: String, addr: u32, config: &HostConfig| NodeSpec {
            name,
            addrs: vec![addr],
            host: Some(config.clone()),
        };
        let router = |name: &str| NodeSpec {
            name: name.into(),
            addrs: vec![],
            host: None,
        };
        let mut nodes = Vec::new();
        let mut links = Vec::new();
        let link = |name: String, a: usize, b: usize| LinkSpec {
            name,
            a: NodeId(a as u32),
            b: NodeId(b as u32),
            config: link_config.clone(),
        };
        let (clients, servers) = (self.topology.clients, self.topology.servers);
        if clients == 0 || servers == 0 {
            return Err(bad("topology", "needs at least one client and one server"));
        }
        let client_addr = |i: u32| 0x0a00_0001 + i;
        let server_addr = |j: u32| 0x0a00_0101 + j;
        let server_side = match self.topology.kind.as_str() {
            "point-to-point" => {
                if clients != 1 || servers != 1 {
                    return Err(bad(
                        "topology.kind",
                        "point-to-point has one client and one server; use star or dumbbell",
                    ));
                }
                nodes.push(host("client0".into(), client_addr(0), &client));
                nodes.push(host("server0".into(), server_addr(0), &server));
                links.push(link("link0".into(), 0, 1));
                1
            }
            "star" => {
                nodes.push(router("router"));
                for i in 0..clients {
                    nodes.push(host(format!("client{i}"), client_addr(i), &client));
                    links.push(link(format!("client{i}"), nodes.len() - 1, 0));
                }
                for j in 0..servers {
                    nodes.push(host(format!("server{j}"), server_addr(j), &server));
                    links.push(link(format!("server{j}"), 0, nodes.len() - 1));
                }
                0
            }
            "dumbbell" => {
                nodes.push(router("left"));
                nodes.push(router("right"));
                links.push(link("bottleneck".into(), 0, 1));
                for i in 0..clients {
                    nodes.push(host(format!("client{i}"), client_addr(i), &client));
                    links.push(link(format!("client{i}"), nodes.len() - 1, 0));
                }
                for j in 0..servers {
                    nodes.push(host(format!("server{j}"), server_addr(j), &server));
                    links.push(link(format!("server{j}"), 1, nodes.len() - 1));
                }
                1
            }
            other => {
                return Err(bad(
                    "topology.kind",
                    format!("expected point-to-point, star or dumbbell, got {other:?}"),
                ));
            }
        };
        if !self.flooders.is_empty() {
            nodes.push(host("attacker".into(), 0x0a00_0201, &server));
            links.push(link("attacker".into(), nodes.len() - 1, server_side));
        }
        Ok(Built { nodes, links })
    }

    fn server_apps(&self, built: &Built) -> Result<Vec<AppSpec>, ScenarioError> {
        let mut apps = Vec::new();
        for (k, s) in self.servers.iter().enumerate() {
            let f = |x: &str| format!("servers[{k}].{x}");
            if s.port == 0 {
                return Err(bad(&f("port"), "must be a port 1-65535"));
            }
            let close = choice(
                &f("close"),
                &s.close,
                &[
                    ("after-response", ServerClose::AfterResponse),
                    ("wait-for-client", ServerClose::WaitForClient),
                    ("never", ServerClose::Never),
                ],
            )?;
            if s.backlog == 0 {
                return Err(bad(&f("backlog"), "must be at least 1"));
            }
            let close_delay_mean = millis(&f("close_delay_ms"), s.close_delay_ms)?;
            if close_delay_mean > SimDuration::ZERO && close != ServerClose::WaitForClient {
                return Err(bad(
                    &f("close_delay_ms"),
                    format!(
                        "applies only to close = \"wait-for-client\" (0 otherwise), got {} ms with close = \"{}\"",
                        s.close_delay_ms, s.close
                    ),
                ));
            }
            apps.push(AppSpec::Server(ServerSpec {
                node: built.node(&s.host, &f("host"))?,
                port: s.port,
                backlog: s.backlog,
                accept_interval: millis(&f("accept_interval_ms"), s.accept_interval_ms)?,
                request_bytes: s.request_bytes,
                response_bytes: s.response_bytes,
                close,
                close_delay_mean,
            }));
        }
        Ok(apps)
    }

    fn client_apps(&self, built: &Built) -> Result<Vec<AppSpec>, ScenarioError> {
        let clients = self.topology.clients;
        let mut apps = Vec::new();
        for (k, c) in self.clients.iter().enumerate() {
            let f = |x: &str| format!("clients[{k}].{x}");
            let close = choice(
                &f("close"),
                &c.close,
                &[
                    ("active", ClientClose::Active),
                    ("passive", ClientClose::Passive),
                    ("linger-zero", ClientClose::LingerZero),
                ],
            )?;
            let schedule = client_schedule(&c.schedule, &f)?;
            self.check_within_run(&f("schedule"), &c.schedule)?;
            if c.port == 0 {
                return Err(bad(&f("port"), "must be a port 1-65535"));
            }
            if c.host.as_deref() == Some(c.server.as_str()) {
                return Err(bad(
                    &f("server"),
                    format!("is the client's own host {:?}; name another host", c.server),
                ));
            }
            if c.requests_per_connection == 0 {
                return Err(bad(&f("requests_per_connection"), "must be at least 1"));
            }
            if c.source_port == Some(0) {
                return Err(bad(&f("source_port"), "must be a port 1-65535, or unset"));
            }
            let request_on = choice(
                &f("request_on"),
                &c.request_on,
                &[
                    ("own-segment", RequestOn::OwnSegment),
                    ("third-segment", RequestOn::ThirdSegment),
                    ("syn", RequestOn::Syn),
                ],
            )?;
            if request_on == RequestOn::Syn && c.source_port.is_some() {
                return Err(bad(
                    &f("request_on"),
                    "\"syn\" needs an ephemeral port: unset source_port",
                ));
            }
            self.check_sizes_match(k, c)?;
            let server = built.node(&c.server, &f("server"))?;
            let hosts: Vec<NodeId> = match &c.host {
                Some(h) => vec![built.node(h, &f("host"))?],
                None => (0..clients)
                    .map(|i| built.node(&format!("client{i}"), &f("host")))
                    .collect::<Result<_, _>>()?,
            };
            for node in hosts {
                apps.push(AppSpec::Client(ClientSpec {
                    node,
                    server_addr: built.addr(server),
                    server_port: c.port,
                    schedule: schedule.clone(),
                    request_bytes: c.request_bytes,
                    request_on,
                    response_bytes: c.response_bytes,
                    requests_per_connection: c.requests_per_connection,
                    close,
                    half_close: c.half_close,
                    source_port: c.source_port,
                    rotate_addresses: false,
                }));
            }
        }
        Ok(apps)
    }

    /// A connection scheduled after the run ends is a mistake.
    fn check_within_run(&self, field: &str, sched: &ScheduleSection) -> Result<(), ScenarioError> {
        let late = |name: &str, t: f64| {
            bad(
                &format!("{field}.{name}"),
                format!(
                    "{t} s is after the run ends (duration_s = {} s)",
                    self.duration_s
                ),
            )
        };
        match sched.kind.as_str() {
            "at" => match sched.times_s.iter().find(|&&t| t > self.duration_s) {
                Some(&t) => Err(late("times_s", t)),
                None => Ok(()),
            },
            _ if sched.start_s > self.duration_s => Err(late("start_s", sched.start_s)),
            _ => Ok(()),
        }
    }

    /// The server reads a fixed request size: a mismatch would hang every connection.
    fn check_sizes_match(&self, k: usize, c: &ClientSection) -> Result<(), ScenarioError> {
        let f = |x: &str| format!("clients[{k}].{x}");
        if let Some((j, s)) = self
            .servers
            .iter()
            .enumerate()
            .find(|(_, s)| s.host == c.server && s.port == c.port)
        {
            for (field, ours, theirs) in [
                ("request_bytes", c.request_bytes, s.request_bytes),
                ("response_bytes", c.response_bytes, s.response_bytes),
            ] {
                if ours != theirs {
                    return Err(bad(
                        &f(field),
                        format!(
                            "is {ours} but servers[{j}].{field} is {theirs}; set both to the same size"
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    fn flooder_apps(
        &self,
        built: &Built,
        duration: SimTime,
    ) -> Result<Vec<AppSpec>, ScenarioError> {
        let mut apps = Vec::new();
        for (k, fl) in self.flooders.iter().enumerate() {
            let f = |x: &str| format!("flooders[{k}].{x}");
            if fl.port == 0 {
                return Err(bad(&f("port"), "must be a port 1-65535"));
            }
            let target = built.node(&fl.target, &f("target"))?;
            if !(fl.per_second.is_finite() && fl.per_second > 0.0) {
                return Err(bad(
                    &f("per_second"),
                    format!("must be > 0, got {}", fl.per_second),
                ));
            }
            apps.push(AppSpec::Flooder(FlooderSpec {
                node: built.node("attacker", &f("target"))?,
                target_addr: built.addr(target),
                target_port: fl.port,
                per_second: fl.per_second,
                start: at(&f("start_s"), fl.start_s)?,
                stop: match fl.stop_s {
                    Some(s) => at(&f("stop_s"), s)?,
                    None => duration,
                },
                spoof_base: 0xac10_0000,
                spoof_count: fl.spoofed_sources.max(1),
                poisson: choice(
                    &f("arrivals"),
                    &fl.arrivals,
                    &[("constant", false), ("poisson", true)],
                )?,
            }));
        }
        Ok(apps)
    }

    fn peer_apps(&self, built: &Built) -> Result<Vec<AppSpec>, ScenarioError> {
        let mut apps = Vec::new();
        for (k, p) in self.peers.iter().enumerate() {
            let f = |x: &str| format!("peers[{k}].{x}");
            if p.ports.contains(&0) {
                return Err(bad(&f("ports"), "must be two ports 1-65535"));
            }
            let ends = [built.node(&p.a, &f("a"))?, built.node(&p.b, &f("b"))?];
            for side in 0..2 {
                apps.push(AppSpec::Peer(crate::app::PeerSpec {
                    node: ends[side],
                    local_port: p.ports[side],
                    peer_addr: built.addr(ends[1 - side]),
                    peer_port: p.ports[1 - side],
                    open_at: at(&f("open_s"), p.open_s[side])?,
                    close_at: at(&f("close_s"), p.close_s[side])?,
                }));
            }
        }
        Ok(apps)
    }

    /// The faults; a black hole goes into its link's configuration.
    fn faults(&self, built: &mut Built) -> Result<Vec<Fault>, ScenarioError> {
        let mut faults = Vec::new();
        for (k, fault) in self.faults.iter().enumerate() {
            let f = |x: &str| format!("faults[{k}].{x}");
            let when = at(&f("at_s"), fault.at_s)?;
            if fault.at_s > self.duration_s {
                return Err(bad(
                    &f("at_s"),
                    format!(
                        "{} s is after the run ends (duration_s = {} s)",
                        fault.at_s, self.duration_s
                    ),
                ));
            }
            match fault.kind.as_str() {
                "crash" | "reboot" => {
                    let name = fault
                        .host
                        .as_deref()
                        .ok_or_else(|| bad(&f("host"), "a crash or reboot needs its host"))?;
                    let node = built.node(name, &f("host"))?;
                    faults.push(if fault.kind == "crash" {
                        Fault::Crash(node, when)
                    } else {
                        Fault::Reboot(node, when)
                    });
                }
                "black-hole" => {
                    let name = fault
                        .link
                        .as_deref()
                        .ok_or_else(|| bad(&f("link"), "a black hole needs its link"))?;
                    let until = at(
                        &f("until_s"),
                        fault
                            .until_s
                            .ok_or_else(|| bad(&f("until_s"), "a black hole needs until_s"))?,
                    )?;
                    if until < when {
                        return Err(bad(
                            &f("until_s"),
                            format!("must be at or after at_s ({})", fault.at_s),
                        ));
                    }
                    let names: Vec<String> = built.links.iter().map(|l| l.name.clone()).collect();
                    let l = built
                        .links
                        .iter_mut()
                        .find(|l| l.name == name)
                        .ok_or_else(|| {
                            bad(
                                &f("link"),
                                format!("no link {name:?}; the links are {}", names.join(", ")),
                            )
                        })?;
                    l.config.both.black_holes.push((when, until));
                }
                other => {
                    return Err(bad(
                        &f("kind"),
                        format!("expected crash, reboot or black-hole, got {other:?}"),
                    ));
                }
            }
        }
        Ok(faults)
    }

    /// When the run ends.
    pub fn duration(&self) -> Result<SimTime, ScenarioError> {
        at("duration_s", self.duration_s)
    }
}
