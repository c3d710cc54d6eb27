//! Short connection lifecycles through the whole stack (the `synack bench lifecycle`
//! workload, the ns-3 anchor's scenario): open, send 1,000 bytes, close, TIME-WAIT.
//! Throughput is in lifecycles. Two shapes: 10,000 a second with a 50 ms MSL (about 1,000
//! connections open at a time), and 10,000 opened at once (10 s MSL), whose cost per
//! lifecycle should not grow with the connections open.

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use synack_kernel::SimDuration;
use synack_net::lifecycle::Lifecycle;

const CONNECTIONS: u64 = 10_000;

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("lifecycle");
    g.throughput(Throughput::Elements(CONNECTIONS));
    g.sample_size(20);
    for (name, rate, msl) in [
        ("rate_10k_msl_50ms", 10_000.0, SimDuration::from_millis(50)),
        ("all_at_once_msl_10s", 1e7, SimDuration::from_secs(10)),
    ] {
        let workload = Lifecycle {
            connections: CONNECTIONS,
            rate,
            msl,
            bytes: 1000,
            seed: 1,
        };
        g.bench_function(name, |b| {
            b.iter_batched(
                || workload.world().expect("a valid workload"),
                |mut world| {
                    let report = workload.finish(&mut world);
                    assert_eq!(report.client_closed, CONNECTIONS);
                    report
                },
                BatchSize::LargeInput,
            );
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
