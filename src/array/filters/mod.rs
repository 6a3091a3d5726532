//! The filter pipeline: what turns a stored chunk into its elements and back.
//!
//! A chunked dataset names its filters in the filter pipeline message (spec
//! IV.A.2.l, decoded by [`crate::format::filter_pipeline`]). On write libhdf5
//! runs them first to last; on read, last to first. Each stored chunk comes
//! with a 32-bit filter mask: bit `i` set means filter `i` was skipped for that
//! chunk (an optional filter that failed, such as LZF on incompressible data).
//!
//! ```text
//!  elements ──► filter 0 ──► filter 1 ──► … ──► filter n-1 ──► stored chunk
//!  elements ◄── filter 0 ◄── filter 1 ◄── … ◄── filter n-1 ◄── stored chunk
//!               (decode)       (skipped when its mask bit is set)
//! ```
//!
//! Every filter implements [`Filter`]; [`lookup`] finds one by its
//! identifier, [`decode_chunk`] runs a whole pipeline backwards and
//! [`encode_chunk`] forwards.
//!
//! # Bounds
//!
//! A decoder is told how much it may produce ([`FilterCtx::max_output`]) and
//! fails, without allocating more, when its input would decode to more: a
//! stored chunk of a few kilobytes cannot make the reader allocate gigabytes.
//! The last decode step must produce the chunk's exact size, so its bound is
//! that size. An earlier step produces what the filters before it made, whose
//! size is not recorded anywhere; its bound is
//! `max(chunk bytes, input bytes) × 9/8 + 4096`, above what any of the
//! filters here can add (a few header bytes, deflate's 0.1 %) and still
//! proportional to the bytes actually stored.
//!
//! # libhdf5 compatibility
//!
//! The decoders reproduce what libhdf5 (and h5py's LZF, libaec's SZIP)
//! return, byte for byte; `spec-notes/filters.md` records each filter's client
//! data and the quirks of its reference implementation. Where libhdf5 would
//! hand back a chunk of the wrong size (a short szip stream, say) h5rs reports
//! a format error instead.
#![forbid(unsafe_code)]

mod bits;
pub mod deflate;
pub mod fletcher32;
pub mod lzf;
pub mod nbit;
pub mod scaleoffset;
pub mod shuffle;
pub mod szip;

use crate::error::{Error, Result};
use crate::format::datatype::Datatype;
use crate::format::filter_pipeline::FilterInfo;

/// What a filter is told about the chunk it is working on.
#[derive(Debug, Clone, Copy)]
pub struct FilterCtx<'a> {
    /// Bytes per dataset element.
    pub element_size: usize,
    /// Bytes of the chunk once every filter is undone.
    pub chunk_bytes: usize,
    /// Most bytes this step may produce. A decoder whose input would decode
    /// to more fails with a format error and never allocates beyond this.
    pub max_output: usize,
    /// The filter's client data values, as stored in the pipeline message.
    pub params: &'a [u32],
    /// The dataset's element type.
    pub dtype: &'a Datatype,
}

/// One HDF5 filter: an identifier, a name, and the two directions.
///
/// Implementations are stateless and shared between threads.
pub trait Filter: Send + Sync {
    /// The filter identifier stored in the pipeline message.
    fn id(&self) -> u16;

    /// A short lowercase name ("deflate", "shuffle", ...).
    fn name(&self) -> &'static str;

    /// Undoes the filter: `input` is what the filter produced on write.
    ///
    /// # Errors
    ///
    /// A format error when `input` is malformed or would decode to more than
    /// `ctx.max_output` bytes; an unsupported error for a valid variant h5rs
    /// does not implement.
    fn decode(&self, input: Vec<u8>, ctx: &FilterCtx) -> Result<Vec<u8>>;

    /// Like [`Filter::decode`], from borrowed bytes (the first step of a
    /// pipeline reads straight from the file). The default copies them.
    ///
    /// # Errors
    ///
    /// As [`Filter::decode`].
    fn decode_slice(&self, input: &[u8], ctx: &FilterCtx) -> Result<Vec<u8>> {
        self.decode(input.to_vec(), ctx)
    }

    /// Applies the filter, as libhdf5 does on write.
    ///
    /// # Errors
    ///
    /// An unsupported error for filters h5rs only reads; a usage error for
    /// client data the filter rejects.
    fn encode(&self, input: Vec<u8>, ctx: &FilterCtx) -> Result<Vec<u8>> {
        let _ = (input, ctx);
        Err(Error::unsupported(format!(
            "writing with the {} filter (id {})",
            self.name(),
            self.id()
        )))
    }
}

static DEFLATE: deflate::Deflate = deflate::Deflate;
static SHUFFLE: shuffle::Shuffle = shuffle::Shuffle;
static FLETCHER32: fletcher32::Fletcher32 = fletcher32::Fletcher32;
static SZIP: szip::Szip = szip::Szip;
static NBIT: nbit::Nbit = nbit::Nbit;
static SCALEOFFSET: scaleoffset::ScaleOffset = scaleoffset::ScaleOffset;
static LZF: lzf::Lzf = lzf::Lzf;

/// Filters registered by the application, by identifier.
static REGISTERED: std::sync::RwLock<Vec<&'static dyn Filter>> = std::sync::RwLock::new(Vec::new());

/// Registers a filter for the rest of the process, so datasets using its
/// identifier can be read (and, if it encodes, written). A filter for an
/// identifier h5rs already has replaces it. Filters are kept for the life
/// of the process.
///
/// ```
/// use h5rs::array::filters::{Filter, FilterCtx, lookup, register};
///
/// /// A filter that stored its chunks reversed.
/// struct Reverse;
/// impl Filter for Reverse {
///     fn id(&self) -> u16 { 40000 }
///     fn name(&self) -> &'static str { "reverse" }
///     fn decode(&self, mut v: Vec<u8>, _: &FilterCtx) -> h5rs::Result<Vec<u8>> {
///         v.reverse();
///         Ok(v)
///     }
/// }
/// register(Box::new(Reverse));
/// assert_eq!(lookup(40000).map(|f| f.name()), Some("reverse"));
/// ```
pub fn register(filter: Box<dyn Filter>) {
    let filter: &'static dyn Filter = Box::leak(filter);
    if let Ok(mut r) = REGISTERED.write() {
        r.retain(|f| f.id() != filter.id());
        r.push(filter);
    }
}

/// The filter with identifier `id`, if h5rs has it (registered filters
/// first).
///
/// ```
/// use h5rs::array::filters::lookup;
/// assert_eq!(lookup(1).map(|f| f.name()), Some("deflate"));
/// assert!(lookup(32001).is_none()); // blosc
/// ```
pub fn lookup(id: u16) -> Option<&'static dyn Filter> {
    if let Ok(r) = REGISTERED.read()
        && let Some(f) = r.iter().find(|f| f.id() == id)
    {
        return Some(*f);
    }
    Some(match id {
        deflate::ID => &DEFLATE,
        shuffle::ID => &SHUFFLE,
        fletcher32::ID => &FLETCHER32,
        szip::ID => &SZIP,
        nbit::ID => &NBIT,
        scaleoffset::ID => &SCALEOFFSET,
        lzf::ID => &LZF,
        _ => return None,
    })
}

/// The registered name of a filter identifier, known or not to h5rs
/// (the HDF Group's registry of third-party filters).
pub fn registered_name(id: u16) -> Option<&'static str> {
    Some(match id {
        1 => "deflate",
        2 => "shuffle",
        3 => "fletcher32",
        4 => "szip",
        5 => "nbit",
        6 => "scaleoffset",
        257 => "hzip",
        258 => "fpzip",
        305 => "lzo",
        307 => "bzip2",
        32000 => "lzf",
        32001 => "blosc",
        32002 => "mafisc",
        32003 => "snappy",
        32004 => "lz4",
        32005 => "apax",
        32006 => "cbf",
        32007 => "jpeg-xr",
        32008 => "bitshuffle",
        32009 => "spdp",
        32010 => "lpc-rice",
        32011 => "ccsds-123",
        32012 => "jpeg-ls",
        32013 => "zfp",
        32014 => "fpzip",
        32015 => "zstd",
        32016 => "b3d",
        32017 => "sz",
        32018 => "fcidecomp",
        32019 => "jpeg",
        32020 => "vbz",
        32021 => "fapec",
        32022 => "bitgroom",
        32023 => "gbr",
        32024 => "sz3",
        32025 => "delta-rice",
        32026 => "blosc2",
        32027 => "flac",
        32028 => "sperr",
        32029 => "trpx",
        32030 => "ffmpeg",
        32031 => "jpeg2000",
        32032 => "bitround",
        _ => return None,
    })
}

fn unavailable(info: &FilterInfo) -> Error {
    let name = registered_name(info.id)
        .map(str::to_string)
        .or_else(|| (!info.name.is_empty()).then(|| info.name.clone()))
        .unwrap_or_else(|| "unregistered".to_string());
    Error::unsupported(format!("filter {} ({name}) is not available", info.id))
}

/// The bound on a decode step that is not the last one (see the module docs).
fn intermediate_bound(chunk_bytes: usize, input_len: usize) -> usize {
    let base = chunk_bytes.max(input_len);
    base.saturating_add(base / 8).saturating_add(4096)
}

/// Decodes one stored chunk: runs the pipeline's filters last to first,
/// skipping those whose bit is set in `filter_mask`, and checks that the
/// result is exactly `chunk_bytes` long.
///
/// `chunk_bytes` must already be checked against the reader's limits: it
/// bounds every allocation made here.
///
/// # Errors
///
/// An unsupported error naming the filter when the pipeline uses a filter
/// h5rs does not have (`filter 32001 (blosc) is not available`); a format
/// error when a filter fails or the chunk decodes to the wrong size. The
/// errors carry no address: the caller adds the chunk's with
/// [`Error::at`].
pub fn decode_chunk(
    pipeline: &[FilterInfo],
    filter_mask: u32,
    data: &[u8],
    chunk_bytes: usize,
    element_size: usize,
    dtype: &Datatype,
) -> Result<Vec<u8>> {
    if pipeline.len() > 32 {
        return Err(Error::format_noaddr(format!(
            "filter pipeline: {} filters (at most 32)",
            pipeline.len()
        )));
    }
    let active = |i: usize| filter_mask & (1u32 << i) == 0;
    let last_step = (0..pipeline.len()).find(|&i| active(i));
    let mut buf: Option<Vec<u8>> = None;
    for (i, info) in pipeline.iter().enumerate().rev() {
        if !active(i) {
            continue;
        }
        let filter = lookup(info.id).ok_or_else(|| unavailable(info))?;
        let input_len = buf.as_ref().map_or(data.len(), Vec::len);
        let max_output = if Some(i) == last_step {
            chunk_bytes
        } else {
            intermediate_bound(chunk_bytes, input_len)
        };
        let ctx = FilterCtx {
            element_size,
            chunk_bytes,
            max_output,
            params: &info.params,
            dtype,
        };
        let out = match buf.take() {
            None => filter.decode_slice(data, &ctx)?,
            Some(v) => filter.decode(v, &ctx)?,
        };
        if out.len() > max_output {
            return Err(Error::format_noaddr(format!(
                "{} filter: decoded {} bytes, more than the {max_output} allowed",
                filter.name(),
                out.len()
            )));
        }
        buf = Some(out);
    }
    let out = buf.unwrap_or_else(|| data.to_vec());
    if out.len() != chunk_bytes {
        return Err(Error::format_noaddr(format!(
            "chunk decodes to {} bytes, expected {chunk_bytes}",
            out.len()
        )));
    }
    Ok(out)
}

/// Encodes one chunk for writing: runs the pipeline's filters first to last.
///
/// Every filter is applied (the returned chunk goes with filter mask 0).
/// Deflate takes its level from its client data, shuffle its element size
/// (falling back to `element_size`), fletcher32 appends its checksum.
///
/// # Errors
///
/// An unsupported error for a filter h5rs cannot write (only deflate,
/// shuffle and fletcher32 can be written); a usage error for client data the
/// filter rejects.
pub fn encode_chunk(
    pipeline: &[FilterInfo],
    data: &[u8],
    element_size: usize,
    dtype: &Datatype,
) -> Result<Vec<u8>> {
    let mut buf = data.to_vec();
    for info in pipeline {
        let filter = lookup(info.id).ok_or_else(|| unavailable(info))?;
        let ctx = FilterCtx {
            element_size,
            chunk_bytes: data.len(),
            max_output: usize::MAX,
            params: &info.params,
            dtype,
        };
        buf = filter.encode(buf, &ctx)?;
    }
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::datatype::ByteOrder;
    use proptest::prelude::*;

    fn info(id: u16, params: &[u32]) -> FilterInfo {
        FilterInfo {
            id,
            name: String::new(),
            flags: 0,
            params: params.to_vec(),
        }
    }

    fn i32le() -> Datatype {
        Datatype::int(4, true, ByteOrder::Little)
    }

    #[test]
    fn registry_knows_its_filters() {
        for id in [1u16, 2, 3, 4, 5, 6, 32000] {
            let f = lookup(id).unwrap();
            assert_eq!(f.id(), id);
            assert_eq!(registered_name(id), Some(f.name()));
        }
        assert!(lookup(0).is_none());
        assert!(lookup(32015).is_none());
    }

    #[test]
    fn unknown_filter_is_named() {
        let e = decode_chunk(&[info(32001, &[])], 0, &[1, 2], 2, 1, &i32le()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unsupported: filter 32001 (blosc) is not available"
        );
        let mut custom = info(40000, &[]);
        custom.name = "mine".into();
        let e = decode_chunk(&[custom], 0, &[1, 2], 2, 1, &i32le()).unwrap_err();
        assert!(e.to_string().contains("filter 40000 (mine)"), "{e}");
    }

    #[test]
    fn masked_filters_are_skipped() {
        // An unknown filter whose mask bit is set is never looked up.
        let data = [1u8, 2, 3, 4];
        let out = decode_chunk(&[info(32001, &[])], 1, &data, 4, 4, &i32le()).unwrap();
        assert_eq!(out, data);
        // No filter left: the size must still match.
        assert!(decode_chunk(&[info(32001, &[])], 1, &data, 8, 4, &i32le()).is_err());
    }

    #[test]
    fn shuffle_then_fletcher_round_trip() {
        let pipeline = [info(2, &[4]), info(1, &[6]), info(3, &[])];
        let data: Vec<u8> = (0..400u32).flat_map(|v| (v * 3).to_le_bytes()).collect();
        let stored = encode_chunk(&pipeline, &data, 4, &i32le()).unwrap();
        assert!(stored.len() < data.len());
        let back = decode_chunk(&pipeline, 0, &stored, data.len(), 4, &i32le()).unwrap();
        assert_eq!(back, data);
        // With the deflate bit set the stored bytes are only shuffled.
        let skipped = encode_chunk(&[info(2, &[4]), info(3, &[])], &data, 4, &i32le()).unwrap();
        let back = decode_chunk(&pipeline, 0b010, &skipped, data.len(), 4, &i32le()).unwrap();
        assert_eq!(back, data);
    }

    #[test]
    fn wrong_final_size_is_an_error() {
        let pipeline = [info(3, &[])];
        let stored = encode_chunk(&pipeline, &[1, 2, 3], 1, &i32le()).unwrap();
        let e = decode_chunk(&pipeline, 0, &stored, 4, 1, &i32le()).unwrap_err();
        assert!(e.to_string().contains("expected 4"), "{e}");
    }

    proptest! {
        /// Whatever the bytes and client data, decoding fails cleanly.
        #[test]
        fn hostile_chunks_never_panic(
            id in prop_oneof![Just(1u16), Just(2), Just(3), Just(4), Just(5), Just(6), Just(32000)],
            params in proptest::collection::vec(
                prop_oneof![0u32..10, 0u32..100, Just(u32::MAX), any::<u32>()], 0..24),
            data in proptest::collection::vec(any::<u8>(), 0..300),
            chunk_bytes in 0usize..2000,
        ) {
            let dt = i32le();
            let _ = decode_chunk(&[info(id, &params)], 0, &data, chunk_bytes, 4, &dt);
            let _ = decode_chunk(&[info(2, &[4]), info(id, &params)], 0, &data, chunk_bytes, 4, &dt);
        }

        /// Plausible client data for the filters that read it.
        #[test]
        fn hostile_streams_never_panic(
            data in proptest::collection::vec(any::<u8>(), 0..400),
            mask in 0u32..256,
            block in 1u32..70,
            bpp in 1u32..=64,
            scanline in 1u32..300,
            minbits in 0u32..70,
        ) {
            let dt = i32le();
            let szip = info(4, &[mask, block, bpp, scanline]);
            let mut chunk = 512u32.to_le_bytes().to_vec();
            chunk.extend_from_slice(&data);
            let _ = decode_chunk(&[szip], 0, &chunk, 512, 4, &dt);
            let mut so = [0u32; 20];
            so[0] = 2; so[2] = 100; so[4] = 4; so[5] = 1; so[7] = mask & 1;
            let mut chunk = minbits.to_le_bytes().to_vec();
            chunk.push(8);
            chunk.extend_from_slice(&data);
            let _ = decode_chunk(&[info(6, &so)], 0, &chunk, 400, 4, &dt);
            so[0] = 0; so[3] = 1; so[4] = 8; so[1] = mask;
            let _ = decode_chunk(&[info(6, &so)], 0, &chunk, 800, 8, &dt);
        }

        /// n-bit client data that pass the head checks, then anything.
        #[test]
        fn hostile_nbit_types_never_panic(
            body in proptest::collection::vec(prop_oneof![0u32..5, 0u32..40, any::<u32>()], 2..40),
            count in 0u32..50,
            data in proptest::collection::vec(any::<u8>(), 0..200),
        ) {
            let mut params = vec![0, 0, count];
            params.extend(&body);
            params[0] = params.len() as u32;
            let _ = decode_chunk(&[info(5, &params)], 0, &data, 1000, 4, &i32le());
        }
    }

    #[test]
    fn intermediate_steps_are_bounded() {
        assert_eq!(intermediate_bound(8000, 100), 8000 + 1000 + 4096);
        assert_eq!(intermediate_bound(0, 16_000), 16_000 + 2000 + 4096);
        assert_eq!(intermediate_bound(usize::MAX, 0), usize::MAX);
    }
}
