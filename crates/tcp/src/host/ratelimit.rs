//! A per-source SYN rate filter in front of the listeners, like
//! `iptables -m hashlimit --hashlimit-mode srcip --syn`: every source address has a token
//! bucket, and a SYN that finds its bucket empty is dropped before TCP sees it. A spoofed
//! flood defeats it, since each forged address sends only a few SYNs. Buckets never
//! expire (hashlimit's expire is a memory bound, not behaviour).

use rustc_hash::FxHashMap;
use synack_kernel::SimTime;

/// The filter's knobs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SynRateLimit {
    /// SYNs admitted per second per source address, after the burst.
    pub per_second: f64,
    /// SYNs a source may send at once (the bucket's size), at least 1.
    pub burst: u32,
}

/// The buckets, by source address: tokens left and when they were counted.
#[derive(Debug, Default)]
pub(crate) struct SourceBuckets(FxHashMap<u32, (f64, SimTime)>);

impl SourceBuckets {
    /// Whether a SYN from `source` at `now` passes; takes its token if so.
    pub(crate) fn admit(&mut self, limit: &SynRateLimit, source: u32, now: SimTime) -> bool {
        let burst = f64::from(limit.burst);
        let (tokens, counted) = self.0.entry(source).or_insert((burst, now));
        let refill = now.saturating_since(*counted).as_secs_f64() * limit.per_second;
        *tokens = (*tokens + refill).min(burst);
        *counted = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }

    pub(crate) fn clear(&mut self) {
        self.0.clear();
    }
}
