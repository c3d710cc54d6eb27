//! The `priority-queue` crate's indexed heap, which ns-3 users know as the "heap with a map"
//! design. It keeps a hash index beside the heap; we pay for it on every operation.

use super::{Entry, EventQueue};
use crate::SimTime;
use priority_queue::PriorityQueue;
use rustc_hash::FxBuildHasher;
use std::cmp::Reverse;
use std::hash::{Hash, Hasher};

/// A min-queue on `(time, seq)` built on `priority_queue::PriorityQueue`.
pub struct IndexedQueue<E> {
    queue: PriorityQueue<Keyed<E>, Reverse<(SimTime, u64)>, FxBuildHasher>,
}

/// The queue's item: identified by `seq` alone, carrying the payload along.
struct Keyed<E> {
    seq: u64,
    event: E,
}

impl<E> PartialEq for Keyed<E> {
    fn eq(&self, other: &Self) -> bool {
        self.seq == other.seq
    }
}
impl<E> Eq for Keyed<E> {}
impl<E> Hash for Keyed<E> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.seq.hash(state);
    }
}

impl<E> Default for IndexedQueue<E> {
    fn default() -> Self {
        IndexedQueue {
            queue: PriorityQueue::with_default_hasher(),
        }
    }
}

impl<E> EventQueue<E> for IndexedQueue<E> {
    const NAME: &'static str = "priority-queue";

    fn push(&mut self, entry: Entry<E>) {
        let key = Reverse((entry.time, entry.seq));
        self.queue.push(
            Keyed {
                seq: entry.seq,
                event: entry.event,
            },
            key,
        );
    }

    fn pop_until(&mut self, limit: SimTime) -> Option<Entry<E>> {
        if self.queue.peek()?.1.0.0 > limit {
            return None;
        }
        let (item, Reverse((time, seq))) = self.queue.pop()?;
        Some(Entry {
            time,
            seq,
            event: item.event,
        })
    }

    fn peek_time(&self) -> Option<SimTime> {
        self.queue.peek().map(|(_, p)| p.0.0)
    }

    fn len(&self) -> usize {
        self.queue.len()
    }
}
