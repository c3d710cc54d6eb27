//! The demultiplexing table: socket slots by 4-tuple.

use crate::FourTuple;
use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;
use std::hash::BuildHasher;

/// Socket slots hashed by their sockets' 4-tuples. An entry is the 4-byte slot alone
/// (hashbrown adds a control byte), not a map's 16-byte (4-tuple, slot) pair: a lookup
/// compares the sockets' own 4-tuples, which its caller reads next anyway. With 10^6
/// connections open the table is 10 MB rather than 34, and far more of it stays in the cache.
///
/// Every method takes `tuple_of`, the 4-tuple of the socket in a slot (`None` for an empty
/// slot); each entry's socket must be in place while the table grows.
#[derive(Debug, Default)]
pub(crate) struct DemuxTable(HashTable<u32>);

/// The hash of a 4-tuple, for the host's tables.
pub(crate) fn tuple_hash(tuple: &FourTuple) -> u64 {
    FxBuildHasher.hash_one(tuple)
}

impl DemuxTable {
    /// Entries held.
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// The slot of the socket with this 4-tuple.
    pub(crate) fn get(
        &self,
        tuple: &FourTuple,
        tuple_of: impl Fn(u32) -> Option<FourTuple>,
    ) -> Option<u32> {
        let found = self
            .0
            .find(tuple_hash(tuple), |&slot| tuple_of(slot) == Some(*tuple));
        found.copied()
    }

    /// Adds the socket in `slot`, whose 4-tuple is `tuple` and is not in the table yet.
    pub(crate) fn insert(
        &mut self,
        tuple: &FourTuple,
        slot: u32,
        tuple_of: impl Fn(u32) -> Option<FourTuple>,
    ) {
        debug_assert!(self.get(tuple, &tuple_of).is_none(), "one socket a 4-tuple");
        let rehash =
            |&slot: &u32| tuple_hash(&tuple_of(slot).expect("every entry's socket in place"));
        self.0.insert_unique(tuple_hash(tuple), slot, rehash);
    }

    /// Removes the entry of `slot`, whose socket had `tuple`; returns whether there was one.
    pub(crate) fn remove(&mut self, tuple: &FourTuple, slot: u32) -> bool {
        match self.0.find_entry(tuple_hash(tuple), |&s| s == slot) {
            Ok(entry) => {
                entry.remove();
                true
            }
            Err(_) => false,
        }
    }

    /// Empties the table.
    pub(crate) fn clear(&mut self) {
        self.0.clear();
    }
}
