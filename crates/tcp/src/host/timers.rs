//! The host's connection timers: a timing wheel of (slot, generation) entries, at most one
//! live entry a socket. A socket's `armed` (in the [`SocketTable`]) is its earliest queued
//! wake-up; an entry is live exactly when [`SocketTable::is_armed_at`] says so, and every
//! other entry (of a removed socket, or superseded by an earlier wake-up) is dropped when it
//! reaches the front. A connection that wants a later wake-up than the one queued keeps the
//! earlier entry, which fires, finds nothing due, and re-arms: cheaper than removing it.

use super::sockets::{ConnId, SocketTable};
use synack_kernel::SimTime;
use synack_kernel::queue::{Entry, EventQueue, TimingWheel};

/// The timers of a host's sockets.
pub(super) struct Timers {
    wheel: TimingWheel<(u32, u32)>,
    /// The tie-breaker of entries at one time: the order they were armed.
    armed_count: u64,
    /// The wheel's first entry as (time, seq, slot), once found live: it stays live until
    /// its socket's `armed` changes or the socket goes, which forgets it. Saves a look at a
    /// socket (a cache miss, with a million open) every `next_deadline`.
    live_first: Option<(SimTime, u64, u32)>,
}

impl Default for Timers {
    fn default() -> Self {
        Timers {
            wheel: TimingWheel::with_fast_peek(),
            armed_count: 0,
            live_first: None,
        }
    }
}

impl Timers {
    /// Arms `id`'s socket for `deadline` (or for nothing).
    pub(super) fn arm(&mut self, sockets: &mut SocketTable, id: ConnId, deadline: Option<SimTime>) {
        let Some(deadline) = deadline else {
            // Whatever is queued is superseded, and `next_deadline` may drop it.
            sockets.set_armed(id.slot, SimTime::MAX);
            self.forget(id.slot);
            return;
        };
        if sockets.armed(id.slot) <= deadline {
            return;
        }
        sockets.set_armed(id.slot, deadline);
        self.forget(id.slot);
        self.armed_count += 1;
        self.wheel.push(Entry {
            time: deadline,
            seq: self.armed_count,
            event: (id.slot, id.generation),
        });
    }

    /// The socket in `slot` changed its `armed` or went: its timer may be stale now.
    pub(super) fn forget(&mut self, slot: u32) {
        if self.live_first.is_some_and(|(_, _, s)| s == slot) {
            self.live_first = None;
        }
    }

    /// The earliest live timer. Superseded entries at the front are dropped first, without
    /// moving the wheel's horizon, so later timers may still be armed at any time from now.
    pub(super) fn next_deadline(&mut self, sockets: &SocketTable) -> Option<SimTime> {
        loop {
            let Some(first) = self.wheel.first() else {
                return self.wheel.peek_time();
            };
            let (slot, generation) = first.event;
            let key = (first.time, first.seq, slot);
            if self.live_first == Some(key) {
                return Some(first.time);
            }
            if sockets.is_armed_at(ConnId { slot, generation }, first.time) {
                self.live_first = Some(key);
                return Some(first.time);
            }
            if !self.wheel.remove_first_if(|_| true) {
                return self.wheel.peek_time();
            }
        }
    }

    /// The next socket whose live timer is due at or before `now`, disarmed; stale entries
    /// on the way are dropped.
    pub(super) fn pop_due(&mut self, sockets: &mut SocketTable, now: SimTime) -> Option<ConnId> {
        while let Some(entry) = self.wheel.pop_until(now) {
            let (slot, generation) = entry.event;
            let id = ConnId { slot, generation };
            if sockets.is_armed_at(id, entry.time) {
                sockets.set_armed(slot, SimTime::MAX);
                self.forget(slot);
                return Some(id);
            }
        }
        None
    }

    /// Drops every timer (a crash).
    pub(super) fn clear(&mut self) {
        *self = Timers::default();
    }
}
