//! The TIME-WAIT table: one compact entry per 4-tuple, as Linux's timewait socks.

use crate::{Flags, FourTuple, Segment, Seq};
use rustc_hash::FxHashMap;
use std::collections::VecDeque;
use synack_kernel::{SimDuration, SimTime};

/// What TIME-WAIT needs of a closed connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// Our SND.NXT at the end.
    pub snd_nxt: Seq,
    /// Our RCV.NXT at the end (past the peer's FIN).
    pub rcv_nxt: Seq,
    /// When the entry expires.
    pub expiry: SimTime,
    /// The peer's last timestamp, if timestamps were on.
    pub ts_recent: Option<u32>,
    /// When that timestamp (or the last segment) was seen.
    pub last_seen: SimTime,
    /// When the entry last answered an invalid segment, in simulated ms (0: never).
    pub last_invalid_ack_ms: u32,
}

impl Entry {
    /// RFC 6191 and Linux: a SYN may reopen the 4-tuple when its timestamp is newer, or
    /// without timestamps when its sequence number is above RCV.NXT.
    pub fn accepts_syn(&self, syn: &Segment) -> bool {
        debug_assert!(syn.has(Flags::SYN));
        match (self.ts_recent, syn.timestamps) {
            (Some(recent), Some(ts)) => (ts.val.wrapping_sub(recent) as i32) > 0,
            _ => syn.seq.gt(self.rcv_nxt),
        }
    }

    /// tcp_tw_reuse: the last timestamp is over a second old (and timestamps were on).
    pub fn reusable(&self, now: SimTime) -> bool {
        self.ts_recent.is_some() && now.saturating_since(self.last_seen) > SimDuration::from_secs(1)
    }
}

/// The table, with expiries in order (every entry lasts the same, so a FIFO suffices;
/// a restarted entry is queued again and its old place skipped).
#[derive(Debug, Default)]
pub struct TimeWaitTable {
    entries: FxHashMap<FourTuple, Entry>,
    expiries: VecDeque<(SimTime, FourTuple)>,
    /// The front expiry is known to be its entry's: set by `drop_stale_expiries`, cleared by
    /// whatever may change that. Saves a lookup (a cache miss, at scale) every call.
    front_live: bool,
}

impl TimeWaitTable {
    /// Entries held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// The entry of a 4-tuple.
    pub fn get(&self, tuple: &FourTuple) -> Option<&Entry> {
        self.entries.get(tuple)
    }

    /// Adds an entry.
    pub fn insert(&mut self, tuple: FourTuple, entry: Entry) {
        self.expiries.push_back((entry.expiry, tuple));
        if self.entries.insert(tuple, entry).is_some() {
            self.front_live = false;
        }
    }

    /// Removes an entry (reuse, RST, new incarnation); returns whether there was one.
    pub fn remove(&mut self, tuple: &FourTuple) -> bool {
        self.front_live = false;
        self.entries.remove(tuple).is_some()
    }

    /// Whether the entry may answer the invalid segment `seg` now (see
    /// `invalid_ack_allowed`); records the answer if so.
    pub fn answer_invalid(
        &mut self,
        tuple: &FourTuple,
        interval: Option<SimDuration>,
        seg: &Segment,
        now: SimTime,
    ) -> bool {
        self.entries.get_mut(tuple).is_some_and(|entry| {
            crate::connection::invalid_ack_allowed(
                &mut entry.last_invalid_ack_ms,
                interval,
                seg,
                now,
            )
        })
    }

    /// Restarts an entry's timer.
    pub fn restart(&mut self, tuple: &FourTuple, expiry: SimTime) {
        if let Some(entry) = self.entries.get_mut(tuple) {
            self.front_live = false;
            entry.expiry = expiry;
            self.expiries.push_back((expiry, *tuple));
        }
    }

    /// The earliest expiry queued (possibly of a removed entry: harmless).
    pub fn next_expiry(&self) -> Option<SimTime> {
        self.expiries.front().map(|&(at, _)| at)
    }

    /// Forgets queued expiries of entries removed or restarted since, at the front.
    pub fn drop_stale_expiries(&mut self) {
        if self.front_live {
            return;
        }
        while let Some(&(at, tuple)) = self.expiries.front() {
            if self.entries.get(&tuple).is_some_and(|e| e.expiry == at) {
                self.front_live = true;
                break;
            }
            self.expiries.pop_front();
        }
    }

    /// Drops every entry expired at `now`, telling `dropped` of each.
    pub fn expire(&mut self, now: SimTime, mut dropped: impl FnMut(&FourTuple)) {
        while let Some(&(at, tuple)) = self.expiries.front() {
            if at > now {
                break;
            }
            self.expiries.pop_front();
            self.front_live = false;
            if self.entries.get(&tuple).is_some_and(|e| e.expiry == at) {
                self.entries.remove(&tuple);
                dropped(&tuple);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tuple(port: u16) -> FourTuple {
        FourTuple {
            local_addr: 1,
            local_port: port,
            remote_addr: 2,
            remote_port: 80,
        }
    }

    fn entry(expiry: u64) -> Entry {
        Entry {
            snd_nxt: Seq(0),
            rcv_nxt: Seq(0),
            expiry: SimTime::from_nanos(expiry),
            ts_recent: None,
            last_seen: SimTime::ZERO,
            last_invalid_ack_ms: 0,
        }
    }

    #[test]
    fn next_expiry_skips_removed_restarted_and_replaced_entries() {
        let mut table = TimeWaitTable::default();
        table.insert(tuple(1), entry(10));
        table.insert(tuple(2), entry(20));
        table.insert(tuple(3), entry(30));
        table.drop_stale_expiries();
        assert_eq!(table.next_expiry(), Some(SimTime::from_nanos(10)));
        table.remove(&tuple(1));
        table.drop_stale_expiries();
        assert_eq!(table.next_expiry(), Some(SimTime::from_nanos(20)));
        table.restart(&tuple(2), SimTime::from_nanos(40));
        table.drop_stale_expiries();
        assert_eq!(table.next_expiry(), Some(SimTime::from_nanos(30)));
        table.insert(tuple(3), entry(50));
        table.drop_stale_expiries();
        assert_eq!(table.next_expiry(), Some(SimTime::from_nanos(40)));
        let mut dropped = Vec::new();
        table.expire(SimTime::from_nanos(40), |t| dropped.push(*t));
        assert_eq!(dropped, [tuple(2)]);
        table.drop_stale_expiries();
        assert_eq!(table.next_expiry(), Some(SimTime::from_nanos(50)));
        assert_eq!(table.len(), 1);
    }
}
