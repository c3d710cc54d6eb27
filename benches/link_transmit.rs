//! Cost of one link verdict. The common case, which the issue sets at well under 100 ns a
//! packet: Bernoulli loss and a constant delay, 1,000-byte packets on a 10 Gbit/s link, one
//! packet a microsecond (so the queue stays short). The other cases price the extras.

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use synack_kernel::{RandomStreams, SimDuration, SimTime};
use synack_link::{Delay, Direction, DirectionConfig, Loss, Order, Packet};

const PACKETS: u64 = 100_000;

fn bench_case(c: &mut Criterion, name: &str, config: DirectionConfig<u64>) {
    let mut g = c.benchmark_group("link_transmit");
    g.throughput(Throughput::Elements(PACKETS));
    g.bench_function(name, |b| {
        b.iter_batched(
            || Direction::new(config.clone(), &RandomStreams::new(1), "bench").unwrap(),
            |mut d| {
                for i in 0..PACKETS {
                    let packet = Packet {
                        size_bytes: 1000,
                        payload: i,
                    };
                    black_box(d.transmit(&packet, SimTime::from_nanos(i * 1000)));
                }
                d
            },
            BatchSize::LargeInput,
        );
    });
    g.finish();
}

fn link(c: &mut Criterion) {
    let common = DirectionConfig {
        loss: Loss::Bernoulli { probability: 0.01 },
        ..DirectionConfig::default()
    };
    bench_case(c, "bernoulli_constant_delay", common.clone());
    bench_case(
        c,
        "gilbert_elliott_normal_jitter",
        DirectionConfig {
            loss: Loss::GilbertElliott {
                good_to_bad: 0.01,
                bad_to_good: 0.3,
                loss_good: 0.001,
                loss_bad: 0.5,
            },
            jitter: Delay::Normal {
                mean: SimDuration::from_micros(100),
                std_dev: SimDuration::from_micros(30),
            },
            order: Order::Reorder,
            ..common.clone()
        },
    );
    bench_case(
        c,
        "duplication_corruption",
        DirectionConfig {
            duplicate_probability: 0.05,
            duplicate_delay: Delay::Pareto {
                scale: SimDuration::from_millis(10),
                shape: 1.5,
            },
            corrupt_probability: 0.01,
            ..common
        },
    );
}

criterion_group!(benches, link);
criterion_main!(benches);
