//! Fractal heap (spec III.G): dense links, dense attributes and shared
//! messages live here, addressed by heap IDs.
//!
//! ```text
//! header: "FRHP" | version 0 | heap ID length (2) | filter info length (2)
//!   | flags | max managed object size (4) | next huge ID (L)
//!   | huge-object v2 B-tree (O) | free space (L) | free-space manager (O)
//!   | managed space (L) | allocated managed space (L) | iterator offset (L)
//!   | managed objects (L) | huge size (L) | huge objects (L)
//!   | tiny size (L) | tiny objects (L) | table width (2)
//!   | starting block size (L) | max direct block size (L)
//!   | log2 max heap size (2) | starting root rows (2) | root block (O)
//!   | current root rows (2) | [filtered root size (L) | root filter mask (4)
//!   | filter pipeline message] | checksum (4)
//! direct block:   "FHDB" | version 0 | heap header (O) | block offset (b)
//!   | [checksum (4), flags bit 1] | object data up to the block size
//! indirect block: "FHIB" | version 0 | heap header (O) | block offset (b)
//!   | K direct entries: address (O) [filtered size (L) | filter mask (4)]
//!   | N indirect entries: address (O) | checksum (4)
//! heap ID: byte 0 = version (bits 6-7) | type (bits 4-5), then
//!   managed (0): offset (b) | length (l)
//!   huge (1):    B-tree key, or address (O) | length (L) [| mask (4) | size (L)]
//!   tiny (2):    data (length in bits 0-3, extended by byte 1 for long IDs)
//! ```
//!
//! `b` = ceil(log2 max heap size / 8); `l` = bytes to encode
//! min(max direct block size, max managed object size).
//!
//! # The doubling table
//!
//! Managed objects live at offsets of one linear address space split into
//! direct blocks. An indirect block of `W` columns (the table width) has
//! rows of blocks: rows 0 and 1 hold blocks of the starting size `S`, each
//! later row blocks twice the size of the row before. Rows of blocks up to
//! the maximum direct block size are direct blocks
//! (`max_dblock_rows` = log2(max direct) - log2(S) + 2 rows), larger rows
//! are child indirect blocks, each covering exactly one block of its row:
//! a child for a block of `B` bytes has log2(B) - log2(S * W) + 1 rows.
//! (The spec's formula for this row count leaves out the log2(W) term;
//! libhdf5 includes it, and only then does the child cover its block.)
//!
//! # Checksums
//!
//! A direct block's checksum (present when header flag bit 1 is set)
//! covers the whole block, `block size` bytes, with the checksum field
//! itself taken as zero. A filtered direct block is checksummed in its
//! unfiltered form.
//!
//! # Huge objects
//!
//! libhdf5 stores a huge object's address and length in its ID ("directly
//! accessed") when they fit in the ID after its first byte: O + L bytes,
//! or O + L + 4 + L when the heap has filters. Otherwise the ID holds a key
//! into the huge-object v2 B-tree of `min(ID length - 1, 8)` bytes; the
//! spec gives the key as L bytes, which would not fit the 7- and 8-byte IDs
//! libhdf5 uses for link and attribute heaps.
//!
//! # Encoding
//!
//! [`encode_heap`] lays out a new heap from its objects in insertion order,
//! placing them as libhdf5 does (best fit among the free space of existing
//! blocks, else a new block in doubling-table order, the root growing from
//! a direct block to an indirect block whose rows double), so that with
//! the same addresses its blocks are libhdf5's byte for byte.
//! [`HeapParams::links`] and [`HeapParams::attributes`] are libhdf5's
//! parameters for dense links and attributes. Not written: a free-space
//! manager (the header says none), filters.

use std::borrow::Cow;
use std::collections::HashSet;
use std::io::Read;
use std::sync::Mutex;

use crate::error::{Error, Result};
use crate::format::FileCtx;
use crate::format::alloc::{Allocator, Blocks};
use crate::format::btree_v2::records::{HugeFilter, HugeObject, RecordKey};
use crate::format::btree_v2::{BTreeV2, BTreeV2Params, encode_tree};
use crate::format::checksum;
use crate::format::cursor::{Cursor, Encoder, Sizes, bytes_for, le_uint};
use crate::format::filter_pipeline::{self, FilterInfo, id as filter_id};

/// An indirect block as read: its bytes (checksum included) and where its
/// entries are.
struct IndirectBlock<'a> {
    block: &'a [u8],
    /// Bytes before the first entry.
    prefix: u64,
    /// Bytes of one direct-block entry.
    stride: u64,
    /// Number of direct-block entries.
    direct: u64,
}

/// Heap ID type codes (bits 4-5 of the first byte).
const ID_MANAGED: u8 = 0;
const ID_HUGE: u8 = 1;
const ID_TINY: u8 = 2;

/// Heap IDs longer than this use the extended tiny-object form.
const TINY_SHORT_MAX_ID: u16 = 18;

/// Addresses of direct blocks whose checksum has been verified.
#[derive(Debug, Default)]
struct Verified(Mutex<HashSet<u64>>);

impl Verified {
    fn contains(&self, addr: u64) -> bool {
        let set = self.0.lock().unwrap_or_else(|e| e.into_inner());
        set.contains(&addr)
    }

    fn insert(&self, addr: u64) {
        let mut set = self.0.lock().unwrap_or_else(|e| e.into_inner());
        set.insert(addr);
    }
}

impl Clone for Verified {
    fn clone(&self) -> Self {
        let set = self.0.lock().unwrap_or_else(|e| e.into_inner());
        Verified(Mutex::new(set.clone()))
    }
}

/// A fractal heap header, decoded.
#[derive(Debug, Clone)]
pub struct FractalHeap {
    /// Address of the header.
    pub addr: u64,
    /// Length of heap IDs in bytes.
    pub id_len: u16,
    /// Bytes of the encoded filter pipeline (0: no filters).
    pub filter_len: u16,
    /// Flags: bit 0, huge IDs wrapped; bit 1, direct blocks checksummed.
    pub flags: u8,
    /// Objects larger than this are huge objects.
    pub max_managed_size: u32,
    /// Next ID for a huge object.
    pub next_huge_id: u64,
    /// v2 B-tree of huge objects.
    pub huge_btree: Option<u64>,
    /// Free bytes in managed direct blocks.
    pub free_space: u64,
    /// Free-space manager of managed blocks.
    pub free_space_manager: Option<u64>,
    /// Size of the managed address space.
    pub managed_space: u64,
    /// Managed bytes actually allocated.
    pub allocated_managed_space: u64,
    /// Offset of the direct block allocation iterator.
    pub iterator_offset: u64,
    /// Number of managed objects.
    pub managed_objects: u64,
    /// Total size of huge objects.
    pub huge_size: u64,
    /// Number of huge objects.
    pub huge_objects: u64,
    /// Total size of tiny objects.
    pub tiny_size: u64,
    /// Number of tiny objects.
    pub tiny_objects: u64,
    /// Columns of the doubling table (a power of two).
    pub table_width: u16,
    /// Size of the blocks of rows 0 and 1 (a power of two).
    pub start_block_size: u64,
    /// Largest direct block (a power of two).
    pub max_direct_size: u64,
    /// log2 of the managed address space size, in bits.
    pub max_heap_bits: u16,
    /// Rows of the root indirect block when first created (0: as many as
    /// the maximum heap size needs).
    pub start_root_rows: u16,
    /// Root block: a direct block when `root_rows` is 0, else indirect.
    pub root: Option<u64>,
    /// Rows of the root indirect block (0: the root is a direct block).
    pub root_rows: u16,
    /// Stored size and filter mask of a filtered root direct block.
    pub root_filtered: Option<(u64, u32)>,
    /// The filters of direct blocks and huge objects, in pipeline order.
    pub filters: Vec<FilterInfo>,
    /// Bytes of block offsets and of the offset in managed heap IDs.
    offset_width: usize,
    /// Bytes of the length in managed heap IDs.
    length_width: usize,
    /// log2 of the starting block size.
    start_bits: u32,
    /// log2 of starting block size * table width.
    first_row_bits: u32,
    /// Rows of direct blocks in any indirect block.
    max_dblock_rows: u32,
    /// Bytes of the header, checksum included.
    header_len: u64,
    verified: Verified,
}

/// Where a managed direct block is and how it is stored.
#[derive(Debug, Clone, Copy)]
struct DirectBlock {
    addr: u64,
    /// Offset of the block in the heap's address space.
    offset: u64,
    /// Block size (unfiltered).
    size: u64,
    /// Stored size and filter mask, for a filtered heap.
    filtered: Option<(u64, u32)>,
}

fn log2_exact(v: u64, what: &str, at: u64) -> Result<u32> {
    if v == 0 || !v.is_power_of_two() {
        return Err(Error::format(
            format!("fractal heap: {what} {v} is not a power of two"),
            at,
        ));
    }
    Ok(v.trailing_zeros())
}

impl FractalHeap {
    /// Reads the heap header (`FRHP`) at `addr`, checksum verified.
    ///
    /// # Errors
    ///
    /// A format error for a bad signature, version or checksum, or for
    /// doubling-table parameters that cannot describe a heap.
    pub fn read(ctx: &FileCtx, addr: u64) -> Result<FractalHeap> {
        Self::read_inner(ctx, addr).map_err(|e| e.context("fractal heap header").at(addr))
    }

    fn read_inner(ctx: &FileCtx, addr: u64) -> Result<FractalHeap> {
        let mut c = ctx.cursor_at(addr, "fractal heap header")?;
        c.signature(b"FRHP", "fractal heap header")?;
        let version = c.u8()?;
        if version != 0 {
            return Err(Error::format(format!("version {version}"), addr));
        }
        let id_len = c.u16()?;
        let filter_len = c.u16()?;
        let flags = c.u8()?;
        let max_managed_size = c.u32()?;
        let next_huge_id = c.length()?;
        let huge_btree = c.address_field()?;
        let free_space = c.length()?;
        let free_space_manager = c.address_field()?;
        let managed_space = c.length()?;
        let allocated_managed_space = c.length()?;
        let iterator_offset = c.length()?;
        let managed_objects = c.length()?;
        let huge_size = c.length()?;
        let huge_objects = c.length()?;
        let tiny_size = c.length()?;
        let tiny_objects = c.length()?;
        let table_width = c.u16()?;
        let start_block_size = c.length()?;
        let max_direct_size = c.length()?;
        let max_heap_bits = c.u16()?;
        let start_root_rows = c.u16()?;
        let root = c.address_field()?;
        let root_rows = c.u16()?;
        let mut root_filtered = None;
        let mut filters = Vec::new();
        if filter_len > 0 {
            let size = c.length()?;
            let mask = c.u32()?;
            root_filtered = Some((size, mask));
            let mut p = c.sub(filter_len as usize)?;
            filters = filter_pipeline::decode(&mut p).map_err(|e| e.context("I/O filters"))?;
        }
        let len = c.position() as u64;
        let block = ctx.slice(addr, len + 4, "fractal heap header")?;
        checksum::verify(block, "fractal heap header", addr)?;

        if id_len < 2 {
            return Err(Error::format(format!("heap ID length {id_len}"), addr));
        }
        let width_bits = log2_exact(table_width as u64, "table width", addr)?;
        let start_bits = log2_exact(start_block_size, "starting block size", addr)?;
        let direct_bits = log2_exact(max_direct_size, "maximum direct block size", addr)?;
        if direct_bits < start_bits {
            return Err(Error::format(
                format!(
                    "maximum direct block size {max_direct_size} is below the starting block \
                     size {start_block_size}"
                ),
                addr,
            ));
        }
        let first_row_bits = start_bits + width_bits;
        let heap_bits = max_heap_bits as u32;
        if heap_bits > 64 || heap_bits < first_row_bits {
            return Err(Error::format(
                format!(
                    "maximum heap size of 2^{max_heap_bits} bytes does not fit \
                     {table_width} blocks of {start_block_size} bytes"
                ),
                addr,
            ));
        }
        let max_root_rows = heap_bits - first_row_bits + 1;
        if root_rows as u32 > max_root_rows {
            return Err(Error::format(
                format!("root indirect block of {root_rows} rows, at most {max_root_rows}"),
                addr,
            ));
        }
        let offset_width = (max_heap_bits as usize).div_ceil(8);
        let length_width = bytes_for(max_direct_size.min(max_managed_size as u64));
        Ok(FractalHeap {
            addr,
            id_len,
            filter_len,
            flags,
            max_managed_size,
            next_huge_id,
            huge_btree,
            free_space,
            free_space_manager,
            managed_space,
            allocated_managed_space,
            iterator_offset,
            managed_objects,
            huge_size,
            huge_objects,
            tiny_size,
            tiny_objects,
            table_width,
            start_block_size,
            max_direct_size,
            max_heap_bits,
            start_root_rows,
            root,
            root_rows,
            root_filtered,
            filters,
            offset_width,
            length_width,
            start_bits,
            first_row_bits,
            max_dblock_rows: direct_bits - start_bits + 2,
            header_len: len + 4,
            verified: Verified::default(),
        })
    }

    /// The file space of the heap, as `(address, length)` extents: the
    /// header; every direct block (its stored size when filtered) and
    /// indirect block of the doubling table; the huge-object v2 B-tree and
    /// every huge object it lists; the free-space manager's header and
    /// section list when the heap has one. Indirect blocks are checked
    /// (signature, version, checksum, owner and block offset), direct
    /// blocks stored unfiltered by signature, version, owner and block
    /// offset; every byte listed is inside the file.
    ///
    /// # Errors
    ///
    /// A format error for a malformed block, a block reached twice or one
    /// that runs past the end of the file; a limit error when indirect
    /// blocks nest deeper than `ctx.limits.max_tree_depth`.
    pub(crate) fn extents(&self, ctx: &FileCtx) -> Result<Vec<(u64, u64)>> {
        let mut out = vec![(self.addr, self.header_len)];
        let mut seen = HashSet::from([self.addr]);
        if let Some(root) = self.root {
            if self.root_rows == 0 {
                let b = DirectBlock {
                    addr: root,
                    offset: 0,
                    size: self.start_block_size,
                    filtered: self.root_filtered,
                };
                self.direct_extent(ctx, &b, &mut seen, &mut out)?;
            } else {
                self.indirect_extents(ctx, root, 0, self.root_rows as u32, 1, &mut seen, &mut out)?;
            }
        }
        if let Some(bt) = self.huge_btree {
            let tree = BTreeV2::read(ctx, bt)?;
            let t = tree.record_type;
            if !(1..=4).contains(&t) {
                return Err(Error::format(
                    format!("fractal heap: huge-object B-tree of type {t}"),
                    bt,
                ));
            }
            out.extend(tree.extents(ctx)?);
            tree.for_each_record(ctx, &mut |r| {
                let rec = HugeObject::decode(t, r, ctx.sizes, bt)?;
                ctx.slice(rec.addr, rec.len, "fractal heap huge object")?;
                out.push((rec.addr, rec.len));
                Ok(())
            })?;
        }
        if let Some(fs) = self.free_space_manager {
            out.extend(free_space_extents(ctx, fs)?);
        }
        Ok(out)
    }

    /// Adds the extent of direct block `b` to `out`, after checking it.
    fn direct_extent(
        &self,
        ctx: &FileCtx,
        b: &DirectBlock,
        seen: &mut HashSet<u64>,
        out: &mut Vec<(u64, u64)>,
    ) -> Result<()> {
        let what = "fractal heap direct block";
        if !seen.insert(b.addr) {
            return Err(Error::format(format!("{what} reached twice"), b.addr));
        }
        let stored = b.filtered.map_or(b.size, |(s, _)| s);
        let block = ctx.slice(b.addr, stored, what)?;
        if b.filtered.is_none() {
            let mut c = Cursor::new(block, b.addr, ctx.sizes);
            c.signature(b"FHDB", what)?;
            let version = c.u8()?;
            if version != 0 {
                return Err(Error::format(format!("{what}: version {version}"), b.addr));
            }
            self.check_owner(&mut c, b.offset, what, b.addr)?;
        }
        out.push((b.addr, stored));
        Ok(())
    }

    /// Adds the extents of the indirect block at `addr` (of `rows` rows,
    /// at heap offset `block_offset`, `depth` levels from the root) and of
    /// every block under it to `out`.
    #[allow(clippy::too_many_arguments)]
    fn indirect_extents(
        &self,
        ctx: &FileCtx,
        addr: u64,
        block_offset: u64,
        rows: u32,
        depth: u32,
        seen: &mut HashSet<u64>,
        out: &mut Vec<(u64, u64)>,
    ) -> Result<()> {
        let what = "fractal heap indirect block";
        if depth > ctx.limits.max_tree_depth {
            return Err(Error::limit(format!(
                "fractal heap at {:#x}: indirect blocks nested deeper than {}",
                self.addr, ctx.limits.max_tree_depth
            )));
        }
        if !seen.insert(addr) {
            return Err(Error::format(format!("{what} reached twice (cycle)"), addr));
        }
        let ib = self.read_indirect(ctx, addr, block_offset, rows)?;
        let w = self.table_width as u64;
        let direct_rows = rows.min(self.max_dblock_rows);
        let (block, len) = (ib.block, ib.block.len() as u64);
        let mut c = Cursor::new(block, addr, ctx.sizes);
        c.seek(ib.prefix as usize)?;
        out.push((addr, len));
        let overflow = || Error::format(format!("{what}: block offset overflows"), addr);
        for row in 0..rows {
            let (Some(size), Some(row_start)) = (self.row_block_size(row), self.row_offset(row))
            else {
                return Err(overflow());
            };
            for col in 0..w {
                let child = c.address_field()?;
                let filtered = if row < direct_rows && self.is_filtered() {
                    Some((c.length()?, c.u32()?))
                } else {
                    None
                };
                let Some(child) = child else {
                    continue;
                };
                let offset = col
                    .checked_mul(size)
                    .and_then(|x| x.checked_add(row_start))
                    .and_then(|x| x.checked_add(block_offset))
                    .ok_or_else(overflow)?;
                if row < direct_rows {
                    let b = DirectBlock {
                        addr: child,
                        offset,
                        size,
                        filtered,
                    };
                    self.direct_extent(ctx, &b, seen, out)?;
                } else {
                    let child_rows = self.rows_for(size);
                    self.indirect_extents(ctx, child, offset, child_rows, depth + 1, seen, out)?;
                }
            }
        }
        Ok(())
    }

    /// True when direct blocks carry a checksum (flags bit 1).
    pub fn checksummed_blocks(&self) -> bool {
        self.flags & 0x02 != 0
    }

    /// True when direct blocks and huge objects pass through filters.
    pub fn is_filtered(&self) -> bool {
        self.filter_len > 0
    }

    /// Bytes of the offset field of managed heap IDs (and of block offsets).
    pub fn id_offset_width(&self) -> usize {
        self.offset_width
    }

    /// Bytes of the length field of managed heap IDs.
    pub fn id_length_width(&self) -> usize {
        self.length_width
    }

    /// The object with heap ID `id` (managed, huge or tiny).
    ///
    /// # Errors
    ///
    /// A format error for a malformed ID or heap block, an unsupported
    /// error for filters other than deflate, a limit error for objects
    /// larger than `ctx.limits.max_chunk_bytes` once unfiltered.
    pub fn object<'a>(&self, ctx: &FileCtx<'a>, id: &[u8]) -> Result<Cow<'a, [u8]>> {
        let first = *id
            .first()
            .ok_or_else(|| Error::format("fractal heap: empty heap ID", self.addr))?;
        // Structures that embed heap IDs in fixed-size fields (shared
        // message references: 8 bytes) may hold more bytes than the heap's
        // IDs have; those are padding.
        let id = id.get(..self.id_len as usize).ok_or_else(|| {
            Error::format(
                format!(
                    "fractal heap: heap ID of {} bytes, the heap's are {}",
                    id.len(),
                    self.id_len
                ),
                self.addr,
            )
        })?;
        let version = first >> 6;
        if version != 0 {
            return Err(Error::format(
                format!("fractal heap: heap ID version {version}"),
                self.addr,
            ));
        }
        match (first >> 4) & 0x03 {
            ID_MANAGED => self.managed(ctx, id),
            ID_HUGE => self.huge(ctx, id),
            ID_TINY => self.tiny(id).map(|d| Cow::Owned(d.to_vec())),
            t => Err(Error::format(
                format!("fractal heap: heap ID type {t}"),
                self.addr,
            )),
        }
    }

    /// The data of a tiny object, held in its ID.
    fn tiny<'i>(&self, id: &'i [u8]) -> Result<&'i [u8]> {
        let (len, start) = if self.id_len > TINY_SHORT_MAX_ID {
            let b1 = *id
                .get(1)
                .ok_or_else(|| Error::format("fractal heap: tiny heap ID too short", self.addr))?;
            ((((id[0] & 0x0f) as usize) << 8 | b1 as usize) + 1, 2)
        } else {
            ((id[0] & 0x0f) as usize + 1, 1)
        };
        id.get(start..start + len).ok_or_else(|| {
            Error::format(
                format!(
                    "fractal heap: tiny object of {len} bytes does not fit a heap ID of {} bytes",
                    id.len()
                ),
                self.addr,
            )
        })
    }

    /// A huge object: read directly from the address in its ID, or found
    /// in the huge-object B-tree by the key in its ID.
    fn huge<'a>(&self, ctx: &FileCtx<'a>, id: &[u8]) -> Result<Cow<'a, [u8]>> {
        let o = ctx.sizes.offset as usize;
        let l = ctx.sizes.length as usize;
        let room = id.len() - 1;
        let filtered = self.is_filtered();
        let direct_len = if filtered { o + l + 4 + l } else { o + l };
        let rec = if room >= direct_len {
            let mut c = Cursor::new(&id[1..], self.addr, ctx.sizes);
            let addr = c.uint(o)?;
            let len = c.length()?;
            let filter = if filtered {
                Some(HugeFilter {
                    mask: c.u32()?,
                    memory_size: c.length()?,
                })
            } else {
                None
            };
            HugeObject {
                addr,
                len,
                filter,
                id: None,
            }
        } else {
            let key = le_uint(&id[1..1 + room.min(8)]);
            self.huge_record(ctx, key)?
        };
        let stored = ctx.slice(rec.addr, rec.len, "fractal heap huge object")?;
        match rec.filter {
            None => Ok(Cow::Borrowed(stored)),
            Some(f) => {
                let data = self.unfilter(ctx, stored, f.mask, f.memory_size, rec.addr)?;
                Ok(Cow::Owned(data))
            }
        }
    }

    /// The B-tree record of the huge object with `key`.
    fn huge_record(&self, ctx: &FileCtx, key: u64) -> Result<HugeObject> {
        let bt_addr = self.huge_btree.ok_or_else(|| {
            Error::format(
                "fractal heap: huge object ID but no huge-object B-tree",
                self.addr,
            )
        })?;
        let tree = BTreeV2::read(ctx, bt_addr)?;
        let want = if self.is_filtered() { 2 } else { 1 };
        if tree.record_type != want {
            return Err(Error::format(
                format!(
                    "fractal heap: huge-object B-tree of type {}, expected {want}",
                    tree.record_type
                ),
                bt_addr,
            ));
        }
        let found = tree.find(ctx, &mut |r| {
            let rec = HugeObject::decode(want, r, ctx.sizes, bt_addr)?;
            Ok(rec.id.unwrap_or(0).cmp(&key))
        })?;
        let r = found.ok_or_else(|| {
            Error::format(
                format!("fractal heap: no huge object with ID {key}"),
                bt_addr,
            )
        })?;
        HugeObject::decode(want, r, ctx.sizes, bt_addr)
    }

    /// A managed object: its offset and length in the heap's address space,
    /// found through the doubling table.
    fn managed<'a>(&self, ctx: &FileCtx<'a>, id: &[u8]) -> Result<Cow<'a, [u8]>> {
        let mut c = Cursor::new(&id[1..], self.addr, ctx.sizes);
        let offset = c
            .uint(self.offset_width)
            .map_err(|e| e.context("fractal heap: managed heap ID"))?;
        let len = c
            .uint(self.length_width)
            .map_err(|e| e.context("fractal heap: managed heap ID"))?;
        if len == 0 {
            return Err(Error::format(
                "fractal heap: managed object of length 0",
                self.addr,
            ));
        }
        let block = self.locate(ctx, offset)?;
        let within = offset - block.offset;
        let end = within.checked_add(len).filter(|&e| e <= block.size);
        if end.is_none() || within < self.direct_prefix(ctx) {
            return Err(Error::format(
                format!(
                    "fractal heap: object of {len} bytes at heap offset {offset} does not fit \
                     its direct block of {} bytes at heap offset {}",
                    block.size, block.offset
                ),
                block.addr,
            ));
        }
        let (w, n) = (within as usize, len as usize);
        match self.direct_block(ctx, &block)? {
            Cow::Borrowed(b) => Ok(Cow::Borrowed(&b[w..w + n])),
            Cow::Owned(b) => Ok(Cow::Owned(b[w..w + n].to_vec())),
        }
    }

    /// Bytes before the object data of a direct block.
    fn direct_prefix(&self, ctx: &FileCtx) -> u64 {
        let sum = if self.checksummed_blocks() { 4 } else { 0 };
        5 + ctx.sizes.offset as u64 + self.offset_width as u64 + sum
    }

    /// Size of the blocks in `row` of an indirect block.
    fn row_block_size(&self, row: u32) -> Option<u64> {
        if row == 0 {
            Some(self.start_block_size)
        } else {
            // the starting size is a power of two: the shift overflows
            // exactly when the result would need bit 64 or more
            if self.start_bits + (row - 1) >= 64 {
                None
            } else {
                Some(self.start_block_size << (row - 1))
            }
        }
    }

    /// Offset of `row` from the start of its indirect block.
    fn row_offset(&self, row: u32) -> Option<u64> {
        if row == 0 {
            Some(0)
        } else {
            let size = self.row_block_size(row)?;
            size.checked_mul(self.table_width as u64)
        }
    }

    /// Rows of an indirect block standing for a block of `size` bytes.
    fn rows_for(&self, size: u64) -> u32 {
        (63 - size.leading_zeros()).saturating_sub(self.first_row_bits) + 1
    }

    /// Finds the direct block holding heap offset `offset`.
    fn locate(&self, ctx: &FileCtx, offset: u64) -> Result<DirectBlock> {
        let root = self.root.ok_or_else(|| {
            Error::format("fractal heap: managed object in an empty heap", self.addr)
        })?;
        if self.root_rows == 0 {
            if offset >= self.start_block_size {
                return Err(Error::format(
                    format!(
                        "fractal heap: offset {offset} is past the root direct block of {} bytes",
                        self.start_block_size
                    ),
                    self.addr,
                ));
            }
            return Ok(DirectBlock {
                addr: root,
                offset: 0,
                size: self.start_block_size,
                filtered: self.root_filtered,
            });
        }
        let mut iblock = root;
        let mut iblock_offset = 0u64;
        let mut rows = self.root_rows as u32;
        let mut seen = HashSet::from([self.addr]);
        let mut depth = 0u32;
        loop {
            if !seen.insert(iblock) {
                return Err(Error::format(
                    "fractal heap indirect block reached twice (cycle)",
                    iblock,
                ));
            }
            depth += 1;
            if depth > ctx.limits.max_tree_depth {
                return Err(Error::limit(format!(
                    "fractal heap at {:#x}: indirect blocks nested deeper than {}",
                    self.addr, ctx.limits.max_tree_depth
                )));
            }
            let (row, col, block_size) = self.row_col(offset, iblock_offset, rows, iblock)?;
            let entry = row as u64 * self.table_width as u64 + col;
            let child_offset = self
                .row_offset(row)
                .and_then(|r| r.checked_add(col * block_size))
                .and_then(|r| r.checked_add(iblock_offset))
                .ok_or_else(|| Error::format("fractal heap: block offset overflows", iblock))?;
            let child = self.indirect_entry(ctx, iblock, iblock_offset, rows, row, entry)?;
            if row < self.max_dblock_rows {
                return Ok(DirectBlock {
                    addr: child.0,
                    offset: child_offset,
                    size: block_size,
                    filtered: child.1,
                });
            }
            iblock = child.0;
            iblock_offset = child_offset;
            rows = self.rows_for(block_size);
        }
    }

    /// Row, column and block size of `offset` in an indirect block of
    /// `rows` rows starting at heap offset `start`.
    fn row_col(&self, offset: u64, start: u64, rows: u32, at: u64) -> Result<(u32, u64, u64)> {
        let rel = offset
            .checked_sub(start)
            .ok_or_else(|| Error::format("fractal heap: offset before its indirect block", at))?;
        for row in 0..rows {
            let (Some(size), Some(row_start)) = (self.row_block_size(row), self.row_offset(row))
            else {
                break;
            };
            let Some(row_end) = size
                .checked_mul(self.table_width as u64)
                .and_then(|w| w.checked_add(row_start))
            else {
                break;
            };
            if rel < row_end {
                return Ok((row, (rel - row_start) / size, size));
            }
        }
        Err(Error::format(
            format!("fractal heap: offset {offset} is past the indirect block of {rows} rows"),
            at,
        ))
    }

    /// Reads the indirect block at `addr` (checking it) and returns entry
    /// `entry`: a direct block's address and filtered size/mask, or a
    /// child indirect block's address.
    fn indirect_entry(
        &self,
        ctx: &FileCtx,
        addr: u64,
        block_offset: u64,
        rows: u32,
        row: u32,
        entry: u64,
    ) -> Result<(u64, Option<(u64, u32)>)> {
        let what = "fractal heap indirect block";
        let o = ctx.sizes.offset as u64;
        let direct_rows = rows.min(self.max_dblock_rows) as u64;
        let ib = self.read_indirect(ctx, addr, block_offset, rows)?;
        let mut c = Cursor::new(ib.block, addr, ctx.sizes);
        let pos = if (row as u64) < direct_rows {
            ib.prefix + entry * ib.stride
        } else {
            ib.prefix + ib.direct * ib.stride + (entry - ib.direct) * o
        };
        c.seek(pos as usize)?;
        let child = c.address_field()?.ok_or_else(|| {
            Error::format(
                format!("{what}: entry {entry} (row {row}) is not allocated"),
                addr,
            )
        })?;
        let filtered = if (row as u64) < direct_rows && self.is_filtered() {
            Some((c.length()?, c.u32()?))
        } else {
            None
        };
        Ok((child, filtered))
    }

    /// Reads and checks the indirect block of `rows` rows at `addr`
    /// (signature, version, checksum, owner and block offset).
    fn read_indirect<'a>(
        &self,
        ctx: &FileCtx<'a>,
        addr: u64,
        block_offset: u64,
        rows: u32,
    ) -> Result<IndirectBlock<'a>> {
        let what = "fractal heap indirect block";
        let o = ctx.sizes.offset as u64;
        let w = self.table_width as u64;
        let stride = if self.is_filtered() {
            o + ctx.sizes.length as u64 + 4
        } else {
            o
        };
        let prefix = 5 + o + self.offset_width as u64;
        // rows <= 65 and width < 2^16 keep these products small
        let direct = u64::from(rows.min(self.max_dblock_rows)) * w;
        let indirect = u64::from(rows.saturating_sub(self.max_dblock_rows)) * w;
        let len = prefix + direct * stride + indirect * o + 4;
        let block = ctx.slice(addr, len, what)?;
        let mut c = Cursor::new(block, addr, ctx.sizes);
        c.signature(b"FHIB", what)?;
        let version = c.u8()?;
        if version != 0 {
            return Err(Error::format(format!("{what}: version {version}"), addr));
        }
        checksum::verify(block, what, addr)?;
        self.check_owner(&mut c, block_offset, what, addr)?;
        Ok(IndirectBlock {
            block,
            prefix,
            stride,
            direct,
        })
    }

    /// Checks the heap header address and block offset of a block.
    fn check_owner(&self, c: &mut Cursor, offset: u64, what: &str, addr: u64) -> Result<()> {
        let owner = c.uint(c.sizes().offset as usize)?;
        if owner != self.addr {
            return Err(Error::format(
                format!(
                    "{what}: belongs to the heap at {owner:#x}, not {:#x}",
                    self.addr
                ),
                addr,
            ));
        }
        let stored = c.uint(self.offset_width)?;
        if stored != offset {
            return Err(Error::format(
                format!("{what}: block offset {stored}, expected {offset}"),
                addr,
            ));
        }
        Ok(())
    }

    /// The bytes of a direct block (unfiltered), checked.
    fn direct_block<'a>(&self, ctx: &FileCtx<'a>, b: &DirectBlock) -> Result<Cow<'a, [u8]>> {
        let what = "fractal heap direct block";
        let data: Cow<'a, [u8]> = match b.filtered {
            None => Cow::Borrowed(ctx.slice(b.addr, b.size, what)?),
            Some((stored, mask)) => {
                let raw = ctx.slice(b.addr, stored, what)?;
                Cow::Owned(self.unfilter(ctx, raw, mask, b.size, b.addr)?)
            }
        };
        let mut c = Cursor::new(&data, b.addr, ctx.sizes);
        c.signature(b"FHDB", what)?;
        let version = c.u8()?;
        if version != 0 {
            return Err(Error::format(format!("{what}: version {version}"), b.addr));
        }
        self.check_owner(&mut c, b.offset, what, b.addr)?;
        if self.checksummed_blocks() && !(b.filtered.is_none() && self.verified.contains(b.addr)) {
            let at = c.position();
            let stored = c.u32()?;
            let mut copy = data.to_vec();
            copy[at..at + 4].fill(0);
            let computed = checksum::lookup3(&copy, 0);
            if stored != computed {
                return Err(Error::format(
                    format!(
                        "{what}: bad checksum (stored {stored:#010x}, computed {computed:#010x})"
                    ),
                    b.addr,
                ));
            }
            if b.filtered.is_none() {
                self.verified.insert(b.addr);
            }
        }
        Ok(data)
    }

    /// Undoes the heap's filters on `data`, skipping those set in `mask`;
    /// the result must be `expected` bytes.
    fn unfilter(
        &self,
        ctx: &FileCtx,
        data: &[u8],
        mask: u32,
        expected: u64,
        at: u64,
    ) -> Result<Vec<u8>> {
        if expected > ctx.limits.max_chunk_bytes {
            return Err(Error::limit(format!(
                "fractal heap block or object at {at:#x} of {expected} bytes exceeds the \
                 limit of {}",
                ctx.limits.max_chunk_bytes
            )));
        }
        let mut buf = data.to_vec();
        for (i, f) in self.filters.iter().enumerate().rev() {
            if i < 32 && mask & (1 << i) != 0 {
                continue;
            }
            match f.id {
                filter_id::DEFLATE => {
                    let mut out = Vec::new();
                    flate2::read::ZlibDecoder::new(&buf[..])
                        .take(expected.saturating_add(1))
                        .read_to_end(&mut out)
                        .map_err(|e| {
                            Error::format(format!("fractal heap: deflate failed: {e}"), at)
                        })?;
                    buf = out;
                }
                id => {
                    return Err(Error::unsupported(format!(
                        "filter {id} ({}) on the fractal heap at {:#x}",
                        f.name, self.addr
                    )));
                }
            }
        }
        if buf.len() as u64 != expected {
            return Err(Error::format(
                format!(
                    "fractal heap: filtered data unfilters to {} bytes, expected {expected}",
                    buf.len()
                ),
                at,
            ));
        }
        Ok(buf)
    }
}

/// Signature of a free-space manager header.
const FREE_SPACE_HEADER: &[u8; 4] = b"FSHD";
/// Signature of a free-space section list.
const FREE_SPACE_SECTIONS: &[u8; 4] = b"FSSE";

/// The file space of the free-space manager whose header is at `addr`
/// (spec III.H): the header and, when it has one, the serialized section
/// list's allocated size.
///
/// ```text
/// header: "FSHD" | version 0 | client id | total space (L) | sections (L)
///   | serialized sections (L) | unserialized sections (L)
///   | section classes (2) | shrink % (2) | expand % (2)
///   | address space bits (2) | max section size (L)
///   | section list address (O) | section list used (L)
///   | section list allocated (L) | checksum (4)
/// section list: "FSSE" | version 0 | header address (O) | records ...
/// ```
fn free_space_extents(ctx: &FileCtx, addr: u64) -> Result<Vec<(u64, u64)>> {
    const WHAT: &str = "free-space manager header";
    let l = ctx.sizes.length as u64;
    let len = 6 + 4 * l + 8 + l + ctx.sizes.offset as u64 + 2 * l + 4;
    let mut c = ctx.checksummed_block(addr, len, FREE_SPACE_HEADER, WHAT)?;
    c.skip(1 + 4 * l as usize + 8)?;
    let _max_section = c.length()?;
    let list = c.address_field()?;
    let _used = c.length()?;
    let allocated = c.length()?;
    let mut out = vec![(addr, len)];
    if let Some(list) = list.filter(|_| allocated > 0) {
        const LIST: &str = "free-space section list";
        let block = ctx.slice(list, allocated, LIST)?;
        let mut s = Cursor::new(block, list, ctx.sizes);
        s.signature(FREE_SPACE_SECTIONS, LIST)?;
        let version = s.u8()?;
        if version != 0 {
            return Err(Error::format(format!("{LIST}: version {version}"), list));
        }
        if s.address_field()? != Some(addr) {
            return Err(Error::format(
                format!("{LIST}: does not belong to the free-space manager at {addr:#x}"),
                list,
            ));
        }
        out.push((list, allocated));
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// Encode side
// ---------------------------------------------------------------------------

/// Creation parameters of a fractal heap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeapParams {
    /// Length of heap IDs in bytes.
    pub id_len: u16,
    /// Objects larger than this are stored as huge objects.
    pub max_managed_size: u32,
    /// Columns of the doubling table (a power of two).
    pub table_width: u16,
    /// Size of the first direct blocks (a power of two).
    pub start_block_size: u64,
    /// Largest direct block (a power of two).
    pub max_direct_size: u64,
    /// log2 of the managed address space size.
    pub max_heap_bits: u16,
    /// Rows of the root indirect block when it is first made (0: as many
    /// as the heap size allows).
    pub start_root_rows: u16,
    /// Direct blocks carry a checksum (header flag bit 1).
    pub checksum_direct_blocks: bool,
}

impl HeapParams {
    /// The heap libhdf5 makes for a group's dense links: 7-byte IDs,
    /// objects of up to 4096 bytes managed, a doubling table 4 wide from
    /// 512-byte blocks up to 64 KiB, a 32-bit address space, one root row
    /// to start, checksummed direct blocks.
    pub const fn links() -> HeapParams {
        HeapParams {
            id_len: 7,
            max_managed_size: 4096,
            table_width: 4,
            start_block_size: 512,
            max_direct_size: 65536,
            max_heap_bits: 32,
            start_root_rows: 1,
            checksum_direct_blocks: true,
        }
    }

    /// The heap libhdf5 makes for an object's dense attributes: as
    /// [`HeapParams::links`] but with 8-byte IDs, 1024-byte first blocks
    /// and a 40-bit address space.
    pub const fn attributes() -> HeapParams {
        HeapParams {
            id_len: 8,
            start_block_size: 1024,
            max_heap_bits: 40,
            ..HeapParams::links()
        }
    }
}

/// A fractal heap laid out by [`encode_heap`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeapImage {
    /// Address of the heap header.
    pub header: u64,
    /// The heap ID of each object, in the order the objects were given.
    pub ids: Vec<Vec<u8>>,
    /// The blocks to write: header, direct blocks, huge objects, indirect
    /// blocks, huge-object B-tree.
    pub blocks: Blocks,
}

/// A direct block being filled.
struct NewDirect {
    offset: u64,
    addr: u64,
    data: Vec<u8>,
}

/// What an entry of an indirect block points at.
#[derive(Debug, Clone, Copy)]
enum Child {
    Direct(usize),
    Indirect(usize),
}

/// An indirect block being built.
struct NewIndirect {
    rows: u64,
    /// Heap offset of the block's span.
    offset: u64,
    /// Address: taken when a child is made, at the end for the root.
    addr: Option<u64>,
    children: Vec<(u64, Child)>,
}

/// Free space the next managed object may take: room left in a direct
/// block, or a whole direct block skipped by the doubling-table iterator
/// and not made yet (`block`: its indirect block and entry).
#[derive(Debug, Clone, Copy)]
struct Section {
    offset: u64,
    size: u64,
    block: Option<(usize, u64)>,
}

/// The state of a heap being built, mirroring libhdf5's allocation of
/// managed space.
struct Builder<'p> {
    p: &'p HeapParams,
    sizes: Sizes,
    /// Bytes before the objects of a direct block.
    overhead: u64,
    offset_width: usize,
    width: u64,
    start_bits: u32,
    first_row_bits: u32,
    max_dblock_rows: u64,
    max_root_rows: u64,
    direct: Vec<NewDirect>,
    /// Indirect blocks; the first is the root once the root is indirect.
    indirect: Vec<NewIndirect>,
    sections: Vec<Section>,
    /// The doubling-table iterator: indirect blocks from the root down and
    /// the next entry of each (empty while the root is not indirect).
    iter: Vec<(usize, u64)>,
    managed_objects: u64,
    managed_bytes: u64,
}

impl Builder<'_> {
    fn block_size(&self, row: u64) -> u64 {
        if row == 0 {
            self.p.start_block_size
        } else {
            self.p.start_block_size << (row - 1)
        }
    }

    /// Room for objects in one block of `row`: a direct block's size less
    /// its header, or for a row of child indirect blocks, the room of all
    /// the direct blocks one child spans (as libhdf5 counts free space).
    fn row_room(&self, row: u64) -> u64 {
        if row < self.max_dblock_rows {
            return self.block_size(row) - self.overhead;
        }
        let size = self.block_size(row);
        let (mut span, mut room, mut r) = (0u64, 0u64, 0u64);
        while span < size {
            span += self.block_size(r) * self.width;
            room += self.row_room(r) * self.width;
            r += 1;
        }
        room
    }

    /// Offset of `row` from the start of its indirect block.
    fn row_offset(&self, row: u64) -> u64 {
        if row == 0 {
            0
        } else {
            self.block_size(row) * self.width
        }
    }

    /// Heap offset of entry `entry` of indirect block `ib`.
    fn entry_offset(&self, ib: usize, entry: u64) -> u64 {
        let (row, col) = (entry / self.width, entry % self.width);
        self.indirect[ib].offset + self.row_offset(row) + col * self.block_size(row)
    }

    /// The row holding blocks of `size` bytes.
    fn size_to_row(&self, size: u64) -> u64 {
        if size <= self.p.start_block_size {
            0
        } else {
            (size.trailing_zeros() - self.start_bits) as u64 + 1
        }
    }

    /// Rows of an indirect block spanning `size` bytes.
    fn size_to_rows(&self, size: u64) -> u64 {
        size.trailing_zeros().saturating_sub(self.first_row_bits) as u64 + 1
    }

    /// Bytes of an indirect block of `rows` rows.
    fn indirect_len(&self, rows: u64) -> u64 {
        let o = self.sizes.offset as u64;
        5 + o + self.offset_width as u64 + rows * self.width * o + 4
    }

    /// Makes a direct block, the root one (`None`) or entry `e` of
    /// indirect block `ib`, and returns the index of the section of its
    /// free space.
    fn make_block(&mut self, at: Option<(usize, u64)>, alloc: &mut dyn Allocator) -> Result<usize> {
        let (offset, size) = match at {
            None => (0, self.p.start_block_size),
            Some((ib, e)) => {
                let row = e / self.width;
                if row >= self.max_dblock_rows {
                    return Err(Error::usage(
                        "fractal heap encoding: a direct block in a row of indirect blocks",
                    ));
                }
                (self.entry_offset(ib, e), self.block_size(row))
            }
        };
        let addr = alloc.alloc(size);
        self.direct.push(NewDirect {
            offset,
            addr,
            data: vec![0; size as usize],
        });
        if let Some((ib, e)) = at {
            let d = Child::Direct(self.direct.len() - 1);
            self.indirect[ib].children.push((e, d));
        }
        self.sections.push(Section {
            offset: offset + self.overhead,
            size: size - self.overhead,
            block: None,
        });
        Ok(self.sections.len() - 1)
    }

    /// Records entries `from..to` of indirect block `ib` (the iterator's)
    /// as skipped: free space of direct blocks not made yet.
    fn skip(&mut self, ib: usize, from: u64, to: u64) -> Result<()> {
        for e in from..to {
            let row = e / self.width;
            if row >= self.max_dblock_rows {
                return Err(Error::unsupported(
                    "fractal heap encoding: an object that skips whole indirect blocks",
                ));
            }
            self.sections.push(Section {
                offset: self.entry_offset(ib, e),
                size: self.block_size(row) - self.overhead,
                block: Some((ib, e)),
            });
        }
        if let Some(top) = self.iter.last_mut() {
            top.1 = top.1.max(to);
        }
        Ok(())
    }

    /// Turns the root into an indirect block (the root direct block, if
    /// any, becoming its entry 0), with enough rows for a block of `min`.
    fn root_create(&mut self, min: u64) -> Result<()> {
        let mut rows = if self.p.start_root_rows == 0 {
            self.max_root_rows
        } else {
            self.p.start_root_rows as u64
        };
        rows = rows.max(1 + self.size_to_row(min));
        let mut children = Vec::new();
        if !self.direct.is_empty() {
            children.push((0, Child::Direct(0)));
        }
        let have_direct = children.len() as u64;
        self.indirect.push(NewIndirect {
            rows,
            offset: 0,
            addr: None,
            children,
        });
        self.iter = vec![(0, have_direct)];
        if min > self.p.start_block_size {
            self.skip(0, have_direct, (rows - 1) * self.width)?;
        }
        Ok(())
    }

    /// Doubles the rows of the root indirect block (the iterator at its
    /// end), skipping to a row of blocks of at least `min` bytes.
    fn root_double(&mut self, min: u64) -> Result<()> {
        let rows = self.indirect[0].rows;
        let next = rows * self.width;
        let mut new_rows = (2 * rows).min(self.max_root_rows);
        let mut to = next;
        if min > self.block_size(rows) {
            let min_row = self.size_to_row(min);
            to = min_row * self.width;
            new_rows = new_rows.max(min_row + 1);
        }
        self.indirect[0].rows = new_rows;
        self.skip(0, next, to)
    }

    /// Moves the block iterator to a place for a direct block of at least
    /// `min` bytes: growing the root, leaving a finished child indirect
    /// block, making a new one.
    fn update_iter(&mut self, min: u64, alloc: &mut dyn Allocator) -> Result<()> {
        let Some(&(ib, e)) = self.iter.last() else {
            return self.root_create(min);
        };
        let min_row = self.size_to_row(min);
        let rows = self.indirect[ib].rows;
        if min_row > e / self.width && e / self.width < rows {
            self.skip(ib, e, min_row.min(rows) * self.width)?;
        }
        loop {
            let mut walked = false;
            while let Some(&(ib, e)) = self.iter.last()
                && e / self.width >= self.indirect[ib].rows
            {
                if self.iter.len() == 1 {
                    if self.indirect[0].rows >= self.max_root_rows {
                        return Err(Error::unsupported(
                            "fractal heap encoding: the heap's address space is full",
                        ));
                    }
                    self.root_double(min)?;
                } else {
                    self.iter.pop();
                    if let Some(top) = self.iter.last_mut() {
                        top.1 += 1;
                    }
                }
                walked = true;
            }
            let Some(&(ib, e)) = self.iter.last() else {
                break;
            };
            let row = e / self.width;
            if row >= self.max_dblock_rows {
                let rows = self.size_to_rows(self.block_size(row));
                if self.block_size(rows - 1) < min {
                    return Err(Error::unsupported(
                        "fractal heap encoding: an object that skips whole indirect blocks",
                    ));
                }
                let offset = self.entry_offset(ib, e);
                let addr = alloc.alloc(self.indirect_len(rows));
                self.indirect.push(NewIndirect {
                    rows,
                    offset,
                    addr: Some(addr),
                    children: Vec::new(),
                });
                let child = self.indirect.len() - 1;
                self.indirect[ib].children.push((e, Child::Indirect(child)));
                self.iter.push((child, 0));
                if min > self.p.start_block_size {
                    self.skip(child, 0, self.width * min_row)?;
                }
                walked = true;
            }
            if !walked {
                break;
            }
        }
        Ok(())
    }

    /// Makes a new direct block for an object of `len` bytes, as libhdf5
    /// does when no free space fits it; returns its section.
    fn new_block(&mut self, len: u64, alloc: &mut dyn Allocator) -> Result<usize> {
        let start = self.p.start_block_size;
        let mut min = if len < start {
            start
        } else {
            1u64 << (64 - len.leading_zeros())
        };
        if min < self.overhead + len {
            min *= 2;
        }
        if min > self.p.max_direct_size {
            return Err(Error::usage(format!(
                "fractal heap encoding: a managed object of {len} bytes does not fit a direct \
                 block of at most {} bytes",
                self.p.max_direct_size
            )));
        }
        if self.indirect.is_empty() && self.direct.is_empty() && min == start {
            return self.make_block(None, alloc);
        }
        self.update_iter(min, alloc)?;
        let at = self
            .iter
            .last_mut()
            .map(|top| {
                let at = *top;
                top.1 += 1;
                at
            })
            .ok_or_else(|| Error::usage("fractal heap encoding: no block iterator"))?;
        self.make_block(Some(at), alloc)
    }

    /// Places a managed object and returns its heap offset.
    fn managed(&mut self, obj: &[u8], alloc: &mut dyn Allocator) -> Result<u64> {
        let len = obj.len() as u64;
        // best fit: the smallest section that holds the object, the lowest
        // offset among equals
        let best = self
            .sections
            .iter()
            .enumerate()
            .filter(|(_, s)| s.size >= len)
            .min_by_key(|(_, s)| (s.size, s.offset))
            .map(|(i, _)| i);
        let mut i = match best {
            Some(i) => i,
            None => self.new_block(len, alloc)?,
        };
        if let Some(at) = self.sections[i].block {
            self.sections.swap_remove(i);
            i = self.make_block(Some(at), alloc)?;
        }
        let s = self.sections[i];
        let block = self
            .direct
            .iter_mut()
            .find(|b| b.offset <= s.offset && s.offset < b.offset + b.data.len() as u64)
            .ok_or_else(|| Error::usage("fractal heap encoding: free space outside any block"))?;
        let at = (s.offset - block.offset) as usize;
        block.data[at..at + obj.len()].copy_from_slice(obj);
        if s.size == len {
            self.sections.swap_remove(i);
        } else {
            self.sections[i].offset += len;
            self.sections[i].size -= len;
        }
        self.managed_objects += 1;
        self.managed_bytes += len;
        Ok(s.offset)
    }

    /// Encodes indirect block `ib`, whose address is known.
    fn encode_indirect(&self, ib: usize, header: u64) -> Vec<u8> {
        let b = &self.indirect[ib];
        let mut e = Encoder::new(self.sizes);
        e.bytes(b"FHIB")
            .u8(0)
            .address(Some(header))
            .uint(b.offset, self.offset_width);
        for entry in 0..b.rows * self.width {
            let a = b
                .children
                .iter()
                .find(|c| c.0 == entry)
                .and_then(|c| match c.1 {
                    Child::Direct(d) => Some(self.direct[d].addr),
                    Child::Indirect(i) => self.indirect[i].addr,
                });
            e.address(a);
        }
        let mut bytes = e.into_bytes();
        let s = checksum::lookup3(&bytes, 0);
        bytes.extend_from_slice(&s.to_le_bytes());
        bytes
    }
}

/// Lays out a fractal heap holding `objects`, inserted in the order given,
/// as libhdf5 fills a new heap:
///
/// - objects larger than the max managed size are huge objects, stored
///   each in its own block and indexed by a v2 B-tree (type 1, keys 1, 2,
///   ... when the IDs are too short for an address and a length, else
///   type 3 with the address and length in the ID);
/// - objects that fit the heap ID after its first byte are tiny (not for
///   libhdf5's link and attribute heaps, whose objects are longer);
/// - the others are managed: each goes to the smallest free space that
///   holds it (lowest heap offset among equals), else to a new direct
///   block: the first block is the root direct block; then the root
///   becomes an indirect block of `start_root_rows` rows and blocks are
///   made in doubling-table order, skipping blocks too small for the
///   object (their space stays free for later objects), doubling the
///   root's rows when it is full, and descending into child indirect
///   blocks in the rows past the largest direct blocks.
///
/// Space is taken from `alloc` for the header first, then, as the objects
/// are placed, for each child indirect block, direct block and huge
/// object when it is made, then for the root indirect block, then for the
/// huge-object B-tree (header, nodes).
///
/// The header's free-space manager address is left undefined: libhdf5
/// rebuilds nothing from it and starts a new manager when the heap next
/// gets an object (the free space recorded in blocks written here is then
/// not reused).
///
/// # Errors
///
/// A usage error for parameters that cannot describe a heap, an empty
/// object, or an object that fits no block; an unsupported error when the
/// heap's address space is full, or for an object that would skip whole
/// child indirect blocks (whose direct blocks are all too small for it:
/// not with libhdf5's link and attribute parameters).
pub fn encode_heap<T: AsRef<[u8]>>(
    params: &HeapParams,
    objects: &[T],
    sizes: Sizes,
    alloc: &mut dyn Allocator,
) -> Result<HeapImage> {
    let p = params;
    let bad = |what: &str| Error::usage(format!("fractal heap parameters: {what}"));
    let pow2 = |v: u64| v != 0 && v.is_power_of_two();
    if !pow2(p.table_width as u64) || !pow2(p.start_block_size) || !pow2(p.max_direct_size) {
        return Err(bad("table width and block sizes must be powers of two"));
    }
    let start_bits = p.start_block_size.trailing_zeros();
    let direct_bits = p.max_direct_size.trailing_zeros();
    let first_row_bits = start_bits + (p.table_width as u64).trailing_zeros();
    if direct_bits < start_bits
        || p.max_heap_bits as u32 > 64
        || (p.max_heap_bits as u32) < first_row_bits
        || direct_bits >= p.max_heap_bits as u32
    {
        return Err(bad("block sizes do not fit the heap size"));
    }
    let offset_width = (p.max_heap_bits as usize).div_ceil(8);
    let length_width = bytes_for(p.max_direct_size.min(p.max_managed_size as u64));
    if (p.id_len as usize) < 1 + offset_width + length_width {
        return Err(bad("heap IDs too short for managed objects"));
    }
    let sum = if p.checksum_direct_blocks { 4 } else { 0 };
    let overhead = 5 + sizes.offset as u64 + offset_width as u64 + sum;
    if p.start_block_size <= overhead {
        return Err(bad("starting block smaller than a block header"));
    }
    let o = sizes.offset as usize;
    let l = sizes.length as usize;
    let id_len = p.id_len as usize;
    let huge_direct = id_len > o + l;
    let huge_key_len = (id_len - 1).min(8);
    let (tiny_max, tiny_extended) = if p.id_len > TINY_SHORT_MAX_ID {
        ((id_len - 2).min(4096), true)
    } else {
        ((id_len - 1).min(16), false)
    };

    let header_len = encode_heap_header(p, &HeapCounts::default(), sizes).len() as u64;
    let header = alloc.alloc(header_len);
    let mut b = Builder {
        p,
        sizes,
        overhead,
        offset_width,
        width: p.table_width as u64,
        start_bits,
        first_row_bits,
        max_dblock_rows: (direct_bits - start_bits + 2) as u64,
        max_root_rows: (p.max_heap_bits as u32 - first_row_bits + 1) as u64,
        direct: Vec::new(),
        indirect: Vec::new(),
        sections: Vec::new(),
        iter: Vec::new(),
        managed_objects: 0,
        managed_bytes: 0,
    };
    let mut ids = Vec::with_capacity(objects.len());
    let mut huge_blocks = Blocks::new();
    let mut huge: Vec<(RecordKey, Vec<u8>)> = Vec::new();
    let mut counts = HeapCounts::default();
    for obj in objects {
        let obj = obj.as_ref();
        let len = obj.len() as u64;
        let mut id = Vec::with_capacity(id_len);
        if obj.is_empty() {
            return Err(Error::usage("fractal heap encoding: empty object"));
        } else if len > p.max_managed_size as u64 {
            let addr = alloc.alloc(len);
            huge_blocks.push((addr, obj.to_vec()));
            counts.huge_objects += 1;
            counts.huge_size += len;
            id.push(ID_HUGE << 4);
            let rec = if huge_direct {
                id.extend_from_slice(&addr.to_le_bytes()[..o]);
                id.extend_from_slice(&len.to_le_bytes()[..l]);
                HugeObject {
                    addr,
                    len,
                    filter: None,
                    id: None,
                }
            } else {
                counts.next_huge_id += 1;
                let key = counts.next_huge_id;
                if huge_key_len < 8 && key >> (8 * huge_key_len) != 0 {
                    return Err(Error::unsupported(
                        "fractal heap encoding: huge object IDs wrap around",
                    ));
                }
                id.extend_from_slice(&key.to_le_bytes()[..huge_key_len]);
                HugeObject {
                    addr,
                    len,
                    filter: None,
                    id: Some(key),
                }
            };
            let t = if huge_direct { 3 } else { 1 };
            huge.push((rec.key(), rec.encode(t, sizes)?));
        } else if obj.len() <= tiny_max {
            let n = obj.len() - 1;
            if tiny_extended {
                id.push(ID_TINY << 4 | ((n >> 8) & 0x0f) as u8);
                id.push(n as u8);
            } else {
                id.push(ID_TINY << 4 | n as u8);
            }
            id.extend_from_slice(obj);
            counts.tiny_objects += 1;
            counts.tiny_size += len;
        } else {
            let off = b.managed(obj, alloc)?;
            id.push(ID_MANAGED << 4);
            id.extend_from_slice(&off.to_le_bytes()[..offset_width]);
            id.extend_from_slice(&len.to_le_bytes()[..length_width]);
        }
        id.resize(id_len, 0);
        ids.push(id);
    }

    let mut blocks = Blocks::new();
    counts.managed_objects = b.managed_objects;
    counts.alloc_managed = b.direct.iter().map(|d| d.data.len() as u64).sum();
    if b.indirect.is_empty() {
        if let Some(d) = b.direct.first() {
            counts.root = Some(d.addr);
            counts.managed_space = p.start_block_size;
            counts.free_space = p.start_block_size - overhead - b.managed_bytes;
        }
    } else {
        let rows = b.indirect[0].rows;
        let root = alloc.alloc(b.indirect_len(rows));
        b.indirect[0].addr = Some(root);
        for ib in 0..b.indirect.len() {
            if let Some(addr) = b.indirect[ib].addr {
                blocks.push((addr, b.encode_indirect(ib, header)));
            }
        }
        counts.root = Some(root);
        counts.root_rows = rows as u16;
        counts.managed_space = b.row_offset(rows);
        counts.iterator_offset = b.iter.last().map_or(0, |&(ib, e)| b.entry_offset(ib, e));
        let room: u64 = (0..rows).map(|r| b.width * b.row_room(r)).sum();
        counts.free_space = room - b.managed_bytes;
    }
    // direct blocks: prefix, objects, checksum over the whole block
    let mut direct_blocks = Blocks::new();
    for d in &mut b.direct {
        let mut e = Encoder::new(sizes);
        e.bytes(b"FHDB")
            .u8(0)
            .address(Some(header))
            .uint(d.offset, offset_width);
        let at = e.position();
        let prefix = e.into_bytes();
        d.data[..prefix.len()].copy_from_slice(&prefix);
        if p.checksum_direct_blocks {
            let s = checksum::lookup3(&d.data, 0);
            d.data[at..at + 4].copy_from_slice(&s.to_le_bytes());
        }
        direct_blocks.push((d.addr, std::mem::take(&mut d.data)));
    }
    if !huge.is_empty() {
        let params = if huge_direct {
            BTreeV2Params::huge_objects_direct(sizes)
        } else {
            BTreeV2Params::huge_objects(sizes)
        };
        let (bt, bt_blocks) = encode_tree(&params, &huge, sizes, alloc)?;
        counts.huge_btree = Some(bt);
        blocks.extend(bt_blocks);
    }
    let mut out = vec![(header, encode_heap_header(p, &counts, sizes))];
    out.extend(direct_blocks);
    out.extend(huge_blocks);
    out.extend(blocks);
    Ok(HeapImage {
        header,
        ids,
        blocks: out,
    })
}

/// The counters and addresses of a heap header that follow from its
/// content.
#[derive(Debug, Default)]
struct HeapCounts {
    next_huge_id: u64,
    huge_btree: Option<u64>,
    free_space: u64,
    managed_space: u64,
    alloc_managed: u64,
    iterator_offset: u64,
    managed_objects: u64,
    huge_size: u64,
    huge_objects: u64,
    tiny_size: u64,
    tiny_objects: u64,
    root: Option<u64>,
    root_rows: u16,
}

/// Encodes a heap header (no filters, no free-space manager).
fn encode_heap_header(p: &HeapParams, c: &HeapCounts, sizes: Sizes) -> Vec<u8> {
    let flags = if p.checksum_direct_blocks { 0x02 } else { 0 };
    let mut e = Encoder::new(sizes);
    e.bytes(b"FRHP")
        .u8(0)
        .u16(p.id_len)
        .u16(0)
        .u8(flags)
        .u32(p.max_managed_size)
        .length(c.next_huge_id)
        .address(c.huge_btree)
        .length(c.free_space)
        .address(None)
        .length(c.managed_space)
        .length(c.alloc_managed)
        .length(c.iterator_offset)
        .length(c.managed_objects)
        .length(c.huge_size)
        .length(c.huge_objects)
        .length(c.tiny_size)
        .length(c.tiny_objects)
        .u16(p.table_width)
        .length(p.start_block_size)
        .length(p.max_direct_size)
        .u16(p.max_heap_bits)
        .u16(p.start_root_rows)
        .address(c.root)
        .u16(c.root_rows);
    let mut h = e.into_bytes();
    let s = checksum::lookup3(&h, 0);
    h.extend_from_slice(&s.to_le_bytes());
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::btree_v2::tests::{ctx, file, header as bt_header, leaf as bt_leaf};
    use crate::format::checksum::lookup3;
    use crate::limits::Limits;
    use std::io::Write;

    /// Heap header parameters; 8-byte offsets and lengths.
    struct Params {
        id_len: u16,
        flags: u8,
        max_managed: u32,
        huge_btree: u64,
        width: u16,
        start: u64,
        max_direct: u64,
        heap_bits: u16,
        root: u64,
        root_rows: u16,
        /// filtered root size, root mask, encoded pipeline
        filter: Option<(u64, u32, Vec<u8>)>,
    }

    impl Default for Params {
        fn default() -> Self {
            Params {
                id_len: 4,
                flags: 0x02,
                max_managed: 100,
                huge_btree: u64::MAX,
                width: 2,
                start: 64,
                max_direct: 128,
                heap_bits: 16,
                root: 200,
                root_rows: 0,
                filter: None,
            }
        }
    }

    fn seal(mut b: Vec<u8>) -> Vec<u8> {
        let sum = lookup3(&b, 0);
        b.extend(sum.to_le_bytes());
        b
    }

    fn heap_header(p: &Params) -> Vec<u8> {
        let mut b = b"FRHP".to_vec();
        b.push(0);
        b.extend(p.id_len.to_le_bytes());
        let flen = p.filter.as_ref().map_or(0, |f| f.2.len() as u16);
        b.extend(flen.to_le_bytes());
        b.push(p.flags);
        b.extend(p.max_managed.to_le_bytes());
        b.extend(0u64.to_le_bytes()); // next huge ID
        b.extend(p.huge_btree.to_le_bytes());
        b.extend(0u64.to_le_bytes()); // free space
        b.extend(u64::MAX.to_le_bytes()); // free-space manager
        for _ in 0..8 {
            b.extend(0u64.to_le_bytes()); // space and object counters
        }
        b.extend(p.width.to_le_bytes());
        b.extend(p.start.to_le_bytes());
        b.extend(p.max_direct.to_le_bytes());
        b.extend(p.heap_bits.to_le_bytes());
        b.extend(1u16.to_le_bytes()); // starting root rows
        b.extend(p.root.to_le_bytes());
        b.extend(p.root_rows.to_le_bytes());
        if let Some((size, mask, pipeline)) = &p.filter {
            b.extend(size.to_le_bytes());
            b.extend(mask.to_le_bytes());
            b.extend(pipeline);
        }
        seal(b)
    }

    /// A direct block of `size` bytes for a heap at `heap` with 2-byte
    /// block offsets, objects placed at their offsets within the block.
    fn dblock(
        heap: u64,
        offset: u16,
        size: usize,
        sum: bool,
        objects: &[(usize, &[u8])],
    ) -> Vec<u8> {
        let mut b = b"FHDB".to_vec();
        b.push(0);
        b.extend(heap.to_le_bytes());
        b.extend(offset.to_le_bytes());
        let sum_at = b.len();
        if sum {
            b.extend([0; 4]);
        }
        b.resize(size, 0);
        for (at, o) in objects {
            b[*at..*at + o.len()].copy_from_slice(o);
        }
        if sum {
            let s = lookup3(&b, 0);
            b[sum_at..sum_at + 4].copy_from_slice(&s.to_le_bytes());
        }
        b
    }

    /// An indirect block: direct entries (address and, when filtered,
    /// size and mask), then indirect entries.
    fn iblock(
        heap: u64,
        offset: u16,
        direct: &[(u64, Option<(u64, u32)>)],
        indirect: &[u64],
    ) -> Vec<u8> {
        let mut b = b"FHIB".to_vec();
        b.push(0);
        b.extend(heap.to_le_bytes());
        b.extend(offset.to_le_bytes());
        for (a, f) in direct {
            b.extend(a.to_le_bytes());
            if let Some((s, m)) = f {
                b.extend(s.to_le_bytes());
                b.extend(m.to_le_bytes());
            }
        }
        for a in indirect {
            b.extend(a.to_le_bytes());
        }
        seal(b)
    }

    /// Managed heap ID: 2-byte offset, 1-byte length.
    fn managed_id(offset: u16, len: u8) -> [u8; 4] {
        let o = offset.to_le_bytes();
        [0x00, o[0], o[1], len]
    }

    // direct block prefix: 4 + 1 + 8 + 2 + 4 (checksum) = 19 bytes

    #[test]
    fn header_fields_and_widths() {
        let h = heap_header(&Params::default());
        let f = file(&[(0, &h)]);
        let heap = FractalHeap::read(&ctx(&f), 0).unwrap();
        assert_eq!((heap.id_len, heap.table_width), (4, 2));
        assert_eq!((heap.start_block_size, heap.max_direct_size), (64, 128));
        assert_eq!(heap.root, Some(200));
        assert!(heap.checksummed_blocks());
        assert!(!heap.is_filtered());
        // offsets: 16 bits -> 2 bytes; lengths: min(128, 100) -> 1 byte
        assert_eq!((heap.id_offset_width(), heap.id_length_width()), (2, 1));
        assert_eq!(heap.max_dblock_rows, 3);
    }

    #[test]
    fn header_checksum_and_parameters() {
        let mut h = heap_header(&Params::default());
        h[30] ^= 1;
        let f = file(&[(0, &h)]);
        let e = FractalHeap::read(&ctx(&f), 0).unwrap_err();
        assert!(e.to_string().contains("checksum"), "{e}");
        let h = heap_header(&Params {
            width: 3,
            ..Params::default()
        });
        let f = file(&[(0, &h)]);
        let e = FractalHeap::read(&ctx(&f), 0).unwrap_err();
        assert!(e.to_string().contains("power of two"), "{e}");
        let h = heap_header(&Params {
            root_rows: 20,
            ..Params::default()
        });
        let f = file(&[(0, &h)]);
        let e = FractalHeap::read(&ctx(&f), 0).unwrap_err();
        assert!(e.to_string().contains("rows"), "{e}");
    }

    #[test]
    fn managed_object_in_root_direct_block() {
        let h = heap_header(&Params::default());
        let d = dblock(0, 0, 64, true, &[(19, b"hello"), (24, b"world!")]);
        let f = file(&[(0, &h), (200, &d)]);
        let c = ctx(&f);
        let heap = FractalHeap::read(&c, 0).unwrap();
        let o = heap.object(&c, &managed_id(19, 5)).unwrap();
        assert_eq!(&*o, b"hello");
        assert!(matches!(o, Cow::Borrowed(_)));
        assert_eq!(&*heap.object(&c, &managed_id(24, 6)).unwrap(), b"world!");
        // inside the block header, past the block end, of length 0
        for id in [managed_id(10, 4), managed_id(60, 5), managed_id(19, 0)] {
            assert!(heap.object(&c, &id).is_err(), "{id:?}");
        }
        // past the root direct block
        assert!(heap.object(&c, &managed_id(64, 1)).is_err());
    }

    #[test]
    fn direct_block_checksum_is_verified() {
        let h = heap_header(&Params::default());
        let mut d = dblock(0, 0, 64, true, &[(19, b"hello")]);
        d[40] ^= 1; // unused space is covered too
        let f = file(&[(0, &h), (200, &d)]);
        let c = ctx(&f);
        let heap = FractalHeap::read(&c, 0).unwrap();
        let e = heap.object(&c, &managed_id(19, 5)).unwrap_err();
        assert!(e.to_string().contains("checksum"), "{e}");
        assert!(e.to_string().contains("0xc8"), "{e}");
        // without flag bit 1 there is no checksum field
        let h = heap_header(&Params {
            flags: 0,
            ..Params::default()
        });
        let d = dblock(0, 0, 64, false, &[(15, b"hello")]);
        let f = file(&[(0, &h), (200, &d)]);
        let c = ctx(&f);
        let heap = FractalHeap::read(&c, 0).unwrap();
        assert_eq!(&*heap.object(&c, &managed_id(15, 5)).unwrap(), b"hello");
    }

    #[test]
    fn direct_block_of_another_heap() {
        let h = heap_header(&Params::default());
        let d = dblock(999, 0, 64, true, &[(19, b"hello")]);
        let f = file(&[(0, &h), (200, &d)]);
        let c = ctx(&f);
        let heap = FractalHeap::read(&c, 0).unwrap();
        let e = heap.object(&c, &managed_id(19, 5)).unwrap_err();
        assert!(e.to_string().contains("belongs to the heap"), "{e}");
    }

    /// Width 2, blocks of 64 up to 128 bytes: rows 0 and 1 hold 64-byte
    /// direct blocks, row 2 128-byte ones, row 3 256-byte blocks that are
    /// indirect blocks of 2 rows of 64-byte direct blocks.
    ///
    /// ```text
    /// heap offsets: row 0 [0, 128)  row 1 [128, 256)  row 2 [256, 512)
    ///               row 3 [512, 1024): child 0 [512, 768), child 1 [768, 1024)
    /// ```
    fn nested() -> Vec<u8> {
        let h = heap_header(&Params {
            root: 1000,
            root_rows: 4,
            ..Params::default()
        });
        let u = u64::MAX;
        // root: 6 direct entries (3 rows), 2 indirect (row 3)
        let root = iblock(
            0,
            0,
            &[
                (2000, None),
                (u, None),
                (2100, None),
                (u, None),
                (2200, None),
                (u, None),
            ],
            &[u, 3000],
        );
        // child 1 at heap offset 768: 2 rows of 2 direct blocks
        let child = iblock(
            0,
            768,
            &[(u, None), (4000, None), (u, None), (u, None)],
            &[],
        );
        let d0 = dblock(0, 0, 64, true, &[(19, b"row0")]);
        let d1 = dblock(0, 128, 64, true, &[(30, b"row1")]);
        let d2 = dblock(0, 256, 128, true, &[(100, b"row2")]);
        let d3 = dblock(0, 832, 64, true, &[(20, b"nested")]);
        file(&[
            (0, &h),
            (1000, &root),
            (2000, &d0),
            (2100, &d1),
            (2200, &d2),
            (3000, &child),
            (4000, &d3),
        ])
    }

    #[test]
    fn doubling_table_lookup() {
        let f = nested();
        let c = ctx(&f);
        let heap = FractalHeap::read(&c, 0).unwrap();
        let get = |off: u16, len: u8| heap.object(&c, &managed_id(off, len)).map(|o| o.to_vec());
        assert_eq!(get(19, 4).unwrap(), b"row0");
        assert_eq!(get(158, 4).unwrap(), b"row1");
        assert_eq!(get(356, 4).unwrap(), b"row2");
        assert_eq!(get(852, 6).unwrap(), b"nested");
        // unallocated blocks: row 0 column 1, child 0, child 1's first block
        for off in [64 + 19, 600, 768 + 19] {
            let e = get(off, 1).unwrap_err();
            assert!(e.to_string().contains("not allocated"), "{off}: {e}");
        }
        // past the root's 4 rows
        assert!(get(1024 + 19, 1).is_err());
    }

    #[test]
    fn nesting_is_bounded() {
        let f = nested();
        let c = FileCtx {
            limits: Limits {
                max_tree_depth: 1,
                ..Limits::default()
            },
            ..ctx(&f)
        };
        let heap = FractalHeap::read(&c, 0).unwrap();
        assert_eq!(&*heap.object(&c, &managed_id(19, 4)).unwrap(), b"row0");
        let e = heap.object(&c, &managed_id(852, 6)).unwrap_err();
        assert!(matches!(e, Error::LimitsExceeded(_)), "{e}");
    }

    #[test]
    fn child_block_offset_is_checked() {
        let mut f = nested();
        // child 1 claims heap offset 512: rewrite and reseal it
        let child = iblock(
            0,
            512,
            &[
                (u64::MAX, None),
                (4000, None),
                (u64::MAX, None),
                (u64::MAX, None),
            ],
            &[],
        );
        f[3000..3000 + child.len()].copy_from_slice(&child);
        let c = ctx(&f);
        let heap = FractalHeap::read(&c, 0).unwrap();
        let e = heap.object(&c, &managed_id(852, 6)).unwrap_err();
        assert!(e.to_string().contains("block offset 512"), "{e}");
    }

    #[test]
    fn mutated_blocks_never_panic() {
        use crate::format::btree_v2::tests::{noise, reseal};
        let clean = nested();
        let hlen = heap_header(&Params::default()).len();
        // (start, length, direct block?)
        let regions = [
            (0usize, hlen, false),
            (1000, 83, false),
            (3000, 51, false),
            (2000, 64, true),
            (2200, 128, true),
            (4000, 64, true),
        ];
        let ids = [
            managed_id(19, 4),
            managed_id(158, 4),
            managed_id(356, 4),
            managed_id(852, 6),
        ];
        let mut s = 0x0123_4567_89ab_cdef;
        for _ in 0..20000 {
            let mut f = clean.clone();
            let (start, len, direct) = regions[(noise(&mut s) % 6) as usize];
            let at = start + (noise(&mut s) as usize % (len - 4));
            f[at] = noise(&mut s) as u8;
            if direct {
                // the checksum sits at bytes 15..19 and covers the block
                f[start + 15..start + 19].fill(0);
                let sum = lookup3(&f[start..start + len], 0);
                f[start + 15..start + 19].copy_from_slice(&sum.to_le_bytes());
            } else {
                reseal(&mut f, start, len);
            }
            let c = ctx(&f);
            let Ok(heap) = FractalHeap::read(&c, 0) else {
                continue;
            };
            for id in &ids {
                let _ = heap.object(&c, id);
            }
            let n = noise(&mut s).to_le_bytes();
            let _ = heap.object(&c, &n[..heap.id_len.min(8) as usize]);
        }
    }

    #[test]
    fn random_ids_never_panic() {
        use crate::format::btree_v2::tests::noise;
        let f = nested();
        let c = ctx(&f);
        let heap = FractalHeap::read(&c, 0).unwrap();
        let h = heap_header(&Params {
            id_len: 20,
            ..Params::default()
        });
        let g = file(&[(0, &h)]);
        let cg = ctx(&g);
        let long = FractalHeap::read(&cg, 0).unwrap();
        let mut s = 42;
        for _ in 0..20000 {
            let n = noise(&mut s).to_le_bytes();
            let _ = heap.object(&c, &n[..4]);
            let mut id = [0u8; 20];
            for (i, b) in id.iter_mut().enumerate() {
                *b = n[i % 8] ^ (i as u8);
            }
            let _ = long.object(&cg, &id);
        }
    }

    #[test]
    fn tiny_objects() {
        // normal form: IDs of at most 18 bytes, length - 1 in bits 0-3
        let h = heap_header(&Params::default());
        let f = file(&[(0, &h)]);
        let c = ctx(&f);
        let heap = FractalHeap::read(&c, 0).unwrap();
        let o = heap.object(&c, &[0x22, b'a', b'b', b'c']).unwrap();
        assert_eq!(&*o, b"abc");
        assert!(heap.object(&c, &[0x23, b'a', b'b', b'c']).is_err());
        // extended form: 20-byte IDs, 12-bit length over bytes 0 and 1
        let h = heap_header(&Params {
            id_len: 20,
            ..Params::default()
        });
        let f = file(&[(0, &h)]);
        let c = ctx(&f);
        let heap = FractalHeap::read(&c, 0).unwrap();
        let mut id = vec![0x20, 17];
        id.extend(b"0123456789abcdefgh");
        assert_eq!(&*heap.object(&c, &id).unwrap(), b"0123456789abcdefgh");
        id[1] = 18;
        assert!(heap.object(&c, &id).is_err());
    }

    #[test]
    fn bad_ids() {
        let h = heap_header(&Params::default());
        let f = file(&[(0, &h)]);
        let c = ctx(&f);
        let heap = FractalHeap::read(&c, 0).unwrap();
        assert!(heap.object(&c, &[]).is_err());
        assert!(heap.object(&c, &[0x00, 1]).is_err(), "too short");
        assert!(heap.object(&c, &[0x40, 0, 0, 1]).is_err(), "version 1");
        assert!(heap.object(&c, &[0x30, 0, 0, 1]).is_err(), "type 3");
        // a huge ID in a heap without a huge-object B-tree
        assert!(heap.object(&c, &[0x10, 1, 0, 0]).is_err());
        // an empty heap has no managed objects
        let h = heap_header(&Params {
            root: u64::MAX,
            ..Params::default()
        });
        let f = file(&[(0, &h)]);
        let c = ctx(&f);
        let heap = FractalHeap::read(&c, 0).unwrap();
        assert!(heap.object(&c, &managed_id(19, 1)).is_err());
    }

    #[test]
    fn huge_object_through_the_btree() {
        // 8-byte IDs: 1 + 7-byte key (8 + 8 bytes would not fit)
        let h = heap_header(&Params {
            id_len: 8,
            huge_btree: 300,
            ..Params::default()
        });
        let mut rec = Vec::new();
        for (a, l, id) in [(600u64, 5u64, 1u64), (700, 3, 2)] {
            rec.push([a.to_le_bytes(), l.to_le_bytes(), id.to_le_bytes()].concat());
        }
        let bt = bt_header(1, 512, 24, 0, 400, 2, 2);
        let lf = bt_leaf(1, &[&rec[0], &rec[1]]);
        let f = file(&[
            (0, &h),
            (300, &bt),
            (400, &lf),
            (600, b"HUGE!"),
            (700, b"big"),
        ]);
        let c = ctx(&f);
        let heap = FractalHeap::read(&c, 0).unwrap();
        let id = |k: u8| [0x10, k, 0, 0, 0, 0, 0, 0];
        assert_eq!(&*heap.object(&c, &id(1)).unwrap(), b"HUGE!");
        assert_eq!(&*heap.object(&c, &id(2)).unwrap(), b"big");
        let e = heap.object(&c, &id(3)).unwrap_err();
        assert!(e.to_string().contains("no huge object with ID 3"), "{e}");
    }

    #[test]
    fn directly_accessed_huge_object() {
        // 17-byte IDs hold an 8-byte address and an 8-byte length
        let h = heap_header(&Params {
            id_len: 17,
            ..Params::default()
        });
        let f = file(&[(0, &h), (500, b"direct data")]);
        let c = ctx(&f);
        let heap = FractalHeap::read(&c, 0).unwrap();
        let mut id = vec![0x10];
        id.extend(500u64.to_le_bytes());
        id.extend(11u64.to_le_bytes());
        assert_eq!(&*heap.object(&c, &id).unwrap(), b"direct data");
        id[9] = 200; // longer than the file
        assert!(heap.object(&c, &id).is_err());
    }

    fn deflate(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    /// Pipeline message version 2 with deflate (level 6).
    fn deflate_pipeline() -> Vec<u8> {
        let mut p = vec![2u8, 1];
        p.extend(1u16.to_le_bytes());
        p.extend(0u16.to_le_bytes());
        p.extend(1u16.to_le_bytes());
        p.extend(6u32.to_le_bytes());
        p
    }

    #[test]
    fn filtered_root_direct_block() {
        let d = dblock(0, 0, 64, true, &[(19, b"squeezed")]);
        let z = deflate(&d);
        let h = heap_header(&Params {
            filter: Some((z.len() as u64, 0, deflate_pipeline())),
            ..Params::default()
        });
        let f = file(&[(0, &h), (200, &z)]);
        let c = ctx(&f);
        let heap = FractalHeap::read(&c, 0).unwrap();
        assert!(heap.is_filtered());
        assert_eq!(heap.filters[0].id, 1);
        let o = heap.object(&c, &managed_id(19, 8)).unwrap();
        assert_eq!(&*o, b"squeezed");
        assert!(matches!(o, Cow::Owned(_)));
        // a mask skipping the filter leaves zlib bytes that are no block
        let h = heap_header(&Params {
            filter: Some((z.len() as u64, 1, deflate_pipeline())),
            ..Params::default()
        });
        let f = file(&[(0, &h), (200, &z)]);
        let c = ctx(&f);
        let heap = FractalHeap::read(&c, 0).unwrap();
        assert!(heap.object(&c, &managed_id(19, 8)).is_err());
    }

    #[test]
    fn filtered_blocks_in_an_indirect_block() {
        let d0 = dblock(0, 0, 64, true, &[(19, b"first")]);
        let d1 = dblock(0, 64, 64, true, &[(19, b"second")]);
        let (z0, z1) = (deflate(&d0), deflate(&d1));
        let h = heap_header(&Params {
            root: 1000,
            root_rows: 1,
            filter: Some((0, 0, deflate_pipeline())),
            ..Params::default()
        });
        let root = iblock(
            0,
            0,
            &[
                (2000, Some((z0.len() as u64, 0))),
                (3000, Some((z1.len() as u64, 0))),
            ],
            &[],
        );
        let f = file(&[(0, &h), (1000, &root), (2000, &z0), (3000, &z1)]);
        let c = ctx(&f);
        let heap = FractalHeap::read(&c, 0).unwrap();
        assert_eq!(&*heap.object(&c, &managed_id(19, 5)).unwrap(), b"first");
        assert_eq!(
            &*heap.object(&c, &managed_id(64 + 19, 6)).unwrap(),
            b"second"
        );
    }

    #[test]
    fn unsupported_filter() {
        let d = dblock(0, 0, 64, true, &[(19, b"x")]);
        let mut p = vec![2u8, 1];
        p.extend(2u16.to_le_bytes()); // shuffle
        p.extend(0u16.to_le_bytes());
        p.extend(0u16.to_le_bytes());
        let h = heap_header(&Params {
            filter: Some((64, 0, p)),
            ..Params::default()
        });
        let f = file(&[(0, &h), (200, &d)]);
        let c = ctx(&f);
        let heap = FractalHeap::read(&c, 0).unwrap();
        let e = heap.object(&c, &managed_id(19, 1)).unwrap_err();
        assert!(matches!(e, Error::Unsupported(_)), "{e}");
    }

    #[test]
    fn decompression_is_bounded() {
        // a block that inflates to more than its 64 bytes
        let z = deflate(&[0u8; 10000]);
        let h = heap_header(&Params {
            filter: Some((z.len() as u64, 0, deflate_pipeline())),
            ..Params::default()
        });
        let f = file(&[(0, &h), (200, &z)]);
        let c = ctx(&f);
        let heap = FractalHeap::read(&c, 0).unwrap();
        let e = heap.object(&c, &managed_id(19, 1)).unwrap_err();
        assert!(e.to_string().contains("expected 64"), "{e}");
    }

    use crate::format::alloc::{Bump, apply};

    fn small_params() -> HeapParams {
        HeapParams {
            id_len: 4,
            max_managed_size: 100,
            table_width: 2,
            start_block_size: 64,
            max_direct_size: 128,
            max_heap_bits: 16,
            start_root_rows: 1,
            checksum_direct_blocks: true,
        }
    }

    /// Encodes `objects`, reads the heap back and checks every object.
    fn round_trip(p: &HeapParams, objects: &[Vec<u8>]) -> (Vec<u8>, FractalHeap, HeapImage) {
        let mut a = Bump { next: 0 };
        let img = encode_heap(p, objects, Sizes::DEFAULT, &mut a).unwrap();
        let mut f = Vec::new();
        apply(&mut f, &img.blocks);
        let c = ctx(&f);
        let heap = FractalHeap::read(&c, img.header).unwrap();
        assert_eq!(img.ids.len(), objects.len());
        for (id, o) in img.ids.iter().zip(objects) {
            assert_eq!(id.len(), p.id_len as usize);
            assert_eq!(&*heap.object(&c, id).unwrap(), &o[..], "{id:?}");
        }
        (f, heap, img)
    }

    #[test]
    fn encode_root_direct_block_bytes() {
        let p = small_params();
        let objs = [b"hello".to_vec(), b"world!".to_vec()];
        let (f, heap, img) = round_trip(&p, &objs);
        assert_eq!(
            img.ids,
            vec![managed_id(19, 5).to_vec(), managed_id(24, 6).to_vec()]
        );
        let hlen = img.blocks[0].1.len() as u64;
        assert_eq!(heap.root, Some(hlen));
        let want = dblock(0, 0, 64, true, &[(19, b"hello"), (24, b"world!")]);
        assert_eq!(img.blocks[1], (hlen, want.clone()));
        assert_eq!(&f[hlen as usize..], &want[..]);
        assert_eq!(heap.root_rows, 0);
        assert_eq!((heap.managed_space, heap.allocated_managed_space), (64, 64));
        assert_eq!((heap.iterator_offset, heap.managed_objects), (0, 2));
        assert_eq!(heap.free_space, 64 - 19 - 11);
        assert_eq!(heap.free_space_manager, None);
        assert_eq!(heap.huge_btree, None);
        // the header, field by field
        let h = &img.blocks[0].1;
        assert_eq!(
            &h[..16],
            b"FRHP\x00\x04\x00\x00\x00\x02\x64\x00\x00\x00\x00\x00"
        );
        assert_eq!(hlen, 14 + 12 * 8 + 2 + 16 + 2 + 2 + 8 + 2 + 4);
    }

    #[test]
    fn encode_empty_heap() {
        let p = HeapParams::links();
        let (_, heap, img) = round_trip(&p, &[]);
        assert_eq!(img.blocks.len(), 1);
        assert_eq!(heap.root, None);
        assert_eq!((heap.managed_space, heap.free_space), (0, 0));
        assert_eq!(
            (heap.id_len, heap.table_width, heap.start_block_size),
            (7, 4, 512)
        );
        assert_eq!((heap.max_heap_bits, heap.max_managed_size), (32, 4096));
    }

    #[test]
    fn encode_grows_the_root_indirect_block() {
        // 20-byte objects: two per 64-byte block (19-byte prefix, 45
        // bytes of room), five per 128-byte block of row 2
        let p = small_params();
        let objs: Vec<Vec<u8>> = (0..14u8).map(|i| vec![i + 1; 20]).collect();
        let (_, heap, img) = round_trip(&p, &objs);
        // 1 root row (2 blocks), doubled to 2, then to 4: rows 0-2 direct
        // (3 direct rows at most), row 3 for child indirect blocks
        assert_eq!(heap.root_rows, 4);
        assert_eq!(heap.managed_space, 1024);
        assert_eq!(heap.allocated_managed_space, 4 * 64 + 2 * 128);
        assert_eq!(heap.iterator_offset, 512);
        // free space counts row 3 too: two children, each spanning two
        // rows of two 64-byte blocks
        let row3 = 2 * (2 * 45 + 2 * 45);
        assert_eq!(heap.free_space, 2 * 45 + 2 * 45 + 2 * 109 + row3 - 14 * 20);
        let offsets: Vec<u16> = img
            .ids
            .iter()
            .map(|id| u16::from_le_bytes([id[1], id[2]]))
            .collect();
        assert_eq!(
            offsets,
            [
                19, 39, 83, 103, 147, 167, 211, 231, 275, 295, 315, 335, 355, 403
            ]
        );
        // the root indirect block: 6 direct entries, 2 indirect
        let root = img
            .blocks
            .iter()
            .find(|b| b.1.starts_with(b"FHIB"))
            .unwrap();
        assert_eq!(root.1.len(), 4 + 1 + 8 + 2 + 8 * 8 + 4);
        assert_eq!(&root.1[15 + 6 * 8..15 + 8 * 8], &[0xff; 16]);
    }

    #[test]
    fn encode_skips_blocks_too_small_and_fills_them_later() {
        // a 90-byte object needs a 128-byte block: the root starts with 3
        // rows and blocks 0-3 (64 bytes) are skipped; the small objects
        // after it fill them in order
        let p = small_params();
        let objs = vec![vec![7u8; 90], vec![1; 40], vec![2; 40], vec![3; 5]];
        let (_, heap, img) = round_trip(&p, &objs);
        assert_eq!(heap.root_rows, 3);
        let offsets: Vec<u16> = img
            .ids
            .iter()
            .map(|id| u16::from_le_bytes([id[1], id[2]]))
            .collect();
        // the 5-byte object goes to the block with the least room left
        // that holds it: the 128-byte block has 19, the first 64-byte
        // block 5
        assert_eq!(offsets, [256 + 19, 19, 64 + 19, 59]);
        assert_eq!(heap.iterator_offset, 256 + 128);
        assert_eq!(heap.allocated_managed_space, 128 + 64 + 64);
    }

    #[test]
    fn encode_huge_and_tiny_objects() {
        let p = HeapParams::links();
        let mut objs: Vec<Vec<u8>> = (0..50u32)
            .map(|i| format!("object {i} {}", "x".repeat(i as usize * 3)).into_bytes())
            .collect();
        objs.insert(10, vec![0xab; 5000]);
        objs.push(vec![0xcd; 70000]);
        let (_, heap, img) = round_trip(&p, &objs);
        assert_eq!((heap.huge_objects, heap.huge_size), (2, 75000));
        assert_eq!(heap.next_huge_id, 2);
        assert_eq!(&img.ids[10], &[0x10, 1, 0, 0, 0, 0, 0]);
        assert_eq!(&img.ids[51], &[0x10, 2, 0, 0, 0, 0, 0]);
        assert!(heap.huge_btree.is_some());
        // IDs of 17 bytes hold a huge object's address and length
        let p17 = HeapParams {
            id_len: 17,
            ..HeapParams::links()
        };
        let objs = vec![
            vec![1u8; 5000],
            b"0123456789abcdef".to_vec(),
            b"0123456789abcdefg".to_vec(),
        ];
        let (_, heap, img) = round_trip(&p17, &objs);
        assert_eq!(img.ids[0][0], 0x10);
        assert_eq!(heap.huge_objects, 1);
        // a 16-byte object is tiny, a 17-byte one managed
        assert_eq!(img.ids[1][0], 0x2f);
        assert_eq!(&img.ids[1][1..], b"0123456789abcdef");
        assert_eq!(img.ids[2][0], 0x00);
        assert_eq!(
            (heap.tiny_objects, heap.tiny_size, heap.managed_objects),
            (1, 16, 1)
        );
        // extended tiny IDs
        let p20 = HeapParams {
            id_len: 20,
            ..HeapParams::links()
        };
        let objs = vec![b"0123456789abcdefgh".to_vec(), b"x".to_vec()];
        let (_, _, img) = round_trip(&p20, &objs);
        assert_eq!(&img.ids[0][..2], &[0x20, 17]);
        assert_eq!(&img.ids[1][..3], &[0x20, 0, b'x']);
    }

    #[test]
    fn encode_many_objects_round_trip() {
        let mut s = 7u64;
        let objs: Vec<Vec<u8>> = (0..3000u32)
            .map(|i| {
                let n = 8 + (crate::format::btree_v2::tests::noise(&mut s) % 60) as usize;
                let mut o = i.to_le_bytes().to_vec();
                o.resize(n, (i % 251) as u8);
                o
            })
            .collect();
        for p in [HeapParams::links(), HeapParams::attributes()] {
            let (_, heap, _) = round_trip(&p, &objs);
            assert_eq!(heap.managed_objects, 3000);
            assert!(heap.root_rows >= 4);
        }
    }

    #[test]
    fn encode_child_indirect_blocks() {
        // 3 rows of direct blocks; root row 3 holds children of 2 rows,
        // row 4 of 3 rows, row 5 of 4 rows (its row 3 holding
        // grandchildren)
        let p = small_params();
        let mut s = 99u64;
        let objs: Vec<Vec<u8>> = (0..300u32)
            .map(|i| {
                let n = 10 + (crate::format::btree_v2::tests::noise(&mut s) % 36) as usize;
                let mut o = i.to_le_bytes().to_vec();
                o.resize(n, i as u8);
                o
            })
            .collect();
        let (f, heap, img) = round_trip(&p, &objs);
        assert!(heap.root_rows >= 6, "{}", heap.root_rows);
        let iblocks: Vec<&(u64, Vec<u8>)> = img
            .blocks
            .iter()
            .filter(|b| b.1.starts_with(b"FHIB"))
            .collect();
        assert!(iblocks.len() > 4);
        // every direct block's offset is within the managed space
        let c = ctx(&f);
        for b in img.blocks.iter().filter(|b| b.1.starts_with(b"FHDB")) {
            let off = u16::from_le_bytes([b.1[13], b.1[14]]) as u64;
            assert!(off + b.1.len() as u64 <= heap.managed_space);
        }
        assert_eq!(heap.managed_objects, 300);
        assert!(heap.object(&c, &img.ids[299]).is_ok());
    }

    #[test]
    fn encode_rejects_what_it_cannot_lay_out() {
        let mut a = Bump { next: 0 };
        let p = small_params();
        let empty: [&[u8]; 1] = [b""];
        assert!(encode_heap(&p, &empty, Sizes::DEFAULT, &mut a).is_err());
        // a 16-bit heap holds 64 KiB
        let many: Vec<Vec<u8>> = (0..2000).map(|_| vec![1u8; 40]).collect();
        let e = encode_heap(&p, &many, Sizes::DEFAULT, &mut a).unwrap_err();
        assert!(matches!(e, Error::Unsupported(_)), "{e}");
        let bad = HeapParams {
            table_width: 3,
            ..p
        };
        assert!(encode_heap::<&[u8]>(&bad, &[], Sizes::DEFAULT, &mut a).is_err());
        let short = HeapParams { id_len: 3, ..p };
        assert!(encode_heap::<&[u8]>(&short, &[], Sizes::DEFAULT, &mut a).is_err());
    }

    #[test]
    fn extents_are_every_block_and_huge_object() {
        use crate::format::btree_v2::tests::Log;
        let mut s = 7u64;
        let small: Vec<Vec<u8>> = (0..300u32)
            .map(|i| {
                let n = 10 + (crate::format::btree_v2::tests::noise(&mut s) % 36) as usize;
                vec![i as u8; n]
            })
            .collect();
        let mut links: Vec<Vec<u8>> = (0..60u32)
            .map(|i| format!("object {i} {}", "x".repeat(i as usize * 5)).into_bytes())
            .collect();
        links.insert(10, vec![0xab; 5000]);
        links.push(vec![0xcd; 70000]);
        let p17 = HeapParams {
            id_len: 17,
            ..HeapParams::links()
        };
        let cases: Vec<(HeapParams, Vec<Vec<u8>>)> = vec![
            (HeapParams::links(), Vec::new()),
            (HeapParams::links(), vec![b"one".to_vec()]),
            (HeapParams::links(), links.clone()),
            (p17, links),
            (HeapParams::attributes(), vec![vec![1; 3000]; 40]),
            (small_params(), small),
        ];
        for (p, objs) in cases {
            let mut log = Log::at(0x20);
            let img = encode_heap(&p, &objs, Sizes::DEFAULT, &mut log).unwrap();
            let mut f = Vec::new();
            apply(&mut f, &img.blocks);
            f.resize(log.next as usize, 0);
            let c = ctx(&f);
            let heap = FractalHeap::read(&c, img.header).unwrap();
            let mut got = heap.extents(&c).unwrap();
            got.sort_unstable();
            assert_eq!(got, log.sorted(), "{p:?}, {} objects", objs.len());
        }
    }

    #[test]
    fn free_space_manager_extents() {
        // a heap whose header names a free-space manager at 0x200, with its
        // section list at 0x300 (82 + 30 bytes, as libhdf5 writes them)
        let mut hdr = b"FSHD".to_vec();
        hdr.extend([0, 0]);
        for v in [100u64, 2, 2, 0] {
            hdr.extend(v.to_le_bytes());
        }
        hdr.extend([1, 0, 80, 0, 120, 0, 16, 0]);
        hdr.extend(4096u64.to_le_bytes());
        hdr.extend(0x300u64.to_le_bytes());
        hdr.extend(20u64.to_le_bytes());
        hdr.extend(30u64.to_le_bytes());
        let hdr = seal(hdr);
        assert_eq!(hdr.len(), 82);
        let mut list = b"FSSE".to_vec();
        list.push(0);
        list.extend(0x200u64.to_le_bytes());
        list.resize(30, 0);
        let f = file(&[(0x200, &hdr), (0x300, &list)]);
        let c = ctx(&f);
        assert_eq!(
            free_space_extents(&c, 0x200).unwrap(),
            vec![(0x200, 82), (0x300, 30)]
        );
        // a section list of another manager
        let mut other = list.clone();
        other[5] = 0x10;
        let f = file(&[(0x200, &hdr), (0x300, &other)]);
        assert!(free_space_extents(&ctx(&f), 0x200).is_err());
        // a bad header checksum
        let mut bad = hdr.clone();
        bad[10] ^= 1;
        let f = file(&[(0x200, &bad), (0x300, &list)]);
        assert!(free_space_extents(&ctx(&f), 0x200).is_err());
    }
}
