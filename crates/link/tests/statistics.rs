//! Measured rates and moments against the configured ones, over at least 100,000 packets
//! with fixed seeds. Bounds are 4 standard deviations of the estimator, computed from the
//! configuration, so a model that drifts fails and a correct one passes with these seeds.

use synack_kernel::{RandomStreams, SimDuration, SimTime};
use synack_link::{Delay, Direction, DirectionConfig, DropCause, Fate, Loss, Order, Packet};

const PACKETS: u64 = 200_000;

fn direction(config: DirectionConfig<u64>, seed: u64) -> Direction<u64> {
    Direction::new(config, &RandomStreams::new(seed), "link/forward").unwrap()
}

/// Infinite bandwidth, no lifetime bound: only the feature under test acts.
fn bare() -> DirectionConfig<u64> {
    DirectionConfig {
        bandwidth_bps: None,
        max_lifetime: None,
        ..DirectionConfig::default()
    }
}

/// Sends `PACKETS` packets 1 ms apart and returns every verdict.
fn run(d: &mut Direction<u64>) -> Vec<(SimTime, synack_link::PacketFates)> {
    (0..PACKETS)
        .map(|i| {
            let now = SimTime::from_nanos(i * 1_000_000);
            let packet = Packet {
                size_bytes: 100,
                payload: i,
            };
            (now, d.transmit(&packet, now))
        })
        .collect()
}

fn assert_rate(name: &str, hits: u64, trials: u64, p: f64) {
    let measured = hits as f64 / trials as f64;
    let sigma = (p * (1.0 - p) / trials as f64).sqrt();
    assert!(
        (measured - p).abs() <= 4.0 * sigma,
        "{name}: measured {measured:.5} over {trials}, configured {p} (4 sigma = {:.5})",
        4.0 * sigma
    );
}

#[test]
fn bernoulli_loss_rate_matches() {
    let mut d = direction(
        DirectionConfig {
            loss: Loss::Bernoulli { probability: 0.1 },
            ..bare()
        },
        11,
    );
    run(&mut d);
    assert_rate(
        "loss",
        d.stats().dropped(DropCause::RandomLoss),
        PACKETS,
        0.1,
    );
    assert_eq!(d.stats().sent_packets, PACKETS);
}

#[test]
fn duplication_and_corruption_rates_match() {
    let mut d = direction(
        DirectionConfig {
            duplicate_probability: 0.05,
            duplicate_delay: Delay::Exponential {
                mean: SimDuration::from_secs(2),
            },
            corrupt_probability: 0.02,
            ..bare()
        },
        12,
    );
    let verdicts = run(&mut d);
    let stats = *d.stats();
    assert_rate("duplication", stats.duplicated, PACKETS, 0.05);
    // Corruption is drawn per copy.
    let copies = PACKETS + stats.duplicated;
    assert_rate("corruption", stats.corrupted, copies, 0.02);
    assert_eq!(stats.delivered_packets + stats.corrupted, copies);
    let corrupt_seen = verdicts
        .iter()
        .flat_map(|(_, v)| [Some(v.original), v.duplicate].into_iter().flatten())
        .filter(|f| matches!(f, Fate::Delivered { corrupt: true, .. }))
        .count() as u64;
    assert_eq!(corrupt_seen, stats.corrupted);
}

#[test]
fn gilbert_elliott_bursts_last_one_over_bad_to_good() {
    let (good_to_bad, bad_to_good) = (0.01, 0.25);
    let mut d = direction(
        DirectionConfig {
            loss: Loss::GilbertElliott {
                good_to_bad,
                bad_to_good,
                loss_good: 0.0,
                loss_bad: 1.0,
            },
            ..bare()
        },
        13,
    );
    let lost: Vec<bool> = run(&mut d)
        .iter()
        .map(|(_, v)| v.original == Fate::Dropped(DropCause::BurstLoss))
        .collect();
    let mut bursts = Vec::new();
    let mut current = 0u64;
    for &l in &lost {
        if l {
            current += 1;
        } else if current > 0 {
            bursts.push(current);
            current = 0;
        }
    }
    // Burst lengths are geometric: mean 1/q, variance (1 - q)/q^2.
    let n = bursts.len() as f64;
    let mean = bursts.iter().sum::<u64>() as f64 / n;
    let expected = 1.0 / bad_to_good;
    let sigma = ((1.0 - bad_to_good) / (bad_to_good * bad_to_good) / n).sqrt();
    assert!(
        (mean - expected).abs() <= 4.0 * sigma,
        "mean burst {mean:.3} over {n} bursts, expected {expected} (4 sigma = {:.3})",
        4.0 * sigma
    );
    // The long-run loss rate is the stationary share of the bad state.
    let stationary_bad = good_to_bad / (good_to_bad + bad_to_good);
    let loss_rate = lost.iter().filter(|&&l| l).count() as f64 / lost.len() as f64;
    assert!(
        (loss_rate - stationary_bad).abs() < 0.1 * stationary_bad,
        "loss rate {loss_rate:.4}, stationary {stationary_bad:.4}"
    );
}

/// Raw moments E[X], E[X^2], E[X^3], E[X^4] of a distribution, in ms^k.
type RawMoments = [f64; 4];

/// Checks the sample mean and variance against the moments, each within 4 standard errors.
fn assert_moments(name: &str, samples: &[f64], raw: RawMoments) {
    let [m1, m2, m3, m4] = raw;
    let variance = m2 - m1 * m1;
    let central4 = m4 - 4.0 * m1 * m3 + 6.0 * m1 * m1 * m2 - 3.0 * m1.powi(4);
    let n = samples.len() as f64;
    let mean = samples.iter().sum::<f64>() / n;
    let var = samples.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let mean_tol = 4.0 * (variance / n).sqrt();
    let var_tol = 4.0 * ((central4 - variance * variance) / n).sqrt();
    assert!(
        (mean - m1).abs() <= mean_tol,
        "{name}: mean {mean:.5} ms, configured {m1:.5} (tolerance {mean_tol:.5})"
    );
    assert!(
        (var - variance).abs() <= var_tol,
        "{name}: variance {var:.5} ms^2, configured {variance:.5} (tolerance {var_tol:.5})"
    );
}

/// Jitter samples in ms, read off the arrival times (infinite bandwidth, reorder mode, so
/// arrival - send - delay is exactly the jitter).
fn jitter_samples(jitter: Delay, seed: u64) -> Vec<f64> {
    let delay = SimDuration::from_millis(5);
    let mut d = direction(
        DirectionConfig {
            delay,
            jitter,
            order: Order::Reorder,
            ..bare()
        },
        seed,
    );
    run(&mut d)
        .into_iter()
        .map(|(sent, v)| match v.original {
            Fate::Delivered { at, .. } => (at - sent - delay).as_nanos() as f64 / 1e6,
            other => panic!("unexpected {other:?}"),
        })
        .collect()
}

fn ms(x: f64) -> SimDuration {
    SimDuration::try_from_secs_f64(x / 1e3).unwrap()
}

#[test]
fn uniform_jitter_moments_match() {
    let (a, b) = (1.0f64, 4.0f64);
    let raw = |k: i32| (b.powi(k + 1) - a.powi(k + 1)) / ((k + 1) as f64 * (b - a));
    let samples = jitter_samples(
        Delay::Uniform {
            min: ms(a),
            max: ms(b),
        },
        21,
    );
    assert_moments("uniform", &samples, [raw(1), raw(2), raw(3), raw(4)]);
}

#[test]
fn normal_jitter_moments_match() {
    // Mean 10 sd above zero: truncation removes a 1e-23 share, far below the tolerance.
    let (m, s) = (10.0f64, 1.0f64);
    let raw = [
        m,
        m * m + s * s,
        m.powi(3) + 3.0 * m * s * s,
        m.powi(4) + 6.0 * m * m * s * s + 3.0 * s.powi(4),
    ];
    let samples = jitter_samples(
        Delay::Normal {
            mean: ms(m),
            std_dev: ms(s),
        },
        22,
    );
    assert_moments("normal", &samples, raw);
}

#[test]
fn exponential_jitter_moments_match() {
    let m = 2.0f64;
    let raw = [m, 2.0 * m * m, 6.0 * m.powi(3), 24.0 * m.powi(4)];
    let samples = jitter_samples(Delay::Exponential { mean: ms(m) }, 23);
    assert_moments("exponential", &samples, raw);
}

#[test]
fn pareto_jitter_moments_match() {
    // Shape 5: the fourth moment exists, so the variance estimate has a finite spread.
    let (scale, shape) = (1.0f64, 5.0f64);
    let raw = |k: i32| shape * scale.powi(k) / (shape - k as f64);
    let samples = jitter_samples(
        Delay::Pareto {
            scale: ms(scale),
            shape,
        },
        24,
    );
    assert_moments("pareto", &samples, [raw(1), raw(2), raw(3), raw(4)]);
    assert!(samples.iter().all(|&x| x >= scale - 1e-6));
}

#[test]
fn empirical_jitter_moments_match() {
    // Half the mass uniform on [0, 1] ms, half on [1, 3] ms.
    let cdf = vec![(0.0, ms(0.0)), (0.5, ms(1.0)), (1.0, ms(3.0))];
    let uniform =
        |a: f64, b: f64, k: i32| (b.powi(k + 1) - a.powi(k + 1)) / ((k + 1) as f64 * (b - a));
    let raw = |k| 0.5 * uniform(0.0, 1.0, k) + 0.5 * uniform(1.0, 3.0, k);
    let samples = jitter_samples(Delay::Empirical(cdf), 25);
    assert_moments("empirical", &samples, [raw(1), raw(2), raw(3), raw(4)]);
}
