//! The receive side: in-order delivery, the out-of-order buffer, and the byte-identity
//! check.
//!
//! Bytes are counted, not stored. Each delivered run is checked against what it should be:
//! the peer's incarnation, at the stream offset where TCP places it. A mismatch means TCP
//! delivered a wrong byte (a stale segment from an earlier incarnation, say), which the
//! model counts and reports but never acts on: a real receiver cannot tell.

use crate::{DataId, Seq};

/// Out-of-order pieces held at most; further ones are dropped (the peer retransmits), so a
/// connection's memory stays bounded whatever arrives.
pub const MAX_OUT_OF_ORDER: usize = 64;

/// What the receiver has delivered, checked byte by byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Integrity {
    /// Bytes delivered in order, from the right incarnation, at the right offset.
    pub intact: u64,
    /// Bytes that came from another incarnation of the 4-tuple.
    pub wrong_incarnation: u64,
    /// Bytes from the right incarnation but placed at the wrong stream offset.
    pub wrong_offset: u64,
}

impl Integrity {
    /// Whether every delivered byte was the right one.
    pub fn is_clean(&self) -> bool {
        self.wrong_incarnation == 0 && self.wrong_offset == 0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Piece {
    seq: Seq,
    len: u32,
    data: DataId,
}

/// The receive side's rarely used parts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Rare {
    /// Held segments beyond RCV.NXT, sorted by sequence number.
    out_of_order: Vec<Piece>,
    /// Delivered bytes from another incarnation (see [`Integrity`]); the intact ones are
    /// the rest of `delivered`.
    wrong_incarnation: u64,
    /// Delivered bytes placed at the wrong offset.
    wrong_offset: u64,
}

/// The receive side of a connection.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Receiver {
    /// RCV.NXT.
    pub nxt: Seq,
    /// Delivered and not yet read by the application.
    readable: u32,
    /// Stream offset of RCV.NXT's data: bytes delivered so far.
    delivered: u64,
    /// The peer's incarnation, learned from its SYN.
    peer_incarnation: u32,
    /// What most connections never need: held segments and wrongly delivered bytes. One
    /// box, so a socket carries 8 bytes for them, not 24 (a boxed vector and two counters).
    rare: Option<Box<Rare>>,
    /// Where the peer's FIN sits, once seen (possibly beyond a gap).
    fin: Option<Seq>,
    /// Whether the FIN has been reached (RCV.NXT is past it).
    fin_reached: bool,
}

/// What accepting a segment did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Accepted {
    /// Bytes newly delivered in order.
    pub delivered: u32,
    /// Whether the segment was beyond RCV.NXT (held, or dropped for lack of room).
    pub out_of_order: bool,
    /// Whether this segment filled a gap (delivered held data too).
    pub filled_gap: bool,
    /// Whether RCV.NXT just passed the peer's FIN.
    pub fin: bool,
}

impl Receiver {
    /// A receiver synchronized on the peer's SYN.
    pub fn new(irs: Seq, peer_incarnation: u32) -> Self {
        Receiver {
            nxt: irs + 1,
            peer_incarnation,
            ..Receiver::default()
        }
    }

    /// The window to offer: what the receive buffer has free.
    pub fn window(&self, buffer: u32) -> u32 {
        buffer.saturating_sub(self.readable)
    }

    /// Bytes delivered and not yet read.
    pub fn readable(&self) -> u32 {
        self.readable
    }

    /// The application reads up to `max` bytes; returns how many.
    pub fn read(&mut self, max: u64) -> u32 {
        let n = self.readable.min(u32::try_from(max).unwrap_or(u32::MAX));
        self.readable -= n;
        n
    }

    /// Bytes delivered in order so far.
    pub fn delivered(&self) -> u64 {
        self.delivered
    }

    /// Whether the peer's FIN has been reached.
    pub fn fin_reached(&self) -> bool {
        self.fin_reached
    }

    /// What was delivered, checked.
    pub fn integrity(&self) -> Integrity {
        let (wrong_incarnation, wrong_offset) = self
            .rare
            .as_ref()
            .map_or((0, 0), |r| (r.wrong_incarnation, r.wrong_offset));
        Integrity {
            intact: self.delivered - wrong_incarnation - wrong_offset,
            wrong_incarnation,
            wrong_offset,
        }
    }

    /// Segments held out of order.
    pub fn out_of_order_len(&self) -> usize {
        self.rare.as_ref().map_or(0, |r| r.out_of_order.len())
    }

    /// Accepts a segment's payload `[seq, seq + len)` (already trimmed to the window) and
    /// its FIN, if `fin`.
    pub fn accept(&mut self, seq: Seq, len: u32, data: DataId, fin: bool) -> Accepted {
        let mut result = Accepted::default();
        if fin && !self.fin_reached {
            self.fin = Some(seq + len);
        }
        if len > 0 {
            if seq.gt(self.nxt) {
                result.out_of_order = true;
                self.hold(Piece { seq, len, data });
            } else {
                let before = self.delivered;
                self.deliver(Piece { seq, len, data });
                result.delivered = (self.delivered - before) as u32;
                let held = self.delivered;
                self.drain_held();
                result.filled_gap = self.delivered > held;
                result.delivered = (self.delivered - before) as u32;
            }
        }
        self.reach_fin(&mut result);
        result
    }

    /// Holds text (and a FIN) that came before the connection could take it, a SYN's in
    /// SYN-SENT (RFC 9293 3.10.7.3: "queue them for processing after the ESTABLISHED state
    /// has been reached"), without moving RCV.NXT.
    pub fn queue_for_later(&mut self, seq: Seq, len: u32, data: DataId, fin: bool) {
        if len > 0 {
            self.hold(Piece { seq, len, data });
        }
        if fin && !self.fin_reached {
            self.fin = Some(seq + len);
        }
    }

    /// Delivers what [`Receiver::queue_for_later`] held, now that the connection takes it.
    pub fn release_queued(&mut self) -> Accepted {
        let mut result = Accepted::default();
        let before = self.delivered;
        self.drain_held();
        result.delivered = (self.delivered - before) as u32;
        self.reach_fin(&mut result);
        result
    }

    /// Passes the peer's FIN once RCV.NXT reaches it, and gives back memory no longer
    /// needed.
    fn reach_fin(&mut self, result: &mut Accepted) {
        if let Some(fin_seq) = self.fin
            && !self.fin_reached
            && fin_seq == self.nxt
        {
            self.nxt = self.nxt + 1;
            self.fin_reached = true;
            if let Some(rare) = self.rare.as_mut() {
                rare.out_of_order = Vec::new();
            }
            result.fin = true;
        }
        if self.rare.as_ref().is_some_and(|r| {
            r.out_of_order.is_empty() && r.wrong_incarnation == 0 && r.wrong_offset == 0
        }) {
            // Nothing held and nothing wrong: give the memory back.
            self.rare = None;
        }
    }

    fn hold(&mut self, piece: Piece) {
        let held = &mut self.rare.get_or_insert_default().out_of_order;
        if held
            .iter()
            .any(|p| p.seq == piece.seq && p.len >= piece.len)
        {
            return;
        }
        if held.len() >= MAX_OUT_OF_ORDER {
            return;
        }
        let at = held
            .partition_point(|p| p.seq.lt(piece.seq) || (p.seq == piece.seq && p.len > piece.len));
        held.insert(at, piece);
    }

    /// Delivers the part of `piece` at or beyond RCV.NXT, which it must reach.
    fn deliver(&mut self, piece: Piece) {
        let skip = self.nxt - piece.seq;
        if skip >= piece.len {
            return;
        }
        let len = piece.len - skip;
        let offset = piece.data.offset.wrapping_add(u64::from(skip));
        let bytes = u64::from(len);
        if piece.data.incarnation != self.peer_incarnation {
            self.rare.get_or_insert_default().wrong_incarnation += bytes;
        } else if offset != self.delivered {
            self.rare.get_or_insert_default().wrong_offset += bytes;
        }
        self.nxt = self.nxt + len;
        self.delivered += bytes;
        self.readable = self.readable.saturating_add(len);
    }

    fn drain_held(&mut self) {
        while let Some(rare) = self.rare.as_mut() {
            let Some(first) = rare.out_of_order.first().copied() else {
                break;
            };
            if first.seq.gt(self.nxt) {
                break;
            }
            rare.out_of_order.remove(0);
            self.deliver(first);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(offset: u64) -> DataId {
        DataId {
            incarnation: 9,
            offset,
        }
    }

    #[test]
    fn out_of_order_pieces_wait_for_the_gap() {
        let mut r = Receiver::new(Seq(u32::MAX - 100), 9);
        let base = r.nxt;
        let a = r.accept(base + 100, 100, id(100), false);
        assert!(a.out_of_order && a.delivered == 0);
        let a = r.accept(base + 200, 50, id(200), true);
        assert!(a.out_of_order && !a.fin);
        let a = r.accept(base, 100, id(0), false);
        assert_eq!((a.delivered, a.filled_gap, a.fin), (250, true, true));
        assert_eq!(r.nxt, base + 251);
        assert_eq!(
            r.integrity(),
            Integrity {
                intact: 250,
                ..Integrity::default()
            }
        );
        assert_eq!(r.read(1000), 250);
    }

    #[test]
    fn filled_gap_gives_the_held_pieces_memory_back() {
        let mut r = Receiver::new(Seq(0), 9);
        r.accept(Seq(101), 100, id(100), false);
        assert_eq!(r.out_of_order_len(), 1);
        assert!(r.rare.is_some());
        r.accept(Seq(1), 100, id(0), false);
        assert_eq!((r.out_of_order_len(), r.integrity().intact), (0, 200));
        assert!(r.rare.is_none(), "nothing held and nothing wrong: no box");
    }

    #[test]
    fn wrong_bytes_are_remembered_after_the_gap_fills() {
        let mut r = Receiver::new(Seq(0), 9);
        r.accept(Seq(101), 100, id(100), false);
        r.accept(Seq(1), 100, id(7), false);
        assert_eq!(r.out_of_order_len(), 0);
        // The gap's bytes claimed offset 7: misplaced. The held piece then fits.
        let integrity = r.integrity();
        assert_eq!((integrity.wrong_offset, integrity.intact), (100, 100));
    }

    #[test]
    fn overlap_is_delivered_once() {
        let mut r = Receiver::new(Seq(0), 9);
        r.accept(Seq(1), 100, id(0), false);
        let a = r.accept(Seq(51), 100, id(50), false);
        assert_eq!(a.delivered, 50);
        assert_eq!(r.integrity().intact, 150);
    }

    #[test]
    fn stale_incarnation_and_misplaced_bytes_are_counted() {
        let mut r = Receiver::new(Seq(0), 9);
        r.accept(
            Seq(1),
            10,
            DataId {
                incarnation: 8,
                offset: 0,
            },
            false,
        );
        r.accept(Seq(11), 10, id(500), false);
        assert_eq!(
            r.integrity(),
            Integrity {
                intact: 0,
                wrong_incarnation: 10,
                wrong_offset: 10
            }
        );
        assert!(!r.integrity().is_clean());
    }
}
