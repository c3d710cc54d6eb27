//! The host's performance machinery, seen from inside: the demultiplexing hints that ride
//! beside datagrams, prefetching, and slot reuse. None of it may change what a host does.

use super::{ConnId, ConnectOptions, Datagram, DemuxHint, Host, NO_SLOT, Outgoing, Profile, State};
use crate::Flags;
use synack_kernel::{RandomStreams, SimTime};

const CLIENT: u32 = 1;
const SERVER: u32 = 2;
const PORT: u16 = 80;

/// A client and a server joined by a wire without delay or loss.
struct Pair {
    client: Host,
    server: Host,
    /// Every datagram delivered: (sent by the client, datagram, hint).
    log: Vec<(bool, Datagram, DemuxHint)>,
}

impl Pair {
    fn new() -> Self {
        let streams = RandomStreams::new(3);
        let config = Profile::Linux.config();
        let client = Host::new(config.clone(), vec![CLIENT], &streams, "client", 0).unwrap();
        let mut server = Host::new(config, vec![SERVER], &streams, "server", 1 << 20).unwrap();
        server.listen(PORT, 16).unwrap();
        Pair {
            client,
            server,
            log: Vec::new(),
        }
    }

    /// Delivers what each host sent to the other until both are quiet.
    fn settle(&mut self, now: SimTime) {
        loop {
            let mut quiet = true;
            for from_client in [true, false] {
                let (from, to) = if from_client {
                    (&mut self.client, &mut self.server)
                } else {
                    (&mut self.server, &mut self.client)
                };
                let output = std::mem::take(from.output());
                for Outgoing { datagram: d, hint } in output.outgoing {
                    quiet = false;
                    self.log.push((from_client, d, hint));
                    to.handle_with_hint(&d, hint, now);
                }
            }
            if quiet {
                return;
            }
        }
    }

    /// Opens a connection and accepts it: (client's, server's).
    fn open(&mut self, now: SimTime) -> (ConnId, ConnId) {
        let client = self
            .client
            .connect(SERVER, PORT, ConnectOptions::default(), now)
            .unwrap();
        self.settle(now);
        (client, self.server.accept(PORT).unwrap().unwrap())
    }

    /// The client closes `id`; its FIN is taken off the wire and returned with its hint.
    fn take_fin(&mut self, id: ConnId, now: SimTime) -> (Datagram, DemuxHint) {
        self.client.close(id, now).unwrap();
        let output = std::mem::take(self.client.output());
        let fin = (output.outgoing[0].datagram, output.outgoing[0].hint);
        assert!(fin.0.segment.has(Flags::FIN));
        fin
    }
}

fn ms(m: u64) -> SimTime {
    SimTime::from_nanos(m * 1_000_000)
}

#[test]
fn established_datagrams_carry_both_sockets_slots() {
    let mut pair = Pair::new();
    // An extra socket on the server, so the two hosts' slots differ.
    pair.server
        .connect(CLIENT, 9, ConnectOptions::default(), SimTime::ZERO)
        .unwrap();
    pair.server.output().clear();
    let (client, server) = pair.open(SimTime::ZERO);
    assert_ne!(client.slot, server.slot);
    let hints: Vec<_> = pair.log.iter().map(|(c, _, h)| (*c, *h)).collect();
    let hint = |from, to| DemuxHint { from, to };
    assert_eq!(
        hints,
        [
            (true, hint(client.slot, NO_SLOT)),
            (false, hint(server.slot, client.slot)),
            (true, hint(client.slot, server.slot)),
        ]
    );
}

#[test]
fn established_wrong_demux_hint_still_reaches_the_tuples_socket() {
    let mut pair = Pair::new();
    let (first, first_server) = pair.open(SimTime::ZERO);
    let (second, second_server) = pair.open(SimTime::ZERO);
    let (fin, hint) = pair.take_fin(first, ms(10));
    assert_eq!(hint.to, first_server.slot);
    // Naming the second connection's socket.
    let wrong = DemuxHint {
        to: second_server.slot,
        ..hint
    };
    pair.server.handle_with_hint(&fin, wrong, ms(11));
    assert_eq!(pair.server.state(first_server), Some(State::CloseWait));
    assert_eq!(pair.server.state(second_server), Some(State::Established));
    // Naming a slot that does not exist.
    let (second_fin, hint) = pair.take_fin(second, ms(12));
    let missing = DemuxHint {
        to: 1_000_000,
        ..hint
    };
    pair.server.handle_with_hint(&second_fin, missing, ms(13));
    assert_eq!(pair.server.state(second_server), Some(State::CloseWait));
}

#[test]
fn established_prefetch_with_any_hint_changes_nothing() {
    let mut pair = Pair::new();
    let (client, server) = pair.open(SimTime::ZERO);
    let (fin, hint) = pair.take_fin(client, ms(10));
    // A small host skips prefetching; one with as many sockets as the threshold does it.
    assert!(!pair.server.prefetch(&fin, hint));
    for _ in 1..Host::PREFETCH_FROM {
        pair.server
            .connect(CLIENT, 9, ConnectOptions::default(), ms(10))
            .unwrap();
    }
    pair.server.output().clear();
    // Hints naming the socket, no socket, a slot past the end and the largest slot.
    for to in [server.slot, NO_SLOT, 1_000_000, u32::MAX - 1] {
        assert!(pair.server.prefetch(&fin, DemuxHint { to, ..hint }));
    }
    assert_eq!(pair.server.state(server), Some(State::Established));
    assert!(pair.server.output().is_empty());
    pair.server.handle_with_hint(&fin, hint, ms(11));
    assert_eq!(pair.server.state(server), Some(State::CloseWait));
}

#[test]
fn crash_reuses_slots_under_new_generations() {
    let mut pair = Pair::new();
    let (before, _) = pair.open(SimTime::ZERO);
    pair.client.crash(ms(5));
    pair.client.reboot();
    let after = pair
        .client
        .connect(SERVER, PORT, ConnectOptions::default(), ms(10))
        .unwrap();
    assert_eq!(after.slot, before.slot, "the slot is reused");
    assert_ne!(after, before);
    assert_eq!(pair.client.state(before), None);
    assert_eq!(pair.client.state(after), Some(State::SynSent));
}
