//! Sequence diagrams, as SVG, of short point-to-point scenarios: the figure textbooks draw
//! for the handshake and the teardown. The two hosts are lanes; each segment is an arrow
//! from its send time to its arrival, labelled with its flags and its seq and ack relative
//! to each side's ISN; state names are written at each change; a dropped segment ends in a
//! cross halfway; a network duplicate is dashed.

use crate::{Observer, SegmentFate};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use synack_kernel::SimTime;
use synack_link::Way;
use synack_tcp::host::Datagram;
use synack_tcp::{Flags, FourTuple, Seq, Transition};

/// Segments drawn at most; a longer run is cut, with a note.
pub const MAX_SEGMENTS: usize = 300;

#[derive(Debug, Clone)]
struct Arrow {
    way: Way,
    sent: (SimTime, u64),
    end: Option<(SimTime, u64)>,
    label: String,
    datagram: Datagram,
    duplicate: bool,
}

/// Collects a point-to-point run and draws it when the run finishes.
pub struct Diagram {
    path: PathBuf,
    lanes: [String; 2],
    lane_addrs: [u32; 2],
    arrows: Vec<Arrow>,
    states: Vec<((SimTime, u64), usize, String)>,
    /// Each connection's ISN in each direction, by the sender's (source port, destination
    /// port), so every connection's numbers are relative to its own SYN.
    isn: BTreeMap<(u16, u16), Seq>,
    cut: bool,
    /// Observation order, to give same-time events their own rows.
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

impl Diagram {
    /// A diagram of the hosts `lanes` (left, right) with their addresses, written to `path`.
    pub fn new(path: &Path, lanes: [(String, u32); 2]) -> Self {
        let [(l, la), (r, ra)] = lanes;
        Diagram {
            path: path.to_path_buf(),
            lanes: [l, r],
            lane_addrs: [la, ra],
            arrows: Vec::new(),
            states: Vec::new(),
            isn: BTreeMap::new(),
            cut: false,
            order: 0,
        }
    }

    fn lane_of(&self, addr: u32) -> usize {
        usize::from(self.lane_addrs[1] == addr)
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

    fn render(&self) -> String {
        let layout = Layout::new(self);
        let mut svg = String::new();
        self.draw_frame(&mut svg, &layout);
        Self::draw_times(&mut svg, &layout);
        self.draw_arrows(&mut svg, &layout);
        self.draw_states(&mut svg, &layout);
        self.draw_cut_note(&mut svg, &layout);
        svg.push_str("</svg>\n");
        svg
    }

    /// The canvas, and the lanes and their names.
    fn draw_frame(&self, w: &mut String, layout: &Layout) {
        let _ = writeln!(
            w,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"900\" height=\"{}\" font-family=\"sans-serif\" font-size=\"12\">",
            layout.bottom() + 60.0
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

    /// Under the rows, whether the diagram was cut.
    fn draw_cut_note(&self, w: &mut String, layout: &Layout) {
        if self.cut {
            let _ = writeln!(
                w,
                "<text x=\"450\" y=\"{}\" text-anchor=\"middle\" fill=\"#c00\">(cut after {MAX_SEGMENTS} segments)</text>",
                layout.bottom() + 45.0
            );
        }
    }

    /// The time of each row where it changes.
    fn draw_times(w: &mut String, layout: &Layout) {
        let mut last_time = None;
        for e in &layout.events {
            if last_time != Some(e.0) {
                let _ = writeln!(
                    w,
                    "<text x=\"10\" y=\"{}\" fill=\"#666\">{:.6} s</text>",
                    layout.y(*e) + 4.0,
                    e.0.as_secs_f64()
                );
                last_time = Some(e.0);
            }
        }
    }

    /// A segment's arrow from its sending to its arrival (a cross where it was lost).
    fn draw_arrows(&self, w: &mut String, layout: &Layout) {
        for a in &self.arrows {
            let (from, to) = if a.way == Way::Forward {
                (0, 1)
            } else {
                (1, 0)
            };
            let (x1, y1) = (X[from], layout.y(a.sent));
            let dash = if a.duplicate {
                " stroke-dasharray=\"6,4\""
            } else {
                ""
            };
            let (x2, y2, end) = match a.end {
                Some(e) => (X[to], layout.y(e), " marker-end=\"url(#a)\""),
                None => ((X[from] + X[to]) / 2.0, layout.y(a.sent) + 13.0, ""),
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
            let (mx, my) = ((x1 + x2) / 2.0, (y1 + y2) / 2.0 - 4.0);
            let _ = writeln!(
                w,
                "<text x=\"{mx}\" y=\"{my}\" text-anchor=\"middle\" fill=\"{color}\">{}</text>",
                a.label
            );
        }
    }

    /// The state changes, beside their lane.
    fn draw_states(&self, w: &mut String, layout: &Layout) {
        for (t, lane, state) in &self.states {
            let (tx, anchor) = if *lane == 0 {
                (X[0] - 8.0, "end")
            } else {
                (X[1] + 8.0, "start")
            };
            let _ = writeln!(
                w,
                "<text x=\"{tx}\" y=\"{}\" text-anchor=\"{anchor}\" fill=\"#05a\">{state}</text>",
                layout.y(*t) + 4.0
            );
        }
    }
}

/// X of the two lanes.
const X: [f64; 2] = [200.0, 700.0];

/// Where each event's row is. One row per event (send, arrival, state change), in time
/// order, ties in the order they happened: same-time events never overlap.
struct Layout {
    events: Vec<(SimTime, u64)>,
}

impl Layout {
    const TOP: f64 = 70.0;
    const ROW: f64 = 26.0;

    fn new(diagram: &Diagram) -> Self {
        let mut events: Vec<(SimTime, u64)> = diagram
            .arrows
            .iter()
            .flat_map(|a| [Some(a.sent), a.end])
            .flatten()
            .collect();
        events.extend(diagram.states.iter().map(|s| s.0));
        events.sort();
        Layout { events }
    }

    /// The row of event `e`.
    fn y(&self, e: (SimTime, u64)) -> f64 {
        Self::TOP + self.events.binary_search(&e).unwrap_or(0) as f64 * Self::ROW
    }

    /// Below the last row.
    fn bottom(&self) -> f64 {
        Self::TOP + self.events.len().max(1) as f64 * Self::ROW
    }
}

impl Observer for Diagram {
    fn segment(&mut self, at: SimTime, _link: &str, way: Way, d: &Datagram, fate: SegmentFate) {
        match fate {
            SegmentFate::Sent => {
                if self.arrows.len() >= MAX_SEGMENTS {
                    self.cut = true;
                    return;
                }
                let label = self.label(d);
                self.order += 1;
                self.arrows.push(Arrow {
                    way,
                    sent: (at, self.order),
                    end: None,
                    label,
                    datagram: *d,
                    duplicate: false,
                });
            }
            SegmentFate::Delivered | SegmentFate::Corrupt => {
                // The earliest arrow of this datagram still in flight, or a duplicate of a
                // delivered one.
                self.order += 1;
                let end = Some((at, self.order));
                if let Some(a) = self
                    .arrows
                    .iter_mut()
                    .find(|a| a.datagram == *d && a.end.is_none() && !a.duplicate)
                {
                    a.end = end;
                } else if let Some(orig) =
                    self.arrows.iter().rev().find(|a| a.datagram == *d).cloned()
                {
                    self.arrows.push(Arrow {
                        end,
                        duplicate: true,
                        ..orig
                    });
                }
            }
            SegmentFate::Dropped(_) | SegmentFate::Duplicated => {}
        }
    }

    fn transition(&mut self, _node: &str, tuple: &FourTuple, t: &Transition) {
        let lane = self.lane_of(tuple.local_addr);
        self.order += 1;
        self.states
            .push(((t.at, self.order), lane, t.to.name().to_string()));
    }

    fn finish(self: Box<Self>) -> std::io::Result<()> {
        let tmp = self.path.with_extension("svg.tmp");
        std::fs::write(&tmp, self.render())?;
        std::fs::rename(&tmp, &self.path)
    }
}
