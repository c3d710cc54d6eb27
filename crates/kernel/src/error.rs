use crate::{SimDuration, SimTime};

/// What the kernel refuses to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KernelError {
    /// An event (or a run limit) was asked for before the current simulated time.
    #[error("cannot schedule at {at}: it is before now ({now})")]
    InPast {
        /// The time asked for.
        at: SimTime,
        /// The scheduler's current time.
        now: SimTime,
    },
    /// `now + delay` does not fit in [`SimTime`] (about 584 years of nanoseconds).
    #[error("cannot schedule {delay} after {now}: simulated time would overflow")]
    TimeOverflow {
        /// The scheduler's current time.
        now: SimTime,
        /// The delay asked for.
        delay: SimDuration,
    },
}
