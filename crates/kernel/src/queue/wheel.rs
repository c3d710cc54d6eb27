//! A hierarchical timing wheel with exact nanosecond resolution over the whole `u64` range.
//!
//! Eight levels of 256 slots: a slot at level `l` spans `256^l` ns, so level 7 covers the
//! whole `u64` range. An entry sits at the level of the highest bit in which its time differs
//! from the wheel's `elapsed` time. The smallest entry is therefore in the lowest occupied
//! level, in its lowest occupied slot. Popping from a level above 0 first *cascades* that
//! slot: moves `elapsed` to the slot's start and re-files its entries one level down or more.
//! Each entry moves at most seven times, so push and pop are O(1) amortized, independent of
//! how many events are pending. A slot holding a single entry is popped without cascading:
//! that entry is the minimum, which saves most cascades when events are sparse.
//!
//! Measured on the hold benchmark: 8-bit levels beat 6-bit ones (one cascade fewer for an
//! event 1 ms ahead), and a 12-bit level 1 lost more to cache misses on its 4096 buckets than
//! it saved in cascades.
//!
//! Ties: a level-0 slot holds one exact instant, kept in `seq` order. A plain push brings the
//! largest `seq` yet, and a cascade keeps push order, so appending keeps every slot in order
//! and costs nothing. A ranked push ([`EventQueue::push_ranked`], a [`crate::Ticket`] taken
//! earlier) may bring an older `seq`: it is inserted in its place, in its slot or among the
//! `ready` entries of the instant being drained, and from then on cascades file in order.

use super::{Entry, EventQueue};
use crate::SimTime;

const SLOT_BITS: u32 = 8;
const SLOTS: usize = 1 << SLOT_BITS;
const WORDS: usize = SLOTS / 64;
const LEVELS: usize = 64 / SLOT_BITS as usize;
/// Drained buckets kept per level; more would only hold memory.
const POOL_MAX: usize = 16;
/// Buckets up to this capacity stay in their slot when drained; larger ones are pooled.
const SMALL_BUCKET: usize = 256;
/// Drained buckets above this capacity are freed, not pooled: pooling them held a megabyte
/// of a 15,000-connection run's 21 and gained nothing measurable, even with 10^6 pending.
const POOLED_MAX: usize = 1024;
/// [`TimingWheel::remove_first_if`] gives up on a slot holding more entries than this.
const SCAN_MAX: usize = 32;
const _: () = assert!(
    LEVELS * WORDS <= 32,
    "occupied_words must have a bit per word"
);

/// The hierarchical timing wheel; see the module documentation.
pub struct TimingWheel<E> {
    /// The buckets. Indices are masked, so the compiler drops bounds checks.
    slots: Box<[[Vec<Entry<E>>; SLOTS]; LEVELS]>,
    /// Bit `s % 64` of `occupied[word_index(l, s)]` is set when slot `s` of level `l` is
    /// non-empty.
    occupied: [u64; LEVELS * WORDS],
    /// Bit `w` is set when `occupied[w] != 0`. Words run in time order, so its lowest set bit
    /// names the word holding the minimum.
    occupied_words: u32,
    /// The wheel's notion of now. Every held entry has `time >= elapsed`.
    elapsed: u64,
    /// Drained buckets of each level, kept with their capacity for the next slot of that
    /// level to fill: growing a fresh vector from empty costs reallocation and page faults.
    pools: [Vec<Vec<Entry<E>>>; LEVELS],
    /// The level-0 slot being drained, reversed so `pop` takes the next entry; all at `elapsed`.
    ready: Vec<Entry<E>>,
    len: usize,
    /// With [`TimingWheel::with_fast_peek`]: the earliest entry filed in each slot above
    /// level 0, as its time (`u64::MAX` when empty) and its index in the bucket, so neither
    /// `peek_time` nor `remove_first_if` scans a bucket. A TCP host with many timers in one
    /// far slot peeks after every event; the kernel's queue never peeks, and keeping the
    /// minima costs it 15% in the hold benchmark, so it is off by default.
    slot_min: Option<Box<[[SlotMin; SLOTS]; LEVELS]>>,
    /// Whether a ranked push has come: from then on a cascade files in `seq` order.
    ranked: bool,
}

impl<E> Default for TimingWheel<E> {
    fn default() -> Self {
        TimingWheel {
            slots: Box::new(std::array::from_fn(|_| std::array::from_fn(|_| Vec::new()))),
            occupied: [0; LEVELS * WORDS],
            occupied_words: 0,
            elapsed: 0,
            pools: std::array::from_fn(|_| Vec::new()),
            ready: Vec::new(),
            len: 0,
            slot_min: None,
            ranked: false,
        }
    }
}

/// A slot's earliest entry, for [`TimingWheel::with_fast_peek`].
#[derive(Clone, Copy)]
struct SlotMin {
    time: u64,
    index: u32,
}

impl SlotMin {
    const EMPTY: SlotMin = SlotMin {
        time: u64::MAX,
        index: 0,
    };
}

/// Where a wheel's earliest entry sits.
enum First {
    /// At the end of `ready`.
    Ready,
    /// In a slot's bucket.
    Bucket {
        level: usize,
        slot: usize,
        index: usize,
    },
}

/// The index of the earliest entry of a non-empty bucket, by `(time, seq)`.
fn first_index<E>(bucket: &[Entry<E>]) -> usize {
    (0..bucket.len())
        .min_by_key(|&i| (bucket[i].time, bucket[i].seq))
        .expect("non-empty")
}

/// The occupancy word of `slot` of `level`.
#[inline]
fn word_index(level: usize, slot: usize) -> usize {
    (level * WORDS + slot / 64) & (LEVELS * WORDS - 1)
}

impl<E> TimingWheel<E> {
    /// A wheel whose `peek_time` is O(1) at every level, at a small cost per push.
    pub fn with_fast_peek() -> Self {
        TimingWheel {
            slot_min: Some(Box::new([[SlotMin::EMPTY; SLOTS]; LEVELS])),
            ..TimingWheel::default()
        }
    }

    /// The level and slot of an entry due at `time`, with room in its bucket.
    #[inline(always)]
    fn slot_for(&mut self, time: u64) -> (usize, usize) {
        let masked = (time ^ self.elapsed) | (SLOTS as u64 - 1);
        let level = ((63 - masked.leading_zeros()) / SLOT_BITS) as usize & (LEVELS - 1);
        let slot = (time >> (level as u32 * SLOT_BITS)) as usize & (SLOTS - 1);
        let bucket = &self.slots[level][slot];
        if bucket.len() == bucket.capacity() {
            self.make_room(level, slot);
        }
        (level, slot)
    }

    /// Records an entry just filed at the end of its bucket: the slot's minimum (if kept)
    /// and occupancy. `ranked_seq`: the entry's `seq` when it may be older than the
    /// minimum's, so a tie at the minimum's time goes to the older.
    #[inline(always)]
    fn filed(&mut self, level: usize, slot: usize, time: u64, ranked_seq: Option<u64>) {
        if level > 0
            && let Some(mins) = self.slot_min.as_mut()
        {
            // Level-0 slots hold one time each: their start is their minimum.
            let bucket = &self.slots[level][slot];
            let min = &mut mins[level][slot];
            let older = ranked_seq
                .is_some_and(|seq| time == min.time && seq < bucket[min.index as usize].seq);
            if time < min.time || older {
                *min = SlotMin {
                    time,
                    index: (bucket.len() - 1) as u32,
                };
            }
        }
        let word = word_index(level, slot);
        self.occupied[word] |= 1 << (slot % 64);
        self.occupied_words |= 1 << word;
    }

    /// Files `entry` in its slot. Its `seq` is the largest yet, so appending keeps every
    /// slot in order, and a tie with a slot's minimum keeps the minimum.
    #[inline]
    fn file(&mut self, entry: Entry<E>) {
        let time = entry.time.as_nanos();
        let (level, slot) = self.slot_for(time);
        self.slots[level][slot].push(entry);
        self.filed(level, slot, time, None);
    }

    /// [`TimingWheel::file`] for an entry whose `seq` may be smaller than entries already
    /// filed (a ranked push, or a cascade once there has been one): a level-0 slot takes it
    /// in `seq` order, and a slot minimum breaks time ties by `seq`. Kept apart so that the
    /// plain path stays as small as it was.
    #[inline(always)]
    fn file_ranked(&mut self, entry: Entry<E>) {
        let (time, seq) = (entry.time.as_nanos(), entry.seq);
        let (level, slot) = self.slot_for(time);
        let bucket = &mut self.slots[level][slot];
        if level == 0 && bucket.last().is_some_and(|last| last.seq > seq) {
            let at = bucket.partition_point(|e| e.seq < seq);
            bucket.insert(at, entry);
        } else {
            bucket.push(entry);
        }
        self.filed(level, slot, time, Some(seq));
    }

    /// A full bucket: give an empty one a recycled buffer rather than growing it from zero.
    #[cold]
    #[inline(never)]
    fn make_room(&mut self, level: usize, slot: usize) {
        let bucket = &mut self.slots[level][slot];
        if bucket.capacity() == 0
            && let Some(recycled) = self.pools[level].pop()
        {
            *bucket = recycled;
        }
    }

    #[inline]
    fn clear_slot_bit(&mut self, level: usize, slot: usize) {
        if let Some(mins) = self.slot_min.as_mut() {
            mins[level][slot] = SlotMin::EMPTY;
        }
        let word = word_index(level, slot);
        self.occupied[word] &= !(1 << (slot % 64));
        if self.occupied[word] == 0 {
            self.occupied_words &= !(1 << word);
        }
    }

    /// The first instant covered by `slot` of `level`, given the current `elapsed`.
    #[inline]
    fn slot_start(&self, level: usize, slot: usize) -> u64 {
        let span_bits = (level as u32 + 1) * SLOT_BITS;
        let prefix = if span_bits >= 64 {
            0
        } else {
            (self.elapsed >> span_bits) << span_bits
        };
        prefix | ((slot as u64) << (level as u32 * SLOT_BITS))
    }

    /// The earliest entry, if it is cheap to find: `None` when the wheel is empty, or when
    /// (without fast peek) the earliest slot holds more than 32 entries.
    pub fn first(&self) -> Option<&Entry<E>> {
        match self.locate_first()? {
            First::Ready => self.ready.last(),
            First::Bucket { level, slot, index } => Some(&self.slots[level][slot][index]),
        }
    }

    /// Where the earliest entry is; see [`TimingWheel::first`].
    fn locate_first(&self) -> Option<First> {
        if !self.ready.is_empty() {
            return Some(First::Ready);
        }
        let (level, slot) = self.lowest_occupied()?;
        let bucket = &self.slots[level][slot];
        // A level-0 slot is one instant in `seq` order; above, the bucket is unordered.
        let index = match &self.slot_min {
            _ if level == 0 => 0,
            Some(mins) => mins[level][slot].index as usize,
            None if bucket.len() <= SCAN_MAX => first_index(bucket),
            None => return None,
        };
        Some(First::Bucket { level, slot, index })
    }

    /// Removes the earliest entry if `stale` says so, and returns whether it did. Unlike a
    /// pop it leaves the horizon alone, so a caller may still push at any time at or after
    /// its clock: a TCP host drops superseded timers this way before it reports its next
    /// deadline. It gives up (without calling `stale`) when the earliest entry's slot holds
    /// more than 32 entries: an ordered remove and the new minimum cost a pass over it.
    pub fn remove_first_if(&mut self, stale: impl FnOnce(&Entry<E>) -> bool) -> bool {
        let Some(first) = self.locate_first() else {
            return false;
        };
        let (level, slot, index) = match first {
            First::Ready => {
                if !stale(self.ready.last().expect("located")) {
                    return false;
                }
                self.ready.pop();
                self.len -= 1;
                return true;
            }
            First::Bucket { level, slot, index } => (level, slot, index),
        };
        let bucket = &self.slots[level][slot];
        if bucket.len() > SCAN_MAX || !stale(&bucket[index]) {
            return false;
        }
        // An ordered remove: the others keep their FIFO order for a later cascade.
        let bucket = &mut self.slots[level][slot];
        bucket.remove(index);
        self.len -= 1;
        if bucket.is_empty() {
            self.clear_slot_bit(level, slot);
        } else if level > 0
            && let Some(mins) = self.slot_min.as_mut()
        {
            let index = first_index(bucket);
            mins[level][slot] = SlotMin {
                time: bucket[index].time.as_nanos(),
                index: index as u32,
            };
        }
        true
    }

    #[inline]
    fn pop_entry_until(&mut self, limit: SimTime) -> Option<Entry<E>> {
        let limit = limit.as_nanos();
        loop {
            if !self.ready.is_empty() {
                if self.elapsed > limit {
                    return None;
                }
                self.len -= 1;
                return self.ready.pop();
            }
            let (level, slot) = self.lowest_occupied()?;
            let bucket = &mut self.slots[level][slot];
            if let [lone] = bucket.as_slice() {
                // A lone entry in the lowest occupied slot is the minimum: no cascade needed.
                let time = lone.time.as_nanos();
                if time > limit {
                    return None;
                }
                let entry = bucket.pop();
                self.clear_slot_bit(level, slot);
                self.elapsed = time;
                self.len -= 1;
                return entry;
            }
            let start = self.slot_start(level, slot);
            if start > limit {
                return None;
            }
            self.elapsed = start;
            self.clear_slot_bit(level, slot);
            if level == 0 {
                std::mem::swap(&mut self.ready, &mut self.slots[0][slot]);
                self.ready.reverse();
            } else {
                let mut bucket = std::mem::take(&mut self.slots[level][slot]);
                if self.ranked {
                    for entry in bucket.drain(..) {
                        self.file_ranked(entry);
                    }
                } else {
                    for entry in bucket.drain(..) {
                        self.file(entry);
                    }
                }
                if bucket.capacity() <= SMALL_BUCKET {
                    // Small buffers stay put: the slot refills to a similar size next lap.
                    self.slots[level][slot] = bucket;
                } else if bucket.capacity() <= POOLED_MAX && self.pools[level].len() < POOL_MAX {
                    self.pools[level].push(bucket);
                }
            }
        }
    }

    #[inline]
    fn lowest_occupied(&self) -> Option<(usize, usize)> {
        if self.occupied_words == 0 {
            return None;
        }
        let word = self.occupied_words.trailing_zeros() as usize & (LEVELS * WORDS - 1);
        let bit = self.occupied[word].trailing_zeros() as usize;
        Some((word / WORDS, (word % WORDS * 64 + bit) & (SLOTS - 1)))
    }
}

impl<E> EventQueue<E> for TimingWheel<E> {
    const NAME: &'static str = "wheel";

    #[inline]
    fn push(&mut self, entry: Entry<E>) {
        debug_assert!(
            entry.time.as_nanos() >= self.elapsed,
            "timing wheel: push at {} before the horizon {}",
            entry.time,
            SimTime::from_nanos(self.elapsed)
        );
        self.len += 1;
        self.file(entry);
    }

    fn push_ranked(&mut self, entry: Entry<E>) {
        debug_assert!(entry.time.as_nanos() >= self.elapsed);
        self.len += 1;
        self.ranked = true;
        // Older than entries of the instant being drained: it goes among them (`ready` is
        // in reverse, its first entry the last to pop).
        if entry.time.as_nanos() == self.elapsed
            && self.ready.first().is_some_and(|last| last.seq > entry.seq)
        {
            let at = self.ready.partition_point(|e| e.seq > entry.seq);
            self.ready.insert(at, entry);
            return;
        }
        self.file_ranked(entry);
    }

    #[inline]
    fn pop_until(&mut self, limit: SimTime) -> Option<Entry<E>> {
        self.pop_entry_until(limit)
    }

    fn rebase(&mut self, horizon: SimTime) {
        debug_assert!(self.is_empty(), "timing wheel: rebase of a non-empty wheel");
        // Nothing is filed relative to the old horizon, so any horizon is valid.
        self.elapsed = horizon.as_nanos();
    }

    fn peek_time(&self) -> Option<SimTime> {
        if !self.ready.is_empty() {
            return Some(SimTime::from_nanos(self.elapsed));
        }
        let (level, slot) = self.lowest_occupied()?;
        if level == 0 {
            return Some(SimTime::from_nanos(self.slot_start(0, slot)));
        }
        match &self.slot_min {
            Some(mins) => Some(SimTime::from_nanos(mins[level][slot].time)),
            None => self.slots[level][slot].iter().map(|e| e.time).min(),
        }
    }

    fn len(&self) -> usize {
        self.len
    }
}
