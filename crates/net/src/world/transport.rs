//! Datagram transport: a datagram from a host's output onto its route's link, the link's
//! verdict turned into arrivals, the in-order lanes, and arrival at the far end.

use super::observe::SegmentFate;
use super::{Ev, World};
use crate::topology::{LinkId, NodeId};
use synack_kernel::chunked::ChunkedFifo;
use synack_kernel::queue::QueueFamily;
use synack_kernel::{SimTime, Ticket};
use synack_link::{Fate, Packet, Way};
use synack_tcp::Segment;
use synack_tcp::host::{Datagram, DemuxHint, Host, Outgoing};

/// A datagram on a link, to be handed to `node` when its arrival event fires.
#[derive(Debug, Clone, Copy)]
pub(super) struct InFlight {
    node: NodeId,
    link: LinkId,
    way: Way,
    datagram: Datagram,
    /// The sender's demultiplexing hint, carried beside the datagram for the receiver.
    hint: DemuxHint,
    corrupt: bool,
}

/// One direction of a link, for the datagrams that arrive intact and in the order they were
/// sent (all of them, on a link without jitter, reordering, duplicates or corruption). They
/// arrive at non-decreasing times, so only the front needs an event in the scheduler: when
/// it fires, the next one's is scheduled. A lane thus holds its datagrams in one queue read
/// front to back (entries scattered over a table missed the cache once an event with a
/// million connections open), and the scheduler holds two events a link rather than one a
/// datagram on its way (the heap it saves is in `benches/README.md`).
///
/// Ties, a model rule: events due at the same nanosecond run in the order of their causes.
/// A datagram's arrival ranks by when it was sent (it takes a [`Ticket`] then, and its event,
/// queued only when the datagram ahead of it arrives, keeps that rank); every other event
/// ranks by when it was scheduled. So no bookkeeping here, nor the scheduler's queue,
/// decides which of two simultaneous segments a host sees first (tested:
/// `same_nanosecond_arrivals_run_in_the_order_sent_on_every_queue`).
#[derive(Default)]
pub(super) struct Lane {
    /// The datagrams and their arrival times; the link and the receiving node are the
    /// lane's. Corrupt ones (rare, and a flag would grow every entry by 8 bytes) go through
    /// `in_flight` instead.
    queue: ChunkedFifo<LaneEntry>,
    /// When the last datagram queued here arrives.
    last: SimTime,
}

/// A datagram in a lane and when it arrives. Packed to 4-byte alignment, as the datagram
/// is, so no padding follows it (a lane holds one a datagram in flight).
#[derive(Clone, Copy)]
#[repr(C, packed(4))]
pub(super) struct LaneEntry {
    at: SimTime,
    /// The datagram's rank among events due at `at`: taken when it was sent.
    ticket: Ticket,
    datagram: Datagram,
    hint: DemuxHint,
}

/// Size on the wire: IPv4 and TCP headers, options, payload.
fn wire_size(segment: &Segment) -> u32 {
    let options = if segment.mss.is_some() { 4 } else { 0 }
        + if segment.timestamps.is_some() { 12 } else { 0 };
    20 + 20 + options + segment.len
}

impl<Q: QueueFamily> World<Q> {
    /// Sends a datagram from `node` toward its destination.
    pub(super) fn send(&mut self, node: NodeId, datagram: Datagram, hint: DemuxHint, now: SimTime) {
        let Some((link_id, way)) = self.routes.next_hop(node, datagram.dst) else {
            self.unroutable += 1;
            return;
        };
        let to = self.far_end(link_id, way);
        let (name, link, _, _) = &mut self.links[link_id.0 as usize];
        let packet = Packet {
            size_bytes: wire_size(&datagram.segment),
            payload: datagram,
        };
        let verdict = link.transmit(way, &packet, now);
        let mut arrivals = [None; 2];
        if let Some(o) = self.observer.as_mut() {
            o.segment(now, name, way, &datagram, SegmentFate::Sent);
        }
        for (copy, fate) in [Some(verdict.original), verdict.duplicate]
            .into_iter()
            .enumerate()
            .filter_map(|(i, f)| f.map(|f| (i, f)))
        {
            if copy == 1
                && let Some(o) = self.observer.as_mut()
            {
                o.segment(now, name, way, &datagram, SegmentFate::Duplicated);
            }
            match fate {
                Fate::Delivered { at, corrupt } => arrivals[copy] = Some((at, corrupt)),
                Fate::Dropped(cause) => {
                    if let Some(o) = self.observer.as_mut() {
                        o.segment(now, name, way, &datagram, SegmentFate::Dropped(cause));
                    }
                }
            }
        }
        for (at, corrupt) in arrivals.into_iter().flatten() {
            let at = at.max(now);
            let lane = &mut self.lanes[link_id.0 as usize][way as usize];
            if at >= lane.last && !corrupt {
                lane.last = at;
                let first = lane.queue.is_empty();
                let ticket = self.scheduler.ticket();
                lane.queue.push_back(LaneEntry {
                    at,
                    ticket,
                    datagram,
                    hint,
                });
                if first {
                    self.schedule_with_ticket(at, ticket, Ev::ArriveInOrder(link_id, way));
                }
                continue;
            }
            let flight = InFlight {
                node: to,
                link: link_id,
                way,
                datagram,
                hint,
                corrupt,
            };
            let index = match self.free_flights.pop() {
                Some(index) => {
                    self.in_flight[index] = flight;
                    index
                }
                None => self.in_flight.push(flight),
            };
            self.schedule(at, Ev::Arrive(index));
        }
    }

    /// Takes what `node`'s TCP layer produced: sends its datagrams, hands its events to the
    /// applications (whose calls may produce more), and re-arms its wake-up.
    pub(super) fn flush(&mut self, node: NodeId, now: SimTime) {
        loop {
            let Some(host) = self.nodes[node.0 as usize].host.as_mut() else {
                return;
            };
            if host.output().is_empty() {
                break;
            }
            // Swapped with a spare buffer, not taken, so neither side reallocates.
            let mut output = std::mem::take(&mut self.spare_output);
            std::mem::swap(&mut output, host.output());
            for (_, tuple, t) in &output.transitions {
                use synack_tcp::State;
                match (t.from, t.to) {
                    (State::SynSent, State::SynReceived) => self.simultaneous.0 += 1,
                    (State::FinWait1, State::Closing) => self.simultaneous.1 += 1,
                    _ => {}
                }
                if let Some(o) = self.observer.as_mut() {
                    o.transition(&self.nodes[node.0 as usize].name, tuple, t);
                }
            }
            output.transitions.clear();
            for Outgoing { datagram: d, hint } in output.outgoing.drain(..) {
                self.send(node, d, hint, now);
            }
            for (id, event) in output.events.drain(..) {
                self.dispatch(node, id, event, now);
            }
            self.spare_output = output;
        }
        let n = &mut self.nodes[node.0 as usize];
        let Some(deadline) = n.host.as_mut().and_then(Host::next_deadline) else {
            return;
        };
        // Armed for when the wake-up will really come: a deadline already due comes now.
        let deadline = deadline.max(now);
        if n.armed.is_some_and(|armed| armed <= deadline) {
            return;
        }
        n.armed = Some(deadline);
        self.schedule(deadline, Ev::Wake(node));
    }

    /// A datagram reaches the far end of its link.
    pub(super) fn arrive(&mut self, now: SimTime, flight: InFlight) {
        let InFlight {
            node,
            link,
            way,
            datagram,
            hint,
            corrupt,
        } = flight;
        if let Some(o) = self.observer.as_mut() {
            let fate = if corrupt {
                SegmentFate::Corrupt
            } else {
                SegmentFate::Delivered
            };
            o.segment(now, &self.links[link.0 as usize].0, way, &datagram, fate);
        }
        if corrupt {
            return;
        }
        match self.nodes[node.0 as usize].host.as_mut() {
            None => self.send(node, datagram, hint, now),
            Some(host) => {
                host.handle_with_hint(&datagram, hint, now);
                self.flush(node, now);
            }
        }
    }

    /// The node a link delivers to in direction `way`.
    pub(super) fn far_end(&self, link: LinkId, way: Way) -> NodeId {
        let (_, _, a, b) = &self.links[link.0 as usize];
        if way == Way::Forward { *b } else { *a }
    }

    /// The front datagram of a lane arrives; the next one's arrival is scheduled.
    pub(super) fn arrive_in_order(&mut self, now: SimTime, link: LinkId, way: Way) {
        let node = self.far_end(link, way);
        let lane = &mut self.lanes[link.0 as usize][way as usize];
        let LaneEntry { datagram, hint, .. } = lane
            .queue
            .pop_front()
            .expect("an arrival event for a lane's front");
        if let Some(front) = lane.queue.front() {
            let next = front.at;
            // The lane's next datagram will likely be handled soon: start loading what
            // it touches now, so the misses overlap this arrival's work.
            let n = &self.nodes[node.0 as usize];
            if let Some(host) = n.host.as_ref()
                && host.prefetch(&front.datagram, front.hint)
            {
                n.owners.prefetch(front.hint);
                for &app in &n.apps {
                    self.apps[app as usize].prefetch(front.hint);
                }
            }
            let ticket = front.ticket;
            self.schedule_with_ticket(next, ticket, Ev::ArriveInOrder(link, way));
        }
        self.arrive(
            now,
            InFlight {
                node,
                link,
                way,
                datagram,
                hint,
                corrupt: false,
            },
        );
    }
}
