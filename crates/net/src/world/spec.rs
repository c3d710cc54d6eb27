//! What a world is built from (its nodes, links, applications and faults) and what a run
//! reports.

use crate::app::{ClientSpec, FlooderSpec, PeerSpec, ServerSpec};
use crate::topology::NodeId;
use synack_kernel::SimTime;
use synack_link::LinkConfig;
use synack_tcp::host::{Datagram, HostConfig, HostCounters};

/// A node: a host with a TCP layer, or a router that only forwards.
#[derive(Debug, Clone)]
pub struct NodeSpec {
    /// Its name, for traces and summaries.
    pub name: String,
    /// Its IPv4 addresses (routers need none).
    pub addrs: Vec<u32>,
    /// The TCP layer's configuration; `None` for a router.
    pub host: Option<HostConfig>,
}

/// A point-to-point link; forward is `a` to `b`.
#[derive(Debug, Clone)]
pub struct LinkSpec {
    /// Its name, for traces.
    pub name: String,
    /// One end.
    pub a: NodeId,
    /// The other end.
    pub b: NodeId,
    /// Both directions' behaviour.
    pub config: LinkConfig<Datagram>,
}

/// A scripted fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The host loses all state and goes silent.
    Crash(NodeId, SimTime),
    /// The host comes back empty; its servers listen again.
    Reboot(NodeId, SimTime),
}

/// An application to run.
#[derive(Debug, Clone)]
pub enum AppSpec {
    /// A client.
    Client(ClientSpec),
    /// A server.
    Server(ServerSpec),
    /// A SYN flooder.
    Flooder(FlooderSpec),
    /// One side of a peer-to-peer connection.
    Peer(PeerSpec),
}

/// Everything a world is made of.
#[derive(Debug, Clone)]
pub struct WorldSpec {
    /// The run's seed.
    pub seed: u64,
    /// Nodes, indexed by [`NodeId`].
    pub nodes: Vec<NodeSpec>,
    /// Links, indexed by [`LinkId`](crate::topology::LinkId).
    pub links: Vec<LinkSpec>,
    /// Applications.
    pub apps: Vec<AppSpec>,
    /// Faults.
    pub faults: Vec<Fault>,
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct Summary {
    /// Simulated time at the end.
    pub end: SimTime,
    /// Kernel events processed.
    pub events: u64,
    /// Datagrams with no route (SYN-ACKs to spoofed sources, say).
    pub unroutable: u64,
    /// Simultaneous opens seen (SYN-SENT to SYN-RECEIVED).
    pub simultaneous_opens: u64,
    /// Simultaneous closes seen (FIN-WAIT-1 to CLOSING).
    pub simultaneous_closes: u64,
    /// Each host's counters, by node name.
    pub hosts: Vec<(String, HostCounters)>,
    /// Each host's sockets by state at the end ([`Host::census`](synack_tcp::host::Host::census)), by node name.
    pub sockets: Vec<(String, Vec<(synack_tcp::State, u64)>)>,
    /// Each application, by index.
    pub apps: Vec<AppSummary>,
    /// The host of each application, by index.
    pub app_hosts: Vec<String>,
}

impl Summary {
    /// The first client's statistics, if the run had a client.
    pub fn first_client(&self) -> Option<&crate::app::ClientStats> {
        self.apps.iter().find_map(|a| match a {
            AppSummary::Client(c) => Some(c),
            _ => None,
        })
    }

    /// The first server's statistics, if the run had a server.
    pub fn first_server(&self) -> Option<&crate::app::ServerStats> {
        self.apps.iter().find_map(|a| match a {
            AppSummary::Server(s) => Some(s),
            _ => None,
        })
    }

    /// The TCP counters of the host named `node`.
    pub fn host(&self, node: &str) -> Option<&HostCounters> {
        self.hosts
            .iter()
            .find(|(name, _)| name == node)
            .map(|(_, c)| c)
    }
}

/// One application's results.
#[derive(Debug, Clone)]
pub enum AppSummary {
    /// A client's.
    Client(crate::app::ClientStats),
    /// A server's.
    Server(crate::app::ServerStats),
    /// A flooder's SYNs sent.
    Flooder(u64),
    /// A peer's.
    Peer(crate::app::PeerStats),
}
