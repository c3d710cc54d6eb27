//! Values in the file's units (seconds, milliseconds, probabilities, names) checked and
//! turned into the model's, each error naming its field.

use super::schema::*;
use super::{ScenarioError, bad};
use crate::app::Schedule;
use synack_kernel::{SimDuration, SimTime};

pub(super) fn seconds(field: &str, s: f64) -> Result<SimDuration, ScenarioError> {
    SimDuration::try_from_secs_f64(s).ok_or_else(|| {
        let why = if s.is_finite() && s > 0.0 {
            "must be at most 1.8e10 seconds (simulated time ends after about 584 years)"
        } else {
            "must be a finite number of seconds >= 0"
        };
        bad(field, format!("{why}, got {s}"))
    })
}

/// The most events a second a rate may ask for: the clock counts nanoseconds, so a faster
/// rate's gap would round to 0 and the run would never advance.
const MOST_PER_SECOND: f64 = 1e9;

/// A rate, per second: above 0, and at most one event a nanosecond.
pub(super) fn per_second(field: &str, rate: f64) -> Result<f64, ScenarioError> {
    if rate.is_finite() && rate > 0.0 && rate <= MOST_PER_SECOND {
        Ok(rate)
    } else {
        Err(bad(
            field,
            format!(
                "must be above 0 and at most 1e9 per second (the clock counts nanoseconds), got {rate}"
            ),
        ))
    }
}

/// A client's connection schedule; `f` names its fields.
pub(super) fn client_schedule(
    sched: &ScheduleSection,
    f: &dyn Fn(&str) -> String,
) -> Result<Schedule, ScenarioError> {
    let kind = sched.kind.as_str();
    // A key of another kind would be ignored: refused instead.
    let not_for = |key: &str| {
        let keys = if kind == "at" {
            "times_s"
        } else {
            "start_s, per_second and count"
        };
        bad(
            &f(&format!("schedule.{key}")),
            format!("does not apply to kind {kind:?}, which takes {keys}"),
        )
    };
    if kind == "at" {
        for (key, given) in [
            ("start_s", sched.start_s.is_some()),
            ("per_second", sched.per_second.is_some()),
            ("count", sched.count.is_some()),
        ] {
            if given {
                return Err(not_for(key));
            }
        }
    } else if matches!(kind, "rate" | "poisson") && sched.times_s.is_some() {
        return Err(not_for("times_s"));
    }
    let rate = || per_second(&f("schedule.per_second"), sched.per_second.unwrap_or(1.0));
    let start = || at(&f("schedule.start_s"), sched.start_s.unwrap_or(0.0));
    let count = || match sched.count {
        Some(n) if n >= 1 => Ok(n),
        Some(n) => Err(bad(
            &f("schedule.count"),
            format!("must be at least 1 connection, got {n}"),
        )),
        None => Err(bad(
            &f("schedule.count"),
            format!("required for kind {kind:?}: how many connections, at least 1"),
        )),
    };
    Ok(match kind {
        "at" => match sched.times_s.as_deref() {
            Some(times) if !times.is_empty() => Schedule::At(
                times
                    .iter()
                    .map(|&t| at(&f("schedule.times_s"), t))
                    .collect::<Result<_, _>>()?,
            ),
            _ => {
                return Err(bad(
                    &f("schedule.times_s"),
                    "required for kind \"at\": a list of at least one time, seconds",
                ));
            }
        },
        "rate" => Schedule::Rate {
            start: start()?,
            per_second: rate()?,
            count: count()?,
        },
        "poisson" => Schedule::Poisson {
            start: start()?,
            per_second: rate()?,
            count: count()?,
        },
        other => {
            return Err(bad(
                &f("schedule.kind"),
                format!("expected at, rate or poisson, got {other:?}"),
            ));
        }
    })
}

/// A duration given in milliseconds, checked and reported in milliseconds.
pub(super) fn millis(field: &str, ms: f64) -> Result<SimDuration, ScenarioError> {
    SimDuration::try_from_secs_f64(ms / 1e3).ok_or_else(|| {
        let why = if ms.is_finite() && ms > 0.0 {
            "must be at most 1.8e13 milliseconds (simulated time ends after about 584 years)"
        } else {
            "must be a finite number of milliseconds >= 0"
        };
        bad(field, format!("{why}, got {ms}"))
    })
}

pub(super) fn at(field: &str, s: f64) -> Result<SimTime, ScenarioError> {
    Ok(SimTime::ZERO.saturating_add(seconds(field, s)?))
}

pub(super) fn probability(field: &str, p: f64) -> Result<f64, ScenarioError> {
    if (0.0..=1.0).contains(&p) {
        Ok(p)
    } else {
        Err(bad(
            field,
            format!("must be a probability in [0, 1], got {p}"),
        ))
    }
}

pub(super) fn choice<T: Copy>(
    field: &str,
    value: &str,
    options: &[(&str, T)],
) -> Result<T, ScenarioError> {
    options
        .iter()
        .find(|(name, _)| *name == value)
        .map(|&(_, v)| v)
        .ok_or_else(|| {
            bad(
                field,
                format!(
                    "expected one of {}, got {value:?}",
                    options
                        .iter()
                        .map(|(n, _)| *n)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })
}
