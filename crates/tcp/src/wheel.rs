//! Linux's timer wheel: when a timer armed for `wait` really runs.
//!
//! Linux keeps its timers (`timer_list`) in a wheel of levels (kernel/time/timer.c since
//! 4.8): a timer `delta` jiffies away goes to the first level whose range holds it, and each
//! level is eight times coarser than the one below. To never fire early, the wheel rounds
//! the expiry up to the level's granularity: `((expires >> shift) + 1) << shift`. At HZ 250
//! a 1 s or 2 s timer runs up to 32 ms late, a 4–16 s one up to 256 ms, a 32 s one up to
//! 2.048 s, and where in that span depends on the jiffy at which it was armed.
//!
//! Measured on Linux 6.18 (HZ 250, `CONFIG_HZ=250` in /proc/config.gz), 32 SYNs left
//! unanswered (crates/tcp/tests/kernel/half_open_lifetime.py, its rows in
//! experiments/data/linux_half_open_lifetime.csv): the SYN-ACK retransmissions came 1.00–1.03,
//! then 2.016, 4.032–4.256 (in steps of 32 ms), 8.192 and 16.128 s apart, give or take a
//! tick, and the request was dropped 63.66–65.60 s after the SYN (64.66 s on average), where
//! the textbook says 63 s. This model gives those gaps: the 2, 8 and 16 s timers are armed
//! on a jiffy the coarser level before left aligned, so their lateness is fixed (4, 48 and
//! 32 jiffies); over every arrival jiffy the request lives 63.628–65.672 s, uniformly
//! (64.65 s on average). A connect into a black hole, probed alike with packetdrill and
//! tshark: SYNs 1.024 s apart after the first, as here, and ETIMEDOUT about 133.6 s after it.
//!
//! `base->clk` is taken to be the current jiffy (the kernel forwards an idle base before
//! arming) and jiffy 0 is simulated time 0.

use synack_kernel::{SimDuration, SimTime};

/// Bits of the wheel's clock per level (`LVL_CLK_SHIFT`): each level is 8 times coarser.
const LEVEL_CLOCK_SHIFT: u32 = 3;
/// Buckets per level (`LVL_SIZE`, 2^`LVL_BITS`).
const LEVEL_SIZE: u64 = 64;

/// A timer wheel ticking `hz` times a second (`CONFIG_HZ`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JiffyWheel {
    /// Ticks a second: 100, 250, 300 or 1000 (`CONFIG_HZ`; 250 on the Linux measured here).
    pub hz: u32,
}

impl JiffyWheel {
    /// The kernel configurations Linux builds (`CONFIG_HZ`).
    pub const ACCEPTED_HZ: [u32; 4] = [100, 250, 300, 1000];

    fn jiffy_nanos(&self) -> u64 {
        1_000_000_000 / u64::from(self.hz)
    }

    /// When a timer armed at `now` to run `wait` later runs.
    pub fn expiry(&self, now: SimTime, wait: SimDuration) -> SimTime {
        let jiffy = self.jiffy_nanos();
        let armed = now.as_nanos() / jiffy;
        // Timeouts are whole jiffies in the kernel; round a fraction up, never early.
        let delta = wait.as_nanos().div_ceil(jiffy);
        let mut shift = 0;
        // LVL_START(level + 1) = (LVL_SIZE - 1) << (level * LVL_CLK_SHIFT).
        while shift < 63 - LEVEL_CLOCK_SHIFT && delta >= (LEVEL_SIZE - 1) << shift {
            shift += LEVEL_CLOCK_SHIFT;
        }
        let bucket = (((armed + delta) >> shift) + 1) << shift;
        SimTime::from_nanos(bucket.saturating_mul(jiffy))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HZ250: JiffyWheel = JiffyWheel { hz: 250 };

    fn secs(s: u64) -> SimDuration {
        SimDuration::from_secs(s)
    }

    /// The SYN-ACK timers of one request whose SYN came at jiffy `syn`: every expiry, in ms.
    fn request_expiries(syn: u64) -> Vec<u64> {
        let mut at = SimTime::from_nanos(syn * 4_000_000);
        (0..6)
            .map(|k| {
                at = HZ250.expiry(at, secs(1 << k));
                at.as_nanos() / 1_000_000
            })
            .collect()
    }

    #[test]
    fn synack_gaps_are_those_measured_on_linux() {
        // Measured on Linux 6.18 (module doc): 2.016, 8.192 and 16.128 s in every run.
        for syn in 0..512 {
            let e = request_expiries(syn);
            assert_eq!(e[1] - e[0], 2_016);
            assert_eq!(e[3] - e[2], 8_192);
            assert_eq!(e[4] - e[3], 16_128);
            // Measured 4.032–4.256 in steps of 32 ms.
            assert!((4_032..=4_256).contains(&(e[2] - e[1])) && (e[2] - e[1]) % 32 == 0);
        }
    }

    #[test]
    fn request_lives_between_63_6_and_65_7_seconds_by_arrival_jiffy() {
        let lives: Vec<u64> = (0..512)
            .map(|syn| request_expiries(syn)[5] - syn * 4)
            .collect();
        assert_eq!(lives.iter().min(), Some(&63_628));
        assert_eq!(lives.iter().max(), Some(&65_672));
    }

    #[test]
    fn a_fraction_of_a_jiffy_rounds_up() {
        // 1 s and 1 ns is 251 jiffies; level 1 (8 jiffies a bucket) runs it at jiffy 256.
        let at = HZ250.expiry(SimTime::ZERO, SimDuration::from_nanos(1_000_000_001));
        assert_eq!(at, SimTime::from_nanos(1_024_000_000));
    }
}
