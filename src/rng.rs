//! Seeded random streams. candle's CPU generator cannot be seeded (candle
//! issue #2651), so every random choice in `dlp` draws from a ChaCha8
//! stream derived here from the pipeline's one seed.
//!
//! Each purpose has its own stream, so adding augmentation does not move
//! the initial weights. Per-item randomness (an augmented sample, a dropout
//! mask) derives from `(stream seed, epoch, index)` rather than from a
//! shared sequential generator, so the result does not depend on how many
//! threads do the work.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The purposes that draw random numbers, each with its own sub-stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Synthetic data generation (`source blobs`).
    Data = 1,
    /// Splitting samples into train/valid/test.
    Split = 2,
    /// Weight initialisation.
    Init = 3,
    /// Per-epoch shuffling of the train split.
    Shuffle = 4,
    /// Dropout masks.
    Dropout = 5,
    /// Augmentation.
    Augment = 6,
    /// Sweep trial sampling and trial seeds.
    Sweep = 7,
}

/// SplitMix64's finaliser: a bijective 64-bit mix.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The seed of one purpose's stream.
pub fn stream_seed(seed: u64, stream: Stream) -> u64 {
    derive(seed, &[stream as u64])
}

/// A seed derived from a parent seed and a path of indices
/// (e.g. `[epoch, sample]`). Different paths give unrelated seeds.
pub fn derive(seed: u64, path: &[u64]) -> u64 {
    path.iter().fold(mix(seed), |acc, &p| {
        mix(acc ^ mix(p.wrapping_add(0xD1B5_4A32_D192_ED03)))
    })
}

/// A generator for a seed.
pub(crate) fn generator(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// The ChaCha key of [`generator`]`(seed)`, as eight little-endian words.
#[cfg(any(test, feature = "cuda"))]
pub(crate) fn chacha_key(seed: u64) -> [u32; 8] {
    let bytes = generator(seed).get_seed();
    std::array::from_fn(|i| u32::from_le_bytes([0, 1, 2, 3].map(|b| bytes[4 * i + b])))
}

/// Block `counter` of ChaCha8's keystream for `key` (nonce 0): the
/// sixteen words that [`generator`] yields as its draws `16·counter` to
/// `16·counter + 15` when `key` is its [`chacha_key`]. Any part of a
/// stream can so be computed on its own: a GPU thread computes one block
/// of a dropout mask with the same arithmetic (`kernels/`), and the
/// tests here check this form against `rand_chacha`.
#[cfg(test)]
pub(crate) fn chacha8_block(key: &[u32; 8], counter: u64) -> [u32; 16] {
    let mut input = [0u32; 16];
    // "expand 32-byte k"
    input[..4].copy_from_slice(&[0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574]);
    input[4..12].copy_from_slice(key);
    input[12] = counter as u32;
    input[13] = (counter >> 32) as u32;
    let mut x = input;
    let quarter = |x: &mut [u32; 16], a: usize, b: usize, c: usize, d: usize| {
        x[a] = x[a].wrapping_add(x[b]);
        x[d] = (x[d] ^ x[a]).rotate_left(16);
        x[c] = x[c].wrapping_add(x[d]);
        x[b] = (x[b] ^ x[c]).rotate_left(12);
        x[a] = x[a].wrapping_add(x[b]);
        x[d] = (x[d] ^ x[a]).rotate_left(8);
        x[c] = x[c].wrapping_add(x[d]);
        x[b] = (x[b] ^ x[c]).rotate_left(7);
    };
    for _ in 0..4 {
        quarter(&mut x, 0, 4, 8, 12);
        quarter(&mut x, 1, 5, 9, 13);
        quarter(&mut x, 2, 6, 10, 14);
        quarter(&mut x, 3, 7, 11, 15);
        quarter(&mut x, 0, 5, 10, 15);
        quarter(&mut x, 1, 6, 11, 12);
        quarter(&mut x, 2, 7, 8, 13);
        quarter(&mut x, 3, 4, 9, 14);
    }
    std::array::from_fn(|i| x[i].wrapping_add(input[i]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_differ_and_are_stable() {
        let a = stream_seed(42, Stream::Init);
        let b = stream_seed(42, Stream::Shuffle);
        assert_ne!(a, b);
        assert_eq!(a, stream_seed(42, Stream::Init));
        assert_ne!(derive(a, &[0, 1]), derive(a, &[1, 0]));
    }

    #[test]
    fn chacha8_blocks_are_the_generators_draws() {
        use rand::RngExt;
        for seed in [0, 7, u64::MAX] {
            let mut rng = generator(seed);
            let key = chacha_key(seed);
            // Nine blocks: past rand_chacha's four-block buffer twice.
            for counter in 0..9 {
                let draws: Vec<u32> = (0..16).map(|_| rng.random::<u32>()).collect();
                assert_eq!(
                    chacha8_block(&key, counter).to_vec(),
                    draws,
                    "block {counter}"
                );
            }
        }
    }

    #[test]
    fn chacha8_matches_the_published_test_vector() {
        // ChaCha8, all-zero key and nonce, block 0: the first words of the
        // keystream 3e00ef2f895f40d6 7f5bb8e81f09a5a1 (Strombergson's
        // test vectors, draft-strombergson-chacha-test-vectors-00, TC1).
        let block = chacha8_block(&[0; 8], 0);
        assert_eq!(
            &block[..4],
            &[0x2fef_003e, 0xd640_5f89, 0xe8b8_5b7f, 0xa1a5_091f]
        );
    }
}
