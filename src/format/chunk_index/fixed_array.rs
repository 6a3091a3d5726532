//! Chunk index: fixed array (spec VII.C), used by layout message version 4
//! and later for datasets whose maximum dimensions are all fixed.
//!
//! One entry per chunk of the grid over the *maximum* dimensions, in
//! row-major order of that grid, so a dataset smaller than its maximum
//! leaves entries unused (undefined address).
//!
//! ```text
//! header:     "FAHD" | version 0 | client id | entry size | page bits
//!             | entry count (L) | data block address (O) | checksum (4)
//! data block: "FADB" | version 0 | client id | header address (O)
//!             | unpaged: entries | checksum (4)
//!             | paged:   page bitmap | checksum (4), then the pages
//! page:       entries | checksum (4)
//! ```
//!
//! The data block is paged when the entry count exceeds `2^page bits`:
//! the pages follow the data block's checksum one after another, each of
//! `2^page bits` entries (the last one holds what is left) and its own
//! checksum. Bit `i` of the bitmap, counting from the most significant bit
//! of the first byte, says whether page `i` was ever written; an unwritten
//! page holds garbage (its space is reserved but not initialized) and all
//! its chunks are unallocated.
//!
//! Entry formats (client id 0 unfiltered, 1 filtered):
//!
//! ```text
//! unfiltered:        address (O)
//! filtered, v4:      address (O) | chunk size (w) | filter mask (4)
//!                    w = 1 + bytes needed for the unfiltered chunk size, at most 8
//! filtered, v5:      address (O) | chunk size (L) | filter mask (4)
//! ```
//!
//! The spec gives the layout version 5 chunk size as "size of offsets"
//! bytes; libhdf5 2.0 writes "size of lengths" bytes (files with 4-byte
//! addresses and 8-byte lengths show it). The same entry formats are used
//! by the extensible array.
//!
//! Encode side: [`encode`] lays out the array of a dataset's chunk records
//! as libhdf5 leaves it (header, then data block; a paged data block is one
//! allocation with its pages, of which only those holding a chunk are
//! written and marked in the bitmap); unallocated entries hold the
//! undefined address and, when filtered, size and mask 0. libhdf5 uses
//! [`LIBHDF5_PAGE_BITS`]. Re-encoding the arrays of files written by
//! libhdf5 at their addresses gives their bytes exactly.

use std::collections::BTreeMap;

use super::{ChunkRecord, IndexParams, unlinearize};
use crate::error::{Error, Result};
use crate::format::alloc::{Allocator, Blocks};
use crate::format::cursor::{Cursor, Encoder, bytes_for};
use crate::format::layout::ChunkIndexKind;
use crate::format::{FileCtx, Sizes, checksum};

/// Signature of a fixed array header.
pub const HEADER_SIGNATURE: &[u8; 4] = b"FAHD";
/// Signature of a fixed array data block.
pub const DATA_BLOCK_SIGNATURE: &[u8; 4] = b"FADB";

/// Client id of an array of unfiltered chunk entries.
pub const CLIENT_UNFILTERED: u8 = 0;
/// Client id of an array of filtered chunk entries.
pub const CLIENT_FILTERED: u8 = 1;

/// How one chunk entry of a fixed or extensible array is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryFormat {
    /// Bytes of the chunk address ("size of offsets").
    pub address_width: usize,
    /// Bytes of the stored chunk size; `None` for unfiltered entries,
    /// which hold the address only.
    pub size_width: Option<usize>,
    /// Unfiltered chunk size: the size of every unfiltered chunk.
    pub chunk_bytes: u64,
}

/// One decoded entry whose address is defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// Chunk address.
    pub addr: u64,
    /// Stored chunk size.
    pub size: u64,
    /// Filters skipped for this chunk.
    pub filter_mask: u32,
}

impl EntryFormat {
    /// The entry format libhdf5 uses for this dataset: filtered entries
    /// when the dataset has a filter pipeline, and for those a chunk size
    /// field sized by the layout message version.
    ///
    /// # Errors
    /// A format error when the unfiltered chunk size overflows.
    pub fn for_dataset(sizes: Sizes, p: &IndexParams) -> Result<Self> {
        let chunk_bytes = p.chunk_bytes()?;
        let size_width = if !p.filtered {
            None
        } else if p.layout.version >= 5 {
            Some(sizes.length as usize)
        } else {
            Some((bytes_for(chunk_bytes) + 1).min(8))
        };
        Ok(EntryFormat {
            address_width: sizes.offset as usize,
            size_width,
            chunk_bytes,
        })
    }

    /// The client id an array of these entries carries.
    pub fn client_id(&self) -> u8 {
        if self.size_width.is_some() {
            CLIENT_FILTERED
        } else {
            CLIENT_UNFILTERED
        }
    }

    /// Bytes in one entry.
    pub fn entry_size(&self) -> usize {
        match self.size_width {
            Some(w) => self.address_width + w + 4,
            None => self.address_width,
        }
    }

    /// Checks an array's client id and entry size against this format.
    ///
    /// # Errors
    /// A format error naming `what` at `addr` when they disagree.
    pub fn check(&self, client: u8, entry_size: usize, what: &str, addr: u64) -> Result<()> {
        if client != self.client_id() {
            return Err(Error::format(
                format!(
                    "{what}: client id {client}, but the dataset is {}",
                    if self.size_width.is_some() {
                        "filtered (client id 1)"
                    } else {
                        "unfiltered (client id 0)"
                    }
                ),
                addr,
            ));
        }
        if entry_size != self.entry_size() {
            return Err(Error::format(
                format!(
                    "{what}: entries of {entry_size} bytes, the dataset's chunk entries take {}",
                    self.entry_size()
                ),
                addr,
            ));
        }
        Ok(())
    }

    /// Decodes one entry; `None` when its address is undefined (the chunk
    /// is not allocated).
    ///
    /// # Errors
    /// A format error when the entry runs past the cursor's bytes.
    pub fn decode(&self, c: &mut Cursor) -> Result<Option<Entry>> {
        let addr = c.address_field()?;
        let (size, filter_mask) = match self.size_width {
            Some(w) => (c.uint(w)?, c.u32()?),
            None => (self.chunk_bytes, 0),
        };
        Ok(addr.map(|addr| Entry {
            addr,
            size,
            filter_mask,
        }))
    }
}

/// A decoded fixed array header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedArrayHeader {
    /// Client id: 0 unfiltered chunks, 1 filtered chunks.
    pub client_id: u8,
    /// Bytes in one entry.
    pub entry_size: u8,
    /// log2 of the entries in a data block page.
    pub page_bits: u8,
    /// Number of entries.
    pub entry_count: u64,
    /// Data block address; `None` when no chunk was ever written.
    pub data_block: Option<u64>,
}

impl FixedArrayHeader {
    /// Bytes of a header with these widths.
    pub fn encoded_len(sizes: Sizes) -> u64 {
        4 + 4 + sizes.length as u64 + sizes.offset as u64 + 4
    }

    /// Reads and checks the header at `addr`.
    ///
    /// # Errors
    /// A format error on a bad signature, version or checksum, or when the
    /// header runs past the end of the file.
    pub fn read(ctx: &FileCtx, addr: u64) -> Result<Self> {
        const WHAT: &str = "fixed array header";
        let mut c =
            ctx.checksummed_block(addr, Self::encoded_len(ctx.sizes), HEADER_SIGNATURE, WHAT)?;
        let client_id = c.u8()?;
        let entry_size = c.u8()?;
        let page_bits = c.u8()?;
        let entry_count = c.length()?;
        let data_block = c.address_field()?;
        Ok(FixedArrayHeader {
            client_id,
            entry_size,
            page_bits,
            entry_count,
            data_block,
        })
    }

    /// Entries per data block page; `None` when the data block is not
    /// paged (it holds `2^page_bits` entries or fewer).
    pub fn page_entries(&self) -> Option<u64> {
        1u64.checked_shl(self.page_bits as u32)
            .filter(|&n| self.entry_count > n)
    }
}

/// Every allocated chunk in the fixed array whose header is at `addr`.
///
/// Records whose coordinates fall outside the current dataset extent are
/// left out (the dataset may be smaller than its maximum dimensions).
///
/// # Errors
/// A format error when a block is malformed (signature, version, checksum,
/// header back-pointer), when the array's entry format or entry count does
/// not fit the dataset, or when a block runs past the end of the file.
pub fn chunks(ctx: &FileCtx, addr: u64, p: &IndexParams) -> Result<Vec<ChunkRecord>> {
    let header = FixedArrayHeader::read(ctx, addr)?;
    let format = EntryFormat::for_dataset(ctx.sizes, p).map_err(|e| e.at(addr))?;
    format.check(
        header.client_id,
        header.entry_size as usize,
        "fixed array header",
        addr,
    )?;
    if p.max_dims.len() != p.dims.len() || p.layout.dims.len() != p.dims.len() {
        return Err(Error::format(
            "fixed array index: dimension counts of the dataspace and chunks differ",
            addr,
        ));
    }
    let grid = p.max_chunks_per_dim();
    let expected = grid
        .iter()
        .try_fold(1u64, |a, &n| a.checked_mul(n))
        .ok_or_else(|| Error::format("fixed array header: chunk count overflows", addr))?;
    if header.entry_count != expected {
        return Err(Error::format(
            format!(
                "fixed array header: {} entries, the dataset's chunk grid has {expected}",
                header.entry_count
            ),
            addr,
        ));
    }
    let Some(dblock) = header.data_block else {
        return Ok(Vec::new());
    };
    let current = p.chunks_per_dim();
    let mut out = Vec::new();
    read_data_block(ctx, addr, &header, &format, dblock, &mut |index, entry| {
        let coords = unlinearize(index, &grid);
        if coords.iter().zip(&current).all(|(c, n)| c < n) {
            out.push(ChunkRecord {
                coords,
                addr: entry.addr,
                size: entry.size,
                filter_mask: entry.filter_mask,
            });
        }
    })?;
    Ok(out)
}

/// The file space of the fixed array whose header is at `addr`, as
/// `(address, length)` extents: the header and, once a chunk was written,
/// the data block with all its pages (one allocation, pages written or
/// not). The data block's signature, checksum, client id and header
/// address are checked, and every byte listed is inside the file.
///
/// # Errors
/// A format error when the header or data block is malformed or runs past
/// the end of the file, or when the entry size cannot hold an address.
pub(crate) fn extents(ctx: &FileCtx, addr: u64) -> Result<Vec<(u64, u64)>> {
    const WHAT: &str = "fixed array data block";
    let header = FixedArrayHeader::read(ctx, addr)?;
    let mut out = vec![(addr, FixedArrayHeader::encoded_len(ctx.sizes))];
    let Some(dblock) = header.data_block else {
        return Ok(out);
    };
    let esize = header.entry_size as u64;
    if esize < ctx.sizes.offset as u64 {
        return Err(Error::format(
            format!("fixed array header: entries of {esize} bytes cannot hold an address"),
            addr,
        ));
    }
    let too_big = || Error::format(format!("{WHAT}: size overflows"), dblock);
    let count = header.entry_count;
    let prefix = 6 + ctx.sizes.offset as u64;
    let page_entries = header.page_entries();
    let page_count = page_entries.map_or(0, |n| count.div_ceil(n));
    let body = match page_entries {
        Some(_) => page_count.div_ceil(8),
        None => count.checked_mul(esize).ok_or_else(too_big)?,
    };
    let len = prefix
        .checked_add(body)
        .and_then(|n| n.checked_add(4))
        .ok_or_else(too_big)?;
    let mut c = ctx.checksummed_block(dblock, len, DATA_BLOCK_SIGNATURE, WHAT)?;
    super::check_block_owner(&mut c, WHAT, dblock, header.client_id, addr)?;
    // the pages follow the data block, the last one holding what is left
    let total = match page_entries {
        Some(_) => count
            .checked_mul(esize)
            .and_then(|n| n.checked_add(page_count.checked_mul(4)?))
            .and_then(|n| n.checked_add(len))
            .ok_or_else(too_big)?,
        None => len,
    };
    ctx.slice(dblock, total, WHAT)?;
    out.push((dblock, total));
    Ok(out)
}

/// Reads the data block at `dblock` and calls `each` with the index and
/// contents of every entry whose address is defined.
fn read_data_block(
    ctx: &FileCtx,
    header_addr: u64,
    header: &FixedArrayHeader,
    format: &EntryFormat,
    dblock: u64,
    each: &mut dyn FnMut(u64, Entry),
) -> Result<()> {
    const WHAT: &str = "fixed array data block";
    let esize = format.entry_size() as u64;
    let too_big = || Error::format(format!("{WHAT}: size overflows"), dblock);
    // Signature, version, client id, header address.
    let prefix = 6 + ctx.sizes.offset as u64;
    let count = header.entry_count;
    let page_entries = header.page_entries();
    let page_count = page_entries.map_or(0, |n| count.div_ceil(n));
    let bitmap_len = page_count.div_ceil(8);
    let entries_len = if page_entries.is_some() {
        0
    } else {
        count.checked_mul(esize).ok_or_else(too_big)?
    };
    let len = prefix
        .checked_add(bitmap_len)
        .and_then(|n| n.checked_add(entries_len))
        .and_then(|n| n.checked_add(4))
        .ok_or_else(too_big)?;
    let mut c = ctx.checksummed_block(dblock, len, DATA_BLOCK_SIGNATURE, WHAT)?;
    super::check_block_owner(&mut c, WHAT, dblock, header.client_id, header_addr)?;
    let Some(page_entries) = page_entries else {
        for index in 0..count {
            if let Some(e) = format.decode(&mut c)? {
                each(index, e);
            }
        }
        return Ok(());
    };
    let bitmap = c.bytes(bitmap_len as usize)?;
    let page_stride = page_entries
        .checked_mul(esize)
        .and_then(|n| n.checked_add(4))
        .ok_or_else(too_big)?;
    for page in 0..page_count {
        if !bit_set(bitmap, page) {
            continue;
        }
        let first = page * page_entries;
        let n = page_entries.min(count - first);
        let page_addr = page
            .checked_mul(page_stride)
            .and_then(|o| o.checked_add(len))
            .and_then(|o| o.checked_add(dblock))
            .ok_or_else(too_big)?;
        read_page(
            ctx,
            page_addr,
            n,
            format,
            "fixed array data block page",
            &mut |i, e| each(first + i, e),
        )?;
    }
    Ok(())
}

/// Bit `i` of a page bitmap, counting from the most significant bit of the
/// first byte (how libhdf5 numbers bits in these bitmaps).
pub(crate) fn bit_set(bitmap: &[u8], i: u64) -> bool {
    usize::try_from(i / 8)
        .ok()
        .and_then(|byte| bitmap.get(byte))
        .is_some_and(|b| b & (0x80 >> (i % 8)) != 0)
}

/// Reads one data block page of `n` entries at `addr`, checks its checksum
/// and calls `each` with the in-page index and contents of every entry
/// whose address is defined.
pub(crate) fn read_page(
    ctx: &FileCtx,
    addr: u64,
    n: u64,
    format: &EntryFormat,
    what: &str,
    each: &mut dyn FnMut(u64, Entry),
) -> Result<()> {
    let len = n
        .checked_mul(format.entry_size() as u64)
        .and_then(|l| l.checked_add(4))
        .ok_or_else(|| Error::format(format!("{what}: size overflows"), addr))?;
    let page = ctx.slice(addr, len, what)?;
    checksum::verify(page, what, addr)?;
    let mut c = Cursor::new(page, addr, ctx.sizes);
    for i in 0..n {
        if let Some(e) = format.decode(&mut c)? {
            each(i, e);
        }
    }
    Ok(())
}

/// Page bits libhdf5 puts in the layout message of a fixed array index
/// (and in the array's header): pages of 1024 entries.
pub const LIBHDF5_PAGE_BITS: u8 = 10;

/// The largest block the encoders build in memory (4 GiB): a larger one
/// is a limits error rather than an attempt to allocate it.
pub const MAX_ENCODED_BLOCK: u64 = 1 << 32;

/// Appends the lookup3 checksum of everything written so far.
pub(crate) fn seal(e: &mut Encoder) {
    let sum = checksum::lookup3(e.as_bytes(), 0);
    e.u32(sum);
}

/// A block length as a `usize`, refusing blocks larger than
/// [`MAX_ENCODED_BLOCK`].
pub(crate) fn block_len(len: u64, what: &str) -> Result<usize> {
    if len > MAX_ENCODED_BLOCK {
        return Err(Error::limit(format!(
            "{what}: {len} bytes is more than the encoder builds in memory"
        )));
    }
    usize::try_from(len).map_err(|_| Error::limit(format!("{what}: {len} bytes")))
}

impl EntryFormat {
    /// Encodes one entry; `None` writes an unallocated chunk as libhdf5
    /// does: the undefined address, and for filtered entries a size and
    /// filter mask of 0.
    ///
    /// # Errors
    /// A usage error when a filtered entry's size does not fit its field.
    pub fn encode(&self, e: &mut Encoder, entry: Option<&Entry>) -> Result<()> {
        e.address(entry.map(|x| x.addr));
        if let Some(w) = self.size_width {
            let (size, mask) = entry.map_or((0, 0), |x| (x.size, x.filter_mask));
            if w < 8 && size >> (8 * w) != 0 {
                return Err(Error::usage(format!(
                    "chunk index entry: stored size {size} does not fit in {w} bytes"
                )));
            }
            e.uint(size, w).u32(mask);
        }
        Ok(())
    }
}

impl FixedArrayHeader {
    /// Encodes the header, checksum included.
    pub fn encode(&self, sizes: Sizes) -> Vec<u8> {
        let mut e = Encoder::new(sizes);
        e.bytes(HEADER_SIGNATURE)
            .u8(0)
            .u8(self.client_id)
            .u8(self.entry_size)
            .u8(self.page_bits)
            .length(self.entry_count)
            .address(self.data_block);
        seal(&mut e);
        e.into_bytes()
    }
}

/// Entries of `records` keyed by entry index, `index` mapping a record's
/// coordinates to its entry (`None`: outside the array).
pub(crate) fn keyed_entries(
    records: &[ChunkRecord],
    what: &str,
    index: &dyn Fn(&[u64]) -> Option<u64>,
) -> Result<BTreeMap<u64, Entry>> {
    let mut out = BTreeMap::new();
    for r in records {
        let i = index(&r.coords).ok_or_else(|| {
            Error::usage(format!(
                "{what}: chunk {:?} is outside the dataset's chunk grid",
                r.coords
            ))
        })?;
        let entry = Entry {
            addr: r.addr,
            size: r.size,
            filter_mask: r.filter_mask,
        };
        if out.insert(i, entry).is_some() {
            return Err(Error::usage(format!(
                "{what}: chunk {:?} given twice",
                r.coords
            )));
        }
    }
    Ok(out)
}

/// Row-major linear index of `coords` in a grid of `per_dim` chunks;
/// `None` when a coordinate is outside it (or the index overflows).
pub(crate) fn linearize(coords: &[u64], per_dim: &[u64]) -> Option<u64> {
    if coords.len() != per_dim.len() {
        return None;
    }
    coords.iter().zip(per_dim).try_fold(0u64, |a, (&c, &n)| {
        (c < n).then_some(())?;
        a.checked_mul(n)?.checked_add(c)
    })
}

/// Lays out the fixed array index of a dataset whose allocated chunks are
/// `records`, as libhdf5 leaves it once those chunks are written: the
/// header, then (when there is a chunk) the data block with one entry per
/// chunk of the grid over the maximum dimensions, in row-major order;
/// unallocated chunks get the undefined address. A data block of more than
/// `2^page bits` entries is paged: the whole block, pages included, is one
/// allocation, only the pages holding a chunk are written and marked in the
/// page bitmap (the others are left as they are, as libhdf5 leaves them).
///
/// The page bits come from the layout's [`ChunkIndexKind::FixedArray`].
/// libhdf5 stores no dataset object header address in these blocks. It
/// creates the index only when the first chunk is written; with no
/// records this still returns a header with no data block.
///
/// Space is requested header first, then data block. Returns the
/// header's address (the layout message's index address) and the blocks.
///
/// # Errors
/// A usage error when the layout is not a fixed array one, a record lies
/// outside the maximum chunk grid or is given twice, or a filtered size
/// does not fit its field; a limits error when a block would exceed
/// [`MAX_ENCODED_BLOCK`] bytes.
pub fn encode(
    records: &[ChunkRecord],
    p: &IndexParams,
    sizes: Sizes,
    alloc: &mut dyn Allocator,
) -> Result<(u64, Blocks)> {
    const WHAT: &str = "fixed array";
    let ChunkIndexKind::FixedArray { page_bits } = p.layout.index else {
        return Err(Error::usage(format!(
            "{WHAT}: the layout's chunk index is {:?}",
            p.layout.index
        )));
    };
    if p.max_dims.len() != p.dims.len() || p.layout.dims.len() != p.dims.len() {
        return Err(Error::usage(format!(
            "{WHAT}: dimension counts of the dataspace and chunks differ"
        )));
    }
    let format = EntryFormat::for_dataset(sizes, p)?;
    let esize = format.entry_size();
    let entry_size = u8::try_from(esize)
        .map_err(|_| Error::usage(format!("{WHAT}: entries of {esize} bytes")))?;
    let grid = p.max_chunks_per_dim();
    let count = grid
        .iter()
        .try_fold(1u64, |a, &n| a.checked_mul(n))
        .ok_or_else(|| Error::usage(format!("{WHAT}: chunk count overflows")))?;
    let entries = keyed_entries(records, WHAT, &|c| linearize(c, &grid))?;
    let mut header = FixedArrayHeader {
        client_id: format.client_id(),
        entry_size,
        page_bits,
        entry_count: count,
        data_block: None,
    };
    let header_addr = alloc.alloc(FixedArrayHeader::encoded_len(sizes));
    if entries.is_empty() {
        return Ok((header_addr, vec![(header_addr, header.encode(sizes))]));
    }
    let too_big = || Error::limit(format!("{WHAT} data block: size overflows"));
    let esize = esize as u64;
    let prefix = 6 + sizes.offset as u64;
    let page_entries = header.page_entries();
    let page_count = page_entries.map_or(0, |n| count.div_ceil(n));
    let bitmap_len = page_count.div_ceil(8);
    let body = match page_entries {
        Some(_) => bitmap_len,
        None => count.checked_mul(esize).ok_or_else(too_big)?,
    };
    let dblock_len = prefix
        .checked_add(body)
        .and_then(|n| n.checked_add(4))
        .ok_or_else(too_big)?;
    // Pages follow the data block, the last one holding what is left.
    let total = match page_entries {
        Some(_) => count
            .checked_mul(esize)
            .and_then(|n| n.checked_add(page_count.checked_mul(4)?))
            .and_then(|n| n.checked_add(dblock_len))
            .ok_or_else(too_big)?,
        None => dblock_len,
    };
    let dblock = alloc.alloc(total);
    header.data_block = Some(dblock);
    let mut blocks = vec![(header_addr, header.encode(sizes))];

    let mut e = Encoder::new(sizes);
    e.bytes(DATA_BLOCK_SIGNATURE)
        .u8(0)
        .u8(format.client_id())
        .address(Some(header_addr));
    let Some(page_entries) = page_entries else {
        block_len(dblock_len, "fixed array data block")?;
        for i in 0..count {
            format.encode(&mut e, entries.get(&i))?;
        }
        seal(&mut e);
        blocks.push((dblock, e.into_bytes()));
        return Ok((header_addr, blocks));
    };
    let mut bitmap = vec![0u8; block_len(bitmap_len, "fixed array data block")?];
    let stride = page_entries
        .checked_mul(esize)
        .and_then(|n| n.checked_add(4))
        .ok_or_else(too_big)?;
    let mut pages = Vec::new();
    let mut rest = entries.iter().peekable();
    while let Some(&(&i, _)) = rest.peek() {
        let page = i / page_entries;
        let first = page * page_entries;
        let n = page_entries.min(count - first);
        block_len(n * esize + 4, "fixed array data block page")?;
        let mut pe = Encoder::new(sizes);
        for j in first..first + n {
            let here = rest.next_if(|&(&k, _)| k == j).map(|(_, x)| x);
            format.encode(&mut pe, here)?;
        }
        seal(&mut pe);
        set_bit(&mut bitmap, page);
        let at = page
            .checked_mul(stride)
            .and_then(|o| o.checked_add(dblock_len))
            .and_then(|o| o.checked_add(dblock))
            .ok_or_else(too_big)?;
        pages.push((at, pe.into_bytes()));
    }
    e.bytes(&bitmap);
    seal(&mut e);
    blocks.push((dblock, e.into_bytes()));
    blocks.extend(pages);
    Ok((header_addr, blocks))
}

/// Sets bit `i` of a page bitmap (most significant bit first, as
/// [`bit_set`] reads it).
pub(crate) fn set_bit(bitmap: &mut [u8], i: u64) {
    if let Some(b) = usize::try_from(i / 8).ok().and_then(|k| bitmap.get_mut(k)) {
        *b |= 0x80 >> (i % 8);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::alloc::{Bump, apply};
    use crate::format::checksum::lookup3;
    use crate::format::layout::{ChunkIndexKind, ChunkedLayout};
    use crate::limits::Limits;

    /// Appends the lookup3 checksum of `b` to it.
    fn seal(mut b: Vec<u8>) -> Vec<u8> {
        let sum = lookup3(&b, 0);
        b.extend(sum.to_le_bytes());
        b
    }

    fn layout(version: u8, dims: &[u64], element_size: u64) -> ChunkedLayout {
        ChunkedLayout {
            version,
            dims: dims.to_vec(),
            element_size,
            index: ChunkIndexKind::FixedArray { page_bits: 10 },
            address: Some(0),
            dont_filter_partial_edges: false,
        }
    }

    /// A file image: `blocks` placed at their addresses, the rest 0xee.
    fn image(len: usize, blocks: &[(usize, &[u8])]) -> Vec<u8> {
        let mut f = vec![0xee; len];
        for (at, b) in blocks {
            f[*at..*at + b.len()].copy_from_slice(b);
        }
        f
    }

    fn ctx(data: &[u8], sizes: Sizes) -> FileCtx<'_> {
        FileCtx {
            data,
            base: 0,
            sizes,
            limits: Limits::default(),
        }
    }

    fn header(client: u8, esize: u8, page_bits: u8, count: u64, dblock: u64) -> Vec<u8> {
        let mut b = b"FAHD".to_vec();
        b.extend([0, client, esize, page_bits]);
        b.extend(count.to_le_bytes());
        b.extend(dblock.to_le_bytes());
        seal(b)
    }

    fn addr(a: Option<u64>) -> [u8; 8] {
        a.unwrap_or(u64::MAX).to_le_bytes()
    }

    #[test]
    fn header_written_by_libhdf5() {
        // The header of a (5, 7) dataset with maximum (9, 11) and chunks
        // (2, 3), unfiltered: 5 x 4 = 20 entries of 8 bytes.
        let b: &[u8] = &[
            0x46, 0x41, 0x48, 0x44, 0x00, 0x00, 0x08, 0x0a, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x00, 0xdb, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc3, 0x12, 0xae, 0x0a,
        ];
        let h = FixedArrayHeader::read(&ctx(b, Sizes::DEFAULT), 0).unwrap();
        assert_eq!(
            h,
            FixedArrayHeader {
                client_id: 0,
                entry_size: 8,
                page_bits: 10,
                entry_count: 20,
                data_block: Some(0x1db),
            }
        );
        assert_eq!(h.page_entries(), None);
        let mut bad = b.to_vec();
        bad[8] = 0x15;
        let e = FixedArrayHeader::read(&ctx(&bad, Sizes::DEFAULT), 0).unwrap_err();
        assert!(e.to_string().contains("bad checksum"), "{e}");
    }

    #[test]
    fn unpaged_grid_uses_maximum_dimensions() {
        // Dataset (3, 4), maximum (4, 6), chunks (2, 2): the entries run
        // over the 2 x 3 grid of the maximum, the current grid is 2 x 2.
        let l = layout(4, &[2, 2], 1);
        let p = IndexParams {
            layout: &l,
            dims: &[3, 4],
            max_dims: &[Some(4), Some(6)],
            filtered: false,
        };
        let mut db = b"FADB".to_vec();
        db.extend([0, 0]);
        db.extend(0u64.to_le_bytes());
        for a in [
            Some(0x100),
            None,
            Some(0x300), // (0, 2): outside the current extent
            Some(0x400),
            Some(0x500),
            None,
        ] {
            db.extend(addr(a));
        }
        let db = seal(db);
        let f = image(0x80, &[(0, &header(0, 8, 10, 6, 0x30)), (0x30, &db)]);
        let r = chunks(&ctx(&f, Sizes::DEFAULT), 0, &p).unwrap();
        let got: Vec<_> = r
            .iter()
            .map(|c| (c.coords.clone(), c.addr, c.size))
            .collect();
        assert_eq!(
            got,
            vec![
                (vec![0, 0], 0x100, 4),
                (vec![1, 0], 0x400, 4),
                (vec![1, 1], 0x500, 4)
            ]
        );
    }

    #[test]
    fn filtered_entry_widths() {
        // Chunks of 10 x 30 bytes = 300: two bytes to encode, so layout
        // version 4 stores the size in 3 bytes; version 5 in "size of
        // lengths" bytes (8 here, with 4-byte addresses).
        let l4 = layout(4, &[10], 30);
        let sizes = Sizes::new(4, 8).unwrap();
        let p = IndexParams {
            layout: &l4,
            dims: &[20],
            max_dims: &[Some(20)],
            filtered: true,
        };
        let f4 = EntryFormat::for_dataset(sizes, &p).unwrap();
        assert_eq!((f4.size_width, f4.entry_size()), (Some(3), 11));
        let l5 = layout(5, &[10], 30);
        let p5 = IndexParams { layout: &l5, ..p };
        let f5 = EntryFormat::for_dataset(sizes, &p5).unwrap();
        assert_eq!((f5.size_width, f5.entry_size()), (Some(8), 16));

        // A version 4 array: entry 0 allocated with mask 2, entry 1 not.
        let mut h = b"FAHD".to_vec();
        h.extend([0, 1, 11, 10]);
        h.extend(2u64.to_le_bytes());
        h.extend(0x40u32.to_le_bytes());
        let h = seal(h);
        let mut db = b"FADB".to_vec();
        db.extend([0, 1, 0, 0, 0, 0]);
        db.extend([0x00, 0x02, 0, 0, 0x2c, 0x01, 0x00, 2, 0, 0, 0]);
        db.extend([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0]);
        let db = seal(db);
        let f = image(0x80, &[(0, &h), (0x40, &db)]);
        let r = chunks(&ctx(&f, sizes), 0, &p).unwrap();
        assert_eq!(
            r,
            vec![ChunkRecord {
                coords: vec![0],
                addr: 0x200,
                size: 300,
                filter_mask: 2
            }]
        );
        // The same array read as version 5 has the wrong entry size.
        let e = chunks(&ctx(&f, sizes), 0, &p5).unwrap_err();
        assert!(e.to_string().contains("entries of 11 bytes"), "{e}");
    }

    #[test]
    fn paged_data_block_skips_unwritten_pages() {
        // 10 entries, pages of 4 (page bits 2): pages of 4, 4 and 2 entries.
        // Bitmap 0b1010_0000: pages 0 and 2 written, page 1 is garbage.
        let l = layout(4, &[1], 1);
        let p = IndexParams {
            layout: &l,
            dims: &[10],
            max_dims: &[Some(10)],
            filtered: false,
        };
        let mut db = b"FADB".to_vec();
        db.extend([0, 0]);
        db.extend(0u64.to_le_bytes());
        db.push(0b1010_0000);
        let db = seal(db);
        let page = |a: &[Option<u64>]| seal(a.iter().flat_map(|&x| addr(x)).collect());
        let p0 = page(&[Some(0x500), None, None, Some(0x503)]);
        let p2 = page(&[None, Some(0x509)]);
        let base = 0x40;
        let first = base + db.len();
        let stride = 4 * 8 + 4;
        let f = image(
            0x200,
            &[
                (0, &header(0, 8, 2, 10, base as u64)),
                (base, &db),
                (first, &p0),
                (first + 2 * stride, &p2),
            ],
        );
        let r = chunks(&ctx(&f, Sizes::DEFAULT), 0, &p).unwrap();
        let got: Vec<_> = r.iter().map(|c| (c.coords[0], c.addr)).collect();
        assert_eq!(got, vec![(0, 0x500), (3, 0x503), (9, 0x509)]);

        // Marking page 1 as written makes its garbage fail the checksum.
        let mut db1 = db[..db.len() - 4].to_vec();
        db1[14] = 0b1110_0000;
        let db1 = seal(db1);
        let f = image(
            0x200,
            &[
                (0, &header(0, 8, 2, 10, base as u64)),
                (base, &db1),
                (first, &p0),
                (first + 2 * stride, &p2),
            ],
        );
        let e = chunks(&ctx(&f, Sizes::DEFAULT), 0, &p).unwrap_err();
        assert!(e.to_string().contains("page: bad checksum"), "{e}");
    }

    #[test]
    fn mismatches_are_format_errors() {
        let l = layout(4, &[2], 1);
        let p = IndexParams {
            layout: &l,
            dims: &[4],
            max_dims: &[Some(4)],
            filtered: false,
        };
        let mut db = b"FADB".to_vec();
        db.extend([0, 0]);
        db.extend(0u64.to_le_bytes());
        db.extend(addr(Some(0x100)));
        db.extend(addr(None));
        let db = seal(db);
        let run = |h: Vec<u8>, db: &[u8]| {
            let f = image(0x80, &[(0, &h), (0x30, db)]);
            chunks(&ctx(&f, Sizes::DEFAULT), 0, &p)
        };
        assert_eq!(run(header(0, 8, 10, 2, 0x30), &db).unwrap().len(), 1);
        let e = run(header(1, 8, 10, 2, 0x30), &db).unwrap_err();
        assert!(e.to_string().contains("client id 1"), "{e}");
        let e = run(header(0, 8, 10, 3, 0x30), &db).unwrap_err();
        assert!(e.to_string().contains("3 entries"), "{e}");
        // Data block pointing at another header.
        let mut other = db[..db.len() - 4].to_vec();
        other[6] = 0x10;
        let e = run(header(0, 8, 10, 2, 0x30), &seal(other)).unwrap_err();
        assert!(e.to_string().contains("header address"), "{e}");
        // Data block past the end of the file.
        let e = run(header(0, 8, 10, 2, 0x70), &db).unwrap_err();
        assert!(e.to_string().contains("past the end"), "{e}");
        // No data block yet: nothing allocated.
        assert!(run(header(0, 8, 10, 2, u64::MAX), &db).unwrap().is_empty());
    }

    #[test]
    fn huge_counts_do_not_allocate() {
        // 2^40 entries claimed, unpaged (page bits 63): rejected against
        // the grid before anything is read; with a matching grid, the
        // block runs past the end of the file.
        let l = layout(4, &[1], 1);
        let n = 1u64 << 40;
        let p = IndexParams {
            layout: &l,
            dims: &[n],
            max_dims: &[Some(n)],
            filtered: false,
        };
        let f = image(0x80, &[(0, &header(0, 8, 63, n, 0x30))]);
        let e = chunks(&ctx(&f, Sizes::DEFAULT), 0, &p).unwrap_err();
        assert!(e.to_string().contains("past the end"), "{e}");
        let f = image(0x80, &[(0, &header(0, 8, 10, n, 0x30))]);
        let e = chunks(&ctx(&f, Sizes::DEFAULT), 0, &p).unwrap_err();
        assert!(e.to_string().contains("past the end"), "{e}");
    }

    #[test]
    fn bitmap_bits_are_msb_first() {
        assert!(bit_set(&[0x80], 0));
        assert!(!bit_set(&[0x80], 7));
        assert!(bit_set(&[0x00, 0x01], 15));
        assert!(!bit_set(&[0xff], 8));
    }

    fn layout_bits(dims: &[u64], element_size: u64, page_bits: u8, version: u8) -> ChunkedLayout {
        ChunkedLayout {
            index: ChunkIndexKind::FixedArray { page_bits },
            ..layout(version, dims, element_size)
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

    /// Encodes `records` from address `at`, decodes the image and returns
    /// the records read back (sorted) and the blocks.
    fn round_trip(
        records: &[ChunkRecord],
        p: &IndexParams,
        sizes: Sizes,
        at: u64,
    ) -> (Vec<ChunkRecord>, u64, Blocks) {
        let mut bump = Bump { next: at };
        let (h, blocks) = encode(records, p, sizes, &mut bump).unwrap();
        let mut img = Vec::new();
        apply(&mut img, &blocks);
        // Room for unwritten pages, which the encoder does not emit.
        img.resize(bump.next as usize, 0);
        let mut got = chunks(&ctx(&img, sizes), h, p).unwrap();
        got.sort_by(|a, b| a.coords.cmp(&b.coords));
        (got, h, blocks)
    }

    fn sorted(r: &[ChunkRecord]) -> Vec<ChunkRecord> {
        let mut v = r.to_vec();
        v.sort_by(|a, b| a.coords.cmp(&b.coords));
        v
    }

    #[test]
    fn header_encodes_as_libhdf5_writes_it() {
        let h = FixedArrayHeader {
            client_id: 0,
            entry_size: 8,
            page_bits: 10,
            entry_count: 20,
            data_block: Some(0x1db),
        };
        let b: &[u8] = &[
            0x46, 0x41, 0x48, 0x44, 0x00, 0x00, 0x08, 0x0a, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x00, 0xdb, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc3, 0x12, 0xae, 0x0a,
        ];
        assert_eq!(h.encode(Sizes::DEFAULT), b);
    }

    #[test]
    fn encodes_unpaged_array_byte_for_byte() {
        // (4,) with maximum (6,), chunks of 2 bytes: 3 entries; chunk 1
        // allocated at 0x500. Header at 0x100 (28 bytes), data block at
        // 0x11c: prefix, 3 addresses, checksum.
        let l = layout_bits(&[2], 1, 10, 4);
        let p = IndexParams {
            layout: &l,
            dims: &[4],
            max_dims: &[Some(6)],
            filtered: false,
        };
        let mut bump = Bump { next: 0x100 };
        let (h, blocks) =
            encode(&[record(&[1], 0x500, 2, 0)], &p, Sizes::DEFAULT, &mut bump).unwrap();
        assert_eq!(h, 0x100);
        let mut db = b"FADB".to_vec();
        db.extend([0, 0]);
        db.extend(0x100u64.to_le_bytes());
        for a in [None, Some(0x500), None] {
            db.extend(addr(a));
        }
        let want = vec![(0x100, header(0, 8, 10, 3, 0x11c)), (0x11c, seal(db))];
        assert_eq!(blocks, want);
        assert_eq!(bump.next, 0x11c + 14 + 24 + 4);
    }

    #[test]
    fn filtered_entries_of_unallocated_chunks_are_zero() {
        // Layout v4, chunk of 300 bytes: size in 3 bytes; 4-byte addresses.
        let l = layout_bits(&[10], 30, 10, 4);
        let sizes = Sizes::new(4, 8).unwrap();
        let p = IndexParams {
            layout: &l,
            dims: &[20],
            max_dims: &[Some(20)],
            filtered: true,
        };
        let mut bump = Bump { next: 0 };
        let (_, blocks) = encode(&[record(&[0], 0x200, 300, 2)], &p, sizes, &mut bump).unwrap();
        let mut db = b"FADB".to_vec();
        db.extend([0, 1, 0, 0, 0, 0]);
        db.extend([0x00, 0x02, 0, 0, 0x2c, 0x01, 0x00, 2, 0, 0, 0]);
        db.extend([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(blocks[1], (24, seal(db)));
        // A stored size that does not fit the 3-byte field.
        let e = encode(&[record(&[0], 0x200, 1 << 24, 0)], &p, sizes, &mut bump).unwrap_err();
        assert!(e.to_string().contains("does not fit in 3 bytes"), "{e}");
    }

    #[test]
    fn paged_array_writes_only_pages_with_chunks() {
        // 10 entries in pages of 4: chunks in pages 0 and 2 only.
        let l = layout_bits(&[1], 1, 2, 4);
        let p = IndexParams {
            layout: &l,
            dims: &[10],
            max_dims: &[Some(10)],
            filtered: false,
        };
        let recs = [
            record(&[0], 0x500, 1, 0),
            record(&[3], 0x503, 1, 0),
            record(&[9], 0x509, 1, 0),
        ];
        let mut bump = Bump { next: 0 };
        let (_, blocks) = encode(&recs, &p, Sizes::DEFAULT, &mut bump).unwrap();
        // Data block: prefix (14), bitmap 0b1010_0000, checksum.
        let mut db = b"FADB".to_vec();
        db.extend([0, 0]);
        db.extend(0u64.to_le_bytes());
        db.push(0b1010_0000);
        let page = |a: &[Option<u64>]| seal(a.iter().flat_map(|&x| addr(x)).collect());
        let first = 28 + 19;
        let stride = 4 * 8 + 4;
        assert_eq!(
            blocks,
            vec![
                (0, header(0, 8, 2, 10, 28)),
                (28, seal(db)),
                (first, page(&[Some(0x500), None, None, Some(0x503)])),
                (first + 2 * stride, page(&[None, Some(0x509)])),
            ]
        );
        // The whole block, the last page of 2 entries included, is one
        // allocation.
        assert_eq!(bump.next, first + 2 * stride + 2 * 8 + 4);
        let (got, _, _) = round_trip(&recs, &p, Sizes::DEFAULT, 0);
        assert_eq!(got, recs.to_vec());
    }

    #[test]
    fn round_trips() {
        // 2-D, holes, maximum larger than the extent, filtered (v4 and
        // v5) and not, paged (page bits 3 over 5 x 4 = 20 entries) and not.
        let recs = vec![
            record(&[0, 0], 0x1000, 24, 0),
            record(&[0, 2], 0x2000, 17, 1),
            record(&[2, 1], 0x3000, 24, 0),
            record(&[2, 2], 0x4000, 9, 3),
        ];
        for (version, bits, filtered) in [
            (4, 10, false),
            (4, 10, true),
            (5, 10, true),
            (4, 3, false),
            (5, 3, true),
            (5, 2, true),
        ] {
            let l = layout_bits(&[2, 3], 4, bits, version);
            let p = IndexParams {
                layout: &l,
                dims: &[5, 7],
                max_dims: &[Some(9), Some(11)],
                filtered,
            };
            let want: Vec<_> = recs
                .iter()
                .map(|r| ChunkRecord {
                    size: if filtered { r.size } else { 24 },
                    filter_mask: if filtered { r.filter_mask } else { 0 },
                    ..r.clone()
                })
                .collect();
            for sizes in [
                Sizes::DEFAULT,
                Sizes::new(4, 8).unwrap(),
                Sizes::new(8, 4).unwrap(),
            ] {
                let (got, h, _) = round_trip(&recs, &p, sizes, 0x40);
                assert_eq!(h, 0x40);
                assert_eq!(got, sorted(&want), "v{version} bits {bits} {filtered}");
            }
        }
    }

    #[test]
    fn encode_rejects_bad_input() {
        let l = layout_bits(&[2], 1, 10, 4);
        let p = IndexParams {
            layout: &l,
            dims: &[4],
            max_dims: &[Some(6)],
            filtered: false,
        };
        let mut bump = Bump { next: 0 };
        let mut run = |r: &[ChunkRecord], p: &IndexParams| {
            encode(r, p, Sizes::DEFAULT, &mut bump)
                .unwrap_err()
                .to_string()
        };
        let e = run(&[record(&[3], 0x500, 2, 0)], &p);
        assert!(e.contains("outside"), "{e}");
        let e = run(&[record(&[0, 0], 0x500, 2, 0)], &p);
        assert!(e.contains("outside"), "{e}");
        let e = run(&[record(&[1], 0x500, 2, 0), record(&[1], 0x600, 2, 0)], &p);
        assert!(e.contains("twice"), "{e}");
        let other = ChunkedLayout {
            index: ChunkIndexKind::Implicit,
            ..l.clone()
        };
        let e = run(
            &[],
            &IndexParams {
                layout: &other,
                ..p
            },
        );
        assert!(e.contains("chunk index is Implicit"), "{e}");
        // No chunk: a header with no data block.
        let (h, blocks) = encode(&[], &p, Sizes::DEFAULT, &mut Bump { next: 8 }).unwrap();
        assert_eq!(blocks, vec![(8, header(0, 8, 10, 3, u64::MAX))]);
        assert_eq!(h, 8);
        // A data block too large to build in memory.
        let huge = 1u64 << 40;
        let l = layout_bits(&[1], 1, 63, 4);
        let p = IndexParams {
            layout: &l,
            dims: &[huge],
            max_dims: &[Some(huge)],
            filtered: false,
        };
        let e = run(&[record(&[0], 0x500, 1, 0)], &p);
        assert!(e.contains("more than the encoder builds"), "{e}");
    }

    #[test]
    fn linear_indexes() {
        assert_eq!(linearize(&[1, 2], &[2, 3]), Some(5));
        assert_eq!(linearize(&[2, 0], &[2, 3]), None);
        assert_eq!(linearize(&[0], &[2, 3]), None);
        let mut b = [0u8; 2];
        set_bit(&mut b, 0);
        set_bit(&mut b, 15);
        set_bit(&mut b, 16);
        assert_eq!(b, [0x80, 0x01]);
        assert!(bit_set(&b, 15));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(64))]
            /// Any set of chunks of a 2-D grid comes back from the encoded
            /// array, paged or not, filtered or not.
            #[test]
            fn encode_then_decode(
                grid in (1u64..12, 1u64..12),
                keep in prop::collection::vec(any::<bool>(), 144),
                page_bits in 1u8..8,
                filtered in any::<bool>(),
                version in 4u8..=5,
            ) {
                let l = layout_bits(&[1, 1], 300, page_bits, version);
                let p = IndexParams {
                    layout: &l,
                    dims: &[grid.0, grid.1],
                    max_dims: &[Some(grid.0), Some(grid.1)],
                    filtered,
                };
                let recs: Vec<_> = (0..grid.0 * grid.1)
                    .filter(|&i| keep[i as usize])
                    .map(|i| {
                        let size = if filtered { 1 + i % 300 } else { 300 };
                        let mask = if filtered { (i % 3) as u32 } else { 0 };
                        record(&[i / grid.1, i % grid.1], 0x10000 + i * 300, size, mask)
                    })
                    .collect();
                let (got, _, _) = round_trip(&recs, &p, Sizes::DEFAULT, 0x20);
                prop_assert_eq!(got, recs);
            }
        }
    }

    #[test]
    fn extents_are_the_header_and_the_whole_data_block() {
        use crate::format::btree_v2::tests::Log;
        // 30 entries: unpaged with 10 page bits, 15 and 8 pages with 1 and 2
        for (page_bits, filtered) in [(10u8, false), (1, false), (2, true), (2, false)] {
            let l = layout_bits(&[1, 1], 8, page_bits, 4);
            let p = IndexParams {
                layout: &l,
                dims: &[5, 6],
                max_dims: &[Some(5), Some(6)],
                filtered,
            };
            let recs: Vec<_> = (0..30u64)
                .filter(|i| i % 7 == 1)
                .map(|i| record(&[i / 6, i % 6], 0x10000 + i * 8, 8, 0))
                .collect();
            let mut log = Log::at(0x40);
            let (h, blocks) = encode(&recs, &p, Sizes::DEFAULT, &mut log).unwrap();
            let mut img = Vec::new();
            apply(&mut img, &blocks);
            img.resize(log.next as usize, 0);
            let c = ctx(&img, Sizes::DEFAULT);
            assert_eq!(extents(&c, h).unwrap(), log.taken, "page bits {page_bits}");
            // the unwritten last pages must be inside the file
            if page_bits < 10 {
                let short = &img[..img.len() - 1];
                assert!(extents(&ctx(short, Sizes::DEFAULT), h).is_err());
            }
            // a data block that is not one
            let db = log.taken[1].0 as usize;
            let mut bad = img.clone();
            bad[db] = b'X';
            assert!(extents(&ctx(&bad, Sizes::DEFAULT), h).is_err());
        }
        // nothing written yet: the header alone
        let f = header(0, 8, 10, 6, u64::MAX);
        let c = ctx(&f, Sizes::DEFAULT);
        assert_eq!(extents(&c, 0).unwrap(), vec![(0, f.len() as u64)]);
    }
}
