//! The application's calls on a connection, and what the host does with an endpoint's
//! output after every call, arrival and timeout: datagrams, events, transitions, counters,
//! the hand-over to TIME-WAIT, removal, and the next timer.

use super::datagram::{Datagram, DemuxHint};
use super::sockets::{ConnId, Stage};
use super::{Host, HostError};
use crate::connection::Output;
use crate::{Connection, ErrorKind, Event, State, TcpConfig, UserError};
use std::sync::Arc;
use synack_kernel::SimTime;

impl Host {
    /// Runs a call on `id`'s endpoint, then collects what it produced.
    fn call<T>(
        &mut self,
        id: ConnId,
        now: SimTime,
        f: impl FnOnce(&mut Connection, SimTime, &mut Output) -> Result<T, UserError>,
    ) -> Result<T, HostError> {
        if !self.up {
            return Err(HostError::Down);
        }
        let result = match self.sockets.get_mut(id) {
            Some(socket) => {
                f(&mut socket.conn, now, &mut self.endpoint_output).map_err(HostError::from)
            }
            None => Err(HostError::NoSuchConnection),
        };
        self.collect_endpoint_output(id, now);
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
        let socket = self
            .sockets
            .get_mut(id)
            .ok_or(HostError::NoSuchConnection)?;
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

    /// Replaces an open connection's configuration (setsockopt on a connected socket).
    pub fn set_connection_config(
        &mut self,
        id: ConnId,
        config: TcpConfig,
        now: SimTime,
    ) -> Result<(), HostError> {
        let socket = self
            .sockets
            .get_mut(id)
            .ok_or(HostError::NoSuchConnection)?;
        socket.conn.set_config(Arc::new(config), now);
        self.arm(id);
        Ok(())
    }

    /// Collects what `id`'s endpoint produced into the host's output, and settles the
    /// socket: promoted, into TIME-WAIT, removed, or armed for its next deadline.
    pub(super) fn collect_endpoint_output(&mut self, id: ConnId, now: SimTime) {
        let Some(socket) = self.sockets.get(id) else {
            self.endpoint_output.clear();
            return;
        };
        let (tuple, stage) = (socket.tuple, socket.stage);
        let hint = DemuxHint {
            from: id.slot,
            to: self.sockets.peer_slot(id.slot),
        };
        // Fields borrowed one by one, so the endpoint's output is drained in place.
        let (produced, output, counters) = (
            &mut self.endpoint_output,
            &mut self.output,
            &mut self.counters,
        );
        for segment in produced.segments.drain(..) {
            output.send(
                Datagram::new(tuple.local_addr, tuple.remote_addr, segment),
                hint,
            );
        }
        let mut entered_time_wait = false;
        for t in produced.transitions.drain(..) {
            if t.to == State::CloseWait {
                counters.close_wait += 1;
            } else if t.from == State::CloseWait {
                counters.close_wait -= 1;
            }
            entered_time_wait |= t.to == State::TimeWait;
            output.transitions.push((Some(id), tuple, t));
        }
        let visible = matches!(stage, Stage::Active | Stage::Accepted | Stage::Queued(_));
        let mut promote = None;
        for event in produced.events.drain(..) {
            match event {
                Event::Failed(e) if visible => match e.kind {
                    ErrorKind::Refused => counters.refused += 1,
                    ErrorKind::Reset | ErrorKind::BrokenPipe => counters.reset += 1,
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
        let socket = self.sockets.get(id).expect("present");
        if entered_time_wait && socket.conn.state() == State::TimeWait {
            self.enter_time_wait(id, now);
            return;
        }
        if socket.conn.is_finished() {
            self.remove_socket(id);
            return;
        }
        self.arm(id);
    }

    /// Queues a timer for `id`'s next deadline.
    pub(super) fn arm(&mut self, id: ConnId) {
        let deadline = self.sockets.get(id).expect("present").conn.next_deadline();
        self.timers.arm(&mut self.sockets, id, deadline);
    }
}
