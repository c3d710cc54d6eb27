//! The lifecycle workload of `synack bench lifecycle`: exactly the scenario of
//! `benches/ns3/ns3_lifecycle.cc`, so the two can be timed side by side.
//!
//! One client host and one server host on a 10 Gbit/s link with 1 ms delay (queue of
//! 100,000 packets, as the anchor's). Connection i opens at 1 s + i / rate, sends `bytes`
//! and closes at once; the server reads and closes when the client's FIN arrives.
//! TIME-WAIT is 2 x MSL. Where ns-3 has no limit, neither does this: the listener's SYN
//! and accept queues and the TIME-WAIT table are unbounded, and the server accepts at
//! once. When more connections are open at once than one address's 28,232 ephemeral
//! ports allow, the client gets more addresses and opens from each in turn.

use crate::app::{ClientClose, ClientSpec, RequestOn, Schedule, ServerClose, ServerSpec};
use crate::topology::NodeId;
use crate::{AppSpec, LinkSpec, NodeSpec, World, WorldError, WorldSpec};
use synack_kernel::{SimDuration, SimTime};
use synack_link::{DirectionConfig, LinkConfig, QueueLimit};
use synack_tcp::TimeWaitLength;
use synack_tcp::host::HostConfig;

/// The workload's parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lifecycle {
    /// Connections (n).
    pub connections: u64,
    /// Connections opened per simulated second.
    pub rate: f64,
    /// Maximum segment lifetime; TIME-WAIT is twice it.
    pub msl: SimDuration,
    /// Bytes each connection sends.
    pub bytes: u64,
    /// The run's seed.
    pub seed: u64,
}

/// What a run did, in the anchor's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LifecycleReport {
    /// Handshakes the client completed.
    pub connected: u64,
    /// Server connections closed cleanly.
    pub server_closed: u64,
    /// Client connections closed cleanly (into TIME-WAIT).
    pub client_closed: u64,
    /// Bytes the server read.
    pub bytes: u64,
    /// When the last event happened.
    pub sim_end: SimTime,
    /// Kernel events processed.
    pub events: u64,
    /// Client addresses used.
    pub client_addresses: u32,
}

const PORTS_PER_ADDRESS: u64 = 28_232;
const SERVER: u32 = 0x0a00_0101;
const CLIENT: u32 = 0x0a00_0001;

impl Lifecycle {
    /// Client addresses needed: connections open at once (each lives about 2 MSL plus a
    /// few RTTs) over the ports of one address.
    pub fn client_addresses(&self) -> u32 {
        let lifetime = 2.0 * self.msl.as_secs_f64() + 0.1;
        let open = (self.rate * lifetime).ceil().min(self.connections as f64) as u64;
        open.div_ceil(PORTS_PER_ADDRESS).max(1) as u32
    }

    /// The world to run.
    pub fn world(&self) -> Result<World, WorldError> {
        let addresses = self.client_addresses();
        let mut host = HostConfig::default();
        host.tcp.msl = self.msl;
        host.tcp.time_wait = TimeWaitLength::TwiceMsl;
        host.max_syn_backlog = u32::MAX;
        host.somaxconn = u32::MAX;
        host.max_time_wait = u32::MAX;
        let link = DirectionConfig {
            delay: SimDuration::from_millis(1),
            bandwidth_bps: Some(10_000_000_000),
            queue: QueueLimit::Packets(100_000),
            ..DirectionConfig::default()
        };
        World::new(WorldSpec {
            seed: self.seed,
            nodes: vec![
                NodeSpec {
                    name: "client".into(),
                    addrs: (0..addresses).map(|k| CLIENT + k).collect(),
                    host: Some(host.clone()),
                },
                NodeSpec {
                    name: "server".into(),
                    addrs: vec![SERVER],
                    host: Some(host),
                },
            ],
            links: vec![LinkSpec {
                name: "link".into(),
                a: NodeId(0),
                b: NodeId(1),
                config: LinkConfig::symmetric(link),
            }],
            apps: vec![
                AppSpec::Server(ServerSpec {
                    node: NodeId(1),
                    port: 80,
                    backlog: u32::MAX,
                    accept_interval: SimDuration::ZERO,
                    request_bytes: self.bytes,
                    response_bytes: 0,
                    close: ServerClose::WaitForClient,
                    close_delay_mean: SimDuration::ZERO,
                }),
                AppSpec::Client(ClientSpec {
                    node: NodeId(0),
                    server_addr: SERVER,
                    server_port: 80,
                    schedule: Schedule::Rate {
                        start: SimTime::from_nanos(1_000_000_000),
                        per_second: self.rate,
                        count: self.connections,
                    },
                    request_bytes: self.bytes,
                    request_on: RequestOn::OwnSegment,
                    response_bytes: 0,
                    requests_per_connection: 1,
                    close: ClientClose::Active,
                    half_close: false,
                    source_port: None,
                    rotate_addresses: true,
                }),
            ],
            faults: vec![],
        })
    }

    /// Runs the workload to its last event.
    pub fn run(&self) -> Result<LifecycleReport, WorldError> {
        let mut world = self.world()?;
        Ok(self.finish(&mut world))
    }

    /// Runs `world` (from [`Lifecycle::world`]) to its last event.
    pub fn finish(&self, world: &mut World) -> LifecycleReport {
        let summary = world.run();
        let closed = |node: &str| summary.host(node).map_or(0, |c| c.closed);
        LifecycleReport {
            connected: summary.first_client().map_or(0, |c| c.connected),
            server_closed: closed("server"),
            client_closed: closed("client"),
            bytes: summary.first_server().map_or(0, |s| s.bytes_received),
            sim_end: summary.end,
            events: summary.events,
            client_addresses: self.client_addresses(),
        }
    }
}
