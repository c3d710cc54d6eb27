//! Properties over random configurations and traffic.

use proptest::prelude::*;
use synack_kernel::{RandomStreams, SimDuration, SimTime};
use synack_link::{
    Delay, Direction, DirectionConfig, Fate, Loss, Order, Packet, PacketFates, QueueLimit,
};

fn nanos(max: u64) -> impl Strategy<Value = SimDuration> {
    (0..=max).prop_map(SimDuration::from_nanos)
}

fn delay_distribution() -> impl Strategy<Value = Delay> {
    const MS: u64 = 1_000_000;
    prop_oneof![
        nanos(5 * MS).prop_map(Delay::Constant),
        (nanos(5 * MS), nanos(5 * MS)).prop_map(|(a, b)| Delay::Uniform {
            min: a.min(b),
            max: a.max(b)
        }),
        (nanos(5 * MS), nanos(5 * MS)).prop_map(|(mean, std_dev)| Delay::Normal { mean, std_dev }),
        nanos(5 * MS).prop_map(|mean| Delay::Exponential { mean }),
        (1..5 * MS, 0.5f64..4.0).prop_map(|(scale, shape)| Delay::Pareto {
            scale: SimDuration::from_nanos(scale),
            shape
        }),
        (nanos(MS), nanos(10 * MS))
            .prop_map(|(a, b)| Delay::Empirical(vec![(0.2, a.min(b)), (1.0, a.max(b))])),
    ]
}

fn config() -> impl Strategy<Value = DirectionConfig<u32>> {
    let loss = prop_oneof![
        Just(Loss::None),
        (0.0f64..=1.0).prop_map(|probability| Loss::Bernoulli { probability }),
        (0.0f64..=1.0, 0.01f64..=1.0, 0.0f64..=1.0).prop_map(|(g, b, l)| Loss::GilbertElliott {
            good_to_bad: g,
            bad_to_good: b,
            loss_good: 0.0,
            loss_bad: l,
        }),
    ];
    // Mostly lifetimes on the scale of the delays, so that copies do cross them.
    let lifetime = prop_oneof![
        1 => Just(None),
        4 => (0u64..20_000_000).prop_map(|n| Some(SimDuration::from_nanos(n))),
        1 => (0u64..200_000_000_000).prop_map(|n| Some(SimDuration::from_nanos(n))),
    ];
    let bandwidth = prop_oneof![Just(None), (1_000_000u64..10_000_000_000).prop_map(Some)];
    let order = prop_oneof![Just(Order::Fifo), Just(Order::Reorder)];
    (
        (
            nanos(10_000_000),
            delay_distribution(),
            order,
            0.0f64..=0.3,
            delay_distribution(),
        ),
        (bandwidth, 0u32..50, loss),
        (0.0f64..=0.5, delay_distribution(), 0.0f64..=0.2, lifetime),
    )
        .prop_map(
            |(
                (delay, jitter, order, reorder_probability, reorder_delay),
                (bandwidth_bps, queue, loss),
                (duplicate_probability, duplicate_delay, corrupt_probability, max_lifetime),
            )| DirectionConfig {
                delay,
                jitter,
                order,
                reorder_probability,
                reorder_delay,
                bandwidth_bps,
                queue: QueueLimit::Packets(queue),
                loss,
                rules: Vec::new(),
                black_holes: Vec::new(),
                duplicate_probability,
                duplicate_delay,
                corrupt_probability,
                max_lifetime,
            },
        )
}

/// Packets as (gap since the previous one in ns, size in bytes).
fn traffic() -> impl Strategy<Value = Vec<(u64, u32)>> {
    prop::collection::vec((0u64..2_000_000, 40u32..1500), 1..300)
}

fn run(
    config: &DirectionConfig<u32>,
    traffic: &[(u64, u32)],
    seed: u64,
) -> Vec<(SimTime, u32, PacketFates)> {
    let mut d = Direction::new(config.clone(), &RandomStreams::new(seed), "p").unwrap();
    let mut now = SimTime::ZERO;
    traffic
        .iter()
        .enumerate()
        .map(|(i, &(gap, size))| {
            now = now + SimDuration::from_nanos(gap);
            let packet = Packet {
                size_bytes: size,
                payload: i as u32,
            };
            (now, size, d.transmit(&packet, now))
        })
        .collect()
}

fn arrivals(v: &PacketFates) -> impl Iterator<Item = SimTime> {
    [Some(v.original), v.duplicate]
        .into_iter()
        .flatten()
        .filter_map(|f| match f {
            Fate::Delivered { at, .. } => Some(at),
            Fate::Dropped(_) => None,
        })
}

fn serialization(config: &DirectionConfig<u32>, size: u32) -> u64 {
    config.bandwidth_bps.map_or(0, |bps| {
        (u128::from(size) * 8_000_000_000).div_ceil(u128::from(bps)) as u64
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn no_copy_arrives_before_delay_plus_serialization(config in config(), traffic in traffic(), seed in any::<u64>()) {
        for (sent, size, v) in run(&config, &traffic, seed) {
            let earliest = sent.as_nanos() + config.delay.as_nanos() + serialization(&config, size);
            for at in arrivals(&v) {
                prop_assert!(at.as_nanos() >= earliest, "arrived {at}, earliest {earliest} ns");
            }
        }
    }

    #[test]
    fn no_copy_arrives_after_the_lifetime(config in config(), traffic in traffic(), seed in any::<u64>()) {
        if let Some(lifetime) = config.max_lifetime {
            for (sent, _, v) in run(&config, &traffic, seed) {
                for at in arrivals(&v) {
                    prop_assert!(at - sent <= lifetime);
                }
            }
        }
    }

    #[test]
    fn fifo_mode_never_reorders(config in config(), traffic in traffic(), seed in any::<u64>()) {
        let config = DirectionConfig { order: Order::Fifo, reorder_probability: 0.0, ..config };
        let originals: Vec<SimTime> = run(&config, &traffic, seed)
            .iter()
            .filter_map(|(_, _, v)| match v.original {
                Fate::Delivered { at, .. } => Some(at),
                Fate::Dropped(_) => None,
            })
            .collect();
        prop_assert!(originals.windows(2).all(|w| w[0] <= w[1]), "{originals:?}");
    }

    #[test]
    fn the_same_seed_gives_the_same_fates(config in config(), traffic in traffic(), seed in any::<u64>()) {
        prop_assert_eq!(run(&config, &traffic, seed), run(&config, &traffic, seed));
    }
}
