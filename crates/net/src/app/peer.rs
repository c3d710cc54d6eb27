//! One side of a peer-to-peer connection (both open at once: a simultaneous open).

use super::{Requests, host_addr};
use crate::topology::NodeId;
use synack_kernel::SimTime;
use synack_tcp::Event;
use synack_tcp::host::{ConnId, ConnectOptions, Host};

/// One side of a peer-to-peer connection: it binds a port and connects to the other side's
/// port at `open_at`, and closes at `close_at`. Two peers opening within a one-way delay of
/// each other make a simultaneous open; closing so, a simultaneous close.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerSpec {
    /// Its node.
    pub node: NodeId,
    /// The port it binds.
    pub local_port: u16,
    /// The other side's address.
    pub peer_addr: u32,
    /// The other side's port.
    pub peer_port: u16,
    /// When it connects.
    pub open_at: SimTime,
    /// When it closes.
    pub close_at: SimTime,
}

/// What a peer saw.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PeerStats {
    /// Whether the connection was established.
    pub connected: bool,
    /// Whether it failed (refused, reset, timed out).
    pub failed: bool,
    /// Whether it was closed cleanly.
    pub closed: bool,
}

/// A running peer.
#[derive(Debug)]
pub struct Peer {
    /// Its spec.
    pub spec: PeerSpec,
    /// What it saw.
    pub stats: PeerStats,
    conn: Option<ConnId>,
}

impl Peer {
    /// A peer not yet started.
    pub fn new(spec: PeerSpec) -> Self {
        Peer {
            spec,
            stats: PeerStats::default(),
            conn: None,
        }
    }

    /// Connects (at `open_at`).
    pub fn open(&mut self, host: &mut Host, now: SimTime, requests: &mut Requests) {
        let options = ConnectOptions {
            local_addr: Some(host_addr(host)),
            local_port: Some(self.spec.local_port),
            ..ConnectOptions::default()
        };
        match host.connect(self.spec.peer_addr, self.spec.peer_port, options, now) {
            Ok(id) => {
                self.conn = Some(id);
                requests.owned.push(id);
            }
            Err(_) => self.stats.failed = true,
        }
    }

    /// Closes (at `close_at`).
    pub fn close(&mut self, host: &mut Host, now: SimTime) {
        if let Some(id) = self.conn {
            let _ = host.close(id, now);
        }
    }

    /// A socket event on its connection.
    pub fn on_event(&mut self, host: &mut Host, id: ConnId, event: Event, now: SimTime) {
        match event {
            Event::Connected => self.stats.connected = true,
            Event::Readable => {
                let _ = host.receive(id, u64::MAX, now);
            }
            Event::Failed(_) => self.stats.failed = true,
            Event::Closed => self.stats.closed = true,
            Event::PeerClosed | Event::ReturnedToListen => {}
        }
    }
}
