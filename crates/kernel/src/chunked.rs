//! A vector in fixed chunks, for the records a simulation holds by the million (sockets,
//! datagrams on links): growing never copies the records already held, and never reserves
//! more than one chunk beyond what is used. A vector that doubles holds up to twice the
//! records in use, and for a moment both copies while it grows: with a million sockets at
//! 288 bytes each, hundreds of megabytes of peak memory.

use std::collections::VecDeque;
use std::ops::{Index, IndexMut};

/// Records per chunk.
const CHUNK: usize = 1024;

/// Records indexed by `u32`, appended at the end.
pub struct Chunked<T> {
    chunks: Vec<Vec<T>>,
    len: usize,
}

impl<T> Default for Chunked<T> {
    fn default() -> Self {
        Chunked {
            chunks: Vec::new(),
            len: 0,
        }
    }
}

impl<T> Chunked<T> {
    /// Records held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends a record; returns its index.
    pub fn push(&mut self, value: T) -> u32 {
        if self.len % CHUNK == 0 {
            self.chunks.push(Vec::with_capacity(CHUNK));
        }
        self.chunks
            .last_mut()
            .expect("a chunk with room")
            .push(value);
        self.len += 1;
        (self.len - 1) as u32
    }

    /// The record at `index`, if there is one.
    #[inline]
    pub fn get(&self, index: u32) -> Option<&T> {
        let index = index as usize;
        self.chunks.get(index / CHUNK)?.get(index % CHUNK)
    }

    /// The record at `index`, mutably, if there is one.
    #[inline]
    pub fn get_mut(&mut self, index: u32) -> Option<&mut T> {
        let index = index as usize;
        self.chunks.get_mut(index / CHUNK)?.get_mut(index % CHUNK)
    }

    /// Every record, in index order.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.chunks.iter().flatten()
    }

    /// Every record, mutably, in index order.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.chunks.iter_mut().flatten()
    }
}

impl<T> Index<u32> for Chunked<T> {
    type Output = T;
    #[inline]
    fn index(&self, index: u32) -> &T {
        self.get(index).expect("a held record")
    }
}

impl<T> IndexMut<u32> for Chunked<T> {
    #[inline]
    fn index_mut(&mut self, index: u32) -> &mut T {
        self.get_mut(index).expect("a held record")
    }
}

/// A first-in first-out queue in fixed chunks: like [`Chunked`], it never holds more than a
/// chunk beyond what is queued (plus one spare chunk kept for reuse), where a `VecDeque` that
/// doubles may hold twice the peak.
#[derive(Debug)]
pub struct ChunkedFifo<T> {
    chunks: VecDeque<Vec<T>>,
    /// Records of the front chunk already taken.
    taken: usize,
    /// Records queued.
    len: usize,
    spare: Option<Vec<T>>,
}

impl<T> Default for ChunkedFifo<T> {
    fn default() -> Self {
        ChunkedFifo {
            chunks: VecDeque::new(),
            taken: 0,
            len: 0,
            spare: None,
        }
    }
}

impl<T: Copy> ChunkedFifo<T> {
    /// Appends a record at the back.
    pub fn push_back(&mut self, value: T) {
        if self.chunks.back().is_none_or(|c| c.len() == CHUNK) {
            let chunk = self
                .spare
                .take()
                .unwrap_or_else(|| Vec::with_capacity(CHUNK));
            self.chunks.push_back(chunk);
        }
        self.chunks
            .back_mut()
            .expect("a chunk with room")
            .push(value);
        self.len += 1;
    }

    /// Takes the record at the front.
    pub fn pop_front(&mut self) -> Option<T> {
        let front = self.chunks.front_mut()?;
        let value = *front.get(self.taken)?;
        self.taken += 1;
        self.len -= 1;
        if self.taken == front.len() && (front.len() == CHUNK || self.chunks.len() == 1) {
            // Drained: keep the chunk for reuse.
            let mut chunk = self.chunks.pop_front().expect("the front");
            chunk.clear();
            self.spare = Some(chunk);
            self.taken = 0;
        }
        Some(value)
    }

    /// Records queued.
    pub fn len(&self) -> usize {
        self.len
    }

    /// The record `position` places behind the front (0: the front), if there is one.
    #[inline]
    pub fn get(&self, position: usize) -> Option<&T> {
        // Every chunk but the last is full, so positions map to chunks by division.
        let at = position + self.taken;
        self.chunks.get(at / CHUNK)?.get(at % CHUNK)
    }

    /// The record `position` places behind the front, mutably.
    #[inline]
    pub fn get_mut(&mut self, position: usize) -> Option<&mut T> {
        let at = position + self.taken;
        self.chunks.get_mut(at / CHUNK)?.get_mut(at % CHUNK)
    }

    /// The record at the front.
    #[inline]
    pub fn front(&self) -> Option<&T> {
        self.chunks.front()?.get(self.taken)
    }

    /// Whether none is queued.
    pub fn is_empty(&self) -> bool {
        self.chunks.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_cross_chunk_boundaries() {
        let mut c = Chunked::default();
        for i in 0..(2 * CHUNK as u32 + 5) {
            assert_eq!(c.push(i * 3), i);
        }
        assert_eq!(c.len(), 2 * CHUNK + 5);
        assert_eq!(c[CHUNK as u32 - 1], (CHUNK as u32 - 1) * 3);
        assert_eq!(c[CHUNK as u32], CHUNK as u32 * 3);
        c[2 * CHUNK as u32 + 4] = 7;
        assert_eq!(c.get(2 * CHUNK as u32 + 4), Some(&7));
        assert_eq!(c.get(2 * CHUNK as u32 + 5), None);
        assert_eq!(c.iter_mut().count(), 2 * CHUNK + 5);
        assert_eq!(c.chunks.iter().map(Vec::capacity).sum::<usize>(), 3 * CHUNK);
    }

    #[test]
    fn fifo_keeps_order_across_chunks_and_reuses_them() {
        let mut q = ChunkedFifo::default();
        let mut expected = std::collections::VecDeque::new();
        let mut next = 0u32;
        // Waves of pushes and pops, up to three chunks deep and down to empty.
        for wave in [10usize, 3 * CHUNK, 1, CHUNK, 2 * CHUNK + 7] {
            for _ in 0..wave {
                q.push_back(next);
                expected.push_back(next);
                next += 1;
            }
            assert_eq!(q.len(), expected.len());
            for (position, x) in expected.iter().enumerate() {
                assert_eq!(q.get(position), Some(x));
            }
            assert_eq!(q.get(expected.len()), None);
            assert_eq!(q.front(), expected.front());
            if let Some(last) = expected.len().checked_sub(1) {
                *q.get_mut(last).unwrap() += 1_000_000;
                *expected.back_mut().unwrap() += 1_000_000;
            }
            for _ in 0..(wave / 2 + 1).min(expected.len()) {
                assert_eq!(q.pop_front(), expected.pop_front());
            }
        }
        while let Some(x) = expected.pop_front() {
            assert_eq!(q.pop_front(), Some(x));
        }
        assert_eq!(q.pop_front(), None);
        assert!(q.is_empty());
        assert_eq!(q.len(), 0);
        assert!(q.spare.is_some(), "the last chunk is kept for reuse");
    }
}
