//! NumPy's legacy generator, `np.random.RandomState(seed)`, as far as
//! scikit-learn's `make_blobs` uses it: MT19937 seeded from a 32-bit
//! integer, `random_sample` (and `uniform` on top of it), the legacy
//! Gaussian and `shuffle` of a 1-D array. Bit for bit: the same seed gives
//! the same doubles as NumPy (checked against NumPy's output in
//! `tests/it/data/blobs.rs`).
//!
//! Sources of the rules, NumPy's `numpy/random/src/mt19937/` (seeding,
//! twist, tempering), `distributions.c` (`random_standard_uniform`: 53 bits
//! from two 32-bit words; `random_interval`: masked rejection),
//! `legacy-distributions.c` (`legacy_gauss`: the polar Box–Muller method,
//! which makes two values and keeps the second for the next call) and
//! `mtrand.pyx` (`shuffle`: Fisher–Yates from the last element down).

/// The state of `np.random.RandomState`: MT19937 and the cached Gaussian.
#[derive(Debug, Clone)]
pub(crate) struct RandomState {
    key: [u32; N],
    pos: usize,
    gauss: Option<f64>,
}

const N: usize = 624;
const M: usize = 397;
const MATRIX_A: u32 = 0x9908_b0df;
const UPPER_MASK: u32 = 0x8000_0000;
const LOWER_MASK: u32 = 0x7fff_ffff;

impl RandomState {
    /// `np.random.RandomState(seed)` for an integer seed (NumPy accepts
    /// 0 ≤ seed < 2³²; `mt19937_seed`, Matsumoto and Nishimura's
    /// `init_genrand`).
    pub(crate) fn new(seed: u32) -> RandomState {
        let mut key = [0u32; N];
        let mut s = seed;
        for (pos, k) in key.iter_mut().enumerate() {
            *k = s;
            s = 1_812_433_253u32
                .wrapping_mul(s ^ (s >> 30))
                .wrapping_add(pos as u32 + 1);
        }
        RandomState {
            key,
            pos: N,
            gauss: None,
        }
    }

    /// The whole state advanced by one round (`mt19937_gen`).
    fn twist(&mut self) {
        let k = &mut self.key;
        for i in 0..N {
            let y = (k[i] & UPPER_MASK) | (k[(i + 1) % N] & LOWER_MASK);
            let mag = if y & 1 == 1 { MATRIX_A } else { 0 };
            k[i] = k[(i + M) % N] ^ (y >> 1) ^ mag;
        }
        self.pos = 0;
    }

    /// The next 32-bit output, tempered.
    pub(crate) fn next_u32(&mut self) -> u32 {
        if self.pos == N {
            self.twist();
        }
        let mut y = self.key[self.pos];
        self.pos += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// `random_sample()`: a double in [0, 1) from 27 + 26 bits of two words.
    pub(crate) fn random_sample(&mut self) -> f64 {
        let a = f64::from(self.next_u32() >> 5);
        let b = f64::from(self.next_u32() >> 6);
        (a * 67_108_864.0 + b) / 9_007_199_254_740_992.0
    }

    /// `uniform(low, high)`: `low + (high − low)·random_sample()`.
    pub(crate) fn uniform(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.random_sample()
    }

    /// The legacy standard Gaussian (`legacy_gauss`): polar Box–Muller;
    /// each accepted pair gives two values, the second kept for the next
    /// call.
    pub(crate) fn gauss(&mut self) -> f64 {
        if let Some(g) = self.gauss.take() {
            return g;
        }
        loop {
            let x1 = 2.0 * self.random_sample() - 1.0;
            let x2 = 2.0 * self.random_sample() - 1.0;
            let r2 = x1 * x1 + x2 * x2;
            if r2 < 1.0 && r2 != 0.0 {
                // Box–Muller with polar coordinates (Knuth's polar method).
                let f = (-2.0 * r2.ln() / r2).sqrt();
                self.gauss = Some(f * x1);
                return f * x2;
            }
        }
    }

    /// `normal(loc, scale)`: `loc + scale·gauss()`.
    pub(crate) fn normal(&mut self, loc: f64, scale: f64) -> f64 {
        loc + scale * self.gauss()
    }

    /// NumPy's `next_uint64` for MT19937: two words, the first high.
    fn next_u64(&mut self) -> u64 {
        let hi = u64::from(self.next_u32());
        (hi << 32) | u64::from(self.next_u32())
    }

    /// An integer in `0..=max` by masked rejection (`random_interval`:
    /// one 32-bit word per try while `max` fits in 32 bits, else 64).
    fn interval(&mut self, max: u64) -> u64 {
        if max == 0 {
            return 0;
        }
        let mut mask = max;
        for s in [1, 2, 4, 8, 16, 32] {
            mask |= mask >> s;
        }
        loop {
            let v = if max <= u64::from(u32::MAX) {
                u64::from(self.next_u32()) & mask
            } else {
                self.next_u64() & mask
            };
            if v <= max {
                return v;
            }
        }
    }

    /// `shuffle(x)` of a 1-D array: for i from n−1 down to 1, swap x[i]
    /// with x[j], j uniform in 0..=i.
    pub(crate) fn shuffle<T>(&mut self, x: &mut [T]) {
        for i in (1..x.len()).rev() {
            let j = self.interval(i as u64) as usize;
            x.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference outputs of MT19937 (`mt19937ar.c`'s `init_genrand`
    /// with seed 5489, the C++ `std::mt19937` default): the 1st and the
    /// 10,000th output (the latter is the standard's own check value).
    #[test]
    fn mt19937_reference_outputs() {
        let mut g = RandomState::new(5489);
        assert_eq!(g.next_u32(), 3_499_211_612);
        for _ in 1..9_999 {
            g.next_u32();
        }
        assert_eq!(g.next_u32(), 4_123_659_995);
    }
}
