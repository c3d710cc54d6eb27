//! The file's schema: every section and key, with its default.

use serde::Deserialize;
use synack_tcp::host::Profile;

/// A whole scenario file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// The run's seed. Default 1.
    #[serde(default = "one")]
    pub seed: u64,
    /// How long to simulate, in seconds, above 0. Required.
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
    /// Queue limit in packets: how many may wait while the wire is busy; 0 makes a
    /// bufferless link, which drops a packet that finds the wire busy. Default 100 (ns-3's
    /// DropTailQueue).
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
    /// `at`: the times, seconds (required there, refused elsewhere).
    #[serde(default)]
    pub times_s: Option<Vec<f64>>,
    /// `rate`, `poisson`: when it starts, seconds. Default 0.
    #[serde(default)]
    pub start_s: Option<f64>,
    /// `rate`, `poisson`: connections per second. Default 1.
    #[serde(default)]
    pub per_second: Option<f64>,
    /// `rate`, `poisson`: how many, at least 1. Required there: a missing count made one
    /// connection without a word.
    #[serde(default)]
    pub count: Option<u64>,
}

fn rate() -> String {
    "rate".into()
}

impl Default for ScheduleSection {
    fn default() -> Self {
        // A client with no schedule at all opens one connection at 0 s.
        ScheduleSection {
            kind: rate(),
            times_s: None,
            start_s: None,
            per_second: None,
            count: Some(1),
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
