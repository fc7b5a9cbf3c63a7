//! Deterministic file contents, generated on the fly.
//!
//! A file's bytes are a pseudo-random block of [`PERIOD`] bytes (from the file's seed) repeated
//! to its size. `PERIOD` is prime, so a client that resumes at a wrong offset or drops a chunk
//! gets different bytes. Serving needs one block per request and no copy per chunk: chunks are
//! slices of a doubled block.

use bytes::Bytes;

/// Length of the repeating block, in bytes (a prime just above 64 KiB).
pub const PERIOD: usize = 65_537;

/// The seed of the file at `path` (relative to the results root) of a run whose plan has
/// `run_seed`. Stable across runs, processes and platforms.
pub fn file_seed(run_seed: u64, path: &str) -> u64 {
    // FNV-1a over the path, mixed with the run's seed.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ run_seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    for b in path.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// SplitMix64: a tiny, well-mixed generator used for contents and fault rolls.
#[derive(Clone, Debug)]
pub struct SplitMix(pub u64);

impl SplitMix {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number uniformly in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The contents of one file.
#[derive(Clone, Debug)]
pub struct Content {
    doubled: Bytes,
    size: u64,
}

impl Content {
    /// The contents of a file of `size` bytes with `seed`.
    pub fn new(seed: u64, size: u64) -> Self {
        let mut block = Vec::with_capacity(2 * PERIOD);
        let mut rng = SplitMix(seed);
        while block.len() < PERIOD {
            block.extend_from_slice(&rng.next_u64().to_le_bytes());
        }
        block.truncate(PERIOD);
        block.extend_from_within(..);
        Self {
            doubled: Bytes::from(block),
            size,
        }
    }

    /// The file's size.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The chunks covering `start..end` (clamped to the size), each at most [`PERIOD`] bytes,
    /// sharing one buffer.
    pub fn chunks(&self, start: u64, end: u64) -> impl Iterator<Item = Bytes> + Send + 'static {
        let doubled = self.doubled.clone();
        let end = end.min(self.size);
        let mut pos = start.min(end);
        std::iter::from_fn(move || {
            if pos >= end {
                return None;
            }
            let at = (pos % PERIOD as u64) as usize;
            let len = (end - pos).min(PERIOD as u64) as usize;
            pos += len as u64;
            Some(doubled.slice(at..at + len))
        })
    }

    /// The bytes `start..end` in one buffer (for tests and small files).
    pub fn read(&self, start: u64, end: u64) -> Vec<u8> {
        self.chunks(start, end).fold(Vec::new(), |mut v, c| {
            v.extend_from_slice(&c);
            v
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_agree_with_the_whole() {
        let c = Content::new(42, 3 * PERIOD as u64 + 17);
        let all = c.read(0, u64::MAX);
        assert_eq!(all.len() as u64, c.size());
        assert_eq!(&all[..PERIOD], &all[PERIOD..2 * PERIOD]);
        for (s, e) in [
            (0, 1),
            (5, 70_000),
            (PERIOD as u64 - 1, PERIOD as u64 + 1),
            (196_000, 196_000),
        ] {
            assert_eq!(c.read(s, e), all[s as usize..e as usize]);
        }
        assert!(c.chunks(0, u64::MAX).all(|ch| ch.len() <= PERIOD));
    }

    #[test]
    fn seeds_differ_by_path_and_run() {
        assert_ne!(file_seed(1, "a"), file_seed(1, "b"));
        assert_ne!(file_seed(1, "a"), file_seed(2, "a"));
        assert_ne!(
            Content::new(1, 64).read(0, 64),
            Content::new(2, 64).read(0, 64)
        );
    }
}
