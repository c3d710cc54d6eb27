//! Active opens: `connect` and its variants, and the choice of an ephemeral port (from an
//! offset hashed from the destination, then in order, as Linux's `__inet_hash_connect`),
//! reusing a TIME-WAIT 4-tuple when `tw_reuse` allows.

use super::demux::NO_SLOT;
use super::sockets::{ConnId, Stage};
use super::{Host, HostError, TwReuse};
use crate::{Cause, Connection, FourTuple, Seq, TcpConfig};
use std::sync::Arc;
use synack_kernel::SimTime;

/// Where the search for a free ephemeral port starts.
pub(super) struct PortOffsets {
    /// Hashed with the destination, so each destination gets its own start.
    key: u64,
    /// Moves every start along by one a connect, as Linux's per-bucket counter does.
    counter: u32,
}

impl PortOffsets {
    pub(super) fn new(key: u64) -> Self {
        PortOffsets { key, counter: 0 }
    }

    /// The next search's start toward `remote_addr:remote_port`.
    fn next(&mut self, remote_addr: u32, remote_port: u16) -> u32 {
        let dest = (u64::from(remote_addr) << 16 | u64::from(remote_port)) ^ self.key;
        let offset = (dest.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32) as u32;
        let start = offset.wrapping_add(self.counter);
        self.counter = self.counter.wrapping_add(1);
        start
    }
}

/// How [`Host::connect`] opens a connection; the default is the host's first address, an
/// ephemeral port, the host's endpoint configuration and a SYN without data.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// The local address, one of the host's; `None` is its first.
    pub local_addr: Option<u32>,
    /// A fixed local port (bind, then connect: what two peers opening to each other at once
    /// need for a simultaneous open); `None` picks an ephemeral one, as connect alone does.
    /// A port whose 4-tuple is in use or in TIME-WAIT is refused with `AddressInUse`.
    pub local_port: Option<u16>,
    /// The endpoint's configuration (socket options set before connect); `None` is the
    /// host's.
    pub config: Option<Arc<TcpConfig>>,
    /// The first bytes of the stream, carried on the SYN (TCP Fast Open; see
    /// [`Connection::connect_with_data`]).
    pub syn_data: u64,
}

impl Host {
    pub(super) fn open_limit_reached(&self) -> bool {
        self.config.max_open.is_some_and(|max| self.open >= max)
    }

    /// Active open to `remote_addr:remote_port`, as `options` say: from which of the host's
    /// addresses and which port, with which endpoint configuration, and with what on the SYN.
    pub fn connect(
        &mut self,
        remote_addr: u32,
        remote_port: u16,
        options: ConnectOptions,
        now: SimTime,
    ) -> Result<ConnId, HostError> {
        let local_addr = match options.local_addr {
            Some(addr) => addr,
            None => *self.addrs.first().ok_or(HostError::AddressNotAvailable)?,
        };
        self.may_open()?;
        let config = options.config.unwrap_or_else(|| self.tcp.clone());
        let (tuple, reuse_isn) = match options.local_port {
            Some(local_port) => {
                let tuple = FourTuple {
                    local_addr,
                    local_port,
                    remote_addr,
                    remote_port,
                };
                let taken = self.sockets.find_by_tuple(&tuple).is_some()
                    || self
                        .time_wait
                        .get(self.sockets.tuple_table(), &tuple)
                        .is_some();
                if taken {
                    return Err(HostError::AddressInUse(local_port));
                }
                (tuple, None)
            }
            None => match self.pick_port(local_addr, remote_addr, remote_port, now) {
                Some(picked) => picked,
                None => {
                    self.counters.port_exhaustion += 1;
                    return Err(HostError::AddressNotAvailable);
                }
            },
        };
        self.open(config, tuple, reuse_isn, options.syn_data, now)
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

    fn open(
        &mut self,
        config: Arc<TcpConfig>,
        tuple: FourTuple,
        reuse_isn: Option<Seq>,
        syn_data: u64,
        now: SimTime,
    ) -> Result<ConnId, HostError> {
        let iss = reuse_isn.unwrap_or_else(|| self.isn.isn(&tuple, now));
        let incarnation = self.incarnation();
        let conn = Connection::connect_with_data(
            config,
            tuple.local_port,
            tuple.remote_port,
            iss,
            incarnation,
            syn_data,
            now,
            &mut self.endpoint_output,
        );
        self.counters.opened += 1;
        let id = self.insert_socket(conn, tuple, NO_SLOT, Stage::Active);
        self.collect_endpoint_output(id, now);
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
        let start = self.port_offsets.next(remote_addr, remote_port);
        let probe = FourTuple {
            local_addr,
            local_port: 0,
            remote_addr,
            remote_port,
        };
        let reuse = self.config.tw_reuse == TwReuse::On && self.config.tcp.timestamps;
        if !reuse {
            // Offsets `(start + i) % span` for i in 0..span, computed in wrapping u32 as
            // below: one cyclic run from `start % span`, then, if `start + i` wraps, a
            // second from 0.
            let before_wrap = (u64::from(u32::MAX - start) + 1).min(u64::from(span)) as u32;
            let listeners = &self.listeners;
            let skip = |port| listeners.contains(port);
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
            if self.listeners.contains(port) {
                continue;
            }
            let tuple = FourTuple {
                local_port: port,
                ..probe
            };
            if self.sockets.find_by_tuple(&tuple).is_some() {
                continue;
            }
            match self.time_wait.get(self.sockets.tuple_table(), &tuple) {
                None => return Some((tuple, None)),
                Some(tw) if tw.reusable(now) => {
                    let isn = tw.record.successor_isn();
                    self.remove_time_wait(&tuple, Cause::Reused, now);
                    return Some((tuple, Some(isn)));
                }
                Some(_) => {}
            }
        }
        None
    }
}
