//! The hold model on every queue (`synack bench hold` prints the same workload's figure for
//! comparison with ns-3): K pending events, each fired event schedules one more at
//! now + 1 ns + Exp(1 ms). `churn` also re-arms a timer on every event, cancelling half of
//! all scheduled events before they fire.

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use synack_kernel::hold::{HoldConfig, HoldEvent, HoldModel, HoldPayload};
use synack_kernel::queue::{EventQueue, HeapQueue, IndexedQueue, TimingWheel};

const EVENTS: u64 = 1_000_000;

fn bench_queue<P: HoldPayload, Q: EventQueue<P>>(c: &mut Criterion, group: &str, churn: bool) {
    let mut g = c.benchmark_group(group);
    g.sample_size(10).throughput(Throughput::Elements(EVENTS));
    for pending in [1_000usize, 100_000, 1_000_000] {
        let config = HoldConfig {
            pending,
            events: EVENTS,
            churn,
            ..HoldConfig::default()
        };
        g.bench_with_input(BenchmarkId::new(Q::NAME, pending), &config, |b, &config| {
            b.iter_batched(
                || HoldModel::<P, Q>::new(config),
                HoldModel::run,
                BatchSize::PerIteration,
            );
        });
    }
    g.finish();
}

fn hold(c: &mut Criterion) {
    bench_queue::<(), TimingWheel<()>>(c, "hold", false);
    bench_queue::<(), HeapQueue<()>>(c, "hold", false);
    bench_queue::<(), IndexedQueue<()>>(c, "hold", false);
}

fn hold_churn(c: &mut Criterion) {
    bench_queue::<HoldEvent, TimingWheel<HoldEvent>>(c, "hold_churn", true);
    bench_queue::<HoldEvent, HeapQueue<HoldEvent>>(c, "hold_churn", true);
    bench_queue::<HoldEvent, IndexedQueue<HoldEvent>>(c, "hold_churn", true);
}

criterion_group!(benches, hold, hold_churn);
criterion_main!(benches);
