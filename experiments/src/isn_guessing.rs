//! `isn_guessing`: an off-path attacker injects a RST, or a data segment, into an idle
//! established connection, guessing the sequence numbers it cannot see. Its success per
//! attempt depends on how predictable the ISNs are, and on RFC 5961.
//!
//! The victim is a client connected to a public server; the attacker spoofs the server.
//! It knows the 4-tuple and that no data has flowed yet, and connected to the server
//! itself one second before the victim did, so it saw the server's ISN then. It guesses
//! the server's ISN for the victim's connection from that, by generator:
//! - `constant`: the same number;
//! - `counter`: the next one (+64,000);
//! - `clock4us` and `rfc6528`: its ISN plus the clock's ticks since, with the victim's
//!   connect time known to within +-0.5 s (uniform), so within +-125,000 ticks. With
//!   `rfc6528` the keyed hash differs for every 4-tuple, which makes what it saw
//!   worthless: it guesses uniformly over 2^32.
//!
//! For data it also needs an acceptable ACK number, the client's ISN + 1: the client's
//! generator, guessed the same way (its clock-based ISN from the same estimate of the
//! connect time). Each victim is a fresh pair of hosts (the probe is the server's first
//! connection, the victim's its second and the client's first), so attempts on
//! successive victims are independent trials. Each attempt is one segment: a RST (success: the connection is reset),
//! or a window's worth of data, as a burst of full segments would carry (success: bytes
//! of it reach the application). A success starts a fresh victim connection.
//!
//! Without RFC 5961 a RST anywhere in the receive window (131,072 bytes) resets, so with
//! RFC 6528 the chance is window / 2^32 = 3.05e-5; with it only a RST at exactly RCV.NXT
//! does (1 / 2^32), and data needs an ACK within the peer's last window (65,535 bytes) of
//! SND.NXT. Timestamps are off (PAWS would add its own check).

use crate::grid::{Axis, Point, Value};
use crate::plot::PlotSpec;
use crate::{Experiment, Measured, Preset};
use rand::RngExt;
use std::sync::Arc;
use synack_kernel::{RandomStreams, SimDuration, SimRng, SimTime};
use synack_tcp::{
    Connection, DataId, Flags, FourTuple, IsnGenerator, IsnSource, Output, Segment, Seq, State,
    TcpConfig,
};

/// The experiment.
pub struct IsnGuessing;

/// The client's receive window: what a blind RST must land in without RFC 5961.
pub const RECEIVE_WINDOW: u32 = 131_072;
const SERVER_WINDOW: u32 = 65_535;
const GENERATORS: [&str; 4] = ["constant", "counter", "clock4us", "rfc6528"];
const COUNTER_STEP: u32 = 64_000;
const SERVER: u32 = 0x0a00_0201;
const CLIENT: u32 = 0x0a00_0101;
const ATTACKER: u32 = 0x0a00_0301;

/// ISN values a clock-driven guess is spread over: +-0.5 s of 4 us ticks, ends included.
const CLOCK_SPREAD: f64 = 250_001.0;

/// The chance per attempt that theory gives. A predictable ISN is guessed exactly. A blind
/// RST lands anywhere in the window without RFC 5961, and must hit RCV.NXT with it. With
/// the 4 us clock the attacker's guess is off by e, uniform over the spread; without RFC
/// 5961 the RST lands when RCV.NXT <= guess < RCV.NXT + window, for e in (-window, 0],
/// which is the half of the spread below the guess, since the window (131,072) exceeds
/// the half-spread (125,000). With RFC 6528 every value is equally likely.
pub fn success_predicted(isn: &str, rst: bool, rfc5961: bool) -> f64 {
    let window = f64::from(RECEIVE_WINDOW);
    match (isn, rst, rfc5961) {
        ("constant" | "counter", ..) => 1.0,
        ("clock4us", true, false) => window.min(CLOCK_SPREAD.div_euclid(2.0) + 1.0) / CLOCK_SPREAD,
        ("clock4us", true, true) => 1.0 / CLOCK_SPREAD,
        ("rfc6528", true, false) => window / 2f64.powi(32),
        ("rfc6528", true, true) => 1.0 / 2f64.powi(32),
        _ => f64::NAN,
    }
}

fn generator(name: &str) -> Result<IsnGenerator, String> {
    Ok(match name {
        "constant" => IsnGenerator::Constant(1_000_000),
        "counter" => IsnGenerator::Counter {
            start: 1_000_000,
            step: COUNTER_STEP,
        },
        "clock4us" => IsnGenerator::Clock4us,
        "rfc6528" => IsnGenerator::Rfc6528,
        other => return Err(format!("isn {other}: expected one of {GENERATORS:?}")),
    })
}

fn attempts(preset: Preset) -> u64 {
    match preset {
        Preset::Quick => 1_000_000,
        Preset::Full => 20_000_000,
    }
}

/// A victim connection and what the attacker knows of it.
struct Victim {
    conn: Connection,
    /// The server's ISN the attacker saw on its own connection, and when.
    probe: (Seq, SimTime),
    connected_at: SimTime,
}

/// Where the victims come from: each is a fresh pair of hosts (new ISN sources, keys
/// and counters), so attempts on successive victims are independent trials.
struct Hosts {
    generator: IsnGenerator,
    keys: SimRng,
    config: Arc<TcpConfig>,
    now: SimTime,
}

impl Hosts {
    fn victim(&mut self) -> Result<Victim, String> {
        let mut server = IsnSource::new(self.generator, &mut self.keys);
        let mut client = IsnSource::new(self.generator, &mut self.keys);
        self.now = self.now.saturating_add(SimDuration::from_secs(10));
        let probe_at = self.now.saturating_add(SimDuration::from_secs(1));
        let connected_at = probe_at.saturating_add(SimDuration::from_secs(1));
        let attacker_tuple = FourTuple {
            local_addr: SERVER,
            local_port: 80,
            remote_addr: ATTACKER,
            remote_port: 50_000,
        };
        let probe = server.isn(&attacker_tuple, probe_at);
        let client_isn = client.isn(
            &FourTuple {
                local_addr: CLIENT,
                local_port: 40_000,
                remote_addr: SERVER,
                remote_port: 80,
            },
            connected_at,
        );
        let server_isn = server.isn(
            &FourTuple {
                local_addr: SERVER,
                local_port: 80,
                remote_addr: CLIENT,
                remote_port: 40_000,
            },
            connected_at,
        );
        let mut out = Output::default();
        let mut conn = Connection::connect(
            Arc::clone(&self.config),
            40_000,
            80,
            client_isn,
            1,
            connected_at,
            &mut out,
        );
        let mut synack = Segment::new(
            80,
            40_000,
            server_isn,
            client_isn + 1,
            Flags::SYN | Flags::ACK,
        );
        synack.window = SERVER_WINDOW;
        synack.mss = Some(1460);
        synack.window_scale = Some(7);
        conn.handle(&synack, connected_at, &mut out);
        if conn.state() != State::Established {
            return Err(format!("victim in {} after the SYN-ACK", conn.state()));
        }
        self.now = connected_at;
        Ok(Victim {
            conn,
            probe: (probe, probe_at),
            connected_at,
        })
    }
}

/// The attacker's guess of a host's ISN for the victim's connection.
fn guess(
    generator: IsnGenerator,
    seen: Option<(Seq, SimTime)>,
    estimate: SimTime,
    rng: &mut SimRng,
) -> Seq {
    let ticks = |t: SimTime| (t.as_nanos() / 4_000) as u32;
    match (generator, seen) {
        // The keyed hash differs for every 4-tuple: nothing seen narrows the guess.
        (IsnGenerator::Rfc6528, _) => Seq(rng.random()),
        (IsnGenerator::Constant(c), _) => Seq(c),
        (IsnGenerator::Counter { step, .. }, Some((isn, _))) => isn + step,
        // The client's first connection: the counter's start.
        (IsnGenerator::Counter { start, .. }, None) => Seq(start),
        (_, Some((isn, at))) => isn + ticks(estimate).wrapping_sub(ticks(at)),
        (_, None) => Seq(ticks(estimate)),
    }
}

impl Experiment for IsnGuessing {
    fn name(&self) -> &'static str {
        "isn_guessing"
    }

    fn about(&self) -> &'static str {
        "An off-path attacker's chance per attempt of resetting a connection (or injecting data) with guessed sequence numbers, by ISN generator, with and without RFC 5961: 1 for predictable ISNs, about a half with RFC 793's 4 us clock and a connect time known to a second, window / 2^32 for RFC 6528, and RFC 5961 cuts the RST's chance to one value in the spread (theory dotted; a point with no success is left out)"
    }

    fn axes(&self) -> Vec<Axis> {
        vec![
            Axis::strs(
                "isn",
                "ISN generator of both hosts",
                &GENERATORS,
                &GENERATORS,
            ),
            Axis::strs(
                "attack",
                "a RST, or a window of data",
                &["rst", "data"],
                &["rst", "data"],
            ),
            Axis::strs(
                "rfc5961",
                "RFC 5961 checks on the victim",
                &["off", "on"],
                &["off", "on"],
            ),
        ]
    }

    fn columns(&self) -> Vec<(&'static str, &'static str)> {
        vec![
            ("attempts", "segments the attacker sent"),
            (
                "successes",
                "attempts that reset the connection or delivered data",
            ),
            ("success_probability", "successes / attempts"),
            (
                "attempts_per_success",
                "attempts / max(successes, 1): at least what one success costs",
            ),
            (
                "window_over_2_32",
                "receive window / 2^32, the blind in-window chance",
            ),
            (
                "uncertainty_bits",
                "log2 of the ISN values the attacker's guess is spread over",
            ),
            ("variant", "attack and RFC 5961, for the plot's lines"),
            (
                "success_predicted",
                "chance per attempt from the guess's spread (module doc); NaN for data with a clock-driven ISN, which needs both numbers and has no closed form here",
            ),
        ]
    }

    fn run(&self, point: &Point, preset: Preset) -> Result<Measured, String> {
        let isn = generator(point.str("isn"))?;
        let rst = match point.str("attack") {
            "rst" => true,
            "data" => false,
            other => return Err(format!("attack {other}: expected rst or data")),
        };
        let rfc5961 = match point.str("rfc5961") {
            "on" => true,
            "off" => false,
            other => return Err(format!("rfc5961 {other}: expected on or off")),
        };
        let streams = RandomStreams::new(point.seed);
        let mut attacker: SimRng = streams.stream("attacker");
        let mut hosts = Hosts {
            generator: isn,
            keys: streams.stream("hosts/isn"),
            config: Arc::new(TcpConfig {
                rfc5961,
                timestamps: false,
                recv_buffer: RECEIVE_WINDOW,
                // Both ends scale their windows, so the whole buffer is the window; without a
                // scale it would be at most 65,535 bytes (RFC 7323 2.2).
                window_scale: Some(7),
                ..TcpConfig::default()
            }),
            now: SimTime::ZERO,
        };
        let mut victim = hosts.victim()?;
        let mut out = Output::default();
        let (tries, mut successes) = (attempts(preset), 0u64);
        for _ in 0..tries {
            let error_ns = attacker.random_range(-500_000_000i64..=500_000_000);
            let estimate = SimTime::from_nanos(
                victim
                    .connected_at
                    .as_nanos()
                    .saturating_add_signed(error_ns),
            );
            let seq = guess(isn, Some(victim.probe), estimate, &mut attacker) + 1;
            let hit = if rst {
                let segment = Segment::new(80, 40_000, seq, Seq(0), Flags::RST);
                victim.conn.handle(&segment, hosts.now, &mut out);
                victim.conn.state() != State::Established
            } else {
                let ack = guess(isn, None, estimate, &mut attacker) + 1;
                let mut segment = Segment::new(80, 40_000, seq, ack, Flags::ACK | Flags::PSH);
                segment.len = RECEIVE_WINDOW;
                segment.window = SERVER_WINDOW;
                segment.data = DataId {
                    incarnation: u32::MAX,
                    offset: 0,
                };
                victim.conn.handle(&segment, hosts.now, &mut out);
                victim.conn.integrity().wrong_incarnation > 0
            };
            out.clear();
            if hit {
                successes += 1;
                victim = hosts.victim()?;
            }
        }
        let window = f64::from(RECEIVE_WINDOW) / 2f64.powi(32);
        let predicted = success_predicted(point.str("isn"), rst, rfc5961);
        Ok(Measured {
            values: vec![
                Value::Int(tries as i64),
                Value::Int(successes as i64),
                Value::Float(successes as f64 / tries as f64),
                Value::Float(tries as f64 / successes.max(1) as f64),
                Value::Float(window),
                Value::Float(match isn {
                    IsnGenerator::Constant(_) | IsnGenerator::Counter { .. } => 0.0,
                    // +-0.5 s of 4 us ticks.
                    IsnGenerator::Clock4us => 250_001f64.log2(),
                    IsnGenerator::Rfc6528 => 32.0,
                }),
                Value::Str(format!(
                    "{} / RFC 5961 {}",
                    point.str("attack"),
                    point.str("rfc5961")
                )),
                Value::Float(predicted),
            ],
            events: tries,
        })
    }

    fn plot(&self) -> PlotSpec {
        // Zero successes have no place on a log axis and are left out (their Wilson bound
        // is in no way a measurement); the prediction is drawn wherever theory gives one.
        PlotSpec::new(
            "Blind attempts' chance of success against the bits of ISN the attacker cannot predict",
            "uncertainty_bits",
            "success_probability",
            Some("variant"),
        )
        .log_y()
        .trials("attempts")
        .theory("success_predicted")
        .labels(
            "Bits of the ISN the attacker cannot predict",
            "Chance of success per attempt",
        )
    }
}
