//! `link_loss`: does the link's loss model lose what it is configured to lose, in the burst
//! pattern it is configured for? One row per loss configuration:
//!
//! - Bernoulli loss with probability p: loss rate p, and runs of consecutive losses of mean
//!   length 1 / (1 - p);
//! - Gilbert–Elliott with `loss_good` 0 and `loss_bad` 1: loss rate g / (g + b) (the
//!   stationary share of the bad state), and bursts of mean length 1 / b.
//!
//! Packets are sent 1 ms apart on a link with infinite bandwidth, so only loss acts.

use crate::{ExperimentArgs, Metadata, Preset, point_seed, write_csv};
use synack_kernel::{RandomStreams, SimTime};
use synack_link::{Direction, DirectionConfig, Fate, Loss, Packet};

/// The experiment's name.
pub const NAME: &str = "link_loss";

const BERNOULLI: [f64; 7] = [0.0, 0.001, 0.01, 0.05, 0.1, 0.2, 0.5];
const GOOD_TO_BAD: f64 = 0.01;
const BAD_TO_GOOD: [f64; 4] = [0.1, 0.2, 0.5, 1.0];

const COLUMNS: &[(&str, &str)] = &[
    ("model", "bernoulli or gilbert_elliott"),
    (
        "probability",
        "Bernoulli loss probability (empty for Gilbert-Elliott)",
    ),
    ("good_to_bad", "Gilbert-Elliott P(good->bad) per packet"),
    ("bad_to_good", "Gilbert-Elliott P(bad->good) per packet"),
    ("packets", "packets sent"),
    ("loss_rate_expected", "configured long-run loss rate"),
    ("loss_rate_measured", "lost / sent"),
    (
        "loss_rate_4sigma",
        "4 standard deviations of the measured rate's estimator (for Gilbert-Elliott the Bernoulli variance times (1 + l) / (1 - l), l = 1 - g - b, since losses are correlated)",
    ),
    ("bursts", "runs of consecutive losses"),
    (
        "burst_len_expected_pkts",
        "configured mean run length, in packets",
    ),
    (
        "burst_len_measured_pkts",
        "measured mean run length, in packets",
    ),
];

/// One row of `link_loss.csv`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Row {
    /// `bernoulli` or `gilbert_elliott`.
    pub model: &'static str,
    /// Bernoulli probability.
    pub probability: Option<f64>,
    /// Gilbert–Elliott P(good -> bad).
    pub good_to_bad: Option<f64>,
    /// Gilbert–Elliott P(bad -> good).
    pub bad_to_good: Option<f64>,
    /// Packets sent.
    pub packets: u64,
    /// Configured loss rate.
    pub loss_rate_expected: f64,
    /// Measured loss rate.
    pub loss_rate_measured: f64,
    /// 4 standard deviations of the measured rate's estimator.
    pub loss_rate_4sigma: f64,
    /// Runs of consecutive losses.
    pub bursts: u64,
    /// Configured mean run length.
    pub burst_len_expected_pkts: f64,
    /// Measured mean run length (0 with no loss).
    pub burst_len_measured_pkts: f64,
}

#[derive(serde::Serialize)]
struct Grid {
    bernoulli_probability: &'static [f64],
    gilbert_elliott_good_to_bad: f64,
    gilbert_elliott_bad_to_good: &'static [f64],
    packets: u64,
}

fn packets(preset: Preset) -> u64 {
    match preset {
        Preset::Quick => 200_000,
        Preset::Full => 10_000_000,
    }
}

/// Measures one loss configuration.
fn measure(loss: Loss, packets: u64, seed: u64) -> (u64, u64, u64) {
    let config = DirectionConfig {
        loss,
        bandwidth_bps: None,
        ..DirectionConfig::default()
    };
    let mut direction =
        Direction::new(config, &RandomStreams::new(seed), "link").expect("valid grid");
    let (mut lost, mut bursts, mut in_burst) = (0, 0, false);
    for i in 0..packets {
        let packet = Packet {
            size_bytes: 100,
            payload: (),
        };
        let dropped = matches!(
            direction
                .transmit(&packet, SimTime::from_nanos(i * 1_000_000))
                .original,
            Fate::Dropped(_)
        );
        lost += u64::from(dropped);
        bursts += u64::from(dropped && !in_burst);
        in_burst = dropped;
    }
    (packets, lost, bursts)
}

/// `expected` is (loss rate, mean burst length); `correlation` is the loss process's
/// lag-one correlation, which widens the estimator's spread.
fn row(
    model: &'static str,
    loss: Loss,
    expected: (f64, f64),
    correlation: f64,
    packets: u64,
    seed: u64,
) -> Row {
    let (sent, lost, bursts) = measure(loss, packets, seed);
    let (probability, good_to_bad, bad_to_good) = match loss {
        Loss::Bernoulli { probability } => (Some(probability), None, None),
        Loss::GilbertElliott {
            good_to_bad,
            bad_to_good,
            ..
        } => (None, Some(good_to_bad), Some(bad_to_good)),
        Loss::None => (None, None, None),
    };
    let rate = expected.0;
    Row {
        model,
        probability,
        good_to_bad,
        bad_to_good,
        packets: sent,
        loss_rate_expected: rate,
        loss_rate_measured: lost as f64 / sent as f64,
        loss_rate_4sigma: 4.0
            * (rate * (1.0 - rate) / sent as f64 * (1.0 + correlation) / (1.0 - correlation))
                .sqrt(),
        bursts,
        burst_len_expected_pkts: expected.1,
        burst_len_measured_pkts: if bursts == 0 {
            0.0
        } else {
            lost as f64 / bursts as f64
        },
    }
}

/// Every row, for a preset and base seed.
pub fn rows(preset: Preset, seed: u64) -> Vec<Row> {
    let packets = packets(preset);
    let bernoulli = BERNOULLI.iter().map(|&p| {
        let seed = point_seed(seed, &format!("bernoulli p={p}"));
        row(
            "bernoulli",
            Loss::Bernoulli { probability: p },
            (p, 1.0 / (1.0 - p)),
            0.0,
            packets,
            seed,
        )
    });
    let gilbert = BAD_TO_GOOD.iter().map(|&b| {
        let seed = point_seed(seed, &format!("gilbert_elliott g={GOOD_TO_BAD} b={b}"));
        let loss = Loss::GilbertElliott {
            good_to_bad: GOOD_TO_BAD,
            bad_to_good: b,
            loss_good: 0.0,
            loss_bad: 1.0,
        };
        let expected = (GOOD_TO_BAD / (GOOD_TO_BAD + b), 1.0 / b);
        row(
            "gilbert_elliott",
            loss,
            expected,
            1.0 - GOOD_TO_BAD - b,
            packets,
            seed,
        )
    });
    bernoulli.chain(gilbert).collect()
}

/// Runs the experiment and writes its files.
pub fn run(args: &ExperimentArgs) -> anyhow::Result<String> {
    let preset = args.preset();
    let rows = rows(preset, args.seed);
    write_csv(&args.out.join(format!("{NAME}.csv")), &rows)?;
    Metadata {
        experiment: NAME,
        version: env!("CARGO_PKG_VERSION"),
        preset,
        seed: args.seed,
        grid: Grid {
            bernoulli_probability: &BERNOULLI,
            gilbert_elliott_good_to_bad: GOOD_TO_BAD,
            gilbert_elliott_bad_to_good: &BAD_TO_GOOD,
            packets: packets(preset),
        },
        columns: COLUMNS,
    }
    .write(&args.out.join(format!("{NAME}.json")))?;
    let worst = rows
        .iter()
        .map(|r| {
            (r.loss_rate_measured - r.loss_rate_expected).abs()
                / r.loss_rate_4sigma.max(f64::MIN_POSITIVE)
        })
        .fold(0.0, f64::max);
    Ok(format!(
        "{} points, largest loss-rate error {:.2} of 4 sigma",
        rows.len(),
        worst
    ))
}
