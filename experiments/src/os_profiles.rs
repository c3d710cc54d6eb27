//! `os_profiles`: the timings that set each OS apart, measured on the model (not read
//! from the configuration), one row per profile:
//! - connect give-up under total loss, and the SYN-ACK give-up for a vanished client
//!   (an endpoint driven into a black hole, as `synack profiles` does);
//! - TIME-WAIT: a clean close on a 5 ms link, then the time from entering TIME-WAIT until
//!   the client's TIME-WAIT count falls to zero, found by bisection on the run's end;
//! - FIN-WAIT-2: the client closes and the server never does; from entering FIN-WAIT-2
//!   until the timeout closes it;
//! - keepalive detection: keepalive on (the profile's settings, or Linux's 7200 s idle,
//!   75 s apart, 9 probes where the profile has it off), the server crashes after the
//!   exchange; from the client's last received segment until it reports ETIMEDOUT.
//!
//! The `reference_*` columns give `crates/tcp/REFERENCE.md`'s value where it
//! has one (empty where it does not, and the profile keeps Linux's value).

use crate::grid::{Axis, Point, Value};
use crate::half_open_lifetime::WHEEL_LATE_AT_MOST;
use crate::plot::PlotSpec;
use crate::{Experiment, Measured, Preset, host_counters, run_world};
use std::cell::RefCell;
use std::rc::Rc;
use synack_kernel::SimTime;
use synack_link::Way;
use synack_net::{Observer, SegmentFate};
use synack_tcp::host::schedule::{connect_into_black_hole, synack_to_a_vanished_peer};
use synack_tcp::host::{Datagram, Profile};
use synack_tcp::{Cause, FourTuple, State, Transition};

/// The experiment.
pub struct OsProfiles;

/// The reference's values, in seconds: connect give-up, SYN-ACK give-up, TIME-WAIT,
/// FIN-WAIT-2 timeout, keepalive detection (`None`: the reference does not say).
pub fn reference(profile: Profile) -> [Option<f64>; 5] {
    let r = profile.reference();
    [
        r.connect_gives_up,
        r.synack_gives_up,
        r.time_wait,
        r.fin_wait_2,
        r.keepalive_detection,
    ]
    .map(|d| d.map(|d| d.as_secs_f64()))
}

/// Transition times seen on the client.
#[derive(Default)]
struct Seen {
    time_wait_at: Option<SimTime>,
    fin_wait_2_at: Option<SimTime>,
    fin_wait_2_timeout_at: Option<SimTime>,
    keepalive_failed_at: Option<SimTime>,
    last_delivered_to_client: Option<SimTime>,
}

struct Watch(Rc<RefCell<Seen>>);

impl Observer for Watch {
    fn segment(&mut self, at: SimTime, _: &str, way: Way, _: &Datagram, fate: SegmentFate) {
        // The link's forward way is client0 -> server0.
        if way == Way::Backward && fate == SegmentFate::Delivered {
            self.0.borrow_mut().last_delivered_to_client = Some(at);
        }
    }

    fn transition(&mut self, node: &str, _: &FourTuple, t: &Transition) {
        if node != "client0" {
            return;
        }
        let mut seen = self.0.borrow_mut();
        match (t.from, t.to, t.cause) {
            (_, State::TimeWait, _) => seen.time_wait_at = Some(t.at),
            (_, State::FinWait2, _) => seen.fin_wait_2_at = Some(t.at),
            (State::FinWait2, State::Closed, Cause::FinWait2Timeout) => {
                seen.fin_wait_2_timeout_at = Some(t.at)
            }
            (State::Established, State::Closed, Cause::Timeout) => {
                seen.keepalive_failed_at = Some(t.at)
            }
            _ => {}
        }
    }
}

/// One connection at 1 s on a 5 ms link, both hosts on `profile`; the server closes as
/// told and crashes at `crash_s` if given.
fn scenario(profile: Profile, duration_s: f64, server_close: &str, client_close: &str) -> String {
    format!(
        r#"duration_s = {duration_s}
[link]
delay_ms = 5.0
[client_tcp]
profile = "{profile}"
[server_tcp]
profile = "{profile}"
[[servers]]
close = "{server_close}"
request_bytes = 100
response_bytes = 100
[[clients]]
schedule = {{ kind = "at", times_s = [1.0] }}
request_bytes = 100
response_bytes = 100
close = "{client_close}"
"#
    )
}

fn watched(
    text: &str,
    seed: u64,
    tweak: impl FnOnce(&mut synack_net::WorldSpec) -> Result<(), String>,
) -> Result<(Seen, synack_net::Summary), String> {
    let seen = Rc::new(RefCell::new(Seen::default()));
    let summary = run_world(text, seed, tweak, Some(Box::new(Watch(Rc::clone(&seen)))))?;
    let seen = Rc::try_unwrap(seen)
        .map_err(|_| "the observer outlived the run")?
        .into_inner();
    Ok((seen, summary))
}

fn since(later: Option<SimTime>, earlier: Option<SimTime>, what: &str) -> Result<f64, String> {
    match (later, earlier) {
        (Some(l), Some(e)) => Ok(l.saturating_since(e).as_secs_f64()),
        _ => Err(format!("{what}: not observed")),
    }
}

/// TIME-WAIT length: bisection on the run's end for when the entry is gone.
fn time_wait_s(name: Profile, seed: u64) -> Result<f64, String> {
    let at = |end: f64| -> Result<(Seen, u64), String> {
        let text = scenario(name, end, "wait-for-client", "active");
        let (seen, summary) = watched(&text, seed, |_| Ok(()))?;
        Ok((seen, host_counters(&summary, "client0")?.time_wait))
    };
    let (seen, _) = at(2.0)?;
    let entered = seen.time_wait_at.ok_or("TIME-WAIT: not entered")?;
    let (mut held, mut gone) = (entered.as_secs_f64(), entered.as_secs_f64() + 1000.0);
    if at(gone)?.1 != 0 {
        return Err("TIME-WAIT: still held after 1000 s".into());
    }
    // To 1 microsecond.
    while gone - held > 1e-6 {
        let mid = (held + gone) / 2.0;
        if at(mid)?.1 == 0 {
            gone = mid;
        } else {
            held = mid;
        }
    }
    Ok(((gone - entered.as_secs_f64()) * 1e3).round() / 1e3)
}

fn cell(v: Option<f64>) -> Value {
    v.map_or(Value::Str(String::new()), Value::Float)
}

impl Experiment for OsProfiles {
    fn name(&self) -> &'static str {
        "os_profiles"
    }

    fn about(&self) -> &'static str {
        "Each OS profile's connect give-up time under total loss against its TIME-WAIT length, measured on the model; the CSV also has the SYN-ACK give-up, FIN-WAIT-2 timeout and keepalive detection time, each beside the reference value"
    }

    fn axes(&self) -> Vec<Axis> {
        vec![Axis::profiles(
            "profile",
            "OS profile of both hosts",
            &Profile::ALL,
            &Profile::ALL,
        )]
    }

    fn columns(&self) -> Vec<(&'static str, &'static str)> {
        vec![
            (
                "connect_give_up_s",
                "connect() into a black hole fails after",
            ),
            ("synack_retransmits", "SYN-ACKs resent to a vanished client"),
            ("synack_give_up_s", "the half-open request is dropped after"),
            ("time_wait_s", "TIME-WAIT length"),
            ("fin_wait_2_s", "FIN-WAIT-2 timeout of a closed socket"),
            (
                "keepalive_detect_s",
                "keepalive on: a dead peer is detected after this long idle",
            ),
            ("reference_connect_give_up_s", "the reference's value"),
            ("reference_synack_give_up_s", "the reference's value"),
            ("reference_time_wait_s", "the reference's value"),
            ("reference_fin_wait_2_s", "the reference's value"),
            ("reference_keepalive_detect_s", "the reference's value"),
            (
                "matches_reference",
                "every value the reference gives is measured exactly (the handshake's give-ups on a timer wheel: no earlier, at most 5% later)",
            ),
        ]
    }

    fn run(&self, point: &Point, _preset: Preset) -> Result<Measured, String> {
        let name = point.profile("profile");
        let config = name.config();
        let connect = connect_into_black_hole(&config).gives_up.as_secs_f64();
        let synack = synack_to_a_vanished_peer(&config);
        let time_wait = time_wait_s(name, point.seed)?;

        let text = scenario(name, 400.0, "never", "active");
        let (seen, summary) = watched(&text, point.seed, |_| Ok(()))?;
        let mut events = summary.events;
        let fin_wait_2 = since(seen.fin_wait_2_timeout_at, seen.fin_wait_2_at, "FIN-WAIT-2")?;

        let keepalive = config.tcp.keepalive.unwrap_or_default();
        let text = scenario(name, 10_000.0, "never", "passive")
            + "[[faults]]\nkind = \"crash\"\nhost = \"server0\"\nat_s = 2.0\n";
        let (seen, summary) = watched(&text, point.seed, |spec| {
            for host in spec.nodes.iter_mut().filter_map(|n| n.host.as_mut()) {
                host.tcp.keepalive = Some(keepalive);
            }
            Ok(())
        })?;
        events += summary.events;
        let detect = since(
            seen.keepalive_failed_at,
            seen.last_delivered_to_client,
            "keepalive",
        )?;

        let measured = [
            connect,
            synack.gives_up.as_secs_f64(),
            time_wait,
            fin_wait_2,
            detect,
        ];
        let reference = reference(name);
        // The handshake's timers (the first two values) run late on a timer wheel: never
        // early, and at most 5% late (Linux 6.18 measured up to 4.3%: crates/tcp/src/wheel.rs).
        let slack = |i: usize| match config.tcp.timer_wheel {
            Some(_) if i < 2 => WHEEL_LATE_AT_MOST,
            _ => 0.0,
        };
        let matches = measured
            .iter()
            .zip(reference)
            .enumerate()
            .all(|(i, (m, r))| {
                r.is_none_or(|r| *m >= r - 1e-9 && *m <= r * (1.0 + slack(i)) + 1e-9)
            });
        let mut values = vec![
            Value::Float(connect),
            Value::Int(synack.sends.len() as i64 - 1),
            Value::Float(measured[1]),
            Value::Float(time_wait),
            Value::Float(fin_wait_2),
            Value::Float(detect),
        ];
        values.extend(reference.into_iter().map(cell));
        values.push(Value::Str(if matches { "yes" } else { "no" }.into()));
        Ok(Measured { values, events })
    }

    fn plot(&self) -> PlotSpec {
        PlotSpec::new(
            "Connect give-up under total loss against TIME-WAIT length, by OS profile",
            "time_wait_s",
            "connect_give_up_s",
            Some("profile"),
        )
        .theory("reference_connect_give_up_s")
    }
}
