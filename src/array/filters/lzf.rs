//! Filter 32000, LZF: Marc Lehmann's LZF compression, as h5py's `lzf`
//! filter writes it (registered by h5py, not part of libhdf5).
//!
//! Client data (set by h5py): `[filter version (4), liblzf version (0x105),
//! chunk size in bytes]`; decoding does not need them.
//!
//! The stored chunk is a bare LZF stream, with no header: a sequence of
//! literal runs and back references, each opened by a control byte.
//!
//! ```text
//! 000LLLLL  then L+1 literal bytes                  (L < 32)
//! LLLOOOOO  OOOOOOOO                                (LLL in 1..7)
//! 111OOOOO  LLLLLLLL  OOOOOOOO                      (length 7 + LLLLLLLL)
//!           copy length+2 bytes from `offset + 1` bytes back, where
//!           offset = OOOOO (high) and OOOOOOOO (low); the copy may overlap
//!           its own output (a run).
//! ```
//!
//! When compression does not shrink a chunk, h5py's filter fails; the filter
//! being optional, libhdf5 then stores the chunk as it is and sets the
//! filter's bit in the chunk's filter mask, so such chunks never reach this
//! decoder.

use super::{Filter, FilterCtx};
use crate::error::{Error, Result};

/// The filter identifier.
pub const ID: u16 = 32000;

/// The LZF filter.
#[derive(Debug, Clone, Copy, Default)]
pub struct Lzf;

fn corrupt(what: impl std::fmt::Display, at: usize) -> Error {
    Error::format_noaddr(format!("lzf filter: {what} (at byte {at} of the chunk)"))
}

/// Decompresses the LZF stream `input` into at most `max_output` bytes.
///
/// # Errors
///
/// A format error for a truncated stream, a back reference before the start
/// of the output, or output beyond `max_output`.
pub fn decompress(input: &[u8], expected: usize, max_output: usize) -> Result<Vec<u8>> {
    let mut out: Vec<u8> = Vec::with_capacity(expected.min(max_output));
    let too_long = || {
        Error::format_noaddr(format!(
            "lzf filter: stream decodes to more than the {max_output} bytes expected"
        ))
    };
    let mut ip = 0usize;
    while let Some(&ctrl) = input.get(ip) {
        let at = ip;
        ip += 1;
        if ctrl < 32 {
            let run = usize::from(ctrl) + 1;
            let lit = input
                .get(ip..ip + run)
                .ok_or_else(|| corrupt(format!("literal run of {run} bytes is cut short"), at))?;
            if out.len() + run > max_output {
                return Err(too_long());
            }
            out.extend_from_slice(lit);
            ip += run;
        } else {
            let mut len = usize::from(ctrl >> 5);
            if len == 7 {
                let extra = *input
                    .get(ip)
                    .ok_or_else(|| corrupt("back reference is cut short", at))?;
                len += usize::from(extra);
                ip += 1;
            }
            let low = *input
                .get(ip)
                .ok_or_else(|| corrupt("back reference is cut short", at))?;
            ip += 1;
            let distance = (usize::from(ctrl & 0x1f) << 8 | usize::from(low)) + 1;
            let len = len + 2;
            let Some(start) = out.len().checked_sub(distance) else {
                return Err(corrupt(
                    format!(
                        "back reference {distance} bytes back with only {} decoded",
                        out.len()
                    ),
                    at,
                ));
            };
            if out.len() + len > max_output {
                return Err(too_long());
            }
            if distance >= len {
                out.extend_from_within(start..start + len);
            } else {
                // The copy overlaps what it writes: a repeated pattern.
                for k in 0..len {
                    let b = out[start + k];
                    out.push(b);
                }
            }
        }
    }
    Ok(out)
}

const HASH_BITS: u32 = 14;
const MAX_LITERAL: usize = 32;
const MAX_DISTANCE: usize = 1 << 13;
const MAX_MATCH: usize = 7 + 255 + 2;

fn push_literals(out: &mut Vec<u8>, mut lit: &[u8]) {
    while !lit.is_empty() {
        let n = lit.len().min(MAX_LITERAL);
        out.push((n - 1) as u8);
        out.extend_from_slice(&lit[..n]);
        lit = &lit[n..];
    }
}

/// Compresses `input` into an LZF stream (any valid encoding: not
/// necessarily the bytes liblzf would produce).
pub fn compress(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() + input.len() / 32 + 1);
    let mut table = vec![0usize; 1 << HASH_BITS];
    let mut lit_start = 0;
    let mut i = 0;
    while i + 3 <= input.len() {
        let key =
            u32::from(input[i]) << 16 | u32::from(input[i + 1]) << 8 | u32::from(input[i + 2]);
        let h = (key.wrapping_mul(0x9E37_79B1) >> (32 - HASH_BITS)) as usize;
        let candidate = table[h];
        table[h] = i + 1;
        if candidate > 0 {
            let c = candidate - 1;
            let distance = i - c;
            if distance <= MAX_DISTANCE && input[c..c + 3] == input[i..i + 3] {
                let max = MAX_MATCH.min(input.len() - i);
                let mut len = 3;
                while len < max && input[c + len] == input[i + len] {
                    len += 1;
                }
                push_literals(&mut out, &input[lit_start..i]);
                let off = distance - 1;
                let l = len - 2;
                if l < 7 {
                    out.push((l << 5 | off >> 8) as u8);
                } else {
                    out.push((7 << 5 | off >> 8) as u8);
                    out.push((l - 7) as u8);
                }
                out.push((off & 0xff) as u8);
                i += len;
                lit_start = i;
                continue;
            }
        }
        i += 1;
    }
    push_literals(&mut out, &input[lit_start..]);
    out
}

impl Filter for Lzf {
    fn id(&self) -> u16 {
        ID
    }

    fn name(&self) -> &'static str {
        "lzf"
    }

    fn decode(&self, input: Vec<u8>, ctx: &FilterCtx) -> Result<Vec<u8>> {
        self.decode_slice(&input, ctx)
    }

    fn decode_slice(&self, input: &[u8], ctx: &FilterCtx) -> Result<Vec<u8>> {
        decompress(input, ctx.chunk_bytes, ctx.max_output)
    }

    fn encode(&self, input: Vec<u8>, _ctx: &FilterCtx) -> Result<Vec<u8>> {
        Ok(compress(&input))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn literals_and_references() {
        // "abc" literal, then 6 bytes from 3 back (overlapping), then "d".
        let s = [2, b'a', b'b', b'c', 4 << 5, 2, 0, b'd'];
        assert_eq!(decompress(&s, 10, 10).unwrap(), b"abcabcabcd");
        // Long form: 7 + 3 + 2 = 12 bytes of a one-byte run.
        let s = [0, b'x', 7 << 5, 3, 0];
        assert_eq!(decompress(&s, 13, 13).unwrap(), vec![b'x'; 13]);
    }

    #[test]
    fn malformed_streams() {
        // Literal run longer than the data.
        assert!(decompress(&[5, 1, 2], 10, 10).is_err());
        // Reference before the start.
        assert!(decompress(&[0, 1, 1 << 5, 5], 10, 10).is_err());
        // Reference cut short.
        assert!(decompress(&[0, 1, 1 << 5], 10, 10).is_err());
        assert!(decompress(&[0, 1, 7 << 5, 1], 10, 10).is_err());
        // More output than allowed.
        let e = decompress(&[0, b'x', 7 << 5, 200, 0], 10, 10).unwrap_err();
        assert!(e.to_string().contains("more than the 10 bytes"), "{e}");
        assert!(decompress(&[3, 1, 2, 3, 4], 3, 3).is_err());
    }

    #[test]
    fn empty() {
        assert_eq!(decompress(&[], 0, 0).unwrap(), b"");
        assert_eq!(compress(b""), b"");
    }

    #[test]
    fn compresses_repetition() {
        let data = b"abcdefgh".repeat(100);
        let s = compress(&data);
        assert!(s.len() < 40, "{}", s.len());
        assert_eq!(decompress(&s, data.len(), data.len()).unwrap(), data);
    }

    proptest! {
        #[test]
        fn round_trip(data in proptest::collection::vec(0u8..4, 0..3000)) {
            let s = compress(&data);
            prop_assert_eq!(decompress(&s, data.len(), data.len()).unwrap(), data);
        }
    }
}
