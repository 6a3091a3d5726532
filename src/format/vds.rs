//! Virtual dataset mappings (spec III.F "Global Heap Block for Virtual
//! Datasets") and the dataspace selection encoding they are made of (spec
//! VIII.A "Dataspace Encoding", the "Dataspace Selection" part).
//!
//! A layout message of class 3 points at one global heap object holding:
//!
//! ```text
//! version 0: version (1) | entries (L)
//!            | per entry: source file name (NUL-terminated)
//!                         | source dataset name (NUL-terminated)
//!                         | source selection | virtual selection
//!            | checksum (4, lookup3 of everything before it)
//! version 1: version (1) | entries (L)
//!            | per entry: flags (1)
//!                         | source file name: absent when flags bit 2 (the
//!                           file holding the virtual dataset), an index (L)
//!                           of an earlier entry when bit 0, else a string
//!                         | source dataset name: an index (L) when bit 1,
//!                           else a string
//!                         | source selection | virtual selection
//!            | checksum (4)
//! ```
//!
//! A selection (all integers little-endian; `u32` unless noted):
//!
//! ```text
//! type (0 none, 1 points, 2 hyperslab, 3 all) | version | info
//! none, all:      version 1 | reserved (4) | length (4)
//! points v1:      reserved (4) | length (4) | rank | count | coords (4 each)
//! points v2:      width (1: 2, 4 or 8) | rank | count (w) | coords (w each)
//! hyperslab v1:   reserved (4) | length (4) | rank | blocks
//!                 | per block: start (4 each dim) | end (4 each dim)
//! hyperslab v2:   flags (1, bit 0 regular) | length (4) | rank
//!                 | per dim: start | stride | count | block (8 each)
//! hyperslab v3:   flags (1, bit 0 regular) | width (1: 2, 4 or 8) | rank
//!                 | regular: per dim start | stride | count | block (w each)
//!                 | irregular: blocks (w) | per block: start (w each dim)
//!                   | end (w each dim)
//! ```
//!
//! Coordinates are listed slowest-changing dimension first; block ends are
//! inclusive. A count or block of all ones (in a regular hyperslab, at the
//! width of its fields) is `H5S_UNLIMITED`: the selection goes on without
//! end along that dimension (an "unlimited" mapping).
//!
//! Notes on what libhdf5 writes: `spec-notes/virtual.md`.
//!
//! Where libhdf5 differs from the spec:
//! - the shared-name index of a version 1 block counts entries from 0 (the
//!   first entry is index 0), and an entry only ever points back at an
//!   earlier one;
//! - in a version 2 regular hyperslab libhdf5 writes a length of 4 (it
//!   counts only the rank field), so the length is not checked;
//! - the version 1 flags bit 2 ("same file") stands for the source file
//!   name `.`;
//! - the spec does not say how a version 3 hyperslab stores an unlimited
//!   count or block: libhdf5 picks the field width from the other values
//!   and writes all ones at that width (`ff ff` in two-byte fields).

use super::Sizes;
use super::checksum;
use super::cursor::Cursor;
use super::dataspace::MAX_RANK;
use crate::error::{Error, Result};

/// The all-ones value HDF5 stores for an unlimited count or block.
pub const UNLIMITED: u64 = u64::MAX;

/// One dimension of a regular hyperslab: `count` blocks of `block`
/// elements, the blocks `stride` apart, the first at `start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegularDim {
    /// Index of the first element.
    pub start: u64,
    /// Distance between the starts of consecutive blocks.
    pub stride: u64,
    /// Number of blocks; `None` for unlimited.
    pub count: Option<u64>,
    /// Elements per block; `None` for unlimited (then `count` is 1).
    pub block: Option<u64>,
}

impl RegularDim {
    /// True when the dimension goes on without end.
    pub fn is_unlimited(&self) -> bool {
        self.count.is_none() || self.block.is_none()
    }

    /// One past the last selected index of a limited dimension, `None`
    /// when unlimited.
    pub fn end(&self) -> Option<u64> {
        let (count, block) = (self.count?, self.block?);
        if count == 0 || block == 0 {
            return Some(self.start);
        }
        // checked at decode time
        Some(self.start + (count - 1) * self.stride + block)
    }

    fn check(&self, at: u64) -> Result<()> {
        let bad = |w: &str| Err(Error::format(format!("hyperslab selection: {w}"), at));
        match (self.count, self.block) {
            (None, None) => return bad("both count and block are unlimited"),
            (Some(c), None) if c != 1 => return bad("an unlimited block needs a count of 1"),
            _ => {}
        }
        let many = self.count != Some(1) && self.count != Some(0);
        if many && self.block != Some(0) {
            let block = self.block.unwrap_or(1);
            if self.stride < block || self.stride == 0 {
                return bad("blocks overlap (stride smaller than block)");
            }
        }
        // the last selected index (or the start of the last possible block
        // of an unlimited dimension) must fit
        let (count, block) = (self.count.unwrap_or(1), self.block.unwrap_or(1));
        let fits = count == 0
            || block == 0
            || (count - 1)
                .checked_mul(self.stride)
                .and_then(|v| v.checked_add(self.start))
                .and_then(|v| v.checked_add(block))
                .is_some();
        if !fits {
            return bad("selection runs past the largest index");
        }
        Ok(())
    }
}

/// A hyperslab selection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hyperslab {
    /// One [`RegularDim`] per dimension.
    Regular(Vec<RegularDim>),
    /// A union of blocks, each given by its first and last (inclusive)
    /// coordinates.
    Irregular {
        /// Number of dimensions.
        rank: usize,
        /// `rank` start coordinates then `rank` end coordinates per block.
        blocks: Vec<u64>,
    },
}

/// A dataspace selection as HDF5 encodes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EncodedSelection {
    /// Nothing selected.
    None,
    /// The whole dataspace (whose extent the encoding does not carry).
    All,
    /// Points, in the order they were listed.
    Points {
        /// Number of dimensions.
        rank: usize,
        /// `rank` coordinates per point.
        coords: Vec<u64>,
    },
    /// A hyperslab.
    Hyperslab(Hyperslab),
}

impl EncodedSelection {
    /// The selection's rank; `None` for "none" and "all", which do not
    /// store one.
    pub fn rank(&self) -> Option<usize> {
        match self {
            EncodedSelection::None | EncodedSelection::All => None,
            EncodedSelection::Points { rank, .. } => Some(*rank),
            EncodedSelection::Hyperslab(Hyperslab::Regular(d)) => Some(d.len()),
            EncodedSelection::Hyperslab(Hyperslab::Irregular { rank, .. }) => Some(*rank),
        }
    }

    /// The dimension that goes on without end, if any.
    pub fn unlimited_dim(&self) -> Option<usize> {
        match self {
            EncodedSelection::Hyperslab(Hyperslab::Regular(d)) => {
                d.iter().position(|d| d.is_unlimited())
            }
            _ => None,
        }
    }

    /// Decodes a selection (type, version and info) and moves past it.
    ///
    /// # Errors
    /// `Format` on an unknown type or version, counts that run past the
    /// bytes, overlapping or overflowing hyperslab blocks.
    pub fn decode(c: &mut Cursor) -> Result<EncodedSelection> {
        let at = c.address();
        let kind = c.u32()?;
        let version = c.u32()?;
        let bad = |w: String| Error::format(format!("dataspace selection: {w}"), at);
        match kind {
            0 | 3 => {
                if version != 1 {
                    return Err(bad(format!("version {version} of a none/all selection")));
                }
                c.skip(8)?;
                Ok(if kind == 0 {
                    EncodedSelection::None
                } else {
                    EncodedSelection::All
                })
            }
            1 => {
                let (width, rank, count) = match version {
                    1 => {
                        c.skip(8)?;
                        let rank = c.u32()?;
                        (4, rank, c.u32()? as u64)
                    }
                    2 => {
                        let width = width(c.u8()?, at)?;
                        let rank = c.u32()?;
                        (width, rank, c.uint(width)?)
                    }
                    v => return Err(bad(format!("points version {v}"))),
                };
                let rank = check_rank(rank, at)?;
                let coords = read_values(c, count, rank, width, "point coordinates")?;
                Ok(EncodedSelection::Points { rank, coords })
            }
            2 => decode_hyperslab(c, version, at).map(EncodedSelection::Hyperslab),
            t => Err(bad(format!("type {t}"))),
        }
    }
}

fn width(w: u8, at: u64) -> Result<usize> {
    match w {
        2 | 4 | 8 => Ok(w as usize),
        w => Err(Error::format(
            format!("dataspace selection: encoding width {w}"),
            at,
        )),
    }
}

fn check_rank(rank: u32, at: u64) -> Result<usize> {
    if rank == 0 || rank as usize > MAX_RANK {
        return Err(Error::format(
            format!("dataspace selection: rank {rank}"),
            at,
        ));
    }
    Ok(rank as usize)
}

/// Reads `count` groups of `per` values of `width` bytes, after checking
/// they fit in the bytes that remain.
fn read_values(
    c: &mut Cursor,
    count: u64,
    per: usize,
    width: usize,
    what: &str,
) -> Result<Vec<u64>> {
    let at = c.address();
    let n = usize::try_from(count)
        .ok()
        .and_then(|n| n.checked_mul(per))
        .filter(|&n| n.checked_mul(width).is_some_and(|b| b <= c.remaining()))
        .ok_or_else(|| {
            Error::format(
                format!("dataspace selection: {count} {what} run past the end"),
                at,
            )
        })?;
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        v.push(c.uint(width)?);
    }
    Ok(v)
}

fn decode_hyperslab(c: &mut Cursor, version: u32, at: u64) -> Result<Hyperslab> {
    let bad = |w: String| Error::format(format!("hyperslab selection: {w}"), at);
    let (regular, width) = match version {
        1 => {
            c.skip(8)?; // reserved, length
            (false, 4)
        }
        2 => {
            let flags = c.u8()?;
            c.skip(4)?; // length
            if flags & 1 == 0 {
                return Err(bad("version 2 irregular hyperslab".into()));
            }
            (true, 8)
        }
        3 => {
            let flags = c.u8()?;
            (flags & 1 != 0, width(c.u8()?, at)?)
        }
        v => return Err(bad(format!("version {v}"))),
    };
    let rank = check_rank(c.u32()?, at)?;
    if regular {
        let v = read_values(c, 1, 4 * rank, width, "regular hyperslab fields")?;
        // libhdf5 writes H5S_UNLIMITED cut to the field width (0xffff in
        // two-byte fields)
        let all_ones = u64::MAX >> (64 - 8 * width as u32);
        let unl = |x: u64| if x == all_ones { None } else { Some(x) };
        let dims: Vec<RegularDim> = v
            .chunks_exact(4)
            .map(|d| RegularDim {
                start: d[0],
                stride: d[1],
                count: unl(d[2]),
                block: unl(d[3]),
            })
            .collect();
        for d in &dims {
            d.check(at)?;
        }
        if dims.iter().filter(|d| d.is_unlimited()).count() > 1 {
            return Err(bad("more than one unlimited dimension".into()));
        }
        Ok(Hyperslab::Regular(dims))
    } else {
        let count = if version == 1 {
            c.u32()? as u64
        } else {
            c.uint(width)?
        };
        let blocks = read_values(c, count, 2 * rank, width, "hyperslab blocks")?;
        for b in blocks.chunks_exact(2 * rank) {
            let (s, e) = b.split_at(rank);
            if s.iter().zip(e).any(|(s, e)| s > e || *e == u64::MAX) {
                return Err(bad("a block ends before it starts".into()));
            }
        }
        Ok(Hyperslab::Irregular { rank, blocks })
    }
}

/// One mapping of a virtual dataset: the elements `virtual_selection`
/// selects in the virtual dataset come from the elements `source_selection`
/// selects in dataset `source_dataset` of file `source_file`, matched in
/// the order each selection lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualMapping {
    /// The source file's name; `.` is the file of the virtual dataset.
    /// May hold printf-style `%b` (block number) and `%%`.
    pub source_file: String,
    /// The source dataset's path in its file (same printf forms).
    pub source_dataset: String,
    /// What is taken from the source dataset.
    pub source_selection: EncodedSelection,
    /// Where it goes in the virtual dataset.
    pub virtual_selection: EncodedSelection,
}

impl VirtualMapping {
    /// Decodes the global heap object `block` (at `addr`) that a virtual
    /// layout message points at.
    ///
    /// # Errors
    /// `Format` on a bad checksum, an unknown version, or malformed entries.
    pub fn decode_block(block: &[u8], addr: u64, sizes: Sizes) -> Result<Vec<VirtualMapping>> {
        const WHAT: &str = "virtual dataset mappings";
        checksum::verify(block, WHAT, addr)?;
        let body = &block[..block.len() - 4];
        let mut c = Cursor::new(body, addr, sizes);
        let version = c.u8()?;
        if version > 1 {
            return Err(Error::format(format!("{WHAT}: version {version}"), addr));
        }
        let at = c.address();
        let entries = c.length()?;
        // every entry takes at least one byte
        if entries > c.remaining() as u64 {
            return Err(Error::format(
                format!(
                    "{WHAT}: {entries} entries cannot fit in {} bytes",
                    body.len()
                ),
                at,
            ));
        }
        let mut out: Vec<VirtualMapping> = Vec::with_capacity(entries as usize);
        for i in 0..entries as usize {
            let flags = if version == 1 { c.u8()? } else { 0 };
            let source_file = if flags & 0x04 != 0 {
                ".".to_string()
            } else if flags & 0x01 != 0 {
                shared_name(&mut c, &out, i, |m| &m.source_file)?
            } else {
                name(&mut c)?
            };
            let source_dataset = if flags & 0x02 != 0 {
                shared_name(&mut c, &out, i, |m| &m.source_dataset)?
            } else {
                name(&mut c)?
            };
            let source_selection = EncodedSelection::decode(&mut c)
                .map_err(|e| e.context(&format!("{WHAT}: entry {i} source")))?;
            let virtual_selection = EncodedSelection::decode(&mut c)
                .map_err(|e| e.context(&format!("{WHAT}: entry {i} virtual")))?;
            out.push(VirtualMapping {
                source_file,
                source_dataset,
                source_selection,
                virtual_selection,
            });
        }
        Ok(out)
    }
}

fn name(c: &mut Cursor) -> Result<String> {
    Ok(String::from_utf8_lossy(c.cstr()?).into_owned())
}

fn shared_name(
    c: &mut Cursor,
    earlier: &[VirtualMapping],
    i: usize,
    pick: impl Fn(&VirtualMapping) -> &String,
) -> Result<String> {
    let at = c.address();
    let idx = c.length()?;
    usize::try_from(idx)
        .ok()
        .and_then(|k| earlier.get(k))
        .map(|m| pick(m).clone())
        .ok_or_else(|| {
            Error::format(
                format!("virtual dataset mappings: entry {i} shares the name of entry {idx}, which does not precede it"),
                at,
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel(b: &[u8]) -> Result<EncodedSelection> {
        EncodedSelection::decode(&mut Cursor::new(b, 0, Sizes::DEFAULT))
    }

    fn with_checksum(mut b: Vec<u8>) -> Vec<u8> {
        let sum = checksum::lookup3(&b, 0);
        b.extend(sum.to_le_bytes());
        b
    }

    #[test]
    fn all_and_none() {
        let all = [3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(sel(&all).unwrap(), EncodedSelection::All);
        let none = [0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(sel(&none).unwrap(), EncodedSelection::None);
        let v2 = [3, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        assert!(sel(&v2).is_err());
    }

    #[test]
    fn hyperslab_v3_regular_two_byte() {
        // written by libhdf5 2.0: start 1, stride 2, count 10, block 1
        let b = [
            2, 0, 0, 0, 3, 0, 0, 0, 1, 2, 1, 0, 0, 0, 1, 0, 2, 0, 10, 0, 1, 0,
        ];
        let s = sel(&b).unwrap();
        assert_eq!(
            s,
            EncodedSelection::Hyperslab(Hyperslab::Regular(vec![RegularDim {
                start: 1,
                stride: 2,
                count: Some(10),
                block: Some(1),
            }]))
        );
        assert_eq!(s.unlimited_dim(), None);
    }

    #[test]
    fn hyperslab_v2_unlimited_count() {
        // libhdf5 1.10: start 0, stride 3, count unlimited, block 3; then
        // two limited dimensions of 4; length field 4
        let mut b = vec![2, 0, 0, 0, 2, 0, 0, 0, 1, 4, 0, 0, 0, 3, 0, 0, 0];
        for v in [0, 3, UNLIMITED, 3, 0, 1, 1, 4, 0, 1, 1, 4] {
            b.extend(v.to_le_bytes());
        }
        let s = sel(&b).unwrap();
        assert_eq!(s.unlimited_dim(), Some(0));
        assert_eq!(s.rank(), Some(3));
        let EncodedSelection::Hyperslab(Hyperslab::Regular(d)) = s else {
            panic!()
        };
        assert_eq!(d[0].count, None);
        assert_eq!(d[0].block, Some(3));
        assert_eq!(d[1].end(), Some(4));
    }

    #[test]
    fn hyperslab_v3_unlimited_in_two_byte_fields() {
        // libhdf5 2.0: blocks of 2 every 2 rows without end, 4 columns
        let b = [
            2u8, 0, 0, 0, 3, 0, 0, 0, 1, 2, 2, 0, 0, 0, 0, 0, 2, 0, 0xff, 0xff, 2, 0, 0, 0, 1, 0,
            1, 0, 4, 0,
        ];
        let s = sel(&b).unwrap();
        assert_eq!(s.unlimited_dim(), Some(0));
        let EncodedSelection::Hyperslab(Hyperslab::Regular(d)) = s else {
            panic!()
        };
        assert_eq!((d[0].stride, d[0].count, d[0].block), (2, None, Some(2)));
        assert_eq!(d[1].end(), Some(4));
    }

    #[test]
    fn hyperslab_unlimited_block() {
        let mut b = vec![2, 0, 0, 0, 2, 0, 0, 0, 1, 4, 0, 0, 0, 1, 0, 0, 0];
        for v in [5, 1, 1, UNLIMITED] {
            b.extend(v.to_le_bytes());
        }
        let s = sel(&b).unwrap();
        assert_eq!(s.unlimited_dim(), Some(0));
        // an unlimited block with a count other than 1 is malformed
        let mut b = vec![2, 0, 0, 0, 2, 0, 0, 0, 1, 4, 0, 0, 0, 1, 0, 0, 0];
        for v in [5, 1, 2, UNLIMITED] {
            b.extend(v.to_le_bytes());
        }
        assert!(sel(&b).is_err());
    }

    #[test]
    fn hyperslab_v1_irregular() {
        // libhdf5 1.10: one block (0,0,0)..(2,3,3), length 32
        let mut b = vec![
            2u8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0, 0, 3, 0, 0, 0,
        ];
        b.extend(1u32.to_le_bytes());
        for v in [0u32, 0, 0, 2, 3, 3] {
            b.extend(v.to_le_bytes());
        }
        assert_eq!(
            sel(&b).unwrap(),
            EncodedSelection::Hyperslab(Hyperslab::Irregular {
                rank: 3,
                blocks: vec![0, 0, 0, 2, 3, 3]
            })
        );
    }

    #[test]
    fn hyperslab_v3_irregular_and_bounds() {
        // four-byte fields: two blocks of rank 1: [0..=1], [5..=9]
        let mut b = vec![2u8, 0, 0, 0, 3, 0, 0, 0, 0, 4, 1, 0, 0, 0];
        for v in [2u32, 0, 1, 5, 9] {
            b.extend(v.to_le_bytes());
        }
        assert_eq!(
            sel(&b).unwrap(),
            EncodedSelection::Hyperslab(Hyperslab::Irregular {
                rank: 1,
                blocks: vec![0, 1, 5, 9]
            })
        );
        // a block count far past the bytes is refused before allocating
        let mut b = vec![2u8, 0, 0, 0, 3, 0, 0, 0, 0, 4, 1, 0, 0, 0];
        b.extend(u32::MAX.to_le_bytes());
        assert!(sel(&b).is_err());
        // an end before the start
        let mut b = vec![2u8, 0, 0, 0, 3, 0, 0, 0, 0, 4, 1, 0, 0, 0];
        for v in [1u32, 5, 4] {
            b.extend(v.to_le_bytes());
        }
        assert!(sel(&b).is_err());
    }

    #[test]
    fn overlapping_and_overflowing_hyperslabs() {
        let reg = |vals: [u64; 4]| {
            let mut b = vec![2u8, 0, 0, 0, 3, 0, 0, 0, 1, 8, 1, 0, 0, 0];
            for v in vals {
                b.extend(v.to_le_bytes());
            }
            sel(&b)
        };
        assert!(reg([0, 2, 3, 2]).is_ok());
        assert!(reg([0, 1, 3, 2]).is_err()); // stride < block
        assert!(reg([0, 0, 1, 2]).is_ok()); // one block: stride unused
        assert!(reg([u64::MAX - 1, 1, 1, 2]).is_err()); // past u64
        assert!(reg([0, 1 << 62, 8, 1]).is_err());
        assert!(reg([0, 4, UNLIMITED, 2]).is_ok());
    }

    #[test]
    fn points() {
        // version 2, 2-byte coordinates, rank 2, 2 points (1,2) (3,4)
        let b = [
            1u8, 0, 0, 0, 2, 0, 0, 0, 2, 2, 0, 0, 0, 2, 0, 1, 0, 2, 0, 3, 0, 4, 0,
        ];
        assert_eq!(
            sel(&b).unwrap(),
            EncodedSelection::Points {
                rank: 2,
                coords: vec![1, 2, 3, 4]
            }
        );
        // version 1: reserved, length, rank 1, 1 point (7)
        let b = [
            1u8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 12, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 7, 0, 0, 0,
        ];
        assert_eq!(
            sel(&b).unwrap(),
            EncodedSelection::Points {
                rank: 1,
                coords: vec![7]
            }
        );
        // too many points for the bytes
        let b = [
            1u8, 0, 0, 0, 2, 0, 0, 0, 8, 1, 0, 0, 0, 255, 255, 255, 255, 0, 0, 0, 0,
        ];
        assert!(sel(&b).is_err());
    }

    /// The version 0 block libhdf5 1.10 wrote for a `%b` mapping.
    #[test]
    fn block_version_0() {
        let mut b = vec![0u8];
        b.extend(1u64.to_le_bytes());
        b.extend(b"4_%b.h5\0/source_dset\0");
        b.extend([3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]); // all
        b.extend([2, 0, 0, 0, 3, 0, 0, 0, 1, 8, 1, 0, 0, 0]);
        for v in [0u64, 3, UNLIMITED, 3] {
            b.extend(v.to_le_bytes());
        }
        let b = with_checksum(b);
        let m = VirtualMapping::decode_block(&b, 0x578, Sizes::DEFAULT).unwrap();
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].source_file, "4_%b.h5");
        assert_eq!(m[0].source_dataset, "/source_dset");
        assert_eq!(m[0].source_selection, EncodedSelection::All);
        assert_eq!(m[0].virtual_selection.unlimited_dim(), Some(0));
        // a flipped byte fails the checksum
        let mut bad = b.clone();
        bad[12] ^= 1;
        let e = VirtualMapping::decode_block(&bad, 0x578, Sizes::DEFAULT).unwrap_err();
        assert!(e.to_string().contains("checksum"), "{e}");
    }

    /// Version 1 as libhdf5 2.0 writes it: the same file by flag, names
    /// shared by index (counted from 0).
    #[test]
    fn block_version_1_shared_names() {
        let all = [3u8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        let mut b = vec![1u8];
        b.extend(3u64.to_le_bytes());
        // entry 0: own names
        b.push(0);
        b.extend(b"long_file.h5\0long_dataset\0");
        b.extend(all);
        b.extend(all);
        // entry 1: both names from entry 0
        b.push(3);
        b.extend(0u64.to_le_bytes());
        b.extend(0u64.to_le_bytes());
        b.extend(all);
        b.extend(all);
        // entry 2: the same file, own dataset name
        b.push(4);
        b.extend(b"/d\0");
        b.extend(all);
        b.extend(all);
        let b = with_checksum(b);
        let m = VirtualMapping::decode_block(&b, 0, Sizes::DEFAULT).unwrap();
        assert_eq!(m.len(), 3);
        assert_eq!(
            (m[1].source_file.as_str(), m[1].source_dataset.as_str()),
            ("long_file.h5", "long_dataset")
        );
        assert_eq!(
            (m[2].source_file.as_str(), m[2].source_dataset.as_str()),
            (".", "/d")
        );
    }

    #[test]
    fn block_bad_shared_index_and_counts() {
        let mut b = vec![1u8];
        b.extend(1u64.to_le_bytes());
        b.push(1);
        b.extend(0u64.to_le_bytes()); // points at itself
        let b = with_checksum(b);
        assert!(VirtualMapping::decode_block(&b, 0, Sizes::DEFAULT).is_err());
        let mut b = vec![0u8];
        b.extend(u64::MAX.to_le_bytes());
        let b = with_checksum(b);
        assert!(VirtualMapping::decode_block(&b, 0, Sizes::DEFAULT).is_err());
        assert!(VirtualMapping::decode_block(&[0, 1], 0, Sizes::DEFAULT).is_err());
    }

    /// An interleaving of two datasets of the same file, as libhdf5 2.0
    /// writes it with the latest format bounds (version 1, same-file flag).
    #[test]
    fn block_written_by_libhdf5_2() {
        let b = [
            0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x2f, 0x73, 0x6f, 0x75,
            0x72, 0x63, 0x65, 0x2f, 0x61, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x03, 0x00,
            0x00, 0x00, 0x01, 0x02, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x0a, 0x00,
            0x01, 0x00, 0x04, 0x2f, 0x73, 0x6f, 0x75, 0x72, 0x63, 0x65, 0x2f, 0x62, 0x00, 0x03,
            0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x02, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x02, 0x01, 0x00, 0x00,
            0x00, 0x01, 0x00, 0x02, 0x00, 0x0a, 0x00, 0x01, 0x00, 0x9d, 0x2c, 0x79, 0x71,
        ];
        let m = VirtualMapping::decode_block(&b, 0x850, Sizes::DEFAULT).unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(
            (m[0].source_file.as_str(), m[0].source_dataset.as_str()),
            (".", "/source/a")
        );
        assert_eq!(m[1].source_dataset, "/source/b");
        assert_eq!(m[0].source_selection, EncodedSelection::All);
        let reg = |start| {
            EncodedSelection::Hyperslab(Hyperslab::Regular(vec![RegularDim {
                start,
                stride: 2,
                count: Some(10),
                block: Some(1),
            }]))
        };
        assert_eq!(m[0].virtual_selection, reg(0));
        assert_eq!(m[1].virtual_selection, reg(1));
    }
}
