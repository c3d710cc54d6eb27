//! Simulated time: integer nanoseconds, so runs are exact and reproducible.
//!
//! `u64` nanoseconds covers about 584 years. Arithmetic that would leave that range is
//! reported (`checked_*` returns `None`, the scheduler returns [`KernelError::TimeOverflow`]),
//! never wrapped.
//!
//! [`KernelError::TimeOverflow`]: crate::KernelError::TimeOverflow

use std::fmt;
use std::ops::{Add, Sub};

const NANOS_PER_MICRO: u64 = 1_000;
const NANOS_PER_MILLI: u64 = 1_000_000;
const NANOS_PER_SEC: u64 = 1_000_000_000;

/// An instant of simulated time, in nanoseconds since the start of the run.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SimTime(u64);

/// A span of simulated time, in nanoseconds.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SimDuration(u64);

impl SimTime {
    /// The start of every run.
    pub const ZERO: SimTime = SimTime(0);
    /// The last representable instant.
    pub const MAX: SimTime = SimTime(u64::MAX);

    /// The instant `nanos` nanoseconds after the start.
    pub const fn from_nanos(nanos: u64) -> Self {
        SimTime(nanos)
    }

    /// Whole seconds after the start; `None` past [`SimTime::MAX`].
    pub const fn from_secs(secs: u64) -> Option<Self> {
        match secs.checked_mul(NANOS_PER_SEC) {
            Some(n) => Some(SimTime(n)),
            None => None,
        }
    }

    /// Nanoseconds since the start.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// Seconds since the start, as a float (for output only: it loses precision past 2^53 ns).
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / NANOS_PER_SEC as f64
    }

    /// `self + d`, or `None` past [`SimTime::MAX`].
    pub const fn checked_add(self, d: SimDuration) -> Option<SimTime> {
        match self.0.checked_add(d.0) {
            Some(n) => Some(SimTime(n)),
            None => None,
        }
    }

    /// `self + d`, clamped at [`SimTime::MAX`]; for deadlines that mean "never".
    pub const fn saturating_add(self, d: SimDuration) -> SimTime {
        SimTime(self.0.saturating_add(d.0))
    }

    /// The span from `earlier` to `self`, or `None` if `earlier` is later.
    pub const fn checked_since(self, earlier: SimTime) -> Option<SimDuration> {
        match self.0.checked_sub(earlier.0) {
            Some(n) => Some(SimDuration(n)),
            None => None,
        }
    }

    /// The span from `earlier` to `self`, zero if `earlier` is later.
    pub const fn saturating_since(self, earlier: SimTime) -> SimDuration {
        SimDuration(self.0.saturating_sub(earlier.0))
    }
}

impl SimDuration {
    /// No time at all.
    pub const ZERO: SimDuration = SimDuration(0);
    /// The longest representable span.
    pub const MAX: SimDuration = SimDuration(u64::MAX);

    /// A span of `nanos` nanoseconds.
    pub const fn from_nanos(nanos: u64) -> Self {
        SimDuration(nanos)
    }

    /// A span of `micros` microseconds, saturating at [`SimDuration::MAX`].
    pub const fn from_micros(micros: u64) -> Self {
        SimDuration(micros.saturating_mul(NANOS_PER_MICRO))
    }

    /// A span of `millis` milliseconds, saturating at [`SimDuration::MAX`].
    pub const fn from_millis(millis: u64) -> Self {
        SimDuration(millis.saturating_mul(NANOS_PER_MILLI))
    }

    /// A span of `secs` seconds, saturating at [`SimDuration::MAX`].
    pub const fn from_secs(secs: u64) -> Self {
        SimDuration(secs.saturating_mul(NANOS_PER_SEC))
    }

    /// A span of `secs` seconds, rounded to the nearest nanosecond; `None` if `secs` is
    /// negative, NaN or beyond [`SimDuration::MAX`]. Configuration parsing goes through here.
    pub fn try_from_secs_f64(secs: f64) -> Option<Self> {
        if !secs.is_finite() || secs < 0.0 {
            return None;
        }
        let nanos = (secs * NANOS_PER_SEC as f64).round();
        // u64::MAX as f64 rounds up to 2^64, so `<` is the exact bound.
        (nanos < u64::MAX as f64).then_some(SimDuration(nanos as u64))
    }

    /// A span of `secs` seconds as [`SimDuration::try_from_secs_f64`] makes it, and
    /// [`SimDuration::MAX`] where that gives none (negative, NaN or too long): for drawn
    /// gaps and schedule times, which are never negative and at worst too far to matter.
    pub fn saturating_from_secs_f64(secs: f64) -> Self {
        SimDuration::try_from_secs_f64(secs).unwrap_or(SimDuration::MAX)
    }

    /// Nanoseconds in the span.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// Seconds in the span, as a float (for output and statistics).
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / NANOS_PER_SEC as f64
    }

    /// `self + other`, or `None` past [`SimDuration::MAX`].
    pub const fn checked_add(self, other: SimDuration) -> Option<SimDuration> {
        match self.0.checked_add(other.0) {
            Some(n) => Some(SimDuration(n)),
            None => None,
        }
    }

    /// `self - other`, or `None` if `other` is longer.
    pub const fn checked_sub(self, other: SimDuration) -> Option<SimDuration> {
        match self.0.checked_sub(other.0) {
            Some(n) => Some(SimDuration(n)),
            None => None,
        }
    }

    /// `self + other`, clamped at [`SimDuration::MAX`].
    pub const fn saturating_add(self, other: SimDuration) -> SimDuration {
        SimDuration(self.0.saturating_add(other.0))
    }

    /// `self * factor`, clamped at [`SimDuration::MAX`] (backoff computations).
    pub const fn saturating_mul(self, factor: u64) -> SimDuration {
        SimDuration(self.0.saturating_mul(factor))
    }
}

/// `SimTime + SimDuration` panics on overflow in every build profile, like `Instant`.
/// Code that may overflow uses [`SimTime::checked_add`].
impl Add<SimDuration> for SimTime {
    type Output = SimTime;
    fn add(self, d: SimDuration) -> SimTime {
        self.checked_add(d).expect("SimTime overflow")
    }
}

/// `SimTime - SimTime` panics if the right side is later; use [`SimTime::checked_since`].
impl Sub for SimTime {
    type Output = SimDuration;
    fn sub(self, earlier: SimTime) -> SimDuration {
        self.checked_since(earlier)
            .expect("SimTime subtraction underflow")
    }
}

impl Add for SimDuration {
    type Output = SimDuration;
    fn add(self, other: SimDuration) -> SimDuration {
        self.checked_add(other).expect("SimDuration overflow")
    }
}

/// `SimDuration - SimDuration` panics if the right side is longer; use
/// [`SimDuration::checked_sub`].
impl Sub for SimDuration {
    type Output = SimDuration;
    fn sub(self, other: SimDuration) -> SimDuration {
        self.checked_sub(other)
            .expect("SimDuration subtraction underflow")
    }
}

fn fmt_nanos(nanos: u64, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    write!(f, "{}.{:09}s", nanos / NANOS_PER_SEC, nanos % NANOS_PER_SEC)
}

impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_nanos(self.0, f)
    }
}

impl fmt::Debug for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SimTime({self})")
    }
}

impl fmt::Display for SimDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_nanos(self.0, f)
    }
}

impl fmt::Debug for SimDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SimDuration({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_prints_seconds_with_nanosecond_precision() {
        assert_eq!(
            SimTime::from_nanos(1_500_000_001).to_string(),
            "1.500000001s"
        );
        assert_eq!(SimDuration::from_millis(20).to_string(), "0.020000000s");
    }

    #[test]
    fn checked_add_reports_overflow() {
        assert_eq!(SimTime::MAX.checked_add(SimDuration::from_nanos(1)), None);
        assert_eq!(
            SimTime::from_nanos(u64::MAX - 1).checked_add(SimDuration::from_nanos(1)),
            Some(SimTime::MAX)
        );
    }

    #[test]
    fn from_secs_f64_rejects_negative_nan_and_huge() {
        assert_eq!(SimDuration::try_from_secs_f64(-0.001), None);
        assert_eq!(SimDuration::try_from_secs_f64(f64::NAN), None);
        assert_eq!(SimDuration::try_from_secs_f64(f64::INFINITY), None);
        assert_eq!(SimDuration::try_from_secs_f64(1e12), None);
        assert_eq!(
            SimDuration::try_from_secs_f64(0.0015),
            Some(SimDuration::from_micros(1500))
        );
    }

    #[test]
    fn since_is_checked() {
        let a = SimTime::from_nanos(10);
        let b = SimTime::from_nanos(25);
        assert_eq!(b.checked_since(a), Some(SimDuration::from_nanos(15)));
        assert_eq!(a.checked_since(b), None);
        assert_eq!(a.saturating_since(b), SimDuration::ZERO);
    }
}
