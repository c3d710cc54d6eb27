//! Deterministic seeds for grid points.

/// A point's seed, from the base seed and a label naming the point's parameters (not its
/// position in the grid).
pub fn point_seed(base: u64, label: &str) -> u64 {
    let hash = label.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    // SplitMix64's finalizer, so nearby bases and labels give unrelated seeds.
    let mut z = base ^ hash;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
