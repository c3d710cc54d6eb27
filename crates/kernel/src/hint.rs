//! Cache hints for the layers above: with millions of connections open, most records a
//! step touches are cache misses, and a driver that knows what comes next can start loading
//! them early.

/// Starts loading `value`'s cache line. A hint only: it never changes behaviour, and it is
/// a no-op off x86-64. (The workspace forbids unsafe code; `safe_arch` wraps the intrinsic.)
#[inline(always)]
pub fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    safe_arch::prefetch_t0(value);
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}
