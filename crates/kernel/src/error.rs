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
    /// A ticket whose place in the order of events has already passed: events due at `at`
    /// with later tickets have run, or the queue has emptied since it was taken.
    #[error("cannot schedule at {at} with a ticket taken before events that have already run")]
    TicketPassed {
        /// The time asked for.
        at: SimTime,
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
