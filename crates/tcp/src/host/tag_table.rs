//! An open-addressing table of 4-byte values by 32-bit tag, for the host's 4-tuple tables.
//!
//! Why not hashbrown, which these tables used before: with 10^6 connections open, every
//! insert, lookup and removal was two cache misses (control bytes, then the entry), and
//! hashbrown's safe API cannot name an entry's address without reading it, so the host could
//! not start loading it early. Here an entry is its value and its tag in 8 bytes, in one
//! array, so a caller that knows which 4-tuple comes next (the world knows a link's next
//! datagram) can prefetch the one cache line its operation will touch. Growing needs no
//! look at the sockets either: the tag gives the new place.
//!
//! Linear probing from the place the tag's top bits name, at most half full, and removal
//! by shifting later entries back (no tombstones).

/// One entry: `tag` 0 marks a vacant one.
#[derive(Debug, Clone, Copy, Default)]
struct Entry {
    tag: u32,
    value: u32,
}

/// The table. Values are the caller's (socket slots, record numbers); the caller's `eq`
/// tells entries of one tag apart.
#[derive(Debug, Default)]
pub(crate) struct TagTable {
    /// A power of two long, or empty.
    entries: Vec<Entry>,
    len: usize,
    /// `32 - log2(entries.len())`: a tag's top bits are its place.
    shift: u32,
}

/// The table tag of a 64-bit hash: never 0, which marks a vacant entry.
pub(crate) fn tag_of(hash: u64) -> u32 {
    (hash as u32).max(1)
}

const MIN_ENTRIES: usize = 16;

impl TagTable {
    /// Entries held.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    #[inline]
    fn mask(&self) -> usize {
        self.entries.len().wrapping_sub(1)
    }

    /// Where the probe for `tag` starts. Tags in order give places in order, so growing
    /// writes the new array nearly front to back.
    #[inline]
    fn home(&self, tag: u32) -> usize {
        (u64::from(tag) >> self.shift) as usize & self.mask()
    }

    /// The value of tag `tag` that `eq` accepts.
    #[inline]
    pub(crate) fn find(&self, tag: u32, eq: impl FnMut(u32) -> bool) -> Option<u32> {
        self.locate(tag, eq).map(|i| self.entries[i].value)
    }

    /// Where the entry of tag `tag` whose value `eq` accepts sits.
    #[inline]
    fn locate(&self, tag: u32, mut eq: impl FnMut(u32) -> bool) -> Option<usize> {
        if self.entries.is_empty() {
            return None;
        }
        let mask = self.mask();
        let mut i = self.home(tag);
        loop {
            let entry = self.entries[i];
            if entry.tag == 0 {
                return None;
            }
            if entry.tag == tag && eq(entry.value) {
                return Some(i);
            }
            i = (i + 1) & mask;
        }
    }

    /// Adds `value` under `tag`; the caller keeps each (tag, value) pair unique.
    #[inline]
    pub(crate) fn insert(&mut self, tag: u32, value: u32) {
        debug_assert_ne!(tag, 0, "tags come from tag_of");
        if (self.len + 1) * 2 > self.entries.len() {
            self.grow();
        }
        self.place(Entry { tag, value });
        self.len += 1;
    }

    fn place(&mut self, entry: Entry) {
        let mask = self.mask();
        let mut i = self.home(entry.tag);
        while self.entries[i].tag != 0 {
            i = (i + 1) & mask;
        }
        self.entries[i] = entry;
    }

    #[cold]
    #[inline(never)]
    fn grow(&mut self) {
        let size = (self.entries.len() * 2).max(MIN_ENTRIES);
        let old = std::mem::replace(&mut self.entries, vec![Entry::default(); size]);
        self.shift = 32 - size.trailing_zeros();
        for entry in old.into_iter().filter(|e| e.tag != 0) {
            self.place(entry);
        }
    }

    /// Removes `value` filed under `tag`; returns whether it was there.
    #[inline]
    pub(crate) fn remove(&mut self, tag: u32, value: u32) -> bool {
        let Some(mut hole) = self.locate(tag, |v| v == value) else {
            return false;
        };
        let mask = self.mask();
        // Each later entry of the run moves into the hole unless its probe starts after
        // the hole (cyclically), where a lookup would no longer pass the hole to find it.
        let mut next = hole;
        loop {
            next = (next + 1) & mask;
            let entry = self.entries[next];
            if entry.tag == 0 {
                break;
            }
            let home = self.home(entry.tag);
            if next.wrapping_sub(home) & mask >= next.wrapping_sub(hole) & mask {
                self.entries[hole] = entry;
                hole = next;
            }
        }
        self.entries[hole] = Entry::default();
        self.len -= 1;
        true
    }

    /// Starts loading the cache line where an operation on `tag` begins: a hint only.
    #[inline]
    pub(crate) fn prefetch(&self, tag: u32) {
        if let Some(entry) = self.entries.get(self.home(tag)) {
            synack_kernel::hint::prefetch(entry);
        }
    }

    /// Empties the table, keeping its memory.
    pub(crate) fn clear(&mut self) {
        self.entries.fill(Entry::default());
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::{TagTable, tag_of};
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u32, u32),
        Remove(u32, u32),
        Find(u32, u32),
    }

    /// Few distinct tags, so runs collide, wrap around the end and shift back often.
    fn op() -> impl Strategy<Value = Op> {
        let tag = prop_oneof![1u32..6, Just(u32::MAX), Just(u32::MAX - 1), any::<u32>()];
        (0..3u8, tag, 0u32..40).prop_map(|(kind, tag, value)| {
            let tag = tag_of(u64::from(tag));
            match kind {
                0 => Op::Insert(tag, value),
                1 => Op::Remove(tag, value),
                _ => Op::Find(tag, value),
            }
        })
    }

    proptest! {
        #[test]
        fn probe_table_any_operations_match_a_set_of_pairs(
            ops in proptest::collection::vec(op(), 1..400)
        ) {
            let mut table = TagTable::default();
            let mut model = BTreeSet::new();
            for op in ops {
                match op {
                    Op::Insert(tag, value) => {
                        if model.insert((tag, value)) {
                            table.insert(tag, value);
                        }
                    }
                    Op::Remove(tag, value) => {
                        prop_assert_eq!(table.remove(tag, value), model.remove(&(tag, value)));
                    }
                    Op::Find(tag, value) => {
                        let found = table.find(tag, |v| v == value);
                        let expected = model.contains(&(tag, value)).then_some(value);
                        prop_assert_eq!(found, expected);
                    }
                }
                prop_assert_eq!(table.len(), model.len());
            }
            for &(tag, value) in &model {
                prop_assert_eq!(table.find(tag, |v| v == value), Some(value));
            }
            table.clear();
            prop_assert_eq!(table.len(), 0);
            for &(tag, value) in &model {
                prop_assert_eq!(table.find(tag, |v| v == value), None);
            }
        }
    }

    #[test]
    fn probe_table_tag_of_never_gives_the_vacant_tag() {
        assert_eq!(tag_of(0), 1);
        assert_eq!(tag_of(1 << 32), 1);
        assert_eq!(tag_of(7), 7);
    }

    #[test]
    fn probe_table_removal_keeps_a_wrapped_run_findable() {
        // Tags whose place is the last entry: the run wraps to the front of the array.
        let mut table = TagTable::default();
        for value in 0..5 {
            table.insert(u32::MAX, value);
        }
        table.insert(1, 100);
        assert!(table.remove(u32::MAX, 0));
        for value in 1..5 {
            assert_eq!(table.find(u32::MAX, |v| v == value), Some(value));
        }
        assert_eq!(table.find(1, |v| v == 100), Some(100));
        assert!(!table.remove(u32::MAX, 0));
        assert_eq!(table.len(), 5);
    }
}
