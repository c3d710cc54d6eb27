//! The reference implementation: `std`'s binary heap.

use super::{Entry, EventQueue};
use crate::SimTime;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// A min-heap on `(time, seq)` built on `std::collections::BinaryHeap`. O(log n) per
/// operation; simple enough to serve as the oracle the other queues are tested against.
pub struct HeapQueue<E> {
    heap: BinaryHeap<MinEntry<E>>,
}

struct MinEntry<E>(Entry<E>);

impl<E> MinEntry<E> {
    fn key(&self) -> (SimTime, u64) {
        (self.0.time, self.0.seq)
    }
}

impl<E> PartialEq for MinEntry<E> {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}
impl<E> Eq for MinEntry<E> {}
impl<E> PartialOrd for MinEntry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for MinEntry<E> {
    // Reversed: BinaryHeap is a max-heap.
    fn cmp(&self, other: &Self) -> Ordering {
        other.key().cmp(&self.key())
    }
}

impl<E> Default for HeapQueue<E> {
    fn default() -> Self {
        HeapQueue {
            heap: BinaryHeap::new(),
        }
    }
}

impl<E> EventQueue<E> for HeapQueue<E> {
    const NAME: &'static str = "heap";

    fn push(&mut self, entry: Entry<E>) {
        self.heap.push(MinEntry(entry));
    }

    fn pop_until(&mut self, limit: SimTime) -> Option<Entry<E>> {
        if self.heap.peek()?.0.time > limit {
            return None;
        }
        self.heap.pop().map(|e| e.0)
    }

    fn peek_time(&self) -> Option<SimTime> {
        self.heap.peek().map(|e| e.0.time)
    }

    fn len(&self) -> usize {
        self.heap.len()
    }
}
