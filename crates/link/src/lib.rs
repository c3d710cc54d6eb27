//! synack's link model: what happens to a packet between two hosts. It knows packets (a
//! size and an opaque payload), not TCP.
//!
//! A [`Link`] has two independent [`Direction`]s. Given a packet sent at `now`, a direction
//! returns a [`PacketFates`]: the packet is dropped with a [`DropCause`], delivered once, or
//! delivered twice (the network's duplicate), each copy possibly corrupt. The verdict is a
//! function of the packet, `now`, the direction's state and its random streams; nothing is
//! scheduled here (the `net` crate turns deliveries into kernel events).
//!
//! What befalls a packet, in order, as on a real path:
//! 1. the queue in front of the wire (drop-tail when full) and serialization at the
//!    bandwidth;
//! 2. a black hole, then the deterministic rules, then random or burst loss;
//! 3. propagation delay plus jitter; in FIFO mode a packet never overtakes the one ahead,
//!    unless it was singled out by the reorder probability and held back;
//! 4. duplication, whose copy lingers by its own delay distribution;
//! 5. corruption, drawn per copy;
//! 6. the maximum lifetime: a copy that would arrive later is dropped as expired.
//!
//! Each feature draws from its own random stream, and the loss stream draws once per packet
//! whatever else happens to it, so the packets a given seed loses do not change when, say,
//! duplication or the queue size is varied.

mod config;
mod direction;
mod distribution;
mod link;

pub use config::{
    DirectionConfig, DropRule, LinkConfig, LinkConfigError, Loss, Match, Order, QueueLimit,
};
pub use direction::{Direction, DirectionStats, DropCause, Fate, Packet, PacketFates};
pub use distribution::Delay;
pub use link::{Link, Way};
