//! Whole networks: applications over hosts, routers and links.

use synack_kernel::{SimDuration, SimTime};
use synack_link::{DirectionConfig, LinkConfig};
use synack_net::app::{
    ClientClose, ClientSpec, FlooderSpec, RequestOn, Schedule, ServerClose, ServerSpec,
};
use synack_net::topology::NodeId;
use synack_net::{AppSpec, AppSummary, Fault, LinkSpec, NodeSpec, World, WorldSpec};
use synack_tcp::host::{HostConfig, ListenerRules, Profile, SynCookies};

const CLIENT: u32 = 0x0a00_0001;
const SERVER: u32 = 0x0a00_0002;

fn secs(s: f64) -> SimTime {
    SimTime::ZERO.saturating_add(SimDuration::try_from_secs_f64(s).unwrap())
}

fn link(name: &str, a: u32, b: u32, delay_ms: u64) -> LinkSpec {
    LinkSpec {
        name: name.into(),
        a: NodeId(a),
        b: NodeId(b),
        config: LinkConfig::symmetric(DirectionConfig {
            delay: SimDuration::from_millis(delay_ms),
            ..DirectionConfig::default()
        }),
    }
}

fn host(name: &str, addr: u32, config: HostConfig) -> NodeSpec {
    NodeSpec {
        name: name.into(),
        addrs: vec![addr],
        host: Some(config),
    }
}

fn client(node: u32, schedule: Schedule, close: ClientClose) -> AppSpec {
    AppSpec::Client(ClientSpec {
        node: NodeId(node),
        server_addr: SERVER,
        server_port: 80,
        schedule,
        request_bytes: 1000,
        request_on: RequestOn::OwnSegment,
        response_bytes: 5000,
        requests_per_connection: 1,
        close,
        half_close: false,
        source_port: None,
        rotate_addresses: false,
    })
}

fn server(node: u32, backlog: u32, close: ServerClose) -> AppSpec {
    AppSpec::Server(ServerSpec {
        node: NodeId(node),
        port: 80,
        backlog,
        accept_interval: SimDuration::ZERO,
        request_bytes: 1000,
        response_bytes: 5000,
        close,
        close_delay_mean: SimDuration::ZERO,
    })
}

fn pair(apps: Vec<AppSpec>, faults: Vec<Fault>) -> World {
    let linux = Profile::Linux.config();
    World::new(WorldSpec {
        seed: 7,
        nodes: vec![
            host("client", CLIENT, linux.clone()),
            host("server", SERVER, linux),
        ],
        links: vec![link("wire", 0, 1, 5)],
        apps,
        faults,
    })
    .unwrap()
}

fn client_stats(s: &synack_net::Summary, i: usize) -> synack_net::app::ClientStats {
    match &s.apps[i] {
        AppSummary::Client(c) => c.clone(),
        other => panic!("{other:?}"),
    }
}

/// 20 request/response exchanges, 10 a second from 1 s, to a server that closes after
/// the client; run to 10 s.
fn twenty_exchanges(close: ClientClose) -> synack_net::Summary {
    let mut world = pair(
        vec![
            server(1, 128, ServerClose::WaitForClient),
            client(
                0,
                Schedule::Rate {
                    start: secs(1.0),
                    per_second: 10.0,
                    count: 20,
                },
                close,
            ),
        ],
        vec![],
    );
    world.run_until(secs(10.0))
}

#[test]
fn request_response_over_a_wire_closes_cleanly_with_exact_setup_times() {
    let s = twenty_exchanges(ClientClose::Active);
    let c = client_stats(&s, 1);
    assert_eq!(
        (c.attempted, c.connected, c.completed, c.timed_out),
        (20, 20, 20, 0)
    );
    // One RTT on a 5 ms link (plus 10 Gbit/s serialization of a 60-byte SYN and SYN-ACK).
    assert!(
        c.setup_times_s.iter().all(|&t| (t - 0.010).abs() < 1e-6),
        "{:?}",
        c.setup_times_s
    );
    // The response one more RTT later (plus serialization of 1000 and 5000 bytes).
    assert_eq!(c.response_times_s.len(), 20);
    assert!(
        c.response_times_s
            .iter()
            .all(|&t| (0.020..0.0201).contains(&t)),
        "{:?}",
        c.response_times_s
    );
    let (_, client_host) = &s.hosts[0];
    let (_, server_host) = &s.hosts[1];
    assert_eq!(
        client_host.time_wait, 20,
        "the active closer holds TIME-WAIT"
    );
    assert_eq!((client_host.closed, server_host.closed), (20, 20));
    assert_eq!(
        (
            server_host.accepted,
            server_host.close_wait,
            server_host.time_wait
        ),
        (20, 0, 0)
    );
}

#[test]
fn a_linger_zero_client_resets_instead_of_holding_time_wait() {
    let s = twenty_exchanges(ClientClose::LingerZero);
    let c = client_stats(&s, 1);
    assert_eq!((c.attempted, c.completed), (20, 20));
    let (_, client_host) = &s.hosts[0];
    let (_, server_host) = &s.hosts[1];
    assert_eq!((client_host.time_wait, client_host.time_wait_peak), (0, 0));
    // The server learns of each close from the RST.
    assert_eq!(
        (
            server_host.reset,
            server_host.close_wait,
            server_host.time_wait
        ),
        (20, 0, 0)
    );
}

#[test]
fn a_star_routes_through_its_router() {
    let linux = Profile::Linux.config();
    let mut world = World::new(WorldSpec {
        seed: 1,
        nodes: vec![
            NodeSpec {
                name: "router".into(),
                addrs: vec![],
                host: None,
            },
            host("c1", CLIENT, linux.clone()),
            host("c2", 0x0a00_0003, linux.clone()),
            host("server", SERVER, linux),
        ],
        links: vec![link("c1", 1, 0, 2), link("c2", 2, 0, 2), link("s", 0, 3, 3)],
        apps: vec![
            server(3, 128, ServerClose::AfterResponse),
            client(1, Schedule::At(vec![secs(0.1)]), ClientClose::Passive),
            client(2, Schedule::At(vec![secs(0.2)]), ClientClose::Passive),
        ],
        faults: vec![],
    })
    .unwrap();
    let s = world.run_until(secs(5.0));
    for i in [1, 2] {
        let c = client_stats(&s, i);
        assert_eq!((c.connected, c.completed), (1, 1));
        assert!(
            (c.setup_times_s[0] - 0.010).abs() < 1e-6,
            "{:?}",
            c.setup_times_s
        );
    }
    // The server closed first this time.
    assert_eq!(s.hosts[2].1.time_wait, 2);
}

fn flood(cookies: SynCookies) -> synack_net::app::ClientStats {
    let mut server_config = Profile::Linux.config();
    server_config.syncookies = cookies;
    let attacker = NodeSpec {
        name: "attacker".into(),
        addrs: vec![0x0b00_0001],
        host: Some(Profile::Linux.config()),
    };
    let mut world = World::new(WorldSpec {
        seed: 3,
        nodes: vec![
            host("client", CLIENT, Profile::Linux.config()),
            host("server", SERVER, server_config),
            attacker,
        ],
        links: vec![link("wire", 0, 1, 5), link("attack", 2, 1, 5)],
        apps: vec![
            server(1, 64, ServerClose::WaitForClient),
            client(
                0,
                Schedule::Rate {
                    start: secs(5.0),
                    per_second: 5.0,
                    count: 50,
                },
                ClientClose::Active,
            ),
            AppSpec::Flooder(FlooderSpec {
                node: NodeId(2),
                target_addr: SERVER,
                target_port: 80,
                per_second: 200.0,
                start: secs(0.0),
                stop: secs(60.0),
                spoof_base: 0xac10_0000,
                spoof_count: 10_000,
                poisson: false,
            }),
        ],
        faults: vec![],
    })
    .unwrap();
    let s = world.run_until(secs(200.0));
    assert!(
        s.unroutable > 0,
        "SYN-ACKs to spoofed sources have no route"
    );
    client_stats(&s, 1)
}

#[test]
fn a_syn_flood_delays_clients_past_the_flood_without_cookies_and_not_with_them() {
    let with = flood(SynCookies::WhenFull);
    assert_eq!(with.completed, 50, "{with:?}");
    assert!(
        with.setup_times_s.iter().all(|&t| (t - 0.010).abs() < 1e-6),
        "{with:?}"
    );
    // Without cookies the SYN queue stays full of spoofed half-open requests. Linux prunes
    // them to 7-15 s under the flood (host::ListenerRules), so a client gets in when a batch
    // of them expires, on a SYN retry seconds later, and the rest after the flood: few
    // first tries, most waits of seconds, many of a minute.
    let without = flood(SynCookies::Off);
    let waited = |s: f64| without.setup_times_s.iter().filter(|&&t| t > s).count();
    assert_eq!(without.completed, 50, "{without:?}");
    assert!(waited(1.0) >= 45 && waited(60.0) >= 20, "{without:?}");
}

#[test]
fn a_server_that_never_closes_leaks_close_wait() {
    let mut world = pair(
        vec![
            server(1, 128, ServerClose::Never),
            client(
                0,
                Schedule::Rate {
                    start: secs(1.0),
                    per_second: 10.0,
                    count: 30,
                },
                ClientClose::Active,
            ),
        ],
        vec![],
    );
    let s = world.run_until(secs(20.0));
    assert_eq!(s.hosts[1].1.close_wait, 30);
}

#[test]
fn a_crashed_server_resets_old_connections_after_reboot() {
    let mut world = pair(
        vec![
            server(1, 128, ServerClose::Never),
            client(0, Schedule::At(vec![secs(1.0)]), ClientClose::Passive),
            client(0, Schedule::At(vec![secs(20.0)]), ClientClose::Passive),
            // The SYN-ACK leaves at 1.997 s; the request reaches a dead host.
            client(0, Schedule::At(vec![secs(1.992)]), ClientClose::Passive),
        ],
        vec![
            Fault::Crash(NodeId(1), secs(2.0)),
            Fault::Reboot(NodeId(1), secs(10.0)),
        ],
    );
    let s = world.run_until(secs(40.0));
    // The first connection is idle across the crash; nothing tells it until it speaks.
    let first = client_stats(&s, 1);
    assert_eq!((first.connected, first.completed), (1, 1));
    // After the reboot the server listens again: a new connection works.
    let second = client_stats(&s, 2);
    assert_eq!((second.connected, second.completed), (1, 1));
    // The request retransmitted into the crash gets a RST once the server is back.
    let speaking = client_stats(&s, 3);
    assert_eq!(
        (speaking.connected, speaking.completed, speaking.reset),
        (1, 0, 1)
    );
}

#[test]
fn the_same_seed_gives_the_same_run() {
    let run = || {
        let mut world = pair(
            vec![
                server(1, 16, ServerClose::WaitForClient),
                client(
                    0,
                    Schedule::Poisson {
                        start: secs(0.0),
                        per_second: 50.0,
                        count: 200,
                    },
                    ClientClose::Active,
                ),
            ],
            vec![],
        );
        let s = world.run_until(secs(30.0));
        (s.events, client_stats(&s, 1).setup_times_s)
    };
    assert_eq!(run(), run());
}

/// Counts the copies delivered (each one kernel event).
struct Deliveries(std::rc::Rc<std::cell::Cell<u64>>);

impl synack_net::Observer for Deliveries {
    fn segment(
        &mut self,
        _: SimTime,
        _: &str,
        _: synack_link::Way,
        _: &synack_tcp::host::Datagram,
        fate: synack_net::SegmentFate,
    ) {
        if matches!(
            fate,
            synack_net::SegmentFate::Delivered | synack_net::SegmentFate::Corrupt
        ) {
            self.0.set(self.0.get() + 1);
        }
    }
    fn transition(&mut self, _: &str, _: &synack_tcp::FourTuple, _: &synack_tcp::Transition) {}
}

#[test]
fn superseded_wake_ups_do_not_pile_up() {
    // One reused 4-tuple and late duplicates: deadlines move often. A stale wake-up used
    // to re-arm a second one for the same deadline, and the copies never drained (1.5 M
    // events here, against 75 k).
    let text = r#"duration_s = 240.0
[link]
delay_ms = 10.0
duplicate = 1.0
duplicate_delay_s = 5.0
max_lifetime_s = 10.0
[client_tcp]
time_wait_s = 2.0
[[servers]]
request_bytes = 100
response_bytes = 100
[[clients]]
schedule = { kind = "rate", start_s = 0.0, per_second = 10.0, count = 2000 }
request_bytes = 100
response_bytes = 100
requests_per_connection = 20
source_port = 40000
"#;
    let scenario = synack_net::scenario::parse(text).unwrap();
    let mut world = World::new(scenario.world().unwrap()).unwrap();
    let delivered = std::rc::Rc::new(std::cell::Cell::new(0));
    world.observe(Box::new(Deliveries(delivered.clone())));
    let s = world.run_until(scenario.duration().unwrap());
    let connects = client_stats(&s, 1).attempted;
    let others = s.events - delivered.get() - connects;
    // Wake-ups (and app timers): fewer than one per delivered copy.
    assert!(
        others < delivered.get(),
        "{others} other events for {} deliveries",
        delivered.get()
    );
}

#[test]
fn datagrams_on_their_way_in_order_hold_one_event_a_link_direction() {
    use synack_net::lifecycle::Lifecycle;
    let workload = Lifecycle {
        connections: 2_000,
        rate: 1e7,
        msl: SimDuration::from_secs(1),
        bytes: 1_000,
        seed: 1,
    };
    let mut world = workload.world().unwrap();
    // Every SYN is sent by 1.0002 s, and none arrives before 1.001 s: 2,000 on the wire.
    let summary = world.run_until(secs(1.0005));
    assert_eq!(client_stats(&summary, 1).attempted, 2_000);
    assert!(
        world.pending_events() <= 8,
        "{} events pending",
        world.pending_events()
    );
    let report = workload.finish(&mut world);
    assert_eq!((report.connected, report.server_closed), (2_000, 2_000));
}

/// Two clients' SYNs reach a server at the same nanosecond, and its SYN queue has room for
/// one. Client A sent its SYN at 1 ms, behind an earlier SYN on its link (to a closed port),
/// so the simulator queues A's arrival only when that one arrives, at 10 ms; client B sent
/// its SYN at 2 ms on a faster link, and its arrival was queued then. The model's rule (same
/// time: in the order sent) gives the slot to A, on every event queue; B's SYN is dropped
/// and B connects on its retry a second later.
fn same_nanosecond_syns<Q: synack_kernel::queue::QueueFamily>() -> (Vec<f64>, Vec<f64>) {
    const OTHER: u32 = 0x0a00_0003;
    let mut linux = Profile::Linux.config();
    linux.syncookies = SynCookies::Off;
    // Timers on time, so that B's retry comes at exactly 1 s (the order is what is tested).
    linux.tcp.timer_wheel = None;
    let at = |ms: f64| Schedule::At(vec![secs(ms / 1000.0)]);
    let to = |app: AppSpec, port: u16| match app {
        AppSpec::Client(c) => AppSpec::Client(ClientSpec {
            server_port: port,
            ..c
        }),
        other => other,
    };
    let mut world = World::<Q>::with_queue(WorldSpec {
        seed: 7,
        nodes: vec![
            host("a", CLIENT, linux.clone()),
            host("b", OTHER, linux.clone()),
            // A queue of exactly one (Linux's holds backlog + 1): the textbook's rules.
            host(
                "server",
                SERVER,
                HostConfig {
                    listener_rules: ListenerRules::Textbook,
                    ..linux
                },
            ),
        ],
        links: vec![link("a", 0, 2, 10), link("b", 1, 2, 9)],
        apps: vec![
            server(2, 1, ServerClose::WaitForClient),
            to(client(0, at(0.0), ClientClose::Active), 81),
            client(0, at(1.0), ClientClose::Active),
            client(1, at(2.0), ClientClose::Active),
        ],
        faults: vec![],
    })
    .unwrap();
    let s = world.run_until(secs(5.0));
    (
        client_stats(&s, 2).setup_times_s,
        client_stats(&s, 3).setup_times_s,
    )
}

#[test]
fn same_nanosecond_arrivals_run_in_the_order_sent_on_every_queue() {
    use synack_kernel::queue::family;
    for (a, b) in [
        same_nanosecond_syns::<family::Wheel>(),
        same_nanosecond_syns::<family::Heap>(),
        same_nanosecond_syns::<family::PriorityQueue>(),
    ] {
        // A: one round trip on its 10 ms link. B: its SYN was dropped, and the retry at
        // 1 s (Linux's initial RTO) takes one 9 ms round trip.
        assert_eq!(a.len(), 1, "{a:?}");
        assert!((a[0] - 0.020).abs() < 1e-5, "{a:?}");
        assert_eq!(b.len(), 1, "{b:?}");
        assert!((b[0] - 1.018).abs() < 1e-5, "{b:?}");
    }
}
