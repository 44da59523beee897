//! Reproducible sampling for Type 2 testing (`docs/formats/type2.md`, "Sampling").
//!
//! A draw of `k` items from a population of `n`, ordered as the report documents, takes for
//! `i = 0, 1, 2, ...` the SHA-256 of the UTF-8 text `attest-sample-v1\n{seed}\n{label}\n{i}\n`,
//! reads its first 8 bytes as a big-endian unsigned integer, and takes that modulo `n` as the
//! next index, skipping indexes already drawn, until `k` distinct indexes are drawn (all of
//! them when `k >= n`). Anyone with the seed, the label and the population can redo it in a
//! few lines of any language.

use sha2::{Digest, Sha256};

/// The index a draw takes at step `i`.
pub fn step(seed: u64, label: &str, i: u64, n: u64) -> u64 {
    let digest = Sha256::digest(format!("attest-sample-v1\n{seed}\n{label}\n{i}\n").as_bytes());
    let mut first = [0_u8; 8];
    first.copy_from_slice(digest.get(..8).unwrap_or(&[0; 8]));
    u64::from_be_bytes(first).checked_rem(n).unwrap_or(0)
}

/// Draws `k` distinct indexes out of `0..n`, in the order drawn.
pub fn draw(seed: u64, label: &str, n: u64, k: u64) -> Vec<u64> {
    if n == 0 || k == 0 {
        return Vec::new();
    }
    if k >= n {
        return (0..n).collect();
    }
    let mut drawn = Vec::with_capacity(usize::try_from(k).unwrap_or(0));
    let mut taken = std::collections::HashSet::new();
    let mut i = 0_u64;
    while (drawn.len() as u64) < k {
        let index = step(seed, label, i, n);
        if taken.insert(index) {
            drawn.push(index);
        }
        i = i.saturating_add(1);
    }
    drawn
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_first_step_matches_the_documented_recipe() {
        // python3 -c 'import hashlib; h=hashlib.sha256(b"attest-sample-v1\n42\nAC-02\n0\n").digest(); print(int.from_bytes(h[:8],"big") % 1000)'
        let digest = Sha256::digest(b"attest-sample-v1\n42\nAC-02\n0\n");
        let mut first = [0_u8; 8];
        first.copy_from_slice(&digest[..8]);
        assert_eq!(step(42, "AC-02", 0, 1000), u64::from_be_bytes(first) % 1000);
    }

    #[test]
    fn small_populations_are_taken_whole() {
        assert_eq!(draw(1, "x", 3, 5), vec![0, 1, 2]);
        assert!(draw(1, "x", 0, 5).is_empty());
        assert!(draw(1, "x", 10, 0).is_empty());
    }

    proptest! {
        /// The same seed draws the same sample; the sample is distinct, in range and of size k.
        #[test]
        fn draws_are_reproducible_distinct_and_in_range(seed in any::<u64>(), n in 1u64..10_000, k in 0u64..40) {
            let a = draw(seed, "CM-01", n, k);
            prop_assert_eq!(&a, &draw(seed, "CM-01", n, k));
            prop_assert_eq!(a.len() as u64, k.min(n));
            prop_assert!(a.iter().all(|i| *i < n));
            let distinct: std::collections::HashSet<_> = a.iter().collect();
            prop_assert_eq!(distinct.len(), a.len());
        }

        /// Another seed or label draws another sample (almost always, for a large population).
        #[test]
        fn seeds_and_labels_matter(seed in any::<u64>()) {
            let a = draw(seed, "CM-01", 1_000_000, 5);
            prop_assert_ne!(&a, &draw(seed.wrapping_add(1), "CM-01", 1_000_000, 5));
            prop_assert_ne!(&a, &draw(seed, "CM-02", 1_000_000, 5));
        }
    }
}
