//! `link_loss`: does the link lose what it is configured to lose, in the pattern it is
//! configured for? At each average loss rate r, two models:
//!
//! - Bernoulli with probability r: runs of consecutive losses have mean length 1 / (1 - r);
//! - Gilbert–Elliott with the same long-run rate and bursts of mean length 4 packets
//!   (`bad_to_good` 0.25, `good_to_bad` r x 0.25 / (1 - r), `loss_bad` 1, `loss_good` 0).
//!
//! Packets are sent 1 ms apart on a link of infinite bandwidth, so only loss acts. The
//! headline plot: mean burst length against loss rate, by model.

use crate::grid::{Axis, Point, Value};
use crate::plot::PlotSpec;
use crate::{Experiment, Measured, Preset};
use synack_kernel::{RandomStreams, SimTime};
use synack_link::{Direction, DirectionConfig, Fate, Loss, Packet};

/// The experiment.
pub struct LinkLoss;

/// Gilbert–Elliott's mean burst, in packets.
const BURST: f64 = 4.0;

fn packets(preset: Preset) -> u64 {
    match preset {
        Preset::Quick => 100_000,
        Preset::Full => 10_000_000,
    }
}

impl Experiment for LinkLoss {
    fn name(&self) -> &'static str {
        "link_loss"
    }

    fn about(&self) -> &'static str {
        "Measured loss rate and burst length of Bernoulli and Gilbert-Elliott loss against theory: at equal rates, Gilbert-Elliott loses in bursts of 4 packets where Bernoulli's runs stay near 1 / (1 - rate)"
    }

    fn axes(&self) -> Vec<Axis> {
        vec![
            Axis::strs(
                "loss_model",
                "bernoulli or gilbert_elliott",
                &["bernoulli", "gilbert_elliott"],
                &["bernoulli", "gilbert_elliott"],
            ),
            Axis::floats(
                "loss_rate",
                "configured long-run loss rate",
                &[0.0, 0.01, 0.05, 0.1, 0.2],
                &[0.0, 0.001, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5],
            )
            .within(0.0, 1.0),
        ]
    }

    fn replications(&self, preset: Preset) -> u32 {
        match preset {
            Preset::Quick => 3,
            Preset::Full => 10,
        }
    }

    fn columns(&self) -> Vec<(&'static str, &'static str)> {
        vec![
            ("packets", "packets sent"),
            ("loss_rate_measured", "lost / sent"),
            (
                "loss_rate_4sigma",
                "4 standard deviations of the measured rate's estimator, correlation included",
            ),
            ("bursts", "runs of consecutive losses"),
            (
                "burst_len_expected_pkts",
                "configured mean run length, in packets",
            ),
            (
                "burst_len_measured_pkts",
                "measured mean run length, in packets (NaN with no loss: no run to measure)",
            ),
        ]
    }

    fn run(&self, point: &Point, preset: Preset) -> Result<Measured, String> {
        let rate = point.f64("loss_rate");
        let (loss, expected_burst, correlation) = match point.str("loss_model") {
            "bernoulli" => (
                Loss::Bernoulli { probability: rate },
                1.0 / (1.0 - rate),
                0.0,
            ),
            "gilbert_elliott" => {
                let bad_to_good = 1.0 / BURST;
                let good_to_bad = rate * bad_to_good / (1.0 - rate);
                let loss = Loss::GilbertElliott {
                    good_to_bad,
                    bad_to_good,
                    loss_good: 0.0,
                    loss_bad: 1.0,
                };
                (loss, BURST, 1.0 - good_to_bad - bad_to_good)
            }
            other => {
                return Err(format!(
                    "loss_model {other}: expected bernoulli or gilbert_elliott"
                ));
            }
        };
        let config = DirectionConfig {
            loss,
            bandwidth_bps: None,
            ..DirectionConfig::default()
        };
        let mut direction = Direction::new(config, &RandomStreams::new(point.seed), "link")
            .map_err(|e| e.to_string())?;
        let sent = packets(preset);
        let (mut lost, mut bursts, mut in_burst) = (0u64, 0u64, false);
        for i in 0..sent {
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
        let n = sent as f64;
        let sigma4 =
            4.0 * (rate * (1.0 - rate) / n * (1.0 + correlation) / (1.0 - correlation)).sqrt();
        // With no loss there is no burst to measure: undefined, not a length of 0 (the plot
        // leaves NaN out).
        let burst = if bursts == 0 {
            f64::NAN
        } else {
            lost as f64 / bursts as f64
        };
        Ok(Measured {
            values: vec![
                Value::Int(sent as i64),
                Value::Float(lost as f64 / n),
                Value::Float(sigma4),
                Value::Int(bursts as i64),
                Value::Float(expected_burst),
                Value::Float(burst),
            ],
            events: sent,
        })
    }

    fn plot(&self) -> PlotSpec {
        PlotSpec::new(
            "Mean loss burst at equal loss rate: independent vs bursty loss",
            "loss_rate",
            "burst_len_measured_pkts",
            Some("loss_model"),
        )
        .theory("burst_len_expected_pkts")
    }
}
