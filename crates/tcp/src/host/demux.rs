//! The demultiplexing table: socket slots and TIME-WAIT entries by 4-tuple.

use super::tag_table::{TagTable, tag_of};
use crate::FourTuple;
use rustc_hash::FxBuildHasher;
use std::hash::BuildHasher;

/// Socket slots by their sockets' 4-tuples. An entry is the 4-byte slot and a 4-byte tag of
/// its hash, not a map's 16-byte (4-tuple, slot) pair: a lookup compares the sockets' own
/// 4-tuples, which its caller reads next anyway. The same table holds the TIME-WAIT entries
/// (their record numbers carry [`TIME_WAIT_BIT`]), as Linux's established hash holds its
/// timewait socks: a host with 10^6 connections closing keeps one table of 10^6 entries,
/// not two, and a SYN looks in one place for both.
///
/// `get` and `insert` take `tuple_of`, the 4-tuple of the socket in a slot (`None` for an
/// empty slot).
#[derive(Debug, Default)]
pub(crate) struct DemuxTable {
    table: TagTable,
    sockets: usize,
}

/// Marks a TIME-WAIT record's number in the table, whose other values are socket slots;
/// record numbers count modulo 2^31.
pub(crate) const TIME_WAIT_BIT: u32 = 1 << 31;

/// No slot: a datagram's sender or receiver the hint does not know. No socket has it (slots
/// stay below [`TIME_WAIT_BIT`]).
pub(crate) const NO_SLOT: u32 = u32::MAX;

/// The hash of a 4-tuple, for the host's tables.
fn tuple_hash(tuple: &FourTuple) -> u64 {
    FxBuildHasher.hash_one(tuple)
}

/// The tag of a 4-tuple in the host's tables.
pub(crate) fn tuple_tag(tuple: &FourTuple) -> u32 {
    tag_of(tuple_hash(tuple))
}

impl DemuxTable {
    /// Sockets held.
    pub(crate) fn len(&self) -> usize {
        self.sockets
    }

    /// The table, for the TIME-WAIT entries.
    pub(crate) fn table(&self) -> &TagTable {
        &self.table
    }

    /// The table, for the TIME-WAIT entries.
    pub(crate) fn table_mut(&mut self) -> &mut TagTable {
        &mut self.table
    }

    /// The slot of the socket with this 4-tuple.
    pub(crate) fn get(
        &self,
        tuple: &FourTuple,
        tuple_of: impl Fn(u32) -> Option<FourTuple>,
    ) -> Option<u32> {
        self.table.find(tuple_tag(tuple), |slot| {
            slot & TIME_WAIT_BIT == 0 && tuple_of(slot) == Some(*tuple)
        })
    }

    /// Adds the socket in `slot`, whose 4-tuple is `tuple` and is not in the table yet.
    pub(crate) fn insert(
        &mut self,
        tuple: &FourTuple,
        slot: u32,
        tuple_of: impl Fn(u32) -> Option<FourTuple>,
    ) {
        debug_assert!(self.get(tuple, tuple_of).is_none(), "one socket a 4-tuple");
        debug_assert_eq!(slot & TIME_WAIT_BIT, 0, "slots below 2^31");
        self.table.insert(tuple_tag(tuple), slot);
        self.sockets += 1;
    }

    /// Removes the entry of `slot`, whose socket had `tuple`; returns whether there was one.
    pub(crate) fn remove(&mut self, tuple: &FourTuple, slot: u32) -> bool {
        let removed = self.table.remove(tuple_tag(tuple), slot);
        self.sockets -= usize::from(removed);
        removed
    }

    /// Starts loading where an operation on a 4-tuple of tag `tag` will look: a hint only.
    pub(crate) fn prefetch(&self, tag: u32) {
        self.table.prefetch(tag);
    }

    /// Empties the table, TIME-WAIT entries too.
    pub(crate) fn clear(&mut self) {
        self.table.clear();
        self.sockets = 0;
    }
}
