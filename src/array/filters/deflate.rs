//! Filter 1, deflate (gzip): a zlib stream (RFC 1950 header and Adler-32
//! trailer around RFC 1951 deflate data).
//!
//! Client data: `[level]`, the compression level 0–9 used on write (libhdf5
//! refuses anything else); decoding ignores it.
//!
//! ```text
//! stored chunk: CMF FLG | deflate blocks ... | ADLER32 (big-endian)
//! ```
//!
//! libhdf5 inflates until the end of the zlib stream and ignores any bytes
//! after it; a stream that stops before its end is an error. On write it
//! fails (and, the filter being optional, stores the chunk unfiltered with
//! the filter's mask bit set) when the compressed data would be larger than
//! the input; [`Deflate::encode`] always compresses.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use super::{Filter, FilterCtx};
use crate::error::{Error, Result};

/// The filter identifier.
pub const ID: u16 = 1;

/// The deflate filter.
#[derive(Debug, Clone, Copy, Default)]
pub struct Deflate;

fn corrupt(what: impl std::fmt::Display) -> Error {
    Error::format_noaddr(format!("deflate filter: {what}"))
}

/// Inflates the zlib stream `input` into at most `max_output` bytes.
///
/// The output vector starts with room for `min(expected, max_output)` bytes,
/// so a chunk of the expected size is inflated straight into its final
/// buffer with a single allocation.
///
/// # Errors
///
/// A format error for a corrupt or truncated stream, or one that inflates to
/// more than `max_output` bytes (found without allocating beyond
/// `max_output`).
pub fn inflate(input: &[u8], expected: usize, max_output: usize) -> Result<Vec<u8>> {
    let mut z = Decompress::new(true);
    let mut out: Vec<u8> = crate::array::buffers::take(expected.min(max_output));
    loop {
        let rest = input.get(z.total_in() as usize..).unwrap_or_default();
        if out.len() == out.capacity() {
            if out.len() >= max_output {
                check_finished(&mut z, rest, max_output)?;
                return Ok(out);
            }
            // Only when the expected size is unknown (an intermediate step):
            // grow by doubling, up to the bound.
            let room = out.len().max(4096).min(max_output - out.len());
            out.reserve_exact(room);
        }
        let status = z
            .decompress_vec(rest, &mut out, FlushDecompress::Finish)
            .map_err(|e| corrupt(format!("corrupt zlib stream ({e})")))?;
        if status == Status::StreamEnd {
            return Ok(out);
        }
        // Inflating stops when the stream ends, the output is full or the
        // input is used up: with room left, the input ran out mid-stream.
        if out.len() < out.capacity() {
            return Err(corrupt(format!(
                "zlib stream ends early ({} bytes in, {} out)",
                input.len(),
                out.len()
            )));
        }
    }
}

/// The output is full: the stream must end here (at most its Adler-32
/// trailer remains), and is too large if it still produces anything.
fn check_finished(z: &mut Decompress, rest: &[u8], max_output: usize) -> Result<()> {
    let mut probe = [0u8; 64];
    let before = z.total_out();
    let status = z
        .decompress(rest, &mut probe, FlushDecompress::Finish)
        .map_err(|e| corrupt(format!("corrupt zlib stream ({e})")))?;
    if z.total_out() != before {
        return Err(corrupt(format!(
            "stream inflates to more than the {max_output} bytes expected"
        )));
    }
    if status != Status::StreamEnd {
        return Err(corrupt(format!(
            "zlib stream ends early after {max_output} bytes"
        )));
    }
    Ok(())
}

/// Compresses `input` into a zlib stream at `level` (0–9).
///
/// # Errors
///
/// A usage error for a level above 9.
pub fn deflate(input: &[u8], level: u32) -> Result<Vec<u8>> {
    if level > 9 {
        return Err(Error::usage(format!(
            "deflate level {level}: must be 0 to 9"
        )));
    }
    let mut z = Compress::new(Compression::new(level), true);
    // zlib's compressBound: the stream never exceeds this.
    let bound = input.len() + (input.len() >> 12) + (input.len() >> 14) + (input.len() >> 25) + 64;
    let mut out = Vec::with_capacity(bound);
    loop {
        let rest = input.get(z.total_in() as usize..).unwrap_or_default();
        let status = z
            .compress_vec(rest, &mut out, FlushCompress::Finish)
            .map_err(|e| Error::usage(format!("deflate: {e}")))?;
        match status {
            Status::StreamEnd => return Ok(out),
            _ => out.reserve(out.capacity().max(64)),
        }
    }
}

impl Filter for Deflate {
    fn id(&self) -> u16 {
        ID
    }

    fn name(&self) -> &'static str {
        "deflate"
    }

    fn decode(&self, input: Vec<u8>, ctx: &FilterCtx) -> Result<Vec<u8>> {
        self.decode_slice(&input, ctx)
    }

    fn decode_slice(&self, input: &[u8], ctx: &FilterCtx) -> Result<Vec<u8>> {
        inflate(input, ctx.chunk_bytes, ctx.max_output)
    }

    fn encode(&self, input: Vec<u8>, ctx: &FilterCtx) -> Result<Vec<u8>> {
        let level = ctx.params.first().copied().unwrap_or(6);
        deflate(&input, level)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hello_stream() -> Vec<u8> {
        deflate(b"hello hello hello hello", 9).unwrap()
    }

    #[test]
    fn inflates_a_zlib_stream() {
        let s = hello_stream();
        assert_eq!(&s[..2], &[0x78, 0xda]);
        assert_eq!(inflate(&s, 23, 23).unwrap(), b"hello hello hello hello");
    }

    #[test]
    fn inflates_stored_blocks() {
        // Level 0: one stored block: header 78 01, BFINAL=1 BTYPE=00,
        // LEN=3, NLEN=!3, "abc", Adler-32 of "abc".
        let s = [
            0x78, 0x01, 0x01, 0x03, 0x00, 0xfc, 0xff, b'a', b'b', b'c', 0x02, 0x4d, 0x01, 0x27,
        ];
        assert_eq!(inflate(&s, 3, 3).unwrap(), b"abc");
    }

    #[test]
    fn trailing_bytes_are_ignored() {
        let mut s = hello_stream();
        s.extend_from_slice(&[0xde, 0xad]);
        assert_eq!(inflate(&s, 23, 23).unwrap().len(), 23);
    }

    #[test]
    fn truncated_stream_is_an_error() {
        let s = hello_stream();
        for cut in [0, 1, 2, 5, s.len() - 1] {
            let e = inflate(&s[..cut], 23, 23).unwrap_err();
            assert!(matches!(e, Error::Format { .. }), "cut {cut}: {e}");
        }
        // Same with room to spare (an intermediate step).
        assert!(inflate(&s[..s.len() - 4], 10, 1000).is_err());
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(inflate(&[0x78, 0xda], 23, 23).is_err());
        assert!(inflate(&[0x78, 0xda, 0xff, 0xff, 0xff], 23, 23).is_err());
        assert!(inflate(b"not zlib at all", 23, 23).is_err());
    }

    #[test]
    fn output_beyond_the_bound_is_refused() {
        let zeros = deflate(&vec![0u8; 1 << 20], 9).unwrap();
        assert!(zeros.len() < 2048);
        let e = inflate(&zeros, 4096, 4096).unwrap_err();
        assert!(e.to_string().contains("more than the 4096 bytes"), "{e}");
        // An intermediate step grows its buffer up to the bound, no further.
        assert!(inflate(&zeros, 4096, 100_000).is_err());
        assert_eq!(inflate(&zeros, 4096, 1 << 20).unwrap().len(), 1 << 20);
    }

    #[test]
    fn empty_chunk() {
        let s = deflate(b"", 6).unwrap();
        assert_eq!(inflate(&s, 0, 0).unwrap(), b"");
        assert!(inflate(&hello_stream(), 0, 0).is_err());
    }

    #[test]
    fn exact_fit_needs_no_second_allocation() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let s = deflate(&data, 6).unwrap();
        let out = inflate(&s, data.len(), data.len()).unwrap();
        assert_eq!(out.capacity(), data.len());
        assert_eq!(out, data);
    }

    #[test]
    fn level_above_nine_is_refused() {
        assert!(deflate(b"x", 10).is_err());
    }

    proptest! {
        #[test]
        fn round_trip(data in proptest::collection::vec(any::<u8>(), 0..5000), level in 0u32..=9) {
            let s = deflate(&data, level).unwrap();
            prop_assert_eq!(inflate(&s, data.len(), data.len()).unwrap(), data.clone());
            // A smaller bound is refused, a larger one is not needed.
            if !data.is_empty() {
                prop_assert!(inflate(&s, data.len(), data.len() - 1).is_err());
            }
        }
    }
}
