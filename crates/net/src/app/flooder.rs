//! The SYN flooder: spoofed SYNs at a rate, which the world sends for it.

use crate::topology::NodeId;
use rand::RngExt;
use synack_kernel::{SimRng, SimTime};

/// A SYN flooder: SYNs from spoofed addresses, never completing a handshake.
#[derive(Debug, Clone, PartialEq)]
pub struct FlooderSpec {
    /// Its node (the SYNs leave through its links).
    pub node: NodeId,
    /// The target's address.
    pub target_addr: u32,
    /// The target's port.
    pub target_port: u16,
    /// SYNs per second.
    pub per_second: f64,
    /// When it starts.
    pub start: SimTime,
    /// When it stops.
    pub stop: SimTime,
    /// Spoofed sources: `spoof_base + k` for k below `spoof_count`.
    pub spoof_base: u32,
    /// How many spoofed addresses.
    pub spoof_count: u32,
    /// Poisson arrivals (exponential gaps of mean 1 / `per_second`) rather than a constant
    /// gap. A constant flood against a fixed half-open lifetime frees and refills SYN-queue
    /// slots in lockstep; real floods arrive jittered.
    pub poisson: bool,
}

/// A spoofed SYN's source for the flooder's `k`-th SYN.
pub fn spoofed_source(spec: &FlooderSpec, rng: &mut SimRng) -> (u32, u16) {
    let k = rng.random_range(0..spec.spoof_count.max(1));
    (
        spec.spoof_base.wrapping_add(k),
        rng.random_range(1024..=65535),
    )
}
