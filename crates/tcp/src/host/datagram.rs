//! What a host sends and tells: datagrams (a TCP segment between two addresses), the
//! simulator's demultiplexing hint that rides beside each, and the output a host
//! accumulates for its driver.

use super::demux::NO_SLOT;
use super::sockets::ConnId;
use crate::{Event, FourTuple, Segment, Transition};

/// An IPv4 datagram carrying a TCP segment: what is on the wire, and nothing else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Datagram {
    /// Source address.
    pub src: u32,
    /// Destination address.
    pub dst: u32,
    /// The segment.
    pub segment: Segment,
}

impl Datagram {
    /// A datagram from `src` to `dst`.
    pub fn new(src: u32, dst: u32, segment: Segment) -> Self {
        Datagram { src, dst, segment }
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

/// Simulator metadata that travels beside a datagram (never in it), as Linux's early demux
/// caches a socket on the packet or an ns-3 packet tag rides along: where the sending
/// socket sits in its host, and where the sender believes the receiving socket sits in the
/// receiver (as the peer's last datagram told it). The receiver checks the hinted socket's
/// 4-tuple before its 4-tuple table and falls back to the table on any mismatch, so the hint
/// never changes which socket gets a segment: it saves the table's lookup, two cache misses
/// a segment with a million connections open. A driver carries it unopened, from
/// [`Outgoing::hint`] to [`crate::host::Host::handle_with_hint`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemuxHint {
    /// The sending socket's slot, or [`NO_SLOT`].
    pub(super) from: u32,
    /// The receiving socket's slot as the sender last learned it, or [`NO_SLOT`].
    pub(super) to: u32,
}

impl DemuxHint {
    /// No hint either way: what a datagram from outside the simulated hosts carries.
    pub const NONE: DemuxHint = DemuxHint {
        from: NO_SLOT,
        to: NO_SLOT,
    };
}

/// A datagram the host sends, and beside it (never in it) the hint its receiver may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outgoing {
    /// What goes on the wire.
    pub datagram: Datagram,
    /// Simulator metadata for the receiving host ([`DemuxHint`]).
    pub hint: DemuxHint,
}

/// What the host produced since the last drain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostOutput {
    /// Datagrams to send, in order, each with its demultiplexing hint.
    pub outgoing: Vec<Outgoing>,
    /// Socket events, by connection.
    pub events: Vec<(ConnId, Event)>,
    /// State changes, by connection and 4-tuple. A TIME-WAIT record's end has no
    /// connection: its socket was closed when it became the record.
    pub transitions: Vec<(Option<ConnId>, FourTuple, Transition)>,
}

impl HostOutput {
    /// Whether nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.outgoing.is_empty() && self.events.is_empty() && self.transitions.is_empty()
    }

    /// Queues `datagram` to send, with its hint.
    pub(super) fn send(&mut self, datagram: Datagram, hint: DemuxHint) {
        self.outgoing.push(Outgoing { datagram, hint });
    }

    /// Empties the output.
    pub fn clear(&mut self) {
        self.outgoing.clear();
        self.events.clear();
        self.transitions.clear();
    }
}
