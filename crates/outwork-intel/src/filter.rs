//! The first lookup stage: a cache-line-blocked Bloom filter over the
//! index's expression hashes.
//!
//! Why blocked and not a binary fuse or xor filter: at 10 M entries any
//! ~1 B/entry filter is several times the L2 cache, so a probe costs cache
//! (and TLB) misses. A fuse filter reads three fingerprints in three
//! different lines; this filter reads one 64-byte block, and a URL's ~6
//! probes overlap. Measured with `examples/intel_bench.rs` (BENCHMARKS.md,
//! "Intel store"). The price is a slightly higher false-positive rate at
//! the same size (≈1.0% at 10 bits/entry against 0.39% for an 8-bit binary
//! fuse filter at 9 bits), and a false positive only costs an index probe.
//!
//! Layout: `n` blocks of 512 bits (8 × u64, 64-byte aligned). A key — an
//! xxh3-64 hash, already uniform — picks its block with its high 32 bits
//! (multiply-shift, no modulo) and one bit in each of the block's 8 words
//! with its low 32 bits times 8 odd constants (as Parquet's split-block
//! Bloom filter does). No false negatives: every inserted key's 8 bits are
//! set.

/// Bits per entry: 1.25 B/entry, ≈1.0% false positives.
pub(crate) const BITS_PER_KEY: usize = 10;

/// Odd multipliers for the in-word bit positions (from Parquet's
/// split-block Bloom filter).
const SALT: [u32; 8] = [
    0x47b6_137b,
    0x4497_4d91,
    0x8824_ad5b,
    0xa2b7_289d,
    0x7054_95c7,
    0x2df1_424b,
    0x9efc_4947,
    0x5c6b_fb31,
];

#[derive(Debug, Clone, Copy, Default)]
#[repr(align(64))]
struct Block([u64; 8]);

/// A blocked Bloom filter over 64-bit hashes.
#[derive(Debug, Clone, Default)]
pub(crate) struct BlockedBloom {
    blocks: Vec<Block>,
}

impl BlockedBloom {
    /// A filter holding `keys` (duplicates are harmless).
    pub(crate) fn build(keys: &[u64]) -> BlockedBloom {
        let n = (keys.len().saturating_mul(BITS_PER_KEY))
            .div_ceil(512)
            .max(1);
        let mut blocks = vec![Block::default(); n];
        for &k in keys {
            if let Some(b) = blocks.get_mut(block_index(k, n)) {
                let m = masks(k);
                for (w, bit) in b.0.iter_mut().zip(m) {
                    *w |= bit;
                }
            }
        }
        BlockedBloom { blocks }
    }

    /// False means `key` was certainly not inserted.
    #[inline]
    pub(crate) fn contains(&self, key: u64) -> bool {
        let Some(b) = self.blocks.get(block_index(key, self.blocks.len())) else {
            return true; // empty filter: no claim
        };
        let m = masks(key);
        let mut all = true;
        for (w, bit) in b.0.iter().zip(m) {
            all &= w & bit != 0;
        }
        all
    }

    pub(crate) fn bytes(&self) -> usize {
        self.blocks.len() * std::mem::size_of::<Block>()
    }
}

#[inline]
fn block_index(key: u64, n: usize) -> usize {
    (((key >> 32) * n as u64) >> 32) as usize
}

#[inline]
fn masks(key: u64) -> [u64; 8] {
    let x = key as u32;
    SALT.map(|s| 1u64 << (x.wrapping_mul(s) >> 26))
}

#[cfg(test)]
mod tests {
    use super::*;
    use xxhash_rust::xxh3::xxh3_64;

    #[test]
    fn no_false_negatives_and_about_one_percent_positives() {
        let keys: Vec<u64> = (0..200_000u64).map(|i| xxh3_64(&i.to_le_bytes())).collect();
        let f = BlockedBloom::build(&keys);
        assert!(keys.iter().all(|&k| f.contains(k)));
        let fp = (200_000..1_200_000u64)
            .filter(|i| f.contains(xxh3_64(&i.to_le_bytes())))
            .count();
        // Model: 1.05% at 10 bits/key.
        assert!((7_000..14_000).contains(&fp), "{fp} false positives in 1M");
        assert_eq!(f.bytes(), 200_000 * BITS_PER_KEY / 512 * 64 + 64);
    }

    #[test]
    fn empty_and_tiny_filters() {
        let f = BlockedBloom::build(&[]);
        assert_eq!(f.bytes(), 64);
        assert!(!f.contains(42));
        let f = BlockedBloom::build(&[7, 7, u64::MAX]);
        assert!(f.contains(7) && f.contains(u64::MAX));
        assert!(BlockedBloom::default().contains(1));
    }
}
