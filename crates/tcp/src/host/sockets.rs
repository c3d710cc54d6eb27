//! The socket table: one slot per socket, reused as connections end, each with a generation
//! so that a stale handle never reaches a later occupant; a bit per slot telling which hold
//! a socket; and the 4-tuple table that finds a socket (and a TIME-WAIT record, see
//! [`DemuxTable`]). Only the host indexes by slot: every other layer holds [`ConnId`]s.

use super::demux::{DemuxTable, tuple_tag};
use super::occupancy::Occupancy;
use super::tag_table::TagTable;
use crate::{Connection, FourTuple};
use synack_kernel::SimTime;
use synack_kernel::chunked::Chunked;
use synack_kernel::hint::prefetch;

/// A socket's handle: a slot and the generation that owns it, so a stale handle never
/// reaches a later connection in the same slot. Opaque outside the host: keep
/// per-connection data in a [`super::ConnMap`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId {
    pub(super) slot: u32,
    pub(super) generation: u32,
}

/// Where a connection stands with respect to the application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stage {
    /// Opened by connect.
    Active,
    /// In a listener's SYN queue.
    HalfOpen(u16),
    /// Established, in a listener's accept queue.
    Queued(u16),
    /// Handed to the application by accept.
    Accepted,
}

impl Stage {
    /// Whether the connection counts against the host's open limit.
    pub(super) fn is_open(self) -> bool {
        matches!(self, Stage::Active | Stage::Accepted)
    }
}

/// A connection, its 4-tuple, and where it stands.
pub(super) struct Socket {
    pub(super) conn: Connection,
    pub(super) tuple: FourTuple,
    pub(super) stage: Stage,
    /// A half-open request that has had no SYN-ACK timeout yet (Linux's `young`; see
    /// `ListenerRules::synack_retries`).
    pub(super) young: bool,
}

struct Slot {
    generation: u32,
    /// The peer socket's slot in its host, from its socket's last datagram (the
    /// demultiplexing hint). Here rather than in [`Socket`], where it would grow every slot
    /// by 8 bytes of padding.
    peer_slot: u32,
    /// The earliest wake-up queued for the slot's socket. Beside the generation, so telling
    /// a superseded timer from a live one reads one cache line of the slot, not two.
    armed: SimTime,
    entry: Option<Socket>,
}

/// The 4-tuple of the socket in `slot`, if one is there; apart from [`SocketTable`], so a
/// caller can lend the slots while it changes the 4-tuple table.
fn tuple_in(slots: &Chunked<Slot>, slot: u32) -> Option<FourTuple> {
    slots.get(slot)?.entry.as_ref().map(|s| s.tuple)
}

/// The sockets of a host, by slot and by 4-tuple.
#[derive(Default)]
pub(super) struct SocketTable {
    slots: Chunked<Slot>,
    /// Which slots hold a socket: a timer entry of a removed one is dropped by this alone.
    occupied: Occupancy,
    free: Vec<u32>,
    by_tuple: DemuxTable,
}

impl SocketTable {
    /// Sockets held.
    pub(super) fn len(&self) -> usize {
        self.by_tuple.len()
    }

    /// Slots ever used: the most sockets held at once.
    pub(super) fn slots_used(&self) -> usize {
        self.slots.len()
    }

    pub(super) fn get(&self, id: ConnId) -> Option<&Socket> {
        let slot = self.slots.get(id.slot)?;
        (slot.generation == id.generation).then_some(slot.entry.as_ref()?)
    }

    pub(super) fn get_mut(&mut self, id: ConnId) -> Option<&mut Socket> {
        let slot = self.slots.get_mut(id.slot)?;
        (slot.generation == id.generation).then_some(slot.entry.as_mut()?)
    }

    /// The handle of the socket now in `slot`.
    pub(super) fn id(&self, slot: u32) -> ConnId {
        ConnId {
            slot,
            generation: self.slots[slot].generation,
        }
    }

    /// The 4-tuple of the socket in `slot`, if one is there.
    fn tuple_in(&self, slot: u32) -> Option<FourTuple> {
        tuple_in(&self.slots, slot)
    }

    /// Stores `socket` in a free slot; `peer_slot` is the peer's slot, if known.
    pub(super) fn insert(&mut self, socket: Socket, peer_slot: u32) -> ConnId {
        let tuple = socket.tuple;
        let slot = match self.free.pop() {
            Some(slot) => {
                let entry = &mut self.slots[slot];
                entry.entry = Some(socket);
                entry.peer_slot = peer_slot;
                entry.armed = SimTime::MAX;
                slot
            }
            None => self.slots.push(Slot {
                generation: 0,
                peer_slot,
                armed: SimTime::MAX,
                entry: Some(socket),
            }),
        };
        self.occupied.set(slot);
        let slots = &self.slots;
        self.by_tuple.insert(&tuple, slot, |s| tuple_in(slots, s));
        self.id(slot)
    }

    /// Takes `id`'s socket out; its slot moves to a new generation and is free again.
    pub(super) fn remove(&mut self, id: ConnId) -> Option<Socket> {
        let slot = &mut self.slots[id.slot];
        let socket = slot.entry.take()?;
        slot.generation = slot.generation.wrapping_add(1);
        self.occupied.unset(id.slot);
        self.free.push(id.slot);
        self.by_tuple.remove(&socket.tuple, id.slot);
        Some(socket)
    }

    /// The slot of the socket with this 4-tuple: the hinted one if its 4-tuple matches
    /// (each 4-tuple has one socket at most), else the table's.
    pub(super) fn find(&self, hint: u32, tuple: &FourTuple) -> Option<u32> {
        if self.tuple_in(hint) == Some(*tuple) {
            return Some(hint);
        }
        self.find_by_tuple(tuple)
    }

    /// The slot of the socket with this 4-tuple, from the table.
    pub(super) fn find_by_tuple(&self, tuple: &FourTuple) -> Option<u32> {
        self.by_tuple.get(tuple, |s| self.tuple_in(s))
    }

    /// The 4-tuple table, where the TIME-WAIT records are found too.
    pub(super) fn tuple_table(&self) -> &TagTable {
        self.by_tuple.table()
    }

    /// The 4-tuple table, where the TIME-WAIT records are found too.
    pub(super) fn tuple_table_mut(&mut self) -> &mut TagTable {
        self.by_tuple.table_mut()
    }

    /// The peer's slot, as its last datagram named it.
    pub(super) fn peer_slot(&self, slot: u32) -> u32 {
        self.slots[slot].peer_slot
    }

    pub(super) fn set_peer_slot(&mut self, slot: u32, peer_slot: u32) {
        self.slots[slot].peer_slot = peer_slot;
    }

    /// The one test of a timer entry's liveness: `id`'s socket still exists and its
    /// earliest wake-up is `time`. An empty slot is told by its occupancy bit alone;
    /// otherwise this reads only the slot's generation and `armed`, not the socket.
    pub(super) fn is_armed_at(&self, id: ConnId, time: SimTime) -> bool {
        self.occupied.holds(id.slot)
            && self
                .slots
                .get(id.slot)
                .is_some_and(|slot| slot.generation == id.generation && slot.armed == time)
    }

    /// The earliest wake-up queued for the socket in `slot`.
    pub(super) fn armed(&self, slot: u32) -> SimTime {
        self.slots[slot].armed
    }

    pub(super) fn set_armed(&mut self, slot: u32, time: SimTime) {
        self.slots[slot].armed = time;
    }

    /// Starts loading what an arrival for `tuple` will touch: its place in the 4-tuple
    /// table, and the hinted slot. A slot spans four or five cache lines, and handling a
    /// segment touches them all; only addresses known without reading the slot can be named
    /// (reading it would wait for the very miss this avoids): its start, and its small
    /// fields, which the compiler places at its end. The processor's adjacent-line prefetch
    /// fetches most of the lines between.
    pub(super) fn prefetch(&self, tuple: &FourTuple, hint: u32) {
        self.by_tuple.prefetch(tuple_tag(tuple));
        if let Some(slot) = self.slots.get(hint) {
            prefetch(slot);
            prefetch(&slot.peer_slot);
        }
    }

    /// Every socket with its handle, in slot order.
    pub(super) fn iter(&self) -> impl Iterator<Item = (ConnId, &Socket)> {
        self.slots.iter().enumerate().filter_map(|(index, slot)| {
            let id = ConnId {
                slot: index as u32,
                generation: slot.generation,
            };
            slot.entry.as_ref().map(|socket| (id, socket))
        })
    }

    /// Empties every slot (a crash). Slots are emptied, not dropped, and occupied ones move
    /// to a new generation: a handle from before must never name a later connection.
    pub(super) fn clear(&mut self) {
        self.free.clear();
        for (index, slot) in self.slots.iter_mut().enumerate() {
            if slot.entry.take().is_some() {
                slot.generation = slot.generation.wrapping_add(1);
            }
            self.free.push(index as u32);
        }
        self.free.reverse();
        self.occupied.clear();
        self.by_tuple.clear();
    }
}
