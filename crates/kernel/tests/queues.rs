//! One conformance suite, run against every queue implementation.

use proptest::prelude::*;
use std::collections::BTreeMap;
use synack_kernel::SimTime;
use synack_kernel::queue::{Entry, EventQueue, HeapQueue, IndexedQueue, TimingWheel};

fn t(nanos: u64) -> SimTime {
    SimTime::from_nanos(nanos)
}

/// Pushes `times` in order (seq = position) and pops everything.
fn push_all<Q: EventQueue<u64>>(q: &mut Q, first_seq: u64, times: &[u64]) {
    for (i, &time) in times.iter().enumerate() {
        let seq = first_seq + i as u64;
        q.push(Entry {
            time: t(time),
            seq,
            event: seq,
        });
    }
}

fn drain<Q: EventQueue<u64>>(q: &mut Q) -> Vec<(u64, u64)> {
    std::iter::from_fn(|| q.pop_until(SimTime::MAX))
        .map(|e| (e.time.as_nanos(), e.seq))
        .collect()
}

fn sorted(times: &[u64]) -> Vec<(u64, u64)> {
    let mut v: Vec<_> = times
        .iter()
        .enumerate()
        .map(|(i, &x)| (x, i as u64))
        .collect();
    v.sort();
    v
}

fn pops_in_time_order<Q: EventQueue<u64>>() {
    let times = [
        50,
        3,
        900_000_000_000,
        7,
        7,
        1 << 40,
        64,
        63,
        4096,
        4095,
        0,
        1,
    ];
    let mut q = Q::default();
    push_all(&mut q, 0, &times);
    assert_eq!(q.len(), times.len());
    assert_eq!(drain(&mut q), sorted(&times));
    assert!(q.is_empty());
}

fn equal_times_pop_fifo<Q: EventQueue<u64>>() {
    let mut q = Q::default();
    // Same instant filed from several levels: far first, then nearer as the horizon moves.
    push_all(&mut q, 0, &[1_000_000; 5]);
    push_all(&mut q, 5, &[999_999, 1_000_000, 2_000_000]);
    let first = q.pop_until(t(999_999)).unwrap();
    assert_eq!((first.time.as_nanos(), first.seq), (999_999, 5));
    push_all(&mut q, 8, &[1_000_000; 3]);
    let order: Vec<u64> = drain(&mut q).into_iter().map(|(_, seq)| seq).collect();
    assert_eq!(order, [0, 1, 2, 3, 4, 6, 8, 9, 10, 7]);
}

fn time_zero_and_end_of_range<Q: EventQueue<u64>>() {
    let times = [
        u64::MAX,
        0,
        u64::MAX - 1,
        1 << 63,
        0,
        u64::MAX,
        (1 << 63) - 1,
    ];
    let mut q = Q::default();
    push_all(&mut q, 0, &times);
    assert_eq!(q.peek_time(), Some(t(0)));
    assert_eq!(drain(&mut q), sorted(&times));
}

fn pop_until_stops_at_the_limit<Q: EventQueue<u64>>() {
    let mut q = Q::default();
    push_all(&mut q, 0, &[10, 20, 30]);
    assert_eq!(q.pop_until(t(9)), None);
    assert_eq!(q.pop_until(t(10)).map(|e| e.seq), Some(0));
    assert_eq!(q.pop_until(t(25)).map(|e| e.seq), Some(1));
    assert_eq!(q.pop_until(t(25)), None);
    assert_eq!(q.peek_time(), Some(t(30)));
    // Pushing at the last limit (the horizon) is allowed and comes out first.
    push_all(&mut q, 3, &[25]);
    assert_eq!(drain(&mut q), [(25, 3), (30, 2)]);
}

fn peek_matches_pop<Q: EventQueue<u64>>() {
    let mut q = Q::default();
    push_all(&mut q, 0, &[70_000, 5_000_000, 70_001, 1 << 50]);
    while let Some(time) = q.peek_time() {
        assert_eq!(q.pop_until(SimTime::MAX).unwrap().time, time);
    }
    assert_eq!(q.pop_until(SimTime::MAX), None);
}

macro_rules! conformance {
    ($module:ident, $queue:ty) => {
        mod $module {
            use super::*;
            #[test]
            fn queue_pops_in_time_order() {
                pops_in_time_order::<$queue>();
            }
            #[test]
            fn queue_equal_times_pop_fifo() {
                equal_times_pop_fifo::<$queue>();
            }
            #[test]
            fn queue_time_zero_and_end_of_range() {
                time_zero_and_end_of_range::<$queue>();
            }
            #[test]
            fn queue_pop_until_stops_at_the_limit() {
                pop_until_stops_at_the_limit::<$queue>();
            }
            #[test]
            fn queue_peek_matches_pop() {
                peek_matches_pop::<$queue>();
            }
            proptest! {
                #![proptest_config(ProptestConfig::with_cases(300))]
                #[test]
                fn queue_matches_the_ordered_map_oracle(ops in ops()) {
                    check_against_oracle::<$queue>(&ops);
                }
            }
        }
    };
}

conformance!(heap, HeapQueue<u64>);
conformance!(priority_queue, IndexedQueue<u64>);
conformance!(wheel, TimingWheel<u64>);
conformance!(wheel_fast_peek, FastPeek);

/// The wheel built with `with_fast_peek`, under the same suite.
struct FastPeek(TimingWheel<u64>);

impl Default for FastPeek {
    fn default() -> Self {
        FastPeek(TimingWheel::with_fast_peek())
    }
}

impl EventQueue<u64> for FastPeek {
    const NAME: &'static str = "wheel-fast-peek";
    fn push(&mut self, entry: Entry<u64>) {
        self.0.push(entry);
    }
    fn push_ranked(&mut self, entry: Entry<u64>) {
        self.0.push_ranked(entry);
    }
    fn pop_until(&mut self, limit: SimTime) -> Option<Entry<u64>> {
        self.0.pop_until(limit)
    }
    fn peek_time(&self) -> Option<SimTime> {
        self.0.peek_time()
    }
    fn len(&self) -> usize {
        self.0.len()
    }
}

#[derive(Debug, Clone)]
enum Op {
    /// Push at horizon + offset.
    Push(u64),
    /// Pop with limit horizon + offset.
    PopUntil(u64),
    /// Take the next seq for a later push (a scheduler's ticket).
    Ticket,
    /// Push at horizon + offset with the oldest ticket taken, pushed later than entries with
    /// larger seqs; a time at which the ticket's place has passed moves one nanosecond on.
    PushTicket(u64),
}

/// Offsets at every scale, with many exact ties, so entries land on every wheel level.
fn offset() -> impl Strategy<Value = u64> {
    prop_oneof![
        3 => 0u64..4,
        3 => 0u64..200,
        2 => 0u64..100_000,
        1 => 0u64..(1 << 40),
        1 => any::<u64>().prop_map(|x| x >> 2),
    ]
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(
        prop_oneof![
            3 => offset().prop_map(Op::Push),
            2 => offset().prop_map(Op::PopUntil),
            1 => Just(Op::Ticket),
            1 => offset().prop_map(Op::PushTicket),
        ],
        1..400,
    )
}

/// What a queue must hold: its entries in order, the horizon pushes start from, the next seq.
#[derive(Default)]
struct Oracle {
    entries: BTreeMap<(u64, u64), ()>,
    horizon: u64,
    seq: u64,
    /// Seqs taken and not yet pushed, oldest first.
    tickets: std::collections::VecDeque<u64>,
    /// The last entry popped.
    last_popped: Option<(u64, u64)>,
}

impl Oracle {
    /// Pushes at the horizon plus `offset`, to both.
    fn push<Q: EventQueue<u64>>(&mut self, q: &mut Q, offset: u64) {
        let time = self.horizon.saturating_add(offset);
        q.push(Entry {
            time: t(time),
            seq: self.seq,
            event: self.seq,
        });
        self.entries.insert((time, self.seq), ());
        self.seq += 1;
    }

    /// Takes a seq for a later push.
    fn ticket(&mut self) {
        self.tickets.push_back(self.seq);
        self.seq += 1;
    }

    /// Pushes at the horizon plus `offset` with the oldest ticket, to both.
    fn push_ticket<Q: EventQueue<u64>>(&mut self, q: &mut Q, offset: u64) {
        let Some(seq) = self.tickets.pop_front() else {
            return;
        };
        let mut time = self.horizon.saturating_add(offset);
        if self.last_popped.is_some_and(|last| (time, seq) < last) {
            time += 1;
        }
        q.push_ranked(Entry {
            time: t(time),
            seq,
            event: seq,
        });
        self.entries.insert((time, seq), ());
    }

    /// Pops with limit horizon plus `offset` from the queue, and checks what came out.
    fn pop_until<Q: EventQueue<u64>>(&mut self, q: &mut Q, offset: u64) {
        let limit = self.horizon.saturating_add(offset);
        let expected = self.first().filter(|&(time, _)| time <= limit);
        if let Some(k) = expected {
            self.entries.remove(&k);
        }
        let got = q.pop_until(t(limit)).map(|e| (e.time.as_nanos(), e.seq));
        assert_eq!(got, expected);
        self.last_popped = got.or(self.last_popped);
        self.horizon = got.map_or(limit, |(time, _)| time);
    }

    fn first(&self) -> Option<(u64, u64)> {
        self.entries.first_key_value().map(|(&k, _)| k)
    }

    /// The queue's length and earliest time match.
    fn check<Q: EventQueue<u64>>(&self, q: &Q) {
        assert_eq!(q.len(), self.entries.len());
        assert_eq!(q.peek_time(), self.first().map(|(time, _)| t(time)));
    }

    /// Draining the queue gives the rest in order.
    fn drain<Q: EventQueue<u64>>(self, q: &mut Q) {
        let rest: Vec<_> = self.entries.into_keys().collect();
        assert_eq!(drain(q), rest);
    }
}

fn check_against_oracle<Q: EventQueue<u64>>(ops: &[Op]) {
    let mut q = Q::default();
    let mut oracle = Oracle::default();
    for op in ops {
        match *op {
            Op::Push(offset) => oracle.push(&mut q, offset),
            Op::PopUntil(offset) => oracle.pop_until(&mut q, offset),
            Op::Ticket => oracle.ticket(),
            Op::PushTicket(offset) => oracle.push_ticket(&mut q, offset),
        }
        oracle.check(&q);
    }
    oracle.drain(&mut q);
}

// ---- TimingWheel::remove_first_if ----------------------------------------------------------

#[derive(Debug, Clone)]
enum RemovalOp {
    Push(u64),
    PopUntil(u64),
    /// Remove the earliest entry if this says it is stale.
    RemoveFirstIf(bool),
}

fn removal_ops() -> impl Strategy<Value = Vec<RemovalOp>> {
    prop::collection::vec(
        prop_oneof![
            3 => offset().prop_map(RemovalOp::Push),
            1 => offset().prop_map(RemovalOp::PopUntil),
            2 => any::<bool>().prop_map(RemovalOp::RemoveFirstIf),
        ],
        1..400,
    )
}

/// `first` and removals see exactly the oracle's first entry, removals take it only when
/// told, and neither moves the horizon: pushes keep landing at the last pop's time plus an
/// offset.
fn check_removals(mut q: TimingWheel<u64>, fast_peek: bool, ops: &[RemovalOp]) {
    let mut oracle = Oracle::default();
    for op in ops {
        match *op {
            RemovalOp::Push(offset) => oracle.push(&mut q, offset),
            RemovalOp::PopUntil(offset) => oracle.pop_until(&mut q, offset),
            RemovalOp::RemoveFirstIf(stale) => {
                let first = oracle.first();
                match q.first() {
                    Some(e) => assert_eq!(Some((e.time.as_nanos(), e.seq)), first),
                    // Only a crowded slot without fast peek hides its first entry.
                    None => assert!(first.is_none() || !fast_peek, "first missed {first:?}"),
                }
                let mut asked = None;
                let removed = q.remove_first_if(|e| {
                    asked = Some((e.time.as_nanos(), e.seq));
                    stale
                });
                if asked.is_some() {
                    assert_eq!(asked, first, "offered an entry that is not the earliest");
                }
                assert_eq!(removed, asked.is_some() && stale);
                if removed {
                    oracle.entries.remove(&first.expect("removed one"));
                }
            }
        }
        oracle.check(&q);
    }
    oracle.drain(&mut q);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn wheel_removals_match_the_ordered_map_oracle(ops in removal_ops()) {
        check_removals(TimingWheel::default(), false, &ops);
    }
    #[test]
    fn wheel_fast_peek_removals_match_the_ordered_map_oracle(ops in removal_ops()) {
        check_removals(TimingWheel::with_fast_peek(), true, &ops);
    }
}

#[test]
fn wheel_remove_first_if_leaves_the_horizon_where_it_was() {
    let mut q = TimingWheel::with_fast_peek();
    push_all(&mut q, 0, &[1_000_000_000]);
    assert!(q.remove_first_if(|_| true));
    // A pop of that entry would have moved the horizon to 1 s; 5 ns is still allowed.
    push_all(&mut q, 1, &[5]);
    assert_eq!(drain(&mut q), [(5, 1)]);
}

#[test]
fn wheel_remove_first_if_gives_up_on_a_crowded_slot() {
    let mut q = TimingWheel::with_fast_peek();
    // 40 entries in one level-2 slot (65,536 ns wide) far from the horizon.
    let times: Vec<u64> = (0..40).map(|i| 1 << 20 | i).collect();
    push_all(&mut q, 0, &times);
    let mut asked = false;
    assert!(!q.remove_first_if(|_| {
        asked = true;
        true
    }));
    assert!(!asked);
    assert_eq!(q.len(), 40);
}

#[test]
fn wheel_remove_first_if_keeps_the_slot_minimum() {
    let mut q = TimingWheel::with_fast_peek();
    push_all(&mut q, 0, &[1 << 20 | 7, 1 << 20 | 3, 1 << 20 | 5]);
    assert!(q.remove_first_if(|e| e.time == t(1 << 20 | 3)));
    assert_eq!(q.peek_time(), Some(t(1 << 20 | 5)));
    assert!(!q.remove_first_if(|_| false));
    assert_eq!(drain(&mut q), [(1 << 20 | 5, 2), (1 << 20 | 7, 0)]);
}
