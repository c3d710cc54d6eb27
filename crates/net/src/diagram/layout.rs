//! Where each row of a diagram is. Events at one instant share a row, unless two of one
//! kind fall on one lane (two sends from the left host at one instant get two rows); a
//! burst's note has a row of its own. Rows go in time order, then in the order observed.

use super::Key;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use synack_kernel::SimTime;

/// Something drawn on a row: a send from a lane, an arrival at one, a state change beside
/// one, or a note across both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Row {
    Send(Key, usize),
    Arrive(Key, usize),
    State(Key, usize),
    Note(Key),
}

impl Row {
    fn key(&self) -> Key {
        match *self {
            Row::Send(k, _) | Row::Arrive(k, _) | Row::State(k, _) | Row::Note(k) => k,
        }
    }

    /// What may not share a row with another of its class at one instant.
    fn class(&self) -> (u8, usize) {
        match *self {
            Row::Send(_, lane) => (0, lane),
            Row::Arrive(_, lane) => (1, lane),
            Row::State(_, lane) => (2, lane),
            Row::Note(_) => (3, 0),
        }
    }
}

/// A row: its instant, its place among that instant's rows, and whether it is a note's.
type Place = (SimTime, usize, bool);

pub(super) struct Layout {
    place: BTreeMap<Row, Place>,
    rows: Vec<Place>,
}

impl Layout {
    const TOP: f64 = 70.0;
    const ROW: f64 = 26.0;

    pub(super) fn new(mut items: Vec<Row>) -> Self {
        items.sort_by_key(Row::key);
        let mut place = BTreeMap::new();
        let mut taken: BTreeMap<(SimTime, (u8, usize)), usize> = BTreeMap::new();
        for item in items {
            let time = item.key().0;
            let slot = taken.entry((time, item.class())).or_insert(0);
            place.insert(item, (time, *slot, matches!(item, Row::Note(_))));
            *slot += 1;
        }
        let mut rows: Vec<Place> = place.values().copied().collect();
        rows.sort();
        rows.dedup();
        Layout { place, rows }
    }

    /// The y of `item`'s row.
    pub(super) fn y(&self, item: &Row) -> f64 {
        let index = self
            .place
            .get(item)
            .and_then(|p| self.rows.binary_search(p).ok());
        Self::TOP + index.unwrap_or(0) as f64 * Self::ROW
    }

    /// Below the last row.
    pub(super) fn bottom(&self) -> f64 {
        Self::TOP + self.rows.len().max(1) as f64 * Self::ROW
    }

    /// The time to the microsecond, where it differs from the row above's.
    pub(super) fn draw_times(&self, w: &mut String) {
        let mut last = String::new();
        for (index, &(time, _, note)) in self.rows.iter().enumerate() {
            let text = format!("{:.6} s", time.as_secs_f64());
            if text != last && !note {
                let y = Self::TOP + index as f64 * Self::ROW + 4.0;
                let _ = writeln!(w, "<text x=\"10\" y=\"{y}\" fill=\"#666\">{text}</text>");
                last = text;
            }
        }
    }
}
