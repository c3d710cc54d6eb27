//! The host's ports, TIME-WAIT table and limits: ephemeral ports running out, TIME-WAIT
//! holding a tuple, tw_reuse, the table's cap, stray segments in TIME-WAIT, max_open.

mod common;
use common::host_pair::*;
use synack_kernel::{SimDuration, SimTime};
use synack_tcp::host::{ConnId, ConnectOptions, Datagram, HostConfig, HostError, Profile, TwReuse};
use synack_tcp::{Flags, Seq};

#[test]
fn ephemeral_ports_run_out_with_address_not_available() {
    let mut host = client_only(HostConfig {
        ephemeral_ports: (5000, 5002),
        ..linux_without_timestamps()
    });
    let ports: Vec<u16> = (0..3)
        .map(|_| {
            let id = host
                .connect(SERVER, PORT, ConnectOptions::default(), SimTime::ZERO)
                .unwrap();
            host.tuple(id).unwrap().local_port
        })
        .collect();
    let mut sorted = ports.clone();
    sorted.sort();
    assert_eq!(sorted, [5000, 5001, 5002]);
    assert_eq!(
        host.connect(SERVER, PORT, ConnectOptions::default(), SimTime::ZERO),
        Err(HostError::AddressNotAvailable)
    );
    assert_eq!(host.counters().port_exhaustion, 1);
    // Another destination has its own 4-tuples.
    assert!(
        host.connect(SERVER, 443, ConnectOptions::default(), SimTime::ZERO)
            .is_ok()
    );
}

fn time_wait_pair(client: HostConfig) -> (Net, ConnId) {
    let mut net = Net::new(client, linux_without_timestamps());
    net.server.listen(PORT, 16).unwrap();
    let id = net.connect();
    net.run_until(ms(10));
    let server_id = net.server.accept(PORT).unwrap().unwrap();
    net.client.close(id, net.now()).unwrap();
    net.run_until(ms(20));
    net.server.close(server_id, net.now()).unwrap();
    net.run_until(ms(30));
    (net, id)
}

#[test]
fn time_wait_blocks_the_tuple_until_it_expires() {
    let config = HostConfig {
        ephemeral_ports: (5000, 5000),
        ..linux_without_timestamps()
    };
    let (mut net, id) = time_wait_pair(config);
    assert_eq!(net.client.state(id), None);
    assert_eq!(net.client.time_wait_len(), 1);
    assert_eq!(net.client.counters().time_wait_peak, 1);
    assert_eq!(
        net.client
            .connect(SERVER, PORT, ConnectOptions::default(), net.now()),
        Err(HostError::AddressNotAvailable)
    );
    // TIME-WAIT began when the server's FIN arrived, 1 ms after it was sent (at 20 ms);
    // Linux holds it 60 s.
    let fin_sent = net
        .log
        .iter()
        .find(|(_, w, d)| *w == Who::Server && d.segment.has(Flags::FIN))
        .unwrap()
        .0;
    assert_eq!(fin_sent, ms(20));
    let expiry = ms(21) + SimDuration::from_secs(60);
    net.run_until(SimTime::from_nanos(expiry.as_nanos() - 1));
    assert_eq!(net.client.time_wait_len(), 1);
    net.run_until(expiry);
    assert_eq!(net.client.time_wait_len(), 0);
    assert!(
        net.client
            .connect(SERVER, PORT, ConnectOptions::default(), net.now())
            .is_ok()
    );
}

#[test]
fn tw_reuse_takes_the_tuple_after_a_second_with_isn_above_the_old_snd_nxt() {
    let mut config = Profile::Linux.config();
    config.tw_reuse = TwReuse::On;
    config.ephemeral_ports = (5000, 5000);
    let mut server = Profile::Linux.config();
    server.tcp.timestamps = true;
    let mut net = Net::new(config, server);
    net.server.listen(PORT, 16).unwrap();
    let id = net.connect();
    net.run_until(ms(10));
    let sid = net.server.accept(PORT).unwrap().unwrap();
    let old_snd_nxt = net.client.connection(id).unwrap().snd_nxt();
    net.client.close(id, net.now()).unwrap();
    net.run_until(ms(20));
    net.server.close(sid, net.now()).unwrap();
    net.run_until(ms(30));
    assert_eq!(net.client.time_wait_len(), 1);
    // Within a second of the last timestamp: no reuse.
    assert_eq!(
        net.client
            .connect(SERVER, PORT, ConnectOptions::default(), ms(500)),
        Err(HostError::AddressNotAvailable)
    );
    let again = net
        .client
        .connect(SERVER, PORT, ConnectOptions::default(), secs(2))
        .unwrap();
    // Linux: the old SND.NXT (past our FIN) + 65537.
    assert_eq!(
        net.client.connection(again).unwrap().iss(),
        old_snd_nxt + 1 + 65537
    );
    assert_eq!(net.client.time_wait_len(), 0);
}

#[test]
fn time_wait_table_full_closing_sockets_skip_it() {
    let config = HostConfig {
        max_time_wait: 0,
        ..linux_without_timestamps()
    };
    let (net, _) = time_wait_pair(config);
    assert_eq!(net.client.time_wait_len(), 0);
    assert_eq!(net.client.counters().time_wait_skipped, 1);
}

#[test]
fn time_wait_syn_newer_starts_a_new_incarnation_older_is_acked() {
    // The server closes first here, so the TIME-WAIT is the server's.
    let mut net = Net::new(linux_without_timestamps(), linux_without_timestamps());
    net.server.listen(PORT, 16).unwrap();
    let id = net.connect();
    net.run_until(ms(10));
    let sid = net.server.accept(PORT).unwrap().unwrap();
    let tuple = net.client.tuple(id).unwrap();
    let client_nxt = net.client.connection(id).unwrap().snd_nxt();
    net.server.close(sid, net.now()).unwrap();
    net.run_until(ms(20));
    net.client.close(id, net.now()).unwrap();
    net.run_until(ms(30));
    assert_eq!(net.server.time_wait_len(), 1);
    let syn = |seq: Seq| {
        let mut d = raw_syn(tuple.local_port, seq.0);
        d.segment.src_port = tuple.local_port;
        d
    };
    // An old duplicate SYN (below RCV.NXT) is answered with an ACK.
    net.server.handle(&syn(client_nxt - 10), secs(1));
    let reply = net.server.output().outgoing.pop().unwrap().datagram.segment;
    assert_eq!((reply.flags, reply.ack), (Flags::ACK, client_nxt + 1));
    // A newer one opens the tuple again.
    net.server.handle(&syn(client_nxt + 100_000), secs(2));
    let reply = net.server.output().outgoing.pop().unwrap().datagram.segment;
    assert_eq!(reply.flags, Flags::SYN | Flags::ACK);
    assert_eq!(net.server.time_wait_len(), 0);
    assert_eq!(net.server.syn_queue_len(PORT), 1);
}

/// The server's last FIN, as the client received it.
fn last_server_fin(net: &Net) -> Datagram {
    net.log
        .iter()
        .rev()
        .find(|(_, w, d)| *w == Who::Server && d.segment.has(Flags::FIN))
        .map(|&(_, _, d)| d)
        .expect("the server sent a FIN")
}

#[test]
fn time_wait_stray_acks_answered_once_per_500ms_fins_always() {
    let (mut net, _) = time_wait_pair(linux_without_timestamps());
    let fin = last_server_fin(&net);
    let mut stray = fin;
    stray.segment.flags = Flags::ACK;
    stray.segment.seq = fin.segment.seq + 70_000;
    let answers = |net: &mut Net| net.client.output().outgoing.drain(..).count();
    net.client.handle(&stray, secs(2));
    assert_eq!(answers(&mut net), 1);
    // Within 500 ms of that answer: stray ACKs get nothing, a retransmitted FIN its ACK.
    net.client
        .handle(&stray, secs(2) + SimDuration::from_millis(499));
    assert_eq!(answers(&mut net), 0);
    net.client
        .handle(&fin, secs(2) + SimDuration::from_millis(499));
    assert_eq!(answers(&mut net), 1);
    net.client
        .handle(&stray, secs(2) + SimDuration::from_millis(500));
    assert_eq!(answers(&mut net), 1);
}

#[test]
fn time_wait_retransmitted_fin_reacked_and_restarted() {
    let (mut net, _) = time_wait_pair(linux_without_timestamps());
    let fin = last_server_fin(&net);
    net.client.handle(&fin, secs(30));
    let ack = net.client.output().outgoing.pop().unwrap().datagram.segment;
    assert_eq!(
        (ack.flags, ack.seq, ack.ack),
        (Flags::ACK, fin.segment.ack, fin.segment.seq + 1)
    );
    // Restarted: still there past the original expiry, gone 60 s after the FIN.
    net.client.on_timeout(secs(61));
    assert_eq!(net.client.time_wait_len(), 1);
    net.client.on_timeout(secs(90));
    assert_eq!(net.client.time_wait_len(), 0);
}

#[test]
fn max_open_limits_connect_and_accept() {
    let mut limited = linux_without_timestamps();
    limited.max_open = Some(1);
    let mut client = client_only(limited.clone());
    client
        .connect(SERVER, PORT, ConnectOptions::default(), SimTime::ZERO)
        .unwrap();
    assert_eq!(
        client.connect(SERVER, PORT, ConnectOptions::default(), SimTime::ZERO),
        Err(HostError::TooManyOpen)
    );

    let mut net = Net::new(linux_without_timestamps(), limited);
    net.server.listen(PORT, 16).unwrap();
    net.connect();
    net.connect();
    net.run_until(ms(10));
    assert_eq!(net.server.accept_queue_len(PORT), 2);
    assert!(net.server.accept(PORT).unwrap().is_some());
    assert_eq!(net.server.accept(PORT), Err(HostError::TooManyOpen));
    assert_eq!(net.server.accept_queue_len(PORT), 1);
}
