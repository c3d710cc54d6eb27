//! The classic hold benchmark, the same workload as `benches/ns3/ns3_hold.cc`.
//!
//! `pending` events are scheduled up front; each fired event schedules one more at
//! `now + 1 ns + Exp(mean)`, truncated to whole nanoseconds as ns-3's `NanoSeconds()` does.
//! With `churn`, every fired hold event also re-arms a timer: it cancels the timer it armed
//! last time and arms a new one at `now + 1 ns + Exp(mean)`, so half of all scheduled events
//! are cancelled before they fire, as TCP retransmission timers are.
//!
//! Wall-clock timing is the caller's business (the kernel never reads a clock).

use crate::queue::EventQueue;
use crate::{EventKey, RandomStreams, Scheduler, SimDuration, SimRng};
use rand_distr::{Distribution, Exp1};

/// What one hold run does.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HoldConfig {
    /// Events pending at all times.
    pub pending: usize,
    /// Events to fire (timer events that fire count too).
    pub events: u64,
    /// Mean of the exponential hold time; ns-3's anchor uses 1 ms.
    pub mean: SimDuration,
    /// Re-arm a timer on every event; see the module documentation.
    pub churn: bool,
    /// Run seed.
    pub seed: u64,
}

impl Default for HoldConfig {
    fn default() -> Self {
        HoldConfig {
            pending: 1000,
            events: 10_000_000,
            mean: SimDuration::from_millis(1),
            churn: false,
            seed: crate::DEFAULT_SEED,
        }
    }
}

/// What a hold run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HoldReport {
    /// Events fired.
    pub fired: u64,
    /// Timers cancelled before they fired.
    pub cancelled: u64,
    /// Simulated time at the end.
    pub sim_end_nanos: u64,
}

/// The churn variant's event payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldEvent {
    /// A hold event: schedules its successor.
    Hold,
    /// A churn timer that fired before it was cancelled.
    Timer,
}

/// What a hold event carries. Plain hold events carry nothing (`()`), as ns-3's `Hold()`
/// takes no argument, which keeps queue entries at 16 bytes; the churn variant needs
/// [`HoldEvent`] to tell timers apart.
pub trait HoldPayload: Copy + PartialEq {
    /// The payload of a hold event.
    const HOLD: Self;
    /// The payload of a churn timer, if this payload can express one.
    const TIMER: Option<Self>;
}

impl HoldPayload for () {
    const HOLD: Self = ();
    const TIMER: Option<Self> = None;
}

impl HoldPayload for HoldEvent {
    const HOLD: Self = HoldEvent::Hold;
    const TIMER: Option<Self> = Some(HoldEvent::Timer);
}

/// A hold model with its initial events scheduled, ready to [`HoldModel::run`].
pub struct HoldModel<P: HoldPayload, Q: EventQueue<P>> {
    config: HoldConfig,
    scheduler: Scheduler<P, Q>,
    rng: SimRng,
    mean_nanos: f64,
}

impl<P: HoldPayload, Q: EventQueue<P>> HoldModel<P, Q> {
    /// Schedules the `pending` initial events.
    ///
    /// # Panics
    /// If `config.churn` is set and `P` cannot express a timer (use [`HoldEvent`]).
    pub fn new(config: HoldConfig) -> Self {
        assert!(
            !config.churn || P::TIMER.is_some(),
            "the churn variant needs the HoldEvent payload"
        );
        let mean_nanos = config.mean.as_nanos() as f64;
        let mut model = HoldModel {
            config,
            scheduler: Scheduler::new(),
            rng: RandomStreams::new(config.seed).stream("hold"),
            mean_nanos,
        };
        for _ in 0..config.pending {
            let delay = model.draw();
            model
                .scheduler
                .schedule_after(delay, P::HOLD)
                .expect("hold delays are far from overflow");
        }
        model
    }

    fn draw(&mut self) -> SimDuration {
        hold_delay(&mut self.rng, self.mean_nanos)
    }

    /// Fires `events` events.
    pub fn run(mut self) -> HoldReport {
        let mut timer: Option<EventKey> = None;
        let mut cancelled = 0;
        let events = self.config.events;
        for fired in 1..=events {
            let Some((_, event)) = self.scheduler.step() else {
                break;
            };
            // The last event only counts, as in ns-3's anchor, where it calls Stop().
            if fired == events || event != P::HOLD {
                continue;
            }
            let delay = hold_delay(&mut self.rng, self.mean_nanos);
            self.scheduler
                .schedule_after(delay, P::HOLD)
                .expect("hold delays are far from overflow");
            if self.config.churn
                && let Some(timer_event) = P::TIMER
            {
                if let Some(old) = timer.take() {
                    cancelled += u64::from(self.scheduler.cancel(old));
                }
                let delay = hold_delay(&mut self.rng, self.mean_nanos);
                timer = self.scheduler.schedule_after(delay, timer_event).ok();
            }
        }
        HoldReport {
            fired: self.scheduler.events_processed(),
            cancelled,
            sim_end_nanos: self.scheduler.now().as_nanos(),
        }
    }
}

/// 1 ns + Exp(mean), truncated to whole nanoseconds as ns-3's `NanoSeconds()` does.
#[inline]
fn hold_delay(rng: &mut SimRng, mean_nanos: f64) -> SimDuration {
    let exp: f64 = Exp1.sample(rng);
    // Through i64: one instruction where `as u64` takes several; the product is < 2^63.
    SimDuration::from_nanos(1 + (exp * mean_nanos) as i64 as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::{HeapQueue, TimingWheel};

    #[test]
    fn hold_fires_exactly_the_requested_events() {
        let config = HoldConfig {
            pending: 100,
            events: 10_000,
            ..HoldConfig::default()
        };
        let report = HoldModel::<(), TimingWheel<_>>::new(config).run();
        assert_eq!(report.fired, 10_000);
        assert_eq!(report.cancelled, 0);
    }

    #[test]
    fn churn_cancels_about_half_of_what_it_schedules() {
        let config = HoldConfig {
            pending: 1000,
            events: 20_000,
            churn: true,
            ..HoldConfig::default()
        };
        let report = HoldModel::<HoldEvent, TimingWheel<_>>::new(config).run();
        // Nearly every timer is cancelled, since the next event comes ~1 us later on average.
        assert!(report.cancelled > 19_000, "{report:?}");
    }

    #[test]
    fn hold_is_identical_across_queues() {
        let config = HoldConfig {
            pending: 500,
            events: 50_000,
            churn: true,
            ..HoldConfig::default()
        };
        let wheel = HoldModel::<HoldEvent, TimingWheel<_>>::new(config).run();
        let heap = HoldModel::<HoldEvent, HeapQueue<_>>::new(config).run();
        assert_eq!(wheel, heap);
        let plain = HoldConfig {
            churn: false,
            ..config
        };
        let wheel = HoldModel::<(), TimingWheel<_>>::new(plain).run();
        let heap = HoldModel::<(), HeapQueue<_>>::new(plain).run();
        assert_eq!(wheel, heap);
    }
}
