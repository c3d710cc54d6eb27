//! A driver for one endpoint: the test plays the peer, packetdrill-style. Our ISS is 1000
//! and the peer's 5000 unless a test says otherwise; our port is 40000, the peer's 80.
#![allow(dead_code)]

pub mod host_pair;

use std::sync::Arc;
use synack_kernel::{SimDuration, SimTime};
use synack_tcp::{
    Connection, DataId, Event, Flags, Output, Segment, Seq, State, TcpConfig, Transition,
};

pub const OURS: u16 = 40000;
pub const THEIRS: u16 = 80;
pub const ISS: u32 = 1000;
pub const PEER_ISS: u32 = 5000;
pub const PEER_INCARNATION: u32 = 2;

/// Segments as tests compare them: flags, seq, ack, len.
pub type Wire = (String, u32, u32, u32);

pub fn wire(s: &Segment) -> Wire {
    (
        s.flags.to_string(),
        s.seq.0,
        if s.has(Flags::ACK) { s.ack.0 } else { 0 },
        s.len,
    )
}

pub fn secs(s: u64) -> SimTime {
    SimTime::from_secs(s).unwrap()
}

pub fn ms(m: u64) -> SimTime {
    SimTime::from_nanos(m * 1_000_000)
}

/// The default test configuration: Linux defaults without timestamps (so segments are
/// bare) and without delayed ACKs unless a test asks.
pub fn config() -> TcpConfig {
    TcpConfig {
        timestamps: false,
        ..TcpConfig::default()
    }
}

pub struct Driver {
    pub conn: Connection,
    pub out: Output,
    pub now: SimTime,
}

/// A segment from the peer.
pub fn from_peer(flags: Flags, seq: u32, ack: u32, len: u32) -> Segment {
    let mut s = Segment::new(THEIRS, OURS, Seq(seq), Seq(ack), flags);
    s.window = 65535;
    s.len = len;
    s.data = DataId {
        incarnation: PEER_INCARNATION,
        offset: u64::from(seq.wrapping_sub(PEER_ISS + 1)),
    };
    if flags.has(Flags::SYN) {
        s.mss = Some(1460);
    }
    s
}

impl Driver {
    /// An active open at time 0.
    pub fn connect(config: TcpConfig) -> Self {
        Self::connect_with_iss(config, ISS)
    }

    pub fn connect_with_iss(config: TcpConfig, iss: u32) -> Self {
        Self::open(config, iss, 0)
    }

    /// An active open at time 0 whose SYN carries `syn_data` bytes (Fast Open).
    pub fn connect_with_data(config: TcpConfig, syn_data: u64) -> Self {
        Self::open(config, ISS, syn_data)
    }

    fn open(config: TcpConfig, iss: u32, syn_data: u64) -> Self {
        let mut out = Output::default();
        let conn = Connection::connect_with_data(
            Arc::new(config),
            OURS,
            THEIRS,
            Seq(iss),
            1,
            syn_data,
            SimTime::ZERO,
            &mut out,
        );
        Driver {
            conn,
            out,
            now: SimTime::ZERO,
        }
    }

    /// A passive open at time 0, from the peer's SYN.
    pub fn accept(config: TcpConfig) -> Self {
        Self::accept_syn_data(config, 0)
    }

    /// A passive open at time 0, from the peer's SYN carrying `syn_data` bytes.
    pub fn accept_syn_data(config: TcpConfig, syn_data: u32) -> Self {
        let mut out = Output::default();
        let mut syn = from_peer(Flags::SYN, PEER_ISS, 0, syn_data);
        syn.src_port = THEIRS;
        syn.dst_port = OURS;
        let conn = Connection::accept(Arc::new(config), &syn, Seq(ISS), 1, SimTime::ZERO, &mut out);
        Driver {
            conn,
            out,
            now: SimTime::ZERO,
        }
    }

    /// Active open completed: SYN out, SYN-ACK in, ACK out. Output cleared.
    pub fn established(config: TcpConfig) -> Self {
        let mut d = Self::connect(config);
        d.recv(Flags::SYN | Flags::ACK, PEER_ISS, ISS + 1, 0);
        assert_eq!(d.conn.state(), State::Established);
        d.out.clear();
        d
    }

    /// The segments sent since the last call.
    pub fn sent(&mut self) -> Vec<Wire> {
        let wires = self.out.segments.iter().map(wire).collect();
        self.out.segments.clear();
        wires
    }

    pub fn events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.out.events)
    }

    pub fn transitions(&mut self) -> Vec<(State, State)> {
        std::mem::take(&mut self.out.transitions)
            .into_iter()
            .map(|t: Transition| (t.from, t.to))
            .collect()
    }

    /// The peer's segment arrives now.
    pub fn recv(&mut self, flags: Flags, seq: u32, ack: u32, len: u32) {
        let seg = from_peer(flags, seq, ack, len);
        self.conn.handle(&seg, self.now, &mut self.out);
    }

    pub fn recv_segment(&mut self, seg: &Segment) {
        self.conn.handle(seg, self.now, &mut self.out);
    }

    /// Moves the clock to `t` and runs whatever timers are due on the way, in order.
    pub fn run_until(&mut self, t: SimTime) {
        while let Some(deadline) = self.conn.next_deadline() {
            if deadline > t {
                break;
            }
            self.now = deadline;
            self.conn.on_timeout(deadline, &mut self.out);
        }
        self.now = t;
    }

    /// Runs timers until the connection finishes or `limit` passes; returns the times at
    /// which segments went out, with the segments.
    pub fn timeline(&mut self, limit: SimTime) -> Vec<(SimTime, Wire)> {
        let mut seen = Vec::new();
        while let Some(deadline) = self.conn.next_deadline() {
            if deadline > limit {
                break;
            }
            self.now = deadline;
            self.conn.on_timeout(deadline, &mut self.out);
            for s in self.out.segments.drain(..) {
                seen.push((deadline, wire(&s)));
            }
        }
        seen
    }

    pub fn send(&mut self, bytes: u64) {
        self.conn.send(bytes, self.now, &mut self.out).unwrap();
    }

    pub fn close(&mut self) {
        self.conn.close(self.now, &mut self.out).unwrap();
    }

    pub fn after(&self, d: SimDuration) -> SimTime {
        self.now + d
    }
}

pub fn w(flags: &str, seq: u32, ack: u32, len: u32) -> Wire {
    (flags.to_string(), seq, ack, len)
}
