//! Pending-event queues. Every implementation pops in (time, insertion order) order, so two
//! events at the same instant come out first-in first-out and runs are reproducible.
//!
//! The scheduler cancels lazily (see [`crate::Scheduler::cancel`]), so a queue only needs
//! push and pop. Three implementations are kept so they can be benchmarked side by side
//! (`cargo bench -p synack-benches --bench kernel_hold`, `synack bench hold --queue NAME`).

mod heap;
mod indexed;
mod wheel;

pub use heap::HeapQueue;
pub use indexed::IndexedQueue;
pub use wheel::TimingWheel;

use crate::SimTime;
use std::fmt;
use std::str::FromStr;

/// One scheduled event as a queue holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry<E> {
    /// When the event fires.
    pub time: SimTime,
    /// The rank among entries at the same `time`, smaller first; unique among entries held.
    pub seq: u64,
    /// The caller's payload.
    pub event: E,
}

/// A priority queue of [`Entry`] ordered by `(time, seq)`.
///
/// Contract, which [`crate::Scheduler`] upholds: no two entries held share a `seq`; a
/// [`EventQueue::push`] brings a larger `seq` than any before it, a
/// [`EventQueue::push_ranked`] one after the last popped `(time, seq)`; and every pushed
/// `time` is at or after the *horizon*: the latest of all popped times, of all `limit`s passed
/// to [`EventQueue::pop_until`], and of the last [`EventQueue::rebase`]. The timing wheel
/// relies on all three; the heaps do not care.
pub trait EventQueue<E>: Default {
    /// The name `--queue` accepts.
    const NAME: &'static str;

    /// Adds an entry.
    fn push(&mut self, entry: Entry<E>);

    /// Adds an entry whose `seq` may be smaller than earlier pushes' (an event scheduled with
    /// a [`crate::Ticket`]): still after the last popped `(time, seq)`.
    fn push_ranked(&mut self, entry: Entry<E>) {
        self.push(entry);
    }

    /// Removes and returns the smallest entry by `(time, seq)` if its time is `<= limit`.
    fn pop_until(&mut self, limit: SimTime) -> Option<Entry<E>>;

    /// Moves the horizon of an empty queue, possibly back. The scheduler calls it when it has
    /// discarded cancelled entries past its clock and emptied the queue doing so.
    fn rebase(&mut self, _horizon: SimTime) {}

    /// The time of the smallest entry, without removing it.
    fn peek_time(&self) -> Option<SimTime>;

    /// Number of entries held.
    fn len(&self) -> usize;

    /// Whether no entry is held.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The queue the scheduler uses unless told otherwise: the timing wheel, fastest on the hold
/// benchmark at every size measured (see crates/kernel/README.md).
pub type DefaultQueue<E> = TimingWheel<E>;

/// A queue implementation as a type, for a simulator generic over its queue whose event type
/// is its own: `World<family::Heap>` runs on [`HeapQueue`] of its private events.
pub trait QueueFamily {
    /// The queue of events `E`.
    type Queue<E>: EventQueue<E>;
}

/// The [`QueueFamily`] of each queue implementation.
pub mod family {
    use super::{HeapQueue, IndexedQueue, QueueFamily, TimingWheel};

    /// [`TimingWheel`].
    pub struct Wheel;
    /// [`HeapQueue`].
    pub struct Heap;
    /// [`IndexedQueue`].
    pub struct PriorityQueue;

    impl QueueFamily for Wheel {
        type Queue<E> = TimingWheel<E>;
    }

    impl QueueFamily for Heap {
        type Queue<E> = HeapQueue<E>;
    }

    impl QueueFamily for PriorityQueue {
        type Queue<E> = IndexedQueue<E>;
    }
}

/// The queue implementations by name, for command-line selection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QueueKind {
    /// [`HeapQueue`]: `std::collections::BinaryHeap`.
    Heap,
    /// [`IndexedQueue`]: the `priority-queue` crate's indexed binary heap.
    PriorityQueue,
    /// [`TimingWheel`]: a hierarchical timing wheel, O(1) amortized. The default.
    #[default]
    Wheel,
}

impl QueueKind {
    /// Every kind, in the order help texts list them.
    pub const ALL: [QueueKind; 3] = [QueueKind::Wheel, QueueKind::Heap, QueueKind::PriorityQueue];

    /// The name `--queue` accepts.
    pub const fn name(self) -> &'static str {
        match self {
            QueueKind::Heap => <HeapQueue<()> as EventQueue<()>>::NAME,
            QueueKind::PriorityQueue => <IndexedQueue<()> as EventQueue<()>>::NAME,
            QueueKind::Wheel => <TimingWheel<()> as EventQueue<()>>::NAME,
        }
    }
}

impl fmt::Display for QueueKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown queue name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown queue `{0}`: expected one of wheel, heap, priority-queue")]
pub struct UnknownQueue(pub String);

impl FromStr for QueueKind {
    type Err = UnknownQueue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        QueueKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| UnknownQueue(s.to_owned()))
    }
}
