//! Filter 5, n-bit: only the significant bits of each value are stored,
//! packed end to end.
//!
//! Client data (computed by libhdf5 when the dataset is created, from its
//! type and chunk):
//!
//! ```text
//! [0] number of client data values
//! [1] 1 when no value has padding bits (the data is then stored as is)
//! [2] number of elements in a chunk
//! [3..] the element type, recursively:
//!       type     := class, size, body
//!       class 1 (integer or float): body = order (0 LE, 1 BE), precision, offset
//!       class 2 (array):            body = type of the base element
//!       class 3 (compound):         body = member count, then per member:
//!                                          byte offset, type
//!       class 4 (anything else):    body = nothing (the bytes are kept whole)
//! ```
//!
//! The packed stream holds, element after element (members in their order,
//! array items in order), each integer or float's `precision` significant
//! bits (bits `offset .. offset + precision` of the value), most significant
//! first, with no alignment; other types' bytes go in whole, eight bits
//! each. The last byte is padded with zeros. Decoding puts the bits back in
//! place and leaves every other bit 0: libhdf5 does not sign-extend, and
//! neither does this filter (conversion to a wider type does it later).
//!
//! libhdf5 walks the client data while decoding; h5rs first parses it into a
//! tree, checked against the sizes it describes, then decodes.

use super::bits::BitReader;
use super::{Filter, FilterCtx};
use crate::error::{Error, Result};

/// The filter identifier.
pub const ID: u16 = 5;

/// The n-bit filter.
#[derive(Debug, Clone, Copy, Default)]
pub struct Nbit;

const CLASS_ATOMIC: u32 = 1;
const CLASS_ARRAY: u32 = 2;
const CLASS_COMPOUND: u32 = 3;
const CLASS_NOOP: u32 = 4;
/// Deepest nesting of arrays and compounds accepted.
const MAX_DEPTH: u32 = 32;

fn bad(what: impl std::fmt::Display) -> Error {
    Error::format_noaddr(format!("nbit filter: {what}"))
}

/// One element type as the client data describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Layout {
    /// An integer or float: `precision` bits at bit `offset`.
    Atomic {
        size: usize,
        big_endian: bool,
        precision: u32,
        offset: u32,
    },
    /// `count` elements of `base`.
    Array { count: usize, base: Box<Layout> },
    /// Members at byte offsets.
    Compound {
        size: usize,
        members: Vec<(usize, Layout)>,
    },
    /// Bytes kept whole.
    Whole { size: usize },
}

impl Layout {
    fn size(&self) -> usize {
        match self {
            Layout::Atomic { size, .. }
            | Layout::Compound { size, .. }
            | Layout::Whole { size } => *size,
            Layout::Array { count, base } => count * base.size(),
        }
    }
}

/// Parses the client data values from `params[*at]` on.
struct Parser<'a> {
    params: &'a [u32],
    at: usize,
}

impl Parser<'_> {
    fn next(&mut self) -> Result<u32> {
        let v = self
            .params
            .get(self.at)
            .copied()
            .ok_or_else(|| bad("client data is shorter than the type it describes"))?;
        self.at += 1;
        Ok(v)
    }

    fn layout(&mut self, depth: u32) -> Result<Layout> {
        if depth > MAX_DEPTH {
            return Err(bad(format!("type nested deeper than {MAX_DEPTH}")));
        }
        let class = self.next()?;
        let size = self.next()? as usize;
        if size == 0 {
            return Err(bad("type of size 0"));
        }
        match class {
            CLASS_ATOMIC => {
                let big_endian = match self.next()? {
                    0 => false,
                    1 => true,
                    o => return Err(bad(format!("byte order {o}"))),
                };
                let precision = self.next()?;
                let offset = self.next()?;
                let bits = size as u64 * 8;
                if precision == 0 || u64::from(precision) + u64::from(offset) > bits {
                    return Err(bad(format!(
                        "precision {precision} at offset {offset} in a {size}-byte value"
                    )));
                }
                Ok(Layout::Atomic {
                    size,
                    big_endian,
                    precision,
                    offset,
                })
            }
            CLASS_ARRAY => {
                let base = self.layout(depth + 1)?;
                let base_size = base.size();
                if !size.is_multiple_of(base_size) {
                    return Err(bad(format!(
                        "array of {size} bytes holds {base_size}-byte elements"
                    )));
                }
                Ok(Layout::Array {
                    count: size / base_size,
                    base: Box::new(base),
                })
            }
            CLASS_COMPOUND => {
                let n = self.next()? as usize;
                if n > self.params.len() {
                    return Err(bad(format!("{n} compound members")));
                }
                let mut members = Vec::with_capacity(n);
                for _ in 0..n {
                    let offset = self.next()? as usize;
                    let member = self.layout(depth + 1)?;
                    if offset
                        .checked_add(member.size())
                        .is_none_or(|end| end > size)
                    {
                        return Err(bad(format!(
                            "compound member at offset {offset} overruns the {size}-byte element"
                        )));
                    }
                    members.push((offset, member));
                }
                Ok(Layout::Compound { size, members })
            }
            CLASS_NOOP => Ok(Layout::Whole { size }),
            c => Err(bad(format!("type class {c}"))),
        }
    }
}

/// Puts one element described by `layout` back into `out` (zeroed, exactly
/// `layout.size()` bytes).
fn unpack(layout: &Layout, bits: &mut BitReader, out: &mut [u8]) -> Option<()> {
    match layout {
        Layout::Atomic {
            size,
            big_endian,
            precision,
            offset,
        } => {
            // Walk the bytes from the most significant one holding
            // significant bits down to the least significant one.
            let lo = *offset;
            let hi = offset + precision; // one past the top bit
            for k in (lo / 8..hi.div_ceil(8)).rev() {
                let from = lo.max(k * 8);
                let to = hi.min(k * 8 + 8);
                let v = bits.read(to - from)? as u8;
                let index = if *big_endian {
                    size - 1 - k as usize
                } else {
                    k as usize
                };
                out[index] |= v << (from - k * 8);
            }
        }
        Layout::Array { count, base } => {
            let step = base.size();
            for item in out.chunks_exact_mut(step).take(*count) {
                unpack(base, bits, item)?;
            }
        }
        Layout::Compound { members, .. } => {
            for (offset, member) in members {
                unpack(member, bits, &mut out[*offset..*offset + member.size()])?;
            }
        }
        Layout::Whole { .. } => {
            for byte in out.iter_mut() {
                *byte = bits.read(8)? as u8;
            }
        }
    }
    Some(())
}

/// Checks the fixed head of the client data; true when the chunk is stored
/// as is (no value has padding bits).
fn stored_as_is(params: &[u32]) -> Result<bool> {
    if params.len() < 5 {
        return Err(bad(format!("{} client data values, need 5", params.len())));
    }
    if params[0] as usize != params.len() {
        return Err(bad(format!(
            "client data count says {}, message holds {}",
            params[0],
            params.len()
        )));
    }
    Ok(params[1] != 0)
}

fn unpack_all(input: &[u8], params: &[u32], max_output: usize) -> Result<Vec<u8>> {
    let count = params[2] as usize;
    let mut parser = Parser { params, at: 3 };
    let layout = parser.layout(0)?;
    if layout.size() != params[4] as usize || matches!(layout, Layout::Whole { .. }) {
        return Err(bad(
            "element type is not an integer, float, array or compound",
        ));
    }
    let total = count
        .checked_mul(layout.size())
        .filter(|&t| t <= max_output)
        .ok_or_else(|| {
            bad(format!(
                "{count} elements of {} bytes exceed the {max_output} bytes expected",
                layout.size()
            ))
        })?;
    let mut out = vec![0u8; total];
    let mut bits = BitReader::new(input);
    for element in out.chunks_exact_mut(layout.size()) {
        unpack(&layout, &mut bits, element)
            .ok_or_else(|| bad(format!("packed data of {} bytes is too short", input.len())))?;
    }
    Ok(out)
}

/// Decodes an n-bit packed chunk with client data `params`, producing at
/// most `max_output` bytes.
///
/// # Errors
///
/// A format error for client data that do not describe a type, a chunk
/// larger than `max_output`, or a packed stream too short for its elements.
pub fn decompress(input: &[u8], params: &[u32], max_output: usize) -> Result<Vec<u8>> {
    if stored_as_is(params)? {
        return Ok(input.to_vec());
    }
    unpack_all(input, params, max_output)
}

impl Filter for Nbit {
    fn id(&self) -> u16 {
        ID
    }

    fn name(&self) -> &'static str {
        "nbit"
    }

    fn decode(&self, input: Vec<u8>, ctx: &FilterCtx) -> Result<Vec<u8>> {
        if stored_as_is(ctx.params)? {
            return Ok(input);
        }
        unpack_all(&input, ctx.params, ctx.max_output)
    }

    fn decode_slice(&self, input: &[u8], ctx: &FilterCtx) -> Result<Vec<u8>> {
        decompress(input, ctx.params, ctx.max_output)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twelve_bits_at_offset_four() {
        // Values -500 and 100 as 12-bit two's complement at bit 4 of an i32:
        // 0xe0c and 0x064, packed: 1110 0000 1100 | 0000 0110 0100.
        let params = [8, 0, 2, 1, 4, 0, 12, 4];
        let packed = [0xe0, 0xc0, 0x64];
        let out = decompress(&packed, &params, 8).unwrap();
        assert_eq!(out, [0xc0, 0xe0, 0, 0, 0x40, 0x06, 0, 0]);
        // Big-endian: the same bits, bytes reversed.
        let params = [8, 0, 2, 1, 4, 1, 12, 4];
        let out = decompress(&packed, &params, 8).unwrap();
        assert_eq!(out, [0, 0, 0xe0, 0xc0, 0, 0, 0x06, 0x40]);
    }

    #[test]
    fn bits_within_one_byte() {
        // 3 bits at offset 2 of a byte: values 5, 2, 7 -> 101 010 111.
        let params = [8, 0, 3, 1, 1, 0, 3, 2];
        let out = decompress(&[0b1010_1011, 0b1000_0000], &params, 3).unwrap();
        assert_eq!(out, [5 << 2, 2 << 2, 7 << 2]);
    }

    #[test]
    fn compound_with_array_and_whole_member() {
        // compound of 4 bytes: u8 at 0 with 4 bits at 0; array of two u8 with
        // 2 bits at 1 each at offset 1; one whole byte at 3.
        let params = [
            23, 0, 1, // count, no-op flag, elements
            3, 4, 3, // compound, size 4, 3 members
            0, 1, 1, 0, 4, 0, // u8: 4 bits at 0
            1, 2, 2, 1, 1, 0, 2, 1, // array of 2 x (u8: 2 bits at 1)
            3, 4, 1, // whole byte
        ];
        // 1001 | 11 | 01 | 10101010, then padding
        let packed = [0b1001_1101, 0b1010_1010];
        let out = decompress(&packed, &params, 4).unwrap();
        assert_eq!(out, [0b1001, 0b11 << 1, 0b01 << 1, 0b1010_1010]);
    }

    #[test]
    fn stored_as_is_when_nothing_to_pack() {
        let params = [8, 1, 2, 1, 4, 0, 32, 0];
        assert_eq!(decompress(&[1, 2, 3], &params, 8).unwrap(), [1, 2, 3]);
    }

    #[test]
    fn malformed_client_data() {
        let packed = [0u8; 16];
        // Count mismatch.
        assert!(decompress(&packed, &[9, 0, 2, 1, 4, 0, 12, 4], 8).is_err());
        // Precision past the size.
        assert!(decompress(&packed, &[8, 0, 2, 1, 4, 0, 30, 4], 8).is_err());
        // Truncated description.
        assert!(decompress(&packed, &[7, 0, 2, 1, 4, 0, 12], 8).is_err());
        // Array of elements that do not divide it.
        assert!(decompress(&packed, &[10, 0, 1, 2, 5, 1, 2, 0, 16, 0], 8).is_err());
        // Compound member beyond the element.
        assert!(decompress(&packed, &[12, 0, 1, 3, 2, 1, 1, 1, 2, 0, 8, 0], 8).is_err());
        // Too many elements for the bound.
        assert!(decompress(&packed, &[8, 0, 3, 1, 4, 0, 12, 4], 8).is_err());
        // Unknown class; no-op at the top.
        assert!(decompress(&packed, &[5, 0, 1, 9, 4], 8).is_err());
        assert!(decompress(&packed, &[5, 0, 1, 4, 4], 8).is_err());
    }

    #[test]
    fn deep_nesting_is_refused() {
        let mut params = vec![0, 0, 1];
        for _ in 0..40 {
            params.extend([2, 1]);
        }
        params.extend([1, 1, 0, 8, 0]);
        params[0] = params.len() as u32;
        assert!(decompress(&[0], &params, 1).is_err());
    }

    #[test]
    fn short_stream_is_an_error() {
        let params = [8, 0, 2, 1, 4, 0, 12, 4];
        assert!(decompress(&[0xe0, 0xc0], &params, 8).is_err());
    }
}
