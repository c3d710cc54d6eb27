//! Sequence numbers: 32-bit, compared modulo 2^32 (RFC 9293 3.4), so every comparison
//! survives wrap-around. Raw `u32` comparisons are never used on them.

use std::cmp::Ordering;
use std::fmt;
use std::ops::{Add, Sub};

/// A TCP sequence number.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Seq(pub u32);

impl Seq {
    /// `self < other` modulo 2^32: `other` is less than 2^31 ahead.
    pub fn lt(self, other: Seq) -> bool {
        (self.0.wrapping_sub(other.0) as i32) < 0
    }

    /// `self <= other` modulo 2^32.
    pub fn le(self, other: Seq) -> bool {
        (self.0.wrapping_sub(other.0) as i32) <= 0
    }

    /// `self > other` modulo 2^32.
    pub fn gt(self, other: Seq) -> bool {
        other.lt(self)
    }

    /// `self >= other` modulo 2^32.
    pub fn ge(self, other: Seq) -> bool {
        other.le(self)
    }

    /// `low <= self < high`, modulo 2^32.
    pub fn in_range(self, low: Seq, high: Seq) -> bool {
        low.le(self) && self.lt(high)
    }

    /// The later of the two.
    pub fn max(self, other: Seq) -> Seq {
        if self.lt(other) { other } else { self }
    }

    /// Comparison modulo 2^32 (meaningful only for numbers less than 2^31 apart).
    pub fn cmp_mod(self, other: Seq) -> Ordering {
        (self.0.wrapping_sub(other.0) as i32).cmp(&0)
    }
}

impl Add<u32> for Seq {
    type Output = Seq;
    fn add(self, n: u32) -> Seq {
        Seq(self.0.wrapping_add(n))
    }
}

impl Sub<u32> for Seq {
    type Output = Seq;
    fn sub(self, n: u32) -> Seq {
        Seq(self.0.wrapping_sub(n))
    }
}

/// The distance from `earlier` to `self`, modulo 2^32.
impl Sub for Seq {
    type Output = u32;
    fn sub(self, earlier: Seq) -> u32 {
        self.0.wrapping_sub(earlier.0)
    }
}

impl fmt::Debug for Seq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Seq({})", self.0)
    }
}

impl fmt::Display for Seq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparisons_survive_wrap_around() {
        let near_top = Seq(u32::MAX - 5);
        let wrapped = near_top + 10;
        assert_eq!(wrapped, Seq(4));
        assert!(near_top.lt(wrapped));
        assert!(wrapped.gt(near_top));
        assert!(wrapped.in_range(near_top, near_top + 11));
        assert!(!wrapped.in_range(near_top, near_top + 10));
        assert_eq!(wrapped - near_top, 10);
        assert_eq!(near_top.max(wrapped), wrapped);
    }

    #[test]
    fn equal_is_le_and_ge_but_not_lt() {
        let a = Seq(7);
        assert!(a.le(a) && a.ge(a) && !a.lt(a) && !a.gt(a));
    }
}
