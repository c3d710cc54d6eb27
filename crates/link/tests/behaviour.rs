//! Exact, deterministic behaviour of one direction: queue and serialization, rules, black
//! holes, lifetime, ordering, and configuration errors.

use synack_kernel::{RandomStreams, SimDuration, SimTime};
use synack_link::{
    Delay, Direction, DirectionConfig, DropCause, DropRule, Fate, Link, LinkConfig, Loss, Order,
    Packet, PacketFates, QueueLimit, Way,
};

fn t(nanos: u64) -> SimTime {
    SimTime::from_nanos(nanos)
}

fn ms(millis: u64) -> SimDuration {
    SimDuration::from_millis(millis)
}

fn direction<P>(config: DirectionConfig<P>) -> Direction<P> {
    Direction::new(config, &RandomStreams::new(7), "test").unwrap()
}

fn packet(size_bytes: u32, payload: u32) -> Packet<u32> {
    Packet {
        size_bytes,
        payload,
    }
}

fn delivered_at(v: PacketFates) -> SimTime {
    match v.original {
        Fate::Delivered { at, corrupt: false } => at,
        other => panic!("expected an intact delivery, got {other:?}"),
    }
}

#[test]
fn burst_into_a_full_queue_drops_exactly_the_overflow() {
    // 1,000-byte packets at 8 Mbit/s: 1 ms each on the wire. 20 sent at once into a queue
    // of 5: one goes straight onto the wire, 5 wait, 14 overflow.
    let (burst, queue) = (20u32, 5u32);
    let mut d = direction(DirectionConfig {
        delay: ms(10),
        bandwidth_bps: Some(8_000_000),
        queue: QueueLimit::Packets(queue),
        ..DirectionConfig::default()
    });
    let verdicts: Vec<_> = (0..burst)
        .map(|i| d.transmit(&packet(1000, i), t(0)))
        .collect();
    let arrivals: Vec<SimTime> = verdicts
        .iter()
        .filter(|v| v.original != Fate::Dropped(DropCause::QueueOverflow))
        .map(|&v| delivered_at(v))
        .collect();
    assert_eq!(arrivals.len(), 1 + queue as usize);
    assert_eq!(
        d.stats().dropped(DropCause::QueueOverflow),
        u64::from(burst - 1 - queue)
    );
    // The k-th accepted packet finishes serializing at (k + 1) ms, then propagates 10 ms.
    let expected: Vec<SimTime> = (0..=u64::from(queue))
        .map(|k| t((k + 11) * 1_000_000))
        .collect();
    assert_eq!(arrivals, expected);
    // Waits were 0, 1, ..., 5 ms.
    assert_eq!(d.stats().queueing_delay_max, ms(5));
    assert_eq!(d.stats().queueing_delay_total, ms(15));
    assert_eq!(
        d.stats().mean_queueing_delay(),
        SimDuration::from_micros(2500)
    );
}

#[test]
fn queue_drains_as_the_wire_frees() {
    let mut d = direction(DirectionConfig {
        delay: ms(1),
        bandwidth_bps: Some(8_000_000),
        queue: QueueLimit::Packets(1),
        ..DirectionConfig::default()
    });
    assert!(matches!(
        d.transmit(&packet(1000, 0), t(0)).original,
        Fate::Delivered { .. }
    ));
    assert!(matches!(
        d.transmit(&packet(1000, 1), t(0)).original,
        Fate::Delivered { .. }
    ));
    assert_eq!(
        d.transmit(&packet(1000, 2), t(0)).original,
        Fate::Dropped(DropCause::QueueOverflow)
    );
    // At 1 ms packet 1 starts on the wire, so the queue has room again.
    assert_eq!(
        delivered_at(d.transmit(&packet(1000, 3), t(1_000_000))),
        t(4_000_000)
    );
}

#[test]
fn byte_limit_counts_waiting_bytes() {
    let mut d = direction(DirectionConfig {
        bandwidth_bps: Some(8_000_000),
        queue: QueueLimit::Bytes(1500),
        ..DirectionConfig::default()
    });
    let fates: Vec<bool> = [1000, 1000, 500, 1]
        .iter()
        .map(|&size| {
            matches!(
                d.transmit(&packet(size, 0), t(0)).original,
                Fate::Delivered { .. }
            )
        })
        .collect();
    // The first goes to the wire; 1000 + 500 bytes then fill the queue exactly.
    assert_eq!(fates, [true, true, true, false]);
}

#[test]
fn infinite_bandwidth_has_no_serialization_or_queue() {
    let mut d = direction(DirectionConfig {
        delay: ms(3),
        bandwidth_bps: None,
        queue: QueueLimit::Packets(0),
        ..DirectionConfig::default()
    });
    for i in 0..10 {
        assert_eq!(
            delivered_at(d.transmit(&packet(1500, i), t(5))),
            t(3_000_005)
        );
    }
}

#[test]
fn nth_rule_drops_exactly_that_packet() {
    let mut d = direction(DirectionConfig {
        rules: vec![DropRule::nth(3)],
        ..DirectionConfig::default()
    });
    let kept: Vec<u32> = (1..=6)
        .filter(|&i| {
            d.transmit(&packet(60, i), t(u64::from(i) * 1000)).original
                != Fate::Dropped(DropCause::Rule)
        })
        .collect();
    assert_eq!(kept, [1, 2, 4, 5, 6]);
    assert_eq!(d.stats().dropped(DropCause::Rule), 1);
}

#[test]
fn predicate_rule_with_max_drops_drops_only_the_first_match() {
    // Payload 2 stands for "SYN-ACK": drop the first one only.
    let mut d = direction(DirectionConfig {
        rules: vec![DropRule::matching(|p: &u32| *p == 2).at_most(1)],
        ..DirectionConfig::default()
    });
    let fates: Vec<bool> = [1, 2, 2, 3, 2]
        .iter()
        .enumerate()
        .map(|(i, &p)| {
            d.transmit(&packet(60, p), t(i as u64 * 1000)).original
                == Fate::Dropped(DropCause::Rule)
        })
        .collect();
    assert_eq!(fates, [false, true, false, false, false]);
}

#[test]
fn rule_window_limits_when_it_acts() {
    let mut d = direction(DirectionConfig {
        rules: vec![DropRule::matching(|_: &u32| true).within(t(100), t(200))],
        ..DirectionConfig::default()
    });
    let fates: Vec<bool> = [50, 100, 199, 200]
        .iter()
        .map(|&at| d.transmit(&packet(60, 0), t(at)).original == Fate::Dropped(DropCause::Rule))
        .collect();
    assert_eq!(fates, [false, true, true, false]);
}

#[test]
fn black_hole_drops_everything_sent_inside_it() {
    let mut d = direction(DirectionConfig {
        black_holes: vec![(t(1_000), t(2_000))],
        ..DirectionConfig::default()
    });
    let fates: Vec<bool> = [999, 1_000, 1_999, 2_000]
        .iter()
        .map(|&at| {
            d.transmit(&packet(60, 0), t(at)).original == Fate::Dropped(DropCause::BlackHole)
        })
        .collect();
    assert_eq!(fates, [false, true, true, false]);
    assert_eq!(d.stats().dropped(DropCause::BlackHole), 2);
}

#[test]
fn lingering_duplicate_past_the_lifetime_expires() {
    let mut d = direction(DirectionConfig {
        delay: ms(1),
        bandwidth_bps: None,
        duplicate_probability: 1.0,
        duplicate_delay: Delay::Constant(SimDuration::from_secs(30)),
        max_lifetime: Some(SimDuration::from_secs(10)),
        ..DirectionConfig::default()
    });
    let v = d.transmit(&packet(60, 0), t(0));
    assert_eq!(
        v.original,
        Fate::Delivered {
            at: t(1_000_000),
            corrupt: false
        }
    );
    assert_eq!(v.duplicate, Some(Fate::Dropped(DropCause::Expired)));
    assert_eq!(d.stats().duplicated, 1);
    assert_eq!(d.stats().dropped(DropCause::Expired), 1);
    assert_eq!(d.stats().delivered_packets, 1);
}

#[test]
fn duplicate_within_the_lifetime_arrives_late() {
    let mut d = direction(DirectionConfig {
        delay: ms(1),
        bandwidth_bps: None,
        duplicate_probability: 1.0,
        duplicate_delay: Delay::Constant(SimDuration::from_secs(30)),
        ..DirectionConfig::default()
    });
    let v = d.transmit(&packet(60, 0), t(0));
    assert_eq!(
        v.duplicate,
        Some(Fate::Delivered {
            at: t(30_001_000_000),
            corrupt: false
        })
    );
}

#[test]
fn fifo_jitter_waits_for_the_packet_ahead() {
    // Uniform jitter up to 50 ms on 1 ms spacing would reorder freely; FIFO never does.
    let config = |order| DirectionConfig {
        delay: ms(5),
        bandwidth_bps: None,
        jitter: Delay::Uniform {
            min: SimDuration::ZERO,
            max: ms(50),
        },
        order,
        ..DirectionConfig::default()
    };
    let arrivals = |order| {
        let mut d = direction(config(order));
        let times: Vec<SimTime> = (0..1000)
            .map(|i| delivered_at(d.transmit(&packet(60, i), t(u64::from(i) * 1_000_000))))
            .collect();
        (times, d.stats().reordered)
    };
    let (fifo, fifo_reordered) = arrivals(Order::Fifo);
    assert!(fifo.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(fifo_reordered, 0);
    let (free, free_reordered) = arrivals(Order::Reorder);
    assert!(free.windows(2).any(|w| w[0] > w[1]));
    assert!(free_reordered > 100, "{free_reordered}");
}

#[test]
fn reorder_probability_holds_packets_back_even_in_fifo_mode() {
    let mut d = direction(DirectionConfig {
        delay: ms(1),
        bandwidth_bps: None,
        reorder_probability: 0.2,
        reorder_delay: Delay::Constant(ms(10)),
        ..DirectionConfig::default()
    });
    let arrivals: Vec<SimTime> = (0..1000)
        .map(|i| delivered_at(d.transmit(&packet(60, i), t(u64::from(i) * 1_000_000))))
        .collect();
    let held = arrivals
        .iter()
        .enumerate()
        .filter(|&(i, &at)| at == t((i as u64 + 11) * 1_000_000))
        .count();
    assert!((150..250).contains(&held), "held back: {held}");
    // The packets behind a held-back one overtake it.
    assert!(d.stats().reordered > 0);
}

#[test]
fn directions_are_independent() {
    let config = LinkConfig {
        both: DirectionConfig {
            delay: ms(1),
            ..DirectionConfig::default()
        },
        forward: None,
        backward: Some(DirectionConfig {
            delay: ms(7),
            loss: Loss::Bernoulli { probability: 1.0 },
            ..DirectionConfig::default()
        }),
    };
    let mut link = Link::new(&config, &RandomStreams::new(1), "l0").unwrap();
    let fwd = link.transmit(Way::Forward, &packet(60, 0), t(0));
    let back = link.transmit(Way::Backward, &packet(60, 0), t(0));
    assert!(matches!(fwd.original, Fate::Delivered { .. }));
    assert_eq!(back.original, Fate::Dropped(DropCause::RandomLoss));
    assert_eq!(link.direction(Way::Forward).stats().sent_packets, 1);
    assert_eq!(link.direction(Way::Backward).min_delay(), ms(7));
}

#[test]
fn loss_pattern_does_not_change_when_duplication_is_switched_on() {
    let lost = |duplicate_probability| {
        let mut d = direction(DirectionConfig {
            loss: Loss::Bernoulli { probability: 0.3 },
            duplicate_probability,
            ..DirectionConfig::default()
        });
        (0..2000)
            .map(|i| {
                d.transmit(&packet(60, i), t(u64::from(i) * 1_000_000))
                    .original
            })
            .map(|f| f == Fate::Dropped(DropCause::RandomLoss))
            .collect::<Vec<_>>()
    };
    assert_eq!(lost(0.0), lost(0.5));
}

fn error_of(config: DirectionConfig<u32>) -> String {
    match Direction::new(config, &RandomStreams::new(1), "x") {
        Ok(_) => panic!("expected a configuration error"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn invalid_values_name_the_field_and_the_accepted_range() {
    let base = DirectionConfig::<u32>::default;
    let cases: Vec<(DirectionConfig<u32>, &str)> = vec![
        (
            DirectionConfig {
                loss: Loss::Bernoulli { probability: 1.5 },
                ..base()
            },
            "loss.probability: must be a probability in [0, 1], got 1.5",
        ),
        (
            DirectionConfig {
                loss: Loss::Bernoulli {
                    probability: f64::NAN,
                },
                ..base()
            },
            "loss.probability: must be a probability in [0, 1], got NaN",
        ),
        (
            DirectionConfig {
                duplicate_probability: -0.1,
                ..base()
            },
            "duplicate_probability: must be a probability in [0, 1], got -0.1",
        ),
        (
            DirectionConfig {
                jitter: Delay::Uniform {
                    min: ms(5),
                    max: ms(1),
                },
                ..base()
            },
            "jitter.max: must be at least min (0.005000000s), got 0.001000000s",
        ),
        (
            DirectionConfig {
                loss: Loss::GilbertElliott {
                    good_to_bad: 0.1,
                    bad_to_good: 0.0,
                    loss_good: 0.0,
                    loss_bad: 1.0,
                },
                ..base()
            },
            "loss.bad_to_good: must be in (0, 1]: at 0 the bad state never ends",
        ),
        (
            DirectionConfig {
                bandwidth_bps: Some(0),
                ..base()
            },
            "bandwidth_bps: must be > 0 bits per second, or unset for infinite",
        ),
        (
            DirectionConfig {
                black_holes: vec![(t(10), t(5))],
                ..base()
            },
            "black_holes[0]: must end at or after its start (0.000000010s), got 0.000000005s",
        ),
        (
            DirectionConfig {
                rules: vec![DropRule::nth(0)],
                ..base()
            },
            "rules[0].nth: counts packets from 1, got 0",
        ),
        (
            DirectionConfig {
                duplicate_delay: Delay::Pareto {
                    scale: ms(1),
                    shape: 0.0,
                },
                ..base()
            },
            "duplicate_delay.shape: must be a finite number > 0, got 0",
        ),
        (
            DirectionConfig {
                jitter: Delay::Empirical(vec![(0.5, ms(1)), (0.9, ms(2))]),
                ..base()
            },
            "jitter: the last probability is 0.9; expected a list of (cumulative probability, \
             delay) points, both non-decreasing, probabilities in [0, 1], the last 1",
        ),
    ];
    for (config, expected) in cases {
        assert_eq!(error_of(config), expected);
    }
}

#[test]
fn link_errors_name_the_direction() {
    let config = LinkConfig {
        both: DirectionConfig::<u32>::default(),
        forward: Some(DirectionConfig {
            corrupt_probability: 2.0,
            ..DirectionConfig::default()
        }),
        backward: None,
    };
    let err = Link::new(&config, &RandomStreams::new(1), "l")
        .err()
        .unwrap();
    assert_eq!(err.field, "forward.corrupt_probability");
    let config = LinkConfig::symmetric(DirectionConfig::<u32> {
        reorder_probability: 2.0,
        ..DirectionConfig::default()
    });
    let err = Link::new(&config, &RandomStreams::new(1), "l")
        .err()
        .unwrap();
    assert_eq!(err.field, "both.reorder_probability");
}
