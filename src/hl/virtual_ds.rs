//! Reading virtual datasets (layout class 3): elements mapped from other
//! datasets, in the same file or in others.
//!
//! Each mapping pairs a selection in the virtual dataset with a selection
//! in a source dataset; the n-th element of one is the n-th element of the
//! other, each selection taken in its own order (C order for hyperslabs,
//! listed order for points). A read starts from the fill value and copies
//! in, mapping by mapping, what the sources hold; a source file or dataset
//! that cannot be opened leaves its elements at the fill value, as libhdf5
//! does.
//!
//! ```text
//!   virtual dataset (6 x 8)            sources
//!   +--------+--------+
//!   | tile0  | tile1  |   rows 0..3    tile0 (3 x 4)  tile1 (3 x 4)
//!   +--------+--------+
//!   | tile2  | tile3  |   rows 3..6    tile2 (3 x 4)  tile3 (3 x 4)
//!   +--------+--------+
//! ```
//!
//! Unlimited mappings (a count or block of `H5S_UNLIMITED` along one
//! dimension) grow with their sources, and the dataset's current extent is
//! computed from them when it is opened, as libhdf5 does with its default
//! view (`H5D_VDS_LAST_AVAILABLE`, printf gap 0):
//!
//! - a mapping whose source selection is unlimited too takes as many
//!   elements along that dimension as the source's current extent holds;
//!   its virtual extent ends after the last element it maps;
//! - a mapping with a printf-style source name (`%b`: the block number,
//!   `%%`: a percent sign) maps block `i` of its virtual selection to the
//!   source named with `i`, for `i` = 0, 1, ... up to the first source that
//!   cannot be opened; its extent ends after the last block found;
//! - along that dimension the dataset's extent is the largest of these,
//!   but no less than the limited mappings need; other dimensions keep the
//!   stored extent.
//!
//! Source file names are resolved as libhdf5 does without a prefix set:
//! `.` is the virtual dataset's own file; an absolute name is tried first,
//! then its last component; a relative name is tried in the folder of the
//! virtual dataset's file, then as given (from the working directory).
//!
//! Source files and datasets are opened once per dataset handle and kept;
//! the extent and the printf sources found are fixed when the handle is
//! opened (libhdf5 looks again on every access).
//!
//! Virtual datasets whose sources are virtual again are read through; a
//! chain that comes back to a dataset being read (libhdf5 recurses until
//! it crashes) or nests deeper than [`MAX_NESTING`] is refused.
//!
//! What libhdf5 does, case by case: `spec-notes/virtual.md`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::dataset::Dataset;
use super::file::File;
use super::object::ObjectData;
use crate::array::convert::{Number, number};
use crate::array::selection::{DimSelection, Selection};
use crate::error::{Error, Result};
use crate::format::dataspace::{Dataspace, SpaceKind};
use crate::format::datatype::{ByteOrder, Datatype, FloatLayout};
use crate::format::vds::{EncodedSelection, Hyperslab, RegularDim, VirtualMapping};

/// Deepest chain of virtual datasets read through one another.
pub const MAX_NESTING: usize = 16;

/// Identity of the file of a virtual dataset being opened or read.
#[derive(Debug, Clone, PartialEq, Eq)]
enum FileKey {
    Path(PathBuf),
    Memory(usize),
}

thread_local! {
    static ACTIVE: RefCell<Vec<(FileKey, u64)>> = const { RefCell::new(Vec::new()) };
}

/// Marks a virtual dataset as being opened until dropped.
struct Active;

impl Drop for Active {
    fn drop(&mut self) {
        ACTIVE.with(|a| {
            a.borrow_mut().pop();
        });
    }
}

fn file_key(file: &File) -> FileKey {
    match file.path() {
        Some(p) => FileKey::Path(std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())),
        None => FileKey::Memory(Arc::as_ptr(&file.inner) as usize),
    }
}

/// Refuses `key` inside the chain `outer` when it is already there (a
/// cycle) or the chain is full.
fn check_nesting(outer: &[(FileKey, u64)], key: &(FileKey, u64)) -> Result<()> {
    if outer.contains(key) {
        return Err(Error::limit(format!(
            "virtual dataset at {:#x} maps to itself (directly or through other virtual datasets)",
            key.1
        )));
    }
    if outer.len() >= MAX_NESTING {
        return Err(Error::limit(format!(
            "virtual datasets nested more than {MAX_NESTING} deep"
        )));
    }
    Ok(())
}

/// Marks the virtual dataset at `addr` of `file` as being opened on this
/// thread (opening runs no thread pool work, so a thread-local record is
/// exact there).
fn enter(file: &File, addr: u64) -> Result<Active> {
    let key = (file_key(file), addr);
    ACTIVE.with(|a| {
        let mut a = a.borrow_mut();
        check_nesting(&a, &key)?;
        a.push(key);
        Ok(Active)
    })
}

/// How a mapping grows.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// Both selections are limited.
    Fixed,
    /// The virtual selection along `virt` and the source selection along
    /// `src` are unlimited.
    Unlimited { virt: usize, src: usize },
    /// Block `i` along `virt` comes from the source named with `i`.
    Printf { virt: usize, dim: RegularDim },
}

struct Mapping {
    raw: VirtualMapping,
    kind: Kind,
}

/// The mappings of one virtual dataset and the sources opened for it.
pub(crate) struct VirtualDataset {
    file: File,
    addr: u64,
    mappings: Vec<Mapping>,
    /// Per mapping: for printf mappings, how many sources (from block 0 on)
    /// were found when the dataset was opened.
    found: Vec<u64>,
    files: Mutex<HashMap<String, Option<File>>>,
    sources: Mutex<HashMap<(String, String), Option<Dataset>>>,
}

/// True when `name` holds a `%b` block-number specifier.
fn has_block(name: &str) -> bool {
    let b = name.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            match b.get(i + 1) {
                Some(b'b') => return true,
                Some(b'%') => i += 1,
                _ => {}
            }
        }
        i += 1;
    }
    false
}

/// `name` with `%b` replaced by `block` (kept when `None`) and `%%` by `%`.
fn expand(name: &str, block: Option<u64>) -> String {
    let mut out = String::with_capacity(name.len());
    let mut chars = name.chars().peekable();
    while let Some(ch) = chars.next() {
        if ch != '%' {
            out.push(ch);
            continue;
        }
        match (chars.peek(), block) {
            (Some('b'), Some(n)) => {
                chars.next();
                out.push_str(&n.to_string());
            }
            (Some('%'), _) => {
                chars.next();
                out.push('%');
            }
            _ => out.push('%'),
        }
    }
    out
}

/// Where libhdf5 looks for source file `name` of a virtual dataset in the
/// file at `vds_path`, in order.
fn candidates(vds_path: Option<&Path>, name: &str) -> Vec<PathBuf> {
    let given = Path::new(name);
    let mut out = Vec::new();
    let mut rel = given.to_path_buf();
    if given.is_absolute() {
        out.push(given.to_path_buf());
        match given.file_name() {
            Some(base) => rel = PathBuf::from(base),
            None => return out,
        }
    }
    if let Some(dir) = vds_path.and_then(|p| p.parent()) {
        out.push(dir.join(&rel));
    }
    out.push(rel);
    out
}

/// The indices one dimension of a selection takes: `len` of them, in
/// blocks of `block`, block `i` starting at `start + i * stride`.
///
/// Invariants (checked where an axis is made): `block >= 1`; `stride >=
/// block` when there is more than one block; the last index fits in u64.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Axis {
    start: u64,
    stride: u64,
    block: u64,
    len: u64,
}

impl Axis {
    fn empty() -> Axis {
        Axis {
            start: 0,
            stride: 1,
            block: 1,
            len: 0,
        }
    }

    /// `len` consecutive indices from `start` (one block).
    fn run(start: u64, len: u64) -> Axis {
        Axis {
            start,
            stride: len.max(1),
            block: len.max(1),
            len,
        }
    }

    /// Blocks of `block` every `stride`, the first `len` indices, checked.
    fn blocks(start: u64, stride: u64, block: u64, len: u64) -> Result<Axis> {
        if len == 0 || block == 0 {
            return Ok(Axis::empty());
        }
        if len <= block || stride == block {
            Axis::run(start, len).checked()
        } else {
            Axis {
                start,
                stride,
                block,
                len,
            }
            .checked()
        }
    }

    fn checked(self) -> Result<Axis> {
        if self.len > 0 {
            let k = self.len - 1;
            let last = (k / self.block)
                .checked_mul(self.stride)
                .and_then(|v| v.checked_add(self.start))
                .and_then(|v| v.checked_add(k % self.block));
            if last.is_none_or(|l| l == u64::MAX)
                || (self.len > self.block && self.stride < self.block)
            {
                return Err(Error::format_noaddr(
                    "virtual dataset mapping: selection runs past the largest index",
                ));
            }
        }
        Ok(self)
    }

    /// A limited regular hyperslab dimension (checked at decode time).
    fn regular(d: &RegularDim) -> Result<Axis> {
        let (Some(count), Some(block)) = (d.count, d.block) else {
            return Err(Error::format_noaddr(
                "virtual dataset mapping: unexpected unlimited dimension",
            ));
        };
        let len = count.checked_mul(block).ok_or_else(|| {
            Error::format_noaddr("virtual dataset mapping: selection size overflows")
        })?;
        Axis::blocks(
            d.start,
            if count > 1 { d.stride } else { block },
            block,
            len,
        )
    }

    /// The first `n` indices of an unlimited regular dimension.
    fn clipped(d: &RegularDim, n: u64) -> Result<Axis> {
        match (d.count, d.block) {
            (_, None) => Axis::run(d.start, n).checked(),
            (None, Some(block)) => Axis::blocks(d.start, d.stride, block, n),
            (Some(_), Some(_)) => Axis::regular(d),
        }
    }

    /// The `k`-th index (`k < len`).
    fn index(&self, k: u64) -> u64 {
        self.start + (k / self.block) * self.stride + k % self.block
    }

    /// One past the last index (`start` when empty).
    fn end(&self) -> u64 {
        if self.len == 0 {
            self.start
        } else {
            self.index(self.len - 1) + 1
        }
    }
}

/// How many indices of a regular dimension lie below `limit`.
fn count_below(d: &RegularDim, limit: u64) -> u64 {
    if limit <= d.start {
        return 0;
    }
    let span = limit - d.start;
    match (d.count, d.block) {
        (_, None) => span,
        (_, Some(0)) | (Some(0), _) => 0,
        (count, Some(block)) => {
            let stride = if count == Some(1) {
                block
            } else {
                d.stride.max(block)
            };
            // at most `span` since block <= stride
            let n = (span / stride) * block + (span % stride).min(block);
            match count {
                Some(c) => n.min(c.saturating_mul(block)),
                None => n,
            }
        }
    }
}

/// One past the `n`-th index of an unlimited regular dimension (0 for none).
fn extent_of(d: &RegularDim, n: u64) -> Result<u64> {
    if n == 0 {
        return Ok(0);
    }
    Ok(Axis::clipped(d, n)?.end())
}

/// A selection made concrete against an extent.
#[derive(Debug, Clone)]
enum Resolved {
    /// One axis per dimension: the product of their indices, in C order.
    Product(Vec<Axis>),
    /// Points in listed order (`rank` coordinates each).
    Points { rank: usize, coords: Vec<u64> },
    /// A union of blocks (`rank` starts then `rank` inclusive ends each).
    Blocks { rank: usize, blocks: Vec<u64> },
}

fn rank_mismatch(what: &str, got: usize, want: usize) -> Error {
    Error::format_noaddr(format!(
        "virtual dataset mapping: {what} selection has rank {got}, its dataset {want}"
    ))
}

/// Resolves `enc` against `extent`; the unlimited dimension (if any) is
/// cut to its first `clip.1` indices along dimension `clip.0`.
fn resolve(
    enc: &EncodedSelection,
    extent: &[u64],
    clip: Option<(usize, u64)>,
    what: &str,
) -> Result<Resolved> {
    let rank = extent.len();
    if let Some(r) = enc.rank()
        && r != rank
    {
        return Err(rank_mismatch(what, r, rank));
    }
    Ok(match enc {
        EncodedSelection::None => Resolved::Product(vec![Axis::empty(); rank.max(1)]),
        EncodedSelection::All => {
            Resolved::Product(extent.iter().map(|&n| Axis::run(0, n)).collect())
        }
        EncodedSelection::Points { rank, coords } => Resolved::Points {
            rank: *rank,
            coords: coords.clone(),
        },
        EncodedSelection::Hyperslab(Hyperslab::Irregular { rank, blocks }) => {
            match grid_axes(*rank, blocks) {
                Some(axes) => Resolved::Product(axes),
                None => Resolved::Blocks {
                    rank: *rank,
                    blocks: blocks.clone(),
                },
            }
        }
        EncodedSelection::Hyperslab(Hyperslab::Regular(dims)) => Resolved::Product(
            dims.iter()
                .enumerate()
                .map(|(i, d)| match clip {
                    Some((c, n)) if c == i && d.is_unlimited() => Axis::clipped(d, n),
                    _ => Axis::regular(d),
                })
                .collect::<Result<_>>()?,
        ),
    })
}

/// Common elements of `{a + i p : i < n}` and `{b + j q : j < m}` (`p`,
/// `q` >= 1) as (first, step, count); the step is 1 when count is 1.
fn ap_intersect(a: u64, p: u64, n: u64, b: u64, q: u64, m: u64) -> Option<(u64, u64, u64)> {
    if n == 0 || m == 0 || p == 0 || q == 0 {
        return None;
    }
    let (a, p, b, q) = (a as u128, p as u128, b as u128, q as u128);
    let hi = (a + (n as u128 - 1) * p).min(b + (m as u128 - 1) * q);
    let lo = a.max(b);
    if lo > hi {
        return None;
    }
    // a + p i = b (mod q)  <=>  p i = r (mod q)
    let r = (b % q + q - a % q) % q;
    let (g, inv) = gcd_inverse(p % q, q);
    if r % g != 0 {
        return None;
    }
    let qg = q / g;
    let i0 = if qg == 1 { 0 } else { (r / g) * inv % qg };
    let x0 = a + p * i0;
    let l = p / g * q;
    let first = if x0 >= lo {
        x0 - (x0 - lo) / l * l
    } else {
        x0.checked_add((lo - x0).div_ceil(l).checked_mul(l)?)?
    };
    if first > hi {
        return None;
    }
    let count = (hi - first) / l + 1;
    let step = if count == 1 { 1 } else { l as u64 };
    Some((first as u64, step, count as u64))
}

/// gcd(x, m) and the inverse of x / g modulo m / g (for `x < m`, `m >= 1`).
fn gcd_inverse(x: u128, m: u128) -> (u128, u128) {
    // extended Euclid on i128: the values stay below 2^64
    let (mut r0, mut r1) = (m as i128, x as i128);
    let (mut t0, mut t1) = (0i128, 1i128);
    while r1 != 0 {
        let qt = r0 / r1;
        (r0, r1) = (r1, r0 - qt * r1);
        (t0, t1) = (t1, t0 - qt * t1);
    }
    let g = r0 as u128;
    let mg = (m / g) as i128;
    let inv = if mg == 1 {
        0
    } else {
        t0.rem_euclid(mg) as u128
    };
    (g, inv)
}

/// Elements of one virtual axis that a read selects: virtual ranks
/// `k0 + t dk`, result positions `o0 + t dout`, for `t < n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Piece {
    k0: u64,
    dk: u64,
    o0: u64,
    dout: u64,
    n: u64,
}

/// The pieces of `axis` that the request `r` covers.
fn pieces(axis: &Axis, r: &DimSelection) -> Vec<Piece> {
    let mut out = Vec::new();
    if axis.len == 0 || r.count == 0 {
        return out;
    }
    if axis.block == 1 {
        if let Some((x0, step, n)) =
            ap_intersect(axis.start, axis.stride, axis.len, r.start, r.step, r.count)
        {
            out.push(Piece {
                k0: (x0 - axis.start) / axis.stride,
                dk: if n > 1 { step / axis.stride } else { 1 },
                o0: (x0 - r.start) / r.step,
                dout: if n > 1 { step / r.step } else { 1 },
                n,
            });
        }
        return out;
    }
    let nblocks = axis.len.div_ceil(axis.block);
    let r_end = r.end();
    if r_end <= axis.start {
        return out;
    }
    let i_lo = r.start.saturating_sub(axis.start) / axis.stride;
    let i_hi = ((r_end - 1 - axis.start) / axis.stride + 1).min(nblocks);
    if i_hi.saturating_sub(i_lo) <= r.count {
        for i in i_lo..i_hi {
            let b0 = axis.start + i * axis.stride;
            let bl = axis.block.min(axis.len - i * axis.block);
            if let Some((o0, x0, n)) = r.within(b0, b0 + bl) {
                out.push(Piece {
                    k0: i * axis.block + (x0 - b0),
                    dk: r.step,
                    o0,
                    dout: 1,
                    n,
                });
            }
        }
    } else {
        // fewer requested indices than blocks: test each of them
        for t in 0..r.count {
            let x = r.start + t * r.step;
            if x < axis.start {
                continue;
            }
            let (i, off) = (
                (x - axis.start) / axis.stride,
                (x - axis.start) % axis.stride,
            );
            let k = i.saturating_mul(axis.block).saturating_add(off);
            if off < axis.block && k < axis.len {
                out.push(Piece {
                    k0: k,
                    dk: 1,
                    o0: t,
                    dout: 1,
                    n: 1,
                });
            }
        }
    }
    out
}

/// Source indices `x0 + t dx` going to result positions `o0 + t dout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Run {
    x0: u64,
    dx: u64,
    o0: u64,
    dout: u64,
    n: u64,
}

/// Sends a piece of virtual ranks through the source axis `s` (of the
/// same length as the virtual axis).
fn through(p: &Piece, s: &Axis, out: &mut Vec<Run>) {
    if s.block == 1 || s.len <= s.block {
        let (x0, dx) = if s.block == 1 {
            (s.start + p.k0 * s.stride, p.dk * s.stride)
        } else {
            (s.start + p.k0, p.dk)
        };
        out.push(Run {
            x0,
            dx: dx.max(1),
            o0: p.o0,
            dout: p.dout,
            n: p.n,
        });
        return;
    }
    let mut t = 0;
    while t < p.n {
        let k = p.k0 + t * p.dk;
        let off = k % s.block;
        let m = ((s.block - 1 - off) / p.dk + 1).min(p.n - t);
        out.push(Run {
            x0: s.index(k),
            dx: p.dk,
            o0: p.o0 + t * p.dout,
            dout: p.dout,
            n: m,
        });
        t += m;
    }
}

/// Position of virtual coordinate `x` in the request along `r`.
fn position(r: &DimSelection, x: u64) -> Option<u64> {
    let off = x.checked_sub(r.start)?;
    if off % r.step != 0 {
        return None;
    }
    let pos = off / r.step;
    (pos < r.count).then_some(pos)
}

/// Calls `f(rank, coordinates)` for every element of `sel` in its order.
/// Returns the element count.
fn for_each(sel: &Resolved, f: &mut dyn FnMut(u64, &[u64])) -> u64 {
    let mut k = 0u64;
    match sel {
        Resolved::Product(axes) => {
            if axes.iter().any(|a| a.len == 0) {
                return 0;
            }
            let mut t = vec![0u64; axes.len()];
            let mut c: Vec<u64> = axes.iter().map(|a| a.index(0)).collect();
            loop {
                f(k, &c);
                k += 1;
                let mut d = axes.len();
                loop {
                    if d == 0 {
                        return k;
                    }
                    d -= 1;
                    t[d] += 1;
                    if t[d] < axes[d].len {
                        c[d] = axes[d].index(t[d]);
                        break;
                    }
                    t[d] = 0;
                    c[d] = axes[d].index(0);
                }
            }
        }
        Resolved::Points { rank, coords } => {
            for p in coords.chunks_exact((*rank).max(1)) {
                f(k, p);
                k += 1;
            }
            k
        }
        Resolved::Blocks { rank, blocks } => {
            let all: Vec<&[u64]> = blocks.chunks_exact(2 * rank).collect();
            let mut c = vec![0u64; *rank];
            blocks_walk(0, &all, &mut c, &mut k, f);
            k
        }
    }
}

/// C-order walk of the union of `blocks` (each `rank` starts then `rank`
/// inclusive ends) from dimension `d` on: a sweep along `d` keeps the set
/// of blocks covering each stretch, and recurses with it.
fn blocks_walk(
    d: usize,
    blocks: &[&[u64]],
    c: &mut Vec<u64>,
    k: &mut u64,
    f: &mut dyn FnMut(u64, &[u64]),
) {
    let rank = c.len();
    // (position, block index, entering): a block covers [start, end + 1)
    let mut events: Vec<(u64, usize, bool)> = Vec::with_capacity(2 * blocks.len());
    for (i, b) in blocks.iter().enumerate() {
        events.push((b[d], i, true));
        events.push((b[rank + d] + 1, i, false));
    }
    events.sort_unstable();
    let mut active = std::collections::BTreeSet::new();
    let mut e = 0;
    while e < events.len() {
        let lo = events[e].0;
        while e < events.len() && events[e].0 == lo {
            let (_, i, entering) = events[e];
            if entering {
                active.insert(i);
            } else {
                active.remove(&i);
            }
            e += 1;
        }
        let Some(&(hi, _, _)) = events.get(e) else {
            break;
        };
        if active.is_empty() {
            continue;
        }
        if d + 1 == rank {
            for x in lo..hi {
                c[d] = x;
                f(*k, c);
                *k += 1;
            }
        } else {
            let inner: Vec<&[u64]> = active.iter().map(|&i| blocks[i]).collect();
            for x in lo..hi {
                c[d] = x;
                blocks_walk(d + 1, &inner, c, k, f);
            }
        }
    }
}

/// The blocks as one axis per dimension when they form a regular grid
/// (libhdf5 stores every hyperslab as a block list in version 1
/// selections, and finds the regular ones again when it reads them).
fn grid_axes(rank: usize, blocks: &[u64]) -> Option<Vec<Axis>> {
    let mut all: Vec<&[u64]> = blocks.chunks_exact(2 * rank).collect();
    all.sort_unstable();
    all.dedup();
    if all.is_empty() {
        return Some(vec![Axis::empty(); rank]);
    }
    let mut axes = Vec::with_capacity(rank);
    let mut cells = 1usize;
    for d in 0..rank {
        let mut iv: Vec<(u64, u64)> = all.iter().map(|b| (b[d], b[rank + d])).collect();
        iv.sort_unstable();
        iv.dedup();
        let len = iv[0].1 - iv[0].0 + 1;
        let stride = iv.get(1).map_or(len, |b| b.0 - iv[0].0);
        let regular = iv.iter().enumerate().all(|(i, &(s, e))| {
            e - s + 1 == len
                && (i as u64)
                    .checked_mul(stride)
                    .and_then(|o| o.checked_add(iv[0].0))
                    == Some(s)
        });
        if !regular || stride < len {
            return None;
        }
        cells = cells.checked_mul(iv.len())?;
        let total = (iv.len() as u64).checked_mul(len)?;
        axes.push(Axis::blocks(iv[0].0, stride, len, total).ok()?);
    }
    (cells == all.len()).then_some(axes)
}

/// Most elements a selection may hold, or an error past `limit`.
fn element_bound(sel: &Resolved, limit: u64) -> Result<u64> {
    let n = match sel {
        Resolved::Product(a) => a.iter().try_fold(1u64, |acc, a| acc.checked_mul(a.len)),
        Resolved::Points { rank, coords } => Some((coords.len() / (*rank).max(1)) as u64),
        Resolved::Blocks { rank, blocks } => {
            blocks.chunks_exact(2 * rank).try_fold(0u64, |acc, b| {
                let v = (0..*rank).try_fold(1u64, |v, i| v.checked_mul(b[rank + i] - b[i] + 1))?;
                acc.checked_add(v)
            })
        }
    };
    n.filter(|&n| n <= limit).ok_or_else(|| {
        Error::limit("virtual dataset mapping selects more elements than the read limit")
    })
}

/// A numeric element converted to `dst` as libhdf5's conversions do (on
/// x86-64: integers clamp, floats truncate toward zero and clamp, NaN
/// becomes what the hardware conversion gives).
fn encode_number(v: Number, dst: &Datatype, out: &mut [u8]) -> Result<()> {
    match dst {
        Datatype::Integer {
            size,
            order,
            signed,
            bit_offset: 0,
            precision,
        } if matches!(size, 1 | 2 | 4 | 8) && *precision as u32 == size * 8 => {
            let bits = size * 8;
            let bytes = if *signed {
                let (min, max) = (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1);
                let x: i128 = match v {
                    Number::Int(i) => (i as i128).clamp(min, max),
                    Number::UInt(u) => (u as i128).min(max),
                    Number::Float(f) if f.is_nan() => match size {
                        4 => i32::MIN as i128,
                        8 => i64::MIN as i128,
                        _ => 0,
                    },
                    Number::Float(f) => {
                        if f > max as f64 {
                            max
                        } else if f < min as f64 {
                            min
                        } else {
                            f as i128
                        }
                    }
                };
                (x as i64).to_le_bytes()
            } else {
                let max: u128 = (1u128 << bits) - 1;
                let x: u128 = match v {
                    Number::Int(i) => (i.max(0) as u128).min(max),
                    Number::UInt(u) => (u as u128).min(max),
                    Number::Float(f) if f.is_nan() => {
                        if *size == 8 {
                            1 << 63
                        } else {
                            0
                        }
                    }
                    Number::Float(f) => {
                        if f > max as f64 {
                            max
                        } else if f < 0.0 {
                            0
                        } else {
                            f as u128
                        }
                    }
                };
                (x as u64).to_le_bytes()
            };
            put(&bytes[..*size as usize], *order, out);
            Ok(())
        }
        Datatype::Float {
            size: 4,
            order,
            layout,
        } if *layout == FloatLayout::F32 => {
            let f = match v {
                Number::Int(i) => i as f32,
                Number::UInt(u) => u as f32,
                Number::Float(f) => f as f32,
            };
            put(&f.to_le_bytes(), *order, out);
            Ok(())
        }
        Datatype::Float {
            size: 8,
            order,
            layout,
        } if *layout == FloatLayout::F64 => {
            let f = match v {
                Number::Int(i) => i as f64,
                Number::UInt(u) => u as f64,
                Number::Float(f) => f,
            };
            put(&f.to_le_bytes(), *order, out);
            Ok(())
        }
        _ => Err(Error::unsupported(
            "converting virtual dataset source elements to this datatype",
        )),
    }
}

/// Writes little-endian `le` into `out` in byte order `order`.
fn put(le: &[u8], order: ByteOrder, out: &mut [u8]) {
    match order {
        ByteOrder::Little => out.copy_from_slice(le),
        ByteOrder::Big => {
            for (o, b) in out.iter_mut().zip(le.iter().rev()) {
                *o = *b;
            }
        }
    }
}

fn is_numeric(dt: &Datatype) -> bool {
    matches!(dt, Datatype::Integer { .. } | Datatype::Float { .. })
}

/// What one read needs to know about its destination.
struct Dest<'a> {
    sel: &'a Selection,
    /// Elements between consecutive positions of each dimension of `out`.
    ostride: Vec<u64>,
    dtype: &'a Datatype,
    es: usize,
    out: &'a mut [u8],
    limit: u64,
    /// The virtual datasets being read, outermost first, this one last.
    chain: &'a [(FileKey, u64)],
}

impl Dest<'_> {
    /// Result position (in elements) of a virtual coordinate, if requested.
    fn offset(&self, c: &[u64]) -> Option<u64> {
        let mut off = 0u64;
        for ((r, &x), &st) in self.sel.dims.iter().zip(c).zip(&self.ostride) {
            off += position(r, x)? * st;
        }
        Some(off)
    }

    /// Source elements of `src` in `raw`, converted to the virtual type.
    fn convert(&self, src: &Dataset, raw: Vec<u8>) -> Result<Vec<u8>> {
        let from = src.dtype();
        if from == self.dtype {
            return Ok(raw);
        }
        if !(is_numeric(from) && is_numeric(self.dtype)) {
            return Err(Error::unsupported(format!(
                "virtual dataset source {:?} has a datatype that differs from the virtual dataset's",
                src.name()
            )));
        }
        let (fs, ts) = (from.size(), self.es);
        if fs == 0 {
            return Err(Error::format_noaddr("source element size 0"));
        }
        let n = raw.len() / fs;
        let mut out = vec![0u8; n * ts];
        for (s, d) in raw.chunks_exact(fs).zip(out.chunks_exact_mut(ts)) {
            encode_number(number(from, s)?, self.dtype, d)?;
        }
        Ok(out)
    }

    fn put(&mut self, elem: u64, bytes: &[u8]) {
        let at = elem as usize * self.es;
        if let Some(d) = self.out.get_mut(at..at + bytes.len()) {
            d.copy_from_slice(bytes);
        }
    }
}

/// Reads `sel` of `src` converted to the virtual type. A virtual source is
/// read here with the chain of virtual datasets being read, which catches
/// cycles (a thread-local record would not do: the chunk decoding of a
/// source runs on a thread pool, whose threads may meanwhile run unrelated
/// reads).
fn read_source(src: &Dataset, sel: &Selection, dest: &Dest) -> Result<Vec<u8>> {
    let raw = match src.virtual_dataset() {
        None => src.read_raw_selection(sel)?,
        Some(v) => {
            let dims = &src.space().dims;
            sel.check(dims)?;
            let es = src.dtype().size();
            let n = sel
                .count()
                .checked_mul(es as u64)
                .filter(|&n| n <= dest.limit)
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(|| {
                    Error::limit(format!(
                        "reading {} elements of {es} bytes from a virtual dataset's source \
                         is over the read limit of {} bytes (Limits::max_read_bytes)",
                        sel.count(),
                        dest.limit
                    ))
                })?;
            let fill = src.fill_bytes()?;
            let mut buf = vec![0u8; n];
            v.read_in(dims, src.dtype(), &fill, sel, &mut buf, dest.chain)?;
            buf
        }
    };
    dest.convert(src, raw)
}

impl VirtualDataset {
    /// Decodes the mappings of the dataset `data` (layout message pointing
    /// at global heap object `index` of the collection at `address`) and,
    /// when some mapping is unlimited, sets `space` to the current extent
    /// its sources give.
    pub(crate) fn open(
        data: &ObjectData,
        address: Option<u64>,
        index: u32,
        space: &mut Dataspace,
    ) -> Result<VirtualDataset> {
        let file = data.file.clone();
        let raw = match address {
            None => Vec::new(),
            Some(a) => {
                let sizes = file.inner.ctx().sizes;
                let obj = file.global_heap_object(a, index)?;
                VirtualMapping::decode_block(obj, a, sizes)?
            }
        };
        let rank = space.dims.len();
        let mut mappings = Vec::with_capacity(raw.len());
        for (i, m) in raw.into_iter().enumerate() {
            let err =
                |w: &str| Error::format(format!("virtual dataset mapping {i}: {w}"), data.addr);
            if let Some(r) = m.virtual_selection.rank()
                && r != rank
            {
                return Err(err(&format!(
                    "virtual selection of rank {r} in a dataset of rank {rank}"
                )));
            }
            let printf = has_block(&m.source_file) || has_block(&m.source_dataset);
            let kind = match (
                m.virtual_selection.unlimited_dim(),
                m.source_selection.unlimited_dim(),
            ) {
                (None, None) => Kind::Fixed,
                (Some(virt), Some(src)) => Kind::Unlimited { virt, src },
                (Some(virt), None) if printf => {
                    let dim = match &m.virtual_selection {
                        EncodedSelection::Hyperslab(Hyperslab::Regular(d)) => d[virt],
                        _ => return Err(err("unlimited selection is not regular")),
                    };
                    if dim.count.is_some() {
                        return Err(err("printf-style mapping with an unlimited block"));
                    }
                    Kind::Printf { virt, dim }
                }
                (Some(_), None) => {
                    return Err(err(
                        "unlimited virtual selection with a limited source selection and no %b in the source name",
                    ));
                }
                (None, Some(_)) => {
                    return Err(err(
                        "unlimited source selection with a limited virtual selection",
                    ));
                }
            };
            mappings.push(Mapping { raw: m, kind });
        }
        let mut v = VirtualDataset {
            found: vec![0; mappings.len()],
            file,
            addr: data.addr,
            mappings,
            files: Mutex::new(HashMap::new()),
            sources: Mutex::new(HashMap::new()),
        };
        if space.kind == SpaceKind::Simple
            && v.mappings.iter().any(|m| !matches!(m.kind, Kind::Fixed))
        {
            let _active = enter(&v.file, v.addr)?;
            space.dims = v.current_extent(&space.dims)?;
        }
        Ok(v)
    }

    /// The extent the sources give (see the module docs); records how many
    /// printf sources were found.
    fn current_extent(&mut self, stored: &[u64]) -> Result<Vec<u64>> {
        let rank = stored.len();
        let mut min = vec![0u64; rank];
        let mut grown: Vec<Option<u64>> = vec![None; rank];
        for i in 0..self.mappings.len() {
            let (kind, vsel) = (
                self.mappings[i].kind,
                &self.mappings[i].raw.virtual_selection,
            );
            let skip = match kind {
                Kind::Fixed => None,
                Kind::Unlimited { virt, .. } | Kind::Printf { virt, .. } => Some(virt),
            };
            for (d, b) in selection_bounds(vsel, stored).into_iter().enumerate() {
                if Some(d) != skip
                    && let (Some(b), Some(m)) = (b, min.get_mut(d))
                {
                    *m = (*m).max(b);
                }
            }
            let (virt, size) = match kind {
                Kind::Fixed => continue,
                Kind::Unlimited { virt, src } => {
                    let m = &self.mappings[i].raw;
                    let (fname, dname) = (
                        expand(&m.source_file, None),
                        expand(&m.source_dataset, None),
                    );
                    let n = match self.source(&fname, &dname)? {
                        Some(ds) => {
                            let sdims = &ds.space().dims;
                            let sd = unlimited_regular(&m.source_selection, src)?;
                            match sdims.get(src) {
                                Some(&ext) if m.source_selection.rank() == Some(sdims.len()) => {
                                    count_below(&sd, ext)
                                }
                                _ => {
                                    return Err(rank_mismatch(
                                        "source",
                                        m.source_selection.rank().unwrap_or(0),
                                        sdims.len(),
                                    ));
                                }
                            }
                        }
                        None => 0,
                    };
                    let vd = unlimited_regular(&m.virtual_selection, virt)?;
                    (virt, extent_of(&vd, n)?)
                }
                Kind::Printf { virt, dim } => {
                    let mut j = 0u64;
                    loop {
                        if block_start(&dim, j).is_none() {
                            break;
                        }
                        let m = &self.mappings[i].raw;
                        let (fname, dname) = (
                            expand(&m.source_file, Some(j)),
                            expand(&m.source_dataset, Some(j)),
                        );
                        if self.source(&fname, &dname)?.is_none() {
                            break;
                        }
                        j += 1;
                    }
                    self.found[i] = j;
                    let size = match j.checked_sub(1) {
                        None => 0,
                        Some(last) => block_start(&dim, last)
                            .and_then(|s| s.checked_add(dim.block.unwrap_or(0)))
                            .ok_or_else(|| {
                                Error::format_noaddr("virtual dataset mapping: extent overflows")
                            })?,
                    };
                    (virt, size)
                }
            };
            if let Some(g) = grown.get_mut(virt) {
                *g = Some(g.unwrap_or(0).max(size));
            }
        }
        Ok((0..rank)
            .map(|d| match grown[d] {
                Some(g) => g.max(min[d]),
                None => stored[d],
            })
            .collect())
    }

    /// The source file called `name`, opened once per virtual dataset.
    fn source_file(&self, name: &str) -> Option<File> {
        if name == "." {
            return Some(self.file.clone());
        }
        if let Some(hit) = self.files.lock().ok()?.get(name) {
            return hit.clone();
        }
        let limits = self.file.inner.ctx().limits;
        let f = candidates(self.file.path(), name)
            .into_iter()
            .find_map(|p| File::open_with_limits(&p, limits).ok());
        if let Ok(mut g) = self.files.lock() {
            g.insert(name.to_string(), f.clone());
        }
        f
    }

    /// The source dataset `dset` of file `fname`, `None` when either cannot
    /// be opened.
    ///
    /// # Errors
    /// `LimitsExceeded` when the source leads back to a virtual dataset
    /// being opened or read, or nests too deep.
    fn source(&self, fname: &str, dset: &str) -> Result<Option<Dataset>> {
        let key = (fname.to_string(), dset.to_string());
        if let Ok(g) = self.sources.lock()
            && let Some(hit) = g.get(&key)
        {
            return Ok(hit.clone());
        }
        let ds = match self.source_file(fname) {
            None => None,
            Some(f) => match f.dataset(dset) {
                Ok(d) => Some(d),
                Err(e @ Error::LimitsExceeded(_)) => return Err(e),
                Err(_) => None,
            },
        };
        if let Ok(mut g) = self.sources.lock() {
            g.insert(key, ds.clone());
        }
        Ok(ds)
    }

    /// Reads the elements `sel` selects of the virtual dataset of extent
    /// `dims` and type `dtype` into `out` (C order), unmapped elements
    /// taking `fill`.
    pub(crate) fn read(
        &self,
        dims: &[u64],
        dtype: &Datatype,
        fill: &[u8],
        sel: &Selection,
        out: &mut [u8],
    ) -> Result<()> {
        self.read_in(dims, dtype, fill, sel, out, &[])
    }

    /// As [`VirtualDataset::read`], inside the virtual datasets `outer`
    /// being read.
    fn read_in(
        &self,
        dims: &[u64],
        dtype: &Datatype,
        fill: &[u8],
        sel: &Selection,
        out: &mut [u8],
        outer: &[(FileKey, u64)],
    ) -> Result<()> {
        let es = dtype.size();
        if es == 0 || fill.len() != es {
            return Err(Error::format(
                "virtual dataset: element size does not match its fill value",
                self.addr,
            ));
        }
        for d in out.chunks_exact_mut(es) {
            d.copy_from_slice(fill);
        }
        if sel.count() == 0 || self.mappings.is_empty() {
            return Ok(());
        }
        let key = (file_key(&self.file), self.addr);
        check_nesting(outer, &key)?;
        let mut chain = outer.to_vec();
        chain.push(key);
        let mut ostride = vec![1u64; sel.dims.len()];
        for d in (0..sel.dims.len().saturating_sub(1)).rev() {
            ostride[d] = ostride[d + 1] * sel.dims[d + 1].count;
        }
        let limit = self.file.inner.ctx().limits.max_read_bytes;
        let mut dest = Dest {
            sel,
            ostride,
            dtype,
            es,
            out,
            limit,
            chain: &chain,
        };
        for (i, m) in self.mappings.iter().enumerate() {
            self.read_mapping(i, m, dims, &mut dest)
                .map_err(|e| e.context(&format!("virtual dataset mapping {i}")))?;
        }
        Ok(())
    }

    fn read_mapping(&self, i: usize, m: &Mapping, dims: &[u64], dest: &mut Dest) -> Result<()> {
        let raw = &m.raw;
        match m.kind {
            Kind::Fixed => {
                let (f, d) = (
                    expand(&raw.source_file, None),
                    expand(&raw.source_dataset, None),
                );
                let Some(src) = self.source(&f, &d)? else {
                    return Ok(());
                };
                let v = resolve(&raw.virtual_selection, dims, None, "virtual")?;
                let s = resolve_source(&raw.source_selection, &src, None)?;
                self.transfer(&v, &s, &src, dest)
            }
            Kind::Unlimited { virt, src: sdim } => {
                let (f, d) = (
                    expand(&raw.source_file, None),
                    expand(&raw.source_dataset, None),
                );
                let Some(src) = self.source(&f, &d)? else {
                    return Ok(());
                };
                let sreg = unlimited_regular(&raw.source_selection, sdim)?;
                let ext = src.space().dims.get(sdim).copied().unwrap_or(0);
                let n = count_below(&sreg, ext);
                let v = resolve(&raw.virtual_selection, dims, Some((virt, n)), "virtual")?;
                let s = resolve_source(&raw.source_selection, &src, Some((sdim, n)))?;
                self.transfer(&v, &s, &src, dest)
            }
            Kind::Printf { virt, dim } => {
                let (Some(r), Some(block)) = (dest.sel.dims.get(virt).copied(), dim.block) else {
                    return Ok(());
                };
                if block == 0 || r.count == 0 {
                    return Ok(());
                }
                // blocks j overlapping the requested range along `virt`
                let stride = dim.stride.max(block);
                let (lo, hi) = (r.start, r.end());
                let j_lo = if lo < dim.start + block {
                    0
                } else {
                    (lo - dim.start - block) / stride + 1
                };
                let j_hi = if hi <= dim.start {
                    0
                } else {
                    (hi - 1 - dim.start) / stride + 1
                };
                for j in j_lo..j_hi.min(self.found[i]) {
                    let (f, d) = (
                        expand(&raw.source_file, Some(j)),
                        expand(&raw.source_dataset, Some(j)),
                    );
                    let Some(src) = self.source(&f, &d)? else {
                        continue;
                    };
                    let EncodedSelection::Hyperslab(Hyperslab::Regular(vdims)) =
                        &raw.virtual_selection
                    else {
                        return Ok(());
                    };
                    let axes = vdims
                        .iter()
                        .enumerate()
                        .map(|(k, d)| {
                            if k == virt {
                                let s = block_start(&dim, j)
                                    .ok_or_else(|| Error::format_noaddr("block start overflows"))?;
                                Axis::run(s, block).checked()
                            } else {
                                Axis::regular(d)
                            }
                        })
                        .collect::<Result<Vec<_>>>()?;
                    let v = Resolved::Product(axes);
                    let s = resolve_source(&raw.source_selection, &src, None)?;
                    self.transfer(&v, &s, &src, dest)
                        .map_err(|e| e.context(&format!("source {f:?} {d:?}")))?;
                }
                Ok(())
            }
        }
    }

    /// Copies the elements of source `src` that `s` selects to the
    /// positions of `v` that the read requests.
    fn transfer(&self, v: &Resolved, s: &Resolved, src: &Dataset, dest: &mut Dest) -> Result<()> {
        if !Arc::ptr_eq(&src.data.file.inner, &self.file.inner)
            && (dest.dtype.has_vlen() || has_reference(dest.dtype))
        {
            return Err(Error::unsupported(
                "virtual dataset sources in other files holding variable-length data or references",
            ));
        }
        let nv = element_bound(v, dest.limit)?;
        let ns = element_bound(s, dest.limit)?;
        if let (Resolved::Product(va), Resolved::Product(sa)) = (v, s) {
            if nv != ns {
                return Err(count_mismatch(nv, ns));
            }
            if nv == 0 {
                return Ok(());
            }
            let vl: Vec<u64> = va.iter().map(|a| a.len).filter(|&l| l != 1).collect();
            let sl: Vec<u64> = sa.iter().map(|a| a.len).filter(|&l| l != 1).collect();
            if vl == sl {
                let sdims = &src.space().dims;
                for (a, &n) in sa.iter().zip(sdims) {
                    if a.end() > n {
                        return Err(out_of_extent(src));
                    }
                }
                return product_transfer(va, sa, src, dest);
            }
        }
        general_transfer(v, s, src, dest)
    }
}

fn has_reference(dt: &Datatype) -> bool {
    match dt {
        Datatype::Reference { .. } => true,
        Datatype::Compound { members, .. } => members.iter().any(|m| has_reference(&m.dtype)),
        Datatype::Array { base, .. } | Datatype::VarLen { base, .. } => has_reference(base),
        _ => false,
    }
}

fn count_mismatch(nv: u64, ns: u64) -> Error {
    Error::format_noaddr(format!(
        "the virtual selection has {nv} elements, the source selection {ns}"
    ))
}

fn out_of_extent(src: &Dataset) -> Error {
    Error::format_noaddr(format!(
        "the source selection lies outside source dataset {:?} (shape {:?})",
        src.name(),
        src.shape()
    ))
}

/// The regular description of unlimited dimension `d` of `enc`.
fn unlimited_regular(enc: &EncodedSelection, d: usize) -> Result<RegularDim> {
    match enc {
        EncodedSelection::Hyperslab(Hyperslab::Regular(dims)) => dims.get(d).copied(),
        _ => None,
    }
    .ok_or_else(|| Error::format_noaddr("virtual dataset mapping: no unlimited dimension"))
}

/// Start of block `j` of an unlimited dimension, `None` on overflow.
fn block_start(d: &RegularDim, j: u64) -> Option<u64> {
    j.checked_mul(d.stride)?.checked_add(d.start)
}

/// Per dimension, one past the largest index `enc` selects (`None` for
/// unlimited dimensions and empty selections).
fn selection_bounds(enc: &EncodedSelection, extent: &[u64]) -> Vec<Option<u64>> {
    let rank = extent.len();
    match enc {
        EncodedSelection::None => vec![None; rank],
        EncodedSelection::All => extent.iter().map(|&n| Some(n)).collect(),
        EncodedSelection::Points { rank: r, coords } => (0..*r)
            .map(|d| {
                coords
                    .iter()
                    .skip(d)
                    .step_by((*r).max(1))
                    .max()
                    .map(|m| m.saturating_add(1))
            })
            .collect(),
        EncodedSelection::Hyperslab(Hyperslab::Irregular { rank: r, blocks }) => (0..*r)
            .map(|d| {
                blocks
                    .chunks_exact(2 * r)
                    .map(|b| b[r + d])
                    .max()
                    .map(|m| m.saturating_add(1))
            })
            .collect(),
        EncodedSelection::Hyperslab(Hyperslab::Regular(dims)) => dims
            .iter()
            .map(|d| d.end().filter(|&e| e > d.start))
            .collect(),
    }
}

/// `enc` resolved against source `src` (a null dataspace selects nothing).
fn resolve_source(
    enc: &EncodedSelection,
    src: &Dataset,
    clip: Option<(usize, u64)>,
) -> Result<Resolved> {
    if src.is_null() {
        return Ok(Resolved::Product(vec![Axis::empty()]));
    }
    resolve(enc, &src.space().dims, clip, "source")
}

/// Both selections are products whose non-unit axes have equal lengths in
/// the same order: dimensions pair up, and each combination of runs is one
/// regular read of the source.
fn product_transfer(va: &[Axis], sa: &[Axis], src: &Dataset, dest: &mut Dest) -> Result<()> {
    let mut base = 0u64;
    let mut vpaired = Vec::new();
    for (d, a) in va.iter().enumerate() {
        let r = &dest.sel.dims[d];
        if a.len == 1 {
            match position(r, a.start) {
                Some(p) => base += p * dest.ostride[d],
                None => return Ok(()),
            }
        } else {
            vpaired.push(d);
        }
    }
    let spaired: Vec<usize> = (0..sa.len()).filter(|&e| sa[e].len != 1).collect();
    // runs per paired dimension
    let mut runs: Vec<Vec<Run>> = Vec::with_capacity(vpaired.len());
    for (&vd, &sd) in vpaired.iter().zip(&spaired) {
        let mut r = Vec::new();
        for p in pieces(&va[vd], &dest.sel.dims[vd]) {
            through(&p, &sa[sd], &mut r);
        }
        if r.is_empty() {
            return Ok(());
        }
        runs.push(r);
    }
    let mut pick = vec![0usize; runs.len()];
    loop {
        let mut ssel = Selection {
            dims: sa
                .iter()
                .map(|a| DimSelection {
                    start: a.start,
                    step: 1,
                    count: 1,
                    keep: true,
                })
                .collect(),
        };
        let chosen: Vec<Run> = pick.iter().zip(&runs).map(|(&i, r)| r[i]).collect();
        for (run, &sd) in chosen.iter().zip(&spaired) {
            ssel.dims[sd] = DimSelection {
                start: run.x0,
                step: run.dx,
                count: run.n,
                keep: true,
            };
        }
        let bytes = read_source(src, &ssel, dest)?;
        scatter(&chosen, &vpaired, base, &bytes, dest);
        // next combination
        let mut d = runs.len();
        loop {
            if d == 0 {
                return Ok(());
            }
            d -= 1;
            pick[d] += 1;
            if pick[d] < runs[d].len() {
                break;
            }
            pick[d] = 0;
        }
    }
}

/// Puts the C-order elements `bytes` of the runs `chosen` (one per paired
/// virtual dimension `vdims`) at their result positions.
fn scatter(chosen: &[Run], vdims: &[usize], base: u64, bytes: &[u8], dest: &mut Dest) {
    let es = dest.es;
    let Some((last, outer)) = chosen.split_last() else {
        dest.put(base, bytes.get(..es).unwrap_or(&[]));
        return;
    };
    let last_stride = dest.ostride[vdims[vdims.len() - 1]];
    let contiguous = last.dout * last_stride == 1;
    let row = last.n as usize * es;
    let mut t = vec![0u64; outer.len()];
    let mut pos = 0usize;
    loop {
        let mut off = base;
        for ((run, &ti), &vd) in outer.iter().zip(&t).zip(vdims) {
            off += (run.o0 + ti * run.dout) * dest.ostride[vd];
        }
        let Some(src_row) = bytes.get(pos..pos + row) else {
            return;
        };
        if contiguous {
            dest.put(off + last.o0 * last_stride, src_row);
        } else {
            for (u, e) in src_row.chunks_exact(es).enumerate() {
                dest.put(off + (last.o0 + u as u64 * last.dout) * last_stride, e);
            }
        }
        pos += row;
        let mut d = outer.len();
        loop {
            if d == 0 {
                return;
            }
            d -= 1;
            t[d] += 1;
            if t[d] < outer[d].n {
                break;
            }
            t[d] = 0;
        }
    }
}

/// Any other pairing: walk both selections in order, keep the requested
/// elements, and read the source coordinates they need.
fn general_transfer(v: &Resolved, s: &Resolved, src: &Dataset, dest: &mut Dest) -> Result<()> {
    // (virtual rank, result offset) of the requested elements, by rank
    let mut wanted: Vec<(u64, u64)> = Vec::new();
    let nv = for_each(v, &mut |k, c| {
        if let Some(off) = dest.offset(c) {
            wanted.push((k, off));
        }
    });
    let srank = src.space().dims.len();
    let mut coords: Vec<u64> = Vec::with_capacity(wanted.len() * srank);
    let mut next = 0usize;
    let ns = for_each(s, &mut |k, c| {
        if wanted.get(next).is_some_and(|w| w.0 == k) {
            coords.extend_from_slice(c);
            next += 1;
        }
    });
    if nv != ns {
        return Err(count_mismatch(nv, ns));
    }
    if wanted.is_empty() {
        return Ok(());
    }
    let sdims = src.space().dims.clone();
    let pts: Vec<&[u64]> = if srank == 0 {
        vec![&[][..]; wanted.len()]
    } else {
        coords.chunks_exact(srank).collect()
    };
    if pts
        .iter()
        .any(|p| p.iter().zip(&sdims).any(|(x, n)| x >= n))
    {
        return Err(out_of_extent(src));
    }
    // the bounding box of what is needed, unless it is much larger
    let lo: Vec<u64> = (0..srank)
        .map(|d| pts.iter().map(|p| p[d]).min().unwrap_or(0))
        .collect();
    let hi: Vec<u64> = (0..srank)
        .map(|d| pts.iter().map(|p| p[d]).max().unwrap_or(0))
        .collect();
    let boxed = lo
        .iter()
        .zip(&hi)
        .try_fold(1u64, |a, (l, h)| a.checked_mul(h - l + 1));
    let es = dest.es;
    if boxed.is_some_and(|b| b <= (4 * pts.len() as u64).max(1 << 16)) {
        let sel = Selection {
            dims: lo
                .iter()
                .zip(&hi)
                .map(|(&l, &h)| DimSelection {
                    start: l,
                    step: 1,
                    count: h - l + 1,
                    keep: true,
                })
                .collect(),
        };
        let bytes = read_source(src, &sel, dest)?;
        for (p, &(_, off)) in pts.iter().zip(&wanted) {
            let mut idx = 0u64;
            for d in 0..srank {
                idx = idx * (hi[d] - lo[d] + 1) + (p[d] - lo[d]);
            }
            let at = idx as usize * es;
            if let Some(e) = bytes.get(at..at + es) {
                dest.put(off, e);
            }
        }
        return Ok(());
    }
    // else row by row (points sharing all but the last coordinate)
    let mut order: Vec<usize> = (0..pts.len()).collect();
    order.sort_by(|&a, &b| pts[a].cmp(pts[b]));
    let last = srank - 1;
    let mut i = 0;
    while i < order.len() {
        let head = &pts[order[i]][..last];
        let mut j = i;
        while j < order.len() && &pts[order[j]][..last] == head {
            j += 1;
        }
        let (l, h) = (pts[order[i]][last], pts[order[j - 1]][last]);
        let mut dims: Vec<DimSelection> = head
            .iter()
            .map(|&x| DimSelection {
                start: x,
                step: 1,
                count: 1,
                keep: true,
            })
            .collect();
        dims.push(DimSelection {
            start: l,
            step: 1,
            count: h - l + 1,
            keep: true,
        });
        let bytes = read_source(src, &Selection { dims }, dest)?;
        for &o in &order[i..j] {
            let at = (pts[o][last] - l) as usize * es;
            if let Some(e) = bytes.get(at..at + es) {
                dest.put(wanted[o].1, e);
            }
        }
        i = j;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printf_names() {
        assert!(has_block("f-%b.h5"));
        assert!(!has_block("f-%%b.h5"));
        assert!(!has_block("plain.h5"));
        assert_eq!(expand("f-%b.h5", Some(12)), "f-12.h5");
        assert_eq!(expand("a%%b%b%", Some(3)), "a%b3%");
        assert_eq!(expand("50%%", None), "50%");
        assert_eq!(expand("%b", None), "%b");
        assert_eq!(expand("%x%b", Some(0)), "%x0");
    }

    #[test]
    fn source_file_candidates() {
        let c = candidates(Some(Path::new("/data/run/v.h5")), "src/a.h5");
        assert_eq!(
            c,
            vec![
                PathBuf::from("/data/run/src/a.h5"),
                PathBuf::from("src/a.h5")
            ]
        );
        let c = candidates(Some(Path::new("/data/v.h5")), "/gone/b.h5");
        assert_eq!(
            c,
            vec![
                PathBuf::from("/gone/b.h5"),
                PathBuf::from("/data/b.h5"),
                PathBuf::from("b.h5")
            ]
        );
        assert_eq!(candidates(None, "b.h5"), vec![PathBuf::from("b.h5")]);
    }

    fn brute(a: u64, p: u64, n: u64, b: u64, q: u64, m: u64) -> Vec<u64> {
        let s: Vec<u64> = (0..m).map(|j| b + j * q).collect();
        (0..n)
            .map(|i| a + i * p)
            .filter(|x| s.contains(x))
            .collect()
    }

    #[test]
    fn arithmetic_progressions_intersect() {
        for a in 0..7 {
            for p in 1..7 {
                for b in 0..7 {
                    for q in 1..7 {
                        for (n, m) in [(1, 9), (5, 4), (9, 9), (0, 3)] {
                            let want = brute(a, p, n, b, q, m);
                            let got: Vec<u64> = ap_intersect(a, p, n, b, q, m)
                                .map(|(x, s, c)| (0..c).map(|t| x + t * s).collect())
                                .unwrap_or_default();
                            assert_eq!(got, want, "{a} {p} {n} / {b} {q} {m}");
                        }
                    }
                }
            }
        }
        // large values do not overflow
        let big = u64::MAX / 3;
        assert_eq!(ap_intersect(big, big, 2, big, 1, 10), Some((big, 1, 1)));
        assert_eq!(
            ap_intersect(0, u64::MAX - 1, 2, 1, u64::MAX - 2, 2),
            Some((u64::MAX - 1, 1, 1))
        );
        assert_eq!(ap_intersect(0, u64::MAX - 1, 2, 2, u64::MAX - 2, 2), None);
    }

    fn dsel(start: u64, step: u64, count: u64) -> DimSelection {
        DimSelection {
            start,
            step,
            count,
            keep: true,
        }
    }

    /// Expands pieces to (virtual index, result position) pairs.
    fn expand_pieces(a: &Axis, ps: &[Piece]) -> Vec<(u64, u64)> {
        let mut v: Vec<(u64, u64)> = ps
            .iter()
            .flat_map(|p| (0..p.n).map(move |t| (p.k0 + t * p.dk, p.o0 + t * p.dout)))
            .map(|(k, o)| (a.index(k), o))
            .collect();
        v.sort_unstable();
        v
    }

    #[test]
    fn pieces_match_brute_force() {
        let axes = [
            Axis::blocks(3, 5, 2, 7).unwrap(),
            Axis::blocks(0, 3, 1, 6).unwrap(),
            Axis::run(4, 9),
            Axis::blocks(1, 4, 3, 12).unwrap(),
        ];
        for a in &axes {
            for start in 0..6 {
                for step in 1..5 {
                    for count in [0, 1, 3, 10] {
                        let r = dsel(start, step, count);
                        let want: Vec<(u64, u64)> = {
                            let mut v: Vec<(u64, u64)> = (0..a.len)
                                .map(|k| a.index(k))
                                .filter_map(|x| position(&r, x).map(|o| (x, o)))
                                .collect();
                            v.sort_unstable();
                            v
                        };
                        assert_eq!(expand_pieces(a, &pieces(a, &r)), want, "{a:?} {r:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn runs_follow_the_source_axis() {
        // virtual ranks 1, 3, 5, 7 through source blocks of 3 every 5:
        // indices 0 1 2 5 6 7 10 11 -> ranks 1 3 5 7 are 1 5 7 11
        let s = Axis::blocks(0, 5, 3, 8).unwrap();
        let p = Piece {
            k0: 1,
            dk: 2,
            o0: 0,
            dout: 1,
            n: 4,
        };
        let mut runs = Vec::new();
        through(&p, &s, &mut runs);
        let got: Vec<(u64, u64)> = runs
            .iter()
            .flat_map(|r| (0..r.n).map(move |t| (r.x0 + t * r.dx, r.o0 + t * r.dout)))
            .collect();
        assert_eq!(got, vec![(1, 0), (5, 1), (7, 2), (11, 3)]);
    }

    #[test]
    fn unlimited_dimension_counts() {
        // blocks of 2 every 3 from 0: 0 1 3 4 6 7 ...
        let d = RegularDim {
            start: 0,
            stride: 3,
            count: None,
            block: Some(2),
        };
        assert_eq!(count_below(&d, 0), 0);
        assert_eq!(count_below(&d, 5), 4);
        assert_eq!(count_below(&d, 6), 4);
        assert_eq!(count_below(&d, 7), 5);
        assert_eq!(extent_of(&d, 5).unwrap(), 7);
        assert_eq!(extent_of(&d, 4).unwrap(), 5);
        let whole = RegularDim {
            start: 2,
            stride: 1,
            count: Some(1),
            block: None,
        };
        assert_eq!(count_below(&whole, 10), 8);
        assert_eq!(extent_of(&whole, 8).unwrap(), 10);
        assert!(extent_of(&d, u64::MAX).is_err());
    }

    #[test]
    fn irregular_blocks_walk_in_c_order() {
        // two overlapping 2-d blocks: rows 0..=1 cols 0..=1 and row 1..=2 cols 1..=2
        let sel = Resolved::Blocks {
            rank: 2,
            blocks: vec![0, 0, 1, 1, 1, 1, 2, 2],
        };
        let mut seen = Vec::new();
        let n = for_each(&sel, &mut |k, c| seen.push((k, c[0], c[1])));
        assert_eq!(n, 7);
        assert_eq!(
            seen,
            vec![
                (0, 0, 0),
                (1, 0, 1),
                (2, 1, 0),
                (3, 1, 1),
                (4, 1, 2),
                (5, 2, 1),
                (6, 2, 2)
            ]
        );
    }

    #[test]
    fn block_lists_that_form_grids_become_axes() {
        // 1-D: blocks of 2 every 5, listed out of order
        let a = grid_axes(1, &[5, 6, 0, 1, 10, 11]).unwrap();
        assert_eq!(a, vec![Axis::blocks(0, 5, 2, 6).unwrap()]);
        // single elements every 2 (what a strided selection becomes)
        let b: Vec<u64> = (0..10).flat_map(|i| [2 * i + 1, 2 * i + 1]).collect();
        assert_eq!(
            grid_axes(1, &b).unwrap(),
            vec![Axis::blocks(1, 2, 1, 10).unwrap()]
        );
        // 2-D: a 2 x 2 grid of 1 x 3 blocks
        let g = [0, 0, 0, 2, 0, 4, 0, 6, 2, 0, 2, 2, 2, 4, 2, 6];
        assert_eq!(
            grid_axes(2, &g).unwrap(),
            vec![
                Axis::blocks(0, 2, 1, 2).unwrap(),
                Axis::blocks(0, 4, 3, 6).unwrap()
            ]
        );
        // uneven gaps, a missing grid cell, overlapping blocks: no grid
        assert_eq!(grid_axes(1, &[0, 1, 5, 7]), None);
        assert_eq!(grid_axes(2, &g[..12]), None);
        assert_eq!(grid_axes(2, &[0, 0, 1, 1, 1, 1, 2, 2]), None);
        assert_eq!(grid_axes(1, &[]), Some(vec![Axis::empty()]));
    }

    #[test]
    fn numbers_convert_as_libhdf5_does() {
        let i1 = Datatype::int(1, true, ByteOrder::Little);
        let u8t = Datatype::int(8, false, ByteOrder::Little);
        let i4be = Datatype::int(4, true, ByteOrder::Big);
        let f4 = Datatype::float(4, ByteOrder::Little);
        let mut b = [0u8; 8];
        let mut enc = |v: Number, dt: &Datatype| {
            let n = dt.size();
            encode_number(v, dt, &mut b[..n]).unwrap();
            b[..n].to_vec()
        };
        assert_eq!(enc(Number::Float(300.0), &i1), vec![127]);
        assert_eq!(enc(Number::Float(-1.5), &i1), vec![0xff]);
        assert_eq!(enc(Number::Float(f64::NAN), &i1), vec![0]);
        assert_eq!(
            enc(Number::Float(f64::NAN), &u8t),
            (1u64 << 63).to_le_bytes()
        );
        assert_eq!(enc(Number::Int(-5), &u8t), 0u64.to_le_bytes());
        assert_eq!(enc(Number::Float(f64::NAN), &i4be), vec![0x80, 0, 0, 0]);
        assert_eq!(enc(Number::Int(258), &i4be), vec![0, 0, 1, 2]);
        assert_eq!(
            enc(Number::Int((1 << 24) + 1), &f4),
            16777216f32.to_le_bytes()
        );
        let mut s = [0u8; 2];
        assert!(
            encode_number(
                Number::Int(1),
                &Datatype::float(2, ByteOrder::Little),
                &mut s
            )
            .is_err()
        );
    }
}
