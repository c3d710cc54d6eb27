//! The running network: hosts and routers joined by links, applications, faults, all
//! driven by the kernel's scheduler. A segment's path: a host's TCP layer emits a datagram;
//! the route picks the link; the link's verdict schedules one arrival per delivered copy;
//! at the far end a router forwards it and a host's TCP layer takes it.

mod apps;
mod observe;
mod spec;
mod transport;

pub use observe::{Observer, SegmentFate};
pub use spec::{AppSpec, AppSummary, Fault, LinkSpec, NodeSpec, Summary, WorldSpec};
use transport::{InFlight, Lane};

use crate::app::{App, Requests};
use crate::topology::{LinkId, NodeId, Routes};
use std::collections::BTreeMap;
use synack_kernel::chunked::Chunked;
use synack_kernel::queue::{QueueFamily, family};
use synack_kernel::{RandomStreams, Scheduler, SimRng, SimTime, Ticket};
use synack_link::{Link, Way};
use synack_tcp::host::{ConnId, ConnMap, Datagram, Host, HostOutput};

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

struct Node {
    name: String,
    host: Option<Host>,
    armed: Option<SimTime>,
    /// Which application owns each connection.
    owners: ConnMap<u32>,
    /// The applications on this node, by index.
    apps: Vec<u32>,
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
