//! The host's TCP layer: listeners, queues, cookies, ports, TIME-WAIT, limits, crash and
//! reboot, with exact timings and counters. Two hosts talk over a 1 ms wire driven by the
//! kernel's scheduler; a test may drop datagrams with a filter.

use synack_kernel::{RandomStreams, SimDuration, SimTime};
use synack_tcp::host::{
    ConnectOptions, Datagram, Host, HostConfig, Profile, SynCookies, SynRateLimit,
};
use synack_tcp::{Event, Flags, Segment, Seq, State, TcpConfig, TimeWaitLength};

mod common;
use common::host_pair::*;

#[test]
fn listen_syn_synack_ack_accepted() {
    let mut net = Net::new(linux_without_timestamps(), linux_without_timestamps());
    net.server.listen(PORT, 16).unwrap();
    let id = net.connect();
    net.run_until(ms(10));
    assert_eq!(net.client.state(id), Some(State::Established));
    assert_eq!(net.server.accept_queue_len(PORT), 1);
    let accepted = net.server.accept(PORT).unwrap().unwrap();
    assert_eq!(net.server.state(accepted), Some(State::Established));
    assert_eq!(net.server.accept(PORT), Ok(None));
    assert_eq!(
        (net.client.counters().opened, net.server.counters().accepted),
        (1, 1)
    );
    let flags: Vec<_> = net
        .log
        .iter()
        .map(|(t, w, d)| (*t, *w, d.segment.flags.to_string()))
        .collect();
    assert_eq!(
        flags,
        [
            (ms(0), Who::Client, "S".into()),
            (ms(1), Who::Server, "S.".into()),
            (ms(2), Who::Client, ".".into())
        ]
    );
}

#[test]
fn established_superseded_handshake_timers_are_not_deadlines() {
    let mut net = Net::new(linux_without_timestamps(), linux_without_timestamps());
    net.server.listen(PORT, 16).unwrap();
    let id = net.connect();
    net.run_until(ms(10));
    let accepted = net.server.accept(PORT).unwrap().unwrap();
    // The SYN's and the SYN-ACK's retransmission timers (1 s, 1.001 s) were armed and are
    // now superseded: each host's deadline is its connection's own.
    let own = |h: &Host, id| h.connection(id).unwrap().next_deadline();
    assert_eq!(net.client.next_deadline(), own(&net.client, id));
    assert_eq!(net.server.next_deadline(), own(&net.server, accepted));
    assert!(net.client.next_deadline() != Some(secs(1)));
    // Closed both ways: the server's connection is gone, and with it every timer.
    net.client.close(id, ms(10)).unwrap();
    net.flush(Who::Client);
    net.run_until(ms(20));
    net.server.close(accepted, ms(20)).unwrap();
    net.flush(Who::Server);
    net.run_until(ms(30));
    assert_eq!(net.server.connections(), 0);
    assert_eq!(net.server.next_deadline(), None);
    assert_eq!(net.client.state(id), None);
    assert_eq!(
        net.client.next_deadline(),
        Some(ms(21) + net.client.time_wait_length())
    );
}

#[test]
fn listen_half_open_synacks_at_1_3_7_15_31_dropped_at_63_late_on_the_wheel_then_ack_gets_rst() {
    let mut net = Net::new(linux_without_timestamps(), linux_without_timestamps());
    net.server.listen(PORT, 16).unwrap();
    // The client vanishes after its SYN: drop everything it sends after the first.
    let mut first = true;
    net.drop = Box::new(move |who, _| {
        let drop = who == Who::Client && !first;
        first &= who != Who::Client;
        drop
    });
    let id = net.connect();
    net.client.abort(id, SimTime::ZERO);
    net.run_until(secs(62));
    assert_eq!(net.server.syn_queue_len(PORT), 1);
    let synacks: Vec<_> = net
        .sent_by(Who::Server, SimTime::ZERO)
        .into_iter()
        .map(|(t, _)| t)
        .collect();
    // Sent at 1 ms (the SYN's arrival), then every backoff from there, each late as Linux's
    // HZ 250 timer wheel makes it: 1.024 for a SYN on jiffy 0, then the gaps measured on
    // Linux 6.18 (crates/tcp/src/wheel.rs): 2.016, 4.128 (one of 4.032-4.256), 8.192,
    // 16.128 s.
    assert_eq!(
        synacks,
        [ms(1), ms(1024), ms(3040), ms(7168), ms(15_360), ms(31_488)]
    );
    // Dropped 34.048 s after the last (one of 32.256-34.048): at 65.536 s, not 63.
    net.run_until(ms(65_535));
    assert_eq!(net.server.syn_queue_len(PORT), 1);
    net.run_until(ms(65_536));
    assert_eq!(net.server.syn_queue_len(PORT), 0);
    assert_eq!(net.server.counters().half_open_expired, 1);
    // A late ACK for the dropped request: RST at its ACK number.
    let syn = net.log[0].2.segment;
    let synack = net
        .log
        .iter()
        .find(|(_, w, _)| *w == Who::Server)
        .unwrap()
        .2
        .segment;
    let mut ack = Segment::new(syn.src_port, PORT, syn.seq + 1, synack.seq + 1, Flags::ACK);
    ack.window = 1000;
    net.server
        .handle(&Datagram::new(CLIENT, SERVER, ack), secs(66));
    let reply = net.server.output().outgoing.pop().unwrap().datagram.segment;
    assert_eq!((reply.flags, reply.seq), (Flags::RST, synack.seq + 1));
}

fn server(config: HostConfig) -> Host {
    let mut host = Host::new(config, vec![SERVER], &RandomStreams::new(9), "server", 0).unwrap();
    host.listen(PORT, 4).unwrap();
    host
}

#[test]
fn listen_syn_queue_full_without_cookies_drops() {
    let mut host = server(HostConfig {
        syncookies: SynCookies::Off,
        ..linux_without_timestamps()
    });
    // Linux holds backlog + 1 (tests/listener_load.rs has the kernel's numbers).
    for port in 1000..1007 {
        host.handle(&raw_syn(port, 100), SimTime::ZERO);
    }
    assert_eq!(host.syn_queue_len(PORT), 5);
    assert_eq!(host.output().outgoing.len(), 5);
    assert_eq!(host.counters().syn_queue_drops, 2);
}

#[test]
fn listen_syn_rate_filter_drops_past_the_burst_per_source_and_refills() {
    let mut host = server(HostConfig {
        syn_rate_limit: Some(SynRateLimit {
            per_second: 2.0,
            burst: 2,
        }),
        ..linux_without_timestamps()
    });
    // Three SYNs from one address at once: the burst admits two.
    for port in 1000..1003 {
        host.handle(&raw_syn(port, 100), SimTime::ZERO);
    }
    assert_eq!(
        (host.syn_queue_len(PORT), host.counters().syn_rate_limited),
        (2, 1)
    );
    // Another address has its own bucket.
    let mut other = raw_syn(1003, 100);
    other.src = CLIENT + 1;
    host.handle(&other, SimTime::ZERO);
    assert_eq!(host.syn_queue_len(PORT), 3);
    // At 2 per second, 499 ms refill less than a token; 999 ms refill more than one.
    host.handle(&raw_syn(1004, 100), ms(499));
    assert_eq!(host.counters().syn_rate_limited, 2);
    host.handle(&raw_syn(1005, 100), ms(999));
    assert_eq!(
        (host.syn_queue_len(PORT), host.counters().syn_rate_limited),
        (4, 2)
    );
}

#[test]
fn listen_syn_rate_filter_counts_syns_only_not_cookie_acks() {
    let mut host = server(HostConfig {
        syncookies: SynCookies::Always,
        syn_rate_limit: Some(SynRateLimit {
            per_second: 1.0,
            burst: 1,
        }),
        ..linux_without_timestamps()
    });
    host.handle(&raw_syn(2000, 100), SimTime::ZERO);
    let synack = host.output().outgoing.pop().unwrap().datagram.segment;
    // The SYN took the only token; the ACK that completes the cookie handshake needs none.
    let mut ack = Segment::new(2000, PORT, Seq(101), synack.seq + 1, Flags::ACK);
    ack.window = 65535;
    host.handle(&Datagram::new(CLIENT, SERVER, ack), ms(10));
    assert_eq!(
        (
            host.counters().cookies_validated,
            host.counters().syn_rate_limited,
            host.accept_queue_len(PORT)
        ),
        (1, 0, 1)
    );
}

#[test]
fn listen_syn_queue_full_with_cookies_sends_stateless_synack_and_validates_the_ack() {
    let mut host = server(linux_without_timestamps());
    for port in 1000..1005 {
        host.handle(&raw_syn(port, 100), SimTime::ZERO);
    }
    host.output().outgoing.clear();
    host.handle(&raw_syn(2000, 100), SimTime::ZERO);
    let synack = host.output().outgoing.pop().unwrap().datagram.segment;
    assert_eq!(synack.flags, Flags::SYN | Flags::ACK);
    assert_eq!(host.counters().cookies_sent, 1);
    assert_eq!(host.syn_queue_len(PORT), 5);
    // No state: the cookie SYN-ACK is never retransmitted.
    host.on_timeout(ms(999));
    assert!(host.output().outgoing.is_empty());
    // The returning ACK, with 100 bytes of data, validates: established and queued.
    let mut ack = Segment::new(2000, PORT, Seq(101), synack.seq + 1, Flags::ACK);
    ack.window = 65535;
    ack.len = 100;
    host.handle(&Datagram::new(CLIENT, SERVER, ack), secs(30));
    assert_eq!(host.counters().cookies_validated, 1);
    assert_eq!(host.accept_queue_len(PORT), 1);
    let id = host.accept(PORT).unwrap().unwrap();
    assert_eq!(host.state(id), Some(State::Established));
    assert_eq!(host.receive(id, 1000, secs(30)), Ok(100));
    assert_eq!(host.connection(id).unwrap().integrity().wrong_offset, 0);
}

#[test]
fn listen_forged_or_expired_cookie_rejected_with_rst() {
    let mut host = server(HostConfig {
        syncookies: SynCookies::Always,
        ..linux_without_timestamps()
    });
    host.handle(&raw_syn(2000, 100), SimTime::ZERO);
    let synack = host.output().outgoing.pop().unwrap().datagram.segment;
    let ack = |ack_no: Seq| {
        Datagram::new(
            CLIENT,
            SERVER,
            Segment::new(2000, PORT, Seq(101), ack_no, Flags::ACK),
        )
    };
    host.handle(&ack(synack.seq + 5), secs(1));
    assert_eq!(host.counters().cookies_rejected, 1);
    let rst = host.output().outgoing.pop().unwrap().datagram.segment;
    assert_eq!((rst.flags, rst.seq), (Flags::RST, synack.seq + 5));
    // Three minutes later the genuine cookie has expired too.
    host.handle(&ack(synack.seq + 1), secs(180));
    assert_eq!(host.counters().cookies_rejected, 2);
    assert_eq!(host.counters().cookies_validated, 0);
}

#[test]
fn accept_queue_full_final_ack_dropped_then_synack_retransmitted() {
    let mut net = Net::new(linux_without_timestamps(), linux_without_timestamps());
    net.server.listen(PORT, 1).unwrap();
    // Linux's accept queue holds backlog + 1.
    net.connect();
    net.connect();
    net.run_until(ms(10));
    assert_eq!(net.server.accept_queue_len(PORT), 2);
    // A third client's SYN while the queue is full: dropped (Linux drops SYNs then).
    let third = net.connect();
    net.run_until(ms(20));
    assert_eq!(net.server.counters().accept_queue_drops, 1);
    assert_eq!(net.client.state(third), Some(State::SynSent));
    // Once the application accepts, the retransmitted SYN gets through.
    net.server.accept(PORT).unwrap().unwrap();
    net.run_until(secs(2));
    assert_eq!(net.client.state(third), Some(State::Established));
    assert_eq!(net.server.accept_queue_len(PORT), 2);
}

#[test]
fn close_wait_leaks_when_the_server_never_closes() {
    let mut net = Net::new(linux_without_timestamps(), linux_without_timestamps());
    net.server.listen(PORT, 64).unwrap();
    for k in 1..=5u64 {
        let id = net.connect();
        net.run_until(ms(10 * k));
        net.server.accept(PORT).unwrap().unwrap();
        net.client.close(id, net.now()).unwrap();
        net.run_until(ms(10 * k + 5));
        assert_eq!(net.server.counters().close_wait, k);
    }
}

#[test]
fn crash_drops_silently_and_after_reboot_old_segments_get_rst() {
    let mut net = Net::new(linux_without_timestamps(), linux_without_timestamps());
    net.server.listen(PORT, 16).unwrap();
    let id = net.connect();
    net.run_until(ms(10));
    net.server.accept(PORT).unwrap().unwrap();
    net.server.crash(net.now());
    net.client.send(id, 100, net.now()).unwrap();
    net.run_until(ms(100));
    assert!(
        net.sent_by(Who::Server, ms(10)).is_empty(),
        "a crashed host is silent"
    );
    net.server.reboot();
    // The client's retransmission reaches a host with no state: RST.
    net.run_until(secs(2));
    assert_eq!(
        net.sent_by(Who::Server, ms(100))
            .first()
            .map(|(_, f)| f.as_str()),
        Some("R")
    );
    assert_eq!(net.client.state(id), None);
    assert_eq!(net.client.counters().reset, 1);
}

#[test]
fn crash_handles_from_before_never_name_connections_after() {
    let mut net = Net::new(linux_without_timestamps(), linux_without_timestamps());
    net.server.listen(PORT, 16).unwrap();
    let before = net.connect();
    net.run_until(ms(10));
    net.client.crash(net.now());
    net.client.reboot();
    let after = net.connect();
    assert_ne!(after, before);
    assert_eq!(net.client.state(before), None);
    assert_eq!(net.client.state(after), Some(State::SynSent));
}

#[test]
fn no_listener_segment_gets_rst_listener_ignores_rst() {
    let mut host = server(linux_without_timestamps());
    host.handle(
        &Datagram {
            segment: Segment::new(1234, 81, Seq(5), Seq(0), Flags::SYN),
            ..raw_syn(1234, 5)
        },
        SimTime::ZERO,
    );
    let rst = host.output().outgoing.pop().unwrap().datagram.segment;
    assert_eq!((rst.flags, rst.ack), (Flags::RST | Flags::ACK, Seq(6)));
    host.handle(
        &Datagram {
            segment: Segment::new(1234, PORT, Seq(5), Seq(0), Flags::RST),
            ..raw_syn(1234, 5)
        },
        SimTime::ZERO,
    );
    assert!(host.output().outgoing.is_empty());
}

#[test]
fn refused_connect_counted() {
    let mut net = Net::new(linux_without_timestamps(), linux_without_timestamps());
    let id = net.connect();
    net.run_until(ms(10));
    assert_eq!(net.client.state(id), None);
    assert_eq!(net.client.counters().refused, 1);
    assert!(
        net.events
            .iter()
            .any(|(w, i, e)| *w == Who::Client && *i == id && matches!(e, Event::Failed(_)))
    );
}

#[test]
fn connect_into_a_black_hole_times_out_per_profile() {
    // Linux's two on its HZ 250 timer wheel, from jiffy 0: 1.024 s between the 1 s SYN
    // timers (measured on Linux 6.18), the rest late alike (wheel.rs): 131 s becomes
    // 135.168, 127 s 131.072.
    for (name, give_up) in [
        ("linux", 135_168),
        ("linux-classic", 131_072),
        ("windows", 21_000),
        ("freebsd", 75_000),
        ("macos", 75_000),
    ] {
        let mut host = client_only(name.parse::<Profile>().unwrap().config());
        let id = host
            .connect(SERVER, PORT, ConnectOptions::default(), SimTime::ZERO)
            .unwrap();
        while let Some(t) = host.next_deadline() {
            host.on_timeout(t);
        }
        assert_eq!(host.state(id), None, "{name}");
        let failed_at = host
            .output()
            .events
            .iter()
            .find_map(|(_, e)| match e {
                Event::Failed(f) => Some(f.at),
                _ => None,
            })
            .unwrap();
        assert_eq!(failed_at, ms(give_up), "{name}");
        assert_eq!(host.counters().timed_out, 1);
    }
}

#[test]
fn profiles_match_the_reference() {
    let tw = |name: &str| {
        name.parse::<Profile>()
            .unwrap()
            .config()
            .tcp
            .time_wait_length()
            .as_nanos()
            / 1_000_000_000
    };
    assert_eq!(
        [
            "linux",
            "linux-classic",
            "freebsd",
            "macos",
            "windows",
            "rfc9293"
        ]
        .map(tw),
        [60, 60, 60, 30, 240, 240]
    );
    let linux = Profile::Linux.config();
    assert_eq!(linux.ephemeral_ports, (32768, 60999));
    assert_eq!((linux.tcp.syn_retries, linux.tcp.synack_retries), (6, 5));
    assert_eq!(linux.somaxconn, 4096);
    assert_eq!(
        "linux-classic"
            .parse::<Profile>()
            .unwrap()
            .config()
            .somaxconn,
        128
    );
    assert_eq!(linux.tcp.fin_wait_2_timeout, SimDuration::from_secs(60));
    assert_eq!(
        "freebsd".parse::<Profile>().unwrap().config().tcp.rto_max,
        SimDuration::from_secs(64)
    );
    assert_eq!(
        "freebsd"
            .parse::<Profile>()
            .unwrap()
            .config()
            .tcp
            .synack_retries,
        3
    );
    assert!("solaris".parse::<Profile>().is_err());
    // An override is a struct update.
    let custom = HostConfig {
        tcp: TcpConfig {
            time_wait: TimeWaitLength::Fixed(SimDuration::ZERO),
            ..linux.tcp.clone()
        },
        ..linux
    };
    assert_eq!(custom.tcp.time_wait_length(), SimDuration::ZERO);
}

#[test]
fn half_open_retransmitted_syn_answered_at_once() {
    let mut host = server(linux_without_timestamps());
    host.handle(&raw_syn(1000, 100), SimTime::ZERO);
    let first = host.output().outgoing.pop().unwrap().datagram.segment;
    host.handle(&raw_syn(1000, 100), ms(300));
    let again = host.output().outgoing.pop().unwrap().datagram.segment;
    assert_eq!(
        (again.flags, again.seq, again.ack),
        (first.flags, first.seq, first.ack)
    );
    assert_eq!(host.syn_queue_len(PORT), 1);
    // The timer is not restarted: the next SYN-ACK still goes at 1 s (1.024 on Linux's
    // timer wheel for a SYN on jiffy 0).
    assert_eq!(host.next_deadline(), Some(ms(1024)));
}
