//! synack's discrete-event kernel: simulated time, the event queue, and seeded random
//! streams. It knows nothing of networks.
//!
//! The API is small, after nexosim: [`Scheduler::schedule_at`] and
//! [`Scheduler::schedule_after`] return an [`EventKey`] for [`Scheduler::cancel`];
//! [`Scheduler::step`], [`Scheduler::run`] and [`Scheduler::run_until`] advance the clock.
//!
//! ```
//! use synack_kernel::{Scheduler, SimDuration, SimTime};
//!
//! let mut scheduler: Scheduler<&str> = Scheduler::new();
//! scheduler.schedule_after(SimDuration::from_millis(5), "second").unwrap();
//! let key = scheduler.schedule_after(SimDuration::from_millis(9), "cancelled").unwrap();
//! scheduler.schedule_at(SimTime::from_nanos(1), "first").unwrap();
//! scheduler.cancel(key);
//! let mut seen = Vec::new();
//! scheduler.run(|s, event| seen.push((s.now().as_nanos(), event)));
//! assert_eq!(seen, [(1, "first"), (5_000_000, "second")]);
//! ```

pub mod chunked;
mod error;
pub mod hint;
pub mod hold;
pub mod queue;
mod rng;
mod scheduler;
mod time;

pub use error::KernelError;
pub use rng::{DEFAULT_SEED, RandomStreams, SimRng};
pub use scheduler::{EventKey, RunOutcome, Scheduler, Ticket};
pub use time::{SimDuration, SimTime};
