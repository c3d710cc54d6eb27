//! SYN cookies (RFC 4987 3.6, Linux net/ipv4/syncookies.c): the listener keeps no state
//! for a SYN; its SYN-ACK's ISN carries what it needs, and the returning ACK proves it.
//!
//! The cookie is `count << 27 | mss_index << 25 | hash & 0x1ff_ffff`: `count` is a
//! minute counter (5 bits), `mss_index` the peer's MSS rounded down into
//! {536, 1300, 1440, 1460} (Linux's table), and `hash` a keyed hash of the 4-tuple, the
//! peer's ISN and the counter. A cookie is valid while its counter is at most 2 minutes old
//! (Linux's `MAX_SYNCOOKIE_AGE`), so for 2 to 3 minutes after it was sent.
//!
//! When the SYN carries timestamps, the options a cookie cannot hold ride in the low 6 bits
//! of the SYN-ACK's TS value, which the peer echoes (Linux's `cookie_init_timestamp`): the
//! peer's window scale (15 for none) and a SACK bit. So the cookie SYN-ACK offers window
//! scaling and SACK only then; measured on Linux 6.18 (`listener_load.py cookies`): a SYN
//! with `mss,sackOK,TS,wscale 7` draws `mss 1460,sackOK,TS,nop,wscale 10`, a SYN with MSS
//! alone draws `mss 1460` alone.

use crate::{FourTuple, Seq};
use synack_kernel::SimTime;

/// Linux's MSS table (`msstab` in syncookies.c).
pub const MSS_TABLE: [u16; 4] = [536, 1300, 1440, 1460];

/// The low TS-value bits that carry options, and their fields (Linux: TSBITS,
/// TS_OPT_WSCALE_MASK, TS_OPT_SACK).
const TS_BITS: u32 = 6;
const TS_WSCALE_MASK: u32 = 0xf;
const TS_SACK: u32 = 1 << 4;

/// The TS value of a cookie SYN-ACK at timestamp clock `clock`, carrying the peer's window
/// scale and SACK permission; never ahead of the clock (as Linux's).
pub fn timestamp_with_options(clock: u32, peer_window_scale: Option<u8>, sack: bool) -> u32 {
    let wscale = peer_window_scale.map_or(TS_WSCALE_MASK, |w| u32::from(w.min(14)));
    let options = wscale | if sack { TS_SACK } else { 0 };
    let value = (clock >> TS_BITS << TS_BITS) | options;
    if value > clock {
        value.wrapping_sub(1 << TS_BITS)
    } else {
        value
    }
}

/// The peer's window scale and SACK permission from the TS echo of a cookie's ACK.
pub fn options_from_timestamp(echo: u32) -> (Option<u8>, bool) {
    let wscale = echo & TS_WSCALE_MASK;
    let window_scale = (wscale != TS_WSCALE_MASK).then_some(wscale as u8);
    (window_scale, echo & TS_SACK != 0)
}

/// Minutes a cookie's counter may lag behind the current one.
const MAX_AGE: u32 = 2;
const MINUTE_NANOS: u64 = 60_000_000_000;

/// The index of the largest table MSS not above `mss`.
fn mss_index(mss: u16) -> u32 {
    MSS_TABLE.iter().rposition(|&m| m <= mss).unwrap_or(0) as u32
}

fn counter(now: SimTime) -> u32 {
    (now.as_nanos() / MINUTE_NANOS) as u32
}

fn hash(key: [u64; 2], tuple: &FourTuple, peer_isn: Seq, count: u32) -> u32 {
    let mix = |mut z: u64| {
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let addrs = (u64::from(tuple.local_addr) << 32) | u64::from(tuple.remote_addr);
    let rest = (u64::from(tuple.local_port) << 48)
        | (u64::from(tuple.remote_port) << 32)
        | u64::from(peer_isn.0 ^ count);
    let h = mix(mix(addrs ^ key[0]).wrapping_add(rest) ^ key[1]);
    (h ^ (h >> 32)) as u32
}

/// The ISN of a cookie SYN-ACK for a SYN with ISN `peer_isn` and MSS option `mss`.
pub fn make(key: [u64; 2], tuple: &FourTuple, peer_isn: Seq, mss: u16, now: SimTime) -> Seq {
    let count = counter(now);
    Seq(((count & 0x1f) << 27)
        | (mss_index(mss) << 25)
        | (hash(key, tuple, peer_isn, count) & 0x1ff_ffff))
}

/// Checks the ACK that should complete a cookie handshake: `ack` is its acknowledgment
/// number (cookie + 1), `seq` its sequence number (the peer's ISN + 1). Returns the MSS
/// the cookie encoded, or `None` for a forged or expired cookie.
pub fn check(key: [u64; 2], tuple: &FourTuple, seq: Seq, ack: Seq, now: SimTime) -> Option<u16> {
    let cookie = (ack - 1).0;
    let peer_isn = seq - 1;
    let now_count = counter(now);
    (0..=MAX_AGE).find_map(|age| {
        let count = now_count.checked_sub(age)?;
        let fits = (count & 0x1f) == cookie >> 27
            && hash(key, tuple, peer_isn, count) & 0x1ff_ffff == cookie & 0x1ff_ffff;
        fits.then(|| MSS_TABLE[((cookie >> 25) & 0x3) as usize])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u64; 2] = [0x1234, 0x5678];

    fn tuple() -> FourTuple {
        FourTuple {
            local_addr: 1,
            local_port: 80,
            remote_addr: 2,
            remote_port: 5555,
        }
    }

    fn at_secs(s: u64) -> SimTime {
        SimTime::from_secs(s).unwrap()
    }

    #[test]
    fn valid_cookie_returns_the_rounded_down_mss() {
        let isn = make(KEY, &tuple(), Seq(777), 1400, at_secs(10));
        assert_eq!(
            check(KEY, &tuple(), Seq(778), isn + 1, at_secs(11)),
            Some(1300)
        );
        assert_eq!(mss_index(1460), 3);
        assert_eq!(mss_index(100), 0);
    }

    #[test]
    fn options_ride_in_the_timestamp_and_come_back_from_the_echo() {
        let value = timestamp_with_options(1_000_000, Some(7), true);
        assert!(value <= 1_000_000 && 1_000_000 - value < 128);
        assert_eq!(options_from_timestamp(value), (Some(7), true));
        let value = timestamp_with_options(1_000_000, None, false);
        assert_eq!(options_from_timestamp(value), (None, false));
    }

    #[test]
    fn cookie_expires_after_two_minute_counts() {
        let isn = make(KEY, &tuple(), Seq(777), 1460, at_secs(59));
        assert!(check(KEY, &tuple(), Seq(778), isn + 1, at_secs(179)).is_some());
        assert_eq!(check(KEY, &tuple(), Seq(778), isn + 1, at_secs(180)), None);
    }

    #[test]
    fn forged_or_mismatched_cookies_fail() {
        let isn = make(KEY, &tuple(), Seq(777), 1460, at_secs(0));
        assert_eq!(check(KEY, &tuple(), Seq(778), isn + 2, at_secs(0)), None);
        assert_eq!(check(KEY, &tuple(), Seq(779), isn + 1, at_secs(0)), None);
        let other = FourTuple {
            remote_port: 5556,
            ..tuple()
        };
        assert_eq!(check(KEY, &other, Seq(778), isn + 1, at_secs(0)), None);
        assert_eq!(check([1, 2], &tuple(), Seq(778), isn + 1, at_secs(0)), None);
    }
}
