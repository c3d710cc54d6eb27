//! A billion events: no counter or clock overflows (u64 everywhere).

use synack_kernel::SimDuration;
use synack_kernel::hold::{HoldConfig, HoldModel};
use synack_kernel::queue::TimingWheel;

#[test]
fn a_billion_events_run_without_overflow() {
    let config = HoldConfig {
        pending: 1000,
        events: 1_000_000_000,
        mean: SimDuration::from_micros(1),
        ..HoldConfig::default()
    };
    let report = HoldModel::<(), TimingWheel<()>>::new(config).run();
    assert_eq!(report.fired, 1_000_000_000);
    // 1000 pending, each held 1 us on average: 10^9 events a simulated second, so the
    // billion take about 1 s.
    assert!(
        (900_000_000..1_100_000_000).contains(&report.sim_end_nanos),
        "{report:?}"
    );
}
