//! Counter-based random streams for filling large buffers in parallel: chunk `i` of a buffer draws
//! from its own stream, so the values depend only on the seed and the chunk, not on which thread or in
//! what order the chunks are filled. SplitMix64 (Steele, Lea & Flood, 2014). For random benchmark
//! weights, not for anything that needs statistical strength.

/// One SplitMix64 step: a well-mixed 64-bit function of `x`.
pub fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A seed derived from another seed and a name (a tensor's, say).
pub fn seed_for(seed: u64, name: &str) -> u64 {
    name.bytes()
        .fold(splitmix64(seed), |h, b| splitmix64(h ^ u64::from(b)))
}

/// The random stream of one chunk.
pub struct ChunkStream(u64);

impl ChunkStream {
    /// The stream of chunk `index` under `seed`.
    pub fn new(seed: u64, index: usize) -> Self {
        ChunkStream(splitmix64(
            seed ^ (index as u64).wrapping_mul(0xA24B_AED4_963E_E407),
        ))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = splitmix64(self.0);
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_depend_on_seed_and_chunk_only() {
        let draw = |seed, index| {
            let mut s = ChunkStream::new(seed, index);
            (0..4).map(|_| s.next_u64()).collect::<Vec<_>>()
        };
        assert_eq!(draw(1, 0), draw(1, 0));
        assert_ne!(draw(1, 0), draw(1, 1));
        assert_ne!(draw(1, 0), draw(2, 0));
        assert_ne!(seed_for(1, "a.weight"), seed_for(1, "b.weight"));
    }
}
