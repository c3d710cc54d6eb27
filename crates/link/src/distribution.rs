//! Delay distributions: jitter, reordering hold-back and duplicate lingering.

use crate::LinkConfigError;
use rand::RngExt;
use rand_distr::{Distribution as _, Exp1, StandardNormal};
use synack_kernel::{SimDuration, SimRng};

/// A distribution of non-negative delays.
#[derive(Debug, Clone, PartialEq)]
pub enum Delay {
    /// Always the same delay (zero for "no jitter").
    Constant(SimDuration),
    /// Uniform on `[min, max]`.
    Uniform {
        /// Smallest delay.
        min: SimDuration,
        /// Largest delay; at least `min`.
        max: SimDuration,
    },
    /// Normal, truncated at zero by redrawing negative samples (so `mean` must be >= 0, and
    /// the realised mean is above `mean` when `std_dev` is not small beside it).
    Normal {
        /// Mean before truncation.
        mean: SimDuration,
        /// Standard deviation before truncation.
        std_dev: SimDuration,
    },
    /// Exponential with the given mean.
    Exponential {
        /// The mean.
        mean: SimDuration,
    },
    /// Pareto (heavy tail): `P(X > x) = (scale / x)^shape` for `x >= scale`. The mean,
    /// `shape * scale / (shape - 1)`, exists only for `shape > 1`; the variance for `shape > 2`.
    Pareto {
        /// The smallest value, `x_m`.
        scale: SimDuration,
        /// The tail index, alpha (> 0; smaller is heavier).
        shape: f64,
    },
    /// A measured distribution, as ns-3's `EmpiricalRandomVariable`: points of the CDF,
    /// `(cumulative probability, delay)`, both non-decreasing, the last probability 1.
    /// Samples are interpolated linearly between points; below the first point's
    /// probability they take its delay.
    Empirical(Vec<(f64, SimDuration)>),
}

impl Default for Delay {
    fn default() -> Self {
        Delay::Constant(SimDuration::ZERO)
    }
}

/// Largest delay a sample may take: far beyond any link, far from overflow.
const MAX_SAMPLE_NANOS: f64 = 1e18;

impl Delay {
    /// Checks the parameters; `field` names the distribution in the error.
    pub fn validate(&self, field: &str) -> Result<(), LinkConfigError> {
        match self {
            Delay::Constant(_) | Delay::Exponential { .. } | Delay::Normal { .. } => Ok(()),
            Delay::Uniform { min, max } => {
                if max < min {
                    return Err(LinkConfigError::new(
                        format!("{field}.max"),
                        format!("must be at least min ({min}), got {max}"),
                    ));
                }
                Ok(())
            }
            Delay::Pareto { scale, shape } => {
                if !(shape.is_finite() && *shape > 0.0) {
                    return Err(LinkConfigError::new(
                        format!("{field}.shape"),
                        format!("must be a finite number > 0, got {shape}"),
                    ));
                }
                if scale.as_nanos() == 0 {
                    return Err(LinkConfigError::new(
                        format!("{field}.scale"),
                        "must be > 0".to_string(),
                    ));
                }
                Ok(())
            }
            Delay::Empirical(points) => validate_cdf(points, field),
        }
    }

    /// Draws one delay.
    pub fn sample(&self, rng: &mut SimRng) -> SimDuration {
        let nanos = match self {
            Delay::Constant(d) => return *d,
            Delay::Uniform { min, max } => {
                return SimDuration::from_nanos(rng.random_range(min.as_nanos()..=max.as_nanos()));
            }
            Delay::Normal { mean, std_dev } => {
                let (mean, sd) = (mean.as_nanos() as f64, std_dev.as_nanos() as f64);
                // mean >= 0, so each draw is accepted with probability >= 1/2.
                loop {
                    let z: f64 = StandardNormal.sample(rng);
                    let x = mean + sd * z;
                    if x >= 0.0 {
                        break x;
                    }
                }
            }
            Delay::Exponential { mean } => {
                let e: f64 = Exp1.sample(rng);
                e * mean.as_nanos() as f64
            }
            Delay::Pareto { scale, shape } => {
                // Inverse CDF; 1 - U is in (0, 1], so the power is finite.
                let u: f64 = rng.random();
                scale.as_nanos() as f64 * (1.0 - u).powf(-1.0 / shape)
            }
            Delay::Empirical(points) => {
                let u: f64 = rng.random();
                interpolate(points, u)
            }
        };
        SimDuration::from_nanos(nanos.clamp(0.0, MAX_SAMPLE_NANOS).round() as u64)
    }

    /// Whether every sample is zero, so a caller can skip drawing.
    pub fn is_zero(&self) -> bool {
        matches!(self, Delay::Constant(d) if d.as_nanos() == 0)
    }

    /// An upper bound on every sample, if one exists.
    pub fn max(&self) -> Option<SimDuration> {
        match self {
            Delay::Constant(d) => Some(*d),
            Delay::Uniform { max, .. } => Some(*max),
            Delay::Empirical(points) => points.last().map(|p| p.1),
            Delay::Normal { .. } | Delay::Exponential { .. } | Delay::Pareto { .. } => None,
        }
    }
}

fn validate_cdf(points: &[(f64, SimDuration)], field: &str) -> Result<(), LinkConfigError> {
    let form = "a list of (cumulative probability, delay) points, both non-decreasing, \
                probabilities in [0, 1], the last 1";
    let bad = |why: String| {
        Err(LinkConfigError::new(
            field.to_string(),
            format!("{why}; expected {form}"),
        ))
    };
    let Some(last) = points.last() else {
        return bad("is empty".into());
    };
    let mut previous = (0.0, SimDuration::ZERO);
    for (i, &(p, d)) in points.iter().enumerate() {
        if !(0.0..=1.0).contains(&p) {
            return bad(format!("point {i} has probability {p}"));
        }
        if p < previous.0 || (i > 0 && d < previous.1) {
            return bad(format!("point {i} decreases"));
        }
        previous = (p, d);
    }
    if last.0 != 1.0 {
        return bad(format!("the last probability is {}", last.0));
    }
    Ok(())
}

fn interpolate(points: &[(f64, SimDuration)], u: f64) -> f64 {
    let i = points.partition_point(|&(p, _)| p < u);
    let (p1, d1) = points[i.min(points.len() - 1)];
    if i == 0 {
        return d1.as_nanos() as f64;
    }
    let (p0, d0) = points[i - 1];
    let (d0, d1) = (d0.as_nanos() as f64, d1.as_nanos() as f64);
    if p1 <= p0 {
        return d1;
    }
    d0 + (d1 - d0) * (u - p0) / (p1 - p0)
}
