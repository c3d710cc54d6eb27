//! Listening sockets: their SYN queues (half-open requests, full endpoints in SYN-RECEIVED)
//! and accept queues, SYN cookies, the per-source SYN rate filter, and what a segment for a
//! listening port does.

use super::datagram::{Datagram, DemuxHint};
use super::listener_rules::QueueState;
use super::ratelimit::SourceBuckets;
use super::sockets::{ConnId, Socket, Stage};
use super::{Host, HostConfig, HostError, SynCookies, cookies};
use crate::{
    Connection, Flags, FourTuple, Segment, Seq, State, TcpConfig, Timestamps, closed_reply,
};
use rustc_hash::FxHashMap;
use std::collections::VecDeque;
use std::sync::Arc;
use synack_kernel::SimTime;

/// A listening socket.
pub(super) struct Listener {
    /// What accepted connections use (the host's unless set on the listening socket).
    config: Arc<TcpConfig>,
    backlog: u32,
    /// Requests in the SYN queue.
    pub(super) half_open: u32,
    /// Of them, those that have not had a SYN-ACK timeout yet (Linux's `young`).
    pub(super) young: u32,
    pub(super) accept_queue: VecDeque<ConnId>,
}

impl Listener {
    /// The queues, as the listener rules read them.
    pub(super) fn queue_state(&self) -> QueueState {
        QueueState {
            backlog: self.backlog,
            requests: self.half_open,
            young: self.young,
            accept_queue: self.accept_queue.len() as u32,
        }
    }

    /// A request joins the SYN queue.
    fn add_request(&mut self) {
        self.half_open += 1;
        self.young += 1;
    }

    /// A request leaves the SYN queue; `young` if it never had a SYN-ACK timeout.
    pub(super) fn remove_request(&mut self, young: bool) {
        self.half_open -= 1;
        if young {
            self.young -= 1;
        }
    }
}

/// The host's listeners, and what their SYN handling keeps.
pub(super) struct Listeners {
    by_port: FxHashMap<u16, Listener>,
    /// The secret of SYN cookies.
    cookie_key: [u64; 2],
    syn_buckets: SourceBuckets,
}

impl Listeners {
    pub(super) fn new(cookie_key: [u64; 2]) -> Self {
        Listeners {
            by_port: FxHashMap::default(),
            cookie_key,
            syn_buckets: SourceBuckets::default(),
        }
    }

    /// Whether `port` listens.
    pub(super) fn contains(&self, port: u16) -> bool {
        self.by_port.contains_key(&port)
    }

    /// Ports listening.
    pub(super) fn len(&self) -> usize {
        self.by_port.len()
    }

    pub(super) fn get_mut(&mut self, port: u16) -> Option<&mut Listener> {
        self.by_port.get_mut(&port)
    }

    /// The SYN-ACK retransmissions a request in `port`'s SYN queue may have when its timer
    /// runs now: the host's listener rules may prune them under load.
    pub(super) fn synack_retries(&self, port: u16, host: &HostConfig) -> Option<u32> {
        let l = self.by_port.get(&port)?;
        let retries = l.config.synack_retries;
        Some(
            host.listener_rules
                .synack_retries(l.queue_state(), retries, host.somaxconn),
        )
    }

    /// A request in `port`'s SYN queue had its first SYN-ACK timeout: no longer young.
    pub(super) fn age_request(&mut self, port: u16) {
        if let Some(l) = self.by_port.get_mut(&port) {
            l.young -= 1;
        }
    }

    /// Forgets every listener and rate-filter bucket (a crash).
    pub(super) fn clear(&mut self) {
        self.by_port.clear();
        self.syn_buckets.clear();
    }
}

impl Host {
    /// LISTEN on `port` with `backlog`.
    pub fn listen(&mut self, port: u16, backlog: u32) -> Result<(), HostError> {
        if !self.up {
            return Err(HostError::Down);
        }
        if backlog == 0 {
            return Err(HostError::ZeroBacklog);
        }
        if self.listeners.contains(port) {
            return Err(HostError::AddressInUse(port));
        }
        let listener = Listener {
            config: self.tcp.clone(),
            backlog,
            half_open: 0,
            young: 0,
            accept_queue: VecDeque::new(),
        };
        self.listeners.by_port.insert(port, listener);
        Ok(())
    }

    /// Sets the configuration connections accepted on `port` will use (setsockopt on a
    /// listening socket).
    pub fn set_listener_config(&mut self, port: u16, config: TcpConfig) -> Result<(), HostError> {
        let listener = self
            .listeners
            .get_mut(port)
            .ok_or(HostError::NotListening(port))?;
        listener.config = Arc::new(config);
        Ok(())
    }

    /// Stops listening on `port`; queued connections are reset.
    pub fn unlisten(&mut self, port: u16, now: SimTime) {
        let Some(listener) = self.listeners.by_port.remove(&port) else {
            return;
        };
        for id in listener.accept_queue {
            self.abort(id, now);
        }
    }

    /// ACCEPT: the oldest established connection queued on `port`, if any.
    pub fn accept(&mut self, port: u16) -> Result<Option<ConnId>, HostError> {
        if !self.up {
            return Err(HostError::Down);
        }
        let Some(listener) = self.listeners.by_port.get(&port) else {
            return Err(HostError::NotListening(port));
        };
        if listener.accept_queue.is_empty() {
            return Ok(None);
        }
        if self.open_limit_reached() {
            return Err(HostError::TooManyOpen);
        }
        let id = self
            .listeners
            .get_mut(port)
            .and_then(|l| l.accept_queue.pop_front())
            .expect("checked");
        if let Some(socket) = self.sockets.get_mut(id) {
            socket.stage = Stage::Accepted;
        }
        self.open += 1;
        self.counters.accepted += 1;
        Ok(Some(id))
    }

    /// Connections established and waiting in `port`'s accept queue.
    pub fn accept_queue_len(&self, port: u16) -> usize {
        self.listeners
            .by_port
            .get(&port)
            .map_or(0, |l| l.accept_queue.len())
    }

    /// Half-open requests in `port`'s SYN queue.
    pub fn syn_queue_len(&self, port: u16) -> usize {
        self.listeners
            .by_port
            .get(&port)
            .map_or(0, |l| l.half_open as usize)
    }

    /// A half-open request completed its handshake: into the accept queue.
    pub(super) fn promote(&mut self, id: ConnId, port: u16) {
        let socket = self.sockets.get_mut(id).expect("present");
        let young = std::mem::replace(&mut socket.young, false);
        socket.stage = Stage::Queued(port);
        if let Some(l) = self.listeners.get_mut(port) {
            l.remove_request(young);
            l.accept_queue.push_back(id);
        }
    }

    /// Whether `seg` would complete `socket`'s handshake while its listener's accept queue
    /// is full (Linux then drops the final ACK, or resets with `abort_on_overflow`).
    pub(super) fn final_ack_overflows(&self, socket: &Socket, seg: &Segment) -> bool {
        let Stage::HalfOpen(port) = socket.stage else {
            return false;
        };
        let conn = &socket.conn;
        let completes = conn.state() == State::SynReceived
            && seg.has(Flags::ACK)
            && !seg.has(Flags::RST)
            && !seg.has(Flags::SYN)
            && seg.ack == conn.iss() + 1
            && seg.seq == conn.rcv_nxt();
        completes
            && self
                .listeners
                .by_port
                .get(&port)
                .is_some_and(|l| self.accept_queue_full(l))
    }

    fn accept_queue_full(&self, l: &Listener) -> bool {
        self.config
            .listener_rules
            .accept_queue_full(l.queue_state(), self.config.somaxconn)
    }

    fn syn_queue_full(&self, l: &Listener) -> bool {
        let c = &self.config;
        c.listener_rules
            .syn_queue_full(l.queue_state(), c.somaxconn, c.max_syn_backlog)
    }

    /// Answers a segment no socket, record or listener takes, as CLOSED does.
    pub(super) fn reply_closed(&mut self, tuple: FourTuple, seg: &Segment) {
        if let Some(reply) = closed_reply(seg) {
            self.output.send(
                Datagram::new(tuple.local_addr, tuple.remote_addr, reply),
                DemuxHint::NONE,
            );
        }
    }

    /// A segment for a listening port. `reopen_isn` is the ISN a SYN that reopens a TIME-WAIT
    /// 4-tuple must get.
    pub(super) fn deliver_to_listener(
        &mut self,
        tuple: FourTuple,
        from: u32,
        seg: &Segment,
        reopen_isn: Option<Seq>,
        now: SimTime,
    ) {
        if seg.has(Flags::RST) {
            return;
        }
        if seg.has(Flags::ACK) && !seg.has(Flags::SYN) {
            self.deliver_ack_to_listener(tuple, from, seg, now);
            return;
        }
        if !seg.has(Flags::SYN) || seg.has(Flags::ACK) {
            if seg.has(Flags::ACK) && self.config.listener_rules.resets_syn_ack() {
                self.reply_closed(tuple, seg);
            }
            return;
        }
        if let Some(limit) = &self.config.syn_rate_limit
            && !self
                .listeners
                .syn_buckets
                .admit(limit, tuple.remote_addr, now)
        {
            self.counters.syn_rate_limited += 1;
            return;
        }
        let port = seg.dst_port;
        let listener = &self.listeners.by_port[&port];
        if self.accept_queue_full(listener) {
            self.counters.accept_queue_drops += 1;
            return;
        }
        // Linux (tcp_conn_request): a SYN that reopens a TIME-WAIT 4-tuple comes from a peer
        // evidently alive, and passes the SYN queue's limits.
        let reopens = reopen_isn.is_some();
        let syn_full = !reopens && self.syn_queue_full(listener);
        let cookie = match self.config.syncookies {
            SynCookies::Always => !reopens,
            SynCookies::WhenFull => syn_full,
            SynCookies::Off => false,
        };
        if cookie {
            self.send_cookie(tuple, seg, now);
            return;
        }
        let last_quarter = !reopens
            && self.config.syncookies == SynCookies::Off
            && self
                .config
                .listener_rules
                .last_quarter_drop(listener.queue_state(), self.config.max_syn_backlog);
        if syn_full || last_quarter {
            self.counters.syn_queue_drops += 1;
            return;
        }
        let iss = reopen_isn.unwrap_or_else(|| self.isn.isn(&tuple, now));
        let incarnation = self.incarnation();
        let config = self.listeners.by_port[&port].config.clone();
        let conn = Connection::accept(
            config,
            seg,
            iss,
            incarnation,
            now,
            &mut self.endpoint_output,
        );
        self.listeners.get_mut(port).expect("checked").add_request();
        let id = self.insert_socket(conn, tuple, from, Stage::HalfOpen(port));
        self.collect_endpoint_output(id, now);
    }

    /// An ACK at a listener: a cookie's, if cookies are on and it validates; else a RST.
    fn deliver_ack_to_listener(
        &mut self,
        tuple: FourTuple,
        from: u32,
        seg: &Segment,
        now: SimTime,
    ) {
        if self.config.syncookies != SynCookies::Off {
            let key = self.listeners.cookie_key;
            if let Some(mss) = cookies::check(key, &tuple, seg.seq, seg.ack, now) {
                self.counters.cookies_validated += 1;
                self.cookie_established(tuple, from, seg, mss, now);
                return;
            }
            self.counters.cookies_rejected += 1;
        }
        self.reply_closed(tuple, seg);
    }

    /// A SYN-ACK whose ISN is a cookie, keeping no state.
    fn send_cookie(&mut self, tuple: FourTuple, seg: &Segment, now: SimTime) {
        let key = self.listeners.cookie_key;
        let iss = cookies::make(key, &tuple, seg.seq, seg.mss.unwrap_or(536), now);
        let flags = Flags::SYN | Flags::ACK;
        let mut synack = Segment::new(seg.dst_port, seg.src_port, iss, seg.seq + 1, flags);
        let tcp = &self.config.tcp;
        synack.window = tcp.syn_window_for(tcp.recv_buffer);
        synack.mss = Some(tcp.mss);
        // Without timestamps a cookie cannot carry window scale or SACK, so the SYN-ACK
        // offers neither (measured on Linux 6.18: syncookies.pkt); with them, both ride in
        // the TS value (cookies.rs).
        if let Some(ts) = seg.timestamps.filter(|_| tcp.timestamps) {
            let sack = seg.sack_permitted && tcp.sack_permitted;
            let peer_scale = seg.window_scale.filter(|_| tcp.window_scale.is_some());
            let clock = (now.as_nanos() / 1_000_000) as u32;
            synack.timestamps = Some(Timestamps {
                val: cookies::timestamp_with_options(clock, peer_scale, sack),
                ecr: ts.val,
            });
            synack.window_scale = peer_scale.and(tcp.window_scale);
            synack.sack_permitted = sack;
        }
        self.output.send(
            Datagram::new(tuple.local_addr, tuple.remote_addr, synack),
            DemuxHint::NONE,
        );
        self.counters.cookies_sent += 1;
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
        if self.accept_queue_full(&self.listeners.by_port[&port]) {
            self.counters.accept_queue_drops += 1;
            let rules = self.config.listener_rules;
            if rules.cookie_overflow_resets(self.config.abort_on_overflow) {
                self.reply_closed(tuple, seg);
            }
            return;
        }
        let incarnation = self.incarnation();
        let config = self.listeners.by_port[&port].config.clone();
        let output = &mut self.endpoint_output;
        let options = seg
            .timestamps
            .filter(|_| self.config.tcp.timestamps)
            .map(|ts| cookies::options_from_timestamp(ts.ecr));
        let mut conn = Connection::from_cookie(config, seg, mss, options, incarnation, now, output);
        // Data may ride on the ACK that completed the handshake.
        conn.handle(seg, now, output);
        let id = self.insert_socket(conn, tuple, from, Stage::HalfOpen(port));
        self.listeners.get_mut(port).expect("checked").add_request();
        self.collect_endpoint_output(id, now);
    }
}
