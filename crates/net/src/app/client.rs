//! The client: connections opened on a schedule, a request and a response each (or
//! several on one connection), closed as its spec says; its statistics.

use super::Requests;
use crate::topology::NodeId;
use rand_distr::{Distribution, Exp1};
use std::collections::VecDeque;
use synack_kernel::{SimDuration, SimRng, SimTime};
use synack_tcp::host::{ConnId, ConnMap, ConnectOptions, DemuxHint, Host, HostError};
use synack_tcp::{ErrorKind, Event};

/// When a client opens connections.
#[derive(Debug, Clone, PartialEq)]
pub enum Schedule {
    /// At these times.
    At(Vec<SimTime>),
    /// `count` connections at a constant rate from `start`.
    Rate {
        /// The first.
        start: SimTime,
        /// Connections per second.
        per_second: f64,
        /// How many.
        count: u64,
    },
    /// `count` connections as a Poisson process of rate `per_second` from `start`.
    Poisson {
        /// When it starts.
        start: SimTime,
        /// Mean connections per second.
        per_second: f64,
        /// How many.
        count: u64,
    },
}

/// Who closes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientClose {
    /// The client closes once it has the response (it ends in TIME-WAIT).
    Active,
    /// The client waits for the server's FIN, then closes.
    Passive,
    /// The client closes once it has the response, with SO_LINGER {on, 0}: a RST and no
    /// TIME-WAIT (the port-exhaustion workaround).
    LingerZero,
}

/// Where a client's first request goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestOn {
    /// Written once connect() returns: its own segment, after the handshake's ACK.
    OwnSegment,
    /// Written while the handshake is on (a write blocked in SYN-SENT): it rides on the
    /// handshake's last segment, as on Linux (measured: write_blocked_in_syn_sent.pkt).
    ThirdSegment,
    /// On the SYN (TCP Fast Open without a cookie, `sendto(MSG_FASTOPEN)`): a server that
    /// drops SYN data gets it again on the handshake's last segment.
    Syn,
}

/// A client.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientSpec {
    /// Its node.
    pub node: NodeId,
    /// The server's address.
    pub server_addr: u32,
    /// The server's port.
    pub server_port: u16,
    /// When connections open.
    pub schedule: Schedule,
    /// Bytes of each request.
    pub request_bytes: u64,
    /// Where the first request goes.
    pub request_on: RequestOn,
    /// Bytes of the response it waits for.
    pub response_bytes: u64,
    /// Request/response exchanges per connection (keep-alive when above 1).
    pub requests_per_connection: u32,
    /// Who closes first.
    pub close: ClientClose,
    /// Shut down writing right after the (last) request: the server then answers from
    /// CLOSE-WAIT, data flowing toward the side that sent FIN first.
    pub half_close: bool,
    /// Bind this local port before each connect, so every connection reuses one 4-tuple;
    /// a connect while the tuple is still taken (TIME-WAIT) fails locally (EADDRINUSE) and
    /// counts as not started. `None`: an ephemeral port.
    pub source_port: Option<u16>,
    /// Open each connection from the host's next address in turn, so a host with several
    /// addresses has a port range per address (for more connections at once than one
    /// range holds). `false`: always the first address.
    pub rotate_addresses: bool,
}

/// What a client saw, over all its connections.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClientStats {
    /// Connections attempted.
    pub attempted: u64,
    /// Connect calls refused at once by the host (no port, too many open).
    pub not_started: u64,
    /// Handshakes completed.
    pub connected: u64,
    /// Connections that got every response.
    pub completed: u64,
    /// Failures by kind: refused, reset, timed out.
    pub refused: u64,
    /// Connections reset.
    pub reset: u64,
    /// Connections timed out.
    pub timed_out: u64,
    /// Handshake times, in seconds, in completion order.
    pub setup_times_s: Vec<f64>,
    /// From connect to the first complete response, in seconds, in completion order: what
    /// the user waits, including a server that has not accepted yet.
    pub response_times_s: Vec<f64>,
    /// Seconds from connect to each handshake that failed, in failure order.
    pub handshake_failure_times_s: Vec<f64>,
    /// At the end: connections still in their handshake.
    pub handshaking: u64,
    /// At the end: connections open and still waiting for a response.
    pub exchanging: u64,
}

/// The `p` quantile (0 to 1) of sorted values, nearest rank; NaN when there are none.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((p * (sorted.len() - 1) as f64).round() as usize).min(sorted.len() - 1)]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ClientConn {
    started: SimTime,
    connected: bool,
    received: u64,
    exchanges_left: u32,
    closed: bool,
}

/// A running client.
#[derive(Debug)]
pub struct Client {
    /// Its spec.
    pub spec: ClientSpec,
    /// What it saw.
    pub stats: ClientStats,
    /// By connection.
    conns: ConnMap<ClientConn>,
    /// The connections still to open.
    opens: Opens,
}

/// A client's connections still to open, in time order.
#[derive(Debug)]
enum Opens {
    /// These times.
    List(VecDeque<SimTime>),
    /// Connection `next` of a [`Schedule::Rate`] and those after it, up to `count`.
    Rate {
        start: SimTime,
        per_second: f64,
        next: u64,
        count: u64,
    },
}

impl Client {
    /// Starts loading its record of the connection a datagram with `hint` is for.
    pub(super) fn prefetch(&self, hint: DemuxHint) {
        self.conns.prefetch(hint);
    }

    /// The statistics, with the connections still in progress counted.
    pub fn stats_now(&self) -> ClientStats {
        let conns = || self.conns.values();
        ClientStats {
            handshaking: conns().filter(|c| !c.connected).count() as u64,
            exchanging: conns()
                .filter(|c| c.connected && c.exchanges_left > 0)
                .count() as u64,
            ..self.stats.clone()
        }
    }

    /// A client not yet started.
    pub fn new(spec: ClientSpec) -> Self {
        Client {
            spec,
            stats: ClientStats::default(),
            conns: ConnMap::default(),
            opens: Opens::List(VecDeque::new()),
        }
    }

    /// Starts the schedule (Poisson gaps are drawn from `rng` now, all of them, so the
    /// stream is used as before) and returns the first connection's time. Later ones come
    /// one at a time from [`Client::next_open`]: a million queued opens would cost the
    /// scheduler far more than this list, and a rate schedule needs no list at all.
    pub fn start(&mut self, rng: &mut SimRng) -> Option<SimTime> {
        self.opens = match &self.spec.schedule {
            Schedule::At(times) => {
                let mut times = times.clone();
                times.sort();
                Opens::List(times.into())
            }
            Schedule::Rate {
                start,
                per_second,
                count,
            } => Opens::Rate {
                start: *start,
                per_second: *per_second,
                next: 0,
                count: *count,
            },
            Schedule::Poisson {
                start,
                per_second,
                count,
            } => {
                let mut t = *start;
                Opens::List(
                    (0..*count)
                        .map(|_| {
                            let gap: f64 = Exp1.sample(rng);
                            t = t.saturating_add(SimDuration::saturating_from_secs_f64(
                                gap / per_second,
                            ));
                            t
                        })
                        .collect(),
                )
            }
        };
        self.next_open()
    }

    /// The time of the next connection to open, taking it off the schedule.
    pub fn next_open(&mut self) -> Option<SimTime> {
        match &mut self.opens {
            Opens::List(times) => times.pop_front(),
            Opens::Rate {
                start,
                per_second,
                next,
                count,
            } if *next < *count => {
                let i = *next;
                *next += 1;
                Some(start.saturating_add(SimDuration::saturating_from_secs_f64(
                    i as f64 / *per_second,
                )))
            }
            Opens::Rate { .. } => None,
        }
    }

    /// Opens a connection now.
    pub fn open(&mut self, host: &mut Host, now: SimTime, requests: &mut Requests) {
        self.stats.attempted += 1;
        let opened = match self.spec.source_port {
            Some(port) => match host.addrs().first() {
                Some(&local) => {
                    let options = ConnectOptions {
                        local_addr: Some(local),
                        local_port: Some(port),
                        ..ConnectOptions::default()
                    };
                    host.connect(self.spec.server_addr, self.spec.server_port, options, now)
                }
                None => Err(HostError::AddressNotAvailable),
            },
            None => {
                // Each connection from the next of the host's addresses, or the first.
                let addrs = host.addrs();
                let turn = if self.spec.rotate_addresses {
                    (self.stats.attempted as usize - 1) % addrs.len().max(1)
                } else {
                    0
                };
                let syn_data = match self.spec.request_on {
                    RequestOn::Syn => self.spec.request_bytes,
                    RequestOn::OwnSegment | RequestOn::ThirdSegment => 0,
                };
                match addrs.get(turn) {
                    Some(&local) => {
                        let options = ConnectOptions {
                            local_addr: Some(local),
                            syn_data,
                            ..ConnectOptions::default()
                        };
                        host.connect(self.spec.server_addr, self.spec.server_port, options, now)
                    }
                    None => Err(HostError::AddressNotAvailable),
                }
            }
        };
        match opened {
            Ok(id) => {
                let conn = ClientConn {
                    started: now,
                    connected: false,
                    received: 0,
                    exchanges_left: self.spec.requests_per_connection,
                    closed: false,
                };
                self.conns.insert(id, conn);
                requests.owned.push(id);
                if self.spec.request_on == RequestOn::ThirdSegment {
                    let _ = host.send(id, self.spec.request_bytes, now);
                }
            }
            Err(
                HostError::AddressNotAvailable
                | HostError::AddressInUse(_)
                | HostError::TooManyOpen
                | HostError::Down,
            ) => self.stats.not_started += 1,
            Err(e) => panic!("connect: {e}"),
        }
    }

    /// A socket event on one of its connections.
    pub fn on_event(&mut self, host: &mut Host, id: ConnId, event: Event, now: SimTime) {
        let spec = &self.spec;
        let Some(conn) = self.conns.get_mut(id) else {
            return;
        };
        match event {
            Event::Connected => {
                conn.connected = true;
                self.stats.connected += 1;
                self.stats
                    .setup_times_s
                    .push(now.saturating_since(conn.started).as_secs_f64());
                if spec.request_on == RequestOn::OwnSegment {
                    let _ = host.send(id, spec.request_bytes, now);
                }
                if spec.response_bytes == 0 && spec.close != ClientClose::Passive {
                    // Nothing to wait for: send and close, as ns-3's lifecycle anchor does.
                    conn.exchanges_left = 0;
                    conn.closed = true;
                    self.stats.completed += 1;
                    if spec.close == ClientClose::LingerZero {
                        let _ = host.set_linger_zero(id, true);
                    }
                    let _ = host.close(id, now);
                } else if spec.half_close && conn.exchanges_left == 1 {
                    let _ = host.shutdown(id, now);
                }
            }
            Event::Readable => {
                conn.received += host.receive(id, u64::MAX, now).unwrap_or(0);
                if conn.received >= spec.response_bytes && conn.exchanges_left > 0 {
                    conn.received -= spec.response_bytes;
                    if conn.exchanges_left == spec.requests_per_connection {
                        self.stats
                            .response_times_s
                            .push(now.saturating_since(conn.started).as_secs_f64());
                    }
                    conn.exchanges_left -= 1;
                    if conn.exchanges_left > 0 {
                        let _ = host.send(id, spec.request_bytes, now);
                        if spec.half_close && conn.exchanges_left == 1 {
                            let _ = host.shutdown(id, now);
                        }
                    } else {
                        self.stats.completed += 1;
                        if spec.close != ClientClose::Passive && !conn.closed {
                            conn.closed = true;
                            if spec.close == ClientClose::LingerZero {
                                let _ = host.set_linger_zero(id, true);
                            }
                            let _ = host.close(id, now);
                        }
                    }
                }
            }
            Event::PeerClosed => {
                if !conn.closed {
                    conn.closed = true;
                    let _ = host.close(id, now);
                }
            }
            Event::Failed(e) => {
                match e.kind {
                    ErrorKind::Refused => self.stats.refused += 1,
                    ErrorKind::Reset | ErrorKind::BrokenPipe => self.stats.reset += 1,
                    ErrorKind::TimedOut => self.stats.timed_out += 1,
                }
                if !conn.connected {
                    self.stats
                        .handshake_failure_times_s
                        .push(now.saturating_since(conn.started).as_secs_f64());
                }
                self.conns.remove(id);
            }
            Event::Closed | Event::ReturnedToListen => {
                self.conns.remove(id);
            }
        }
    }
}
