//! What a host sends and tells: datagrams (a TCP segment between two addresses, with the
//! simulator's demultiplexing hint) and the output a host accumulates for its driver.

use super::sockets::{ConnId, NO_SLOT};
use crate::{Event, FourTuple, Segment, Transition};

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
    pub const NO_SLOT: u32 = NO_SLOT;
    /// No hint either way.
    pub const NONE: DemuxHint = DemuxHint {
        from: Self::NO_SLOT,
        to: Self::NO_SLOT,
    };
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
