//! The world a scenario describes: its topology's nodes and links, applications and faults.

use super::schema::*;
use super::units::*;
use super::{ScenarioError, bad};
use crate::app::{ClientClose, ClientSpec, FlooderSpec, RequestOn, ServerClose, ServerSpec};
use crate::topology::NodeId;
use crate::{AppSpec, Fault, LinkSpec, NodeSpec, WorldSpec};
use synack_kernel::{SimDuration, SimTime};
use synack_link::LinkConfig;
use synack_tcp::host::HostConfig;

struct Built {
    nodes: Vec<NodeSpec>,
    links: Vec<LinkSpec>,
}

impl Built {
    fn node(&self, name: &str, field: &str) -> Result<NodeId, ScenarioError> {
        self.nodes
            .iter()
            .position(|n| n.name == name)
            .map(|i| NodeId(i as u32))
            .ok_or_else(|| {
                bad(
                    field,
                    format!(
                        "no host {name:?}; the hosts are {}",
                        self.nodes
                            .iter()
                            .filter(|n| n.host.is_some())
                            .map(|n| n.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            })
    }

    fn addr(&self, id: NodeId) -> u32 {
        self.nodes[id.0 as usize].addrs[0]
    }
}

impl Scenario {
    /// The world this scenario describes.
    /// The world this scenario describes: its topology, then its applications, then its
    /// faults, each checked and named by field.
    pub fn world(&self) -> Result<WorldSpec, ScenarioError> {
        let duration = self.duration()?;
        let mut built = self.topology()?;
        let mut apps = self.server_apps(&built)?;
        apps.extend(self.client_apps(&built)?);
        apps.extend(self.flooder_apps(&built, duration)?);
        apps.extend(self.peer_apps(&built)?);
        let faults = self.faults(&mut built)?;
        Ok(WorldSpec {
            seed: self.seed,
            nodes: built.nodes,
            links: built.links,
            apps,
            faults,
        })
    }

    /// The nodes and links of `topology`, and an attacker beside the servers if there are
    /// flooders.
    fn topology(&self) -> Result<Built, ScenarioError> {
        let direction = self.link.config()?;
        let link_config = LinkConfig::symmetric(direction);
        let client = self.client_tcp.config("client_tcp")?;
        let server = self.server_tcp.config("server_tcp")?;
        let host = |name: String, addr: u32, config: &HostConfig| NodeSpec {
            name,
            addrs: vec![addr],
            host: Some(config.clone()),
        };
        let router = |name: &str| NodeSpec {
            name: name.into(),
            addrs: vec![],
            host: None,
        };
        let mut nodes = Vec::new();
        let mut links = Vec::new();
        let link = |name: String, a: usize, b: usize| LinkSpec {
            name,
            a: NodeId(a as u32),
            b: NodeId(b as u32),
            config: link_config.clone(),
        };
        let (clients, servers) = (self.topology.clients, self.topology.servers);
        if clients == 0 || servers == 0 {
            return Err(bad("topology", "needs at least one client and one server"));
        }
        let client_addr = |i: u32| 0x0a00_0001 + i;
        let server_addr = |j: u32| 0x0a00_0101 + j;
        let server_side = match self.topology.kind.as_str() {
            "point-to-point" => {
                if clients != 1 || servers != 1 {
                    return Err(bad(
                        "topology.kind",
                        "point-to-point has one client and one server; use star or dumbbell",
                    ));
                }
                nodes.push(host("client0".into(), client_addr(0), &client));
                nodes.push(host("server0".into(), server_addr(0), &server));
                links.push(link("link0".into(), 0, 1));
                1
            }
            "star" => {
                nodes.push(router("router"));
                for i in 0..clients {
                    nodes.push(host(format!("client{i}"), client_addr(i), &client));
                    links.push(link(format!("client{i}"), nodes.len() - 1, 0));
                }
                for j in 0..servers {
                    nodes.push(host(format!("server{j}"), server_addr(j), &server));
                    links.push(link(format!("server{j}"), 0, nodes.len() - 1));
                }
                0
            }
            "dumbbell" => {
                nodes.push(router("left"));
                nodes.push(router("right"));
                links.push(link("bottleneck".into(), 0, 1));
                for i in 0..clients {
                    nodes.push(host(format!("client{i}"), client_addr(i), &client));
                    links.push(link(format!("client{i}"), nodes.len() - 1, 0));
                }
                for j in 0..servers {
                    nodes.push(host(format!("server{j}"), server_addr(j), &server));
                    links.push(link(format!("server{j}"), 1, nodes.len() - 1));
                }
                1
            }
            other => {
                return Err(bad(
                    "topology.kind",
                    format!("expected point-to-point, star or dumbbell, got {other:?}"),
                ));
            }
        };
        if !self.flooders.is_empty() {
            nodes.push(host("attacker".into(), 0x0a00_0201, &server));
            links.push(link("attacker".into(), nodes.len() - 1, server_side));
        }
        Ok(Built { nodes, links })
    }

    fn server_apps(&self, built: &Built) -> Result<Vec<AppSpec>, ScenarioError> {
        let mut apps = Vec::new();
        for (k, s) in self.servers.iter().enumerate() {
            let f = |x: &str| format!("servers[{k}].{x}");
            if s.port == 0 {
                return Err(bad(&f("port"), "must be a port 1-65535"));
            }
            let close = choice(
                &f("close"),
                &s.close,
                &[
                    ("after-response", ServerClose::AfterResponse),
                    ("wait-for-client", ServerClose::WaitForClient),
                    ("never", ServerClose::Never),
                ],
            )?;
            if s.backlog == 0 {
                return Err(bad(&f("backlog"), "must be at least 1"));
            }
            let close_delay_mean = millis(&f("close_delay_ms"), s.close_delay_ms)?;
            if close_delay_mean > SimDuration::ZERO && close != ServerClose::WaitForClient {
                return Err(bad(
                    &f("close_delay_ms"),
                    format!(
                        "applies only to close = \"wait-for-client\" (0 otherwise), got {} ms with close = \"{}\"",
                        s.close_delay_ms, s.close
                    ),
                ));
            }
            apps.push(AppSpec::Server(ServerSpec {
                node: built.node(&s.host, &f("host"))?,
                port: s.port,
                backlog: s.backlog,
                accept_interval: millis(&f("accept_interval_ms"), s.accept_interval_ms)?,
                request_bytes: s.request_bytes,
                response_bytes: s.response_bytes,
                close,
                close_delay_mean,
            }));
        }
        Ok(apps)
    }

    fn client_apps(&self, built: &Built) -> Result<Vec<AppSpec>, ScenarioError> {
        let clients = self.topology.clients;
        let mut apps = Vec::new();
        for (k, c) in self.clients.iter().enumerate() {
            let f = |x: &str| format!("clients[{k}].{x}");
            let close = choice(
                &f("close"),
                &c.close,
                &[
                    ("active", ClientClose::Active),
                    ("passive", ClientClose::Passive),
                    ("linger-zero", ClientClose::LingerZero),
                ],
            )?;
            let schedule = client_schedule(&c.schedule, &f)?;
            self.check_within_run(&f("schedule"), &c.schedule)?;
            if c.port == 0 {
                return Err(bad(&f("port"), "must be a port 1-65535"));
            }
            if c.host.as_deref() == Some(c.server.as_str()) {
                return Err(bad(
                    &f("server"),
                    format!("is the client's own host {:?}; name another host", c.server),
                ));
            }
            if c.requests_per_connection == 0 {
                return Err(bad(&f("requests_per_connection"), "must be at least 1"));
            }
            if c.source_port == Some(0) {
                return Err(bad(&f("source_port"), "must be a port 1-65535, or unset"));
            }
            let request_on = choice(
                &f("request_on"),
                &c.request_on,
                &[
                    ("own-segment", RequestOn::OwnSegment),
                    ("third-segment", RequestOn::ThirdSegment),
                    ("syn", RequestOn::Syn),
                ],
            )?;
            if request_on == RequestOn::Syn && c.source_port.is_some() {
                return Err(bad(
                    &f("request_on"),
                    "\"syn\" needs an ephemeral port: unset source_port",
                ));
            }
            self.check_sizes_match(k, c)?;
            let server = built.node(&c.server, &f("server"))?;
            let hosts: Vec<NodeId> = match &c.host {
                Some(h) => vec![built.node(h, &f("host"))?],
                None => (0..clients)
                    .map(|i| built.node(&format!("client{i}"), &f("host")))
                    .collect::<Result<_, _>>()?,
            };
            for node in hosts {
                apps.push(AppSpec::Client(ClientSpec {
                    node,
                    server_addr: built.addr(server),
                    server_port: c.port,
                    schedule: schedule.clone(),
                    request_bytes: c.request_bytes,
                    request_on,
                    response_bytes: c.response_bytes,
                    requests_per_connection: c.requests_per_connection,
                    close,
                    half_close: c.half_close,
                    source_port: c.source_port,
                    rotate_addresses: false,
                }));
            }
        }
        Ok(apps)
    }

    /// A connection scheduled after the run ends is a mistake.
    fn check_within_run(&self, field: &str, sched: &ScheduleSection) -> Result<(), ScenarioError> {
        let late = |name: &str, t: f64| {
            bad(
                &format!("{field}.{name}"),
                format!(
                    "{t} s is after the run ends (duration_s = {} s)",
                    self.duration_s
                ),
            )
        };
        let times = sched.times_s.as_deref().unwrap_or_default();
        match (times.iter().find(|&&t| t > self.duration_s), sched.start_s) {
            (Some(&t), _) => Err(late("times_s", t)),
            (None, Some(start)) if start > self.duration_s => Err(late("start_s", start)),
            _ => Ok(()),
        }
    }

    /// The server reads a fixed request size: a mismatch would hang every connection.
    fn check_sizes_match(&self, k: usize, c: &ClientSection) -> Result<(), ScenarioError> {
        let f = |x: &str| format!("clients[{k}].{x}");
        if let Some((j, s)) = self
            .servers
            .iter()
            .enumerate()
            .find(|(_, s)| s.host == c.server && s.port == c.port)
        {
            for (field, ours, theirs) in [
                ("request_bytes", c.request_bytes, s.request_bytes),
                ("response_bytes", c.response_bytes, s.response_bytes),
            ] {
                if ours != theirs {
                    return Err(bad(
                        &f(field),
                        format!(
                            "is {ours} but servers[{j}].{field} is {theirs}; set both to the same size"
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    fn flooder_apps(
        &self,
        built: &Built,
        duration: SimTime,
    ) -> Result<Vec<AppSpec>, ScenarioError> {
        let mut apps = Vec::new();
        for (k, fl) in self.flooders.iter().enumerate() {
            let f = |x: &str| format!("flooders[{k}].{x}");
            if fl.port == 0 {
                return Err(bad(&f("port"), "must be a port 1-65535"));
            }
            let target = built.node(&fl.target, &f("target"))?;
            per_second(&f("per_second"), fl.per_second)?;
            if let Some(stop) = fl.stop_s
                && stop < fl.start_s
            {
                return Err(bad(
                    &f("stop_s"),
                    format!(
                        "must not come before start_s ({} s), got {stop} s",
                        fl.start_s
                    ),
                ));
            }
            apps.push(AppSpec::Flooder(FlooderSpec {
                node: built.node("attacker", &f("target"))?,
                target_addr: built.addr(target),
                target_port: fl.port,
                per_second: fl.per_second,
                start: at(&f("start_s"), fl.start_s)?,
                stop: match fl.stop_s {
                    Some(s) => at(&f("stop_s"), s)?,
                    None => duration,
                },
                spoof_base: 0xac10_0000,
                spoof_count: fl.spoofed_sources.max(1),
                poisson: choice(
                    &f("arrivals"),
                    &fl.arrivals,
                    &[("constant", false), ("poisson", true)],
                )?,
            }));
        }
        Ok(apps)
    }

    fn peer_apps(&self, built: &Built) -> Result<Vec<AppSpec>, ScenarioError> {
        let mut apps = Vec::new();
        for (k, p) in self.peers.iter().enumerate() {
            let f = |x: &str| format!("peers[{k}].{x}");
            if p.ports.contains(&0) {
                return Err(bad(&f("ports"), "must be two ports 1-65535"));
            }
            let ends = [built.node(&p.a, &f("a"))?, built.node(&p.b, &f("b"))?];
            if ends[0] == ends[1] {
                return Err(bad(
                    &f("b"),
                    format!("is the same host as a ({:?}): a pair needs two hosts", p.a),
                ));
            }
            for side in 0..2 {
                apps.push(AppSpec::Peer(crate::app::PeerSpec {
                    node: ends[side],
                    local_port: p.ports[side],
                    peer_addr: built.addr(ends[1 - side]),
                    peer_port: p.ports[1 - side],
                    open_at: at(&f("open_s"), p.open_s[side])?,
                    close_at: at(&f("close_s"), p.close_s[side])?,
                }));
            }
        }
        Ok(apps)
    }

    /// The faults; a black hole goes into its link's configuration. A reboot must follow a
    /// crash of its host (a reboot of a running host would do nothing).
    fn faults(&self, built: &mut Built) -> Result<Vec<Fault>, ScenarioError> {
        let mut order: Vec<usize> = (0..self.faults.len()).collect();
        order.sort_by(|&i, &j| self.faults[i].at_s.total_cmp(&self.faults[j].at_s));
        let mut down: Vec<&str> = Vec::new();
        for k in order {
            let fault = &self.faults[k];
            let Some(host) = fault.host.as_deref() else {
                continue;
            };
            match fault.kind.as_str() {
                "crash" => down.push(host),
                "reboot" => match down.iter().position(|h| *h == host) {
                    Some(i) => {
                        down.remove(i);
                    }
                    None => {
                        return Err(bad(
                            &format!("faults[{k}].at_s"),
                            format!(
                                "reboots {host:?} at {} s, which is not down then: a reboot \
                                 follows a crash of its host",
                                fault.at_s
                            ),
                        ));
                    }
                },
                _ => {}
            }
        }
        let mut faults = Vec::new();
        for (k, fault) in self.faults.iter().enumerate() {
            let f = |x: &str| format!("faults[{k}].{x}");
            let when = at(&f("at_s"), fault.at_s)?;
            if fault.at_s > self.duration_s {
                return Err(bad(
                    &f("at_s"),
                    format!(
                        "{} s is after the run ends (duration_s = {} s)",
                        fault.at_s, self.duration_s
                    ),
                ));
            }
            match fault.kind.as_str() {
                "crash" | "reboot" => {
                    let name = fault
                        .host
                        .as_deref()
                        .ok_or_else(|| bad(&f("host"), "a crash or reboot needs its host"))?;
                    let node = built.node(name, &f("host"))?;
                    faults.push(if fault.kind == "crash" {
                        Fault::Crash(node, when)
                    } else {
                        Fault::Reboot(node, when)
                    });
                }
                "black-hole" => {
                    let name = fault
                        .link
                        .as_deref()
                        .ok_or_else(|| bad(&f("link"), "a black hole needs its link"))?;
                    let until = at(
                        &f("until_s"),
                        fault
                            .until_s
                            .ok_or_else(|| bad(&f("until_s"), "a black hole needs until_s"))?,
                    )?;
                    if until < when {
                        return Err(bad(
                            &f("until_s"),
                            format!("must be at or after at_s ({})", fault.at_s),
                        ));
                    }
                    let names: Vec<String> = built.links.iter().map(|l| l.name.clone()).collect();
                    let l = built
                        .links
                        .iter_mut()
                        .find(|l| l.name == name)
                        .ok_or_else(|| {
                            bad(
                                &f("link"),
                                format!("no link {name:?}; the links are {}", names.join(", ")),
                            )
                        })?;
                    l.config.both.black_holes.push((when, until));
                }
                other => {
                    return Err(bad(
                        &f("kind"),
                        format!("expected crash, reboot or black-hole, got {other:?}"),
                    ));
                }
            }
        }
        Ok(faults)
    }

    /// When the run ends: after 0 s (a run of 0 s would simulate nothing).
    pub fn duration(&self) -> Result<SimTime, ScenarioError> {
        if self.duration_s == 0.0 {
            return Err(bad("duration_s", "must be above 0 seconds, got 0"));
        }
        at("duration_s", self.duration_s)
    }
}
