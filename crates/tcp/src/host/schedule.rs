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
pub struct RetrySchedule {
    /// Every transmission, the first included.
    pub sends: Vec<SimTime>,
    /// When the connection failed.
    pub gives_up: SimTime,
}

fn drive(mut conn: Connection, out: &mut Output, start: SimTime) -> RetrySchedule {
    let mut sends = vec![start; out.segments.len()];
    out.clear();
    while let Some(t) = conn.next_deadline() {
        conn.on_timeout(t, out);
        sends.extend(out.segments.iter().map(|_| t));
        if let Some(Event::Failed(e)) = out.events.iter().find(|e| matches!(e, Event::Failed(_))) {
            return RetrySchedule {
                sends,
                gives_up: e.at,
            };
        }
        out.clear();
    }
    unreachable!("a handshake into a black hole always gives up")
}

/// connect() into a black hole: the SYN times and the ETIMEDOUT time.
pub fn connect_into_black_hole(config: &HostConfig) -> RetrySchedule {
    connect_into_black_hole_at(config, SimTime::ZERO)
}

/// The same for a connect() at `start`: on a timer wheel the schedule depends on it.
/// Times are absolute.
pub fn connect_into_black_hole_at(config: &HostConfig, start: SimTime) -> RetrySchedule {
    let mut out = Output::default();
    let conn = Connection::connect(
        Arc::new(config.tcp.clone()),
        40000,
        80,
        Seq(1),
        1,
        start,
        &mut out,
    );
    drive(conn, &mut out, start)
}

/// A SYN whose sender vanishes: the SYN-ACK times and when the request is dropped.
pub fn synack_to_a_vanished_peer(config: &HostConfig) -> RetrySchedule {
    synack_to_a_vanished_peer_at(config, SimTime::ZERO)
}

/// The same for a SYN arriving at `arrival`: on a timer wheel the schedule depends on it.
/// Times are absolute.
pub fn synack_to_a_vanished_peer_at(config: &HostConfig, arrival: SimTime) -> RetrySchedule {
    let mut out = Output::default();
    let mut syn = Segment::new(40000, 80, Seq(1), Seq(0), Flags::SYN);
    syn.window = 65535;
    let conn = Connection::accept(
        Arc::new(config.tcp.clone()),
        &syn,
        Seq(1),
        1,
        arrival,
        &mut out,
    );
    drive(conn, &mut out, arrival)
}

/// How long something lasts from its start, over starts spread evenly across 16.384 s:
/// on a timer wheel it depends on the start's phase (4,096 jiffies at HZ 250 cover every
/// phase of every level a handshake timer reaches); without one every start gives the same.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread {
    /// The shortest, in seconds.
    pub min_s: f64,
    /// The mean, in seconds.
    pub mean_s: f64,
    /// The longest, in seconds.
    pub max_s: f64,
}

fn spread(schedule_from: impl Fn(SimTime) -> RetrySchedule) -> Spread {
    const STARTS: u64 = 4096;
    const SPAN_NANOS: u64 = 16_384_000_000;
    let lasted: Vec<f64> = (0..STARTS)
        .map(|i| {
            let start = SimTime::from_nanos(i * SPAN_NANOS / STARTS);
            schedule_from(start)
                .gives_up
                .saturating_since(start)
                .as_secs_f64()
        })
        .collect();
    Spread {
        min_s: lasted.iter().copied().fold(f64::INFINITY, f64::min),
        mean_s: lasted.iter().sum::<f64>() / lasted.len() as f64,
        max_s: lasted.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    }
}

/// How long a half-open request whose client vanished is kept, SYN to drop.
pub fn half_open_lifetime(config: &HostConfig) -> Spread {
    spread(|arrival| synack_to_a_vanished_peer_at(config, arrival))
}

/// How long connect() into a black hole takes to give up.
pub fn connect_give_up(config: &HostConfig) -> Spread {
    spread(|start| connect_into_black_hole_at(config, start))
}
