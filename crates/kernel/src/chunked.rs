//! A vector in fixed chunks, for the records a simulation holds by the million (sockets,
//! datagrams on links): growing never copies the records already held, and never reserves
//! more than one chunk beyond what is used. A vector that doubles holds up to twice the
//! records in use, and for a moment both copies while it grows: with a million sockets at
//! 288 bytes each, hundreds of megabytes of peak memory.

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
}
