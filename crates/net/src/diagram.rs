//! Sequence diagrams, as SVG, of point-to-point scenarios: the figure textbooks draw for the
//! handshake and the teardown. The two hosts are lanes; each segment is an arrow from its
//! send time to its arrival, labelled with its flags and its seq and ack relative to its
//! connection's ISNs; state changes are written beside their lane, with the cause when no
//! segment explains it (TIME-WAIT's end, a crash, a timeout); a dropped segment ends in a
//! cross halfway; a network duplicate is dashed.
//!
//! Rows are not a time scale: events at one instant share a row (a SYN's arrival and the
//! SYN-ACK it causes form the textbook V), so a diagram has about one row per segment.
//! A run of plain data and ACK segments (no SYN, FIN or RST, no state change) is
//! collapsed to its first and last few and a "… N segments …" row. Only some connections
//! are drawn ([`Connections`]); with more than one, labels carry the connection's port.

mod layout;

use crate::trace::PendingFile;
use crate::{Observer, SegmentFate};
use layout::{Layout, Row};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use synack_kernel::SimTime;
use synack_link::Way;
use synack_tcp::host::Datagram;
use synack_tcp::{Cause, Flags, FourTuple, Seq, State, Transition};

/// Arrows drawn at most, after collapsing; a longer diagram is cut, with a note.
pub const MAX_SEGMENTS: usize = 300;
/// Segments held at most while the run goes (bounds memory on a long transfer).
const MAX_HELD: usize = 100_000;
/// A quiet run at least this long is collapsed ...
const BURST_MIN: usize = 12;
/// ... to this many segments at each end.
const BURST_KEEP: usize = 4;

/// Which connections a diagram draws. A connection is a pair of ports, the left host's and
/// the right host's, numbered in the order its first segment or state change is seen; once
/// both sides are CLOSED, a new opening of the same pair is a new connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connections {
    /// The first N.
    First(usize),
    /// Those with this port on either side.
    Port(u16),
}

impl Default for Connections {
    fn default() -> Self {
        Connections::First(10)
    }
}

/// An instant, and the order it was observed in: same-time events keep their order.
type Key = (SimTime, u64);
/// A connection: the left host's port, the right host's.
type Ports = (u16, u16);

#[derive(Debug, Clone)]
struct Arrow {
    way: Way,
    ports: Ports,
    sent: Key,
    end: Option<Key>,
    label: String,
    datagram: Datagram,
    duplicate: bool,
    /// No SYN, FIN or RST: may be collapsed into a burst.
    quiet: bool,
}

/// One connection of a pair of ports: whether it is drawn, and each side's latest state.
#[derive(Debug, Clone, Copy)]
struct Incarnation {
    drawn: bool,
    states: [Option<State>; 2],
}

impl Incarnation {
    /// Both sides are CLOSED (a side never seen counts as closed), after a state change.
    fn finished(&self) -> bool {
        self.states.iter().any(Option::is_some)
            && self
                .states
                .iter()
                .all(|s| s.is_none_or(|s| s == State::Closed))
    }
}

#[derive(Debug, Clone)]
struct StateLabel {
    at: Key,
    lane: usize,
    ports: Ports,
    text: String,
}

/// Collects a point-to-point run and draws it when the run finishes.
pub struct Diagram {
    path: PathBuf,
    lanes: [String; 2],
    lane_addrs: [u32; 2],
    choice: Connections,
    /// The latest connection of each pair of ports.
    seen: BTreeMap<Ports, Incarnation>,
    /// Connections seen, and of them drawn.
    counted: usize,
    drawn: usize,
    arrows: Vec<Arrow>,
    states: Vec<StateLabel>,
    /// Each connection's ISN in each direction, by the sender's (source port, destination
    /// port), so every connection's numbers are relative to its own SYN.
    isn: BTreeMap<(u16, u16), Seq>,
    /// Arrows sent and not yet delivered or dropped, earliest first.
    in_flight: Vec<usize>,
    /// More segments than [`MAX_HELD`] came.
    overflowed: bool,
    /// Observation order, to give same-time events their own place.
    order: u64,
}

fn flag_names(f: Flags) -> String {
    let names: Vec<&str> = [
        (Flags::SYN, "SYN"),
        (Flags::FIN, "FIN"),
        (Flags::RST, "RST"),
        (Flags::PSH, "PSH"),
        (Flags::ACK, "ACK"),
    ]
    .iter()
    .filter(|(flag, _)| f.has(*flag))
    .map(|(_, n)| *n)
    .collect();
    names.join(",")
}

/// A state change's label: the state, and why when no segment shows it.
fn state_text(t: &Transition) -> String {
    let why = match t.cause {
        Cause::TimeWaitExpired => "TIME-WAIT over",
        Cause::Crash => "crash",
        Cause::Timeout => "timed out",
        Cause::FinWait2Timeout => "FIN-WAIT-2 timeout",
        Cause::Reused => "reused",
        Cause::Reopened => "new SYN",
        Cause::TimeWaitTableFull => "TIME-WAIT table full",
        Cause::Abort => "abort",
        Cause::Reset if t.to == State::Closed => "RST",
        _ => return t.to.name().to_string(),
    };
    format!("{} ({why})", t.to.name())
}

impl Diagram {
    /// A diagram of the hosts `lanes` (left, right) with their addresses, drawing `choice`,
    /// written to `path`.
    pub fn new(path: &Path, lanes: [(String, u32); 2], choice: Connections) -> Self {
        let [(l, la), (r, ra)] = lanes;
        Diagram {
            path: path.to_path_buf(),
            lanes: [l, r],
            lane_addrs: [la, ra],
            choice,
            seen: BTreeMap::new(),
            counted: 0,
            drawn: 0,
            arrows: Vec::new(),
            states: Vec::new(),
            isn: BTreeMap::new(),
            in_flight: Vec::new(),
            overflowed: false,
            order: 0,
        }
    }

    fn lane_of(&self, addr: u32) -> usize {
        usize::from(self.lane_addrs[1] == addr)
    }

    /// The connection of a local and a remote port at `addr`, and whether it is drawn;
    /// `opens` when a state change out of CLOSED or LISTEN asks (it may begin a new one).
    fn connection(&mut self, addr: u32, local: u16, remote: u16, opens: bool) -> (Ports, bool) {
        let ports = if self.lane_of(addr) == 0 {
            (local, remote)
        } else {
            (remote, local)
        };
        let fresh = match self.seen.get(&ports) {
            None => true,
            Some(known) => opens && known.finished(),
        };
        if fresh {
            let drawn = match self.choice {
                Connections::First(n) => self.counted < n,
                Connections::Port(p) => ports.0 == p || ports.1 == p,
            };
            self.counted += 1;
            self.drawn += usize::from(drawn);
            let states = [None; 2];
            self.seen.insert(ports, Incarnation { drawn, states });
        }
        (ports, self.seen[&ports].drawn)
    }

    fn label(&mut self, d: &Datagram) -> String {
        let s = &d.segment;
        let (ours, theirs) = ((s.src_port, s.dst_port), (s.dst_port, s.src_port));
        if s.has(Flags::SYN) {
            self.isn.insert(ours, s.seq);
        }
        let rel = |isn: Option<&Seq>, x: Seq| x - isn.copied().unwrap_or(Seq(0));
        let seq = rel(self.isn.get(&ours), s.seq);
        let mut label = format!("{} seq={seq}", flag_names(s.flags));
        if s.has(Flags::ACK) {
            label.push_str(&format!(" ack={}", rel(self.isn.get(&theirs), s.ack)));
        }
        if s.len > 0 {
            label.push_str(&format!(" len={}", s.len));
        }
        label
    }

    fn sent(&mut self, at: SimTime, way: Way, d: &Datagram) {
        let s = &d.segment;
        let (ports, drawn) = self.connection(d.src, s.src_port, s.dst_port, false);
        if !drawn {
            return;
        }
        if self.arrows.len() >= MAX_HELD {
            self.overflowed = true;
            return;
        }
        let label = self.label(d);
        self.order += 1;
        self.in_flight.push(self.arrows.len());
        self.arrows.push(Arrow {
            way,
            ports,
            sent: (at, self.order),
            end: None,
            label,
            datagram: *d,
            duplicate: false,
            quiet: !s.has(Flags::SYN) && !s.has(Flags::FIN) && !s.has(Flags::RST),
        });
    }

    /// The earliest drawn arrow of `d` still in flight, taken off the list (only drawn
    /// segments are ever on it).
    fn land(&mut self, d: &Datagram) -> Option<usize> {
        let position = self
            .in_flight
            .iter()
            .position(|&i| self.arrows[i].datagram == *d)?;
        Some(self.in_flight.remove(position))
    }

    fn arrived(&mut self, at: SimTime, d: &Datagram) {
        let s = &d.segment;
        if !self.connection(d.src, s.src_port, s.dst_port, false).1 {
            return;
        }
        self.order += 1;
        let end = Some((at, self.order));
        if let Some(i) = self.land(d) {
            self.arrows[i].end = end;
        } else if let Some(orig) = self.arrows.iter().rev().find(|a| a.datagram == *d) {
            // A network duplicate of a delivered segment.
            let duplicate = Arrow {
                end,
                duplicate: true,
                ..orig.clone()
            };
            self.arrows.push(duplicate);
        }
    }

    /// What is drawn: the arrows (bursts collapsed), each burst's note, and whether the
    /// diagram was cut. Arrows are in the order they were sent.
    fn select(&self) -> (Vec<&Arrow>, Vec<(Key, usize)>, Option<Key>) {
        let mut arrows: Vec<&Arrow> = self.arrows.iter().collect();
        arrows.sort_by_key(|a| a.sent);
        let changes: BTreeSet<Key> = self.states.iter().map(|s| s.at).collect();
        let mut kept = Vec::with_capacity(arrows.len());
        let mut bursts = Vec::new();
        let mut start = 0;
        while start < arrows.len() {
            // The longest quiet run from `start` with no state change inside.
            let mut end = start;
            while end < arrows.len()
                && arrows[end].quiet
                && (end == start
                    || changes
                        .range(arrows[end - 1].sent..arrows[end].sent)
                        .next()
                        .is_none())
            {
                end += 1;
            }
            let run = &arrows[start..end.max(start + 1)];
            if run.len() >= BURST_MIN {
                kept.extend_from_slice(&run[..BURST_KEEP]);
                let hidden = run.len() - 2 * BURST_KEEP;
                bursts.push((run[BURST_KEEP].sent, hidden));
                kept.extend_from_slice(&run[run.len() - BURST_KEEP..]);
            } else {
                kept.extend_from_slice(run);
            }
            start += run.len();
        }
        let cut = kept.get(MAX_SEGMENTS).map(|a| a.sent);
        if let Some(cut) = cut {
            kept.truncate(MAX_SEGMENTS);
            bursts.retain(|b| b.0 < cut);
        }
        (kept, bursts, cut)
    }

    /// The port that tells drawn connections apart: the left host's, unless the right
    /// host's differ more.
    fn port_side(&self, arrows: &[&Arrow]) -> Option<usize> {
        let ports: BTreeSet<Ports> = arrows.iter().map(|a| a.ports).collect();
        if ports.len() < 2 {
            return None;
        }
        let left: BTreeSet<u16> = ports.iter().map(|p| p.0).collect();
        let right: BTreeSet<u16> = ports.iter().map(|p| p.1).collect();
        Some(usize::from(right.len() > left.len()))
    }

    fn render(&self) -> String {
        let (arrows, bursts, cut) = self.select();
        let states: Vec<&StateLabel> = self
            .states
            .iter()
            .filter(|s| cut.is_none_or(|c| s.at < c))
            .collect();
        let side = self.port_side(&arrows);
        let tag = |ports: Ports| match side {
            Some(0) => format!(":{} ", ports.0),
            Some(_) => format!(":{} ", ports.1),
            None => String::new(),
        };
        let mut rows = Vec::new();
        for a in &arrows {
            rows.push(Row::Send(a.sent, lane_from(a.way)));
            if let Some(end) = a.end {
                rows.push(Row::Arrive(end, 1 - lane_from(a.way)));
            }
        }
        rows.extend(states.iter().map(|s| Row::State(s.at, s.lane)));
        rows.extend(bursts.iter().map(|b| Row::Note(b.0)));
        let layout = Layout::new(rows);
        let mut svg = String::new();
        self.draw_frame(&mut svg, &layout);
        layout.draw_times(&mut svg);
        for a in &arrows {
            draw_arrow(&mut svg, &layout, a, &tag(a.ports));
        }
        for s in &states {
            draw_state(&mut svg, &layout, s, &tag(s.ports));
        }
        for &(at, hidden) in &bursts {
            let y = layout.y(&Row::Note(at));
            // In the time column, where no arrow passes.
            let _ = writeln!(
                svg,
                "<text x=\"10\" y=\"{}\" fill=\"#666\" font-style=\"italic\">… {hidden} segments …</text>",
                y + 4.0
            );
        }
        self.draw_notes(&mut svg, &layout, cut.is_some());
        svg.push_str("</svg>\n");
        svg
    }

    /// The canvas, and the lanes and their names.
    fn draw_frame(&self, w: &mut String, layout: &Layout) {
        let _ = writeln!(
            w,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"1000\" height=\"{}\" font-family=\"sans-serif\" font-size=\"12\">",
            layout.bottom() + 80.0
        );
        let _ = writeln!(
            w,
            "<defs><marker id=\"a\" markerWidth=\"10\" markerHeight=\"8\" refX=\"10\" refY=\"4\" orient=\"auto\"><path d=\"M0,0 L10,4 L0,8 z\"/></marker></defs>"
        );
        let _ = writeln!(w, "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>");
        for (i, lane) in self.lanes.iter().enumerate() {
            let _ = writeln!(
                w,
                "<text x=\"{}\" y=\"30\" text-anchor=\"middle\" font-size=\"16\" font-weight=\"bold\">{lane}</text>",
                X[i]
            );
            let _ = writeln!(
                w,
                "<line x1=\"{0}\" y1=\"45\" x2=\"{0}\" y2=\"{1}\" stroke=\"#888\" stroke-width=\"2\"/>",
                X[i],
                layout.bottom() + 20.0
            );
        }
    }

    /// Under the rows: what was left out, and how to choose.
    fn draw_notes(&self, w: &mut String, layout: &Layout, cut: bool) {
        let mut notes = Vec::new();
        if self.drawn < self.counted {
            notes.push(format!(
                "{} of {} connections drawn (--diagram-first N or --diagram-port PORT to choose)",
                self.drawn, self.counted
            ));
        }
        if cut || self.overflowed {
            notes.push(format!("cut after {MAX_SEGMENTS} segments"));
        }
        for (i, note) in notes.iter().enumerate() {
            let _ = writeln!(
                w,
                "<text x=\"500\" y=\"{}\" text-anchor=\"middle\" fill=\"#c00\">({note})</text>",
                layout.bottom() + 45.0 + 16.0 * i as f64
            );
        }
    }
}

fn lane_from(way: Way) -> usize {
    usize::from(way != Way::Forward)
}

/// X of the two lanes.
const X: [f64; 2] = [300.0, 700.0];

/// A segment's arrow from its sending to its arrival (a cross where it was lost).
fn draw_arrow(w: &mut String, layout: &Layout, a: &Arrow, tag: &str) {
    let (from, to) = (lane_from(a.way), 1 - lane_from(a.way));
    let (x1, y1) = (X[from], layout.y(&Row::Send(a.sent, from)));
    let dash = if a.duplicate {
        " stroke-dasharray=\"6,4\""
    } else {
        ""
    };
    let (x2, y2, end) = match a.end {
        Some(e) => (
            X[to],
            layout.y(&Row::Arrive(e, to)),
            " marker-end=\"url(#a)\"",
        ),
        None => ((X[from] + X[to]) / 2.0, y1 + 13.0, ""),
    };
    let color = if a.end.is_some() { "black" } else { "#c00" };
    let _ = writeln!(
        w,
        "<line x1=\"{x1}\" y1=\"{y1}\" x2=\"{x2}\" y2=\"{y2}\" stroke=\"{color}\"{dash}{end}/>"
    );
    if a.end.is_none() {
        let _ = writeln!(
            w,
            "<text x=\"{x2}\" y=\"{}\" fill=\"#c00\" font-size=\"18\" text-anchor=\"middle\">×</text>",
            y2 + 6.0
        );
    }
    // Nearer the sender than the middle, so two arrows that cross keep their labels apart.
    let (mx, my) = (x1 + (x2 - x1) * 0.35, y1 + (y2 - y1) * 0.35 - 4.0);
    let _ = writeln!(
        w,
        "<text x=\"{mx}\" y=\"{my}\" text-anchor=\"middle\" fill=\"{color}\">{tag}{}</text>",
        a.label
    );
}

/// A state change, beside its lane.
fn draw_state(w: &mut String, layout: &Layout, s: &StateLabel, tag: &str) {
    let (tx, anchor) = if s.lane == 0 {
        (X[0] - 8.0, "end")
    } else {
        (X[1] + 8.0, "start")
    };
    let _ = writeln!(
        w,
        "<text x=\"{tx}\" y=\"{}\" text-anchor=\"{anchor}\" fill=\"#05a\">{tag}{}</text>",
        layout.y(&Row::State(s.at, s.lane)) + 4.0,
        s.text
    );
}

impl Observer for Diagram {
    fn segment(&mut self, at: SimTime, _link: &str, way: Way, d: &Datagram, fate: SegmentFate) {
        match fate {
            SegmentFate::Sent => self.sent(at, way, d),
            SegmentFate::Delivered | SegmentFate::Corrupt => self.arrived(at, d),
            SegmentFate::Dropped(_) => {
                self.land(d);
            }
            SegmentFate::Duplicated => {}
        }
    }

    fn transition(&mut self, _node: &str, tuple: &FourTuple, t: &Transition) {
        let opens = matches!(t.from, State::Closed | State::Listen);
        let (ports, drawn) =
            self.connection(tuple.local_addr, tuple.local_port, tuple.remote_port, opens);
        let lane = self.lane_of(tuple.local_addr);
        let known = self.seen.get_mut(&ports).expect("just seen");
        known.states[lane] = Some(t.to);
        if !drawn {
            return;
        }
        self.order += 1;
        self.states.push(StateLabel {
            at: (t.at, self.order),
            lane,
            ports,
            text: state_text(t),
        });
    }

    fn finish(self: Box<Self>) -> std::io::Result<()> {
        // Through the traces' temporary file, removed if the write fails.
        let mut file = PendingFile::create(&self.path)?;
        file.out().write_all(self.render().as_bytes())?;
        file.finish()
    }
}
