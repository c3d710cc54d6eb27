//! A host's TCP layer: demultiplexing, listeners with SYN and accept queues, SYN cookies,
//! ephemeral ports, the TIME-WAIT table, limits, crash and reboot. Sans-io like the
//! endpoint: it is handed datagrams, socket calls and `now`, appends what it sends and
//! what the application learns to its [`HostOutput`], and reports its next deadline.
//!
//! Decisions, where real stacks differ or the RFC is silent:
//! - A listener's SYN queue holds at most min(backlog, `max_syn_backlog`) half-open
//!   requests, its accept queue min(backlog, `somaxconn`) established ones. A SYN that finds
//!   the accept queue full is dropped, as Linux does.
//! - Half-open requests are full endpoints in SYN-RECEIVED (Linux keeps smaller request
//!   socks); their SYN-ACK schedule is the endpoint's.
//! - Entering TIME-WAIT, a connection becomes a compact [`timewait::Entry`] and its socket
//!   is done for the application (as Linux's timewait socks).
//! - Ephemeral ports are tried from an offset hashed from the destination, then in order.
//! - A crashed host drops every datagram silently; after a reboot it has no state, so
//!   segments of old connections get the CLOSED reply (RST).

mod config;
pub mod cookies;
mod demux;
mod occupancy;
mod ports;
mod probe;
mod ratelimit;
pub mod schedule;
mod timewait;

pub use config::{HostConfig, PROFILES, SynCookies, TwReuse, keepalive_detection, profile};
pub use ratelimit::SynRateLimit;

use crate::connection::Output;
use crate::{
    Connection, ErrorKind, Event, Flags, FourTuple, IsnSource, Segment, Seq, State, TimeWait,
    Transition, UserError, Verdict, closed_reply,
};
use demux::{DemuxTable, tuple_tag};
use occupancy::Occupancy;
use ports::PortsInUse;
use rand::Rng;
use rustc_hash::FxHashMap;
use std::collections::VecDeque;
use std::sync::Arc;
use synack_kernel::chunked::Chunked;
use synack_kernel::hint::prefetch;
use synack_kernel::queue::{Entry, EventQueue, TimingWheel};
use synack_kernel::{RandomStreams, SimDuration, SimTime};
use timewait::TimeWaitTable;

/// An IPv4 datagram carrying a TCP segment.
#[derive(Debug, Clone, Copy)]
pub struct Datagram {
    /// Source address.
    pub src: u32,
    /// Destination address.
    pub dst: u32,
    /// The segment.
    pub segment: Segment,
    /// Simulator metadata, not on the wire; see [`DemuxHint`].
    pub demux: DemuxHint,
}

impl Datagram {
    /// A datagram without a demultiplexing hint.
    pub fn new(src: u32, dst: u32, segment: Segment) -> Self {
        Datagram {
            src,
            dst,
            segment,
            demux: DemuxHint::NONE,
        }
    }

    /// The 4-tuple as the receiving host sees it: its address and port are the local ones.
    pub fn receiver_tuple(&self) -> FourTuple {
        FourTuple {
            local_addr: self.dst,
            local_port: self.segment.dst_port,
            remote_addr: self.src,
            remote_port: self.segment.src_port,
        }
    }
}

/// Equal when addresses and segments are: the hint is not part of what was sent.
impl PartialEq for Datagram {
    fn eq(&self, other: &Self) -> bool {
        (self.src, self.dst, self.segment) == (other.src, other.dst, other.segment)
    }
}

impl Eq for Datagram {}

/// Where the sending socket sits in its host, and where the sender believes the receiving
/// socket sits in the receiver (the slot named in the peer's last datagram), as Linux's
/// early demux caches a socket on the packet or an ns-3 packet tag rides along. The
/// receiver checks the hinted slot's 4-tuple before its 4-tuple table and falls back to the
/// table on any mismatch, so the hint never changes which socket gets a segment: it saves
/// the table's lookup, two cache misses a segment with a million connections open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemuxHint {
    /// The sending socket's slot ([`ConnId::slot`]), or [`DemuxHint::NO_SLOT`].
    pub from: u32,
    /// The receiving socket's slot as the sender last learned it, or [`DemuxHint::NO_SLOT`].
    pub to: u32,
}

impl DemuxHint {
    /// No slot known.
    pub const NO_SLOT: u32 = u32::MAX;
    /// No hint either way.
    pub const NONE: DemuxHint = DemuxHint {
        from: Self::NO_SLOT,
        to: Self::NO_SLOT,
    };
}

/// A socket's handle: a slot and the generation that owns it, so a stale handle never
/// reaches a later connection in the same slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId {
    slot: u32,
    generation: u32,
}

impl ConnId {
    /// The socket's slot. Slots are dense (reused as connections end), so a caller may keep
    /// its own per-connection data in a vector indexed by slot instead of a hash map.
    pub fn slot(self) -> u32 {
        self.slot
    }

    /// Which occupant of the slot this is; no two connections of a host share both.
    pub fn generation(self) -> u32 {
        self.generation
    }
}

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
    /// SYNs dropped because the SYN queue was full (and cookies were off).
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

/// What the host produced since the last drain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostOutput {
    /// Datagrams to send, in order.
    pub datagrams: Vec<Datagram>,
    /// Socket events, by connection.
    pub events: Vec<(ConnId, Event)>,
    /// State changes, by connection and 4-tuple.
    pub transitions: Vec<(ConnId, FourTuple, Transition)>,
}

impl HostOutput {
    /// Whether nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.datagrams.is_empty() && self.events.is_empty() && self.transitions.is_empty()
    }
}

/// Where a connection stands with respect to the application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Opened by connect.
    Active,
    /// In a listener's SYN queue.
    HalfOpen(u16),
    /// Established, in a listener's accept queue.
    Queued(u16),
    /// Handed to the application by accept.
    Accepted,
}

struct Slot {
    generation: u32,
    /// The peer socket's slot in its host, from its socket's last datagram ([`DemuxHint`]).
    /// Here rather than in [`Socket`], where it would grow every slot by 8 bytes of padding.
    peer_slot: u32,
    /// The earliest wake-up queued for the slot's socket. Beside the generation, so telling
    /// a superseded timer from a live one reads one cache line of the slot, not two.
    armed: SimTime,
    entry: Option<Socket>,
}

struct Socket {
    conn: Connection,
    tuple: FourTuple,
    stage: Stage,
}

struct Listener {
    /// What accepted connections use (the host's unless set on the listening socket).
    config: Arc<TcpConfigShared>,
    backlog: u32,
    half_open: u32,
    accept_queue: VecDeque<ConnId>,
}

/// A host's TCP layer.
pub struct Host {
    config: HostConfig,
    tcp: Arc<TcpConfigShared>,
    addrs: Vec<u32>,
    up: bool,
    slots: Chunked<Slot>,
    /// Which slots hold a socket: a timer entry of a removed one is dropped by this alone.
    occupied: Occupancy,
    free: Vec<u32>,
    by_tuple: DemuxTable,
    listeners: FxHashMap<u16, Listener>,
    time_wait: TimeWaitTable,
    /// Ephemeral ports held by connections and TIME-WAIT entries, for `connect`.
    ports: PortsInUse,
    timers: TimingWheel<(u32, u32)>,
    timer_seq: u64,
    /// The timer wheel's first entry as (time, seq, slot), once found live: it stays live
    /// until its socket's `armed` changes or the socket goes, which forgets it. Saves a
    /// look at a socket (a cache miss, with a million open) every `next_deadline`.
    live_first: Option<(SimTime, u64, u32)>,
    isn: IsnSource,
    cookie_key: [u64; 2],
    port_key: u64,
    port_counter: u32,
    next_incarnation: u32,
    open: u32,
    syn_buckets: ratelimit::SourceBuckets,
    counters: HostCounters,
    out: Output,
    output: HostOutput,
}

/// Whether `id`'s socket still exists and its earliest wake-up is `time`: a timer entry
/// for it is live. An empty slot is told by its occupancy bit alone; otherwise this reads
/// only the slot's generation and `armed`, not the socket.
fn armed_at(slots: &Chunked<Slot>, occupied: &Occupancy, id: ConnId, time: SimTime) -> bool {
    occupied.holds(id.slot)
        && slots
            .get(id.slot)
            .is_some_and(|slot| slot.generation == id.generation && slot.armed == time)
}

/// The socket `id` names, if it still exists. Free functions, so a caller can borrow the
/// slots apart from the host's other fields.
fn socket_in(slots: &Chunked<Slot>, id: ConnId) -> Option<&Socket> {
    let slot = slots.get(id.slot)?;
    (slot.generation == id.generation).then_some(slot.entry.as_ref()?)
}

fn socket_in_mut(slots: &mut Chunked<Slot>, id: ConnId) -> Option<&mut Socket> {
    let slot = slots.get_mut(id.slot)?;
    (slot.generation == id.generation).then_some(slot.entry.as_mut()?)
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

/// The 4-tuple of the socket in `slot`, if one is there.
fn tuple_in(slots: &Chunked<Slot>, slot: u32) -> Option<FourTuple> {
    slots.get(slot)?.entry.as_ref().map(|s| s.tuple)
}

/// The endpoint configuration, shared by every connection of a host.
type TcpConfigShared = crate::TcpConfig;

const NEVER: SimTime = SimTime::MAX;

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
        let ports = PortsInUse::new(config.ephemeral_ports);
        Ok(Host {
            tcp: Arc::new(config.tcp.clone()),
            config,
            addrs,
            up: true,
            slots: Chunked::default(),
            occupied: Occupancy::default(),
            free: Vec::new(),
            by_tuple: DemuxTable::default(),
            listeners: FxHashMap::default(),
            time_wait: TimeWaitTable::default(),
            ports,
            timers: TimingWheel::with_fast_peek(),
            live_first: None,
            timer_seq: 0,
            isn,
            cookie_key: [rng.next_u64(), rng.next_u64()],
            port_key: rng.next_u64(),
            port_counter: 0,
            next_incarnation: incarnation_base,
            open: 0,
            syn_buckets: ratelimit::SourceBuckets::default(),
            counters: HostCounters::default(),
            out: Output::default(),
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
        self.by_tuple.len()
    }

    /// TIME-WAIT entries held.
    pub fn time_wait_len(&self) -> usize {
        self.time_wait.len()
    }

    fn socket(&self, id: ConnId) -> Option<&Socket> {
        socket_in(&self.slots, id)
    }

    fn socket_mut(&mut self, id: ConnId) -> Option<&mut Socket> {
        socket_in_mut(&mut self.slots, id)
    }

    /// The socket and the endpoints' output buffer, borrowed together.
    fn socket_with_out(&mut self, id: ConnId) -> (Option<&mut Socket>, &mut Output) {
        (socket_in_mut(&mut self.slots, id), &mut self.out)
    }

    fn id(&self, slot: u32) -> ConnId {
        ConnId {
            slot,
            generation: self.slots[slot].generation,
        }
    }

    /// The connection's endpoint, while it exists.
    pub fn connection(&self, id: ConnId) -> Option<&Connection> {
        self.socket(id).map(|s| &s.conn)
    }

    /// The connection's state, while it exists.
    pub fn state(&self, id: ConnId) -> Option<State> {
        self.connection(id).map(Connection::state)
    }

    /// The connection's 4-tuple, while it exists.
    pub fn tuple(&self, id: ConnId) -> Option<FourTuple> {
        self.socket(id).map(|s| s.tuple)
    }

    fn insert(
        &mut self,
        conn: Connection,
        tuple: FourTuple,
        peer_slot: u32,
        stage: Stage,
    ) -> ConnId {
        let socket = Socket { conn, tuple, stage };
        let slot = match self.free.pop() {
            Some(slot) => {
                let entry = &mut self.slots[slot];
                entry.entry = Some(socket);
                entry.peer_slot = peer_slot;
                entry.armed = NEVER;
                slot
            }
            None => self.slots.push(Slot {
                generation: 0,
                peer_slot,
                armed: NEVER,
                entry: Some(socket),
            }),
        };
        self.occupied.set(slot);
        let slots = &self.slots;
        self.by_tuple.insert(&tuple, slot, |s| tuple_in(slots, s));
        self.ports.take(&tuple);
        if matches!(stage, Stage::Active | Stage::Accepted) {
            self.open += 1;
        }
        self.id(slot)
    }

    fn remove(&mut self, id: ConnId) {
        let Some(socket) = self.slots[id.slot].entry.take() else {
            return;
        };
        self.occupied.unset(id.slot);
        self.forget_first(id.slot);
        self.slots[id.slot].generation = self.slots[id.slot].generation.wrapping_add(1);
        self.free.push(id.slot);
        self.by_tuple.remove(&socket.tuple, id.slot);
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
        // CLOSE-WAIT counted in, and not out: `after` has seen every transition by now.
        if socket.conn.state() == State::CloseWait {
            self.counters.close_wait -= 1;
        }
        match socket.stage {
            Stage::Active | Stage::Accepted => self.open -= 1,
            Stage::HalfOpen(port) => {
                if let Some(l) = self.listeners.get_mut(&port) {
                    l.half_open -= 1;
                }
            }
            Stage::Queued(port) => {
                if let Some(l) = self.listeners.get_mut(&port) {
                    l.accept_queue.retain(|&q| q != id);
                }
            }
        }
    }

    fn incarnation(&mut self) -> u32 {
        self.next_incarnation = self.next_incarnation.wrapping_add(1);
        self.next_incarnation
    }

    // ---- Socket calls ------------------------------------------------------------------

    /// LISTEN on `port` with `backlog`.
    pub fn listen(&mut self, port: u16, backlog: u32) -> Result<(), HostError> {
        if !self.up {
            return Err(HostError::Down);
        }
        if backlog == 0 {
            return Err(HostError::ZeroBacklog);
        }
        if self.listeners.contains_key(&port) {
            return Err(HostError::AddressInUse(port));
        }
        let config = self.tcp.clone();
        self.listeners.insert(
            port,
            Listener {
                config,
                backlog,
                half_open: 0,
                accept_queue: VecDeque::new(),
            },
        );
        Ok(())
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

    /// Sets the configuration connections accepted on `port` will use (setsockopt on a
    /// listening socket).
    pub fn set_listener_config(
        &mut self,
        port: u16,
        config: TcpConfigShared,
    ) -> Result<(), HostError> {
        let listener = self
            .listeners
            .get_mut(&port)
            .ok_or(HostError::NotListening(port))?;
        listener.config = Arc::new(config);
        Ok(())
    }

    /// Replaces an open connection's configuration (setsockopt on a connected socket).
    pub fn set_connection_config(
        &mut self,
        id: ConnId,
        config: TcpConfigShared,
        now: SimTime,
    ) -> Result<(), HostError> {
        let socket = self.socket_mut(id).ok_or(HostError::NoSuchConnection)?;
        socket.conn.set_config(Arc::new(config), now);
        self.arm(id);
        Ok(())
    }

    /// Stops listening on `port`; queued connections are reset.
    pub fn unlisten(&mut self, port: u16, now: SimTime) {
        let Some(listener) = self.listeners.remove(&port) else {
            return;
        };
        for id in listener.accept_queue {
            self.abort(id, now);
        }
    }

    fn open_limit_reached(&self) -> bool {
        self.config.max_open.is_some_and(|max| self.open >= max)
    }

    /// Active open from the host's first address to `remote_addr:remote_port`.
    pub fn connect(
        &mut self,
        remote_addr: u32,
        remote_port: u16,
        now: SimTime,
    ) -> Result<ConnId, HostError> {
        let local = *self.addrs.first().ok_or(HostError::AddressNotAvailable)?;
        self.connect_from(local, remote_addr, remote_port, now)
    }

    /// Active open from `local_addr` (one of the host's) with an ephemeral port.
    pub fn connect_from(
        &mut self,
        local_addr: u32,
        remote_addr: u32,
        remote_port: u16,
        now: SimTime,
    ) -> Result<ConnId, HostError> {
        let config = self.tcp.clone();
        self.connect_with(config, local_addr, remote_addr, remote_port, now)
    }

    /// Whether an active open may start at all: the host is up and under its limit.
    fn may_open(&self) -> Result<(), HostError> {
        if !self.up {
            return Err(HostError::Down);
        }
        if self.open_limit_reached() {
            return Err(HostError::TooManyOpen);
        }
        Ok(())
    }

    /// Active open with a configuration of its own (socket options set before connect).
    pub fn connect_with(
        &mut self,
        config: Arc<TcpConfigShared>,
        local_addr: u32,
        remote_addr: u32,
        remote_port: u16,
        now: SimTime,
    ) -> Result<ConnId, HostError> {
        self.may_open()?;
        let Some((tuple, reuse_isn)) = self.pick_port(local_addr, remote_addr, remote_port, now)
        else {
            self.counters.port_exhaustion += 1;
            return Err(HostError::AddressNotAvailable);
        };
        self.open(config, tuple, reuse_isn, now)
    }

    /// Active open from a fixed local port (bind, then connect): what two peers opening
    /// to each other at once need for a simultaneous open.
    pub fn connect_bound(
        &mut self,
        local_addr: u32,
        local_port: u16,
        remote_addr: u32,
        remote_port: u16,
        now: SimTime,
    ) -> Result<ConnId, HostError> {
        self.may_open()?;
        let tuple = FourTuple {
            local_addr,
            local_port,
            remote_addr,
            remote_port,
        };
        if self.demux_slot(&tuple).is_some()
            || self.time_wait.get(self.by_tuple.table(), &tuple).is_some()
        {
            return Err(HostError::AddressInUse(local_port));
        }
        let config = self.tcp.clone();
        self.open(config, tuple, None, now)
    }

    fn open(
        &mut self,
        config: Arc<TcpConfigShared>,
        tuple: FourTuple,
        reuse_isn: Option<Seq>,
        now: SimTime,
    ) -> Result<ConnId, HostError> {
        let remote_port = tuple.remote_port;
        let iss = reuse_isn.unwrap_or_else(|| self.isn.isn(&tuple, now));
        let incarnation = self.incarnation();
        let conn = Connection::connect(
            config,
            tuple.local_port,
            remote_port,
            iss,
            incarnation,
            now,
            &mut self.out,
        );
        self.counters.opened += 1;
        let id = self.insert(conn, tuple, DemuxHint::NO_SLOT, Stage::Active);
        self.after(id, now);
        Ok(id)
    }

    /// An ephemeral port for the destination, and the ISN if it reuses a TIME-WAIT tuple.
    fn pick_port(
        &mut self,
        local_addr: u32,
        remote_addr: u32,
        remote_port: u16,
        now: SimTime,
    ) -> Option<(FourTuple, Option<Seq>)> {
        let (low, high) = self.config.ephemeral_ports;
        let span = u32::from(high - low) + 1;
        let dest = (u64::from(remote_addr) << 16 | u64::from(remote_port)) ^ self.port_key;
        let offset = (dest.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32) as u32;
        let start = offset.wrapping_add(self.port_counter);
        self.port_counter = self.port_counter.wrapping_add(1);
        let reuse = self.config.tw_reuse == TwReuse::On && self.config.tcp.timestamps;
        if !reuse {
            // Offsets `(start + i) % span` for i in 0..span, computed in wrapping u32 as
            // below: one cyclic run from `start % span`, then, if `start + i` wraps, a
            // second from 0.
            let probe = FourTuple {
                local_addr,
                local_port: 0,
                remote_addr,
                remote_port,
            };
            let before_wrap = (u64::from(u32::MAX - start) + 1).min(u64::from(span)) as u32;
            let listeners = &self.listeners;
            let skip = |port| listeners.contains_key(&port);
            let port = self
                .ports
                .first_free(&probe, start, before_wrap, skip)
                .or_else(|| self.ports.first_free(&probe, 0, span - before_wrap, skip))?;
            return Some((
                FourTuple {
                    local_port: port,
                    ..probe
                },
                None,
            ));
        }
        for i in 0..span {
            let port = low + ((start.wrapping_add(i)) % span) as u16;
            if self.listeners.contains_key(&port) {
                continue;
            }
            let tuple = FourTuple {
                local_addr,
                local_port: port,
                remote_addr,
                remote_port,
            };
            if self.demux_slot(&tuple).is_some() {
                continue;
            }
            match self.time_wait.get(self.by_tuple.table(), &tuple) {
                None => return Some((tuple, None)),
                Some(tw) if reuse && tw.reusable(now) => {
                    let isn = tw.record.successor_isn();
                    self.remove_time_wait(&tuple);
                    return Some((tuple, Some(isn)));
                }
                Some(_) => {}
            }
        }
        None
    }

    /// ACCEPT: the oldest established connection queued on `port`, if any.
    pub fn accept(&mut self, port: u16) -> Result<Option<ConnId>, HostError> {
        if !self.up {
            return Err(HostError::Down);
        }
        if !self.listeners.contains_key(&port) {
            return Err(HostError::NotListening(port));
        }
        if self.listeners[&port].accept_queue.is_empty() {
            return Ok(None);
        }
        if self.open_limit_reached() {
            return Err(HostError::TooManyOpen);
        }
        let id = self
            .listeners
            .get_mut(&port)
            .and_then(|l| l.accept_queue.pop_front())
            .expect("checked");
        if let Some(socket) = self.socket_mut(id) {
            socket.stage = Stage::Accepted;
        }
        self.open += 1;
        self.counters.accepted += 1;
        Ok(Some(id))
    }

    /// Connections established and waiting in `port`'s accept queue.
    pub fn accept_queue_len(&self, port: u16) -> usize {
        self.listeners
            .get(&port)
            .map_or(0, |l| l.accept_queue.len())
    }

    /// Half-open requests in `port`'s SYN queue.
    pub fn syn_queue_len(&self, port: u16) -> usize {
        self.listeners
            .get(&port)
            .map_or(0, |l| l.half_open as usize)
    }

    fn call<T>(
        &mut self,
        id: ConnId,
        now: SimTime,
        f: impl FnOnce(&mut Connection, SimTime, &mut Output) -> Result<T, UserError>,
    ) -> Result<T, HostError> {
        if !self.up {
            return Err(HostError::Down);
        }
        let result = match self.socket_with_out(id) {
            (Some(socket), out) => f(&mut socket.conn, now, out).map_err(HostError::from),
            (None, _) => Err(HostError::NoSuchConnection),
        };
        self.after(id, now);
        result
    }

    /// SEND on a connection.
    pub fn send(&mut self, id: ConnId, bytes: u64, now: SimTime) -> Result<(), HostError> {
        self.call(id, now, |c, now, out| c.send(bytes, now, out))
    }

    /// RECEIVE on a connection: bytes read.
    pub fn receive(&mut self, id: ConnId, max: u64, now: SimTime) -> Result<u64, HostError> {
        self.call(id, now, |c, now, out| c.receive(max, now, out))
    }

    /// Shuts down writing.
    pub fn shutdown(&mut self, id: ConnId, now: SimTime) -> Result<(), HostError> {
        self.call(id, now, |c, now, out| c.shutdown(now, out))
    }

    /// CLOSE.
    pub fn close(&mut self, id: ConnId, now: SimTime) -> Result<(), HostError> {
        self.call(id, now, |c, now, out| c.close(now, out))
    }

    /// SO_LINGER {on, 0} on a connection.
    pub fn set_linger_zero(&mut self, id: ConnId, on: bool) -> Result<(), HostError> {
        let socket = self.socket_mut(id).ok_or(HostError::NoSuchConnection)?;
        socket.conn.set_linger_zero(on);
        Ok(())
    }

    /// ABORT.
    pub fn abort(&mut self, id: ConnId, now: SimTime) {
        let _ = self.call(id, now, |c, now, out| {
            c.abort(now, out);
            Ok(())
        });
    }

    // ---- After every endpoint call -----------------------------------------------------

    /// Collects what the endpoint produced: datagrams, events, transitions, counters,
    /// TIME-WAIT hand-over, removal, timers.
    fn after(&mut self, id: ConnId, now: SimTime) {
        let Some(socket) = self.socket(id) else {
            self.out.clear();
            return;
        };
        let (tuple, stage) = (socket.tuple, socket.stage);
        let demux = DemuxHint {
            from: id.slot,
            to: self.slots[id.slot].peer_slot,
        };
        // Fields borrowed one by one, so the endpoint's output is drained in place.
        let (out, output, counters) = (&mut self.out, &mut self.output, &mut self.counters);
        output
            .datagrams
            .extend(out.segments.drain(..).map(|segment| Datagram {
                src: tuple.local_addr,
                dst: tuple.remote_addr,
                segment,
                demux,
            }));
        let mut entered_time_wait = false;
        for t in out.transitions.drain(..) {
            if t.to == State::CloseWait {
                counters.close_wait += 1;
            } else if t.from == State::CloseWait {
                counters.close_wait -= 1;
            }
            entered_time_wait |= t.to == State::TimeWait;
            output.transitions.push((id, tuple, t));
        }
        let visible = matches!(stage, Stage::Active | Stage::Accepted | Stage::Queued(_));
        let mut promote = None;
        for event in out.events.drain(..) {
            match event {
                Event::Failed(e) if visible => match e.kind {
                    ErrorKind::Refused => counters.refused += 1,
                    ErrorKind::Reset => counters.reset += 1,
                    ErrorKind::TimedOut => counters.timed_out += 1,
                },
                Event::Failed(_) => counters.half_open_expired += 1,
                Event::Connected => {
                    if let Stage::HalfOpen(port) = stage {
                        promote = Some(port);
                    }
                }
                _ => {}
            }
            output.events.push((id, event));
        }
        if let Some(port) = promote {
            self.promote(id, port);
        }
        let socket = self.socket(id).expect("present");
        if entered_time_wait && socket.conn.state() == State::TimeWait {
            self.enter_time_wait(id, now);
            return;
        }
        if socket.conn.is_finished() {
            self.remove(id);
            return;
        }
        self.arm(id);
    }

    /// A half-open request completed its handshake: into the accept queue.
    fn promote(&mut self, id: ConnId, port: u16) {
        if let Some(l) = self.listeners.get_mut(&port) {
            l.half_open -= 1;
            l.accept_queue.push_back(id);
        }
        self.socket_mut(id).expect("present").stage = Stage::Queued(port);
    }

    fn remove_time_wait(&mut self, tuple: &FourTuple) {
        if self.time_wait.remove(self.by_tuple.table_mut(), tuple) {
            self.ports.release(tuple);
        }
    }

    fn enter_time_wait(&mut self, id: ConnId, now: SimTime) {
        let socket = self.socket(id).expect("present");
        let (tuple, conn) = (socket.tuple, &socket.conn);
        let full = self.time_wait.len() >= self.config.max_time_wait as usize;
        let entry = timewait::Entry {
            // Linux's tcp_time_wait starts the timewait sock's rate limit afresh.
            record: TimeWait {
                last_invalid_ack_ms: 0,
                ..conn.time_wait().expect("in TIME-WAIT")
            },
            expiry: conn.next_deadline().unwrap_or(now),
            last_seen: now,
        };
        self.remove(id);
        self.output.events.push((id, Event::Closed));
        if full {
            self.counters.time_wait_skipped += 1;
            return;
        }
        self.time_wait
            .insert(self.by_tuple.table_mut(), tuple, entry);
        self.ports.take(&tuple);
        self.counters.time_wait_peak = self
            .counters
            .time_wait_peak
            .max(self.time_wait.len() as u64);
    }

    fn arm(&mut self, id: ConnId) {
        let deadline = socket_in(&self.slots, id)
            .expect("present")
            .conn
            .next_deadline();
        let slot = &mut self.slots[id.slot];
        let Some(deadline) = deadline else {
            // Whatever is queued is superseded, and `next_deadline` may drop it.
            slot.armed = NEVER;
            self.forget_first(id.slot);
            return;
        };
        if slot.armed <= deadline {
            return;
        }
        slot.armed = deadline;
        self.forget_first(id.slot);
        self.timer_seq += 1;
        self.timers.push(Entry {
            time: deadline,
            seq: self.timer_seq,
            event: (id.slot, id.generation),
        });
    }

    /// The socket in `slot` changed its `armed` or went: its timer may be stale now.
    fn forget_first(&mut self, slot: u32) {
        if self.live_first.is_some_and(|(_, _, s)| s == slot) {
            self.live_first = None;
        }
    }

    // ---- Time ----------------------------------------------------------------------------

    /// The earliest time [`Host::on_timeout`] may have work, if any. Superseded timers at
    /// the front (of removed connections, or re-armed since) are dropped first, so a
    /// caller is not woken for nothing; the timer wheel drops them without moving its
    /// horizon, so later timers may still be armed at any time from `now` on.
    pub fn next_deadline(&mut self) -> Option<SimTime> {
        self.time_wait.drop_stale_expiries();
        let timers = loop {
            let Some(first) = self.timers.first() else {
                break self.timers.peek_time();
            };
            let (slot, generation) = first.event;
            let key = (first.time, first.seq, slot);
            if self.live_first == Some(key) {
                break Some(first.time);
            }
            if armed_at(
                &self.slots,
                &self.occupied,
                ConnId { slot, generation },
                first.time,
            ) {
                self.live_first = Some(key);
                break Some(first.time);
            }
            if !self.timers.remove_first_if(|_| true) {
                break self.timers.peek_time();
            }
        };
        let tw = self.time_wait.next_expiry();
        match (timers, tw) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Runs every timer due at or before `now`.
    pub fn on_timeout(&mut self, now: SimTime) {
        let ports = &mut self.ports;
        let table = self.by_tuple.table_mut();
        self.time_wait
            .expire(table, now, |tuple| ports.release(tuple));
        while let Some(entry) = self.timers.pop_until(now) {
            let (slot, generation) = entry.event;
            let id = ConnId { slot, generation };
            // A later entry than the one armed was superseded by an earlier wake-up.
            if !armed_at(&self.slots, &self.occupied, id, entry.time) {
                continue;
            }
            self.slots[slot].armed = NEVER;
            let (socket, out) = self.socket_with_out(id);
            socket.expect("armed").conn.on_timeout(now, out);
            self.forget_first(slot);
            self.after(id, now);
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
    /// likewise.
    pub fn prefetch(&self, datagram: &Datagram) -> bool {
        if self.slots.len() < Self::PREFETCH_FROM {
            return false;
        }
        let tag = tuple_tag(&datagram.receiver_tuple());
        self.by_tuple.prefetch(tag);
        let Some(slot) = self.slots.get(datagram.demux.to) else {
            return true;
        };
        // A slot spans four or five cache lines, and handling a segment touches them all.
        // Only addresses known without reading the slot can be named here (reading it would
        // wait for the very miss this avoids): its start, and its small fields, which the
        // compiler places at its end. The processor's adjacent-line prefetch fetches most of
        // the lines between.
        prefetch(slot);
        prefetch(&slot.peer_slot);
        true
    }

    /// Socket slots (the most sockets a host has had open at once) from which
    /// [`Host::prefetch`] works: 4,096 slots are 950 KB, about a core's L2 cache.
    pub const PREFETCH_FROM: usize = 4096;

    /// A datagram arrives at `now`.
    pub fn handle(&mut self, datagram: &Datagram, now: SimTime) {
        if !self.up || !self.addrs.contains(&datagram.dst) {
            return;
        }
        let seg = &datagram.segment;
        let tuple = datagram.receiver_tuple();
        let from = datagram.demux.from;
        if let Some(slot) = self.demux(datagram.demux.to, &tuple) {
            if from != DemuxHint::NO_SLOT {
                self.slots[slot].peer_slot = from;
            }
            let id = self.id(slot);
            self.deliver_to_connection(id, seg, now);
        } else if self.time_wait.get(self.by_tuple.table(), &tuple).is_some() {
            self.deliver_to_time_wait(tuple, from, seg, now);
        } else if self.listeners.contains_key(&seg.dst_port) {
            self.deliver_to_listener(tuple, from, seg, None, now);
        } else {
            self.reply_closed(tuple, seg);
        }
    }

    /// The slot of the socket with this 4-tuple: the hinted one if its 4-tuple matches (each
    /// 4-tuple has one socket at most), else the table's.
    fn demux(&self, hint: u32, tuple: &FourTuple) -> Option<u32> {
        if tuple_in(&self.slots, hint) == Some(*tuple) {
            return Some(hint);
        }
        self.demux_slot(tuple)
    }

    /// The slot of the socket with this 4-tuple, from the table.
    fn demux_slot(&self, tuple: &FourTuple) -> Option<u32> {
        self.by_tuple.get(tuple, |s| tuple_in(&self.slots, s))
    }

    fn reply_closed(&mut self, tuple: FourTuple, seg: &Segment) {
        if let Some(reply) = closed_reply(seg) {
            self.output
                .datagrams
                .push(Datagram::new(tuple.local_addr, tuple.remote_addr, reply));
        }
    }

    fn deliver_to_connection(&mut self, id: ConnId, seg: &Segment, now: SimTime) {
        let socket = self.socket(id).expect("indexed");
        if let Stage::HalfOpen(port) = socket.stage
            && self.completes_handshake(&socket.conn, seg)
            && self
                .listeners
                .get(&port)
                .is_some_and(|l| l.accept_queue.len() >= self.accept_limit(l))
        {
            // The final ACK finds the accept queue full.
            self.counters.accept_queue_drops += 1;
            if self.config.abort_on_overflow {
                self.abort(id, now);
            }
            return;
        }
        let (socket, out) = self.socket_with_out(id);
        socket.expect("indexed").conn.handle(seg, now, out);
        self.after(id, now);
    }

    fn completes_handshake(&self, conn: &Connection, seg: &Segment) -> bool {
        conn.state() == State::SynReceived
            && seg.has(Flags::ACK)
            && !seg.has(Flags::RST)
            && !seg.has(Flags::SYN)
            && seg.ack == conn.iss() + 1
            && seg.seq == conn.rcv_nxt()
    }

    fn accept_limit(&self, l: &Listener) -> usize {
        l.backlog.min(self.config.somaxconn) as usize
    }

    fn syn_limit(&self, l: &Listener) -> u32 {
        l.backlog.min(self.config.max_syn_backlog)
    }

    fn deliver_to_time_wait(&mut self, tuple: FourTuple, from: u32, seg: &Segment, now: SimTime) {
        let entry = self
            .time_wait
            .get_mut(self.by_tuple.table(), &tuple)
            .expect("checked");
        let verdict = entry.record.on_segment(seg, &self.config.tcp, now);
        let (snd_nxt, rcv_nxt) = (entry.record.snd_nxt, entry.record.rcv_nxt);
        let ack = || {
            let mut ack = Segment::new(seg.dst_port, seg.src_port, snd_nxt, rcv_nxt, Flags::ACK);
            // A TIME-WAIT ACK offers the receive window, as Linux's timewait sockets do.
            ack.window = self.config.tcp.recv_buffer;
            Datagram::new(tuple.local_addr, tuple.remote_addr, ack)
        };
        match verdict {
            Verdict::Ignore => {}
            Verdict::Ack => self.output.datagrams.push(ack()),
            Verdict::Restart | Verdict::AckAndRestart => {
                if verdict == Verdict::AckAndRestart {
                    self.output.datagrams.push(ack());
                }
                self.time_wait.restart(
                    self.by_tuple.table_mut(),
                    &tuple,
                    now.saturating_add(self.config.tcp.time_wait_length()),
                );
            }
            Verdict::Reopen(isn) => {
                self.remove_time_wait(&tuple);
                if self.listeners.contains_key(&seg.dst_port) {
                    self.deliver_to_listener(tuple, from, seg, Some(isn), now);
                } else {
                    self.reply_closed(tuple, seg);
                }
            }
            Verdict::Close => self.remove_time_wait(&tuple),
        }
    }

    /// A segment for a listening port. `reopen_isn` is the ISN a SYN that reopens a TIME-WAIT
    /// 4-tuple must get.
    fn deliver_to_listener(
        &mut self,
        tuple: FourTuple,
        from: u32,
        seg: &Segment,
        reopen_isn: Option<Seq>,
        now: SimTime,
    ) {
        let port = seg.dst_port;
        if seg.has(Flags::RST) {
            return;
        }
        if seg.has(Flags::ACK) && !seg.has(Flags::SYN) {
            if self.config.syncookies != SynCookies::Off {
                if let Some(mss) = cookies::check(self.cookie_key, &tuple, seg.seq, seg.ack, now) {
                    self.counters.cookies_validated += 1;
                    self.cookie_established(tuple, from, seg, mss, now);
                    return;
                }
                self.counters.cookies_rejected += 1;
            }
            self.reply_closed(tuple, seg);
            return;
        }
        if !seg.has(Flags::SYN) || seg.has(Flags::ACK) {
            if seg.has(Flags::ACK) {
                self.reply_closed(tuple, seg);
            }
            return;
        }
        if let Some(limit) = &self.config.syn_rate_limit
            && !self.syn_buckets.admit(limit, tuple.remote_addr, now)
        {
            self.counters.syn_rate_limited += 1;
            return;
        }
        let listener = &self.listeners[&port];
        if listener.accept_queue.len() >= self.accept_limit(listener) {
            self.counters.accept_queue_drops += 1;
            return;
        }
        let syn_full = listener.half_open >= self.syn_limit(listener);
        let cookie = match self.config.syncookies {
            SynCookies::Always => true,
            SynCookies::WhenFull => syn_full,
            SynCookies::Off => false,
        };
        if cookie {
            let iss = cookies::make(
                self.cookie_key,
                &tuple,
                seg.seq,
                seg.mss.unwrap_or(536),
                now,
            );
            let mut synack = Segment::new(
                port,
                seg.src_port,
                iss,
                seg.seq + 1,
                Flags::SYN | Flags::ACK,
            );
            // Linux: without timestamps a cookie cannot carry window scale or SACK, so the
            // SYN-ACK offers neither (measured on Linux 6.18: syncookies.pkt); the model
            // encodes nothing in timestamps, so it never offers them.
            synack.window = self.config.tcp.syn_window_for(self.config.tcp.recv_buffer);
            synack.mss = Some(self.config.tcp.mss);
            self.output
                .datagrams
                .push(Datagram::new(tuple.local_addr, tuple.remote_addr, synack));
            self.counters.cookies_sent += 1;
            return;
        }
        if syn_full {
            self.counters.syn_queue_drops += 1;
            return;
        }
        let iss = reopen_isn.unwrap_or_else(|| self.isn.isn(&tuple, now));
        let incarnation = self.incarnation();
        let config = self.listeners[&port].config.clone();
        let conn = Connection::accept(config, seg, iss, incarnation, now, &mut self.out);
        self.listeners.get_mut(&port).expect("checked").half_open += 1;
        let id = self.insert(conn, tuple, from, Stage::HalfOpen(port));
        self.after(id, now);
    }

    fn cookie_established(
        &mut self,
        tuple: FourTuple,
        from: u32,
        seg: &Segment,
        mss: u16,
        now: SimTime,
    ) {
        let port = seg.dst_port;
        let listener = &self.listeners[&port];
        if listener.accept_queue.len() >= self.accept_limit(listener) {
            self.counters.accept_queue_drops += 1;
            if self.config.abort_on_overflow {
                self.reply_closed(tuple, seg);
            }
            return;
        }
        let incarnation = self.incarnation();
        let mut conn = Connection::from_cookie(
            self.listeners[&port].config.clone(),
            seg,
            mss,
            incarnation,
            now,
            &mut self.out,
        );
        // Data may ride on the ACK that completed the handshake.
        conn.handle(seg, now, &mut self.out);
        let id = self.insert(conn, tuple, from, Stage::HalfOpen(port));
        self.listeners.get_mut(&port).expect("checked").half_open += 1;
        self.after(id, now);
    }

    // ---- Faults ------------------------------------------------------------------------------

    /// The host crashes: every connection, listener and TIME-WAIT entry vanishes silently,
    /// and datagrams are ignored until [`Host::reboot`].
    pub fn crash(&mut self) {
        self.up = false;
        // Slots are emptied, not dropped, and occupied ones move to a new generation: a
        // handle from before the crash must never name a connection opened after it.
        self.free.clear();
        for (index, slot) in self.slots.iter_mut().enumerate() {
            if slot.entry.take().is_some() {
                slot.generation = slot.generation.wrapping_add(1);
            }
            self.free.push(index as u32);
        }
        self.free.reverse();
        self.occupied.clear();
        self.by_tuple.clear();
        self.ports.clear();
        self.listeners.clear();
        self.time_wait = TimeWaitTable::default();
        self.timers = TimingWheel::with_fast_peek();
        self.live_first = None;
        self.open = 0;
        self.syn_buckets.clear();
        self.counters.close_wait = 0;
        self.out.clear();
    }

    /// The host comes back with no state: old connections' segments get RSTs.
    pub fn reboot(&mut self) {
        self.up = true;
    }

    /// Whether the host is up.
    pub fn is_up(&self) -> bool {
        self.up
    }

    /// A wall of how long TIME-WAIT lasts here.
    pub fn time_wait_length(&self) -> SimDuration {
        self.config.tcp.time_wait_length()
    }
}
