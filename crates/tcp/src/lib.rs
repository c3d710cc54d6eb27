//! synack's TCP: one connection endpoint as a pure, sans-io state machine (RFC 9293, with
//! RFC 6298 retransmission timing, RFC 5961 challenge ACKs, RFC 1337 and RFC 6528 ISNs).
//!
//! The endpoint is handed segments and `now`, and the application's calls; it appends
//! the segments to send, socket events and state transitions to an [`Output`], and tells
//! its next deadline. It never reads a clock and never schedules anything, so it can be
//! tested alone: see `tests/` for one test per edge of the state diagram, named
//! `<state>_<event>_<outcome>`, and a two-endpoint harness over a lossy link.
//!
//! [`host::Host`] is a host's TCP layer on top: listeners with SYN and accept queues, SYN
//! cookies, ports, the TIME-WAIT table, limits, crash and reboot, and the OS profiles.

mod arrival;
mod config;
mod connection;
#[doc(hidden)]
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod host;
mod isn;
mod recv;
mod rto;
mod segment;
mod seq;
mod state;
mod time_wait;
mod timers;
mod wheel;

pub use config::{
    Backoff, ConfigError, Keepalive, MAX_ACK_DELAY, ReceiveWindow, ResetErrors, TcpConfig,
    TimeWaitLength,
};
pub use connection::{
    Connection, ConnectionError, DEFAULT_MSS, ErrorKind, Event, MIN_MSS, Output, UserError,
};
pub use isn::{FourTuple, IsnGenerator, IsnSource};
pub use recv::{Integrity, MAX_OUT_OF_ORDER};
pub use rto::RttEstimator;
pub use segment::{DataId, Flags, Segment, Timestamps, closed_reply};
pub use seq::Seq;
pub use state::{Cause, State, Transition};
pub use time_wait::{TimeWait, TimeWaitRules, Verdict};
pub use wheel::JiffyWheel;
