//! Reading a byte string as a stream of bits, most significant bit first:
//! the order in which the n-bit, scale-offset and szip filters pack values.
//!
//! ```text
//! bytes:  b0 = 1011_0010   b1 = 0110_0000
//! read(3) = 101, read(5) = 10010, read_fs() = 1 (one 0, then the 1),
//! read(6) = 100000
//! ```

/// A reader of bits from a byte slice, most significant bit of each byte
/// first. Reading past the end returns `None`.
#[derive(Debug, Clone)]
pub(crate) struct BitReader<'a> {
    data: &'a [u8],
    /// Next byte to load into `acc`.
    pos: usize,
    /// Loaded bits; the low `avail` bits are the ones not yet read.
    acc: u64,
    avail: u32,
}

fn low_mask(n: u32) -> u64 {
    if n >= 64 { u64::MAX } else { (1u64 << n) - 1 }
}

impl<'a> BitReader<'a> {
    /// A reader positioned on the first bit of `data`.
    pub(crate) fn new(data: &'a [u8]) -> Self {
        BitReader {
            data,
            pos: 0,
            acc: 0,
            avail: 0,
        }
    }

    fn refill(&mut self) {
        while self.avail <= 56 {
            let Some(&b) = self.data.get(self.pos) else {
                return;
            };
            self.acc = (self.acc << 8) | u64::from(b);
            self.pos += 1;
            self.avail += 8;
        }
    }

    /// The next `n` bits (at most 32) as an unsigned number.
    #[inline]
    pub(crate) fn read(&mut self, n: u32) -> Option<u32> {
        debug_assert!(n <= 32);
        if self.avail < n {
            self.refill();
            if self.avail < n {
                return None;
            }
        }
        self.avail -= n;
        Some(((self.acc >> self.avail) & low_mask(n)) as u32)
    }

    /// The next `n` bits (at most 64) as an unsigned number.
    pub(crate) fn read_u64(&mut self, n: u32) -> Option<u64> {
        if n <= 32 {
            return self.read(n).map(u64::from);
        }
        let hi = u64::from(self.read(n - 32)?);
        let lo = u64::from(self.read(32)?);
        Some((hi << 32) | lo)
    }

    /// A fundamental sequence: the number of 0 bits before the next 1 bit,
    /// which is consumed too.
    pub(crate) fn read_fs(&mut self) -> Option<u32> {
        let mut zeros = 0u32;
        loop {
            if self.avail == 0 {
                self.refill();
                if self.avail == 0 {
                    return None;
                }
            }
            let window = self.acc & low_mask(self.avail);
            if window == 0 {
                zeros = zeros.saturating_add(self.avail);
                self.avail = 0;
                continue;
            }
            let lead = window.leading_zeros() - (64 - self.avail);
            self.avail -= lead + 1;
            return Some(zeros.saturating_add(lead));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_most_significant_bit_first() {
        let mut r = BitReader::new(&[0b1011_0010, 0b0110_0000]);
        assert_eq!(r.read(3), Some(0b101));
        assert_eq!(r.read(5), Some(0b10010));
        assert_eq!(r.read_fs(), Some(1));
        assert_eq!(r.read(6), Some(0b10_0000));
        assert_eq!(r.read(1), None);
        assert_eq!(r.read_fs(), None);
    }

    #[test]
    fn wide_reads_cross_many_bytes() {
        let data: Vec<u8> = (1..=20).collect();
        let mut r = BitReader::new(&data);
        assert_eq!(r.read(4), Some(0));
        assert_eq!(r.read_u64(64), Some(0x1020_3040_5060_7080));
        assert_eq!(r.read(32), Some(0x90a0_b0c0));
        assert_eq!(r.read(0), Some(0));
    }

    #[test]
    fn long_runs_of_zeros() {
        let mut data = vec![0u8; 20];
        data.push(0b0001_0000);
        let mut r = BitReader::new(&data);
        assert_eq!(r.read(1), Some(0));
        assert_eq!(r.read_fs(), Some(20 * 8 - 1 + 3));
        assert_eq!(r.read(4), Some(0));
        assert_eq!(r.read_fs(), None);
    }
}
