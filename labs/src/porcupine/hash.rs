//! Small, fast, deterministic hashing for the checker's tables.
//!
//! The search does millions of lookups keyed by integers and short strings; SipHash (std's
//! default) would dominate the profile. This is the Fx hash used inside rustc: one rotate, xor and
//! multiply per word. It is not DoS-resistant, which does not matter for our own data.

use std::hash::{BuildHasherDefault, Hasher};

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

/// The Fx hasher (rustc's `FxHasher`), processing 8 bytes at a time.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher {
    hash: u64,
}

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut buf = [0u8; 8];
            buf[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(buf));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        // The multiply leaves the low bits depending only on the low input bits; tables index by
        // the low bits, so bring well-mixed middle bits down (as rustc-hash 2 does).
        self.hash.rotate_left(26)
    }
}

/// `BuildHasher` for std maps keyed with [`FxHasher`].
pub(crate) type FxBuild = BuildHasherDefault<FxHasher>;

/// A std `HashMap` with the Fx hasher.
pub(crate) type FxHashMap<K, V> = std::collections::HashMap<K, V, FxBuild>;

/// SplitMix64's finaliser: a bijective mix that turns small integers into well-spread 64-bit keys.
#[inline]
pub(crate) fn mix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Hashes a value with [`FxHasher`].
pub(crate) fn fx_hash<T: std::hash::Hash + ?Sized>(value: &T) -> u64 {
    let mut h = FxHasher::default();
    value.hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_discriminating() {
        assert_eq!(fx_hash("abc"), fx_hash("abc"));
        assert_ne!(fx_hash("abc"), fx_hash("abd"));
        assert_ne!(fx_hash("abcdefgh1"), fx_hash("abcdefgh2"));
        assert_ne!(mix64(1), mix64(2));
    }
}
