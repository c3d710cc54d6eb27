//! The theory experiments compare against, and the tolerance a measurement of `n` trials
//! owes it: intervals from the sample size, never a hand-picked slack.

/// Erlang's loss formula: the chance that Poisson arrivals offering `offered` erlangs
/// (arrival rate x mean holding time) find all `servers` busy. Exact for any holding-time
/// distribution (insensitivity), so it holds for a SYN queue whose entries live exactly the
/// half-open lifetime. Computed by the stable recursion E(k) = a E(k-1) / (k + a E(k-1)).
pub fn erlang_b(servers: u32, offered: f64) -> f64 {
    (1..=servers).fold(1.0, |blocked, k| {
        offered * blocked / (f64::from(k) + offered * blocked)
    })
}

/// The range of successes, out of `trials` each succeeding with chance `p`, that a
/// measurement falls in unless something is wrong: `z` standard deviations of the binomial
/// either side of the mean, plus one half for the count's discreteness.
pub fn binomial_band(trials: f64, p: f64, z: f64) -> (f64, f64) {
    let mean = trials * p;
    let spread = z * (trials * p * (1.0 - p)).sqrt() + 0.5;
    (mean - spread, mean + spread)
}

/// Standard deviations either side that the experiments' tests allow: a true prediction
/// falls outside with chance 6 in 100,000 per check.
pub const Z: f64 = 4.0;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erlang_b_matches_the_textbook_values() {
        // One server: a / (1 + a). Tables: E(10, 5) = 0.01838, E(100, 100) = 0.07570.
        assert!((erlang_b(1, 3.0) - 0.75).abs() < 1e-12);
        assert!((erlang_b(10, 5.0) - 0.018385).abs() < 1e-5);
        assert!((erlang_b(100, 100.0) - 0.075700).abs() < 1e-5);
        // Overload: the carried load is nearly every server, so 1 - E = servers / offered.
        assert!((1.0 - erlang_b(256, 256.0 * 14.0) - 1.0 / 14.0).abs() < 1e-3);
    }

    #[test]
    fn bands_widen_with_the_square_root_of_the_trials() {
        assert_eq!(binomial_band(100.0, 0.5, 2.0), (39.5, 60.5));
        assert_eq!(binomial_band(100.0, 1.0, 4.0), (99.5, 100.5));
    }
}
