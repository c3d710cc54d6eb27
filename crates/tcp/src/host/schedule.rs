//! Measured retry schedules: an endpoint driven into a black hole, its sends and its
//! give-up time recorded. `synack profiles` and the experiments report these, not
//! formulas, so they show what the model does.

use crate::connection::Output;
use crate::host::HostConfig;
use crate::{Connection, Event, Flags, Segment, Seq};
use std::sync::Arc;
use synack_kernel::SimTime;

/// When an endpoint sent, and when it gave up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// Every transmission, the first included.
    pub sends: Vec<SimTime>,
    /// When the connection failed.
    pub gives_up: SimTime,
}

fn drive(mut conn: Connection, out: &mut Output) -> Schedule {
    let mut sends = vec![SimTime::ZERO; out.segments.len()];
    out.clear();
    while let Some(t) = conn.next_deadline() {
        conn.on_timeout(t, out);
        sends.extend(out.segments.iter().map(|_| t));
        if let Some(Event::Failed(e)) = out.events.iter().find(|e| matches!(e, Event::Failed(_))) {
            return Schedule {
                sends,
                gives_up: e.at,
            };
        }
        out.clear();
    }
    unreachable!("a handshake into a black hole always gives up")
}

/// connect() into a black hole: the SYN times and the ETIMEDOUT time.
pub fn connect_into_black_hole(config: &HostConfig) -> Schedule {
    let mut out = Output::default();
    let conn = Connection::connect(
        Arc::new(config.tcp.clone()),
        40000,
        80,
        Seq(1),
        1,
        SimTime::ZERO,
        &mut out,
    );
    drive(conn, &mut out)
}

/// A SYN whose sender vanishes: the SYN-ACK times and when the request is dropped.
pub fn synack_to_a_vanished_peer(config: &HostConfig) -> Schedule {
    let mut out = Output::default();
    let mut syn = Segment::new(40000, 80, Seq(1), Seq(0), Flags::SYN);
    syn.window = 65535;
    let conn = Connection::accept(
        Arc::new(config.tcp.clone()),
        &syn,
        Seq(1),
        1,
        SimTime::ZERO,
        &mut out,
    );
    drive(conn, &mut out)
}
