//! Targets (256-bit little-endian integers, as on the wire), difficulty and hashrate.

use bitcoin::pow::{CompactTarget, Target};

/// A target as the wire carries it: 32 bytes, little-endian (byte 31 most significant).
pub type TargetLe = [u8; 32];

/// The easiest possible target (every hash meets it).
pub const MAX_TARGET: TargetLe = [0xff; 32];

/// The network target that a header's compact `nbits` encodes.
pub fn target_from_nbits(nbits: u32) -> TargetLe {
    Target::from_compact(CompactTarget::from_consensus(nbits)).to_le_bytes()
}

/// Compares two little-endian 256-bit integers.
pub fn cmp_le(a: &TargetLe, b: &TargetLe) -> core::cmp::Ordering {
    a.iter().rev().cmp(b.iter().rev())
}

/// Whether a header hash (raw SHA-256d output, read as a little-endian integer) meets `target`.
pub fn hash_meets_target(hash: &[u8; 32], target: &TargetLe) -> bool {
    cmp_le(hash, target) != core::cmp::Ordering::Greater
}

/// The harder (smaller) of two targets.
pub fn harder(a: TargetLe, b: TargetLe) -> TargetLe {
    if cmp_le(&a, &b).is_le() {
        a
    } else {
        b
    }
}

/// The easier (larger) of two targets.
pub fn easier(a: TargetLe, b: TargetLe) -> TargetLe {
    if cmp_le(&a, &b).is_ge() {
        a
    } else {
        b
    }
}

/// Difficulty of a target relative to difficulty 1 (`0x00000000FFFF0000…`), the usual "bdiff"
/// convention. Always finite: the target 0 counts as 1, the hardest a hash can meet.
pub fn difficulty(target: &TargetLe) -> f64 {
    let mut t = *target;
    if t == [0; 32] {
        t[0] = 1;
    }
    Target::from_le_bytes(t).difficulty_float()
}

/// The target of difficulty `d` (bdiff): the easiest for a non-positive or invalid `d`.
pub fn target_for_difficulty(d: f64) -> TargetLe {
    if !(d.is_finite() && d > 0.0) {
        return MAX_TARGET;
    }
    // Difficulty 1 is 0xFFFF · 2^208.
    from_f64(65535.0 * 2f64.powi(208) / d)
}

/// The target as a float (for rate arithmetic; loses precision below the top 53 bits).
pub fn to_f64(target: &TargetLe) -> f64 {
    target.iter().rev().fold(0.0, |acc, b| acc * 256.0 + f64::from(*b))
}

/// The largest target not above `x` (saturating to [`MAX_TARGET`] above 2^256 − 1, and to 1
/// below 1).
pub fn from_f64(x: f64) -> TargetLe {
    // NaN and values below 1 both land here.
    if x.is_nan() || x < 1.0 {
        let mut one = [0u8; 32];
        one[0] = 1;
        return one;
    }
    if x >= 2f64.powi(256) {
        return MAX_TARGET;
    }
    // x = m * 2^e with m < 2^53: write m shifted left by e bits.
    let e = (x.log2().floor() as i32 - 52).max(0);
    let m = (x / 2f64.powi(e)).floor() as u64;
    let mut out = [0u8; 32];
    let (byte_shift, bit_shift) = ((e / 8) as usize, (e % 8) as u32);
    let wide = u128::from(m) << bit_shift;
    for (i, b) in wide.to_le_bytes().iter().enumerate() {
        if let Some(slot) = out.get_mut(byte_shift + i) {
            *slot = *b;
        }
    }
    out
}

/// Expected hashes to find one share at `target`: 2^256 / (target + 1).
pub fn hashes_per_share(target: &TargetLe) -> f64 {
    2f64.powi(256) / (to_f64(target) + 1.0)
}

/// The target at which a device of `hashrate` (h/s) finds `shares_per_minute` shares a
/// minute on average. A zero or invalid hashrate gives [`MAX_TARGET`].
pub fn target_for_hashrate(hashrate: f64, shares_per_minute: f64) -> TargetLe {
    let positive = |v: f64| v.is_finite() && v > 0.0;
    if !positive(hashrate) || !positive(shares_per_minute) {
        return MAX_TARGET;
    }
    let hashes_per_share = hashrate * 60.0 / shares_per_minute;
    from_f64(2f64.powi(256) / hashes_per_share)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nbits_of_difficulty_one() {
        let t = target_from_nbits(0x1d00_ffff);
        assert_eq!(t[26..30], [0xff, 0xff, 0, 0]);
        assert!((difficulty(&t) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn comparison_is_little_endian() {
        let mut small = [0u8; 32];
        small[0] = 0xff;
        let mut big = [0u8; 32];
        big[31] = 1;
        assert!(hash_meets_target(&small, &big));
        assert!(!hash_meets_target(&big, &small));
        assert_eq!(harder(small, big), small);
    }

    #[test]
    fn float_round_trip_keeps_the_top_bits() {
        for x in [1.0, 255.0, 1e10, 2f64.powi(200) * 1.5, 2f64.powi(255)] {
            let t = from_f64(x);
            let back = to_f64(&t);
            assert!((back - x).abs() / x < 1e-12, "{x} -> {back}");
        }
        assert_eq!(from_f64(f64::INFINITY), MAX_TARGET);
        assert_eq!(from_f64(f64::NAN)[0], 1);
    }

    #[test]
    fn hashrate_target_gives_the_share_rate() {
        let t = target_for_hashrate(1e12, 6.0);
        let rate = 1e12 / hashes_per_share(&t) * 60.0;
        assert!((rate - 6.0).abs() < 1e-6, "{rate}");
    }
}
