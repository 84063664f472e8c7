//! A tiny seeded PRNG (SplitMix64) and the id/string helpers built on it.
//!
//! Every random choice of the generator comes from a [`Rng`] derived from the run's seed and a
//! stable path (file slot, event index, scenario, …), so any part of the trail can be regenerated
//! on its own: that is what keeps the output byte-identical when files are written in parallel.

use std::fmt::Write as _;

/// SplitMix64 finaliser: a good 64-bit mixing function.
#[inline]
pub fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a over bytes, then mixed: a stable hash for string tags.
pub fn hash_str(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    mix(h)
}

/// Hash of a seed and a path of integers.
pub fn hash_path(seed: u64, parts: &[u64]) -> u64 {
    let mut h = mix(seed ^ 0x9E37_79B9_7F4A_7C15);
    for p in parts {
        h = mix(h ^ p
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .wrapping_add(0x632B_E59B_D9B4_E019));
    }
    h
}

const UPPER_ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const HEX: &[u8] = b"0123456789abcdef";

#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(mix(seed))
    }

    /// An independent stream for (seed, path).
    pub fn at(seed: u64, parts: &[u64]) -> Self {
        Rng(hash_path(seed, parts))
    }

    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }

    /// Uniform in `0..n` (n > 0).
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n.max(1))) >> 64) as u64
    }

    /// Uniform index into a slice of length `n`.
    #[inline]
    pub fn idx(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        lo + self.below((hi - lo + 1) as u64) as i64
    }

    /// Uniform in [0, 1).
    #[inline]
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    #[inline]
    pub fn chance(&mut self, p: f64) -> bool {
        self.f64() < p
    }

    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.idx(xs.len())]
    }

    pub fn pick_str(&mut self, xs: &[&'static str]) -> &'static str {
        xs[self.idx(xs.len())]
    }

    /// Index chosen with integer weights.
    pub fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u64 = weights.iter().map(|w| u64::from(*w)).sum();
        let mut x = self.below(total.max(1));
        for (i, w) in weights.iter().enumerate() {
            let w = u64::from(*w);
            if x < w {
                return i;
            }
            x -= w;
        }
        weights.len().saturating_sub(1)
    }

    fn push_from(&mut self, out: &mut String, alphabet: &[u8], n: usize) {
        let mut bits = 0u64;
        let mut left = 0;
        for _ in 0..n {
            if left == 0 {
                bits = self.next_u64();
                left = 8;
            }
            let c = alphabet[((bits & 0xff) as usize * alphabet.len()) >> 8];
            bits >>= 8;
            left -= 1;
            out.push(c as char);
        }
    }

    /// `n` characters of `[A-Z2-7]` (the alphabet of AWS key and principal ids).
    pub fn push_upper(&mut self, out: &mut String, n: usize) {
        self.push_from(out, UPPER_ALNUM, n)
    }

    pub fn upper(&mut self, n: usize) -> String {
        let mut s = String::with_capacity(n);
        self.push_upper(&mut s, n);
        s
    }

    /// `n` characters of `[A-Za-z0-9]` (CloudTrail's UNIQUE16 file suffix).
    pub fn alnum(&mut self, n: usize) -> String {
        let mut s = String::with_capacity(n);
        self.push_from(&mut s, ALNUM, n);
        s
    }

    pub fn push_b64(&mut self, out: &mut String, n: usize) {
        self.push_from(out, B64, n)
    }

    pub fn push_hex(&mut self, out: &mut String, n: usize) {
        self.push_from(out, HEX, n)
    }

    pub fn hex(&mut self, n: usize) -> String {
        let mut s = String::with_capacity(n);
        self.push_hex(&mut s, n);
        s
    }

    /// A version-4 UUID in lower-case hex.
    pub fn push_uuid(&mut self, out: &mut String) {
        let a = self.next_u64();
        let b = self.next_u64();
        let _ = write!(
            out,
            "{:08x}-{:04x}-4{:03x}-{:x}{:03x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            8 + (b >> 62),
            (b >> 48) & 0xfff,
            b & 0xffff_ffff_ffff
        );
    }

    pub fn uuid(&mut self) -> String {
        let mut s = String::with_capacity(36);
        self.push_uuid(&mut s);
        s
    }

    /// A count with mean `lambda` (Poisson-like; binomial for small means, normal for large).
    /// Uses only `sqrt`, which IEEE 754 rounds exactly, so the result is the same everywhere.
    pub fn count(&mut self, lambda: f64) -> u32 {
        if lambda <= 0.0 {
            return 0;
        }
        if lambda < 48.0 {
            let n = ((lambda * 6.0) as u32).max(24);
            let p = lambda / f64::from(n);
            let mut c = 0;
            for _ in 0..n {
                if self.f64() < p {
                    c += 1;
                }
            }
            c
        } else {
            // Irwin–Hall: the sum of 12 uniforms minus 6 is close to a standard normal.
            let z: f64 = (0..12).map(|_| self.f64()).sum::<f64>() - 6.0;
            let x = lambda + z * lambda.sqrt();
            if x < 0.0 { 0 } else { (x + 0.5) as u32 }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_shape_and_stability() {
        let mut a = Rng::at(7, &[1, 2]);
        let mut b = Rng::at(7, &[1, 2]);
        let u = a.uuid();
        assert_eq!(u, b.uuid());
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"));
        assert_ne!(Rng::at(7, &[1, 3]).uuid(), u);
    }

    #[test]
    fn count_mean_is_close() {
        let mut r = Rng::new(3);
        for lambda in [0.3, 5.0, 200.0] {
            let n = 4000;
            let s: u64 = (0..n).map(|_| u64::from(r.count(lambda))).sum();
            let mean = s as f64 / n as f64;
            assert!(
                (mean - lambda).abs() < lambda * 0.08 + 0.05,
                "{lambda} {mean}"
            );
        }
    }
}
