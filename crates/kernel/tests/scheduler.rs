//! The scheduler's contract: ordering, cancellation, run limits, and agreement across queues.

use proptest::prelude::*;
use synack_kernel::queue::{EventQueue, HeapQueue, IndexedQueue, TimingWheel};
use synack_kernel::{KernelError, RunOutcome, Scheduler, SimDuration, SimTime};

fn t(nanos: u64) -> SimTime {
    SimTime::from_nanos(nanos)
}

fn ns(nanos: u64) -> SimDuration {
    SimDuration::from_nanos(nanos)
}

fn run_all<E, Q: EventQueue<E>>(s: &mut Scheduler<E, Q>) -> Vec<(u64, E)> {
    let mut fired = Vec::new();
    s.run(|s, e| fired.push((s.now().as_nanos(), e)));
    fired
}

#[test]
fn schedule_before_now_is_an_error() {
    let mut s: Scheduler<u32> = Scheduler::new();
    s.schedule_at(t(100), 1).unwrap();
    s.step();
    assert_eq!(
        s.schedule_at(t(99), 2),
        Err(KernelError::InPast {
            at: t(99),
            now: t(100)
        })
    );
    assert!(s.schedule_at(t(100), 3).is_ok());
}

#[test]
fn schedule_after_overflow_is_an_error() {
    let mut s: Scheduler<u32> = Scheduler::new();
    s.schedule_at(SimTime::MAX, 1).unwrap();
    assert_eq!(s.step(), Some((SimTime::MAX, 1)));
    assert_eq!(
        s.schedule_after(ns(1), 2),
        Err(KernelError::TimeOverflow {
            now: SimTime::MAX,
            delay: ns(1)
        })
    );
    assert!(s.schedule_after(SimDuration::ZERO, 3).is_ok());
}

#[test]
fn cancelled_event_never_fires() {
    let mut s: Scheduler<&str> = Scheduler::new();
    s.schedule_after(ns(10), "a").unwrap();
    let key = s.schedule_after(ns(20), "b").unwrap();
    s.schedule_after(ns(30), "c").unwrap();
    assert_eq!(s.pending(), 3);
    assert!(s.cancel(key));
    assert_eq!(s.pending(), 2);
    assert_eq!(run_all(&mut s), [(10, "a"), (30, "c")]);
    assert_eq!(s.events_processed(), 2);
}

#[test]
fn cancel_twice_or_after_firing_is_harmless() {
    let mut s: Scheduler<u8> = Scheduler::new();
    let fired = s.schedule_after(ns(1), 1).unwrap();
    let later = s.schedule_after(ns(5), 2).unwrap();
    assert_eq!(s.step(), Some((t(1), 1)));
    assert!(!s.cancel(fired));
    assert!(s.cancel(later));
    assert!(!s.cancel(later));
    assert_eq!(s.step(), None);
    assert!(!s.cancel(later));
    assert_eq!(s.pending(), 0);
}

#[test]
fn cancel_of_a_key_from_another_scheduler_is_ignored() {
    let mut a: Scheduler<u8> = Scheduler::new();
    let mut b: Scheduler<u8> = Scheduler::new();
    let key = a.schedule_after(ns(1), 1).unwrap();
    assert!(!b.cancel(key));
}

#[test]
fn same_instant_runs_in_scheduling_order_including_from_handlers() {
    let mut s: Scheduler<u32> = Scheduler::new();
    for i in 0..3 {
        s.schedule_at(t(5), i).unwrap();
    }
    let mut fired = Vec::new();
    s.run(|s, e| {
        fired.push(e);
        if e == 0 {
            s.schedule_after(SimDuration::ZERO, 10).unwrap();
        }
    });
    assert_eq!(fired, [0, 1, 2, 10]);
}

#[test]
fn run_until_stops_at_the_limit_and_sets_the_clock() {
    let mut s: Scheduler<u32> = Scheduler::new();
    s.schedule_at(t(10), 1).unwrap();
    s.schedule_at(t(20), 2).unwrap();
    s.schedule_at(t(30), 3).unwrap();
    let mut fired = Vec::new();
    assert_eq!(
        s.run_until(t(20), |_, e| fired.push(e)),
        Ok(RunOutcome::ReachedLimit)
    );
    assert_eq!(fired, [1, 2]);
    assert_eq!(s.now(), t(20));
    assert_eq!(
        s.run_until(t(25), |_, e| fired.push(e)),
        Ok(RunOutcome::ReachedLimit)
    );
    assert_eq!(s.now(), t(25));
    assert_eq!(
        s.run_until(t(24), |_, e| fired.push(e)),
        Err(KernelError::InPast {
            at: t(24),
            now: t(25)
        })
    );
    // An event may be scheduled at the new clock, between the limit and the next event.
    s.schedule_at(t(25), 4).unwrap();
    assert_eq!(run_all(&mut s), [(25, 4), (30, 3)]);
}

#[test]
fn request_stop_returns_after_the_current_event() {
    let mut s: Scheduler<u32> = Scheduler::new();
    for i in 0..5 {
        s.schedule_at(t(i * 10), i as u32).unwrap();
    }
    let outcome = s.run(|s, e| {
        if e == 2 {
            s.request_stop();
        }
    });
    assert_eq!(outcome, RunOutcome::Stopped);
    assert_eq!(s.now(), t(20));
    assert_eq!(s.events_processed(), 3);
    assert_eq!(s.run(|_, _| {}), RunOutcome::Exhausted);
    assert_eq!(s.events_processed(), 5);
}

#[derive(Debug, Clone)]
enum Op {
    Schedule(u64),
    /// Cancel the key at this index (modulo the keys handed out).
    Cancel(usize),
    Step,
    RunUntil(u64),
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    let delay = prop_oneof![0u64..3, 0u64..5_000, 0u64..(1 << 30)];
    prop::collection::vec(
        prop_oneof![
            4 => delay.clone().prop_map(Op::Schedule),
            2 => any::<usize>().prop_map(Op::Cancel),
            2 => Just(Op::Step),
            1 => delay.prop_map(Op::RunUntil),
        ],
        1..300,
    )
}

/// Everything observable about a run: what fired when, and what each call returned.
fn trace<Q: EventQueue<usize>>(ops: &[Op]) -> Vec<String> {
    let mut s: Scheduler<usize, Q> = Scheduler::new();
    let mut keys = Vec::new();
    let mut out = Vec::new();
    for op in ops {
        match *op {
            Op::Schedule(delay) => {
                let id = keys.len();
                keys.push(s.schedule_after(ns(delay), id).unwrap());
            }
            Op::Cancel(i) if !keys.is_empty() => {
                out.push(format!("cancel {}", s.cancel(keys[i % keys.len()])));
            }
            Op::Cancel(_) => {}
            Op::Step => out.push(format!("step {:?}", s.step())),
            Op::RunUntil(delay) => {
                let until = s.now() + ns(delay);
                let mut fired = Vec::new();
                s.run_until(until, |s, e| fired.push((s.now(), e))).unwrap();
                out.push(format!("until {until} {fired:?}"));
            }
        }
        out.push(format!("pending {} now {}", s.pending(), s.now()));
    }
    out.push(format!("rest {:?}", run_all(&mut s)));
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn every_queue_gives_the_same_run(ops in ops()) {
        let reference = trace::<HeapQueue<usize>>(&ops);
        prop_assert_eq!(&trace::<TimingWheel<usize>>(&ops), &reference);
        prop_assert_eq!(&trace::<IndexedQueue<usize>>(&ops), &reference);
    }
}

/// Found by `every_queue_gives_the_same_run`: the queue empties by discarding a cancelled
/// event that lies past the clock, then an earlier event is scheduled and cancelled.
#[test]
fn cancel_works_after_the_queue_empties_past_the_clock() {
    let mut s: Scheduler<u8> = Scheduler::new();
    let far = s.schedule_at(t(1_000_000), 1).unwrap();
    assert!(s.cancel(far));
    assert_eq!(s.step(), None);
    assert_eq!(s.now(), t(0));
    let near = s.schedule_at(t(500), 2).unwrap();
    s.schedule_at(t(700), 3).unwrap();
    assert!(!s.cancel(far));
    assert!(s.cancel(near));
    assert_eq!(s.pending(), 1);
    assert_eq!(run_all(&mut s), [(700, 3)]);
}

#[test]
fn step_until_pops_only_what_is_due() {
    let mut s: Scheduler<u8> = Scheduler::new();
    s.schedule_at(t(10), 1).unwrap();
    s.schedule_at(t(20), 2).unwrap();
    assert_eq!(s.step_until(t(15)), Some((t(10), 1)));
    assert_eq!(s.step_until(t(15)), None);
    assert_eq!(s.now(), t(10));
    assert_eq!(s.step_until(t(20)), Some((t(20), 2)));
}

// ---- Tickets ---------------------------------------------------------------------------

/// A chain of held-back events (each scheduled when the one before runs, as a link's queued
/// datagrams are) ranks among same-time events by when each ticket was taken.
fn ticket_chain<Q: EventQueue<&'static str>>() -> Vec<(u64, &'static str)> {
    let mut s: Scheduler<&'static str, Q> = Scheduler::new();
    let first = s.ticket();
    let second = s.ticket();
    s.schedule_with_ticket(t(10), first, "first").unwrap();
    // Scheduled now, after both tickets: ranks after them at t = 10.
    s.schedule_at(t(10), "timer").unwrap();
    let mut fired = Vec::new();
    s.run(|s, e| {
        fired.push((s.now().as_nanos(), e));
        if e == "first" {
            // The held-back event joins the queue only now, and still runs before "timer".
            s.schedule_with_ticket(t(10), second, "second").unwrap();
        }
    });
    fired
}

#[test]
fn ticket_ranks_a_later_scheduled_event_by_when_it_was_taken() {
    let expected = [(10, "first"), (10, "second"), (10, "timer")];
    assert_eq!(ticket_chain::<TimingWheel<_>>(), expected);
    assert_eq!(ticket_chain::<HeapQueue<_>>(), expected);
    assert_eq!(ticket_chain::<IndexedQueue<_>>(), expected);
}

#[test]
fn ticket_whose_place_has_passed_is_refused() {
    let mut s: Scheduler<u32> = Scheduler::new();
    let early = s.ticket();
    s.schedule_at(t(10), 1).unwrap();
    s.schedule_at(t(20), 2).unwrap();
    assert_eq!(s.step(), Some((t(10), 1)));
    // An event at t = 10 ranked before the one that ran would run out of order.
    assert_eq!(
        s.schedule_with_ticket(t(10), early, 3),
        Err(KernelError::TicketPassed { at: t(10) })
    );
    assert!(s.schedule_with_ticket(t(11), early, 3).is_ok());
    assert_eq!(run_all(&mut s), [(11, 3), (20, 2)]);
    // The queue has emptied: every ticket taken before is void.
    let stale = s.ticket();
    s.step();
    assert_eq!(
        s.schedule_with_ticket(t(30), stale, 4),
        Err(KernelError::TicketPassed { at: t(30) })
    );
}
