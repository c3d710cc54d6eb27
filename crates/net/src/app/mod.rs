//! Applications: what drives the sockets. Each is plain data (its spec) plus a small state
//! machine that reacts to socket events and its own timers by calling its host.

mod client;
mod flooder;
mod peer;
mod server;

pub use client::{Client, ClientClose, ClientSpec, ClientStats, RequestOn, Schedule, percentile};
pub use flooder::{FlooderSpec, spoofed_source};
pub use peer::{Peer, PeerSpec, PeerStats};
pub use server::{Server, ServerClose, ServerSpec, ServerStats};

use crate::topology::NodeId;
use synack_kernel::SimTime;
use synack_tcp::host::{ConnId, DemuxHint, Host};

/// What an application asks the world for: timers of its own.
#[derive(Debug, Default)]
pub struct Requests {
    /// Wake the application at these times with these tags.
    pub timers: Vec<(SimTime, u64)>,
    /// Connections it now owns (the world routes their events to it).
    pub owned: Vec<ConnId>,
}

/// A running application.
#[derive(Debug)]
pub enum App {
    /// A client.
    Client(Client),
    /// A server.
    Server(Server),
    /// A SYN flooder (the world sends its SYNs).
    Flooder(FlooderSpec),
    /// One side of a peer-to-peer connection.
    Peer(Peer),
}

impl App {
    /// The node it runs on.
    pub fn node(&self) -> NodeId {
        match self {
            App::Client(c) => c.spec.node,
            App::Server(s) => s.spec.node,
            App::Flooder(f) => f.node,
            App::Peer(p) => p.spec.node,
        }
    }

    /// Starts loading this application's record of the connection a datagram with `hint`
    /// is for: a hint only.
    pub fn prefetch(&self, hint: DemuxHint) {
        match self {
            App::Client(c) => c.prefetch(hint),
            App::Server(s) => s.prefetch(hint),
            App::Flooder(_) | App::Peer(_) => {}
        }
    }
}

pub(super) fn host_addr(host: &Host) -> u32 {
    host.addrs().first().copied().unwrap_or(0)
}
