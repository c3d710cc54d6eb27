//! The connection states of RFC 9293, and the record of every change between them.

use std::fmt;
use synack_kernel::SimTime;

/// A connection state, named as in RFC 9293. LISTEN belongs to a listener (in the host
/// layer), but is named here so transitions back to it can be recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum State {
    /// No connection.
    Closed,
    /// Waiting for a SYN (a listener).
    Listen,
    /// SYN sent, waiting for a matching SYN.
    SynSent,
    /// SYN received and SYN sent, waiting for the ACK of our SYN.
    SynReceived,
    /// Open: data flows both ways.
    Established,
    /// We sent FIN; waiting for its ACK or the peer's FIN.
    FinWait1,
    /// Our FIN is acknowledged; waiting for the peer's FIN.
    FinWait2,
    /// The peer sent FIN; waiting for our application to close.
    CloseWait,
    /// Both sent FIN at once; waiting for the ACK of ours.
    Closing,
    /// The peer closed first and we sent FIN; waiting for its ACK.
    LastAck,
    /// Both FINs are acknowledged; waiting out 2 x MSL for stray segments.
    TimeWait,
}

impl State {
    /// The RFC's name, e.g. `FIN-WAIT-1`.
    pub const fn name(self) -> &'static str {
        match self {
            State::Closed => "CLOSED",
            State::Listen => "LISTEN",
            State::SynSent => "SYN-SENT",
            State::SynReceived => "SYN-RECEIVED",
            State::Established => "ESTABLISHED",
            State::FinWait1 => "FIN-WAIT-1",
            State::FinWait2 => "FIN-WAIT-2",
            State::CloseWait => "CLOSE-WAIT",
            State::Closing => "CLOSING",
            State::LastAck => "LAST-ACK",
            State::TimeWait => "TIME-WAIT",
        }
    }

    /// Whether the three-way handshake is over (RFC 9293's "synchronized" states).
    pub const fn is_synchronized(self) -> bool {
        !matches!(
            self,
            State::Closed | State::Listen | State::SynSent | State::SynReceived
        )
    }

    /// Whether `self -> to` is an edge of RFC 9293's state diagram (figure 5), including the
    /// RST and timeout edges its text adds (any state to CLOSED, SYN-RECEIVED to LISTEN).
    pub fn can_become(self, to: State) -> bool {
        use State::*;
        match (self, to) {
            (_, Closed) => self != Closed,
            (Closed, Listen | SynSent | SynReceived) => true,
            (Listen, SynReceived | SynSent) => true,
            (SynSent, SynReceived | Established) => true,
            (SynReceived, Established | FinWait1 | Listen) => true,
            (Established, FinWait1 | CloseWait) => true,
            (FinWait1, FinWait2 | Closing | TimeWait) => true,
            (FinWait2, TimeWait) => true,
            (CloseWait, LastAck) => true,
            (Closing, TimeWait) => true,
            _ => false,
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a state changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cause {
    /// The application called connect.
    Connect,
    /// A SYN arrived at a listener (passive open).
    PassiveOpen,
    /// A SYN arrived in SYN-SENT (simultaneous open).
    SimultaneousOpen,
    /// A SYN-ACK acknowledging our SYN arrived.
    SynAck,
    /// The ACK of our SYN arrived.
    HandshakeAck,
    /// The application closed or shut down writing.
    Close,
    /// The ACK of our FIN arrived.
    FinAcked,
    /// The peer's FIN arrived.
    PeerFin,
    /// The peer's FIN arrived together with the ACK of ours.
    PeerFinAndAck,
    /// A RST arrived.
    Reset,
    /// The application aborted (or closed with SO_LINGER {on, 0}, or with unread data).
    Abort,
    /// Retransmissions (or the connect timeout, or keepalive probes) ran out.
    Timeout,
    /// TIME-WAIT's 2 x MSL ran out.
    TimeWaitExpired,
    /// A newer SYN ended TIME-WAIT to open the 4-tuple again (RFC 6191).
    Reopened,
    /// The FIN-WAIT-2 timeout of an orphaned connection ran out.
    FinWait2Timeout,
    /// tcp_tw_reuse took the TIME-WAIT 4-tuple for a new outgoing connection.
    Reused,
    /// The host's TIME-WAIT table was full, so the connection closed at once (Linux's
    /// "time wait bucket table overflow").
    TimeWaitTableFull,
    /// The host crashed: every socket vanished without a segment.
    Crash,
}

/// One recorded state change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    /// When it happened.
    pub at: SimTime,
    /// The state left.
    pub from: State,
    /// The state entered.
    pub to: State,
    /// Why.
    pub cause: Cause,
}
