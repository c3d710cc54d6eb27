//! Two hosts over a 1 ms wire driven by the kernel's scheduler, for the host's tests; a
//! test may drop datagrams with a filter.

use synack_kernel::{RandomStreams, Scheduler, SimDuration, SimTime};
use synack_tcp::host::{
    ConnId, ConnectOptions, Datagram, DemuxHint, Host, HostConfig, Outgoing, Profile,
};
use synack_tcp::{Event, Flags, Segment, Seq};

pub const CLIENT: u32 = 0x0a00_0001;
pub const SERVER: u32 = 0x0a00_0002;
pub const PORT: u16 = 80;

pub fn secs(s: u64) -> SimTime {
    SimTime::from_secs(s).unwrap()
}

pub fn ms(m: u64) -> SimTime {
    SimTime::from_nanos(m * 1_000_000)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    Client,
    Server,
}

pub enum Ev {
    Arrive(Who, Datagram, DemuxHint),
    Wake(Who),
}

/// Decides, from the sender and the datagram, whether the wire loses it.
pub type DropFilter = Box<dyn FnMut(Who, &Datagram) -> bool>;

pub struct Net {
    pub client: Host,
    pub server: Host,
    pub scheduler: Scheduler<Ev>,
    /// Drops a datagram when it returns true.
    pub drop: DropFilter,
    /// Every datagram sent: (time, sender, datagram).
    pub log: Vec<(SimTime, Who, Datagram)>,
    pub events: Vec<(Who, ConnId, Event)>,
}

pub fn linux_without_timestamps() -> HostConfig {
    let mut config = Profile::Linux.config();
    config.tcp.timestamps = false;
    config
}

impl Net {
    pub fn new(client: HostConfig, server: HostConfig) -> Self {
        let streams = RandomStreams::new(3);
        Net {
            client: Host::new(client, vec![CLIENT], &streams, "client", 0).unwrap(),
            server: Host::new(server, vec![SERVER], &streams, "server", 1 << 20).unwrap(),
            scheduler: Scheduler::new(),
            drop: Box::new(|_, _| false),
            log: Vec::new(),
            events: Vec::new(),
        }
    }

    pub fn host(&mut self, who: Who) -> &mut Host {
        match who {
            Who::Client => &mut self.client,
            Who::Server => &mut self.server,
        }
    }

    pub fn now(&self) -> SimTime {
        self.scheduler.now()
    }

    /// Sends what `who` produced and schedules its wake-up (eagerly: at most one a
    /// deadline, duplicates are harmless).
    pub fn flush(&mut self, who: Who) {
        let now = self.now();
        let output = std::mem::take(self.host(who).output());
        for Outgoing { datagram: d, hint } in output.outgoing {
            self.log.push((now, who, d));
            if (self.drop)(who, &d) {
                continue;
            }
            let to = if who == Who::Client {
                Who::Server
            } else {
                Who::Client
            };
            self.scheduler
                .schedule_after(SimDuration::from_millis(1), Ev::Arrive(to, d, hint))
                .unwrap();
        }
        self.events
            .extend(output.events.into_iter().map(|(id, e)| (who, id, e)));
        if let Some(deadline) = self.host(who).next_deadline() {
            self.scheduler
                .schedule_at(deadline.max(now), Ev::Wake(who))
                .unwrap();
        }
    }

    pub fn run_until(&mut self, t: SimTime) {
        self.flush(Who::Client);
        self.flush(Who::Server);
        while let Some((now, ev)) = self.scheduler.step_until(t) {
            match ev {
                Ev::Arrive(who, d, hint) => {
                    self.host(who).handle_with_hint(&d, hint, now);
                    self.flush(who);
                }
                Ev::Wake(who) => {
                    self.host(who).on_timeout(now);
                    self.flush(who);
                }
            }
        }
        self.scheduler.run_until(t, |_, _| {}).unwrap();
    }

    pub fn connect(&mut self) -> ConnId {
        let now = self.now();
        let id = self
            .client
            .connect(SERVER, PORT, ConnectOptions::default(), now)
            .unwrap();
        self.flush(Who::Client);
        id
    }

    /// Segments `who` sent at or after `from`, as (time, flags).
    pub fn sent_by(&self, who: Who, from: SimTime) -> Vec<(SimTime, String)> {
        self.log
            .iter()
            .filter(|(t, w, _)| *w == who && *t >= from)
            .map(|(t, _, d)| (*t, d.segment.flags.to_string()))
            .collect()
    }
}

pub fn client_only(config: HostConfig) -> Host {
    Host::new(config, vec![CLIENT], &RandomStreams::new(5), "client", 0).unwrap()
}

pub fn raw_syn(port: u16, seq: u32) -> Datagram {
    let mut syn = Segment::new(port, PORT, Seq(seq), Seq(0), Flags::SYN);
    syn.mss = Some(1460);
    syn.window = 65535;
    Datagram::new(CLIENT, SERVER, syn)
}
