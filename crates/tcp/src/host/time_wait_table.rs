//! TIME-WAIT at the host: a table of one compact entry per 4-tuple, as Linux's timewait
//! socks, and what the host does with a segment for one (the decision is
//! [`TimeWait::on_segment`], shared with an endpoint that holds TIME-WAIT itself).

use super::Host;
use super::datagram::{Datagram, DemuxHint};
use super::demux::{TIME_WAIT_BIT, tuple_tag};
use super::sockets::ConnId;
use super::tag_table::TagTable;
use crate::{Cause, Event, FourTuple, Segment, State, TimeWait, Transition, Verdict};
use synack_kernel::chunked::ChunkedFifo;
use synack_kernel::{SimDuration, SimTime};

/// A TIME-WAIT entry: what the decision needs ([`TimeWait`]), and its timing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// What answers the entry's segments.
    pub record: TimeWait,
    /// When the entry expires.
    pub expiry: SimTime,
    /// When the entry began: the age of its last timestamp, for tcp_tw_reuse.
    pub last_seen: SimTime,
}

impl Entry {
    /// tcp_tw_reuse: the last timestamp is over a second old (and timestamps were on).
    pub fn reusable(&self, now: SimTime) -> bool {
        self.record.ts_recent.is_some()
            && now.saturating_since(self.last_seen) > SimDuration::from_secs(1)
    }
}

const NUMBER_MASK: u32 = TIME_WAIT_BIT - 1;

/// A TIME-WAIT entry and its 4-tuple, as queued in expiry order.
#[derive(Debug, Clone, Copy)]
struct Record {
    tuple: FourTuple,
    entry: Entry,
    /// False once removed or restarted (a restart queues a new record): it waits as a
    /// tombstone until it reaches the front.
    live: bool,
}

/// The table: records queued in expiry order (every entry lasts the same, so a FIFO
/// suffices), found by 4-tuple in the host's table of sockets, as Linux keeps timewait socks
/// in its established hash: there a record's number carries [`TIME_WAIT_BIT`]. An entry is
/// its 56-byte record and an 8-byte table entry; a map of entries beside a queue of expiries
/// held 77 bytes, before either's slack. Every method that finds an entry by 4-tuple takes
/// that table.
#[derive(Debug, Default)]
pub struct TimeWaitTable {
    records: ChunkedFifo<Record>,
    /// Records that have left the front: record number `n` (counted from the first ever
    /// queued, modulo 2^31) sits `n - popped` places behind the front.
    popped: u32,
    /// Live records.
    live: usize,
}

impl TimeWaitTable {
    /// Entries held.
    pub fn len(&self) -> usize {
        self.live
    }

    /// Whether no entry is held.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    fn position(&self, number: u32) -> usize {
        (number.wrapping_sub(self.popped) & NUMBER_MASK) as usize
    }

    fn record(&self, number: u32) -> &Record {
        let position = self.position(number);
        self.records
            .get(position)
            .expect("indexed records are queued")
    }

    fn record_mut(&mut self, number: u32) -> &mut Record {
        let position = self.position(number);
        self.records
            .get_mut(position)
            .expect("indexed records are queued")
    }

    fn find(&self, table: &TagTable, tuple: &FourTuple) -> Option<u32> {
        let found = table.find(tuple_tag(tuple), |value| {
            value & TIME_WAIT_BIT != 0 && self.record(value & NUMBER_MASK).tuple == *tuple
        });
        found.map(|value| value & NUMBER_MASK)
    }

    /// The entry of a 4-tuple.
    pub fn get(&self, table: &TagTable, tuple: &FourTuple) -> Option<&Entry> {
        self.find(table, tuple).map(|n| &self.record(n).entry)
    }

    /// Adds an entry, in place of any entry of the same 4-tuple.
    pub fn insert(&mut self, table: &mut TagTable, tuple: FourTuple, entry: Entry) {
        self.remove(table, &tuple);
        let number = self.popped.wrapping_add(self.records.len() as u32) & NUMBER_MASK;
        self.records.push_back(Record {
            tuple,
            entry,
            live: true,
        });
        table.insert(tuple_tag(&tuple), TIME_WAIT_BIT | number);
        self.live += 1;
    }

    /// Removes an entry (reuse, RST, new incarnation); returns whether there was one.
    pub fn remove(&mut self, table: &mut TagTable, tuple: &FourTuple) -> bool {
        let Some(number) = self.find(table, tuple) else {
            return false;
        };
        table.remove(tuple_tag(tuple), TIME_WAIT_BIT | number);
        self.record_mut(number).live = false;
        self.live -= 1;
        true
    }

    /// The entry of a 4-tuple, to change its record.
    pub fn get_mut(&mut self, table: &TagTable, tuple: &FourTuple) -> Option<&mut Entry> {
        let number = self.find(table, tuple)?;
        Some(&mut self.record_mut(number).entry)
    }

    /// Restarts an entry's timer: it moves to the back of the queue.
    pub fn restart(&mut self, table: &mut TagTable, tuple: &FourTuple, expiry: SimTime) {
        if let Some(number) = self.find(table, tuple) {
            let entry = Entry {
                expiry,
                ..self.record(number).entry
            };
            self.insert(table, *tuple, entry);
        }
    }

    /// The earliest expiry queued (possibly of a removed entry, unless
    /// [`TimeWaitTable::drop_stale_expiries`] ran since: harmless).
    pub fn next_expiry(&self) -> Option<SimTime> {
        self.records.front().map(|r| r.entry.expiry)
    }

    /// Drops removed and restarted entries' records at the front.
    pub fn drop_stale_expiries(&mut self) {
        while self.records.front().is_some_and(|r| !r.live) {
            self.pop_front();
        }
    }

    /// Drops every entry expired at `now`, telling `dropped` of each.
    pub fn expire(
        &mut self,
        table: &mut TagTable,
        now: SimTime,
        mut dropped: impl FnMut(&FourTuple),
    ) {
        while let Some(&record) = self.records.front() {
            if record.entry.expiry > now {
                break;
            }
            if record.live {
                table.remove(tuple_tag(&record.tuple), TIME_WAIT_BIT | self.popped);
                self.live -= 1;
                dropped(&record.tuple);
            }
            self.pop_front();
        }
    }

    /// Every entry's 4-tuple, in expiry order.
    pub fn tuples(&self) -> impl Iterator<Item = &FourTuple> {
        (0..self.records.len())
            .filter_map(|position| self.records.get(position))
            .filter(|record| record.live)
            .map(|record| &record.tuple)
    }

    /// Drops the front record, live or not (its index entry is the caller's business).
    fn pop_front(&mut self) {
        self.records.pop_front();
        self.popped = self.popped.wrapping_add(1) & NUMBER_MASK;
    }
}

/// A TIME-WAIT record's end.
fn time_wait_ended(cause: Cause, at: SimTime) -> Transition {
    Transition {
        at,
        from: State::TimeWait,
        to: State::Closed,
        cause,
    }
}

impl Host {
    /// Ends the TIME-WAIT record of `tuple`, if there is one, frees its port, and records
    /// why it ended.
    pub(super) fn remove_time_wait(&mut self, tuple: &FourTuple, cause: Cause, now: SimTime) {
        if self.time_wait.remove(self.sockets.tuple_table_mut(), tuple) {
            self.ports.release(tuple);
            self.output
                .transitions
                .push((None, *tuple, time_wait_ended(cause, now)));
        }
    }

    /// Ends every TIME-WAIT record due at `now`.
    pub(super) fn expire_time_wait(&mut self, now: SimTime) {
        let (ports, output) = (&mut self.ports, &mut self.output);
        let table = self.sockets.tuple_table_mut();
        self.time_wait.expire(table, now, |tuple| {
            ports.release(tuple);
            let ended = time_wait_ended(Cause::TimeWaitExpired, now);
            output.transitions.push((None, *tuple, ended));
        });
    }

    /// `id`'s endpoint entered TIME-WAIT: the socket becomes a compact record (unless the
    /// table is full, when it is dropped, as Linux does).
    pub(super) fn enter_time_wait(&mut self, id: ConnId, now: SimTime) {
        let socket = self.sockets.get(id).expect("present");
        let (tuple, conn) = (socket.tuple, &socket.conn);
        let full = self.time_wait.len() >= self.config.max_time_wait as usize;
        let entry = Entry {
            // Linux's tcp_time_wait starts the timewait sock's rate limit afresh.
            record: TimeWait {
                last_invalid_ack_ms: 0,
                ..conn.time_wait().expect("in TIME-WAIT")
            },
            expiry: TimeWait::expiry(now, &self.config.tcp),
            last_seen: now,
        };
        self.remove_socket(id);
        self.output.events.push((id, Event::Closed));
        if full {
            self.counters.time_wait_skipped += 1;
            let ended = time_wait_ended(Cause::TimeWaitTableFull, now);
            self.output.transitions.push((None, tuple, ended));
            return;
        }
        self.time_wait
            .insert(self.sockets.tuple_table_mut(), tuple, entry);
        self.ports.take(&tuple);
        self.counters.time_wait_peak = self
            .counters
            .time_wait_peak
            .max(self.time_wait.len() as u64);
    }

    /// A segment for a 4-tuple in TIME-WAIT: what [`TimeWait::on_segment`] decides.
    pub(super) fn deliver_to_time_wait(
        &mut self,
        tuple: FourTuple,
        from: u32,
        seg: &Segment,
        now: SimTime,
    ) {
        let entry = self
            .time_wait
            .get_mut(self.sockets.tuple_table(), &tuple)
            .expect("checked");
        let verdict = entry.record.on_segment(seg, &self.config.tcp, now);
        let record = entry.record;
        let ack = || {
            let ack = record.ack(seg.dst_port, seg.src_port, now);
            Datagram::new(tuple.local_addr, tuple.remote_addr, ack)
        };
        match verdict {
            Verdict::Ignore => {}
            Verdict::Ack => self.output.send(ack(), DemuxHint::NONE),
            Verdict::Restart | Verdict::AckAndRestart => {
                if verdict == Verdict::AckAndRestart {
                    self.output.send(ack(), DemuxHint::NONE);
                }
                self.time_wait.restart(
                    self.sockets.tuple_table_mut(),
                    &tuple,
                    TimeWait::expiry(now, &self.config.tcp),
                );
            }
            Verdict::Reopen(isn) => {
                self.remove_time_wait(&tuple, Cause::Reopened, now);
                if self.listeners.contains(seg.dst_port) {
                    self.deliver_to_listener(tuple, from, seg, Some(isn), now);
                } else {
                    self.reply_closed(tuple, seg);
                }
            }
            Verdict::Close => self.remove_time_wait(&tuple, Cause::Reset, now),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::test_tuple as tuple;

    /// A table and the host's 4-tuple table it indexes through.
    #[derive(Default)]
    struct Tables {
        tw: TimeWaitTable,
        index: TagTable,
    }

    impl Tables {
        fn insert(&mut self, tuple: FourTuple, entry: Entry) {
            self.tw.insert(&mut self.index, tuple, entry);
        }
        fn remove(&mut self, tuple: &FourTuple) -> bool {
            self.tw.remove(&mut self.index, tuple)
        }
        fn restart(&mut self, tuple: &FourTuple, expiry: SimTime) {
            self.tw.restart(&mut self.index, tuple, expiry);
        }
        fn get(&self, tuple: &FourTuple) -> Option<&Entry> {
            self.tw.get(&self.index, tuple)
        }
        fn expire(&mut self, now: SimTime, dropped: impl FnMut(&FourTuple)) {
            self.tw.expire(&mut self.index, now, dropped);
        }
        fn drop_stale_expiries(&mut self) {
            self.tw.drop_stale_expiries();
        }
        fn next_expiry(&self) -> Option<SimTime> {
            self.tw.next_expiry()
        }
        fn len(&self) -> usize {
            self.tw.len()
        }
    }

    fn entry(expiry: u64) -> Entry {
        Entry {
            record: TimeWait {
                snd_nxt: crate::Seq(0),
                rcv_nxt: crate::Seq(0),
                ts_recent: None,
                rcv_wnd: 0,
                last_invalid_ack_ms: 0,
            },
            expiry: SimTime::from_nanos(expiry),
            last_seen: SimTime::ZERO,
        }
    }

    #[test]
    fn next_expiry_skips_removed_restarted_and_replaced_entries() {
        let mut table = Tables::default();
        table.insert(tuple(1), entry(10));
        table.insert(tuple(2), entry(20));
        table.insert(tuple(3), entry(30));
        table.drop_stale_expiries();
        assert_eq!(table.next_expiry(), Some(SimTime::from_nanos(10)));
        table.remove(&tuple(1));
        table.drop_stale_expiries();
        assert_eq!(table.next_expiry(), Some(SimTime::from_nanos(20)));
        table.restart(&tuple(2), SimTime::from_nanos(40));
        table.drop_stale_expiries();
        assert_eq!(table.next_expiry(), Some(SimTime::from_nanos(30)));
        table.insert(tuple(3), entry(50));
        table.drop_stale_expiries();
        assert_eq!(table.next_expiry(), Some(SimTime::from_nanos(40)));
        let mut dropped = Vec::new();
        table.expire(SimTime::from_nanos(40), |t| dropped.push(*t));
        assert_eq!(dropped, [tuple(2)]);
        table.drop_stale_expiries();
        assert_eq!(table.next_expiry(), Some(SimTime::from_nanos(50)));
        assert_eq!(table.len(), 1);
    }

    #[test]
    fn many_entries_match_a_map_across_chunks_restarts_and_expiries() {
        use std::collections::BTreeMap;
        let mut table = Tables::default();
        let mut oracle: BTreeMap<u16, u64> = BTreeMap::new();
        let mut now = 0;
        for round in 0..6u64 {
            for port in 0..3000u16 {
                now += 1;
                match (u64::from(port) * 7 + round) % 5 {
                    0 | 1 => {
                        table.insert(tuple(port), entry(now + 5000));
                        oracle.insert(port, now + 5000);
                    }
                    2 => assert_eq!(table.remove(&tuple(port)), oracle.remove(&port).is_some()),
                    3 if oracle.contains_key(&port) => {
                        table.restart(&tuple(port), SimTime::from_nanos(now + 5000));
                        oracle.insert(port, now + 5000);
                    }
                    _ => {}
                }
            }
            let mut dropped = Vec::new();
            table.expire(SimTime::from_nanos(now), |t| dropped.push(t.local_port));
            let mut expected: Vec<_> = oracle
                .iter()
                .filter(|&(_, &e)| e <= now)
                .map(|(&p, _)| p)
                .collect();
            oracle.retain(|_, &mut e| e > now);
            dropped.sort_unstable();
            expected.sort_unstable();
            assert_eq!(dropped, expected);
            assert_eq!(table.len(), oracle.len());
            for port in 0..3000u16 {
                let got = table.get(&tuple(port)).map(|e| e.expiry.as_nanos());
                assert_eq!(got, oracle.get(&port).copied(), "port {port}");
            }
            table.drop_stale_expiries();
            let earliest = oracle.values().min().map(|&e| SimTime::from_nanos(e));
            assert_eq!(table.next_expiry(), earliest);
        }
    }
}
