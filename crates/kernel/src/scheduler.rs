//! The event scheduler: a clock, a queue, and lazy cancellation.

use crate::queue::{DefaultQueue, Entry, EventQueue};
use crate::{KernelError, SimDuration, SimTime};
use rustc_hash::FxHashSet;
use std::marker::PhantomData;

/// Identifies one scheduled event, for [`Scheduler::cancel`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EventKey {
    time: SimTime,
    seq: u64,
}

impl EventKey {
    /// When the event is (or was) due.
    pub fn time(&self) -> SimTime {
        self.time
    }
}

/// A place in the order of events due at the same time, taken when an event's cause happens
/// and used when it is scheduled, maybe later ([`Scheduler::schedule_with_ticket`]): the
/// event then runs among same-time events as if it had been scheduled when the ticket was
/// taken. A simulator that holds an event back (say, a datagram queued behind another on a
/// link) keeps its rank this way, so same-time order follows the model, not the bookkeeping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ticket(u64);

/// Why a run returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunOutcome {
    /// No event is left.
    Exhausted,
    /// Every event up to the limit ran, and the clock now stands at the limit.
    ReachedLimit,
    /// A handler called [`Scheduler::request_stop`]; the clock stands at that event's time.
    Stopped,
}

/// A discrete-event scheduler over payloads `E`, with queue `Q`.
///
/// Events pop in `(time, rank)` order, where an event's rank is the order in which it was
/// scheduled, or its [`Ticket`] was taken. Handlers get `&mut Scheduler` and may schedule,
/// cancel and request a stop.
///
/// Cancellation is lazy and O(1): the key joins a set and the entry is discarded when it
/// reaches the head of the queue. Because events pop in `(time, seq)` order, a key at or
/// before the last popped `(time, seq)` has already fired or been discarded, so cancelling
/// it is a harmless no-op, and no per-event record is kept. When the queue empties, every
/// key handed out so far is dead, and the order starts afresh (discarded entries may lie
/// past the clock, so later events can sort before them).
pub struct Scheduler<E, Q: EventQueue<E> = DefaultQueue<E>> {
    queue: Q,
    now: SimTime,
    next_seq: u64,
    /// Every key with a smaller `seq` was handed out before the queue last emptied.
    retired_below: u64,
    /// The smallest `(time, seq)` not yet popped since the queue last emptied.
    unpopped_from: (SimTime, u64),
    cancelled: FxHashSet<u64>,
    processed: u64,
    stop_requested: bool,
    _event: PhantomData<fn(E)>,
}

impl<E, Q: EventQueue<E>> Default for Scheduler<E, Q> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E, Q: EventQueue<E>> Scheduler<E, Q> {
    /// An empty scheduler at time zero.
    pub fn new() -> Self {
        Scheduler {
            queue: Q::default(),
            now: SimTime::ZERO,
            next_seq: 0,
            retired_below: 0,
            unpopped_from: (SimTime::ZERO, 0),
            cancelled: FxHashSet::default(),
            processed: 0,
            stop_requested: false,
            _event: PhantomData,
        }
    }

    /// The current simulated time.
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// Events handed out so far (cancelled ones excluded).
    pub fn events_processed(&self) -> u64 {
        self.processed
    }

    /// Events scheduled and neither fired nor cancelled.
    pub fn pending(&self) -> usize {
        self.queue.len() - self.cancelled.len()
    }

    /// Schedules `event` at `at`, which may equal `now` (it then runs after every event
    /// already scheduled for `now`).
    #[inline]
    pub fn schedule_at(&mut self, at: SimTime, event: E) -> Result<EventKey, KernelError> {
        if at < self.now {
            return Err(KernelError::InPast { at, now: self.now });
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.queue.push(Entry {
            time: at,
            seq,
            event,
        });
        Ok(EventKey { time: at, seq })
    }

    /// Takes the next place in the order of same-time events, for an event to be scheduled
    /// later with [`Scheduler::schedule_with_ticket`].
    #[inline]
    pub fn ticket(&mut self) -> Ticket {
        let seq = self.next_seq;
        self.next_seq += 1;
        Ticket(seq)
    }

    /// Schedules `event` at `at`, ranked by `ticket` among events due then. Refused when `at`
    /// is before now, or when the ticket's place has passed: an event due at `at` with a
    /// later ticket has already run, or the queue has emptied since the ticket was taken.
    #[inline]
    pub fn schedule_with_ticket(
        &mut self,
        at: SimTime,
        ticket: Ticket,
        event: E,
    ) -> Result<EventKey, KernelError> {
        if at < self.now {
            return Err(KernelError::InPast { at, now: self.now });
        }
        let seq = ticket.0;
        if seq < self.retired_below || (at, seq) < self.unpopped_from {
            return Err(KernelError::TicketPassed { at });
        }
        self.queue.push_ranked(Entry {
            time: at,
            seq,
            event,
        });
        Ok(EventKey { time: at, seq })
    }

    /// Schedules `event` at `now + delay`.
    #[inline]
    pub fn schedule_after(
        &mut self,
        delay: SimDuration,
        event: E,
    ) -> Result<EventKey, KernelError> {
        let at = self
            .now
            .checked_add(delay)
            .ok_or(KernelError::TimeOverflow {
                now: self.now,
                delay,
            })?;
        self.schedule_at(at, event)
    }

    /// Cancels a pending event. Returns whether it was pending; cancelling one that already
    /// fired or was already cancelled does nothing and returns `false`.
    #[inline]
    pub fn cancel(&mut self, key: EventKey) -> bool {
        if key.seq >= self.next_seq || key.seq < self.retired_below {
            return false;
        }
        if (key.time, key.seq) < self.unpopped_from {
            return false;
        }
        self.cancelled.insert(key.seq)
    }

    /// Asks the running `run`/`run_until` to return after the current event.
    pub fn request_stop(&mut self) {
        self.stop_requested = true;
    }

    /// Takes the next live event due at or before `limit` and moves the clock to it.
    #[inline]
    fn pop_live(&mut self, limit: SimTime) -> Option<(SimTime, E)> {
        while let Some(entry) = self.queue.pop_until(limit) {
            self.unpopped_from = (entry.time, entry.seq + 1);
            if !self.cancelled.is_empty() && self.cancelled.remove(&entry.seq) {
                continue;
            }
            debug_assert!(entry.time >= self.now, "event popped in the past");
            self.now = entry.time;
            self.processed += 1;
            return Some((entry.time, entry.event));
        }
        if self.queue.is_empty() {
            debug_assert!(self.cancelled.is_empty());
            self.retired_below = self.next_seq;
            self.unpopped_from = (SimTime::ZERO, 0);
            self.queue.rebase(self.now);
        }
        None
    }

    /// Pops the next event, moves the clock to it and returns it; `None` when none is left.
    pub fn step(&mut self) -> Option<(SimTime, E)> {
        self.pop_live(SimTime::MAX)
    }

    /// Pops the next event if it is due at or before `limit`, moving the clock to it;
    /// otherwise returns `None` and leaves the clock alone. For drivers that handle events
    /// outside a closure.
    pub fn step_until(&mut self, limit: SimTime) -> Option<(SimTime, E)> {
        self.pop_live(limit)
    }

    /// Runs events until none is left or a handler requests a stop.
    pub fn run(&mut self, mut handler: impl FnMut(&mut Self, E)) -> RunOutcome {
        while let Some((_, event)) = self.pop_live(SimTime::MAX) {
            handler(self, event);
            if std::mem::take(&mut self.stop_requested) {
                return RunOutcome::Stopped;
            }
        }
        RunOutcome::Exhausted
    }

    /// Runs every event due at or before `until`, then sets the clock to `until`, unless a
    /// handler requests a stop first.
    pub fn run_until(
        &mut self,
        until: SimTime,
        mut handler: impl FnMut(&mut Self, E),
    ) -> Result<RunOutcome, KernelError> {
        if until < self.now {
            return Err(KernelError::InPast {
                at: until,
                now: self.now,
            });
        }
        while let Some((_, event)) = self.pop_live(until) {
            handler(self, event);
            if std::mem::take(&mut self.stop_requested) {
                return Ok(RunOutcome::Stopped);
            }
        }
        self.now = until;
        Ok(RunOutcome::ReachedLimit)
    }
}
