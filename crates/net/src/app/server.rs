//! The server: a listener that accepts at its own pace, answers each request, and
//! closes as its spec says; its statistics.

use super::Requests;
use crate::topology::NodeId;
use synack_kernel::{SimDuration, SimTime};
use synack_tcp::Event;
use synack_tcp::host::{ConnId, ConnMap, DemuxHint, Host, HostError};

/// When a server closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerClose {
    /// Right after sending the response.
    AfterResponse,
    /// When the client's FIN arrives.
    WaitForClient,
    /// Never: the bug that leaks CLOSE-WAIT.
    Never,
}

/// A server.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerSpec {
    /// Its node.
    pub node: NodeId,
    /// The port it listens on.
    pub port: u16,
    /// listen() backlog.
    pub backlog: u32,
    /// Time between two accepts (0: accept as soon as a connection is queued).
    pub accept_interval: SimDuration,
    /// Bytes of a full request.
    pub request_bytes: u64,
    /// Bytes of each response.
    pub response_bytes: u64,
    /// When it closes.
    pub close: ServerClose,
    /// With [`ServerClose::WaitForClient`]: the mean of an exponential delay between the
    /// client's FIN and the server's close (the application's own work before it closes),
    /// drawn by the world for each connection; zero closes at once.
    pub close_delay_mean: SimDuration,
}

/// What a server saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServerStats {
    /// Connections accepted.
    pub accepted: u64,
    /// Responses sent.
    pub responses: u64,
    /// accept() calls refused (too many open).
    pub accept_refused: u64,
    /// Request bytes read.
    pub bytes_received: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ServerConn {
    received: u64,
    closed: bool,
}

/// A running server.
#[derive(Debug)]
pub struct Server {
    /// Its spec.
    pub spec: ServerSpec,
    /// What it saw.
    pub stats: ServerStats,
    /// By connection.
    conns: ConnMap<ServerConn>,
    accept_armed: bool,
}

impl Server {
    /// Starts loading its record of the connection a datagram with `hint` is for.
    pub(super) fn prefetch(&self, hint: DemuxHint) {
        self.conns.prefetch(hint);
    }

    /// A server not yet listening.
    pub fn new(spec: ServerSpec) -> Self {
        Server {
            spec,
            stats: ServerStats::default(),
            conns: ConnMap::default(),
            accept_armed: false,
        }
    }

    /// Starts listening.
    pub fn start(&mut self, host: &mut Host) -> Result<(), HostError> {
        host.listen(self.spec.port, self.spec.backlog)
    }

    /// A connection reached the accept queue, or the accept timer fired: accept at pace.
    pub fn accept_ready(
        &mut self,
        host: &mut Host,
        now: SimTime,
        timer_fired: bool,
        requests: &mut Requests,
    ) {
        if timer_fired {
            self.accept_armed = false;
        }
        if self.accept_armed {
            return;
        }
        let pace = self.spec.accept_interval;
        loop {
            match host.accept(self.spec.port) {
                Ok(Some(id)) => {
                    self.stats.accepted += 1;
                    self.conns.insert(
                        id,
                        ServerConn {
                            received: 0,
                            closed: false,
                        },
                    );
                    requests.owned.push(id);
                    // Data may already be waiting.
                    self.on_event(host, id, Event::Readable, now);
                    if pace > SimDuration::ZERO {
                        self.accept_armed = true;
                        requests.timers.push((now.saturating_add(pace), 0));
                        return;
                    }
                }
                Ok(None) => return,
                Err(_) => {
                    self.stats.accept_refused += 1;
                    return;
                }
            }
        }
    }

    /// A socket event on an accepted connection. Returns `true` when the connection is to
    /// be closed after a `close_delay_mean` delay, by [`Server::close_now`].
    pub fn on_event(&mut self, host: &mut Host, id: ConnId, event: Event, now: SimTime) -> bool {
        let spec = &self.spec;
        let Some(conn) = self.conns.get_mut(id) else {
            return false;
        };
        match event {
            Event::Readable => {
                let read = host.receive(id, u64::MAX, now).unwrap_or(0);
                self.stats.bytes_received += read;
                conn.received += read;
                while conn.received >= spec.request_bytes && spec.request_bytes > 0 {
                    conn.received -= spec.request_bytes;
                    let _ = host.send(id, spec.response_bytes, now);
                    self.stats.responses += 1;
                    if spec.close == ServerClose::AfterResponse && !conn.closed {
                        conn.closed = true;
                        let _ = host.close(id, now);
                    }
                }
            }
            Event::PeerClosed => {
                if spec.close == ServerClose::WaitForClient && !conn.closed {
                    if spec.close_delay_mean > SimDuration::ZERO {
                        return true;
                    }
                    conn.closed = true;
                    let _ = host.close(id, now);
                }
            }
            Event::Failed(_) | Event::Closed | Event::ReturnedToListen => {
                self.conns.remove(id);
            }
            Event::Connected => {}
        }
        false
    }

    /// Closes a connection whose close [`Server::on_event`] put off, if it is still open.
    pub fn close_now(&mut self, host: &mut Host, id: ConnId, now: SimTime) {
        if let Some(conn) = self.conns.get_mut(id)
            && !conn.closed
        {
            conn.closed = true;
            let _ = host.close(id, now);
        }
    }
}
