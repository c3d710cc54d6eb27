//! Driving the applications: starting them, routing their sockets' events, their timers,
//! servers' put-off closes, and the flooder's SYNs.

use super::spec::AppSpec;
use super::{Ev, World, WorldError};
use crate::app::{App, Client, Peer, Server, spoofed_source};
use crate::topology::NodeId;
use rand_distr::{Distribution, Exp1};
use synack_kernel::queue::QueueFamily;
use synack_kernel::{SimDuration, SimTime};
use synack_tcp::host::{ConnId, Datagram, DemuxHint};
use synack_tcp::{Event, Flags, Segment, Seq};

impl<Q: QueueFamily> World<Q> {
    pub(super) fn start_app(&mut self, index: usize, spec: &AppSpec) -> Result<(), WorldError> {
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

    pub(super) fn dispatch(&mut self, node: NodeId, id: ConnId, event: Event, now: SimTime) {
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
    pub(super) fn close_later(&mut self, app: usize, id: ConnId, mean: SimDuration, now: SimTime) {
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
    pub(super) fn delayed_close(&mut self, now: SimTime, index: u32) {
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

    /// A peer application closes its connection.
    pub(super) fn peer_close(&mut self, now: SimTime, i: usize) {
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
    pub(super) fn open(&mut self, now: SimTime, i: usize) {
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
    pub(super) fn app_timer(&mut self, now: SimTime, i: usize) {
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
    pub(super) fn flood(&mut self, now: SimTime, i: usize) {
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

    pub(super) fn app_node(&self, i: usize) -> NodeId {
        match &self.apps[i] {
            App::Client(c) => c.spec.node,
            App::Server(s) => s.spec.node,
            App::Flooder(f) => f.node,
            App::Peer(p) => p.spec.node,
        }
    }

    pub(super) fn rng_u32(&mut self) -> u32 {
        use rand::Rng;
        self.rng.next_u32()
    }
}
