//! Per-connection data of a driver (applications, the simulator), kept by the host's socket
//! slot: a vector indexed by slot, each entry tagged with the generation it belongs to. The
//! host reuses slots, so the vector stays as long as the most connections open at once, and
//! a lookup is an index, not a hash. Here, beside the socket table, so that nothing outside
//! the host knows what a slot is.

use super::datagram::DemuxHint;
use super::sockets::ConnId;

/// A map from the connections of one host to `T`.
#[derive(Debug, Clone)]
pub struct ConnMap<T> {
    entries: Vec<Option<(u32, T)>>,
}

impl<T> Default for ConnMap<T> {
    fn default() -> Self {
        ConnMap {
            entries: Vec::new(),
        }
    }
}

impl<T> ConnMap<T> {
    /// Every value, in slot order.
    pub fn values(&self) -> impl Iterator<Item = &T> {
        self.entries.iter().flatten().map(|(_, value)| value)
    }

    /// Sets `id`'s value, replacing whatever its slot held (an earlier connection's value
    /// is dropped with it: that connection is gone).
    pub fn insert(&mut self, id: ConnId, value: T) {
        let slot = id.slot as usize;
        if slot >= self.entries.len() {
            self.entries.resize_with(slot + 1, || None);
        }
        self.entries[slot] = Some((id.generation, value));
    }

    /// Starts loading the entry of the connection a datagram with `hint` is for: a hint
    /// only, for a driver that knows which datagram arrives next.
    pub fn prefetch(&self, hint: DemuxHint) {
        if let Some(entry) = self.entries.get(hint.to as usize) {
            synack_kernel::hint::prefetch(entry);
        }
    }

    /// `id`'s value, if it has one.
    pub fn get(&self, id: ConnId) -> Option<&T> {
        match self.entries.get(id.slot as usize) {
            Some(Some((generation, value))) if *generation == id.generation => Some(value),
            _ => None,
        }
    }

    /// `id`'s value, mutably, if it has one.
    pub fn get_mut(&mut self, id: ConnId) -> Option<&mut T> {
        match self.entries.get_mut(id.slot as usize) {
            Some(Some((generation, value))) if *generation == id.generation => Some(value),
            _ => None,
        }
    }

    /// Removes and returns `id`'s value.
    pub fn remove(&mut self, id: ConnId) -> Option<T> {
        let entry = self.entries.get_mut(id.slot as usize)?;
        if entry.as_ref().is_some_and(|(g, _)| *g == id.generation) {
            entry.take().map(|(_, value)| value)
        } else {
            None
        }
    }

    /// Drops every entry.
    pub fn clear(&mut self) {
        self.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::{ConnectOptions, Host, HostConfig};
    use synack_kernel::{RandomStreams, SimTime};

    fn host() -> Host {
        Host::new(
            HostConfig::default(),
            vec![1],
            &RandomStreams::new(1),
            "h",
            0,
        )
        .unwrap()
    }

    #[test]
    fn a_reused_slot_hides_the_earlier_connections_value() {
        let mut host = host();
        let first = host
            .connect(2, 80, ConnectOptions::default(), SimTime::ZERO)
            .unwrap();
        let mut map = ConnMap::default();
        map.insert(first, "first");
        host.abort(first, SimTime::ZERO);
        let second = host
            .connect(2, 80, ConnectOptions::default(), SimTime::ZERO)
            .unwrap();
        assert_eq!(second.slot, first.slot);
        assert_eq!(map.get(second), None);
        map.insert(second, "second");
        assert_eq!(map.get(first), None);
        assert_eq!(map.remove(first), None);
        assert_eq!(map.get_mut(second).copied(), Some("second"));
        assert_eq!(map.remove(second), Some("second"));
        assert_eq!(map.get(second), None);
    }

    #[test]
    fn prefetch_of_any_slot_changes_nothing() {
        let mut host = host();
        let id = host
            .connect(2, 80, ConnectOptions::default(), SimTime::ZERO)
            .unwrap();
        let mut map = ConnMap::default();
        map.insert(id, 7);
        for to in [id.slot, id.slot + 1, 1_000_000, u32::MAX] {
            map.prefetch(DemuxHint { from: 0, to });
        }
        assert_eq!(map.get(id), Some(&7));
        assert_eq!(map.entries.len(), id.slot as usize + 1);
    }
}
