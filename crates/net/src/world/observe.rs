//! What observers (traces, pcaps, diagrams) are told: every segment's fate on a link and
//! every state change.

use synack_kernel::SimTime;
use synack_link::{DropCause, Way};
use synack_tcp::host::Datagram;
use synack_tcp::{FourTuple, Transition};

/// What happened to one copy of a segment on a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegmentFate {
    /// Handed to the link.
    Sent,
    /// Arrived intact.
    Delivered,
    /// Arrived, but failed the checksum.
    Corrupt,
    /// Lost.
    Dropped(DropCause),
    /// The link made an extra copy.
    Duplicated,
}

/// Receives what a run does, as it happens (traces stream from here).
pub trait Observer {
    /// A segment's fate on a link.
    fn segment(
        &mut self,
        at: SimTime,
        link: &str,
        way: Way,
        datagram: &Datagram,
        fate: SegmentFate,
    );
    /// A connection's state change.
    fn transition(&mut self, node: &str, tuple: &FourTuple, transition: &Transition);
    /// The run is over: put the output in place.
    fn finish(self: Box<Self>) -> std::io::Result<()> {
        Ok(())
    }
}
