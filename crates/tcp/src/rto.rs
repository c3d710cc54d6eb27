//! The retransmission timeout estimator of RFC 6298.

use crate::TcpConfig;
use synack_kernel::SimDuration;

/// SRTT, RTTVAR and the RTO they give (before backoff), in microseconds: 32 bits hold
/// over an hour, and connections must stay small.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RttEstimator {
    /// Smoothed RTT; 0 until the first sample.
    srtt: u32,
    /// RTT variation.
    rttvar: u32,
    /// Current RTO, within [rto_min, rto_max].
    rto: u32,
}

fn micros(d: SimDuration) -> u32 {
    u32::try_from(d.as_nanos().div_ceil(1_000)).unwrap_or(u32::MAX)
}

fn duration(micros: u32) -> SimDuration {
    SimDuration::from_micros(u64::from(micros))
}

impl RttEstimator {
    /// Before any sample: RTO = the initial RTO (RFC 6298 2.1).
    pub fn new(config: &TcpConfig) -> Self {
        RttEstimator {
            srtt: 0,
            rttvar: 0,
            rto: micros(config.rto_initial),
        }
    }

    /// Whether a sample has been taken.
    pub fn has_sample(&self) -> bool {
        self.srtt != 0
    }

    /// Smoothed RTT, if sampled.
    pub fn srtt(&self) -> Option<SimDuration> {
        self.has_sample().then_some(duration(self.srtt))
    }

    /// The RTO before backoff.
    pub fn rto(&self) -> SimDuration {
        duration(self.rto)
    }

    /// Sets the RTO outright (RFC 6298 5.7's fallback after a retransmitted SYN).
    pub fn set_rto(&mut self, rto: SimDuration) {
        self.rto = micros(rto);
    }

    /// Takes an RTT measurement (RFC 6298 2.2 and 2.3; Karn's rule is the caller's: never
    /// sample a retransmitted segment).
    pub fn sample(&mut self, rtt: SimDuration, config: &TcpConfig) {
        let r = u64::from(micros(rtt).max(1));
        let (srtt, rttvar) = (u64::from(self.srtt), u64::from(self.rttvar));
        let (srtt, rttvar) = if srtt == 0 {
            (r, r / 2)
        } else {
            ((7 * srtt + r) / 8, (3 * rttvar + srtt.abs_diff(r)) / 4)
        };
        let variance = u64::from(micros(config.rto_granularity)).max(4 * rttvar);
        let rto = if config.rto_min_on_variance {
            // Linux (tcp_rtt_estimator, tcp_set_rto): the floor bounds the variance term,
            // so the RTO is SRTT + max(rto_min, 4 RTTVAR).
            srtt + variance.max(u64::from(micros(config.rto_min)))
        } else {
            srtt + variance
        };
        let clamped = rto.clamp(
            u64::from(micros(config.rto_min)),
            u64::from(micros(config.rto_max)),
        );
        self.srtt = u32::try_from(srtt).unwrap_or(u32::MAX).max(1);
        self.rttvar = u32::try_from(rttvar).unwrap_or(u32::MAX);
        self.rto = u32::try_from(clamped).unwrap_or(u32::MAX);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_rfc6298() {
        let config = TcpConfig {
            rto_min: SimDuration::from_millis(1),
            ..TcpConfig::default()
        };
        let mut e = RttEstimator::new(&config);
        assert_eq!(e.rto(), SimDuration::from_secs(1));
        e.sample(SimDuration::from_millis(100), &config);
        // SRTT 100, RTTVAR 50: RTO = 100 + 4 x 50 = 300 ms.
        assert_eq!(e.rto(), SimDuration::from_millis(300));
        e.sample(SimDuration::from_millis(200), &config);
        // RTTVAR = 3/4 x 50 + 1/4 x 100 = 62.5; SRTT = 7/8 x 100 + 1/8 x 200 = 112.5.
        assert_eq!(e.srtt(), Some(SimDuration::from_micros(112_500)));
        assert_eq!(e.rto(), SimDuration::from_micros(112_500 + 250_000));
    }

    #[test]
    fn is_clamped_to_min_and_max() {
        let config = TcpConfig::default();
        let mut e = RttEstimator::new(&config);
        e.sample(SimDuration::from_micros(10), &config);
        assert_eq!(e.rto(), config.rto_min);
        e.sample(SimDuration::from_secs(1000), &config);
        assert_eq!(e.rto(), config.rto_max);
    }
}
