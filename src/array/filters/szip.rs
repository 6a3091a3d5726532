//! Filter 4, szip: Rice coding with adaptive choice of options per block,
//! the lossless "adaptive entropy coding" of CCSDS 121.0-B, as written by
//! the SZIP library or its successor libaec.
//!
//! Client data (the last two set by libhdf5 from the type and the chunk):
//!
//! ```text
//! [0] options mask: 1 allow-k13, 2 chip, 4 entropy coding only, 8 LSB first,
//!     16 MSB first, 32 nearest-neighbour preprocessing, 128 raw (no szip
//!     header); only MSB (16) and preprocessing (32) change the decoding
//! [1] pixels per block (even, at most 32 from libhdf5)
//! [2] bits per pixel (the type's precision; 25-32 bits become 32, 33-64
//!     bits 64)
//! [3] pixels per scanline
//! ```
//!
//! A stored chunk:
//!
//! ```text
//! decoded size (4, LE) | coded stream (bits, most significant first)
//! ```
//!
//! The stream codes samples of `n` bits in blocks of `J` samples; `r =
//! ceil(pixels per scanline / J)` blocks form a reference sample interval
//! (RSI), and each scanline is coded as one RSI, its last block padded. Each
//! block starts with an option identifier of 3 bits (`n` ≤ 8), 4 (`n` ≤ 16)
//! or 5 (`n` ≤ 32):
//!
//! ```text
//! 0, then 1 bit:  0 zero blocks: a fundamental sequence (FS: z zeros then
//!                   a 1) gives z+1 all-zero blocks; z+1 = 5 means "to the
//!                   end of the RSI or of the 64-block segment", larger
//!                   values one less
//!                 1 second extension: J/2 FS codes m, each a pair (a, b)
//!                   with m = (a+b)(a+b+1)/2 + b
//! k+1             split: J FS codes (the high parts), then J k-bit low parts
//! all ones        uncompressed: J samples of n bits
//! ```
//!
//! With preprocessing, the first block of each RSI starts (after its
//! identifier) with an `n`-bit reference sample that is output as it is, and
//! codes one sample fewer; every other sample is a mapped difference from
//! the previous output sample, undone here.
//!
//! libaec's compatibility layer (`SZ_BufftoBuffDecompress`), which libhdf5
//! calls, adds: samples of 32 or 64 bits are coded as 8-bit samples of the
//! byte planes (all first bytes, then all second bytes...); samples are
//! 1, 2 or 4 bytes in memory (`n` ≤ 8, ≤ 16, ≤ 32), little-endian unless MSB
//! is set; scanlines whose length is not a multiple of `J` are padded up to
//! one, and the padding dropped on decode.

use super::bits::BitReader;
use super::{Filter, FilterCtx};
use crate::error::{Error, Result};

/// The filter identifier.
pub const ID: u16 = 4;

/// The szip filter.
#[derive(Debug, Clone, Copy, Default)]
pub struct Szip;

/// Options mask bit: samples most significant byte first.
pub const OPTION_MSB: u32 = 16;
/// Options mask bit: nearest-neighbour preprocessing.
pub const OPTION_NN: u32 = 32;

/// Largest second-extension code: 13 diagonals of pairs (a + b ≤ 12).
const SE_MAX: u32 = 90;
/// Zero-block count meaning "to the end of the segment".
const ROS: u64 = 5;
/// Largest block accepted.
const MAX_BLOCK: usize = 64;

fn bad(what: impl std::fmt::Display) -> Error {
    Error::format_noaddr(format!("szip filter: {what}"))
}

/// The coding parameters.
#[derive(Debug, Clone, Copy)]
struct Params {
    msb: bool,
    preprocess: bool,
    block: usize,
    /// Bits per pixel as the client data says (32 and 64 are coded as bytes).
    bits_per_pixel: u32,
    scanline: usize,
}

fn parse(params: &[u32]) -> Result<Params> {
    let [mask, block, bits_per_pixel, scanline] = params else {
        return Err(bad(format!("{} client data values, need 4", params.len())));
    };
    let block = *block as usize;
    if !(2..=MAX_BLOCK).contains(&block) || !block.is_multiple_of(2) {
        return Err(bad(format!("{block} pixels per block")));
    }
    if !matches!(bits_per_pixel, 1..=32 | 64) {
        return Err(bad(format!("{bits_per_pixel} bits per pixel")));
    }
    if *scanline == 0 {
        return Err(bad("0 pixels per scanline"));
    }
    Ok(Params {
        msb: mask & OPTION_MSB != 0,
        preprocess: mask & OPTION_NN != 0,
        block,
        bits_per_pixel: *bits_per_pixel,
        scanline: *scanline as usize,
    })
}

/// The second-extension pair of code `m`: its diagonal `a + b` and the
/// code of the diagonal's first pair.
fn se_diagonal(m: u32) -> (u32, u32) {
    let mut sum = 0;
    let mut first = 0;
    while first + sum < m {
        sum += 1;
        first += sum;
    }
    (sum, first)
}

/// The decoder's state: where it is in the RSI and what it has output.
struct Decoder<'a> {
    bits: BitReader<'a>,
    sample_bits: u32,
    id_len: u32,
    block: usize,
    rsi_blocks: usize,
    /// Samples in an RSI: `rsi_blocks × block`.
    rsi_len: usize,
    scanline: usize,
    preprocess: bool,
    xmax: u32,
    /// Position of the next sample in its RSI.
    pos: usize,
    last: u32,
    bytes_per_sample: usize,
    msb: bool,
    needed: usize,
    out: Vec<u8>,
}

impl Decoder<'_> {
    fn done(&self) -> bool {
        self.out.len() >= self.needed * self.bytes_per_sample
    }

    fn read(&mut self, n: u32) -> Result<u32> {
        self.bits.read(n).ok_or_else(|| self.short())
    }

    fn read_fs(&mut self) -> Result<u32> {
        self.bits.read_fs().ok_or_else(|| self.short())
    }

    fn short(&self) -> Error {
        bad(format!(
            "coded stream ends after {} of {} samples",
            self.out.len() / self.bytes_per_sample,
            self.needed
        ))
    }

    /// Undoes the preprocessor's mapping of the difference from `last`.
    fn unmap(&self, d: u32) -> u32 {
        let last = self.last;
        let med = self.xmax / 2 + 1;
        let high = last & med != 0;
        // The distance to the nearer end of the range.
        let theta = if high { self.xmax ^ last } else { last };
        let half = (d >> 1) + (d & 1);
        if half <= theta {
            if d & 1 == 0 {
                last.wrapping_add(d >> 1)
            } else {
                last.wrapping_sub((d >> 1) + 1)
            }
        } else if high {
            self.xmax ^ d
        } else {
            d
        }
    }

    /// Outputs the next sample of the RSI, `s` being the coded value.
    fn emit(&mut self, s: u32) {
        let value = if !self.preprocess {
            s
        } else if self.pos == 0 {
            self.last = s;
            s
        } else {
            let v = self.unmap(s);
            self.last = v;
            v
        };
        if self.pos < self.scanline && !self.done() {
            let le = value.to_le_bytes();
            let bytes = &le[..self.bytes_per_sample];
            if self.msb {
                self.out.extend(bytes.iter().rev());
            } else {
                self.out.extend_from_slice(bytes);
            }
        }
        self.pos += 1;
        if self.pos == self.rsi_len {
            self.pos = 0;
        }
    }

    fn block(&mut self) -> Result<()> {
        let block_in_rsi = self.pos / self.block;
        let reference = self.preprocess && self.pos == 0;
        let id = self.read(self.id_len)?;
        if id == 0 {
            let second_extension = self.read(1)? == 1;
            if reference {
                let r = self.read(self.sample_bits)?;
                self.emit(r);
            }
            if second_extension {
                let mut i = usize::from(reference);
                while i < self.block {
                    let m = self.read_fs()?;
                    if m > SE_MAX {
                        return Err(bad(format!("second-extension code {m}")));
                    }
                    let (sum, first) = se_diagonal(m);
                    let b = m - first;
                    if i % 2 == 0 {
                        self.emit(sum - b);
                        i += 1;
                    }
                    self.emit(b);
                    i += 1;
                }
            } else {
                let mut blocks = u64::from(self.read_fs()?) + 1;
                let left = (self.rsi_blocks - block_in_rsi) as u64;
                if blocks == ROS {
                    blocks = left.min(64 - block_in_rsi as u64 % 64);
                } else if blocks > ROS {
                    blocks -= 1;
                }
                if blocks > left {
                    return Err(bad(format!(
                        "{blocks} zero blocks where the interval has {left} left"
                    )));
                }
                let zeros = blocks as usize * self.block - usize::from(reference);
                for _ in 0..zeros {
                    self.emit(0);
                    if self.done() {
                        break;
                    }
                }
            }
        } else if id == (1 << self.id_len) - 1 {
            for _ in 0..self.block {
                let s = self.read(self.sample_bits)?;
                self.emit(s);
            }
        } else {
            let k = id - 1;
            if reference {
                let r = self.read(self.sample_bits)?;
                self.emit(r);
            }
            let n = self.block - usize::from(reference);
            let mut high = [0u32; MAX_BLOCK];
            for h in &mut high[..n] {
                *h = self.read_fs()? << k;
            }
            for h in &high[..n] {
                let low = self.read(k)?;
                self.emit(h.wrapping_add(low));
            }
        }
        Ok(())
    }
}

/// Decodes an szip chunk (size header and coded stream) with client data
/// `params`, producing at most `max_output` bytes.
///
/// # Errors
///
/// A format error for client data libaec would refuse, a decoded size above
/// `max_output`, or a coded stream that is corrupt or ends before the
/// decoded size is reached.
pub fn decompress(input: &[u8], params: &[u32], max_output: usize) -> Result<Vec<u8>> {
    let p = parse(params)?;
    let Some((size, stream)) = input.split_first_chunk::<4>() else {
        return Err(bad(format!("chunk of {} bytes has no size", input.len())));
    };
    let total = u32::from_le_bytes(*size) as usize;
    if total > max_output {
        return Err(bad(format!(
            "chunk claims {total} decoded bytes, more than the {max_output} expected"
        )));
    }
    let interleave = matches!(p.bits_per_pixel, 32 | 64);
    let sample_bits = if interleave { 8 } else { p.bits_per_pixel };
    let (bytes_per_sample, id_len) = match sample_bits {
        0..=8 => (1, 3),
        9..=16 => (2, 4),
        _ => (4, 5),
    };
    if !total.is_multiple_of(bytes_per_sample) {
        return Err(bad(format!(
            "{total} decoded bytes are not whole {bytes_per_sample}-byte samples"
        )));
    }
    let word = (p.bits_per_pixel / 8) as usize;
    if interleave && !total.is_multiple_of(word) {
        return Err(bad(format!(
            "{total} decoded bytes are not whole {word}-byte pixels"
        )));
    }
    let rsi_blocks = p.scanline.div_ceil(p.block);
    let mut d = Decoder {
        bits: BitReader::new(stream),
        sample_bits,
        id_len,
        block: p.block,
        rsi_blocks,
        rsi_len: rsi_blocks.saturating_mul(p.block),
        scanline: p.scanline,
        preprocess: p.preprocess,
        xmax: ((1u64 << sample_bits) - 1) as u32,
        pos: 0,
        last: 0,
        bytes_per_sample,
        msb: p.msb,
        needed: total / bytes_per_sample,
        out: Vec::with_capacity(total),
    };
    while !d.done() {
        if let Err(e) = d.block() {
            // A stream may stop inside the block holding the last sample.
            if d.done() {
                break;
            }
            return Err(e);
        }
    }
    let out = d.out;
    if !interleave {
        return Ok(out);
    }
    // Samples were the byte planes of the pixels: put the bytes back.
    let pixels = total / word;
    let mut pixels_out = vec![0u8; total];
    for (j, plane) in out.chunks_exact(pixels.max(1)).enumerate().take(word) {
        for (i, &b) in plane.iter().enumerate() {
            pixels_out[i * word + j] = b;
        }
    }
    Ok(pixels_out)
}

impl Filter for Szip {
    fn id(&self) -> u16 {
        ID
    }

    fn name(&self) -> &'static str {
        "szip"
    }

    fn decode(&self, input: Vec<u8>, ctx: &FilterCtx) -> Result<Vec<u8>> {
        decompress(&input, ctx.params, ctx.max_output)
    }

    fn decode_slice(&self, input: &[u8], ctx: &FilterCtx) -> Result<Vec<u8>> {
        decompress(input, ctx.params, ctx.max_output)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes bits most significant first.
    #[derive(Default)]
    struct Bits {
        bytes: Vec<u8>,
        n: u32,
    }

    impl Bits {
        fn put(&mut self, value: u32, width: u32) -> &mut Self {
            for i in (0..width).rev() {
                if self.n.is_multiple_of(8) {
                    self.bytes.push(0);
                }
                let bit = (value >> i) & 1;
                *self.bytes.last_mut().unwrap() |= (bit as u8) << (7 - self.n % 8);
                self.n += 1;
            }
            self
        }

        fn fs(&mut self, zeros: u32) -> &mut Self {
            for _ in 0..zeros {
                self.put(0, 1);
            }
            self.put(1, 1)
        }

        /// The chunk: decoded size, then the stream.
        fn chunk(&self, size: u32) -> Vec<u8> {
            [&size.to_le_bytes()[..], &self.bytes].concat()
        }
    }

    #[test]
    fn se_pairs() {
        assert_eq!(se_diagonal(0), (0, 0));
        assert_eq!(se_diagonal(1), (1, 1));
        assert_eq!(se_diagonal(2), (1, 1));
        assert_eq!(se_diagonal(3), (2, 3));
        assert_eq!(se_diagonal(5), (2, 3));
        assert_eq!(se_diagonal(6), (3, 6));
        assert_eq!(se_diagonal(90), (12, 78));
    }

    #[test]
    fn uncompressed_and_split_blocks() {
        // 8-bit samples, blocks of 2, one block per scanline, no
        // preprocessing. Block 1 uncompressed (id 111): 7, 200. Block 2
        // split k=2 (id 011): FS 1 and 0 (high parts 1<<2, 0), low parts
        // 10 and 01: 6, 1.
        let mut b = Bits::default();
        b.put(7, 3).put(7, 8).put(200, 8);
        b.put(3, 3).fs(1).fs(0).put(2, 2).put(1, 2);
        let out = decompress(&b.chunk(4), &[0, 2, 8, 2], 4).unwrap();
        assert_eq!(out, [7, 200, 6, 1]);
    }

    #[test]
    fn zero_blocks_and_segment_end() {
        // Blocks of 2, scanline of 8 (4 blocks). id 000, bit 0, FS 1:
        // two zero blocks; then id 000, 0, FS 4 (ROS): to the end of the
        // RSI (2 blocks).
        let mut b = Bits::default();
        b.put(0, 3).put(0, 1).fs(1);
        b.put(0, 3).put(0, 1).fs(4);
        let out = decompress(&b.chunk(8), &[0, 2, 8, 8], 8).unwrap();
        assert_eq!(out, [0; 8]);
        // More zero blocks than the RSI holds.
        let mut b = Bits::default();
        b.put(0, 3).put(0, 1).fs(5);
        assert!(decompress(&b.chunk(8), &[0, 2, 8, 8], 8).is_err());
    }

    #[test]
    fn second_extension() {
        // Blocks of 4: codes 2 -> (0, 1) and 3 -> (2, 0).
        let mut b = Bits::default();
        b.put(0, 3).put(1, 1).fs(2).fs(3);
        let out = decompress(&b.chunk(4), &[0, 4, 8, 4], 4).unwrap();
        assert_eq!(out, [0, 1, 2, 0]);
        let mut b = Bits::default();
        b.put(0, 3).put(1, 1).fs(91);
        assert!(decompress(&b.chunk(4), &[0, 4, 8, 4], 4).is_err());
    }

    #[test]
    fn preprocessing_with_reference_samples() {
        // 8-bit, blocks of 4, NN. Reference 100 then mapped differences
        // 2 (+1), 1 (-1), 4 (+2): 100, 101, 100, 102, in a split block k=0:
        // id 001, reference, FS 2, 1, 4.
        let mut b = Bits::default();
        b.put(1, 3).put(100, 8).fs(2).fs(1).fs(4);
        let out = decompress(&b.chunk(4), &[OPTION_NN, 4, 8, 4], 4).unwrap();
        assert_eq!(out, [100, 101, 100, 102]);
        // Near the top of the range: from 250, a difference of 12 is past
        // twice the distance to 255, so it maps to 255 - 12.
        let mut b = Bits::default();
        b.put(7, 3).put(250, 8).put(12, 8).put(0, 8).put(1, 8);
        let out = decompress(&b.chunk(4), &[OPTION_NN, 4, 8, 4], 4).unwrap();
        assert_eq!(out, [250, 243, 243, 242]);
    }

    #[test]
    fn sixteen_bit_samples_and_byte_order() {
        // 16-bit: 4-bit ids; uncompressed block (1111) of 0x0102, 0x0304.
        let mut b = Bits::default();
        b.put(15, 4).put(0x0102, 16).put(0x0304, 16);
        let le = decompress(&b.chunk(4), &[0, 2, 16, 2], 4).unwrap();
        assert_eq!(le, [2, 1, 4, 3]);
        let be = decompress(&b.chunk(4), &[OPTION_MSB, 2, 16, 2], 4).unwrap();
        assert_eq!(be, [1, 2, 3, 4]);
    }

    #[test]
    fn scanline_padding_is_dropped() {
        // Scanline of 3 with blocks of 2: each RSI is 4 samples, the 4th
        // dropped.
        let mut b = Bits::default();
        for v in [[1, 2], [3, 99], [4, 5], [6, 99]] {
            b.put(7, 3).put(v[0], 8).put(v[1], 8);
        }
        let out = decompress(&b.chunk(6), &[0, 2, 8, 3], 6).unwrap();
        assert_eq!(out, [1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn wide_pixels_are_byte_planes() {
        // Two 32-bit pixels coded as 8 bytes: plane 0 then plane 1...
        let mut b = Bits::default();
        for v in [[0x11, 0x21], [0x12, 0x22], [0x13, 0x23], [0x14, 0x24]] {
            b.put(7, 3).put(v[0], 8).put(v[1], 8);
        }
        let out = decompress(&b.chunk(8), &[0, 2, 32, 2], 8).unwrap();
        assert_eq!(out, [0x11, 0x12, 0x13, 0x14, 0x21, 0x22, 0x23, 0x24]);
    }

    #[test]
    fn refused_input() {
        let mut b = Bits::default();
        b.put(7, 3).put(1, 8).put(2, 8);
        let chunk = b.chunk(2);
        assert!(decompress(&chunk, &[0, 2, 8], 2).is_err());
        assert!(decompress(&chunk, &[0, 3, 8, 2], 2).is_err());
        assert!(decompress(&chunk, &[0, 2, 33, 2], 2).is_err());
        assert!(decompress(&chunk, &[0, 2, 8, 0], 2).is_err());
        assert!(decompress(&chunk[..3], &[0, 2, 8, 2], 2).is_err());
        // Claims more than allowed; stream too short.
        assert!(decompress(&chunk, &[0, 2, 8, 2], 1).is_err());
        assert!(decompress(&b.chunk(4), &[0, 2, 8, 2], 4).is_err());
        // Not whole samples or pixels.
        assert!(decompress(&b.chunk(3), &[0, 2, 16, 2], 4).is_err());
        assert!(decompress(&b.chunk(6), &[0, 2, 32, 2], 8).is_err());
    }
}
