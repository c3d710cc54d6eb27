//! A host's TCP layer: demultiplexing, listeners with SYN and accept queues, SYN cookies,
//! ephemeral ports, the TIME-WAIT table, limits, crash and reboot. Sans-io like the
//! endpoint: it is handed datagrams, socket calls and `now`, appends what it sends and
//! what the application learns to its [`HostOutput`], and reports its next deadline.
//!
//! Parts, a module each: `sockets` (the socket table: slots, generations, occupancy;
//! [`ConnMap`] for a driver's per-connection data), `demux` (the 4-tuple table of sockets
//! and TIME-WAIT records, and how its values encode which) on `tag_table` (the
//! open-addressing table under it), `timers` (one liveness test), `listeners` (SYN and
//! accept queues, cookies, the SYN rate filter) with `listener_rules`, `time_wait_table` (the
//! compact records and what a segment does to one), `active_open` (connect, ports), `calls`
//! (socket calls, and collecting an endpoint's output after each), `datagram` (what is
//! sent, and the demultiplexing hint beside it), `config` and `profile` (the knobs and the
//! OS profiles).
//!
//! Decisions, where real stacks differ or the RFC is silent:
//! - A listener's SYN queue holds at most min(backlog, `max_syn_backlog`) half-open
//!   requests, its accept queue min(backlog, `somaxconn`) established ones. A SYN that finds
//!   the accept queue full is dropped, as Linux does.
//! - Half-open requests are full endpoints in SYN-RECEIVED (Linux keeps smaller request
//!   socks); their SYN-ACK schedule is the endpoint's.
//! - Entering TIME-WAIT, a connection becomes a compact record ([`crate::TimeWait`] and its
//!   expiry) and its socket is done for the application (as Linux's timewait socks).
//! - Ephemeral ports are tried from an offset hashed from the destination, then in order.
//! - A crashed host drops every datagram silently; after a reboot it has no state, so
//!   segments of old connections get the CLOSED reply (RST).

mod active_open;
mod calls;
mod config;
mod connmap;
pub mod cookies;
mod datagram;
mod demux;
mod listener_rules;
mod listeners;
mod occupancy;
mod ports;
mod profile;
mod ratelimit;
pub mod schedule;
mod sockets;
mod tag_table;
mod time_wait_table;
mod timers;

#[cfg(test)]
mod tests;

pub use active_open::ConnectOptions;
pub use config::{HostConfig, SynCookies, TwReuse, keepalive_detection};
pub use connmap::ConnMap;
pub use datagram::{Datagram, DemuxHint, HostOutput, Outgoing};
pub use listener_rules::{ListenerRules, QueueState};
pub use profile::{Profile, ReferenceTimes, Setting, SysctlDialect, UnknownProfile};
pub use ratelimit::SynRateLimit;
pub use sockets::ConnId;

use crate::connection::Output;
use crate::{
    Cause, Connection, Flags, FourTuple, IsnSource, Segment, State, Transition, UserError,
};
use active_open::PortOffsets;
use demux::NO_SLOT;
use listeners::Listeners;
use ports::PortsInUse;
use rand::Rng;
use sockets::{Socket, SocketTable, Stage};
use std::sync::Arc;
use synack_kernel::{RandomStreams, SimDuration, SimTime};
use time_wait_table::TimeWaitTable;
use timers::Timers;

/// What a socket call on the host refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HostError {
    /// EADDRNOTAVAIL: no ephemeral port is free for this destination.
    #[error("address not available: no free ephemeral port")]
    AddressNotAvailable,
    /// EMFILE: the open-connection limit is reached.
    #[error("too many open connections")]
    TooManyOpen,
    /// EADDRINUSE: a listener already has this port.
    #[error("address in use: port {0} already listens")]
    AddressInUse(u16),
    /// No listener on this port.
    #[error("no listener on port {0}")]
    NotListening(u16),
    /// A listen backlog of 0.
    #[error("backlog must be at least 1")]
    ZeroBacklog,
    /// The handle is stale (the connection is gone).
    #[error("no such connection")]
    NoSuchConnection,
    /// The host is down (crashed and not rebooted).
    #[error("host is down")]
    Down,
    /// The endpoint refused the call.
    #[error(transparent)]
    User(#[from] UserError),
}

/// Counters of one host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HostCounters {
    /// Active opens (connect calls that sent a SYN).
    pub opened: u64,
    /// Connections handed to the application by accept.
    pub accepted: u64,
    /// Application connections refused (ECONNREFUSED).
    pub refused: u64,
    /// Application connections reset (ECONNRESET).
    pub reset: u64,
    /// Application connections timed out (ETIMEDOUT).
    pub timed_out: u64,
    /// Half-open requests that gave up after their SYN-ACK retries.
    pub half_open_expired: u64,
    /// SYNs dropped because the SYN queue was full (and cookies were off), or, by Linux's
    /// rules, because only its last quarter was left (`host::ListenerRules`).
    pub syn_queue_drops: u64,
    /// SYNs or final ACKs dropped (or answered with RST) because the accept queue was full.
    pub accept_queue_drops: u64,
    /// Cookie SYN-ACKs sent.
    pub cookies_sent: u64,
    /// Cookie ACKs that validated.
    pub cookies_validated: u64,
    /// ACKs at a listener that did not validate as cookies.
    pub cookies_rejected: u64,
    /// TIME-WAIT entries now.
    pub time_wait: u64,
    /// The most TIME-WAIT entries at once.
    pub time_wait_peak: u64,
    /// Closing sockets that skipped TIME-WAIT because the table was full.
    pub time_wait_skipped: u64,
    /// Connect calls that found no free port.
    pub port_exhaustion: u64,
    /// Connections in CLOSE-WAIT now.
    pub close_wait: u64,
    /// SYNs the per-source rate filter dropped.
    pub syn_rate_limited: u64,
    /// Connections that delivered bytes of another incarnation of their 4-tuple, or at a
    /// wrong stream offset (byte identity), counted when they end.
    pub misdelivered_connections: u64,
    /// The bytes those connections misdelivered.
    pub misdelivered_bytes: u64,
    /// Connections that closed cleanly: into TIME-WAIT, or CLOSED with no error.
    pub closed: u64,
}

impl HostCounters {
    /// How many counters there are.
    pub const COUNT: usize = 20;

    /// Every counter by name, in the order tables print them. The one list of them: the
    /// destructuring below has no `..`, so a new field that is not named here fails to
    /// compile.
    pub fn named(&self) -> [(&'static str, u64); Self::COUNT] {
        let HostCounters {
            opened,
            accepted,
            refused,
            reset,
            timed_out,
            half_open_expired,
            syn_queue_drops,
            accept_queue_drops,
            cookies_sent,
            cookies_validated,
            cookies_rejected,
            time_wait,
            time_wait_peak,
            time_wait_skipped,
            port_exhaustion,
            close_wait,
            syn_rate_limited,
            misdelivered_connections,
            misdelivered_bytes,
            closed,
        } = *self;
        [
            ("opened", opened),
            ("accepted", accepted),
            ("closed", closed),
            ("refused", refused),
            ("reset", reset),
            ("timed_out", timed_out),
            ("half_open_expired", half_open_expired),
            ("syn_queue_drops", syn_queue_drops),
            ("accept_queue_drops", accept_queue_drops),
            ("cookies_sent", cookies_sent),
            ("cookies_validated", cookies_validated),
            ("cookies_rejected", cookies_rejected),
            ("time_wait", time_wait),
            ("time_wait_peak", time_wait_peak),
            ("time_wait_skipped", time_wait_skipped),
            ("port_exhaustion", port_exhaustion),
            ("close_wait", close_wait),
            ("syn_rate_limited", syn_rate_limited),
            ("misdelivered_connections", misdelivered_connections),
            ("misdelivered_bytes", misdelivered_bytes),
        ]
    }
}

/// A host's TCP layer: its sockets, listeners, TIME-WAIT records, ports and timers.
pub struct Host {
    config: HostConfig,
    /// The endpoint configuration of new connections (the host's `config.tcp`, shared).
    tcp: Arc<crate::TcpConfig>,
    addrs: Vec<u32>,
    up: bool,
    sockets: SocketTable,
    listeners: Listeners,
    time_wait: TimeWaitTable,
    /// Ephemeral ports held by connections and TIME-WAIT entries, for `connect`.
    ports: PortsInUse,
    port_offsets: PortOffsets,
    timers: Timers,
    isn: IsnSource,
    /// The incarnation number of the last connection opened (byte identity).
    last_incarnation: u32,
    /// Connections counted against `max_open`: opened by connect, or accepted.
    open: u32,
    counters: HostCounters,
    /// What an endpoint call writes, emptied into `output` after each call.
    endpoint_output: Output,
    output: HostOutput,
}

/// A 4-tuple from 1:`port` to 2:80, for the host's table tests.
#[cfg(test)]
fn test_tuple(port: u16) -> FourTuple {
    FourTuple {
        local_addr: 1,
        local_port: port,
        remote_addr: 2,
        remote_port: 80,
    }
}

impl Host {
    /// A host with addresses `addrs` (the first is the default source), drawing its random
    /// keys from the stream `name/tcp`. `incarnation_base` makes this host's connection
    /// incarnations distinct from other hosts' (each connection gets the next number).
    pub fn new(
        config: HostConfig,
        addrs: Vec<u32>,
        streams: &RandomStreams,
        name: &str,
        incarnation_base: u32,
    ) -> Result<Self, crate::ConfigError> {
        config.validate()?;
        let mut rng = streams.stream(&format!("{name}/tcp"));
        let isn = IsnSource::new(config.tcp.isn, &mut rng);
        let cookie_key = [rng.next_u64(), rng.next_u64()];
        let port_key = rng.next_u64();
        Ok(Host {
            tcp: Arc::new(config.tcp.clone()),
            ports: PortsInUse::new(config.ephemeral_ports),
            config,
            addrs,
            up: true,
            sockets: SocketTable::default(),
            listeners: Listeners::new(cookie_key),
            time_wait: TimeWaitTable::default(),
            port_offsets: PortOffsets::new(port_key),
            timers: Timers::default(),
            isn,
            last_incarnation: incarnation_base,
            open: 0,
            counters: HostCounters::default(),
            endpoint_output: Output::default(),
            output: HostOutput::default(),
        })
    }

    /// The host's addresses, the default source first.
    pub fn addrs(&self) -> &[u32] {
        &self.addrs
    }

    /// The configuration.
    pub fn config(&self) -> &HostConfig {
        &self.config
    }

    /// The counters, with the current TIME-WAIT count.
    pub fn counters(&self) -> HostCounters {
        HostCounters {
            time_wait: self.time_wait.len() as u64,
            ..self.counters
        }
    }

    /// What the host produced since the last call; the caller empties it.
    pub fn output(&mut self) -> &mut HostOutput {
        &mut self.output
    }

    /// Connections held (any state but TIME-WAIT, which is in the table).
    pub fn connections(&self) -> usize {
        self.sockets.len()
    }

    /// Sockets by state now, in the state diagram's order, states with none left out: a
    /// LISTEN a listener, each connection's state, a TIME-WAIT an entry.
    pub fn census(&self) -> Vec<(State, u64)> {
        let mut counts = std::collections::BTreeMap::new();
        let listening = self.listeners.len() as u64;
        if listening > 0 {
            counts.insert(State::Listen, listening);
        }
        for (_, socket) in self.sockets.iter() {
            *counts.entry(socket.conn.state()).or_insert(0) += 1;
        }
        if !self.time_wait.is_empty() {
            *counts.entry(State::TimeWait).or_insert(0) += self.time_wait.len() as u64;
        }
        counts.into_iter().collect()
    }

    /// TIME-WAIT entries held.
    pub fn time_wait_len(&self) -> usize {
        self.time_wait.len()
    }

    /// Every connection held (TIME-WAIT aside): its id, 4-tuple and state, as a socket
    /// listing (`ss`, `sockstat`) shows them.
    pub fn sockets(&self) -> impl Iterator<Item = (ConnId, FourTuple, State)> + '_ {
        self.sockets
            .iter()
            .map(|(id, socket)| (id, socket.tuple, socket.conn.state()))
    }

    /// The 4-tuples of the TIME-WAIT entries held.
    pub fn time_wait_tuples(&self) -> impl Iterator<Item = &FourTuple> {
        self.time_wait.tuples()
    }

    /// Drops the TIME-WAIT entry of `tuple`, silently, as an administrator may (FreeBSD's
    /// `tcpdrop`, Linux's `ss -K`); `false` if there was none.
    pub fn drop_time_wait(&mut self, tuple: &FourTuple, now: SimTime) -> bool {
        let held = self
            .time_wait
            .get(self.sockets.tuple_table(), tuple)
            .is_some();
        self.remove_time_wait(tuple, Cause::Abort, now);
        held
    }

    /// The connection's endpoint, while it exists.
    pub fn connection(&self, id: ConnId) -> Option<&Connection> {
        self.sockets.get(id).map(|s| &s.conn)
    }

    /// The connection's state, while it exists.
    pub fn state(&self, id: ConnId) -> Option<State> {
        self.connection(id).map(Connection::state)
    }

    /// The connection's 4-tuple, while it exists.
    pub fn tuple(&self, id: ConnId) -> Option<FourTuple> {
        self.sockets.get(id).map(|s| s.tuple)
    }

    /// Replaces the host's configuration, as `sysctl` does on a running kernel: what is read
    /// when it is used (cookies, queue limits, TIME-WAIT rules) applies from now on; open
    /// connections keep their own endpoint configuration. The ephemeral range changes only
    /// while no port is in use.
    pub fn set_config(&mut self, config: HostConfig) -> Result<(), crate::ConfigError> {
        config.validate()?;
        if config.ephemeral_ports != self.config.ephemeral_ports && self.open == 0 {
            self.ports = PortsInUse::new(config.ephemeral_ports);
        }
        self.tcp = Arc::new(config.tcp.clone());
        self.config = config;
        Ok(())
    }

    /// The next connection's incarnation number.
    fn incarnation(&mut self) -> u32 {
        self.last_incarnation = self.last_incarnation.wrapping_add(1);
        self.last_incarnation
    }

    fn insert_socket(
        &mut self,
        conn: Connection,
        tuple: FourTuple,
        peer_slot: u32,
        stage: Stage,
    ) -> ConnId {
        let id = self.sockets.insert(
            Socket {
                conn,
                tuple,
                stage,
                young: matches!(stage, Stage::HalfOpen(_)),
            },
            peer_slot,
        );
        self.ports.take(&tuple);
        if stage.is_open() {
            self.open += 1;
        }
        id
    }

    fn remove_socket(&mut self, id: ConnId) {
        let Some(socket) = self.sockets.remove(id) else {
            return;
        };
        self.timers.forget(id.slot);
        self.ports.release(&socket.tuple);
        if socket.conn.failure().is_none()
            && matches!(socket.conn.state(), State::Closed | State::TimeWait)
        {
            self.counters.closed += 1;
        }
        let integrity = socket.conn.integrity();
        if !integrity.is_clean() {
            self.counters.misdelivered_connections += 1;
            self.counters.misdelivered_bytes +=
                integrity.wrong_incarnation + integrity.wrong_offset;
        }
        // CLOSE-WAIT was counted in, and not out: every transition has been collected.
        if socket.conn.state() == State::CloseWait {
            self.counters.close_wait -= 1;
        }
        match socket.stage {
            Stage::Active | Stage::Accepted => self.open -= 1,
            Stage::HalfOpen(port) => {
                if let Some(l) = self.listeners.get_mut(port) {
                    l.remove_request(socket.young);
                }
            }
            Stage::Queued(port) => {
                if let Some(l) = self.listeners.get_mut(port) {
                    l.accept_queue.retain(|&q| q != id);
                }
            }
        }
    }

    // ---- Time ----------------------------------------------------------------------------

    /// The earliest time [`Host::on_timeout`] may have work, if any. Superseded timers at
    /// the front are dropped first, so a caller is not woken for nothing.
    pub fn next_deadline(&mut self) -> Option<SimTime> {
        self.time_wait.drop_stale_expiries();
        let timers = self.timers.next_deadline(&self.sockets);
        let tw = self.time_wait.next_expiry();
        match (timers, tw) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Runs every timer due at or before `now`.
    pub fn on_timeout(&mut self, now: SimTime) {
        self.expire_time_wait(now);
        while let Some(id) = self.timers.pop_due(&mut self.sockets, now) {
            let socket = self.sockets.get_mut(id).expect("armed");
            let request = match socket.stage {
                Stage::HalfOpen(port) => Some(port),
                _ => None,
            };
            if let Some(limit) =
                request.and_then(|p| self.listeners.synack_retries(p, &self.config))
            {
                socket.conn.limit_handshake_retries(limit);
            }
            socket.conn.on_timeout(now, &mut self.endpoint_output);
            // A request that retransmitted its SYN-ACK is no longer young.
            if let Some(port) = request
                && socket.young
                && socket.conn.retransmits() > 0
            {
                socket.young = false;
                self.listeners.age_request(port);
            }
            self.collect_endpoint_output(id, now);
        }
    }

    // ---- Arrivals --------------------------------------------------------------------------

    /// Starts loading into the cache what `datagram`'s arrival will touch: the socket its
    /// hint names, and its 4-tuple's place in the table of sockets and TIME-WAIT entries (a
    /// SYN looks there, and the segment that ends a connection removes it). For a driver that
    /// knows what arrives next: with a million connections open each is a cache miss, and
    /// this overlaps them with other work. Only a hint: it never changes what any call does.
    ///
    /// Returns whether it prefetched: not while the host has had fewer than
    /// [`Host::PREFETCH_FROM`] sockets open at once, when its sockets stay in the cache and
    /// computing the addresses would be all cost. A caller may skip its own prefetches
    /// likewise, and start loading its own [`ConnMap`] entries with [`ConnMap::prefetch`].
    pub fn prefetch(&self, datagram: &Datagram, hint: DemuxHint) -> bool {
        if self.sockets.slots_used() < Self::PREFETCH_FROM {
            return false;
        }
        self.sockets.prefetch(&datagram.receiver_tuple(), hint.to);
        true
    }

    /// Socket slots (the most sockets a host has had open at once) from which
    /// [`Host::prefetch`] works: 4,096 slots are 950 KB, about a core's L2 cache.
    pub const PREFETCH_FROM: usize = 4096;

    /// A datagram arrives at `now`, without a hint (from outside the simulated hosts).
    pub fn handle(&mut self, datagram: &Datagram, now: SimTime) {
        self.handle_with_hint(datagram, DemuxHint::NONE, now);
    }

    /// A datagram arrives at `now`, with the hint its sender's output gave it.
    pub fn handle_with_hint(&mut self, datagram: &Datagram, hint: DemuxHint, now: SimTime) {
        if !self.up || !self.addrs.contains(&datagram.dst) {
            return;
        }
        let seg = &datagram.segment;
        if self.config.drop_syn_fin && seg.has(Flags::SYN) && seg.has(Flags::FIN) {
            return;
        }
        let tuple = datagram.receiver_tuple();
        let from = hint.from;
        if let Some(slot) = self.sockets.find(hint.to, &tuple) {
            if from != NO_SLOT {
                self.sockets.set_peer_slot(slot, from);
            }
            let id = self.sockets.id(slot);
            self.deliver_to_connection(id, seg, now);
        } else if self
            .time_wait
            .get(self.sockets.tuple_table(), &tuple)
            .is_some()
        {
            self.deliver_to_time_wait(tuple, from, seg, now);
        } else if self.listeners.contains(seg.dst_port) {
            self.deliver_to_listener(tuple, from, seg, None, now);
        } else {
            self.reply_closed(tuple, seg);
        }
    }

    fn deliver_to_connection(&mut self, id: ConnId, seg: &Segment, now: SimTime) {
        let socket = self.sockets.get(id).expect("indexed");
        if self.final_ack_overflows(socket, seg) {
            self.counters.accept_queue_drops += 1;
            if self.config.abort_on_overflow {
                self.abort(id, now);
            }
            return;
        }
        let socket = self.sockets.get_mut(id).expect("indexed");
        socket.conn.handle(seg, now, &mut self.endpoint_output);
        self.collect_endpoint_output(id, now);
    }

    // ---- Faults ------------------------------------------------------------------------------

    /// The host crashes at `now`: every connection, listener and TIME-WAIT entry vanishes
    /// without a segment (each connection and entry records its end, cause
    /// [`Cause::Crash`]), and datagrams are ignored until [`Host::reboot`].
    pub fn crash(&mut self, now: SimTime) {
        self.up = false;
        self.endpoint_output.clear();
        let crashed = |from| Transition {
            at: now,
            from,
            to: State::Closed,
            cause: Cause::Crash,
        };
        for (id, socket) in self.sockets.iter() {
            let ended = crashed(socket.conn.state());
            self.output
                .transitions
                .push((Some(id), socket.tuple, ended));
        }
        for tuple in self.time_wait.tuples() {
            let ended = crashed(State::TimeWait);
            self.output.transitions.push((None, *tuple, ended));
        }
        self.sockets.clear();
        self.ports.clear();
        self.listeners.clear();
        self.time_wait = TimeWaitTable::default();
        self.timers.clear();
        self.open = 0;
        self.counters.close_wait = 0;
    }

    /// The host comes back with no state: old connections' segments get RSTs.
    pub fn reboot(&mut self) {
        self.up = true;
    }

    /// Whether the host is up.
    pub fn is_up(&self) -> bool {
        self.up
    }

    /// How long TIME-WAIT lasts here.
    pub fn time_wait_length(&self) -> SimDuration {
        self.config.tcp.time_wait_length()
    }
}
