//! Filter 2, shuffle: the bytes of the elements regrouped by significance,
//! which helps a compressor that follows it.
//!
//! Client data: `[element size]`, set by libhdf5 from the dataset's type when
//! the dataset is created.
//!
//! ```text
//! elements (size 4):  a0 a1 a2 a3 | b0 b1 b2 b3 | c0 c1 c2 c3 | t
//! shuffled:           a0 b0 c0 | a1 b1 c1 | a2 b2 c2 | a3 b3 c3 | t
//! ```
//!
//! Byte `j` of element `i` moves to `j × n + i` for `n` whole elements.
//! Bytes after the last whole element (`t`, when the chunk size is not a
//! multiple of the element size) stay at the end, as libhdf5 leaves them.
//! libhdf5 also leaves the data untouched when the element size is 1 or the
//! chunk holds a single element; the regrouping is the identity there anyway.
//!
//! Shuffling is a byte-matrix transpose. Elements of 4, 8 and 16 bytes (the
//! common numeric types) are transposed eight at a time in 64-bit words
//! (4×4 and 8×8 byte transposes by masks and shifts); other sizes up to 16
//! go through a blocked loop over fixed-size arrays, larger ones through a
//! plain loop.

use super::{Filter, FilterCtx};
use crate::error::{Error, Result};

/// The filter identifier.
pub const ID: u16 = 2;

/// The shuffle filter.
#[derive(Debug, Clone, Copy, Default)]
pub struct Shuffle;

/// Elements regrouped per block by the blocked loops: a block of each byte
/// plane is gathered into a small array first, so that the loops index only
/// fixed-size arrays.
const BLOCK: usize = 16;

/// Undoes the shuffle of `src` (element size `size`) into `dst`, which has
/// the same length.
fn unshuffle_fixed<const N: usize>(src: &[u8], dst: &mut [u8]) {
    let n = src.len() / N;
    let planes: [&[u8]; N] = std::array::from_fn(|j| &src[j * n..(j + 1) * n]);
    let whole = n / BLOCK * BLOCK;
    for (b, out) in dst[..whole * N].chunks_exact_mut(BLOCK * N).enumerate() {
        let mut cols = [[0u8; BLOCK]; N];
        for (col, plane) in cols.iter_mut().zip(planes) {
            col.copy_from_slice(&plane[b * BLOCK..(b + 1) * BLOCK]);
        }
        for (i, element) in out.chunks_exact_mut(N).enumerate() {
            for (byte, col) in element.iter_mut().zip(&cols) {
                *byte = col[i % BLOCK];
            }
        }
    }
    for (i, element) in dst[whole * N..n * N].chunks_exact_mut(N).enumerate() {
        for (byte, plane) in element.iter_mut().zip(planes) {
            *byte = plane[whole + i];
        }
    }
}

/// Shuffles `src` (element size `N`) into `dst`.
fn shuffle_fixed<const N: usize>(src: &[u8], dst: &mut [u8]) {
    let n = src.len() / N;
    let (planes_area, _) = dst.split_at_mut(n * N);
    let mut planes: Vec<&mut [u8]> = planes_area.chunks_exact_mut(n.max(1)).collect();
    let whole = n / BLOCK * BLOCK;
    for (b, elements) in src[..whole * N].chunks_exact(BLOCK * N).enumerate() {
        let mut cols = [[0u8; BLOCK]; N];
        for (i, element) in elements.chunks_exact(N).enumerate() {
            for (col, &byte) in cols.iter_mut().zip(element) {
                col[i % BLOCK] = byte;
            }
        }
        for (plane, col) in planes.iter_mut().zip(&cols) {
            plane[b * BLOCK..(b + 1) * BLOCK].copy_from_slice(col);
        }
    }
    for (i, element) in src[whole * N..n * N].chunks_exact(N).enumerate() {
        for (plane, &byte) in planes.iter_mut().zip(element) {
            plane[whole + i] = byte;
        }
    }
}

/// Transposes two 4×4 byte matrices held side by side in four words: on
/// entry byte `i` of word `j` (in each 32-bit half) is element `i`'s byte
/// `j`, on exit element `j`'s byte `i`; the transpose is its own inverse.
#[inline(always)]
fn transpose_4x4_pair(r: &mut [u64; 4]) {
    const LO16: u64 = 0x0000_ffff_0000_ffff;
    const LO8: u64 = 0x00ff_00ff_00ff_00ff;
    for j in 0..2 {
        let (a, b) = (r[j], r[j + 2]);
        r[j] = (a & LO16) | ((b << 16) & !LO16);
        r[j + 2] = (b & !LO16) | ((a >> 16) & LO16);
    }
    for j in [0, 2] {
        let (a, b) = (r[j], r[j + 1]);
        r[j] = (a & LO8) | ((b << 8) & !LO8);
        r[j + 1] = (b & !LO8) | ((a >> 8) & LO8);
    }
}

/// Transposes an 8×8 byte matrix held in eight words (byte `i` of word `j`
/// becomes byte `j` of word `i`).
#[inline(always)]
fn transpose_8x8(r: &mut [u64; 8]) {
    const LO32: u64 = 0x0000_0000_ffff_ffff;
    const LO16: u64 = 0x0000_ffff_0000_ffff;
    const LO8: u64 = 0x00ff_00ff_00ff_00ff;
    for j in 0..4 {
        let (a, b) = (r[j], r[j + 4]);
        r[j] = (a & LO32) | (b << 32);
        r[j + 4] = (b & !LO32) | (a >> 32);
    }
    for j in [0, 1, 4, 5] {
        let (a, b) = (r[j], r[j + 2]);
        r[j] = (a & LO16) | ((b << 16) & !LO16);
        r[j + 2] = (b & !LO16) | ((a >> 16) & LO16);
    }
    for j in [0, 2, 4, 6] {
        let (a, b) = (r[j], r[j + 1]);
        r[j] = (a & LO8) | ((b << 8) & !LO8);
        r[j + 1] = (b & !LO8) | ((a >> 8) & LO8);
    }
}

fn word(bytes: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&bytes[..8]);
    u64::from_le_bytes(w)
}

/// Unshuffles 4-byte elements eight at a time; returns how many were done.
fn unshuffle_4(src: &[u8], dst: &mut [u8]) -> usize {
    let n = src.len() / 4;
    let whole = n / 8 * 8;
    let (p0, rest) = src.split_at(n);
    let (p1, rest) = rest.split_at(n);
    let (p2, p3) = rest.split_at(n);
    for (b, out) in dst[..whole * 4].chunks_exact_mut(32).enumerate() {
        let at = b * 8;
        let mut r = [
            word(&p0[at..]),
            word(&p1[at..]),
            word(&p2[at..]),
            word(&p3[at..]),
        ];
        transpose_4x4_pair(&mut r);
        let (lo, hi) = out.split_at_mut(16);
        for (j, w) in r.iter().enumerate() {
            lo[j * 4..j * 4 + 4].copy_from_slice(&(*w as u32).to_le_bytes());
            hi[j * 4..j * 4 + 4].copy_from_slice(&((*w >> 32) as u32).to_le_bytes());
        }
    }
    whole
}

/// Shuffles 4-byte elements eight at a time; returns how many were done.
fn shuffle_4(src: &[u8], dst: &mut [u8]) -> usize {
    let n = src.len() / 4;
    let whole = n / 8 * 8;
    let (p0, rest) = dst.split_at_mut(n);
    let (p1, rest) = rest.split_at_mut(n);
    let (p2, rest) = rest.split_at_mut(n);
    let p3 = &mut rest[..n];
    for (b, elements) in src[..whole * 4].chunks_exact(32).enumerate() {
        let (lo, hi) = elements.split_at(16);
        let mut r = [0u64; 4];
        for (j, w) in r.iter_mut().enumerate() {
            let e = |h: &[u8]| {
                u64::from(u32::from_le_bytes([
                    h[j * 4],
                    h[j * 4 + 1],
                    h[j * 4 + 2],
                    h[j * 4 + 3],
                ]))
            };
            *w = e(lo) | e(hi) << 32;
        }
        transpose_4x4_pair(&mut r);
        let at = b * 8;
        for (plane, w) in [&mut *p0, &mut *p1, &mut *p2, &mut *p3].into_iter().zip(r) {
            plane[at..at + 8].copy_from_slice(&w.to_le_bytes());
        }
    }
    whole
}

/// Unshuffles elements of `N` bytes (a multiple of 8) eight at a time, by
/// 8×8 transposes of each group of eight byte planes; returns how many
/// elements were done.
fn unshuffle_8k<const N: usize>(src: &[u8], dst: &mut [u8]) -> usize {
    let n = src.len() / N;
    let whole = n / 8 * 8;
    let planes: [&[u8]; N] = std::array::from_fn(|j| &src[j * n..(j + 1) * n]);
    for (b, out) in dst[..whole * N].chunks_exact_mut(8 * N).enumerate() {
        let at = b * 8;
        for (g, group) in planes.chunks_exact(8).enumerate() {
            let mut r: [u64; 8] = std::array::from_fn(|j| word(&group[j][at..]));
            transpose_8x8(&mut r);
            for (element, w) in out.chunks_exact_mut(N).zip(r) {
                element[g * 8..g * 8 + 8].copy_from_slice(&w.to_le_bytes());
            }
        }
    }
    whole
}

/// Shuffles elements of `N` bytes (a multiple of 8) eight at a time;
/// returns how many elements were done.
fn shuffle_8k<const N: usize>(src: &[u8], dst: &mut [u8]) -> usize {
    let n = src.len() / N;
    let whole = n / 8 * 8;
    let mut planes: Vec<&mut [u8]> = dst[..n * N].chunks_exact_mut(n.max(1)).collect();
    for (b, elements) in src[..whole * N].chunks_exact(8 * N).enumerate() {
        let at = b * 8;
        for (g, group) in planes.chunks_exact_mut(8).enumerate() {
            let mut r: [u64; 8] = std::array::from_fn(|i| word(&elements[i * N + g * 8..]));
            transpose_8x8(&mut r);
            for (plane, w) in group.iter_mut().zip(r) {
                plane[at..at + 8].copy_from_slice(&w.to_le_bytes());
            }
        }
    }
    whole
}

/// Moves elements `from..` of a shuffled `src` to their place in `dst`.
fn unshuffle_tail(src: &[u8], dst: &mut [u8], size: usize, from: usize) {
    let n = src.len() / size;
    for i in from..n {
        for j in 0..size {
            dst[i * size + j] = src[j * n + i];
        }
    }
}

/// Moves elements `from..` of `src` to their shuffled place in `dst`.
fn shuffle_tail(src: &[u8], dst: &mut [u8], size: usize, from: usize) {
    let n = src.len() / size;
    for i in from..n {
        for j in 0..size {
            dst[j * n + i] = src[i * size + j];
        }
    }
}

fn unshuffle_words<const N: usize>(src: &[u8], dst: &mut [u8]) {
    let done = if N == 4 {
        unshuffle_4(src, dst)
    } else {
        unshuffle_8k::<N>(src, dst)
    };
    unshuffle_tail(src, dst, N, done);
}

fn shuffle_words<const N: usize>(src: &[u8], dst: &mut [u8]) {
    let done = if N == 4 {
        shuffle_4(src, dst)
    } else {
        shuffle_8k::<N>(src, dst)
    };
    shuffle_tail(src, dst, N, done);
}

fn unshuffle_any(src: &[u8], dst: &mut [u8], size: usize) {
    let n = src.len() / size;
    for (j, plane) in src[..n * size].chunks_exact(n).enumerate() {
        for (i, &byte) in plane.iter().enumerate() {
            dst[i * size + j] = byte;
        }
    }
}

fn shuffle_any(src: &[u8], dst: &mut [u8], size: usize) {
    let n = src.len() / size;
    for (j, plane) in dst[..n * size].chunks_exact_mut(n).enumerate() {
        for (i, byte) in plane.iter_mut().enumerate() {
            *byte = src[i * size + j];
        }
    }
}

macro_rules! by_size {
    ($fixed:ident, $words:ident, $any:ident, $size:expr, $src:expr, $dst:expr) => {
        match $size {
            2 => $fixed::<2>($src, $dst),
            3 => $fixed::<3>($src, $dst),
            4 => $words::<4>($src, $dst),
            5 => $fixed::<5>($src, $dst),
            6 => $fixed::<6>($src, $dst),
            7 => $fixed::<7>($src, $dst),
            8 => $words::<8>($src, $dst),
            12 => $fixed::<12>($src, $dst),
            16 => $words::<16>($src, $dst),
            size => $any($src, $dst, size),
        }
    };
}

/// Undoes the shuffle of `data` for elements of `size` bytes.
pub fn unshuffle(data: &[u8], size: usize) -> Vec<u8> {
    let n = data.len().checked_div(size).unwrap_or(0);
    if size <= 1 || n <= 1 {
        return data.to_vec();
    }
    let mut out = crate::array::buffers::take(data.len());
    out.resize(data.len(), 0);
    by_size!(
        unshuffle_fixed,
        unshuffle_words,
        unshuffle_any,
        size,
        data,
        &mut out
    );
    let tail = n * size;
    out[tail..].copy_from_slice(&data[tail..]);
    out
}

/// Shuffles `data` for elements of `size` bytes.
pub fn shuffle(data: &[u8], size: usize) -> Vec<u8> {
    let n = data.len().checked_div(size).unwrap_or(0);
    if size <= 1 || n <= 1 {
        return data.to_vec();
    }
    let mut out = vec![0u8; data.len()];
    by_size!(
        shuffle_fixed,
        shuffle_words,
        shuffle_any,
        size,
        data,
        &mut out
    );
    let tail = n * size;
    out[tail..].copy_from_slice(&data[tail..]);
    out
}

/// The element size: the client data value, else the dataset's.
fn element_size(ctx: &FilterCtx) -> Result<usize> {
    let size = ctx.params.first().map_or(ctx.element_size, |&s| s as usize);
    if size == 0 {
        return Err(Error::format_noaddr("shuffle filter: element size 0"));
    }
    Ok(size)
}

impl Filter for Shuffle {
    fn id(&self) -> u16 {
        ID
    }

    fn name(&self) -> &'static str {
        "shuffle"
    }

    fn decode(&self, input: Vec<u8>, ctx: &FilterCtx) -> Result<Vec<u8>> {
        let size = element_size(ctx)?;
        if size <= 1 || input.len() / size <= 1 {
            return Ok(input);
        }
        let out = unshuffle(&input, size);
        crate::array::buffers::give(input);
        Ok(out)
    }

    fn decode_slice(&self, input: &[u8], ctx: &FilterCtx) -> Result<Vec<u8>> {
        Ok(unshuffle(input, element_size(ctx)?))
    }

    fn encode(&self, input: Vec<u8>, ctx: &FilterCtx) -> Result<Vec<u8>> {
        let size = element_size(ctx)?;
        if size <= 1 || input.len() / size <= 1 {
            return Ok(input);
        }
        Ok(shuffle(&input, size))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn four_byte_elements() {
        let data = [
            0xa0, 0xa1, 0xa2, 0xa3, 0xb0, 0xb1, 0xb2, 0xb3, 0xc0, 0xc1, 0xc2, 0xc3,
        ];
        let shuffled = [
            0xa0, 0xb0, 0xc0, 0xa1, 0xb1, 0xc1, 0xa2, 0xb2, 0xc2, 0xa3, 0xb3, 0xc3,
        ];
        assert_eq!(shuffle(&data, 4), shuffled);
        assert_eq!(unshuffle(&shuffled, 4), data);
    }

    #[test]
    fn trailing_bytes_stay_at_the_end() {
        let data = [1, 2, 3, 4, 5, 6, 7];
        assert_eq!(shuffle(&data, 3), [1, 4, 2, 5, 3, 6, 7]);
        assert_eq!(unshuffle(&[1, 4, 2, 5, 3, 6, 7], 3), data);
    }

    #[test]
    fn identity_cases() {
        assert_eq!(shuffle(&[1, 2, 3], 1), [1, 2, 3]);
        assert_eq!(shuffle(&[1, 2, 3], 3), [1, 2, 3]);
        assert_eq!(unshuffle(&[1, 2, 3, 4, 5], 4), [1, 2, 3, 4, 5]);
        assert_eq!(unshuffle(&[], 8), Vec::<u8>::new());
    }

    #[test]
    fn specialised_loops_match_the_plain_one() {
        for size in 2..=20 {
            for n in [2usize, 15, 16, 17, 33, 100] {
                let data: Vec<u8> = (0..n * size + 1).map(|i| (i * 7 % 256) as u8).collect();
                let mut plain = data.clone();
                shuffle_any(&data, &mut plain, size);
                assert_eq!(
                    shuffle(&data, size)[..n * size],
                    plain[..n * size],
                    "{size} {n}"
                );
                let mut back = data.clone();
                unshuffle_any(&plain, &mut back, size);
                assert_eq!(unshuffle(&plain, size)[..n * size], back[..n * size]);
            }
        }
    }

    proptest! {
        #[test]
        fn round_trip(data in proptest::collection::vec(any::<u8>(), 0..600), size in 1usize..=20) {
            prop_assert_eq!(unshuffle(&shuffle(&data, size), size), data);
        }
    }
}
