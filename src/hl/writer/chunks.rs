//! Writing raw data: element selections into compact, contiguous and
//! chunked storage (chunks filtered in parallel), and resizing.

use rayon::prelude::*;

use super::State;
use super::model::{ChunkLoc, ChunkedM, Kind, LayoutM};
use crate::array::filters::{decode_chunk, encode_chunk};
use crate::array::selection::{DimSelection, Selection};
use crate::error::{Error, Result};
use crate::format::dataspace::SpaceKind;

/// Chunks filtered together before they are written, to bound memory.
const BATCH_BYTES: usize = 64 << 20;

/// Row-major strides (in elements) of an array of `shape`.
fn strides(shape: &[u64]) -> Vec<u64> {
    let mut s = vec![1u64; shape.len()];
    for d in (0..shape.len().saturating_sub(1)).rev() {
        s[d] = s[d + 1] * shape[d + 1];
    }
    s
}

/// Calls `f(buf_offset, block_offset, len)` (in bytes) for each run of
/// consecutive elements of `sel` that falls in the box
/// `origin..origin+dims`: `buf` holds the selection's elements, row-major
/// over its counts; `block` the box, row-major over `dims`. `es` is the
/// element size.
pub(crate) fn box_runs(
    sel: &Selection,
    origin: &[u64],
    dims: &[u64],
    es: usize,
    mut f: impl FnMut(usize, usize, usize),
) {
    let rank = sel.dims.len();
    if rank == 0 {
        f(0, 0, es);
        return;
    }
    let mut parts = Vec::with_capacity(rank);
    for (d, ds) in sel.dims.iter().enumerate() {
        match ds.within(origin[d], origin[d] + dims[d]) {
            Some(p) => parts.push(p),
            None => return,
        }
    }
    let counts: Vec<u64> = sel.dims.iter().map(|d| d.count).collect();
    let sstr = strides(&counts);
    let bstr = strides(dims);
    let last = rank - 1;
    let (l_res, l_idx, l_n) = parts[last];
    let l_step = sel.dims[last].step;
    let mut k = vec![0u64; last];
    loop {
        let mut s_off = l_res * sstr[last];
        let mut b_off = (l_idx - origin[last]) * bstr[last];
        for d in 0..last {
            let (r, i, _) = parts[d];
            s_off += (r + k[d]) * sstr[d];
            b_off += (i + k[d] * sel.dims[d].step - origin[d]) * bstr[d];
        }
        let (s, b) = (s_off as usize * es, b_off as usize * es);
        if l_step == 1 {
            f(s, b, l_n as usize * es);
        } else {
            for j in 0..l_n as usize {
                f(s + j * es, b + j * l_step as usize * es, es);
            }
        }
        // next index over the leading dimensions
        let ends: Vec<u64> = parts[..last].iter().map(|p| p.2).collect();
        if !next_index(&mut k, &vec![0; last], &ends) {
            return;
        }
    }
}

/// Steps `k` to the next index in row-major order over the box
/// `lo[d] <= k[d] < end[d]`; false once every index was visited.
fn next_index(k: &mut [u64], lo: &[u64], end: &[u64]) -> bool {
    for d in (0..k.len()).rev() {
        k[d] += 1;
        if k[d] < end[d] {
            return true;
        }
        k[d] = lo[d];
    }
    false
}

/// Copies the elements of `sel` in the box from `buf` into `block` (see
/// [`box_runs`]).
pub(crate) fn scatter(
    sel: &Selection,
    buf: &[u8],
    origin: &[u64],
    dims: &[u64],
    block: &mut [u8],
    es: usize,
) {
    box_runs(sel, origin, dims, es, |s, b, n| {
        block[b..b + n].copy_from_slice(&buf[s..s + n]);
    });
}

/// A buffer of `n` elements, each `fill`.
fn filled(fill: &[u8], n: usize) -> Vec<u8> {
    if fill.iter().all(|&b| b == 0) {
        return vec![0; n * fill.len()];
    }
    let mut v = Vec::with_capacity(n * fill.len());
    for _ in 0..n {
        v.extend_from_slice(fill);
    }
    v
}

/// True when `sel` covers every element of the box `origin..origin+dims`
/// that lies inside `shape`.
fn covers(sel: &Selection, origin: &[u64], dims: &[u64], shape: &[u64]) -> bool {
    sel.dims.iter().enumerate().all(|(d, s)| {
        let lo = origin[d];
        let hi = (origin[d] + dims[d]).min(shape[d]);
        (s.step == 1 || s.count <= 1) && s.start <= lo && s.end() >= hi
    })
}

impl State {
    /// Writes `bytes` (the encoded elements of `sel`, row-major) into the
    /// dataset at `addr`.
    pub(crate) fn write_elements(
        &mut self,
        addr: u64,
        sel: &Selection,
        bytes: &[u8],
    ) -> Result<()> {
        self.ensure(addr)?;
        let obj = self.obj(addr)?;
        let Kind::Dataset(d) = &obj.kind else {
            return Err(Error::usage("not a dataset"));
        };
        let es = d.dtype.size();
        let shape = match d.space.kind {
            SpaceKind::Simple => d.space.dims.clone(),
            SpaceKind::Scalar => vec![],
            SpaceKind::Null => {
                return Err(Error::usage(
                    "a dataset with a null dataspace holds no data",
                ));
            }
        };
        sel.check(&shape)?;
        let want = sel.count() as usize * es;
        if bytes.len() != want {
            return Err(Error::usage(format!(
                "{} bytes of data for a selection of {} elements of {es} bytes",
                bytes.len(),
                sel.count()
            )));
        }
        if sel.count() == 0 {
            return Ok(());
        }
        let mut obj = self
            .objects
            .remove(&addr)
            .ok_or_else(|| Error::usage("dataset vanished"))?;
        let r = self.write_into(addr, &mut obj, sel, bytes, &shape);
        obj.dirty = true;
        self.objects.insert(addr, obj);
        r
    }

    /// Writes `sel` of the dataset `obj`, whose address is `owner`.
    fn write_into(
        &mut self,
        owner: u64,
        obj: &mut super::model::Obj,
        sel: &Selection,
        bytes: &[u8],
        shape: &[u64],
    ) -> Result<()> {
        let Kind::Dataset(d) = &mut obj.kind else {
            return Err(Error::usage("not a dataset"));
        };
        let es = d.dtype.size();
        let fill = d.fill_element();
        let total = d.space.element_count().unwrap_or(0) as usize;
        let box_dims: Vec<u64> = shape.to_vec();
        let origin = vec![0u64; shape.len()];
        match &mut d.layout {
            LayoutM::Kept | LayoutM::Virtual { .. } => Err(Error::unsupported(
                "writing to a dataset stored in external files or mapped from others (virtual)",
            )),
            LayoutM::Compact(data) => {
                if data.len() != total * es {
                    *data = filled(&fill, total);
                }
                scatter(sel, bytes, &origin, &box_dims, data, es);
                Ok(())
            }
            LayoutM::Contiguous { addr } => {
                let whole = sel.is_all(shape);
                let len = (total * es) as u64;
                let base = match *addr {
                    Some(a) => {
                        if !self.raw_in_place(owner, a, len) {
                            return Err(Error::format(
                                format!(
                                    "dataset storage: {len} bytes at {a:#x} reach into the \
                                     superblock, past the end of the file, or over an object \
                                     header or other data: damaged, not written"
                                ),
                                a,
                            ));
                        }
                        a
                    }
                    None => {
                        let a = self.space.allocate(len);
                        *addr = Some(a);
                        if !whole {
                            // the rest of the block holds the fill value
                            let block = 4 << 20;
                            let mut at = 0u64;
                            while at < len {
                                let n = ((len - at) as usize).min(block) / es.max(1) * es.max(1);
                                let n = if n == 0 { (len - at) as usize } else { n };
                                let f = filled(&fill, n / es.max(1));
                                self.space.write(a + at, &f)?;
                                at += n as u64;
                            }
                        }
                        a
                    }
                };
                if whole {
                    return self.space.write(base, bytes);
                }
                write_runs(&self.space, base, sel, bytes, shape, es)
            }
            LayoutM::Chunked(c) => write_chunks(
                self,
                owner,
                d_parts(&d.filters, &d.dtype),
                c,
                sel,
                bytes,
                shape,
                es,
                &fill,
            ),
        }
    }

    /// Changes the extent of the dataset at `addr` within its maximum
    /// dimensions. Chunks wholly outside the new extent are freed; the part
    /// of an edge chunk outside it is reset to the fill value.
    pub(crate) fn resize(&mut self, addr: u64, dims: &[u64]) -> Result<()> {
        self.ensure(addr)?;
        let mut obj = self
            .objects
            .remove(&addr)
            .ok_or_else(|| Error::usage("no such dataset"))?;
        let r = self.resize_obj(addr, &mut obj, dims);
        obj.dirty = true;
        self.objects.insert(addr, obj);
        r
    }

    /// Resizes the dataset `obj`, whose address is `owner`.
    fn resize_obj(&mut self, owner: u64, obj: &mut super::model::Obj, dims: &[u64]) -> Result<()> {
        let Kind::Dataset(d) = &mut obj.kind else {
            return Err(Error::usage("not a dataset"));
        };
        if d.space.kind != SpaceKind::Simple || dims.len() != d.space.dims.len() {
            return Err(Error::usage(format!(
                "cannot resize a dataset of shape {:?} to {dims:?}: the rank differs",
                d.space.dims
            )));
        }
        for (i, (&n, m)) in dims.iter().zip(&d.space.max_dims).enumerate() {
            if let Some(m) = m
                && n > *m
            {
                return Err(Error::usage(format!(
                    "unable to resize to {dims:?}: dimension {i} would be {n}, past its maximum {m}"
                )));
            }
        }
        if dims == d.space.dims.as_slice() {
            return Ok(());
        }
        let old = d.space.dims.clone();
        let es = d.dtype.size();
        let fill = d.fill_element();
        let LayoutM::Chunked(c) = &mut d.layout else {
            return Err(Error::usage(
                "only chunked datasets can be resized (give the dataset chunks or a maxshape)",
            ));
        };
        // chunks wholly outside go
        let outside: Vec<Vec<u64>> = c
            .chunks
            .keys()
            .filter(|k| {
                k.iter()
                    .zip(&c.dims)
                    .zip(dims)
                    .any(|((&s, &cd), &n)| s * cd >= n)
            })
            .cloned()
            .collect();
        for k in outside {
            if let Some(l) = c.chunks.remove(&k) {
                self.free_raw(owner, l.addr, l.size);
            }
        }
        // edge chunks cut by a shrink keep only what is inside
        let shrunk = dims.iter().zip(&old).any(|(n, o)| n < o);
        if shrunk {
            let cut: Vec<Vec<u64>> = c
                .chunks
                .keys()
                .filter(|k| {
                    k.iter()
                        .zip(&c.dims)
                        .zip(dims.iter().zip(&old))
                        .any(|((&s, &cd), (&n, &o))| n < o && (s + 1) * cd > n)
                })
                .cloned()
                .collect();
            let n_elem: u64 = c.dims.iter().product();
            for k in cut {
                let Some(l) = c.chunks.get(&k).copied() else {
                    continue;
                };
                let raw = self.space.read(l.addr, l.size as usize)?;
                let mut data =
                    decode_chunk(&d.filters, l.mask, &raw, n_elem as usize * es, es, &d.dtype)?;
                // everything of the chunk at or past the new extent: fill
                let origin: Vec<u64> = k.iter().zip(&c.dims).map(|(&s, &cd)| s * cd).collect();
                for dim in 0..dims.len() {
                    if origin[dim] + c.dims[dim] <= dims[dim] {
                        continue;
                    }
                    let start = dims[dim].saturating_sub(origin[dim]);
                    let mut sel = Selection::all(&c.dims);
                    sel.dims[dim] = DimSelection {
                        start,
                        step: 1,
                        count: c.dims[dim] - start,
                        keep: true,
                    };
                    let f = filled(&fill, sel.count() as usize);
                    scatter(&sel, &f, &vec![0; dims.len()], &c.dims, &mut data, es);
                }
                let enc = encode_chunk(&d.filters, &data, es, &d.dtype)?;
                self.free_raw(owner, l.addr, l.size);
                let a = self.space.allocate(enc.len() as u64);
                self.space.write(a, &enc)?;
                c.chunks.insert(
                    k,
                    ChunkLoc {
                        addr: a,
                        size: enc.len() as u64,
                        mask: 0,
                    },
                );
            }
        }
        c.index_dirty = true;
        d.space.dims = dims.to_vec();
        Ok(())
    }
}

/// What chunk filtering needs of a dataset.
struct Parts<'a> {
    filters: &'a [crate::format::filter_pipeline::FilterInfo],
    dtype: &'a crate::format::datatype::Datatype,
}

fn d_parts<'a>(
    filters: &'a [crate::format::filter_pipeline::FilterInfo],
    dtype: &'a crate::format::datatype::Datatype,
) -> Parts<'a> {
    Parts { filters, dtype }
}

/// Writes the elements of `sel` into contiguous storage at `base`, one
/// run of consecutive elements at a time.
fn write_runs(
    space: &super::space::Space,
    base: u64,
    sel: &Selection,
    bytes: &[u8],
    shape: &[u64],
    es: usize,
) -> Result<()> {
    let rank = shape.len();
    if rank == 0 {
        return space.write(base, bytes);
    }
    let st = strides(shape);
    let last = rank - 1;
    let ls = sel.dims[last];
    let mut k = vec![0u64; last];
    let mut pos = 0usize;
    loop {
        let mut off = ls.start * st[last];
        for d in 0..last {
            off += (sel.dims[d].start + k[d] * sel.dims[d].step) * st[d];
        }
        if ls.step == 1 {
            let n = ls.count as usize * es;
            space.write(base + off * es as u64, &bytes[pos..pos + n])?;
            pos += n;
        } else {
            for j in 0..ls.count {
                let o = off + j * ls.step;
                space.write(base + o * es as u64, &bytes[pos..pos + es])?;
                pos += es;
            }
        }
        let ends: Vec<u64> = sel.dims[..last].iter().map(|d| d.count).collect();
        if !next_index(&mut k, &vec![0; last], &ends) {
            return Ok(());
        }
    }
}

/// Writes the elements of `sel` into the chunks they touch: each chunk is
/// assembled (from its stored contents or the fill value when the
/// selection covers only part of it), the batch is filtered in parallel,
/// then stored in chunk order.
#[allow(clippy::too_many_arguments)]
fn write_chunks(
    st: &mut State,
    owner: u64,
    p: Parts<'_>,
    c: &mut ChunkedM,
    sel: &Selection,
    src: &[u8],
    shape: &[u64],
    es: usize,
    fill: &[u8],
) -> Result<()> {
    let rank = shape.len();
    let chunk_elems: u64 = c.dims.iter().product();
    let chunk_bytes = chunk_elems as usize * es;
    // chunk coordinate ranges touched along each dimension
    let mut lo = Vec::with_capacity(rank);
    let mut hi = Vec::with_capacity(rank);
    for (d, s) in sel.dims.iter().enumerate() {
        lo.push(s.start / c.dims[d]);
        hi.push((s.end() - 1) / c.dims[d]);
    }
    let ends: Vec<u64> = hi.iter().map(|h| h + 1).collect();
    let mut all: Vec<Vec<u64>> = Vec::new();
    let mut k = lo.clone();
    loop {
        let origin: Vec<u64> = k.iter().zip(&c.dims).map(|(&s, &cd)| s * cd).collect();
        // with a step, a chunk in the range may hold no selected element
        if sel
            .dims
            .iter()
            .enumerate()
            .all(|(d, s)| s.within(origin[d], origin[d] + c.dims[d]).is_some())
        {
            all.push(k.clone());
        }
        if !next_index(&mut k, &lo, &ends) {
            break;
        }
    }
    let per_batch = (BATCH_BYTES / chunk_bytes.max(1)).max(1);
    for batch in all.chunks(per_batch) {
        // assemble
        let mut raws: Vec<(Vec<u64>, Vec<u8>)> = Vec::with_capacity(batch.len());
        for coords in batch {
            let origin: Vec<u64> = coords.iter().zip(&c.dims).map(|(&s, &cd)| s * cd).collect();
            let mut block = if covers(sel, &origin, &c.dims, shape) {
                filled(fill, chunk_elems as usize)
            } else if let Some(l) = c.chunks.get(coords) {
                let raw = st.space.read(l.addr, l.size as usize)?;
                decode_chunk(p.filters, l.mask, &raw, chunk_bytes, es, p.dtype)?
            } else {
                filled(fill, chunk_elems as usize)
            };
            scatter(sel, src, &origin, &c.dims, &mut block, es);
            raws.push((coords.clone(), block));
        }
        // filter in parallel
        let encoded: Vec<Result<(Vec<u64>, Vec<u8>)>> = if p.filters.is_empty() {
            raws.into_iter().map(Ok).collect()
        } else {
            raws.into_par_iter()
                .map(|(k, b)| Ok((k, encode_chunk(p.filters, &b, es, p.dtype)?)))
                .collect()
        };
        // store in order
        for r in encoded {
            let (coords, bytes) = r?;
            let size = bytes.len() as u64;
            let addr = match c.chunks.get(&coords).map(|l| (l.addr, l.size)) {
                // rewritten in place when it fits and may be overwritten
                Some((a, s)) if s == size && st.raw_in_place(owner, a, s) => a,
                Some((a, s)) => {
                    st.free_raw(owner, a, s);
                    st.space.allocate(size)
                }
                None => st.space.allocate(size),
            };
            st.space.write(addr, &bytes)?;
            c.chunks.insert(
                coords,
                ChunkLoc {
                    addr,
                    size,
                    mask: 0,
                },
            );
        }
    }
    c.index_dirty = true;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The element-by-element reference of [`scatter`].
    fn naive(
        sel: &Selection,
        buf: &[u8],
        origin: &[u64],
        dims: &[u64],
        block: &mut [u8],
        es: usize,
    ) {
        let counts: Vec<u64> = sel.dims.iter().map(|d| d.count).collect();
        let total: u64 = counts.iter().product();
        for k in 0..total {
            // position in the selection, then in the dataset
            let mut rem = k;
            let mut idx = vec![0u64; counts.len()];
            for d in (0..counts.len()).rev() {
                idx[d] = rem % counts[d];
                rem /= counts[d];
            }
            let pos: Vec<u64> = idx
                .iter()
                .zip(&sel.dims)
                .map(|(&i, s)| s.start + i * s.step)
                .collect();
            if pos
                .iter()
                .zip(origin)
                .zip(dims)
                .all(|((&p, &o), &n)| p >= o && p < o + n)
            {
                let mut off = 0u64;
                for d in 0..dims.len() {
                    off = off * dims[d] + (pos[d] - origin[d]);
                }
                let (s, b) = (k as usize * es, off as usize * es);
                block[b..b + es].copy_from_slice(&buf[s..s + es]);
            }
        }
    }

    proptest! {
        #[test]
        fn scatter_places_every_selected_element_of_the_box(
            shape in prop::collection::vec(1u64..9, 1..=3),
            picks in prop::collection::vec((0u64..9, 1u64..4, 0u64..9), 3),
            boxes in prop::collection::vec((0u64..9, 1u64..6), 3),
            es in 1usize..4,
        ) {
            let rank = shape.len();
            let sel = Selection {
                dims: (0..rank)
                    .map(|d| {
                        let (start, step, count) = picks[d];
                        let start = start % shape[d];
                        let max = (shape[d] - start).div_ceil(step);
                        DimSelection { start, step, count: count % (max + 1), keep: true }
                    })
                    .collect(),
            };
            let origin: Vec<u64> = (0..rank).map(|d| boxes[d].0).collect();
            let dims: Vec<u64> = (0..rank).map(|d| boxes[d].1).collect();
            let n = sel.count() as usize;
            let buf: Vec<u8> = (0..n * es).map(|i| (i % 251) as u8 + 1).collect();
            let len = dims.iter().product::<u64>() as usize * es;
            let mut a = vec![0u8; len];
            let mut b = vec![0u8; len];
            scatter(&sel, &buf, &origin, &dims, &mut a, es);
            naive(&sel, &buf, &origin, &dims, &mut b, es);
            prop_assert_eq!(a, b);
        }
    }

    #[test]
    fn strides_are_row_major() {
        assert_eq!(strides(&[2, 3, 4]), vec![12, 4, 1]);
        assert_eq!(strides(&[5]), vec![1]);
    }
}
