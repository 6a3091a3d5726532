//! Reading a selection out of a dataset's storage into a dense buffer of
//! file-format elements, chunks decoded in parallel.
//!
//! The result buffer is split along the first dimension into disjoint
//! slabs (one per row of chunks, or per piece of a contiguous block); slabs
//! are filled in parallel, and within a slab the chunks are decoded in
//! parallel in bounded batches and then copied in.

use std::collections::HashMap;

use rayon::prelude::*;

use std::sync::Arc;

use super::chunk_cache::ChunkCache;
use super::filters;
use super::selection::{DimSelection, Selection};
use crate::error::{Error, Result};
use crate::format::FileCtx;
use crate::format::chunk_index::ChunkRecord;
use crate::format::datatype::Datatype;
use crate::format::filter_pipeline::FilterInfo;

/// Where a dataset's elements are stored.
#[derive(Debug, Clone, Copy)]
pub enum Storage<'a> {
    /// Not allocated: every element reads as the fill value.
    Unallocated,
    /// One dense block of bytes (contiguous or compact).
    Dense(&'a [u8]),
    /// Chunks.
    Chunked(ChunkedStorage<'a>),
}

/// A chunked dataset's storage.
#[derive(Debug, Clone, Copy)]
pub struct ChunkedStorage<'a> {
    /// Chunk dimensions.
    pub chunk_dims: &'a [u64],
    /// Allocated chunks keyed by chunk coordinates.
    pub chunks: &'a HashMap<Vec<u64>, ChunkRecord>,
    /// The filter pipeline (empty when unfiltered).
    pub pipeline: &'a [FilterInfo],
    /// The dataset's datatype (some filters need it).
    pub dtype: &'a Datatype,
    /// Edge chunks are stored unfiltered.
    pub dont_filter_partial_edges: bool,
    /// Decoded chunks kept between reads (used by reads of few chunks).
    pub cache: Option<&'a ChunkCache>,
}

/// The bytes of one decoded chunk.
enum ChunkBytes<'a> {
    /// Straight from the file (unfiltered).
    File(&'a [u8]),
    /// Decoded for this read.
    Decoded(Vec<u8>),
    /// From the chunk cache.
    Cached(Arc<Vec<u8>>),
}

impl std::ops::Deref for ChunkBytes<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            ChunkBytes::File(b) => b,
            ChunkBytes::Decoded(v) => v,
            ChunkBytes::Cached(a) => a,
        }
    }
}

/// Reads that touch at most this many chunks go through the chunk cache.
const CACHED_READ_CHUNKS: usize = 4;

/// Everything a read needs.
#[derive(Debug, Clone, Copy)]
pub struct ReadRequest<'a> {
    /// The file.
    pub ctx: FileCtx<'a>,
    /// Dataset dimensions.
    pub dims: &'a [u64],
    /// Bytes per element.
    pub esize: usize,
    /// The fill value (esize bytes) for unallocated elements.
    pub fill: &'a [u8],
    /// The storage.
    pub storage: Storage<'a>,
}

/// Geometry shared by the copy routines: the selection and the output's
/// strides (in elements) for each dimension.
struct Geometry<'s> {
    sel: &'s [DimSelection],
    ostride: Vec<u64>,
    esize: usize,
}

impl<'s> Geometry<'s> {
    fn new(sel: &'s Selection, esize: usize) -> Self {
        let mut ostride = vec![1u64; sel.dims.len()];
        for d in (0..sel.dims.len().saturating_sub(1)).rev() {
            ostride[d] = ostride[d + 1] * sel.dims[d + 1].count;
        }
        Geometry {
            sel: &sel.dims,
            ostride,
            esize,
        }
    }

    /// Bytes of output per selected index of dimension 0.
    fn row_bytes(&self) -> usize {
        self.ostride.first().copied().unwrap_or(1) as usize * self.esize
    }

    /// For each dimension, the part of the selection inside the box
    /// `[origin, origin + shape)`: (first output position, first local
    /// index within the box, count). `None` when the box misses it.
    fn clip(&self, origin: &[u64], shape: &[u64]) -> Option<Vec<(u64, u64, u64)>> {
        self.sel
            .iter()
            .zip(origin.iter().zip(shape))
            .map(|(d, (&o, &n))| {
                d.within(o, o.saturating_add(n))
                    .map(|(p, i, c)| (p, i - o, c))
            })
            .collect()
    }

    /// Calls `f(out_byte_offset, local_linear_element, run_len)` for every
    /// run of consecutive selected elements of the clipped box. A run is
    /// contiguous in both output and box when the last dimension's step is
    /// 1; otherwise runs have length 1.
    fn for_each_run(
        &self,
        clip: &[(u64, u64, u64)],
        shape: &[u64],
        mut f: impl FnMut(usize, usize, usize),
    ) {
        let rank = clip.len();
        if rank == 0 {
            f(0, 0, 1);
            return;
        }
        let mut bstride = vec![1u64; rank];
        for d in (0..rank - 1).rev() {
            bstride[d] = bstride[d + 1] * shape[d + 1];
        }
        let last = rank - 1;
        let (lp, li, lc) = clip[last];
        let lstep = self.sel[last].step;
        let mut idx = vec![0u64; rank.saturating_sub(1)];
        loop {
            let mut out = 0u64;
            let mut src = 0u64;
            for d in 0..last {
                let (p, i, _) = clip[d];
                out += (p + idx[d]) * self.ostride[d];
                src += (i + idx[d] * self.sel[d].step) * bstride[d];
            }
            out += lp;
            src += li;
            if lstep == 1 {
                f(out as usize * self.esize, src as usize, lc as usize);
            } else {
                for k in 0..lc {
                    f(
                        (out + k) as usize * self.esize,
                        (src + k * lstep) as usize,
                        1,
                    );
                }
            }
            // odometer over dims 0..last
            let mut d = last;
            loop {
                if d == 0 {
                    return;
                }
                d -= 1;
                idx[d] += 1;
                if idx[d] < clip[d].2 {
                    break;
                }
                idx[d] = 0;
            }
        }
    }
}

/// Copies the selected elements of a dense box (its bytes `src`, C order,
/// shape `shape`, at dataset position `origin`) into `out`, whose first
/// byte is the output position of selected row `row0` of dimension 0.
fn copy_box(
    g: &Geometry,
    out: &mut [u8],
    row0: u64,
    src: &[u8],
    origin: &[u64],
    shape: &[u64],
) -> Result<()> {
    let Some(clip) = g.clip(origin, shape) else {
        return Ok(());
    };
    let base = row0 as usize * g.row_bytes();
    let es = g.esize;
    let mut bad = false;
    g.for_each_run(&clip, shape, |o, s, n| {
        let o = o - base;
        let (Some(dst), Some(from)) = (out.get_mut(o..o + n * es), src.get(s * es..(s + n) * es))
        else {
            bad = true;
            return;
        };
        dst.copy_from_slice(from);
    });
    if bad {
        return Err(Error::format_noaddr(
            "stored data is shorter than its dataspace requires",
        ));
    }
    Ok(())
}

/// Writes the fill value at every selected element of the box.
fn fill_box(g: &Geometry, out: &mut [u8], row0: u64, fill: &[u8], origin: &[u64], shape: &[u64]) {
    let Some(clip) = g.clip(origin, shape) else {
        return;
    };
    let base = row0 as usize * g.row_bytes();
    let es = g.esize;
    let zero = fill.iter().all(|&b| b == 0);
    g.for_each_run(&clip, shape, |o, _, n| {
        let o = o - base;
        if let Some(dst) = out.get_mut(o..o + n * es) {
            if zero {
                dst.fill(0);
            } else {
                for e in dst.chunks_exact_mut(es) {
                    e.copy_from_slice(fill);
                }
            }
        }
    });
}

/// How many chunks of a grid with chunks of `chunk_dims` hold at least one
/// selected element: the chunks a read of `sel` decodes.
pub fn chunks_touched(sel: &Selection, chunk_dims: &[u64]) -> u64 {
    sel.dims
        .iter()
        .zip(chunk_dims)
        .map(|(d, &c)| {
            if d.count == 0 || c == 0 {
                return 0;
            }
            let lo = d.start / c;
            let hi = (d.end() - 1) / c + 1;
            if d.step <= c {
                hi - lo
            } else {
                (lo..hi)
                    .filter(|&k| d.within(k * c, (k + 1) * c).is_some())
                    .count() as u64
            }
        })
        .product()
}

/// Reads the selection `sel` into `out`, which must hold exactly
/// `sel.count() * esize` bytes.
pub fn read(req: &ReadRequest, sel: &Selection, out: &mut [u8]) -> Result<()> {
    sel.check(req.dims)?;
    let need = sel
        .count()
        .checked_mul(req.esize as u64)
        .ok_or_else(|| Error::usage("selection size overflows"))?;
    if out.len() as u64 != need {
        return Err(Error::usage(format!(
            "output buffer has {} bytes, the selection needs {need}",
            out.len()
        )));
    }
    if need == 0 {
        return Ok(());
    }
    if req.fill.len() != req.esize {
        return Err(Error::format_noaddr(format!(
            "fill value has {} bytes, the element {}",
            req.fill.len(),
            req.esize
        )));
    }
    let g = Geometry::new(sel, req.esize);
    let full: Vec<u64> = req.dims.to_vec();
    let origin = vec![0u64; req.dims.len()];
    match req.storage {
        Storage::Unallocated => {
            fill_box(&g, out, 0, req.fill, &origin, &full);
            Ok(())
        }
        Storage::Dense(bytes) => {
            let total = req
                .dims
                .iter()
                .try_fold(req.esize as u64, |a, &d| a.checked_mul(d))
                .ok_or_else(|| Error::format_noaddr("dataset size overflows"))?;
            if (bytes.len() as u64) < total {
                return Err(Error::format_noaddr(format!(
                    "contiguous storage holds {} bytes, the dataspace needs {total}",
                    bytes.len()
                )));
            }
            read_dense_parallel(&g, out, bytes, &full)
        }
        Storage::Chunked(ch) => read_chunked(req, &ch, &g, out),
    }
}

fn read_dense_parallel(g: &Geometry, out: &mut [u8], src: &[u8], shape: &[u64]) -> Result<()> {
    let rows = g.sel.first().map_or(1, |d| d.count);
    let row_bytes = g.row_bytes();
    let pieces = if out.len() > 8 << 20 && rows > 1 {
        (rayon::current_num_threads() as u64 * 4).min(rows)
    } else {
        1
    };
    if pieces <= 1 || g.sel.is_empty() {
        let origin = vec![0u64; shape.len()];
        return copy_box(g, out, 0, src, &origin, shape);
    }
    let per = rows.div_ceil(pieces);
    let d0 = g.sel[0];
    out.par_chunks_mut(per as usize * row_bytes)
        .enumerate()
        .try_for_each(|(i, piece)| {
            let first = i as u64 * per;
            let n = piece.len() as u64 / row_bytes as u64;
            // a sub-box of whole rows: dataset rows of the selected range
            let lo = d0.start + first * d0.step;
            let hi = d0.start + (first + n - 1) * d0.step + 1;
            let mut origin = vec![0u64; shape.len()];
            let mut bshape = shape.to_vec();
            origin[0] = lo;
            bshape[0] = hi - lo;
            let rowlen = shape[1..]
                .iter()
                .try_fold(g.esize as u64, |a, &d| a.checked_mul(d));
            let span = rowlen.and_then(|r| Some((lo.checked_mul(r)?, hi.checked_mul(r)?)));
            let sub = span
                .and_then(|(a, b)| src.get(usize::try_from(a).ok()?..usize::try_from(b).ok()?))
                .ok_or_else(|| Error::format_noaddr("contiguous storage is too short"))?;
            copy_box(g, piece, first, sub, &origin, &bshape)
        })
}

fn chunk_origin(coords: &[u64], chunk_dims: &[u64]) -> Vec<u64> {
    coords.iter().zip(chunk_dims).map(|(c, d)| c * d).collect()
}

fn read_chunked(
    req: &ReadRequest,
    ch: &ChunkedStorage,
    g: &Geometry,
    out: &mut [u8],
) -> Result<()> {
    let rank = req.dims.len();
    let cdims = ch.chunk_dims;
    if cdims.len() != rank || cdims.contains(&0) {
        return Err(Error::format_noaddr(format!(
            "chunks of rank {} in a dataspace of rank {rank}",
            cdims.len()
        )));
    }
    let chunk_bytes = cdims
        .iter()
        .try_fold(req.esize as u64, |a, &d| a.checked_mul(d))
        .filter(|&b| b <= req.ctx.limits.max_chunk_bytes)
        .ok_or_else(|| Error::limit("chunk size exceeds the limit"))?
        as usize;
    // the chunk grid range each dimension's selection touches
    let mut lo = Vec::with_capacity(rank);
    let mut hi = Vec::with_capacity(rank);
    for (d, &c) in g.sel.iter().zip(cdims) {
        lo.push(d.start / c);
        hi.push((d.end().max(1) - 1) / c + 1);
    }
    // chunk rows along dimension 0, each with its output slab
    let rows: Vec<u64> = if rank == 0 {
        vec![0]
    } else {
        (lo[0]..hi[0]).collect()
    };
    let mut slabs: Vec<(u64, u64, &mut [u8])> = Vec::with_capacity(rows.len());
    let row_bytes = g.row_bytes();
    let mut rest = out;
    let mut taken = 0u64;
    for &r in &rows {
        let (first, count) = if rank == 0 {
            (0, 1)
        } else {
            match g.sel[0].within(r * cdims[0], (r + 1) * cdims[0]) {
                Some((p, _, n)) => (p, n),
                None => continue,
            }
        };
        let skip = (first - taken) as usize * row_bytes;
        let (_, tail) = std::mem::take(&mut rest).split_at_mut(skip);
        let (slab, tail) = tail.split_at_mut(count as usize * row_bytes);
        rest = tail;
        taken = first + count;
        slabs.push((r, first, slab));
    }
    slabs.into_par_iter().try_for_each(|(r, first, slab)| {
        // every chunk of this row that the selection touches
        let mut coords_list = Vec::new();
        let mut idx: Vec<u64> = lo.clone();
        if rank > 0 {
            idx[0] = r;
        }
        loop {
            if rank == 0 || g.clip(&chunk_origin(&idx, cdims), cdims).is_some() {
                coords_list.push(idx.clone());
            }
            let mut d = rank;
            let mut done = true;
            while d > 1 {
                d -= 1;
                idx[d] += 1;
                if idx[d] < hi[d] {
                    done = false;
                    break;
                }
                idx[d] = lo[d];
            }
            if done {
                break;
            }
        }
        let cache = ch
            .cache
            .filter(|_| coords_list.len() <= CACHED_READ_CHUNKS && !ch.pipeline.is_empty());
        let batch = (rayon::current_num_threads() * 2).max(2);
        for group in coords_list.chunks(batch) {
            let decoded: Vec<Result<Option<ChunkBytes>>> = group
                .par_iter()
                .map(|coords| match cache.and_then(|c| c.get(coords)) {
                    Some(hit) => Ok(Some(ChunkBytes::Cached(hit))),
                    None => load_chunk(req, ch, coords, chunk_bytes),
                })
                .collect();
            for (coords, data) in group.iter().zip(decoded) {
                let origin = chunk_origin(coords, cdims);
                match data? {
                    Some(bytes) => {
                        copy_box(g, slab, first, &bytes, &origin, cdims)?;
                        if let ChunkBytes::Decoded(b) = bytes {
                            match cache {
                                Some(c) => c.put(coords, Arc::new(b)),
                                None => super::buffers::give(b),
                            }
                        }
                    }
                    None => fill_box(g, slab, first, req.fill, &origin, cdims),
                }
            }
        }
        Ok(())
    })
}

/// The decoded bytes of one chunk; `None` when it is not allocated.
fn load_chunk<'a>(
    req: &ReadRequest<'a>,
    ch: &ChunkedStorage,
    coords: &[u64],
    chunk_bytes: usize,
) -> Result<Option<ChunkBytes<'a>>> {
    let Some(rec) = ch.chunks.get(coords) else {
        return Ok(None);
    };
    let stored = req
        .ctx
        .slice(rec.addr, rec.size, "chunk")
        .map_err(|e| e.context(&format!("chunk {coords:?}")))?;
    let edge = ch.dont_filter_partial_edges
        && coords
            .iter()
            .zip(ch.chunk_dims)
            .zip(req.dims)
            .any(|((&c, &cd), &n)| (c + 1) * cd > n);
    if ch.pipeline.is_empty() || edge {
        if stored.len() < chunk_bytes {
            return Err(Error::format(
                format!(
                    "chunk {coords:?}: {} bytes stored, {chunk_bytes} expected",
                    stored.len()
                ),
                rec.addr,
            ));
        }
        return Ok(Some(ChunkBytes::File(&stored[..chunk_bytes])));
    }
    let decoded = filters::decode_chunk(
        ch.pipeline,
        rec.filter_mask,
        stored,
        chunk_bytes,
        req.esize,
        ch.dtype,
    )
    .map_err(|e| match e {
        Error::Format { what, addr: None } => Error::Format {
            what: format!("chunk {coords:?}: {what}"),
            addr: Some(rec.addr),
        },
        e => e,
    })?;
    if decoded.len() < chunk_bytes {
        return Err(Error::format(
            format!(
                "chunk {coords:?} decodes to {} bytes, {chunk_bytes} expected",
                decoded.len()
            ),
            rec.addr,
        ));
    }
    Ok(Some(ChunkBytes::Decoded(decoded)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::Sizes;
    use crate::limits::Limits;
    use ndarray::s;

    fn ctx() -> FileCtx<'static> {
        FileCtx {
            data: &[],
            base: 0,
            sizes: Sizes::DEFAULT,
            limits: Limits::default(),
        }
    }

    #[test]
    fn counts_touched_chunks() {
        let dims = [8192u64, 8192];
        let mut sel = Selection::all(&dims);
        sel.dims[1].start = 4064;
        sel.dims[1].count = 64;
        // 64 columns across the boundary at 4096: two chunk columns
        assert_eq!(chunks_touched(&sel, &[128, 128]), 64 * 2);
        assert_eq!(chunks_touched(&Selection::all(&dims), &[128, 128]), 4096);
        let strided = Selection::from_slice_elems(s![..;1000, 0].as_ref(), &dims).unwrap();
        assert_eq!(chunks_touched(&strided, &[128, 128]), 9);
    }

    #[test]
    fn dense_slice_with_steps() {
        // 6x5 u8 array, value = 10*i + j
        let src: Vec<u8> = (0..6)
            .flat_map(|i| (0..5).map(move |j| 10 * i + j))
            .collect();
        let dims = [6u64, 5];
        let req = ReadRequest {
            ctx: ctx(),
            dims: &dims,
            esize: 1,
            fill: &[0],
            storage: Storage::Dense(&src),
        };
        let sel = Selection::from_slice_elems(s![1..6;2, 1..5;3].as_ref(), &dims).unwrap();
        let mut out = vec![0u8; sel.count() as usize];
        read(&req, &sel, &mut out).unwrap();
        assert_eq!(out, vec![11, 14, 31, 34, 51, 54]);
    }

    #[test]
    fn chunked_with_missing_chunk_reads_fill() {
        // 4x4 u8 in 2x2 chunks; chunk (1,1) missing; data = 4*i + j
        let mut file = Vec::new();
        let mut chunks = HashMap::new();
        for (ci, cj) in [(0u64, 0u64), (0, 1), (1, 0)] {
            let addr = file.len() as u64;
            for i in 0..2 {
                for j in 0..2 {
                    file.push((4 * (ci * 2 + i) + cj * 2 + j) as u8);
                }
            }
            chunks.insert(
                vec![ci, cj],
                ChunkRecord {
                    coords: vec![ci, cj],
                    addr,
                    size: 4,
                    filter_mask: 0,
                },
            );
        }
        let c = FileCtx {
            data: &file,
            ..ctx()
        };
        let dims = [4u64, 4];
        let dt = Datatype::int(1, false, crate::format::datatype::ByteOrder::Little);
        let req = ReadRequest {
            ctx: c,
            dims: &dims,
            esize: 1,
            fill: &[99],
            storage: Storage::Chunked(ChunkedStorage {
                chunk_dims: &[2, 2],
                chunks: &chunks,
                pipeline: &[],
                dtype: &dt,
                dont_filter_partial_edges: false,
                cache: None,
            }),
        };
        let sel = Selection::all(&dims);
        let mut out = vec![0u8; 16];
        read(&req, &sel, &mut out).unwrap();
        assert_eq!(
            out,
            vec![0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 99, 99, 12, 13, 99, 99]
        );
        let sel = Selection::from_slice_elems(s![1..4, 1].as_ref(), &dims).unwrap();
        let mut out = vec![0u8; 3];
        read(&req, &sel, &mut out).unwrap();
        assert_eq!(out, vec![5, 9, 13]);
    }
}
