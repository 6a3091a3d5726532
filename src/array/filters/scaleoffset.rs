//! Filter 6, scale + offset: each value stored as its difference from the
//! chunk's minimum, in as few bits as the chunk's range needs; floats are
//! first scaled by a power of ten and rounded (lossy).
//!
//! Client data: 20 values, the first two from the user, the rest computed
//! by libhdf5 when the dataset is created.
//!
//! ```text
//! [0] scale type: 0 float D-scaling, 1 float E-scaling (never implemented
//!     by libhdf5), 2 integer
//! [1] scale factor: for integers the number of bits to keep (0: computed
//!     per chunk); for D-scaling the decimal digits kept, D (may be negative)
//! [2] elements in a chunk        [3] class: 0 integer, 1 float
//! [4] element size in bytes      [5] sign: 0 unsigned, 1 two's complement
//! [6] byte order: 0 LE, 1 BE     [7] fill value defined: 0 no, 1 yes
//! [8..] the fill value, little-endian, 4 bytes per value (two values for an
//!     8-byte type, the low one first)
//! ```
//!
//! A stored chunk:
//!
//! ```text
//! minbits (4, LE) | minval size (1, = 8) | minval (8, LE) | zero (8)
//!   | packed values: minbits bits each, most significant first
//! ```
//!
//! Decoding, as libhdf5 does it:
//!
//! - `minbits` equal to the element's bit size: the values follow unpacked,
//!   little-endian (libhdf5 packs in its native order).
//! - otherwise each value `v` is read from the bits (all zero when
//!   `minbits` is 0). With a fill value defined, `v = 2^minbits - 1` stands
//!   for the fill value.
//! - integers: `v + minval`, wrapping at the element's size (`minval` is the
//!   minimum, sign-extended to 64 bits for signed types, so the sign in
//!   `[5]` is not needed to decode).
//! - floats: `minval`'s low bytes are the minimum's bit pattern; `v`, read
//!   as a signed integer of the float's size, gives
//!   `v as float / 10^D + minimum`, computed in the float's own precision
//!   (`powf` for 4 bytes, `pow` for 8), exactly as libhdf5's C code does.
//! - values are then written in the dataset's byte order.
//!
//! One more quirk: for integers whose scale factor equals the element's bit
//! size, libhdf5 stores the chunk as it is, without the 21-byte header.

use super::bits::BitReader;
use super::{Filter, FilterCtx};
use crate::error::{Error, Result};

/// The filter identifier.
pub const ID: u16 = 6;

/// The scale + offset filter.
#[derive(Debug, Clone, Copy, Default)]
pub struct ScaleOffset;

/// Bytes before the packed values.
const HEADER: usize = 21;

fn bad(what: impl std::fmt::Display) -> Error {
    Error::format_noaddr(format!("scaleoffset filter: {what}"))
}

/// What the client data says.
#[derive(Debug, Clone, Copy)]
struct Params {
    float: bool,
    /// Decimal scale for floats, bits to keep for integers.
    scale_factor: i32,
    count: usize,
    size: usize,
    big_endian: bool,
    /// The fill value's bits, when one is defined.
    fill: Option<u64>,
}

fn parse(params: &[u32]) -> Result<Params> {
    if params.len() != 20 {
        return Err(bad(format!("{} client data values, need 20", params.len())));
    }
    let float = match params[3] {
        0 => false,
        1 => true,
        c => return Err(bad(format!("datatype class {c}"))),
    };
    let size = params[4] as usize;
    let size_ok = if float {
        matches!(size, 4 | 8)
    } else {
        matches!(size, 1 | 2 | 4 | 8)
    };
    if !size_ok {
        return Err(bad(format!(
            "{size}-byte {}",
            if float { "floats" } else { "integers" }
        )));
    }
    let scale_type = params[0];
    let mut scale_factor = params[1] as i32;
    if float {
        match scale_type {
            0 => {}
            1 => return Err(Error::unsupported("scaleoffset filter with E-scaling")),
            t => return Err(bad(format!("scale type {t} for floats"))),
        }
    } else {
        if scale_type != 2 {
            return Err(bad(format!("scale type {scale_type} for integers")));
        }
        scale_factor = scale_factor.max(0);
        if scale_factor as usize > size * 8 {
            return Err(bad(format!(
                "{scale_factor} bits for a {size}-byte integer"
            )));
        }
    }
    let fill = (params[7] != 0).then(|| {
        let bits = u64::from(params[8]) | u64::from(params[9]) << 32;
        bits & size_mask(size)
    });
    Ok(Params {
        float,
        scale_factor,
        count: params[2] as usize,
        size,
        big_endian: params[6] != 0,
        fill,
    })
}

fn size_mask(size: usize) -> u64 {
    if size >= 8 {
        u64::MAX
    } else {
        (1u64 << (size * 8)) - 1
    }
}

fn put(out: &mut [u8], value: u64, big_endian: bool) {
    let le = value.to_le_bytes();
    let n = out.len();
    if big_endian {
        for (o, b) in out.iter_mut().zip(le[..n].iter().rev()) {
            *o = *b;
        }
    } else {
        out.copy_from_slice(&le[..n]);
    }
}

/// True when the chunk is stored without the filter's encoding.
fn stored_as_is(p: &Params) -> bool {
    !p.float && p.scale_factor as usize == p.size * 8
}

fn unpack(input: &[u8], p: &Params, max_output: usize) -> Result<Vec<u8>> {
    let total = p
        .count
        .checked_mul(p.size)
        .filter(|&t| t <= max_output)
        .ok_or_else(|| {
            bad(format!(
                "{} elements of {} bytes exceed the {max_output} bytes expected",
                p.count, p.size
            ))
        })?;
    if input.len() < HEADER {
        return Err(bad(format!("chunk of {} bytes has no header", input.len())));
    }
    let minbits = u32::from_le_bytes([input[0], input[1], input[2], input[3]]);
    let full = p.size as u32 * 8;
    if minbits > full {
        return Err(bad(format!("{minbits} bits per {}-byte value", p.size)));
    }
    let minval_size = usize::from(input[4]).min(8);
    let minval = input[5..5 + minval_size]
        .iter()
        .rev()
        .fold(0u64, |acc, &b| acc << 8 | u64::from(b));
    let packed = &input[HEADER..];
    let mut out = vec![0u8; total];

    if minbits == full {
        let raw = packed
            .get(..total)
            .ok_or_else(|| bad(format!("{} bytes of values, need {total}", packed.len())))?;
        out.copy_from_slice(raw);
        if p.big_endian {
            for element in out.chunks_exact_mut(p.size) {
                element.reverse();
            }
        }
        return Ok(out);
    }

    let marker = (1u64 << minbits) - 1;
    let mut bits = BitReader::new(packed);
    let short = || {
        bad(format!(
            "{} bytes of packed values are too few",
            packed.len()
        ))
    };
    let mask = size_mask(p.size);
    if !p.float {
        for element in out.chunks_exact_mut(p.size) {
            let v = bits.read_u64(minbits).ok_or_else(short)?;
            let value = match p.fill {
                Some(fill) if v == marker => fill,
                _ => v.wrapping_add(minval) & mask,
            };
            put(element, value, p.big_endian);
        }
    } else if p.size == 4 {
        let min = f32::from_bits(minval as u32);
        let scale = 10f32.powf(p.scale_factor as f32);
        for element in out.chunks_exact_mut(4) {
            let v = bits.read_u64(minbits).ok_or_else(short)?;
            let value = match p.fill {
                Some(fill) if v == marker => fill,
                _ => u64::from(((v as u32 as i32) as f32 / scale + min).to_bits()),
            };
            put(element, value, p.big_endian);
        }
    } else {
        let min = f64::from_bits(minval);
        let scale = 10f64.powf(f64::from(p.scale_factor));
        for element in out.chunks_exact_mut(8) {
            let v = bits.read_u64(minbits).ok_or_else(short)?;
            let value = match p.fill {
                Some(fill) if v == marker => fill,
                _ => ((v as i64) as f64 / scale + min).to_bits(),
            };
            put(element, value, p.big_endian);
        }
    }
    Ok(out)
}

/// Decodes a scale + offset chunk with client data `params`, producing at
/// most `max_output` bytes.
///
/// # Errors
///
/// A format error for client data libhdf5 would refuse or a chunk too short
/// for its values; an unsupported error for E-scaling, which libhdf5 never
/// implemented.
pub fn decompress(input: &[u8], params: &[u32], max_output: usize) -> Result<Vec<u8>> {
    let p = parse(params)?;
    if stored_as_is(&p) {
        return Ok(input.to_vec());
    }
    unpack(input, &p, max_output)
}

impl Filter for ScaleOffset {
    fn id(&self) -> u16 {
        ID
    }

    fn name(&self) -> &'static str {
        "scaleoffset"
    }

    fn decode(&self, input: Vec<u8>, ctx: &FilterCtx) -> Result<Vec<u8>> {
        let p = parse(ctx.params)?;
        if stored_as_is(&p) {
            return Ok(input);
        }
        unpack(&input, &p, ctx.max_output)
    }

    fn decode_slice(&self, input: &[u8], ctx: &FilterCtx) -> Result<Vec<u8>> {
        decompress(input, ctx.params, ctx.max_output)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Client data for `count` values of `size` bytes.
    fn params(float: bool, size: u32, signed: bool, be: bool, sf: i32, count: u32) -> [u32; 20] {
        let mut p = [0u32; 20];
        p[0] = if float { 0 } else { 2 };
        p[1] = sf as u32;
        p[2] = count;
        p[3] = u32::from(float);
        p[4] = size;
        p[5] = u32::from(signed);
        p[6] = u32::from(be);
        p
    }

    fn header(minbits: u32, minval: u64) -> Vec<u8> {
        let mut h = minbits.to_le_bytes().to_vec();
        h.push(8);
        h.extend_from_slice(&minval.to_le_bytes());
        h.extend_from_slice(&[0; 8]);
        h
    }

    #[test]
    fn integers_offset_by_the_minimum() {
        // i32 values 100, 105, 115: 4 bits each, 0000 0101 1111.
        let mut chunk = header(4, 100);
        chunk.extend_from_slice(&[0x05, 0xf0]);
        let p = params(false, 4, true, false, 0, 3);
        let out = decompress(&chunk, &p, 12).unwrap();
        assert_eq!(out, [100, 0, 0, 0, 105, 0, 0, 0, 115, 0, 0, 0]);
        // Big-endian storage.
        let p = params(false, 4, true, true, 0, 3);
        let out = decompress(&chunk, &p, 12).unwrap();
        assert_eq!(out, [0, 0, 0, 100, 0, 0, 0, 105, 0, 0, 0, 115]);
    }

    #[test]
    fn negative_minimum_wraps_in_the_element() {
        // i16 values -20, -19: minval -20 sign-extended, 1 bit each.
        let mut chunk = header(1, (-20i64) as u64);
        chunk.push(0b0100_0000);
        let p = params(false, 2, true, false, 0, 2);
        let out = decompress(&chunk, &p, 4).unwrap();
        assert_eq!(
            out,
            [(-20i16).to_le_bytes(), (-19i16).to_le_bytes()].concat()
        );
    }

    #[test]
    fn all_ones_is_the_fill_value() {
        // u8 with fill value 200: 2 bits, 11 marks the fill.
        let mut p = params(false, 1, false, false, 0, 3);
        p[7] = 1;
        p[8] = 200;
        let mut chunk = header(2, 10);
        chunk.push(0b0001_1100);
        assert_eq!(decompress(&chunk, &p, 3).unwrap(), [10, 11, 200]);
    }

    #[test]
    fn minbits_zero_and_full() {
        let p = params(false, 2, false, false, 0, 3);
        let chunk = header(0, 7);
        assert_eq!(decompress(&chunk, &p, 6).unwrap(), [7, 0, 7, 0, 7, 0]);
        // Full precision: the values follow as they are (little-endian).
        let mut chunk = header(16, 0);
        chunk.extend_from_slice(&[1, 2, 3, 4, 5, 6]);
        assert_eq!(decompress(&chunk, &p, 6).unwrap(), [1, 2, 3, 4, 5, 6]);
        let p = params(false, 2, false, true, 0, 3);
        assert_eq!(decompress(&chunk, &p, 6).unwrap(), [2, 1, 4, 3, 6, 5]);
    }

    #[test]
    fn scale_factor_of_the_full_size_stores_as_is() {
        let p = params(false, 2, true, false, 16, 2);
        assert_eq!(decompress(&[9, 8, 7, 6], &p, 4).unwrap(), [9, 8, 7, 6]);
    }

    #[test]
    fn floats_are_scaled_back() {
        // f32, D = 2, minimum 1.5: v = 0, 25, 150 -> 1.5, 1.75, 3.0.
        let p = params(true, 4, false, false, 2, 3);
        let mut chunk = header(8, u64::from(1.5f32.to_bits()));
        chunk.extend_from_slice(&[0, 25, 150]);
        let out = decompress(&chunk, &p, 12).unwrap();
        let want: Vec<u8> = [1.5f32, 1.75, 3.0]
            .iter()
            .flat_map(|f| f.to_le_bytes())
            .collect();
        assert_eq!(out, want);
        // f64, D = -1, minimum -100, big-endian: v = 3 -> 3 / 0.1 - 100.
        let p = params(true, 8, false, true, -1, 1);
        let mut chunk = header(2, (-100f64).to_bits());
        chunk.push(0b1100_0000);
        let out = decompress(&chunk, &p, 8).unwrap();
        assert_eq!(out, (3.0 / 10f64.powf(-1.0) - 100.0).to_be_bytes());
    }

    #[test]
    fn float_fill_value() {
        let mut p = params(true, 4, false, false, 1, 2);
        p[7] = 1;
        p[8] = (-999f32).to_bits();
        let mut chunk = header(1, u64::from(2f32.to_bits()));
        chunk.push(0b0100_0000);
        let out = decompress(&chunk, &p, 8).unwrap();
        assert_eq!(out, [2f32.to_le_bytes(), (-999f32).to_le_bytes()].concat());
    }

    #[test]
    fn refused_client_data_and_chunks() {
        let chunk = header(4, 0);
        let mut p = params(false, 4, true, false, 0, 1);
        assert!(decompress(&chunk, &p[..19], 4).is_err());
        p[0] = 0;
        assert!(decompress(&chunk, &p, 4).is_err());
        let mut p = params(true, 4, false, false, 0, 1);
        p[0] = 1;
        assert!(matches!(
            decompress(&chunk, &p, 4),
            Err(Error::Unsupported(_))
        ));
        assert!(decompress(&chunk, &params(false, 3, true, false, 0, 1), 4).is_err());
        assert!(decompress(&chunk, &params(true, 2, true, false, 0, 1), 4).is_err());
        assert!(decompress(&chunk, &params(false, 4, true, false, 33, 1), 4).is_err());
        // Header too short; minbits too large; packed values missing.
        let p = params(false, 4, true, false, 0, 4);
        assert!(decompress(&chunk[..20], &p, 16).is_err());
        assert!(decompress(&header(33, 0), &p, 16).is_err());
        assert!(decompress(&chunk, &p, 16).is_err());
        // More elements than allowed.
        assert!(decompress(&header(0, 0), &p, 15).is_err());
    }
}
