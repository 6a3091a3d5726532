//! Chunk index: extensible array (spec VII.D), used by layout message
//! version 4 and later for datasets with exactly one unlimited dimension.
//!
//! ```text
//! header:       "EAHD" | version 0 | client id | entry size
//!               | max index bits | index block entries | data block min entries
//!               | super block min data block pointers | data block page bits
//!               | super block count (L) | super block bytes (L)
//!               | data block count (L) | data block bytes (L)
//!               | max index set (L) | realized entries (L)
//!               | index block address (O) | checksum (4)
//! index block:  "EAIB" | version 0 | client id | header address (O)
//!               | entries | data block addresses (O each)
//!               | super block addresses (O each) | checksum (4)
//! super block:  "EASB" | version 0 | client id | header address (O)
//!               | block offset | [page bitmap] | data block addresses (O each)
//!               | checksum (4)
//! data block:   "EADB" | version 0 | client id | header address (O)
//!               | block offset | [entries] | checksum (4)
//! page:         entries | checksum (4)
//! ```
//!
//! The four counts in the header are statistics; the shape of the array
//! follows from the creation parameters alone. With `m` = data block min
//! entries, `p` = super block min data block pointers, `b` = max index
//! bits (libhdf5 always writes `b` = 32, 4 index block entries, `m` = 16,
//! `p` = 4 and 10 page bits):
//!
//! - entries `0 .. index block entries` live in the index block; the rest,
//!   from 0 again, in data blocks grouped by super block;
//! - there are `1 + b - log2(m)` super blocks; super block `s` has
//!   `2^(s/2)` data blocks (rounded down) of `m * 2^((s+1)/2)` entries
//!   each, following the previous super blocks' entries;
//! - the data blocks of the first `2 log2(p)` super blocks (`2 (p - 1)` of
//!   them) are listed in the index block itself; the other super blocks are
//!   real, and the index block lists their addresses;
//! - the "block offset" field is `ceil(b / 8)` bytes;
//! - a data block of more than `2^page bits` entries is paged: it holds no
//!   entries, the pages (each `2^page bits` entries and a checksum) follow
//!   it, and its super block's bitmap says which pages were written: bit
//!   `k * pages + j` (from the most significant bit of the first byte) for
//!   page `j` of data block `k`. An unwritten page holds garbage.
//!
//! Entries at or past the header's "max index set" were never written.
//! Entry formats are those of the fixed array
//! ([`EntryFormat`]).
//!
//! How an entry index maps to a chunk: the unlimited dimension is moved to
//! the front (the others keep their order) and the index is row-major over
//! that order, the fixed dimensions counted in chunks of their *maximum*
//! size. For a dataset (5, n) with maximum (5, unlimited) and chunks
//! (2, 4), chunk (i, j) is entry `j * 3 + i`.
//!
//! What the spec leaves out or gets wrong, as libhdf5 writes it:
//!
//! - the super block's page bitmap takes `ceil(pages / 8)` bytes per data
//!   block (`data blocks * ceil(pages / 8)` bytes in all), although its
//!   bits are numbered continuously as above, so its tail is padding;
//! - the block offset stored in the data blocks listed by the index block
//!   is `start + k * n`, with `start` the first entry of the data block's
//!   super block, `k` the data block's position among *all* the index
//!   block's data blocks and `n` its size: only the first of them holds its
//!   true offset. Block offsets are therefore not checked.
//!
//! Encode side: [`encode`] lays out the array of a dataset's chunk records
//! as libhdf5 leaves it after writing those chunks: only the blocks (and
//! pages) holding a chunk exist, the header's statistics count them, the
//! index block's data blocks carry libhdf5's block offsets. libhdf5's
//! creation parameters are [`LIBHDF5_INDEX`]. Re-encoding the arrays of
//! files written by libhdf5 at their addresses gives their bytes exactly.

use std::collections::{BTreeMap, HashSet};

use super::fixed_array::{
    Entry, EntryFormat, bit_set, block_len, keyed_entries, linearize, read_page, seal, set_bit,
};
use super::{ChunkRecord, IndexParams, unlinearize};
use crate::error::{Error, Result};
use crate::format::alloc::{Allocator, Blocks};
use crate::format::cursor::{Cursor, Encoder};
use crate::format::layout::ChunkIndexKind;
use crate::format::{FileCtx, Sizes, checksum};

/// Signature of an extensible array header.
pub const HEADER_SIGNATURE: &[u8; 4] = b"EAHD";
/// Signature of an extensible array index block.
pub const INDEX_BLOCK_SIGNATURE: &[u8; 4] = b"EAIB";
/// Signature of an extensible array super (secondary) block.
pub const SUPER_BLOCK_SIGNATURE: &[u8; 4] = b"EASB";
/// Signature of an extensible array data block.
pub const DATA_BLOCK_SIGNATURE: &[u8; 4] = b"EADB";

/// A decoded extensible array header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtensibleArrayHeader {
    /// Client id: 0 unfiltered chunks, 1 filtered chunks.
    pub client_id: u8,
    /// Bytes in one entry.
    pub entry_size: u8,
    /// Bits of the largest entry count.
    pub max_index_bits: u8,
    /// Entries stored in the index block.
    pub index_block_entries: u8,
    /// Entries in the smallest data blocks (a power of two).
    pub data_block_min_entries: u8,
    /// Data block pointers of the smallest super blocks (a power of two).
    pub super_block_min_pointers: u8,
    /// log2 of the entries in a data block page.
    pub page_bits: u8,
    /// Super blocks created (statistics).
    pub super_block_count: u64,
    /// Bytes of the super blocks (statistics).
    pub super_block_bytes: u64,
    /// Data blocks created (statistics).
    pub data_block_count: u64,
    /// Bytes of the data blocks (statistics).
    pub data_block_bytes: u64,
    /// One more than the highest entry index ever written.
    pub max_index_set: u64,
    /// Entries realized in blocks (statistics).
    pub realized_entries: u64,
    /// Index block address; `None` when no chunk was ever written.
    pub index_block: Option<u64>,
}

impl ExtensibleArrayHeader {
    /// Bytes of a header with these widths.
    pub fn encoded_len(sizes: Sizes) -> u64 {
        4 + 8 + 6 * sizes.length as u64 + sizes.offset as u64 + 4
    }

    /// Reads and checks the header at `addr`.
    ///
    /// # Errors
    /// A format error on a bad signature, version or checksum, or when the
    /// header runs past the end of the file.
    pub fn read(ctx: &FileCtx, addr: u64) -> Result<Self> {
        const WHAT: &str = "extensible array header";
        let mut c =
            ctx.checksummed_block(addr, Self::encoded_len(ctx.sizes), HEADER_SIGNATURE, WHAT)?;
        Ok(ExtensibleArrayHeader {
            client_id: c.u8()?,
            entry_size: c.u8()?,
            max_index_bits: c.u8()?,
            index_block_entries: c.u8()?,
            data_block_min_entries: c.u8()?,
            super_block_min_pointers: c.u8()?,
            page_bits: c.u8()?,
            super_block_count: c.length()?,
            super_block_bytes: c.length()?,
            data_block_count: c.length()?,
            data_block_bytes: c.length()?,
            max_index_set: c.length()?,
            realized_entries: c.length()?,
            index_block: c.address_field()?,
        })
    }
}

/// One super block's share of the array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SuperBlockInfo {
    /// Data blocks in it.
    data_blocks: u64,
    /// Entries in each of its data blocks.
    block_entries: u64,
    /// Its first entry, counted after the index block's entries.
    start: u64,
}

/// The array's shape, derived from the header's creation parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Geometry {
    /// Every super block, the ones held by the index block first.
    supers: Vec<SuperBlockInfo>,
    /// Super blocks of the array (`supers` stops early at those that
    /// would start past 2^64 entries).
    count: usize,
    /// Super blocks whose data blocks the index block lists itself.
    index_supers: usize,
    /// Data block addresses in the index block.
    index_data_blocks: u64,
    /// Bytes of a block offset field.
    offset_width: usize,
    /// Entries per data block page; `None`: pages are at least as large
    /// as any data block.
    page_entries: Option<u64>,
}

impl Geometry {
    fn new(h: &ExtensibleArrayHeader, at: u64) -> Result<Geometry> {
        let bad = |w: String| Error::format(format!("extensible array header: {w}"), at);
        let bits = h.max_index_bits as u32;
        if !(1..=64).contains(&bits) {
            return Err(bad(format!("max index bits {bits}")));
        }
        let m = h.data_block_min_entries;
        if !m.is_power_of_two() {
            return Err(bad(format!(
                "data block min entries {m} is not a power of two"
            )));
        }
        let p = h.super_block_min_pointers;
        if !p.is_power_of_two() {
            return Err(bad(format!(
                "super block min pointers {p} is not a power of two"
            )));
        }
        let log_m = m.trailing_zeros();
        if log_m > bits {
            return Err(bad(format!(
                "data block min entries {m} exceed 2^{bits} entries"
            )));
        }
        let count = 1 + (bits - log_m) as usize;
        let index_supers = 2 * p.trailing_zeros() as usize;
        if index_supers > count {
            return Err(bad(format!(
                "super block min pointers {p} need more than the {count} super blocks"
            )));
        }
        let mut supers = Vec::with_capacity(count);
        let mut start = 0u64;
        for s in 0..count as u32 {
            // Super blocks past 2^64 entries cannot be reached; stop there.
            let Some(block_entries) = 1u64
                .checked_shl(s.div_ceil(2))
                .and_then(|n| n.checked_mul(m as u64))
            else {
                break;
            };
            let data_blocks = 1u64 << (s / 2);
            supers.push(SuperBlockInfo {
                data_blocks,
                block_entries,
                start,
            });
            match data_blocks
                .checked_mul(block_entries)
                .and_then(|n| n.checked_add(start))
            {
                Some(next) => start = next,
                None => break,
            }
        }
        let index_data_blocks = 2 * (p as u64 - 1);
        Ok(Geometry {
            supers,
            count,
            index_supers,
            index_data_blocks,
            offset_width: bits.div_ceil(8) as usize,
            page_entries: 1u64.checked_shl(h.page_bits as u32),
        })
    }

    /// Entries per page of a data block of `n` entries, when it is paged.
    fn paged(&self, n: u64) -> Option<u64> {
        self.page_entries.filter(|&pe| n > pe)
    }

    /// Super block addresses in the index block.
    fn index_super_addresses(&self) -> usize {
        self.count.saturating_sub(self.index_supers)
    }
}

impl SuperBlockInfo {
    /// First entry (counted after the index block's) of data block `k`.
    fn block_start(&self, k: u64) -> u64 {
        self.start
            .saturating_add(k.saturating_mul(self.block_entries))
    }
}

/// Maps entry indexes to chunk coordinates: unlimited dimension first,
/// then the others in order, over the grid of the maximum dimensions.
#[derive(Debug, Clone)]
struct Swizzle {
    unlimited: usize,
    /// Chunks along each fixed dimension (maximum size), in order.
    fixed_grid: Vec<u64>,
    /// Entries per step of the unlimited dimension.
    stride: u64,
    /// Chunks along each dimension for the current size.
    current: Vec<u64>,
}

impl Swizzle {
    fn new(p: &IndexParams, at: u64) -> Result<Swizzle> {
        if p.max_dims.len() != p.dims.len() || p.layout.dims.len() != p.dims.len() {
            return Err(Error::format(
                "extensible array index: dimension counts of the dataspace and chunks differ",
                at,
            ));
        }
        let unlimited: Vec<usize> = p
            .max_dims
            .iter()
            .enumerate()
            .filter(|(_, m)| m.is_none())
            .map(|(d, _)| d)
            .collect();
        let &[unlimited] = unlimited.as_slice() else {
            return Err(Error::format(
                format!(
                    "extensible array index: the dataspace has {} unlimited dimensions, not 1",
                    unlimited.len()
                ),
                at,
            ));
        };
        let grid = p.max_chunks_per_dim();
        let fixed_grid: Vec<u64> = grid
            .iter()
            .enumerate()
            .filter(|&(d, _)| d != unlimited)
            .map(|(_, &n)| n)
            .collect();
        let stride = fixed_grid
            .iter()
            .try_fold(1u64, |a, &n| a.checked_mul(n))
            .ok_or_else(|| Error::format("extensible array index: chunk count overflows", at))?;
        Ok(Swizzle {
            unlimited,
            fixed_grid,
            stride,
            current: p.chunks_per_dim(),
        })
    }

    /// Chunk coordinates of entry `index`; `None` when outside the current
    /// extent.
    fn coords(&self, index: u64) -> Option<Vec<u64>> {
        if self.stride == 0 {
            return None;
        }
        let mut coords = unlinearize(index % self.stride, &self.fixed_grid);
        coords.insert(self.unlimited, index / self.stride);
        coords
            .iter()
            .zip(&self.current)
            .all(|(c, n)| c < n)
            .then_some(coords)
    }
}

/// Walks the blocks of one array.
struct Walker<'c, 'a> {
    ctx: &'c FileCtx<'a>,
    header_addr: u64,
    client: u8,
    format: EntryFormat,
    geometry: Geometry,
    /// Entries at or past this index were never written.
    end: u64,
    /// Entries before the data blocks (the index block's).
    index_entries: u64,
    seen: HashSet<u64>,
    /// Every block read, as `(address, length)`; a paged data block's
    /// extent includes its pages.
    taken: Vec<(u64, u64)>,
}

impl<'a> Walker<'_, 'a> {
    /// Checks the rest of the common block prefix (the signature was
    /// checked by [`Walker::block`]): version, client id, header address.
    fn prefix(&self, c: &mut Cursor, what: &str, addr: u64) -> Result<()> {
        c.skip(4)?;
        let version = c.u8()?;
        if version != 0 {
            return Err(Error::format(format!("{what}: version {version}"), addr));
        }
        super::check_block_owner(c, what, addr, self.client, self.header_addr)?;
        Ok(())
    }

    /// Bytes of the fixed part of a block: signature, version, client id,
    /// header address.
    fn prefix_len(&self) -> u64 {
        6 + self.ctx.sizes.offset as u64
    }

    /// The `len` bytes of the block at `addr`, signature and checksum
    /// verified, after checking that no other reference led to the same
    /// block.
    fn block(
        &mut self,
        addr: u64,
        len: Option<u64>,
        sig: &[u8; 4],
        what: &str,
    ) -> Result<&'a [u8]> {
        if !self.seen.insert(addr) {
            return Err(Error::format(
                format!("{what}: block is referenced more than once"),
                addr,
            ));
        }
        let len = len.ok_or_else(|| Error::format(format!("{what}: size overflows"), addr))?;
        let b = self.ctx.slice(addr, len, what)?;
        Cursor::new(b, addr, self.ctx.sizes).signature(sig, what)?;
        checksum::verify(b, what, addr)?;
        self.taken.push((addr, len));
        Ok(b)
    }

    fn index_block(&mut self, addr: u64, each: &mut dyn FnMut(u64, Entry)) -> Result<()> {
        const WHAT: &str = "extensible array index block";
        let o = self.ctx.sizes.offset as u64;
        let esize = self.format.entry_size() as u64;
        let n_supers = self.geometry.index_super_addresses() as u64;
        let len = (self.index_entries * esize)
            .checked_add(self.geometry.index_data_blocks * o)
            .and_then(|n| n.checked_add(n_supers * o))
            .and_then(|n| n.checked_add(self.prefix_len() + 4));
        let b = self.block(addr, len, INDEX_BLOCK_SIGNATURE, WHAT)?;
        let mut c = Cursor::new(b, addr, self.ctx.sizes);
        self.prefix(&mut c, WHAT, addr)?;
        for i in 0..self.index_entries {
            let e = self.format.decode(&mut c)?;
            if let Some(e) = e.filter(|_| i < self.end) {
                each(i, e);
            }
        }
        let mut data_blocks = Vec::new();
        for _ in 0..self.geometry.index_data_blocks {
            data_blocks.push(c.address_field()?);
        }
        let mut supers = Vec::new();
        for _ in 0..n_supers {
            supers.push(c.address_field()?);
        }
        // The index block's data blocks, super block by super block.
        let mut listed = data_blocks.into_iter();
        for s in 0..self.geometry.index_supers {
            let Some(&info) = self.geometry.supers.get(s) else {
                break;
            };
            for k in 0..info.data_blocks {
                let first = info.block_start(k);
                if self.index_entries.saturating_add(first) >= self.end {
                    return Ok(());
                }
                let Some(dblock) = listed.next().flatten() else {
                    continue;
                };
                if self.geometry.paged(info.block_entries).is_some() {
                    return Err(Error::unsupported(format!(
                        "extensible array data block at {dblock:#x}: paged data block \
                         listed by the index block"
                    )));
                }
                self.data_block(dblock, first, info.block_entries, None, each)?;
            }
        }
        for (i, sblock) in supers.into_iter().enumerate() {
            let s = self.geometry.index_supers + i;
            let Some(&info) = self.geometry.supers.get(s) else {
                break;
            };
            if self.index_entries.saturating_add(info.start) >= self.end {
                break;
            }
            if let Some(sblock) = sblock {
                self.super_block(sblock, info, each)?;
            }
        }
        Ok(())
    }

    fn super_block(
        &mut self,
        addr: u64,
        info: SuperBlockInfo,
        each: &mut dyn FnMut(u64, Entry),
    ) -> Result<()> {
        const WHAT: &str = "extensible array super block";
        let o = self.ctx.sizes.offset as u64;
        let paged = self.geometry.paged(info.block_entries);
        let pages = paged.map_or(0, |pe| info.block_entries / pe);
        // libhdf5 reserves ceil(pages / 8) bytes per data block, though it
        // numbers the bits continuously (data block k, page j: bit k * pages + j).
        let bitmap_len = info.data_blocks.checked_mul(pages.div_ceil(8));
        let len = bitmap_len
            .and_then(|n| n.checked_add(self.geometry.offset_width as u64))
            .and_then(|n| n.checked_add(info.data_blocks.checked_mul(o)?))
            .and_then(|n| n.checked_add(self.prefix_len() + 4));
        let b = self.block(addr, len, SUPER_BLOCK_SIGNATURE, WHAT)?;
        let mut c = Cursor::new(b, addr, self.ctx.sizes);
        self.prefix(&mut c, WHAT, addr)?;
        c.skip(self.geometry.offset_width)?;
        let bitmap = c.bytes(bitmap_len.unwrap_or(0) as usize)?;
        for k in 0..info.data_blocks {
            let dblock = c.address_field()?;
            let first = info.block_start(k);
            if self.index_entries.saturating_add(first) >= self.end {
                break;
            }
            let Some(dblock) = dblock else {
                continue;
            };
            let page_bits = paged.map(|_| (bitmap, k * pages));
            self.data_block(dblock, first, info.block_entries, page_bits, each)?;
        }
        Ok(())
    }

    /// Reads the data block at `addr` holding `n` entries from data block
    /// entry `first`. `pages` gives a paged block's bitmap and the bit of
    /// its first page.
    fn data_block(
        &mut self,
        addr: u64,
        first: u64,
        n: u64,
        pages: Option<(&[u8], u64)>,
        each: &mut dyn FnMut(u64, Entry),
    ) -> Result<()> {
        const WHAT: &str = "extensible array data block";
        let esize = self.format.entry_size() as u64;
        let entries_len = if pages.is_some() {
            Some(0)
        } else {
            n.checked_mul(esize)
        };
        let head = self.prefix_len() + self.geometry.offset_width as u64 + 4;
        let len = entries_len.and_then(|e| e.checked_add(head));
        let b = self.block(addr, len, DATA_BLOCK_SIGNATURE, WHAT)?;
        let mut c = Cursor::new(b, addr, self.ctx.sizes);
        self.prefix(&mut c, WHAT, addr)?;
        c.skip(self.geometry.offset_width)?;
        let base = self.index_entries.saturating_add(first);
        let end = self.end;
        let Some((bitmap, first_bit)) = pages else {
            for i in 0..n {
                let e = self.format.decode(&mut c)?;
                if base.saturating_add(i) >= end {
                    break;
                }
                if let Some(e) = e {
                    each(base + i, e);
                }
            }
            return Ok(());
        };
        let Some(pe) = self.geometry.paged(n) else {
            return Ok(());
        };
        let stride = pe
            .checked_mul(esize)
            .and_then(|s| s.checked_add(4))
            .ok_or_else(|| Error::format(format!("{WHAT}: page size overflows"), addr))?;
        // the pages follow the block in the same allocation, written or not
        let total = (n / pe)
            .checked_mul(stride)
            .and_then(|p| p.checked_add(head))
            .ok_or_else(|| Error::format(format!("{WHAT}: page size overflows"), addr))?;
        if let Some(last) = self.taken.last_mut() {
            *last = (addr, total);
        }
        for page in 0..n / pe {
            let page_first = base.saturating_add(page.saturating_mul(pe));
            if page_first >= end {
                break;
            }
            if !bit_set(bitmap, first_bit + page) {
                continue;
            }
            let page_addr = page
                .checked_mul(stride)
                .and_then(|o| o.checked_add(head))
                .and_then(|o| o.checked_add(addr))
                .ok_or_else(|| Error::format(format!("{WHAT}: page address overflows"), addr))?;
            read_page(
                self.ctx,
                page_addr,
                pe,
                &self.format,
                "extensible array data block page",
                &mut |i, e| {
                    if page_first.saturating_add(i) < end {
                        each(page_first + i, e)
                    }
                },
            )?;
        }
        Ok(())
    }
}

/// Every allocated chunk in the extensible array whose header is at
/// `addr`.
///
/// Records whose coordinates fall outside the current dataset extent are
/// left out (a fixed dimension may be smaller than its maximum).
///
/// # Errors
/// A format error when a block is malformed (signature, version, checksum,
/// header back-pointer), referenced twice or runs past the end of the
/// file, when the array's entry format does not fit the dataset, or when
/// the dataspace does not have exactly one unlimited dimension;
/// unsupported when a data block listed by the index block is paged
/// (libhdf5 never writes one).
pub fn chunks(ctx: &FileCtx, addr: u64, p: &IndexParams) -> Result<Vec<ChunkRecord>> {
    let swizzle = Swizzle::new(p, addr)?;
    let mut out = Vec::new();
    walk(ctx, addr, p, &mut |index, e| {
        if let Some(coords) = swizzle.coords(index) {
            out.push(ChunkRecord {
                coords,
                addr: e.addr,
                size: e.size,
                filter_mask: e.filter_mask,
            });
        }
    })?;
    Ok(out)
}

/// The file space of the extensible array whose header is at `addr`, as
/// `(address, length)` extents: the header, the index block, and every
/// super block and data block the array's readers reach (a paged data
/// block with all its pages, one allocation). Each block is checked as
/// [`chunks`] checks it.
///
/// # Errors
/// As [`chunks`], except that the dataspace may have any number of
/// unlimited dimensions.
pub(crate) fn extents(ctx: &FileCtx, addr: u64, p: &IndexParams) -> Result<Vec<(u64, u64)>> {
    let out = walk(ctx, addr, p, &mut |_, _| {})?;
    // a paged data block's unwritten pages are not read, but are its space
    for &(a, len) in &out {
        ctx.slice(a, len, "extensible array data block")?;
    }
    Ok(out)
}

/// Reads every block of the array at `addr`, calls `each` with the index
/// and contents of every entry written, and returns the blocks' extents.
fn walk(
    ctx: &FileCtx,
    addr: u64,
    p: &IndexParams,
    each: &mut dyn FnMut(u64, Entry),
) -> Result<Vec<(u64, u64)>> {
    let header = ExtensibleArrayHeader::read(ctx, addr)?;
    let format = EntryFormat::for_dataset(ctx.sizes, p).map_err(|e| e.at(addr))?;
    format.check(
        header.client_id,
        header.entry_size as usize,
        "extensible array header",
        addr,
    )?;
    let geometry = Geometry::new(&header, addr)?;
    let header_extent = (addr, ExtensibleArrayHeader::encoded_len(ctx.sizes));
    let Some(iblock) = header.index_block else {
        return Ok(vec![header_extent]);
    };
    let mut walker = Walker {
        ctx,
        header_addr: addr,
        client: header.client_id,
        format,
        geometry,
        end: header.max_index_set,
        index_entries: header.index_block_entries as u64,
        seen: HashSet::from([addr]),
        taken: vec![header_extent],
    };
    walker.index_block(iblock, each)?;
    Ok(walker.taken)
}

/// The creation parameters libhdf5 puts in the layout message of an
/// extensible array index (and in the array's header), whatever the
/// dataset: max bits 32, 4 index block entries, 4 super block min data
/// block pointers, 16 data block min entries, 10 page bits.
pub const LIBHDF5_INDEX: ChunkIndexKind = ChunkIndexKind::ExtensibleArray {
    max_bits: 32,
    index_elements: 4,
    min_pointers: 4,
    min_elements: 16,
    page_bits: 10,
};

impl ExtensibleArrayHeader {
    /// Encodes the header, checksum included.
    pub fn encode(&self, sizes: Sizes) -> Vec<u8> {
        let mut e = Encoder::new(sizes);
        e.bytes(HEADER_SIGNATURE)
            .u8(0)
            .u8(self.client_id)
            .u8(self.entry_size)
            .u8(self.max_index_bits)
            .u8(self.index_block_entries)
            .u8(self.data_block_min_entries)
            .u8(self.super_block_min_pointers)
            .u8(self.page_bits)
            .length(self.super_block_count)
            .length(self.super_block_bytes)
            .length(self.data_block_count)
            .length(self.data_block_bytes)
            .length(self.max_index_set)
            .length(self.realized_entries)
            .address(self.index_block);
        seal(&mut e);
        e.into_bytes()
    }
}

impl Swizzle {
    /// Entry index of the chunk at `coords`; `None` when a fixed
    /// coordinate is outside the grid of the maximum dimensions or the
    /// index overflows.
    fn index(&self, coords: &[u64]) -> Option<u64> {
        if coords.len() != self.fixed_grid.len() + 1 {
            return None;
        }
        let &u = coords.get(self.unlimited)?;
        let fixed: Vec<u64> = coords
            .iter()
            .enumerate()
            .filter(|&(d, _)| d != self.unlimited)
            .map(|(_, &c)| c)
            .collect();
        let within = linearize(&fixed, &self.fixed_grid)?;
        u.checked_mul(self.stride)?.checked_add(within)
    }
}

/// A super block being laid out by [`encode`].
struct OpenSuperBlock {
    /// Its number.
    number: usize,
    /// Its address.
    addr: u64,
    /// Its first entry (after the index block's).
    start: u64,
    /// Addresses of its data blocks.
    data_blocks: Vec<Option<u64>>,
    /// Its page bitmap.
    bitmap: Vec<u8>,
}

/// Lays out one block: the common prefix (signature, version, client id,
/// header address).
fn block_prefix(e: &mut Encoder, sig: &[u8; 4], client: u8, header_addr: u64) {
    e.bytes(sig).u8(0).u8(client).address(Some(header_addr));
}

/// Lays out the extensible array index of a dataset whose allocated
/// chunks are `records`, as libhdf5 leaves it after writing those chunks
/// in order of their entry index (see the module docs for how chunks map
/// to entries and entries to blocks).
///
/// Blocks are created only where a chunk lies, as libhdf5 creates them:
/// the index block as soon as there is a chunk; a data block (and before
/// its first data block, the super block holding it) when one of its
/// entries is set. Space is requested in libhdf5's creation order:
/// header, index block, then blocks in entry order, a super block before
/// its data blocks. A paged data block is one allocation with its pages;
/// only pages holding a chunk are written and marked in the super block's
/// bitmap. New blocks hold unallocated entries (undefined address, and
/// size and mask 0 when filtered). The header's statistics count the
/// blocks created and their bytes (pages included); "max index set" is
/// one more than the last chunk's entry; realized entries are the index
/// block's plus those of every data block created.
///
/// The data blocks listed by the index block carry the block offset
/// libhdf5 writes (see the module docs), not their true first entry.
/// The creation parameters come from the layout's
/// [`ChunkIndexKind::ExtensibleArray`] ([`LIBHDF5_INDEX`] for libhdf5's).
/// Returns the header's address (the layout message's index address) and
/// the blocks.
///
/// # Errors
/// A usage error when the layout is not an extensible array one, the
/// dataspace does not have exactly one unlimited dimension, a record
/// lies outside the chunk grid or is given twice, the parameters are
/// invalid, a chunk lies past the array's last entry, or a filtered size
/// does not fit its field; unsupported when a data block listed by the
/// index block would be paged; a limits error when a block would exceed
/// the encoder's in-memory bound.
pub fn encode(
    records: &[ChunkRecord],
    p: &IndexParams,
    sizes: Sizes,
    alloc: &mut dyn Allocator,
) -> Result<(u64, Blocks)> {
    const WHAT: &str = "extensible array";
    let ChunkIndexKind::ExtensibleArray {
        max_bits,
        index_elements,
        min_pointers,
        min_elements,
        page_bits,
    } = p.layout.index
    else {
        return Err(Error::usage(format!(
            "{WHAT}: the layout's chunk index is {:?}",
            p.layout.index
        )));
    };
    let usage = |e: Error| Error::usage(format!("{WHAT}: {e}"));
    let format = EntryFormat::for_dataset(sizes, p)?;
    let esize = format.entry_size();
    let entry_size = u8::try_from(esize)
        .map_err(|_| Error::usage(format!("{WHAT}: entries of {esize} bytes")))?;
    let client = format.client_id();
    let mut header = ExtensibleArrayHeader {
        client_id: client,
        entry_size,
        max_index_bits: max_bits,
        index_block_entries: index_elements,
        data_block_min_entries: min_elements,
        super_block_min_pointers: min_pointers,
        page_bits,
        super_block_count: 0,
        super_block_bytes: 0,
        data_block_count: 0,
        data_block_bytes: 0,
        max_index_set: 0,
        realized_entries: 0,
        index_block: None,
    };
    let swizzle = Swizzle::new(p, 0).map_err(usage)?;
    let geometry = Geometry::new(&header, 0).map_err(usage)?;
    let entries = keyed_entries(records, WHAT, &|c| swizzle.index(c))?;

    let header_addr = alloc.alloc(ExtensibleArrayHeader::encoded_len(sizes));
    let Some((&last, _)) = entries.last_key_value() else {
        return Ok((header_addr, vec![(header_addr, header.encode(sizes))]));
    };
    let too_big = || Error::limit(format!("{WHAT}: block size overflows"));
    let o = sizes.offset as u64;
    let esize = esize as u64;
    let ie = index_elements as u64;
    let prefix = 6 + o;
    let ow = geometry.offset_width;
    let n_supers = geometry.index_super_addresses();

    // Index block.
    let iblock_len = (ie * esize)
        .checked_add(geometry.index_data_blocks * o)
        .and_then(|n| n.checked_add(n_supers as u64 * o))
        .and_then(|n| n.checked_add(prefix + 4))
        .ok_or_else(too_big)?;
    block_len(iblock_len, "extensible array index block")?;
    let iblock = alloc.alloc(iblock_len);
    header.index_block = Some(iblock);
    header.max_index_set = last + 1;
    header.realized_entries = ie;
    let mut ib = Encoder::new(sizes);
    block_prefix(&mut ib, INDEX_BLOCK_SIGNATURE, client, header_addr);
    for i in 0..ie {
        format.encode(&mut ib, entries.get(&i))?;
    }

    // Entries past the index block's, grouped by (super block, data block).
    let mut groups: BTreeMap<(usize, u64), Vec<(u64, Entry)>> = BTreeMap::new();
    for (&i, &e) in entries.range(ie..) {
        let d = i - ie;
        let (s, info) = geometry
            .supers
            .iter()
            .enumerate()
            .rev()
            .find(|(_, info)| info.start <= d)
            .ok_or_else(|| Error::usage(format!("{WHAT}: entry {i} is past the array")))?;
        let k = (d - info.start) / info.block_entries;
        if k >= info.data_blocks {
            return Err(Error::usage(format!("{WHAT}: entry {i} is past the array")));
        }
        groups
            .entry((s, k))
            .or_default()
            .push((d - info.block_start(k), e));
    }

    let mut index_dblocks = vec![None; geometry.index_data_blocks as usize];
    let mut super_addrs = vec![None; n_supers];
    let mut blocks = Vec::new();
    // The super block being laid out.
    let mut open: Option<OpenSuperBlock> = None;
    let close = |open: Option<OpenSuperBlock>, blocks: &mut Blocks| {
        if let Some(x) = open {
            let mut e = Encoder::new(sizes);
            block_prefix(&mut e, SUPER_BLOCK_SIGNATURE, client, header_addr);
            e.uint(x.start, ow).bytes(&x.bitmap);
            for a in x.data_blocks {
                e.address(a);
            }
            seal(&mut e);
            blocks.push((x.addr, e.into_bytes()));
        }
    };
    for ((s, k), group) in groups {
        let info = *geometry.supers.get(s).ok_or_else(too_big)?;
        let n = info.block_entries;
        let paged = geometry.paged(n);
        if s < geometry.index_supers && paged.is_some() {
            return Err(Error::unsupported(format!(
                "{WHAT}: a data block listed by the index block would be paged"
            )));
        }
        // The block's slot in the index block, or its super block.
        if s >= geometry.index_supers && open.as_ref().is_none_or(|x| x.number != s) {
            close(open.take(), &mut blocks);
            let pages = paged.map_or(0, |pe| n / pe);
            let bitmap_len = info
                .data_blocks
                .checked_mul(pages.div_ceil(8))
                .ok_or_else(too_big)?;
            let len = bitmap_len
                .checked_add(ow as u64)
                .and_then(|l| l.checked_add(info.data_blocks.checked_mul(o)?))
                .and_then(|l| l.checked_add(prefix + 4))
                .ok_or_else(too_big)?;
            block_len(len, "extensible array super block")?;
            let addr = alloc.alloc(len);
            if let Some(a) = super_addrs.get_mut(s - geometry.index_supers) {
                *a = Some(addr);
            }
            header.super_block_count += 1;
            header.super_block_bytes = header.super_block_bytes.saturating_add(len);
            open = Some(OpenSuperBlock {
                number: s,
                addr,
                start: info.start,
                data_blocks: vec![None; info.data_blocks as usize],
                bitmap: vec![0; bitmap_len as usize],
            });
        }
        let head = prefix + ow as u64 + 4;
        let len = match paged {
            Some(pe) => pe
                .checked_mul(esize)
                .and_then(|x| x.checked_add(4))
                .and_then(|x| x.checked_mul(n / pe))
                .and_then(|x| x.checked_add(head)),
            None => n.checked_mul(esize).and_then(|x| x.checked_add(head)),
        }
        .ok_or_else(too_big)?;
        let addr = alloc.alloc(len);
        header.data_block_count += 1;
        header.data_block_bytes = header.data_block_bytes.saturating_add(len);
        header.realized_entries = header.realized_entries.saturating_add(n);
        let offset = if s < geometry.index_supers {
            let slot = geometry
                .supers
                .iter()
                .take(s)
                .map(|x| x.data_blocks)
                .sum::<u64>()
                + k;
            if let Some(a) = usize::try_from(slot)
                .ok()
                .and_then(|i| index_dblocks.get_mut(i))
            {
                *a = Some(addr);
            }
            // libhdf5 offsets these by the slot among all of the index
            // block's data blocks, not by the position in the super block.
            info.start.saturating_add(slot.saturating_mul(n))
        } else {
            if let Some(a) = open
                .as_mut()
                .and_then(|x| x.data_blocks.get_mut(k as usize))
            {
                *a = Some(addr);
            }
            info.block_start(k)
        };
        let mut e = Encoder::new(sizes);
        block_prefix(&mut e, DATA_BLOCK_SIGNATURE, client, header_addr);
        e.uint(offset, ow);
        let Some(pe) = paged else {
            block_len(len, "extensible array data block")?;
            let mut it = group.iter().peekable();
            for j in 0..n {
                let here = it.next_if(|&&(d, _)| d == j).map(|(_, x)| x);
                format.encode(&mut e, here)?;
            }
            seal(&mut e);
            blocks.push((addr, e.into_bytes()));
            continue;
        };
        seal(&mut e);
        blocks.push((addr, e.into_bytes()));
        let pages = n / pe;
        let stride = pe * esize + 4;
        block_len(stride, "extensible array data block page")?;
        let mut it = group.iter().peekable();
        while let Some(&&(d, _)) = it.peek() {
            let page = d / pe;
            let mut pg = Encoder::new(sizes);
            for j in page * pe..(page + 1) * pe {
                let here = it.next_if(|&&(d, _)| d == j).map(|(_, x)| x);
                format.encode(&mut pg, here)?;
            }
            seal(&mut pg);
            blocks.push((addr + head + page * stride, pg.into_bytes()));
            if let Some(x) = open.as_mut() {
                set_bit(&mut x.bitmap, k * pages + page);
            }
        }
    }
    close(open.take(), &mut blocks);

    for a in index_dblocks.iter().chain(&super_addrs) {
        ib.address(*a);
    }
    seal(&mut ib);
    let mut out = vec![
        (header_addr, header.encode(sizes)),
        (iblock, ib.into_bytes()),
    ];
    out.extend(blocks);
    Ok((header_addr, out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::alloc::{Bump, apply};
    use crate::format::checksum::lookup3;
    use crate::format::layout::{ChunkIndexKind, ChunkedLayout};
    use crate::limits::Limits;

    fn seal(mut b: Vec<u8>) -> Vec<u8> {
        let sum = lookup3(&b, 0);
        b.extend(sum.to_le_bytes());
        b
    }

    fn ctx(data: &[u8]) -> FileCtx<'_> {
        FileCtx {
            data,
            base: 0,
            sizes: Sizes::DEFAULT,
            limits: Limits::default(),
        }
    }

    fn layout(dims: &[u64]) -> ChunkedLayout {
        ChunkedLayout {
            version: 4,
            dims: dims.to_vec(),
            element_size: 1,
            index: ChunkIndexKind::ExtensibleArray {
                max_bits: 32,
                index_elements: 4,
                min_pointers: 4,
                min_elements: 16,
                page_bits: 10,
            },
            address: Some(0),
            dont_filter_partial_edges: false,
        }
    }

    fn addr(a: Option<u64>) -> [u8; 8] {
        a.unwrap_or(u64::MAX).to_le_bytes()
    }

    fn addrs(a: &[Option<u64>]) -> Vec<u8> {
        a.iter().flat_map(|&x| addr(x)).collect()
    }

    /// Header with entry size 8 (unfiltered, 8-byte addresses).
    fn header(params: [u8; 5], max_index_set: u64, iblock: u64) -> Vec<u8> {
        let mut b = b"EAHD".to_vec();
        b.extend([0, 0, 8]);
        b.extend(params);
        for v in [0u64, 0, 0, 0, max_index_set, 0] {
            b.extend(v.to_le_bytes());
        }
        b.extend(iblock.to_le_bytes());
        seal(b)
    }

    fn block(sig: &[u8; 4], offset: Option<&[u8]>, body: &[u8]) -> Vec<u8> {
        let mut b = sig.to_vec();
        b.extend([0, 0]);
        b.extend(0u64.to_le_bytes());
        if let Some(o) = offset {
            b.extend(o);
        }
        b.extend(body);
        seal(b)
    }

    /// A file image with `blocks` at their addresses and 0xee elsewhere.
    fn image(blocks: &[(usize, &[u8])]) -> Vec<u8> {
        let len = blocks.iter().map(|(a, b)| a + b.len()).max().unwrap_or(0) + 16;
        let mut f = vec![0xee; len];
        for (at, b) in blocks {
            f[*at..*at + b.len()].copy_from_slice(b);
        }
        f
    }

    #[test]
    fn header_written_by_libhdf5() {
        // The header of a (5, 37) dataset, maximum (5, unlimited), chunks
        // (2, 4): 30 chunks written, two data blocks of 16 and 32 entries.
        let b: &[u8] = &[
            0x45, 0x41, 0x48, 0x44, 0x00, 0x00, 0x08, 0x20, 0x04, 0x10, 0x04, 0x0a, //
            0, 0, 0, 0, 0, 0, 0, 0, //
            0, 0, 0, 0, 0, 0, 0, 0, //
            0x02, 0, 0, 0, 0, 0, 0, 0, //
            0xac, 0x01, 0, 0, 0, 0, 0, 0, //
            0x1e, 0, 0, 0, 0, 0, 0, 0, //
            0x34, 0, 0, 0, 0, 0, 0, 0, //
            0x07, 0x02, 0, 0, 0, 0, 0, 0, //
            0x7e, 0xd2, 0xae, 0x18,
        ];
        let h = ExtensibleArrayHeader::read(&ctx(b), 0).unwrap();
        assert_eq!(
            (
                h.entry_size,
                h.max_index_bits,
                h.index_block_entries,
                h.data_block_min_entries,
                h.super_block_min_pointers,
                h.page_bits
            ),
            (8, 32, 4, 16, 4, 10)
        );
        assert_eq!(
            (h.data_block_count, h.max_index_set, h.realized_entries),
            (2, 30, 52)
        );
        assert_eq!(h.index_block, Some(0x207));
        let g = Geometry::new(&h, 0).unwrap();
        assert_eq!(g.supers.len(), 29);
        assert_eq!((g.index_supers, g.index_data_blocks), (4, 6));
        assert_eq!(g.offset_width, 4);
        let starts: Vec<_> = g.supers[..6]
            .iter()
            .map(|s| (s.data_blocks, s.block_entries, s.start))
            .collect();
        assert_eq!(
            starts,
            vec![
                (1, 16, 0),
                (1, 32, 16),
                (2, 32, 48),
                (2, 64, 112),
                (4, 64, 240),
                (4, 128, 496)
            ]
        );
        // Super block 13 is the first whose data blocks (2048) are paged.
        assert_eq!(g.supers[13].start, 131056);
        assert_eq!(g.paged(g.supers[12].block_entries), None);
        assert_eq!(g.paged(g.supers[13].block_entries), Some(1024));
    }

    #[test]
    fn swizzled_coordinates() {
        // (5, n), maximum (5, unlimited), chunks (2, 4): 3 fixed chunks.
        let l = layout(&[2, 4]);
        let p = IndexParams {
            layout: &l,
            dims: &[5, 37],
            max_dims: &[Some(5), None],
            filtered: false,
        };
        let s = Swizzle::new(&p, 0).unwrap();
        assert_eq!(s.coords(0), Some(vec![0, 0]));
        assert_eq!(s.coords(2), Some(vec![2, 0]));
        assert_eq!(s.coords(3), Some(vec![0, 1]));
        assert_eq!(s.coords(29), Some(vec![2, 9]));
        assert_eq!(s.coords(30), None);
        // (3, n, 5), maximum (7, unlimited, 5), chunks (2, 4, 3): the fixed
        // grid is 4 x 2 over the maximum, 2 x 2 of it in the extent.
        let l = layout(&[2, 4, 3]);
        let p = IndexParams {
            layout: &l,
            dims: &[3, 9, 5],
            max_dims: &[Some(7), None, Some(5)],
            filtered: false,
        };
        let s = Swizzle::new(&p, 0).unwrap();
        assert_eq!(s.coords(3), Some(vec![1, 0, 1]));
        assert_eq!(s.coords(4), None);
        assert_eq!(s.coords(8), Some(vec![0, 1, 0]));
        assert_eq!(s.coords(19), Some(vec![1, 2, 1]));
        // Two unlimited dimensions: not an extensible array dataset.
        let p = IndexParams {
            max_dims: &[None, None, Some(5)],
            ..p
        };
        assert!(Swizzle::new(&p, 0).is_err());
    }

    /// Small parameters: max index bits 8, 2 index block entries, data
    /// blocks of at least 2 entries, 2 data block pointers per super block,
    /// pages of 4 entries. Super blocks: s0 1x2, s1 1x4 (both listed by the
    /// index block), s2 2x4, s3 2x8 (paged, 2 pages per data block), ...
    const SMALL: [u8; 5] = [8, 2, 2, 2, 2];

    #[test]
    fn walks_every_kind_of_block() {
        let l = layout(&[1]);
        let p = IndexParams {
            layout: &l,
            dims: &[40],
            max_dims: &[None],
            filtered: false,
        };
        let h = header(SMALL, 40, 0x100);
        // Index block: 2 entries, 2 data block addresses, 8 - 2 = 6 super
        // block addresses (1 + 8 - 1 = 8 super blocks).
        let mut body = addrs(&[Some(0x1000), None]);
        body.extend(addrs(&[Some(0x200), Some(0x300)]));
        body.extend(addrs(&[Some(0x400), Some(0x500), None, None, None, None]));
        let ib = block(b"EAIB", None, &body);
        // Data block of s0 (entries 2, 3), of s1 (entries 4..8).
        let d0 = block(b"EADB", Some(&[0]), &addrs(&[None, Some(0x1003)]));
        let d1 = block(
            b"EADB",
            Some(&[2]),
            &addrs(&[Some(0x1004), None, None, Some(0x1007)]),
        );
        // s2: data blocks of 4 entries (8..12, 12..16); the second missing.
        let mut body = addrs(&[Some(0x600), None]);
        let s2 = block(b"EASB", Some(&[6]), &body);
        let d2 = block(
            b"EADB",
            Some(&[6]),
            &addrs(&[None, Some(0x1009), None, None]),
        );
        // s3: 2 paged data blocks of 8 (16..24, 24..32). The bitmap has a
        // byte per data block but numbers bits continuously: block 0 pages
        // 0, 1, block 1 pages 0, 1 -> 0b0110_0000: block 0 page 1 and block
        // 1 page 0 written; the second byte is padding.
        body = vec![0b0110_0000, 0];
        body.extend(addrs(&[Some(0x700), Some(0x800)]));
        let s3 = block(b"EASB", Some(&[14]), &body);
        let d3a = block(b"EADB", Some(&[14]), &[]);
        let d3b = block(b"EADB", Some(&[22]), &[]);
        let page = |a: &[Option<u64>]| seal(addrs(a));
        let head = d3a.len();
        let stride = 4 * 8 + 4;
        let f = image(&[
            (0, &h),
            (0x100, &ib),
            (0x200, &d0),
            (0x300, &d1),
            (0x400, &s2),
            (0x500, &s3),
            (0x600, &d2),
            (0x700, &d3a),
            (
                0x700 + head + stride,
                &page(&[Some(0x1014), None, None, None]),
            ),
            (0x800, &d3b),
            (0x800 + head, &page(&[None, None, None, Some(0x101b)])),
        ]);
        let r = chunks(&ctx(&f), 0, &p).unwrap();
        let mut got: Vec<_> = r.iter().map(|c| (c.coords[0], c.addr)).collect();
        got.sort();
        let want: Vec<_> = [0u64, 3, 4, 7, 9, 20, 27]
            .iter()
            .map(|&i| (i, 0x1000 + i))
            .collect();
        assert_eq!(got, want);

        // Entries are read only up to "max index set": with 25, the chunk
        // at entry 27 is not reported.
        let h25 = header(SMALL, 25, 0x100);
        let mut f25 = f.clone();
        f25[..h25.len()].copy_from_slice(&h25);
        let r = chunks(&ctx(&f25), 0, &p).unwrap();
        assert_eq!(r.len(), 6);
        assert!(r.iter().all(|c| c.coords[0] < 25));
    }

    #[test]
    fn blocks_referenced_twice_are_rejected() {
        let l = layout(&[1]);
        let p = IndexParams {
            layout: &l,
            dims: &[40],
            max_dims: &[None],
            filtered: false,
        };
        let h = header(SMALL, 40, 0x100);
        let mut body = addrs(&[None, None]);
        body.extend(addrs(&[Some(0x200), Some(0x200)]));
        body.extend(addrs(&[None; 6]));
        let ib = block(b"EAIB", None, &body);
        let d0 = block(b"EADB", Some(&[0]), &addrs(&[None, Some(0x1003)]));
        let f = image(&[(0, &h), (0x100, &ib), (0x200, &d0)]);
        let e = chunks(&ctx(&f), 0, &p).unwrap_err();
        assert!(e.to_string().contains("more than once"), "{e}");
    }

    #[test]
    fn bad_blocks_are_format_errors() {
        let l = layout(&[1]);
        let p = IndexParams {
            layout: &l,
            dims: &[40],
            max_dims: &[None],
            filtered: false,
        };
        let h = header(SMALL, 40, 0x100);
        let mut body = addrs(&[None, None]);
        body.extend(addrs(&[Some(0x200), None]));
        body.extend(addrs(&[None; 6]));
        let ib = block(b"EAIB", None, &body);
        let d0 = block(b"EADB", Some(&[0]), &addrs(&[None, Some(0x1003)]));
        let good = image(&[(0, &h), (0x100, &ib), (0x200, &d0)]);
        assert_eq!(chunks(&ctx(&good), 0, &p).unwrap().len(), 1);
        // Corrupt data block.
        let mut f = good.clone();
        f[0x200 + 20] ^= 1;
        let e = chunks(&ctx(&f), 0, &p).unwrap_err();
        assert!(e.to_string().contains("data block: bad checksum"), "{e}");
        // Wrong signature.
        let mut f = good.clone();
        let bad = block(b"EASB", Some(&[0]), &addrs(&[None, Some(0x1003)]));
        f[0x200..0x200 + bad.len()].copy_from_slice(&bad);
        let e = chunks(&ctx(&f), 0, &p).unwrap_err();
        assert!(e.to_string().contains("bad signature"), "{e}");
        // An address into garbage reports the signature, not the checksum.
        let mut f = good.clone();
        f[0x200..0x204].copy_from_slice(&[0xee; 4]);
        let e = chunks(&ctx(&f), 0, &p).unwrap_err();
        assert!(e.to_string().contains("data block: bad signature"), "{e}");
        // Filtered dataset, unfiltered array.
        let pf = IndexParams {
            filtered: true,
            ..p
        };
        let e = chunks(&ctx(&good), 0, &pf).unwrap_err();
        assert!(e.to_string().contains("client id 0"), "{e}");
        // Truncated file.
        let e = chunks(&ctx(&good[..0x210]), 0, &p).unwrap_err();
        assert!(e.to_string().contains("past the end"), "{e}");
        // Bad parameters: data block min entries not a power of two.
        let h = header([8, 2, 3, 2, 2], 40, 0x100);
        let mut f = good.clone();
        f[..h.len()].copy_from_slice(&h);
        let e = chunks(&ctx(&f), 0, &p).unwrap_err();
        assert!(e.to_string().contains("power of two"), "{e}");
    }

    #[test]
    fn nothing_written_yet() {
        let l = layout(&[1]);
        let p = IndexParams {
            layout: &l,
            dims: &[0],
            max_dims: &[None],
            filtered: false,
        };
        let h = header(SMALL, 0, u64::MAX);
        assert!(chunks(&ctx(&h), 0, &p).unwrap().is_empty());
    }

    #[test]
    fn extreme_parameters_do_not_overflow() {
        let h = ExtensibleArrayHeader {
            client_id: 0,
            entry_size: 8,
            max_index_bits: 64,
            index_block_entries: 255,
            data_block_min_entries: 1,
            super_block_min_pointers: 128,
            page_bits: 255,
            super_block_count: 0,
            super_block_bytes: 0,
            data_block_count: 0,
            data_block_bytes: 0,
            max_index_set: u64::MAX,
            realized_entries: 0,
            index_block: Some(0),
        };
        let g = Geometry::new(&h, 0).unwrap();
        assert!(g.supers.len() <= 65);
        assert_eq!(g.page_entries, None);
        let h = ExtensibleArrayHeader {
            max_index_bits: 65,
            ..h
        };
        assert!(Geometry::new(&h, 0).is_err());
    }

    fn layout_kind(
        dims: &[u64],
        element_size: u64,
        index: ChunkIndexKind,
        version: u8,
    ) -> ChunkedLayout {
        ChunkedLayout {
            version,
            element_size,
            index,
            ..layout(dims)
        }
    }

    fn small() -> ChunkIndexKind {
        ChunkIndexKind::ExtensibleArray {
            max_bits: 8,
            index_elements: 2,
            min_pointers: 2,
            min_elements: 2,
            page_bits: 2,
        }
    }

    fn record(coords: &[u64], addr: u64, size: u64, filter_mask: u32) -> ChunkRecord {
        ChunkRecord {
            coords: coords.to_vec(),
            addr,
            size,
            filter_mask,
        }
    }

    fn sorted(r: &[ChunkRecord]) -> Vec<ChunkRecord> {
        let mut v = r.to_vec();
        v.sort_by(|a, b| a.coords.cmp(&b.coords));
        v
    }

    /// Encodes with a bump allocator from `at`, decodes the image and
    /// returns the sorted records, the header (decoded) and the blocks.
    fn round_trip(
        records: &[ChunkRecord],
        p: &IndexParams,
        sizes: Sizes,
        at: u64,
    ) -> (Vec<ChunkRecord>, ExtensibleArrayHeader, Blocks) {
        let mut bump = Bump { next: at };
        let (h, blocks) = encode(records, p, sizes, &mut bump).unwrap();
        let mut img = Vec::new();
        apply(&mut img, &blocks);
        img.resize(bump.next as usize, 0);
        let c = FileCtx {
            data: &img,
            base: 0,
            sizes,
            limits: Limits::default(),
        };
        let got = chunks(&c, h, p).unwrap();
        (
            sorted(&got),
            ExtensibleArrayHeader::read(&c, h).unwrap(),
            blocks,
        )
    }

    #[test]
    fn header_encodes_as_libhdf5_writes_it() {
        let b: &[u8] = &[
            0x45, 0x41, 0x48, 0x44, 0x00, 0x00, 0x08, 0x20, 0x04, 0x10, 0x04, 0x0a, //
            0, 0, 0, 0, 0, 0, 0, 0, //
            0, 0, 0, 0, 0, 0, 0, 0, //
            0x02, 0, 0, 0, 0, 0, 0, 0, //
            0xac, 0x01, 0, 0, 0, 0, 0, 0, //
            0x1e, 0, 0, 0, 0, 0, 0, 0, //
            0x34, 0, 0, 0, 0, 0, 0, 0, //
            0x07, 0x02, 0, 0, 0, 0, 0, 0, //
            0x7e, 0xd2, 0xae, 0x18,
        ];
        let h = ExtensibleArrayHeader::read(&ctx(b), 0).unwrap();
        assert_eq!(h.encode(Sizes::DEFAULT), b);
    }

    #[test]
    fn one_chunk_in_the_index_block_byte_for_byte() {
        // libhdf5's parameters; chunk 1 of a 1-D dataset: header, then an
        // index block of 4 entries, 6 data block and 25 super block
        // addresses; nothing else.
        let l = layout_kind(&[1], 1, LIBHDF5_INDEX, 4);
        let p = IndexParams {
            layout: &l,
            dims: &[3],
            max_dims: &[None],
            filtered: false,
        };
        let mut bump = Bump { next: 0x40 };
        let (h, blocks) =
            encode(&[record(&[1], 0x800, 1, 0)], &p, Sizes::DEFAULT, &mut bump).unwrap();
        assert_eq!(h, 0x40);
        let hl = ExtensibleArrayHeader::encoded_len(Sizes::DEFAULT);
        let mut hb = b"EAHD".to_vec();
        hb.extend([0, 0, 8, 32, 4, 16, 4, 10]);
        for v in [0u64, 0, 0, 0, 2, 4, 0x40 + hl] {
            hb.extend(v.to_le_bytes());
        }
        let mut ib = b"EAIB".to_vec();
        ib.extend([0, 0]);
        ib.extend(0x40u64.to_le_bytes());
        ib.extend(addrs(&[None, Some(0x800), None, None]));
        ib.extend(addrs(&[None; 31]));
        assert_eq!(
            blocks,
            vec![(0x40, seal(hb)), (0x40 + hl, seal(ib.clone()))]
        );
        assert_eq!(ib.len() + 4, 298);
        assert_eq!(bump.next, 0x40 + hl + 298);
    }

    #[test]
    fn index_block_data_blocks_carry_libhdf5_offsets() {
        // libhdf5's parameters, 1-D: entries 4 .. 4 + 240 fill the six
        // data blocks listed by the index block; their block offsets are
        // 0, 48, 112, 144, 368, 432.
        let l = layout_kind(&[1], 1, LIBHDF5_INDEX, 4);
        let p = IndexParams {
            layout: &l,
            dims: &[300],
            max_dims: &[None],
            filtered: false,
        };
        let recs: Vec<_> = (0..244).map(|i| record(&[i], 0x10000 + i, 1, 0)).collect();
        let (got, h, blocks) = round_trip(&recs, &p, Sizes::DEFAULT, 0);
        assert_eq!(got, recs);
        let offsets: Vec<u32> = blocks
            .iter()
            .filter(|(_, b)| b.starts_with(b"EADB"))
            .map(|(_, b)| u32::from_le_bytes([b[14], b[15], b[16], b[17]]))
            .collect();
        assert_eq!(offsets, vec![0, 48, 112, 144, 368, 432]);
        assert_eq!(
            (
                h.data_block_count,
                h.data_block_bytes,
                h.max_index_set,
                h.realized_entries
            ),
            (6, 150 + 278 + 2 * 278 + 2 * 534, 244, 244)
        );
        assert_eq!((h.super_block_count, h.super_block_bytes), (0, 0));
    }

    #[test]
    fn super_blocks_and_pages() {
        // Small parameters (see SMALL): entries 2.., s0 1x2, s1 1x4, s2 2x4
        // (super block), s3 2x8 (paged, 2 pages of 4 per data block).
        let l = layout_kind(&[1], 1, small(), 4);
        let p = IndexParams {
            layout: &l,
            dims: &[40],
            max_dims: &[None],
            filtered: false,
        };
        let at = [0u64, 3, 4, 7, 9, 20, 27];
        let recs: Vec<_> = at.iter().map(|&i| record(&[i], 0x1000 + i, 1, 0)).collect();
        let (got, h, blocks) = round_trip(&recs, &p, Sizes::DEFAULT, 0);
        assert_eq!(got, recs);
        // Blocks come out header, index block, then as each super block
        // is completed; pages follow their data block.
        let sigs: Vec<&[u8]> = blocks
            .iter()
            .map(|(_, b)| match &b[..4] {
                s @ (b"EAHD" | b"EAIB" | b"EASB" | b"EADB") => s,
                _ => b"page",
            })
            .collect();
        let want: [&[u8]; 11] = [
            b"EAHD", b"EAIB", b"EADB", b"EADB", b"EADB", b"EASB", b"EADB", b"page", b"EADB",
            b"page", b"EASB",
        ];
        assert_eq!(sigs, want);
        // Allocation order: the super block before its data blocks.
        let addr_of = |i: usize| blocks[i].0;
        assert!(addr_of(5) < addr_of(4) && addr_of(10) < addr_of(6));
        // s3's super block: block offset 14, bitmap bits 1 (block 0 page
        // 1) and 2 (block 1 page 0), a byte per data block.
        let (_, s3) = blocks
            .iter()
            .filter(|(_, b)| b.starts_with(b"EASB"))
            .nth(1)
            .unwrap();
        assert_eq!(&s3[14..17], &[14, 0b0110_0000, 0]);
        assert_eq!(
            (h.super_block_count, h.data_block_count, h.max_index_set),
            (2, 5, 28)
        );
        // Realized: 2 + 2 + 4 + 4 + 8 + 8.
        assert_eq!(h.realized_entries, 28);
    }

    #[test]
    fn round_trips() {
        // (5, n), maximum (5, unlimited), chunks (2, 4): 3 fixed chunks per
        // step; and (3, n, 5) with maximum (7, unlimited, 5).
        let l2 = |k, v| layout_kind(&[2, 4], 4, k, v);
        let recs2: Vec<_> = (0..40u64)
            .filter(|j| j % 7 != 3)
            .flat_map(|j| (0..3).map(move |i| (i, j)))
            .filter(|(i, j)| (i + j) % 5 != 0)
            .map(|(i, j)| record(&[i, j], 0x10000 + 100 * j + i, 20 + i, (j % 2) as u32))
            .collect();
        let recs3: Vec<_> = [[0u64, 0, 0], [1, 0, 1], [1, 2, 1], [0, 8, 0]]
            .iter()
            .map(|c| record(c, 0x9000 + c[1], 48, 0))
            .collect();
        for kind in [small(), LIBHDF5_INDEX.clone()] {
            for (version, filtered) in [(4, false), (4, true), (5, true)] {
                for sizes in [Sizes::DEFAULT, Sizes::new(4, 8).unwrap()] {
                    let l = l2(kind.clone(), version);
                    let p = IndexParams {
                        layout: &l,
                        dims: &[5, 160],
                        max_dims: &[Some(5), None],
                        filtered,
                    };
                    let want: Vec<_> = recs2
                        .iter()
                        .map(|r| ChunkRecord {
                            size: if filtered { r.size } else { 32 },
                            filter_mask: if filtered { r.filter_mask } else { 0 },
                            ..r.clone()
                        })
                        .collect();
                    let (got, h, _) = round_trip(&recs2, &p, sizes, 0x30);
                    assert_eq!(got, sorted(&want), "{kind:?} v{version} {filtered}");
                    assert_eq!(h.max_index_set, 39 * 3 + 3);
                    let l = ChunkedLayout {
                        dims: vec![2, 4, 3],
                        ..l.clone()
                    };
                    let p = IndexParams {
                        layout: &l,
                        dims: &[3, 40, 5],
                        max_dims: &[Some(7), None, Some(5)],
                        filtered,
                    };
                    let (got, _, _) = round_trip(&recs3, &p, sizes, 0x30);
                    let want: Vec<_> = recs3
                        .iter()
                        .map(|r| ChunkRecord {
                            size: if filtered { 48 } else { 96 },
                            ..r.clone()
                        })
                        .collect();
                    assert_eq!(got, sorted(&want));
                }
            }
        }
    }

    #[test]
    fn encode_rejects_bad_input() {
        let l = layout_kind(&[1], 1, small(), 4);
        let p = IndexParams {
            layout: &l,
            dims: &[600],
            max_dims: &[None],
            filtered: false,
        };
        let mut bump = Bump { next: 0 };
        let mut run = |r: &[ChunkRecord], p: &IndexParams| {
            encode(r, p, Sizes::DEFAULT, &mut bump)
                .unwrap_err()
                .to_string()
        };
        let e = run(&[record(&[1], 1, 1, 0), record(&[1], 2, 1, 0)], &p);
        assert!(e.contains("twice"), "{e}");
        // Past the last of the 8 super blocks (2 + 510 entries in all).
        let e = run(&[record(&[512], 1, 1, 0)], &p);
        assert!(e.contains("past the array"), "{e}");
        let e = run(&[record(&[1, 1], 1, 1, 0)], &p);
        assert!(e.contains("outside"), "{e}");
        let e = run(
            &[],
            &IndexParams {
                max_dims: &[Some(40)],
                ..p
            },
        );
        assert!(e.contains("unlimited"), "{e}");
        let fa = ChunkedLayout {
            index: ChunkIndexKind::FixedArray { page_bits: 10 },
            ..l.clone()
        };
        let e = run(&[], &IndexParams { layout: &fa, ..p });
        assert!(e.contains("chunk index is FixedArray"), "{e}");
        let bad = layout_kind(
            &[1],
            1,
            ChunkIndexKind::ExtensibleArray {
                max_bits: 8,
                index_elements: 2,
                min_pointers: 2,
                min_elements: 3,
                page_bits: 2,
            },
            4,
        );
        let e = run(&[], &IndexParams { layout: &bad, ..p });
        assert!(e.contains("power of two"), "{e}");
        // No chunk: a header with no index block.
        let (h, blocks) = encode(&[], &p, Sizes::DEFAULT, &mut Bump { next: 0 }).unwrap();
        assert_eq!(h, 0);
        assert_eq!(blocks.len(), 1);
        let r = ExtensibleArrayHeader::read(&ctx(&blocks[0].1), 0).unwrap();
        assert_eq!((r.index_block, r.max_index_set), (None, 0));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(64))]
            /// Any set of chunks of a (fixed, unlimited) dataset comes back
            /// from the encoded array, with small parameters (super blocks
            /// and pages early) or libhdf5's.
            #[test]
            fn encode_then_decode(
                fixed in 1u64..4,
                steps in 1u64..120,
                keep in prop::collection::vec(any::<bool>(), 360),
                small_params in any::<bool>(),
                filtered in any::<bool>(),
            ) {
                let kind = if small_params { small() } else { LIBHDF5_INDEX.clone() };
                let l = layout_kind(&[1, 1], 2, kind, 5);
                let p = IndexParams {
                    layout: &l,
                    dims: &[fixed, steps],
                    max_dims: &[Some(fixed), None],
                    filtered,
                };
                let recs: Vec<_> = (0..fixed)
                    .flat_map(|i| (0..steps).map(move |j| (i, j)))
                    .filter(|&(i, j)| keep[(j * fixed + i) as usize])
                    .map(|(i, j)| {
                        let size = if filtered { 1 + i + j } else { 2 };
                        record(&[i, j], 0x100000 + j * 8 + i, size, 0)
                    })
                    .collect();
                let (got, h, _) = round_trip(&recs, &p, Sizes::DEFAULT, 0x20);
                prop_assert_eq!(got, recs.clone());
                let last = recs.iter().map(|r| r.coords[1] * fixed + r.coords[0]).max();
                prop_assert_eq!(h.max_index_set, last.map_or(0, |x| x + 1));
            }
        }
    }

    #[test]
    fn extents_are_every_block_encoded() {
        use crate::format::btree_v2::tests::Log;
        // (n,) with maximum (unlimited,), chunks of 1: with small() the
        // data blocks of 8 entries and more are paged (4-entry pages)
        let l = layout_kind(&[1], 4, small(), 4);
        for n in [0u64, 1, 3, 10, 40, 120, 200] {
            for skip in [1u64, 3] {
                let p = IndexParams {
                    layout: &l,
                    dims: &[n],
                    max_dims: &[None],
                    filtered: false,
                };
                let recs: Vec<_> = (0..n)
                    .filter(|i| i % skip == 0)
                    .map(|i| record(&[i], 0x100000 + 4 * i, 4, 0))
                    .collect();
                let mut log = Log::at(0x30);
                let (h, blocks) = encode(&recs, &p, Sizes::DEFAULT, &mut log).unwrap();
                let mut img = Vec::new();
                apply(&mut img, &blocks);
                img.resize(log.next as usize, 0);
                let c = FileCtx {
                    data: &img,
                    base: 0,
                    sizes: Sizes::DEFAULT,
                    limits: Limits::default(),
                };
                let mut got = extents(&c, h, &p).unwrap();
                got.sort_unstable();
                assert_eq!(got, log.sorted(), "{n} chunks, every {skip}");
                if n == 200 && skip == 1 {
                    // paged data blocks: their extents cover the pages
                    assert!(got.iter().any(|&(_, len)| len > 22 + 4 * 8));
                }
            }
        }
        // a block that is not one
        let p = IndexParams {
            layout: &l,
            dims: &[40],
            max_dims: &[None],
            filtered: false,
        };
        let recs: Vec<_> = (0..40).map(|i| record(&[i], 0x9000 + i, 4, 0)).collect();
        let mut log = Log::at(0);
        let (h, blocks) = encode(&recs, &p, Sizes::DEFAULT, &mut log).unwrap();
        let mut img = Vec::new();
        apply(&mut img, &blocks);
        img.resize(log.next as usize, 0);
        let last = log.taken.last().unwrap().0 as usize;
        img[last] = b'X';
        let c = FileCtx {
            data: &img,
            base: 0,
            sizes: Sizes::DEFAULT,
            limits: Limits::default(),
        };
        assert!(extents(&c, h, &p).is_err());
    }
}
