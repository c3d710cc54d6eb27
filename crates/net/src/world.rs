//! The running network: hosts and routers joined by links, applications, faults, all
//! driven by the kernel's scheduler. A segment's path: a host's TCP layer emits a datagram;
//! the route picks the link; the link's verdict schedules one arrival per delivered copy;
//! at the far end a router forwards it and a host's TCP layer takes it.

use crate::app::{
    App, Client, ClientSpec, FlooderSpec, Peer, PeerSpec, Requests, Server, ServerSpec,
    spoofed_source,
};
use crate::topology::{LinkId, NodeId, Routes};
use rand_distr::{Distribution, Exp1};
use std::collections::BTreeMap;
use synack_kernel::chunked::{Chunked, ChunkedFifo};
use synack_kernel::queue::{QueueFamily, family};
use synack_kernel::{RandomStreams, Scheduler, SimDuration, SimRng, SimTime, Ticket};
use synack_link::{DropCause, Fate, Link, LinkConfig, Packet, Way};
use synack_tcp::host::{
    ConnId, ConnMap, Datagram, DemuxHint, Host, HostConfig, HostCounters, HostOutput,
};
use synack_tcp::{Event, Flags, FourTuple, Segment, Seq, Transition};

/// A node: a host with a TCP layer, or a router that only forwards.
#[derive(Debug, Clone)]
pub struct NodeSpec {
    /// Its name, for traces and summaries.
    pub name: String,
    /// Its IPv4 addresses (routers need none).
    pub addrs: Vec<u32>,
    /// The TCP layer's configuration; `None` for a router.
    pub host: Option<HostConfig>,
}

/// A point-to-point link; forward is `a` to `b`.
#[derive(Debug, Clone)]
pub struct LinkSpec {
    /// Its name, for traces.
    pub name: String,
    /// One end.
    pub a: NodeId,
    /// The other end.
    pub b: NodeId,
    /// Both directions' behaviour.
    pub config: LinkConfig<Datagram>,
}

/// A scripted fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The host loses all state and goes silent.
    Crash(NodeId, SimTime),
    /// The host comes back empty; its servers listen again.
    Reboot(NodeId, SimTime),
}

/// An application to run.
#[derive(Debug, Clone)]
pub enum AppSpec {
    /// A client.
    Client(ClientSpec),
    /// A server.
    Server(ServerSpec),
    /// A SYN flooder.
    Flooder(FlooderSpec),
    /// One side of a peer-to-peer connection.
    Peer(PeerSpec),
}

/// Everything a world is made of.
#[derive(Debug, Clone)]
pub struct WorldSpec {
    /// The run's seed.
    pub seed: u64,
    /// Nodes, indexed by [`NodeId`].
    pub nodes: Vec<NodeSpec>,
    /// Links, indexed by [`LinkId`].
    pub links: Vec<LinkSpec>,
    /// Applications.
    pub apps: Vec<AppSpec>,
    /// Faults.
    pub faults: Vec<Fault>,
}

/// What happened to one copy of a segment on a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegmentFate {
    /// Handed to the link.
    Sent,
    /// Arrived intact.
    Delivered,
    /// Arrived, but failed the checksum.
    Corrupt,
    /// Lost.
    Dropped(DropCause),
    /// The link made an extra copy.
    Duplicated,
}

/// Receives what a run does, as it happens (traces stream from here).
pub trait Observer {
    /// A segment's fate on a link.
    fn segment(
        &mut self,
        at: SimTime,
        link: &str,
        way: Way,
        datagram: &Datagram,
        fate: SegmentFate,
    );
    /// A connection's state change.
    fn transition(&mut self, node: &str, tuple: &FourTuple, transition: &Transition);
    /// The run is over: put the output in place.
    fn finish(self: Box<Self>) -> std::io::Result<()> {
        Ok(())
    }
}

/// A scheduled event. Kept to 8 bytes, so the scheduler's queue moves little: a datagram on
/// its way waits in its link direction's lane, or in the `in_flight` table when it overtakes
/// or is overtaken, and the event says where.
#[derive(Debug, Clone, Copy)]
enum Ev {
    /// The front of a lane arrives; the lane's next arrival is scheduled then.
    ArriveInOrder(LinkId, Way),
    /// The `in_flight` entry arrives.
    Arrive(u32),
    Wake(NodeId),
    Open(u32),
    AppTimer(u32),
    Flood(u32),
    Fault(u32),
    PeerClose(u32),
    /// The `delayed_closes` entry's server closes its connection.
    DelayedClose(u32),
}

/// A datagram on a link, to be handed to `node` when its arrival event fires.
#[derive(Debug, Clone, Copy)]
struct InFlight {
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
struct Lane {
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
struct LaneEntry {
    at: SimTime,
    /// The datagram's rank among events due at `at`: taken when it was sent.
    ticket: Ticket,
    datagram: Datagram,
    hint: DemuxHint,
}

struct Node {
    name: String,
    host: Option<Host>,
    armed: Option<SimTime>,
    /// Which application owns each connection.
    owners: ConnMap<u32>,
    /// The applications on this node, by index.
    apps: Vec<u32>,
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct Summary {
    /// Simulated time at the end.
    pub end: SimTime,
    /// Kernel events processed.
    pub events: u64,
    /// Datagrams with no route (SYN-ACKs to spoofed sources, say).
    pub unroutable: u64,
    /// Simultaneous opens seen (SYN-SENT to SYN-RECEIVED).
    pub simultaneous_opens: u64,
    /// Simultaneous closes seen (FIN-WAIT-1 to CLOSING).
    pub simultaneous_closes: u64,
    /// Each host's counters, by node name.
    pub hosts: Vec<(String, HostCounters)>,
    /// Each host's sockets by state at the end ([`Host::census`]), by node name.
    pub sockets: Vec<(String, Vec<(synack_tcp::State, u64)>)>,
    /// Each application, by index.
    pub apps: Vec<AppSummary>,
    /// The host of each application, by index.
    pub app_hosts: Vec<String>,
}

impl Summary {
    /// The first client's statistics, if the run had a client.
    pub fn first_client(&self) -> Option<&crate::app::ClientStats> {
        self.apps.iter().find_map(|a| match a {
            AppSummary::Client(c) => Some(c),
            _ => None,
        })
    }

    /// The first server's statistics, if the run had a server.
    pub fn first_server(&self) -> Option<&crate::app::ServerStats> {
        self.apps.iter().find_map(|a| match a {
            AppSummary::Server(s) => Some(s),
            _ => None,
        })
    }

    /// The TCP counters of the host named `node`.
    pub fn host(&self, node: &str) -> Option<&HostCounters> {
        self.hosts
            .iter()
            .find(|(name, _)| name == node)
            .map(|(_, c)| c)
    }
}

/// One application's results.
#[derive(Debug, Clone)]
pub enum AppSummary {
    /// A client's.
    Client(crate::app::ClientStats),
    /// A server's.
    Server(crate::app::ServerStats),
    /// A flooder's SYNs sent.
    Flooder(u64),
    /// A peer's.
    Peer(crate::app::PeerStats),
}

/// A network being simulated, on the event queue of family `Q` (the timing wheel unless
/// chosen: the results never depend on it, as same-time events run by a model rule; see
/// [`Lane`]).
pub struct World<Q: QueueFamily = family::Wheel> {
    scheduler: Scheduler<Ev, Q::Queue<Ev>>,
    nodes: Vec<Node>,
    links: Vec<(String, Link<Datagram>, NodeId, NodeId)>,
    routes: Routes,
    apps: Vec<App>,
    faults: Vec<Fault>,
    rng: SimRng,
    flooded: BTreeMap<usize, u64>,
    unroutable: u64,
    simultaneous: (u64, u64),
    observer: Option<Box<dyn Observer>>,
    /// Every address and its node.
    addrs: Vec<(u32, NodeId)>,
    /// An empty host output, swapped with a host's to take what it produced.
    spare_output: HostOutput,
    /// Empty application requests, taken and put back, so no event allocates for them.
    spare_requests: Requests,
    /// Datagrams on links, by [`Ev::Arrive`] index; `free_flights` lists reusable entries.
    in_flight: Chunked<InFlight>,
    free_flights: Vec<u32>,
    /// Servers' put-off closes (the server's index and the connection), by
    /// [`Ev::DelayedClose`] index; `free_delayed_closes` lists reusable entries.
    delayed_closes: Vec<(u32, ConnId)>,
    free_delayed_closes: Vec<u32>,
    /// Each link's lanes, forward and backward.
    lanes: Vec<[Lane; 2]>,
}

/// Size on the wire: IPv4 and TCP headers, options, payload.
fn wire_size(segment: &Segment) -> u32 {
    let options = if segment.mss.is_some() { 4 } else { 0 }
        + if segment.timestamps.is_some() { 12 } else { 0 };
    20 + 20 + options + segment.len
}

/// A bad world: a name and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct WorldError(pub String);

impl World {
    /// Builds a world on the timing wheel; configuration errors name the node, link or
    /// application.
    pub fn new(spec: WorldSpec) -> Result<Self, WorldError> {
        Self::with_queue(spec)
    }
}

impl<Q: QueueFamily> World<Q> {
    /// Builds a world on the event queue of family `Q`.
    pub fn with_queue(spec: WorldSpec) -> Result<Self, WorldError> {
        let streams = RandomStreams::new(spec.seed);
        let mut nodes = Vec::new();
        for (i, n) in spec.nodes.iter().enumerate() {
            let host = match &n.host {
                Some(config) => Some(
                    Host::new(
                        config.clone(),
                        n.addrs.clone(),
                        &streams,
                        &n.name,
                        (i as u32) << 24,
                    )
                    .map_err(|e| WorldError(format!("node {}: {e}", n.name)))?,
                ),
                None => None,
            };
            nodes.push(Node {
                name: n.name.clone(),
                host,
                armed: None,
                owners: ConnMap::default(),
                apps: Vec::new(),
            });
        }
        let mut links = Vec::new();
        for l in &spec.links {
            for end in [l.a, l.b] {
                if end.0 as usize >= nodes.len() {
                    return Err(WorldError(format!("link {}: no node {}", l.name, end.0)));
                }
            }
            let link = Link::new(&l.config, &streams, &format!("link/{}", l.name))
                .map_err(|e| WorldError(format!("link {}: {e}", l.name)))?;
            links.push((l.name.clone(), link, l.a, l.b));
        }
        let ends: Vec<(NodeId, NodeId)> = spec.links.iter().map(|l| (l.a, l.b)).collect();
        let addrs: Vec<(u32, NodeId)> = spec
            .nodes
            .iter()
            .enumerate()
            .flat_map(|(i, n)| n.addrs.iter().map(move |&a| (a, NodeId(i as u32))))
            .collect();
        let routes = Routes::compute(nodes.len(), &ends, &addrs);
        let mut world = World {
            scheduler: Scheduler::new(),
            nodes,
            links,
            routes,
            apps: Vec::new(),
            faults: spec.faults.clone(),
            rng: streams.stream("apps"),
            flooded: BTreeMap::new(),
            unroutable: 0,
            simultaneous: (0, 0),
            observer: None,
            addrs,
            spare_output: HostOutput::default(),
            spare_requests: Default::default(),
            in_flight: Chunked::default(),
            free_flights: Vec::new(),
            delayed_closes: Vec::new(),
            free_delayed_closes: Vec::new(),
            lanes: (0..spec.links.len()).map(|_| Default::default()).collect(),
        };
        for (i, app) in spec.apps.iter().enumerate() {
            world.start_app(i, app)?;
        }
        for (i, fault) in spec.faults.iter().enumerate() {
            let at = match *fault {
                Fault::Crash(_, at) | Fault::Reboot(_, at) => at,
            };
            world.schedule(at, Ev::Fault(i as u32));
        }
        Ok(world)
    }

    /// The two hosts of a point-to-point world (name, first address), for diagrams; or why
    /// the world is not one (one link between two hosts, and nothing else).
    pub fn point_to_point_hosts(&self) -> Result<[(String, u32); 2], String> {
        let names = |ids: &mut dyn Iterator<Item = String>| ids.collect::<Vec<_>>().join(", ");
        if self.links.len() != 1 {
            return Err(format!(
                "has {} links ({})",
                self.links.len(),
                names(&mut self.links.iter().map(|l| l.0.clone()))
            ));
        }
        if self.nodes.len() != 2 {
            return Err(format!(
                "has {} nodes ({})",
                self.nodes.len(),
                names(&mut self.nodes.iter().map(|n| n.name.clone()))
            ));
        }
        let (_, _, a, b) = &self.links[0];
        let end = |id: &NodeId| {
            let n = &self.nodes[id.0 as usize];
            n.host
                .as_ref()
                .and_then(|_| self.addr_of(*id))
                .map(|addr| (n.name.clone(), addr))
                .ok_or_else(|| format!("has node {}, which is not a host", n.name))
        };
        Ok([end(a)?, end(b)?])
    }

    /// The links' names, in the order they were built.
    pub fn link_names(&self) -> Vec<String> {
        self.links.iter().map(|l| l.0.clone()).collect()
    }

    fn addr_of(&self, node: NodeId) -> Option<u32> {
        self.addrs.iter().find(|(_, n)| *n == node).map(|(a, _)| *a)
    }

    /// Streams segment fates and transitions to `observer`.
    pub fn observe(&mut self, observer: Box<dyn Observer>) {
        self.observer = Some(observer);
    }

    /// Ends the observation started by [`World::observe`], letting the observer put its
    /// output in place.
    pub fn finish_observing(&mut self) -> std::io::Result<()> {
        self.observer.take().map_or(Ok(()), |o| o.finish())
    }

    fn schedule(&mut self, at: SimTime, ev: Ev) {
        let at = at.max(self.scheduler.now());
        self.scheduler
            .schedule_at(at, ev)
            .expect("times are at or after now");
    }

    /// Schedules a datagram's arrival with the rank it took when it was sent.
    fn schedule_with_ticket(&mut self, at: SimTime, ticket: Ticket, ev: Ev) {
        self.scheduler
            .schedule_with_ticket(at, ticket, ev)
            .expect("a lane's next arrival ranks after the one being handled");
    }

    fn host(&mut self, node: NodeId) -> Result<&mut Host, WorldError> {
        let n = self
            .nodes
            .get_mut(node.0 as usize)
            .ok_or_else(|| WorldError(format!("no node {}", node.0)))?;
        let name = n.name.clone();
        n.host
            .as_mut()
            .ok_or_else(|| WorldError(format!("node {name} is a router: applications need a host")))
    }

    fn start_app(&mut self, index: usize, spec: &AppSpec) -> Result<(), WorldError> {
        match spec {
            AppSpec::Client(c) => {
                self.host(c.node)?;
                let mut client = Client::new(c.clone());
                if let Some(t) = client.start(&mut self.rng) {
                    self.schedule(t, Ev::Open(index as u32));
                }
                self.apps.push(App::Client(client));
            }
            AppSpec::Server(s) => {
                let mut server = Server::new(s.clone());
                let node = s.node;
                server
                    .start(self.host(node)?)
                    .map_err(|e| WorldError(format!("server on port {}: {e}", s.port)))?;
                self.apps.push(App::Server(server));
            }
            AppSpec::Flooder(f) => {
                if f.per_second <= 0.0 || !f.per_second.is_finite() {
                    return Err(WorldError(format!(
                        "flooder: per_second must be > 0, got {}",
                        f.per_second
                    )));
                }
                self.schedule(f.start, Ev::Flood(index as u32));
                self.apps.push(App::Flooder(f.clone()));
            }
            AppSpec::Peer(p) => {
                self.host(p.node)?;
                if p.close_at < p.open_at {
                    return Err(WorldError(format!(
                        "peer: close_at ({}) is before open_at ({})",
                        p.close_at, p.open_at
                    )));
                }
                self.schedule(p.open_at, Ev::Open(index as u32));
                self.schedule(p.close_at, Ev::PeerClose(index as u32));
                self.apps.push(App::Peer(Peer::new(p.clone())));
            }
        }
        let node = self.app_node(index);
        self.nodes[node.0 as usize].apps.push(index as u32);
        Ok(())
    }

    /// Sends a datagram from `node` toward its destination.
    fn send(&mut self, node: NodeId, datagram: Datagram, hint: DemuxHint, now: SimTime) {
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
    fn flush(&mut self, node: NodeId, now: SimTime) {
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
            for (d, hint) in output.datagrams.drain(..).zip(output.hints.drain(..)) {
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

    fn dispatch(&mut self, node: NodeId, id: ConnId, event: Event, now: SimTime) {
        let n = &mut self.nodes[node.0 as usize];
        let owner = n.owners.get(id).map(|&i| i as usize);
        let host = n.host.as_mut().expect("hosts only");
        let mut accepted = None;
        let mut close_later = None;
        match owner.map(|i| &mut self.apps[i]) {
            Some(App::Client(c)) => c.on_event(host, id, event, now),
            Some(App::Server(s)) => {
                close_later = s
                    .on_event(host, id, event, now)
                    .then_some(s.spec.close_delay_mean);
            }
            Some(App::Peer(p)) => p.on_event(host, id, event, now),
            Some(App::Flooder(_)) => {}
            None if event == Event::Connected => {
                // A passive connection reached an accept queue: its server may accept it.
                let mut requests = std::mem::take(&mut self.spare_requests);
                for &i in &n.apps {
                    if let App::Server(s) = &mut self.apps[i as usize] {
                        let from = requests.timers.len();
                        s.accept_ready(host, now, false, &mut requests);
                        for owned in requests.owned.drain(..) {
                            n.owners.insert(owned, i);
                        }
                        // Tagged with the server's index, for `Ev::AppTimer`.
                        for (_, tag) in &mut requests.timers[from..] {
                            *tag = u64::from(i);
                        }
                    }
                }
                accepted = Some(requests);
            }
            None => {}
        }
        if matches!(
            event,
            Event::Closed | Event::Failed(_) | Event::ReturnedToListen
        ) {
            n.owners.remove(id);
        }
        if let (Some(mean), Some(app)) = (close_later, owner) {
            self.close_later(app, id, mean, now);
        }
        if let Some(mut requests) = accepted {
            for (t, app) in requests.timers.drain(..) {
                self.schedule(t, Ev::AppTimer(app as u32));
            }
            self.spare_requests = requests;
        }
    }

    /// Schedules server `app`'s close of `id` after an exponential delay of mean `mean`.
    fn close_later(&mut self, app: usize, id: ConnId, mean: SimDuration, now: SimTime) {
        let gap: f64 = Exp1.sample(&mut self.rng);
        let at = now.saturating_add(SimDuration::saturating_from_secs_f64(
            gap * mean.as_secs_f64(),
        ));
        let entry = (app as u32, id);
        let index = match self.free_delayed_closes.pop() {
            Some(index) => {
                self.delayed_closes[index as usize] = entry;
                index
            }
            None => {
                self.delayed_closes.push(entry);
                (self.delayed_closes.len() - 1) as u32
            }
        };
        self.schedule(at, Ev::DelayedClose(index));
    }

    /// A server's put-off close comes due.
    fn delayed_close(&mut self, now: SimTime, index: u32) {
        self.free_delayed_closes.push(index);
        let (app, id) = self.delayed_closes[index as usize];
        let App::Server(s) = &mut self.apps[app as usize] else {
            return;
        };
        let node = s.spec.node;
        let host = self.nodes[node.0 as usize]
            .host
            .as_mut()
            .expect("checked at start");
        s.close_now(host, id, now);
        self.flush(node, now);
    }

    /// A datagram reaches the far end of its link.
    fn arrive(&mut self, now: SimTime, flight: InFlight) {
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
    fn far_end(&self, link: LinkId, way: Way) -> NodeId {
        let (_, _, a, b) = &self.links[link.0 as usize];
        if way == Way::Forward { *b } else { *a }
    }

    fn handle(&mut self, now: SimTime, ev: Ev) {
        match ev {
            Ev::ArriveInOrder(link, way) => self.arrive_in_order(now, link, way),
            Ev::Arrive(index) => {
                self.free_flights.push(index);
                let flight = self.in_flight[index];
                self.arrive(now, flight);
            }
            Ev::Wake(node) => self.wake(now, node),
            Ev::PeerClose(i) => self.peer_close(now, i as usize),
            Ev::Open(i) => self.open(now, i as usize),
            Ev::AppTimer(i) => self.app_timer(now, i as usize),
            Ev::Flood(i) => self.flood(now, i as usize),
            Ev::Fault(i) => self.fault(self.faults[i as usize]),
            Ev::DelayedClose(index) => self.delayed_close(now, index),
        }
    }

    /// The front datagram of a lane arrives; the next one's arrival is scheduled.
    fn arrive_in_order(&mut self, now: SimTime, link: LinkId, way: Way) {
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

    /// A node's TCP wake-up.
    fn wake(&mut self, now: SimTime, node: NodeId) {
        let n = &mut self.nodes[node.0 as usize];
        // A wake-up superseded by an earlier one: the node is armed for another
        // time, or was woken already. Acting on it would arm a second wake-up for
        // the same deadline, and such duplicates would never drain.
        if n.armed != Some(now) {
            return;
        }
        n.armed = None;
        if let Some(host) = n.host.as_mut() {
            host.on_timeout(now);
        }
        self.flush(node, now);
    }

    /// A peer application closes its connection.
    fn peer_close(&mut self, now: SimTime, i: usize) {
        let App::Peer(p) = &mut self.apps[i] else {
            return;
        };
        let node = p.spec.node;
        p.close(
            self.nodes[node.0 as usize]
                .host
                .as_mut()
                .expect("checked at start"),
            now,
        );
        self.flush(node, now);
    }

    /// A client or peer application opens a connection.
    fn open(&mut self, now: SimTime, i: usize) {
        // The next open is queued first, so it keeps its place ahead of whatever
        // this one schedules for the same instant.
        if let App::Client(c) = &mut self.apps[i]
            && let Some(t) = c.next_open()
        {
            self.schedule(t, Ev::Open(i as u32));
        }
        let node = self.app_node(i);
        let n = &mut self.nodes[node.0 as usize];
        let host = n.host.as_mut().expect("checked at start");
        let requests = &mut self.spare_requests;
        match &mut self.apps[i] {
            App::Client(c) => c.open(host, now, requests),
            App::Peer(p) => p.open(host, now, requests),
            _ => return,
        }
        // Opening asks for no timers (only accepting paces itself).
        debug_assert!(requests.timers.is_empty());
        requests.timers.clear();
        for id in requests.owned.drain(..) {
            n.owners.insert(id, i as u32);
        }
        self.flush(node, now);
    }

    /// A server application's accept pacing.
    fn app_timer(&mut self, now: SimTime, i: usize) {
        let App::Server(s) = &mut self.apps[i] else {
            return;
        };
        let node = s.spec.node;
        let n = &mut self.nodes[node.0 as usize];
        let mut requests = std::mem::take(&mut self.spare_requests);
        s.accept_ready(
            n.host.as_mut().expect("checked at start"),
            now,
            true,
            &mut requests,
        );
        for id in requests.owned.drain(..) {
            n.owners.insert(id, i as u32);
        }
        for (t, _) in requests.timers.drain(..) {
            self.schedule(t, Ev::AppTimer(i as u32));
        }
        self.spare_requests = requests;
        self.flush(node, now);
    }

    /// A flooder sends a SYN.
    fn flood(&mut self, now: SimTime, i: usize) {
        let App::Flooder(f) = &self.apps[i] else {
            return;
        };
        let f = f.clone();
        if now >= f.stop {
            return;
        }
        let (src, port) = spoofed_source(&f, &mut self.rng);
        let mut syn = Segment::new(port, f.target_port, Seq(self.rng_u32()), Seq(0), Flags::SYN);
        syn.window = 65535;
        syn.mss = Some(1460);
        let syn = Datagram::new(src, f.target_addr, syn);
        self.send(f.node, syn, DemuxHint::NONE, now);
        *self.flooded.entry(i).or_default() += 1;
        let mean = 1.0 / f.per_second;
        let gap = if f.poisson {
            use rand::RngExt;
            rand_distr::Exp::new(f.per_second)
                .map(|exp| self.rng.sample(exp))
                .unwrap_or(mean)
        } else {
            mean
        };
        let gap = SimDuration::saturating_from_secs_f64(gap);
        self.schedule(now.saturating_add(gap), Ev::Flood(i as u32));
    }

    /// A host crashes or reboots.
    fn fault(&mut self, fault: Fault) {
        match fault {
            Fault::Crash(node, at) => {
                let n = &mut self.nodes[node.0 as usize];
                if let Some(host) = n.host.as_mut() {
                    host.crash(at);
                }
                n.owners.clear();
                n.armed = None;
                // The crash's transitions, to the observer (no datagram, no event).
                self.flush(node, at);
            }
            Fault::Reboot(node, _) => {
                let n = &mut self.nodes[node.0 as usize];
                if let Some(host) = n.host.as_mut() {
                    host.reboot();
                    for app in self.apps.iter_mut() {
                        if let App::Server(s) = app
                            && s.spec.node == node
                        {
                            let _ = s.start(host);
                        }
                    }
                }
            }
        }
    }

    fn app_node(&self, i: usize) -> NodeId {
        match &self.apps[i] {
            App::Client(c) => c.spec.node,
            App::Server(s) => s.spec.node,
            App::Flooder(f) => f.node,
            App::Peer(p) => p.spec.node,
        }
    }

    fn rng_u32(&mut self) -> u32 {
        use rand::Rng;
        self.rng.next_u32()
    }

    /// Runs until nothing is left to do; the summary's `end` is the last event's time.
    pub fn run(&mut self) -> Summary {
        while let Some((now, ev)) = self.scheduler.step() {
            self.handle(now, ev);
        }
        self.summary()
    }

    /// Runs until `until` (or until nothing is left to do); returns the summary.
    pub fn run_until(&mut self, until: SimTime) -> Summary {
        while let Some((now, ev)) = self.scheduler.step_until(until) {
            self.handle(now, ev);
        }
        self.scheduler
            .run_until(until, |_, _| {})
            .expect("until is not in the past");
        self.summary()
    }

    /// Events scheduled and not yet run: one for each link direction with datagrams on
    /// their way in order, plus timers, opens and wake-ups.
    pub fn pending_events(&self) -> usize {
        self.scheduler.pending()
    }

    /// The results so far.
    pub fn summary(&self) -> Summary {
        Summary {
            end: self.scheduler.now(),
            events: self.scheduler.events_processed(),
            unroutable: self.unroutable,
            simultaneous_opens: self.simultaneous.0,
            simultaneous_closes: self.simultaneous.1,
            hosts: self
                .nodes
                .iter()
                .filter_map(|n| n.host.as_ref().map(|h| (n.name.clone(), h.counters())))
                .collect(),
            sockets: self
                .nodes
                .iter()
                .filter_map(|n| n.host.as_ref().map(|h| (n.name.clone(), h.census())))
                .collect(),
            app_hosts: self
                .apps
                .iter()
                .map(|a| self.nodes[a.node().0 as usize].name.clone())
                .collect(),
            apps: self
                .apps
                .iter()
                .enumerate()
                .map(|(i, a)| match a {
                    App::Client(c) => AppSummary::Client(c.stats_now()),
                    App::Server(s) => AppSummary::Server(s.stats),
                    App::Flooder(_) => {
                        AppSummary::Flooder(self.flooded.get(&i).copied().unwrap_or(0))
                    }
                    App::Peer(p) => AppSummary::Peer(p.stats),
                })
                .collect(),
        }
    }
}
