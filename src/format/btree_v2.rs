//! Version 2 B-trees (spec III.A.2): indexes of huge fractal-heap objects
//! (record types 1 to 4), dense links (5, 6), shared messages (7), dense
//! attributes (8, 9) and dataset chunks (10, 11).
//!
//! ```text
//! header:   "BTHD" | version 0 | type | node size (4) | record size (2)
//!           | depth (2) | split % | merge % | root address (O)
//!           | records in root (2) | total records (L) | checksum (4)
//! internal: "BTIN" | version 0 | type | records 0..N-1
//!           | child pointers 0..N: address (O) | records in child (n)
//!             | [total records under child (t), only at depth > 1]
//!           | checksum (4) | unused bytes up to the node size
//! leaf:     "BTLF" | version 0 | type | records 0..N-1 | checksum (4)
//!           | unused bytes up to the node size
//! ```
//!
//! Every node occupies "node size" bytes, but the checksum sits right after
//! the records (and child pointers), not at the end of the node: it covers
//! only the bytes in use.
//!
//! The widths `n` and `t` of the child pointer counts are not stored; they
//! follow from the node size and record size. With `P` = 10 bytes of node
//! overhead (signature, version, type, checksum) and `O` the address width:
//!
//! ```text
//! leaf capacity       m(0) = (node size - P) / record size
//! n                        = bytes to encode m(0)             (every level)
//! pointer at depth d  p(d) = O + n + (d > 1 ? t(d-1) : 0)
//! capacity at depth d m(d) = (node size - P - p(d)) / (record size + p(d))
//! subtree capacity    c(0) = m(0);  c(d) = (m(d) + 1) * c(d-1) + m(d)
//! t(d)                     = bytes to encode c(d)
//! ```
//!
//! The spec words `n` as "the maximum number of records in a child node";
//! libhdf5 uses the leaf capacity `m(0)` at every level (leaves hold the
//! most records, so this is the bound for any child), and so does this
//! module.
//!
//! # Encoding
//!
//! [`encode_tree`] builds a tree from records in insertion order by
//! replaying libhdf5's insertion: a node is full at `max records * split
//! percent / 100` records; a full root is split before an insertion (its
//! middle record, index `n / 2`, becomes the new root's only record); on
//! the way down, a full child is balanced with a sibling that has room
//! (two-way with its one neighbour at either end, three-way with both in
//! the middle: the middle child gets `n / 3` of the `n` records, the left
//! half of the rest), at most twice, and split otherwise. Only the
//! number of records per node follows from this; the records keep their
//! order. Unused bytes of a node are zero, as libhdf5 leaves them.

pub mod records;

use std::cmp::Ordering;
use std::collections::HashSet;

use crate::error::{Error, Result};
use crate::format::FileCtx;
use crate::format::alloc::{Allocator, Blocks};
use crate::format::checksum;
use crate::format::cursor::{Cursor, Encoder, Sizes, bytes_for};

/// Bytes of every node that are not records or child pointers: signature
/// (4), version (1), type (1) and checksum (4).
const NODE_OVERHEAD: u64 = 10;

/// What the records of a tree index, by the header's type byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordType {
    /// 0: testing only.
    Test,
    /// 1: huge fractal-heap objects, indirectly accessed, not filtered.
    HugeIndirect,
    /// 2: huge fractal-heap objects, indirectly accessed, filtered.
    HugeIndirectFiltered,
    /// 3: huge fractal-heap objects, directly accessed, not filtered.
    HugeDirect,
    /// 4: huge fractal-heap objects, directly accessed, filtered.
    HugeDirectFiltered,
    /// 5: links of an indexed group, by name hash.
    LinkName,
    /// 6: links of an indexed group, by creation order.
    LinkOrder,
    /// 7: shared object header messages.
    SharedMessage,
    /// 8: dense attributes, by name hash.
    AttributeName,
    /// 9: dense attributes, by creation order.
    AttributeOrder,
    /// 10: chunks of an unfiltered dataset.
    Chunk,
    /// 11: chunks of a filtered dataset.
    FilteredChunk,
    /// Any other type byte, kept as it is.
    Unknown(u8),
}

impl RecordType {
    /// The record type of a header's type byte.
    pub fn from_u8(t: u8) -> RecordType {
        match t {
            0 => RecordType::Test,
            1 => RecordType::HugeIndirect,
            2 => RecordType::HugeIndirectFiltered,
            3 => RecordType::HugeDirect,
            4 => RecordType::HugeDirectFiltered,
            5 => RecordType::LinkName,
            6 => RecordType::LinkOrder,
            7 => RecordType::SharedMessage,
            8 => RecordType::AttributeName,
            9 => RecordType::AttributeOrder,
            10 => RecordType::Chunk,
            11 => RecordType::FilteredChunk,
            t => RecordType::Unknown(t),
        }
    }

    /// The type byte.
    pub fn to_u8(self) -> u8 {
        match self {
            RecordType::Test => 0,
            RecordType::HugeIndirect => 1,
            RecordType::HugeIndirectFiltered => 2,
            RecordType::HugeDirect => 3,
            RecordType::HugeDirectFiltered => 4,
            RecordType::LinkName => 5,
            RecordType::LinkOrder => 6,
            RecordType::SharedMessage => 7,
            RecordType::AttributeName => 8,
            RecordType::AttributeOrder => 9,
            RecordType::Chunk => 10,
            RecordType::FilteredChunk => 11,
            RecordType::Unknown(t) => t,
        }
    }
}

/// Capacities of the nodes at one depth of a tree (0 = leaves).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LevelInfo {
    /// Most records one node at this depth can hold.
    pub max_records: u64,
    /// Most records a subtree rooted at this depth can hold (saturating).
    pub max_total: u64,
    /// Bytes of the "total records" field for a child at this depth.
    pub total_width: usize,
}

/// A v2 B-tree header (`BTHD`), decoded.
#[derive(Debug, Clone)]
pub struct BTreeV2 {
    /// Address of the header.
    pub addr: u64,
    /// Record type.
    pub record_type: u8,
    /// Bytes per record.
    pub record_size: u16,
    /// Total records in the tree.
    pub total_records: u64,
    /// Bytes of every node.
    pub node_size: u32,
    /// Depth of the tree: 0 when the root is a leaf.
    pub depth: u16,
    /// Percent full at which a node is split.
    pub split_percent: u8,
    /// Percent full below which nodes are merged.
    pub merge_percent: u8,
    /// Address of the root node; `None` for an empty tree.
    pub root: Option<u64>,
    /// Records in the root node.
    pub root_records: u16,
    /// Node capacities, indexed by depth (0 = leaves) up to `depth`.
    pub levels: Vec<LevelInfo>,
    /// Bytes of the "records in child" field of child pointers.
    pub count_width: usize,
}

/// A child pointer of an internal node.
#[derive(Debug, Clone, Copy)]
struct Child {
    addr: u64,
    records: u64,
    total: u64,
}

/// One node, parsed: its records (all `record_size` bytes long, in order)
/// and, for an internal node, one more child pointer than records.
struct Node<'a> {
    records: &'a [u8],
    children: Vec<Child>,
}

/// Work of the in-order walk.
enum Step<'a> {
    Visit {
        addr: u64,
        depth: u16,
        records: u64,
        total: u64,
    },
    Record(&'a [u8]),
}

impl BTreeV2 {
    /// Reads the header at `addr`, checksum verified.
    ///
    /// # Errors
    ///
    /// A format error for a bad signature, version, checksum or sizes that
    /// cannot describe a tree; a limit error when the depth exceeds
    /// `ctx.limits.max_tree_depth`.
    pub fn read(ctx: &FileCtx, addr: u64) -> Result<BTreeV2> {
        Self::read_inner(ctx, addr).map_err(|e| e.context("v2 B-tree header").at(addr))
    }

    fn read_inner(ctx: &FileCtx, addr: u64) -> Result<BTreeV2> {
        let block = ctx.slice(addr, Self::header_len(ctx.sizes), "v2 B-tree header")?;
        let mut c = Cursor::new(block, addr, ctx.sizes);
        c.signature(b"BTHD", "v2 B-tree header")?;
        let version = c.u8()?;
        if version != 0 {
            return Err(Error::format(format!("version {version}"), addr));
        }
        let record_type = c.u8()?;
        let node_size = c.u32()?;
        let record_size = c.u16()?;
        let depth = c.u16()?;
        let split_percent = c.u8()?;
        let merge_percent = c.u8()?;
        let root = c.address_field()?;
        let root_records = c.u16()?;
        let total_records = c.length()?;
        checksum::verify(block, "v2 B-tree header", addr)?;

        if record_size == 0 {
            return Err(Error::format("record size of 0", addr));
        }
        if u32::from(depth) > ctx.limits.max_tree_depth {
            return Err(Error::limit(format!(
                "v2 B-tree at {addr:#x}: depth {depth} exceeds the limit of {}",
                ctx.limits.max_tree_depth
            )));
        }
        let (levels, count_width) =
            level_info(node_size, record_size, depth, ctx.sizes.offset, addr)?;
        let tree = BTreeV2 {
            addr,
            record_type,
            record_size,
            total_records,
            node_size,
            depth,
            split_percent,
            merge_percent,
            root,
            root_records,
            levels,
            count_width,
        };
        if tree.root.is_some() {
            let top = tree.level(depth)?;
            if u64::from(root_records) > top.max_records {
                return Err(Error::format(
                    format!(
                        "root holds {root_records} records, a node of {node_size} bytes at most {}",
                        top.max_records
                    ),
                    addr,
                ));
            }
            if total_records < u64::from(root_records) || total_records > top.max_total {
                return Err(Error::format(
                    format!(
                        "{total_records} records in all do not fit a tree of depth {depth} \
                         with {root_records} in the root"
                    ),
                    addr,
                ));
            }
        }
        Ok(tree)
    }

    /// Bytes of a header, checksum included.
    pub(crate) fn header_len(sizes: Sizes) -> u64 {
        4 + 1 + 1 + 4 + 2 + 2 + 1 + 1 + 2 + sizes.offset as u64 + sizes.length as u64 + 4
    }

    /// The file space of the tree, as `(address, length)` extents: the
    /// header and every node, each "node size" bytes (its unused tail
    /// included). Every node is read and checked as [`BTreeV2::for_each_record`]
    /// checks it.
    ///
    /// # Errors
    ///
    /// As [`BTreeV2::for_each_record`], and a format error when a node's
    /// full size runs past the end of the file.
    pub(crate) fn extents(&self, ctx: &FileCtx) -> Result<Vec<(u64, u64)>> {
        let mut out = vec![(self.addr, Self::header_len(ctx.sizes))];
        let Some(root) = self.root else {
            return Ok(out);
        };
        let node_size = u64::from(self.node_size);
        let mut seen = HashSet::from([self.addr]);
        let mut stack = vec![(
            Child {
                addr: root,
                records: u64::from(self.root_records),
                total: self.total_records,
            },
            self.depth,
        )];
        while let Some((child, depth)) = stack.pop() {
            if !seen.insert(child.addr) {
                return Err(Error::format(
                    "v2 B-tree node reached twice (cycle)",
                    child.addr,
                ));
            }
            let node = self.read_node(ctx, child.addr, depth, child.records, child.total)?;
            ctx.slice(child.addr, node_size, "v2 B-tree node")?;
            out.push((child.addr, node_size));
            if depth > 0 {
                stack.extend(node.children.into_iter().map(|c| (c, depth - 1)));
            }
        }
        Ok(out)
    }

    /// The record type as an enum.
    pub fn kind(&self) -> RecordType {
        RecordType::from_u8(self.record_type)
    }

    fn level(&self, depth: u16) -> Result<LevelInfo> {
        self.levels
            .get(depth as usize)
            .copied()
            .ok_or_else(|| Error::format(format!("v2 B-tree: no node depth {depth}"), self.addr))
    }

    /// Bytes of a child pointer in an internal node at `depth` (>= 1).
    fn pointer_size(&self, depth: u16, offset: u8) -> Result<usize> {
        let below = if depth > 1 {
            self.level(depth - 1)?.total_width
        } else {
            0
        };
        Ok(offset as usize + self.count_width + below)
    }

    /// Reads and checks the node at `addr`, at `depth`, said by its parent
    /// (or the header) to hold `records` records and `total` records in its
    /// whole subtree.
    fn read_node<'a>(
        &self,
        ctx: &FileCtx<'a>,
        addr: u64,
        depth: u16,
        records: u64,
        total: u64,
    ) -> Result<Node<'a>> {
        let info = self.level(depth)?;
        if records > info.max_records {
            return Err(Error::format(
                format!(
                    "v2 B-tree node: {records} records, a node of {} bytes at depth {depth} \
                     holds at most {}",
                    self.node_size, info.max_records
                ),
                addr,
            ));
        }
        let rs = self.record_size as u64;
        let ptr = if depth > 0 {
            self.pointer_size(depth, ctx.sizes.offset)? as u64
        } else {
            0
        };
        // records <= max_records keeps this within the node size.
        let used = 6 + records * rs + if depth > 0 { (records + 1) * ptr } else { 0 };
        let (sig, what) = if depth > 0 {
            (b"BTIN", "v2 B-tree internal node")
        } else {
            (b"BTLF", "v2 B-tree leaf node")
        };
        let block = ctx.slice(addr, used + 4, what)?;
        let mut c = Cursor::new(block, addr, ctx.sizes);
        c.signature(sig, what)?;
        let version = c.u8()?;
        if version != 0 {
            return Err(Error::format(format!("{what}: version {version}"), addr));
        }
        let t = c.u8()?;
        if t != self.record_type {
            return Err(Error::format(
                format!("{what}: type {t}, the header says {}", self.record_type),
                addr,
            ));
        }
        checksum::verify(block, what, addr)?;
        let recs = c.bytes((records * rs) as usize)?;
        let mut children = Vec::new();
        if depth == 0 {
            if total != records {
                return Err(Error::format(
                    format!("{what}: holds {records} records, its parent counts {total}"),
                    addr,
                ));
            }
        } else {
            let below = self.level(depth - 1)?;
            children.reserve(records as usize + 1);
            let mut sum = records;
            for _ in 0..=records {
                let at = c.address();
                let child = c.required_address("v2 B-tree child pointer")?;
                let n = c.uint(self.count_width)?;
                let t = if depth > 1 {
                    c.uint(below.total_width)?
                } else {
                    n
                };
                if n > below.max_records || t < n || t > below.max_total {
                    return Err(Error::format(
                        format!(
                            "{what}: child pointer counts {n} records ({t} in its subtree), \
                             more than a node at depth {} can hold",
                            depth - 1
                        ),
                        at,
                    ));
                }
                sum = sum.saturating_add(t);
                children.push(Child {
                    addr: child,
                    records: n,
                    total: t,
                });
            }
            if sum != total {
                return Err(Error::format(
                    format!("{what}: its subtree holds {sum} records, its parent counts {total}"),
                    addr,
                ));
            }
        }
        Ok(Node {
            records: recs,
            children,
        })
    }

    /// Calls `f` with every record's bytes, in key order (an in-order walk).
    ///
    /// # Errors
    ///
    /// Format errors for malformed nodes (signature, checksum, counts that
    /// do not fit the node size or disagree with the parent, a node reached
    /// twice), and any error `f` returns, which stops the walk.
    pub fn for_each_record(
        &self,
        ctx: &FileCtx,
        f: &mut dyn FnMut(&[u8]) -> Result<()>,
    ) -> Result<()> {
        let Some(root) = self.root else {
            return Ok(());
        };
        let rs = self.record_size as usize;
        let mut seen = HashSet::from([self.addr]);
        let mut stack = vec![Step::Visit {
            addr: root,
            depth: self.depth,
            records: u64::from(self.root_records),
            total: self.total_records,
        }];
        while let Some(step) = stack.pop() {
            match step {
                Step::Record(r) => f(r)?,
                Step::Visit {
                    addr,
                    depth,
                    records,
                    total,
                } => {
                    if !seen.insert(addr) {
                        return Err(Error::format("v2 B-tree node reached twice (cycle)", addr));
                    }
                    let node = self.read_node(ctx, addr, depth, records, total)?;
                    if depth == 0 {
                        for r in node.records.chunks_exact(rs) {
                            f(r)?;
                        }
                        continue;
                    }
                    // Push in reverse so that child 0 comes out first, then
                    // record 0, child 1, record 1, ...
                    let recs: Vec<&[u8]> = node.records.chunks_exact(rs).collect();
                    for (i, child) in node.children.iter().enumerate().rev() {
                        stack.push(Step::Visit {
                            addr: child.addr,
                            depth: depth - 1,
                            records: child.records,
                            total: child.total,
                        });
                        if let Some(r) = i.checked_sub(1).and_then(|j| recs.get(j)) {
                            stack.push(Step::Record(r));
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Every record's bytes, in key order.
    ///
    /// # Errors
    ///
    /// As [`BTreeV2::for_each_record`].
    pub fn records<'a>(&self, ctx: &FileCtx<'a>) -> Result<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        self.for_each_record(ctx, &mut |r| {
            out.push(r.to_vec());
            Ok(())
        })?;
        Ok(out)
    }

    /// Searches the tree for a record: `cmp` tells how a record orders
    /// against the key sought (`Less`: the record comes before it). Returns
    /// the first record found `Equal`, descending from the root as a B-tree
    /// search does, so only the nodes on one path are read.
    ///
    /// # Errors
    ///
    /// As [`BTreeV2::for_each_record`], and any error `cmp` returns.
    pub fn find<'a>(
        &self,
        ctx: &FileCtx<'a>,
        cmp: &mut dyn FnMut(&[u8]) -> Result<Ordering>,
    ) -> Result<Option<&'a [u8]>> {
        let Some(mut addr) = self.root else {
            return Ok(None);
        };
        let rs = self.record_size as usize;
        let mut depth = self.depth;
        let mut records = u64::from(self.root_records);
        let mut total = self.total_records;
        let mut seen = HashSet::from([self.addr]);
        loop {
            if !seen.insert(addr) {
                return Err(Error::format("v2 B-tree node reached twice (cycle)", addr));
            }
            let node = self.read_node(ctx, addr, depth, records, total)?;
            let mut next = node.children.len().saturating_sub(1);
            for (i, r) in node.records.chunks_exact(rs).enumerate() {
                match cmp(r)? {
                    Ordering::Less => {}
                    Ordering::Equal => return Ok(Some(r)),
                    Ordering::Greater => {
                        next = i;
                        break;
                    }
                }
            }
            if depth == 0 {
                return Ok(None);
            }
            let child = node.children.get(next).copied().ok_or_else(|| {
                Error::format("v2 B-tree internal node without child pointers", addr)
            })?;
            addr = child.addr;
            records = child.records;
            total = child.total;
            depth -= 1;
        }
    }
}

/// Node capacities per depth and the width of "records in child" fields.
fn level_info(
    node_size: u32,
    record_size: u16,
    depth: u16,
    offset: u8,
    at: u64,
) -> Result<(Vec<LevelInfo>, usize)> {
    let node = node_size as u64;
    let rs = record_size as u64;
    let leaf_max = node.saturating_sub(NODE_OVERHEAD) / rs;
    if leaf_max == 0 {
        return Err(Error::format(
            format!("node size {node_size} cannot hold one record of {record_size} bytes"),
            at,
        ));
    }
    let count_width = bytes_for(leaf_max);
    let mut levels = Vec::with_capacity(depth as usize + 1);
    levels.push(LevelInfo {
        max_records: leaf_max,
        max_total: leaf_max,
        total_width: 0,
    });
    for d in 1..=depth as usize {
        let prev = levels[d - 1];
        let below = if d > 1 { prev.total_width as u64 } else { 0 };
        let ptr = offset as u64 + count_width as u64 + below;
        let max = node.saturating_sub(NODE_OVERHEAD + ptr) / (rs + ptr);
        if max == 0 {
            return Err(Error::format(
                format!(
                    "node size {node_size} cannot hold one record of {record_size} bytes \
                     in an internal node at depth {d}"
                ),
                at,
            ));
        }
        let max_total = (max + 1)
            .checked_mul(prev.max_total)
            .and_then(|v| v.checked_add(max))
            .unwrap_or(u64::MAX);
        levels.push(LevelInfo {
            max_records: max,
            max_total,
            total_width: bytes_for(max_total),
        });
    }
    Ok((levels, count_width))
}

// ---------------------------------------------------------------------------
// Encode side
// ---------------------------------------------------------------------------

/// Creation parameters of a v2 B-tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BTreeV2Params {
    /// What the records index.
    pub record_type: RecordType,
    /// Bytes per record.
    pub record_size: u16,
    /// Bytes of every node.
    pub node_size: u32,
    /// Percent full at which a node is split.
    pub split_percent: u8,
    /// Percent full below which nodes are merged.
    pub merge_percent: u8,
    /// How libhdf5 adds records to this kind of tree.
    pub insertion: Insertion,
}

/// The two ways libhdf5 adds a record to a v2 B-tree; they split nodes at
/// different times and so leave different trees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Insertion {
    /// `H5B2_insert` (links, attributes, huge objects): a full root is
    /// split first, and every full node on the way down is balanced or
    /// split before it is entered.
    Insert,
    /// `H5B2_update` (chunk indexes): the record goes down to its leaf;
    /// only when that leaf is full does the nearest node above that can
    /// make room (one that is not full, or whose children can be balanced)
    /// insert as [`Insertion::Insert`] does from there down; when none can,
    /// the whole insertion starts again from the root as
    /// [`Insertion::Insert`].
    Update,
}

impl BTreeV2Params {
    /// Node size, split and merge percents libhdf5 uses for the indexes of
    /// dense links and attributes and for huge fractal-heap objects.
    fn dense(record_type: RecordType, record_size: usize) -> BTreeV2Params {
        BTreeV2Params {
            record_type,
            record_size: record_size as u16,
            node_size: 512,
            split_percent: 100,
            merge_percent: 40,
            insertion: Insertion::Insert,
        }
    }

    /// The name index of a group's dense links (type 5): records of a
    /// hash and a heap ID of `heap_id_len` bytes (7 in libhdf5's link
    /// heaps); 512-byte nodes, split 100 %, merge 40 %.
    pub fn link_names(heap_id_len: u16) -> BTreeV2Params {
        Self::dense(RecordType::LinkName, 4 + heap_id_len as usize)
    }

    /// The creation-order index of a group's dense links (type 6).
    pub fn link_orders(heap_id_len: u16) -> BTreeV2Params {
        Self::dense(RecordType::LinkOrder, 8 + heap_id_len as usize)
    }

    /// The name index of an object's dense attributes (type 8); 8-byte
    /// heap IDs in libhdf5's attribute heaps.
    pub fn attribute_names(heap_id_len: u16) -> BTreeV2Params {
        Self::dense(RecordType::AttributeName, heap_id_len as usize + 9)
    }

    /// The creation-order index of an object's dense attributes (type 9).
    pub fn attribute_orders(heap_id_len: u16) -> BTreeV2Params {
        Self::dense(RecordType::AttributeOrder, heap_id_len as usize + 5)
    }

    /// The huge-object index of an unfiltered fractal heap whose IDs are
    /// too short to hold an address and a length (type 1).
    pub fn huge_objects(sizes: Sizes) -> BTreeV2Params {
        let o = sizes.offset as usize;
        let l = sizes.length as usize;
        Self::dense(RecordType::HugeIndirect, o + 2 * l)
    }

    /// The huge-object index of an unfiltered fractal heap whose IDs hold
    /// the object's address and length (type 3).
    pub fn huge_objects_direct(sizes: Sizes) -> BTreeV2Params {
        let o = sizes.offset as usize;
        let l = sizes.length as usize;
        Self::dense(RecordType::HugeDirect, o + l)
    }

    /// A chunk index of a dataset of `rank` dimensions (the dataspace's,
    /// without the element-size dimension of the layout message): type 10
    /// when `size_width` is `None`, else type 11 with chunk sizes of
    /// `size_width` bytes; 2048-byte nodes, split 100 %, merge 40 %, as
    /// libhdf5 makes them.
    pub fn chunks(sizes: Sizes, rank: usize, size_width: Option<usize>) -> BTreeV2Params {
        let base = sizes.offset as usize + size_width.map_or(0, |w| w + 4);
        BTreeV2Params {
            record_type: if size_width.is_some() {
                RecordType::FilteredChunk
            } else {
                RecordType::Chunk
            },
            record_size: (base + 8 * rank) as u16,
            node_size: 2048,
            split_percent: 100,
            merge_percent: 40,
            insertion: Insertion::Update,
        }
    }
}

/// A node of a tree being built: indices of its records, and its children
/// (none for a leaf).
#[derive(Debug, Default)]
struct BuildNode {
    records: Vec<usize>,
    children: Vec<BuildNode>,
}

impl BuildNode {
    fn total(&self) -> u64 {
        self.records.len() as u64 + self.children.iter().map(BuildNode::total).sum::<u64>()
    }

    /// Splits child `i` around its middle record, as libhdf5 splits a full
    /// node: the lower half stays, the middle record moves up to this
    /// node, the upper half becomes child `i + 1`.
    fn split_child(&mut self, i: usize) {
        let child = &mut self.children[i];
        let mid = child.records.len() / 2;
        let upper = child.records.split_off(mid + 1);
        let middle = child.records.pop().unwrap_or_default();
        let upper_children = if child.children.is_empty() {
            Vec::new()
        } else {
            child.children.split_off(mid + 1)
        };
        self.records.insert(i, middle);
        self.children.insert(
            i + 1,
            BuildNode {
                records: upper,
                children: upper_children,
            },
        );
    }

    /// Redistributes the records of children `first..=last` (two or three
    /// adjacent children) and the records between them in this node, so
    /// that the children hold `counts` records, in order.
    fn redistribute(&mut self, first: usize, counts: &[usize]) {
        let last = first + counts.len() - 1;
        let mut recs = Vec::new();
        let mut kids = Vec::new();
        for j in first..=last {
            let c = std::mem::take(&mut self.children[j]);
            recs.extend(c.records);
            kids.extend(c.children);
            if j < last {
                recs.push(self.records[j]);
            }
        }
        let internal = !kids.is_empty();
        let mut recs = recs.into_iter();
        let mut kids = kids.into_iter();
        for (n, j) in counts.iter().zip(first..=last) {
            let child = &mut self.children[j];
            child.records = recs.by_ref().take(*n).collect();
            if internal {
                child.children = kids.by_ref().take(n + 1).collect();
            }
            if j < last
                && let Some(r) = recs.next()
            {
                self.records[j] = r;
            }
        }
    }
}

/// Lays out a v2 B-tree holding `records` (each `(key, encoded record)`,
/// every record `params.record_size` bytes), inserted in the order given
/// as libhdf5 inserts them: a full root is split before an insertion; on
/// the way down a full child is first balanced with a sibling that has
/// room (two-way with its only neighbour at either end, three-way in the
/// middle), else split at its middle record. Records given in key order
/// give the tree libhdf5 builds when its records are inserted in key
/// order.
///
/// Space is taken from `alloc` for the header first, then every node
/// (`node_size` bytes, unused bytes zero) in pre-order: root, then each
/// child's subtree from left to right. Returns the header address and the
/// blocks.
///
/// # Errors
///
/// A usage error for a record of the wrong size, two records with equal
/// keys, or a node size that cannot hold the records.
pub fn encode_tree<K: Ord>(
    params: &BTreeV2Params,
    records: &[(K, Vec<u8>)],
    sizes: Sizes,
    alloc: &mut dyn Allocator,
) -> Result<(u64, Blocks)> {
    let rs = params.record_size as usize;
    if let Some((_, r)) = records.iter().find(|(_, r)| r.len() != rs) {
        return Err(Error::usage(format!(
            "v2 B-tree record of {} bytes, the tree's records are {rs}",
            r.len()
        )));
    }
    // Capacities of every depth a tree of these records can reach: down
    // to where internal nodes cannot hold a record, at most 32 levels.
    let (first, count_width) = level_info(params.node_size, params.record_size, 0, sizes.offset, 0)
        .map_err(|e| Error::usage(format!("v2 B-tree parameters: {e}")))?;
    let mut levels = first;
    for d in 1..32u16 {
        match level_info(params.node_size, params.record_size, d, sizes.offset, 0) {
            Ok((l, _)) => levels = l,
            Err(_) => break,
        }
        if levels[d as usize - 1].max_total == u64::MAX {
            break;
        }
    }
    let split: Vec<usize> = levels
        .iter()
        .map(|l| (l.max_records * params.split_percent as u64 / 100).max(1) as usize)
        .collect();

    let mut root: Option<BuildNode> = None;
    let mut depth = 0usize;
    for i in 0..records.len() {
        let node = root.get_or_insert_with(BuildNode::default);
        if params.insertion == Insertion::Update
            && update(node, depth, i, records, &split)? == Update::Done
        {
            continue;
        }
        if node.records.len() >= split[depth] {
            depth += 1;
            if depth >= split.len() {
                return Err(Error::usage("v2 B-tree: too many records for its depth"));
            }
            let old = std::mem::take(node);
            node.children.push(old);
            node.split_child(0);
        }
        insert(node, depth, i, records, &split)?;
    }

    // Addresses: header, then the nodes in pre-order.
    let header_len =
        4 + 1 + 1 + 4 + 2 + 2 + 1 + 1 + sizes.offset as u64 + 2 + sizes.length as u64 + 4;
    let header_addr = alloc.alloc(header_len);
    let mut blocks = Blocks::new();
    let mut header = Encoder::new(sizes);
    header
        .bytes(b"BTHD")
        .u8(0)
        .u8(params.record_type.to_u8())
        .u32(params.node_size)
        .u16(params.record_size)
        .u16(depth as u16)
        .u8(params.split_percent)
        .u8(params.merge_percent);
    match &root {
        None => {
            header.address(None).u16(0).length(0);
        }
        Some(node) => {
            let addr = place(
                node,
                depth,
                records,
                params,
                &levels,
                count_width,
                sizes,
                alloc,
                &mut blocks,
            );
            header
                .address(Some(addr))
                .u16(node.records.len() as u16)
                .length(node.total());
        }
    }
    let mut header = header.into_bytes();
    let sum = checksum::lookup3(&header, 0);
    header.extend_from_slice(&sum.to_le_bytes());
    blocks.insert(0, (header_addr, header));
    Ok((header_addr, blocks))
}

/// What became of a record in [`update`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Update {
    Done,
    /// Not inserted: the leaf is full and no node on the way could make
    /// room.
    ChildFull,
}

/// Inserts record `i` into the subtree `node` at `depth` the way
/// libhdf5's `H5B2_update` does (see [`Insertion::Update`]).
fn update<K: Ord>(
    node: &mut BuildNode,
    depth: usize,
    i: usize,
    records: &[(K, Vec<u8>)],
    split: &[usize],
) -> Result<Update> {
    let key = &records[i].0;
    let at = node.records.partition_point(|&r| records[r].0 < *key);
    if node.records.get(at).is_some_and(|&r| records[r].0 == *key) {
        return Err(Error::usage(format!(
            "v2 B-tree: records {} and {i} have equal keys",
            node.records[at]
        )));
    }
    if depth == 0 {
        if node.records.len() >= split[0] {
            return Ok(Update::ChildFull);
        }
        node.records.insert(at, i);
        return Ok(Update::Done);
    }
    if update(&mut node.children[at], depth - 1, i, records, split)? == Update::Done {
        return Ok(Update::Done);
    }
    if node.records.len() >= split[depth] {
        // Full: if balancing the child with a neighbour cannot make room,
        // the child will split, which this node cannot take.
        let n = |j: usize| node.children[j].records.len();
        let room = (2 * split[depth - 1]).saturating_sub(1);
        let last = node.records.len();
        let could_split = if last == 0 {
            true
        } else if at == 0 {
            n(0) + n(1) >= room
        } else if at == last {
            n(at - 1) + n(at) >= room
        } else {
            n(at - 1) + n(at) >= room || n(at) + n(at + 1) >= room
        };
        if could_split {
            return Ok(Update::ChildFull);
        }
    }
    insert(node, depth, i, records, split)?;
    Ok(Update::Done)
}

/// Inserts record `i` into the subtree `node` at `depth`.
fn insert<K: Ord>(
    mut node: &mut BuildNode,
    mut depth: usize,
    i: usize,
    records: &[(K, Vec<u8>)],
    split: &[usize],
) -> Result<()> {
    let key = &records[i].0;
    let locate = |n: &BuildNode| -> Result<usize> {
        let at = n.records.partition_point(|&r| records[r].0 < *key);
        if n.records.get(at).is_some_and(|&r| records[r].0 == *key) {
            return Err(Error::usage(format!(
                "v2 B-tree: records {} and {i} have equal keys",
                n.records[at]
            )));
        }
        Ok(at)
    };
    loop {
        let mut at = locate(node)?;
        if depth == 0 {
            node.records.insert(at, i);
            return Ok(());
        }
        let full = split[depth - 1];
        // Balancing can move the insertion point into a sibling that is
        // full too: libhdf5 tries balancing twice, then splits.
        let mut retries = 2;
        while node.children[at].records.len() >= full {
            let n = |j: usize| node.children[j].records.len();
            let last = node.records.len();
            if last == 0 {
                // a node of one child (internal nodes holding at most two
                // records split into one of none): nothing to balance with
                node.split_child(at);
            } else if at == 0 || at == last {
                let (left, right) = if at == 0 { (0, 1) } else { (at - 1, at) };
                let other = if at == 0 { right } else { left };
                if retries > 0 && n(other) < full {
                    let (l, r) = (n(left), n(right));
                    let new_left = if l < r {
                        l + r - (l + r) / 2
                    } else {
                        (l + r) / 2
                    };
                    node.redistribute(left, &[new_left, l + r - new_left]);
                } else {
                    node.split_child(at);
                }
            } else if retries > 0 && (n(at - 1) < full || n(at + 1) < full) {
                let total = n(at - 1) + n(at) + n(at + 1);
                let middle = total / 3;
                let left = (total - middle) / 2;
                node.redistribute(at - 1, &[left, middle, total - left - middle]);
            } else {
                node.split_child(at);
            }
            at = locate(node)?;
            retries -= usize::from(retries > 0);
        }
        node = &mut node.children[at];
        depth -= 1;
    }
}

/// Allocates `node` and its subtree (pre-order), encodes them into
/// `blocks` and returns the node's address.
#[allow(clippy::too_many_arguments)]
fn place<K>(
    node: &BuildNode,
    depth: usize,
    records: &[(K, Vec<u8>)],
    params: &BTreeV2Params,
    levels: &[LevelInfo],
    count_width: usize,
    sizes: Sizes,
    alloc: &mut dyn Allocator,
    blocks: &mut Blocks,
) -> u64 {
    let addr = alloc.alloc(params.node_size as u64);
    let at = blocks.len();
    blocks.push((addr, Vec::new()));
    let mut e = Encoder::new(sizes);
    e.bytes(if depth == 0 { b"BTLF" } else { b"BTIN" })
        .u8(0)
        .u8(params.record_type.to_u8());
    for &r in &node.records {
        e.bytes(&records[r].1);
    }
    for child in &node.children {
        let a = place(
            child,
            depth - 1,
            records,
            params,
            levels,
            count_width,
            sizes,
            alloc,
            blocks,
        );
        e.address(Some(a))
            .uint(child.records.len() as u64, count_width);
        if depth > 1 {
            e.uint(child.total(), levels[depth - 1].total_width);
        }
    }
    let mut b = e.into_bytes();
    let sum = checksum::lookup3(&b, 0);
    b.extend_from_slice(&sum.to_le_bytes());
    b.resize(params.node_size as usize, 0);
    blocks[at].1 = b;
    addr
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::format::Sizes;
    use crate::format::checksum::lookup3;
    use crate::limits::Limits;

    /// An allocator that hands out space from a growing end and records
    /// every range, to compare with the extents read back.
    pub(crate) struct Log {
        pub(crate) next: u64,
        pub(crate) taken: Vec<(u64, u64)>,
    }

    impl Log {
        pub(crate) fn at(next: u64) -> Log {
            Log {
                next,
                taken: Vec::new(),
            }
        }

        /// The ranges handed out, sorted.
        pub(crate) fn sorted(&self) -> Vec<(u64, u64)> {
            let mut v = self.taken.clone();
            v.sort_unstable();
            v
        }
    }

    impl Allocator for Log {
        fn alloc(&mut self, len: u64) -> u64 {
            let at = self.next;
            self.next += len;
            self.taken.push((at, len));
            at
        }
    }

    pub(crate) fn ctx(data: &[u8]) -> FileCtx<'_> {
        FileCtx {
            data,
            base: 0,
            sizes: Sizes::DEFAULT,
            limits: Limits::default(),
        }
    }

    fn seal(mut b: Vec<u8>) -> Vec<u8> {
        let sum = lookup3(&b, 0);
        b.extend(sum.to_le_bytes());
        b
    }

    /// A header for a tree of `record_type` with 8-byte offsets/lengths.
    pub(crate) fn header(
        record_type: u8,
        node_size: u32,
        record_size: u16,
        depth: u16,
        root: u64,
        root_records: u16,
        total: u64,
    ) -> Vec<u8> {
        let mut b = b"BTHD".to_vec();
        b.extend([0, record_type]);
        b.extend(node_size.to_le_bytes());
        b.extend(record_size.to_le_bytes());
        b.extend(depth.to_le_bytes());
        b.extend([100, 40]);
        b.extend(root.to_le_bytes());
        b.extend(root_records.to_le_bytes());
        b.extend(total.to_le_bytes());
        seal(b)
    }

    /// A leaf node holding `records`.
    pub(crate) fn leaf(record_type: u8, records: &[&[u8]]) -> Vec<u8> {
        let mut b = b"BTLF".to_vec();
        b.extend([0, record_type]);
        for r in records {
            b.extend(*r);
        }
        seal(b)
    }

    /// Places `parts` at their addresses in one buffer.
    pub(crate) fn file(parts: &[(u64, &[u8])]) -> Vec<u8> {
        let end = parts
            .iter()
            .map(|(a, p)| *a as usize + p.len())
            .max()
            .unwrap_or(0);
        let mut f = vec![0u8; end];
        for (a, p) in parts {
            f[*a as usize..*a as usize + p.len()].copy_from_slice(p);
        }
        f
    }

    fn collect(data: &[u8], addr: u64) -> Result<Vec<Vec<u8>>> {
        let c = ctx(data);
        BTreeV2::read(&c, addr)?.records(&c)
    }

    #[test]
    fn capacities_follow_the_spec() {
        // Link-name records (11 bytes) in 512-byte nodes, 8-byte addresses:
        // leaves hold (512 - 10) / 11 = 45 records, counted in 1 byte; a
        // twig pointer is 8 + 1 bytes, so (512 - 10 - 9) / (11 + 9) = 24
        // records; its subtree holds 25 * 45 + 24 = 1149 (2 bytes); a depth-2
        // pointer is 8 + 1 + 2 bytes: (512 - 10 - 11) / (11 + 11) = 22.
        let (levels, n) = level_info(512, 11, 2, 8, 0).unwrap();
        assert_eq!(n, 1);
        assert_eq!(levels[0].max_records, 45);
        assert_eq!(levels[1].max_records, 24);
        assert_eq!(levels[1].max_total, 1149);
        assert_eq!(levels[1].total_width, 2);
        assert_eq!(levels[2].max_records, 22);
        assert_eq!(levels[2].max_total, 23 * 1149 + 22);
        // Chunk records of a 2-D unfiltered dataset in 2048-byte nodes:
        // (2048 - 10) / 24 = 84 per leaf.
        let (levels, n) = level_info(2048, 24, 0, 8, 0).unwrap();
        assert_eq!((levels[0].max_records, n), (84, 1));
        // 4096-byte nodes of 4-byte records: 1021 per leaf needs 2 bytes.
        let (_, n) = level_info(4096, 4, 0, 8, 0).unwrap();
        assert_eq!(n, 2);
    }

    #[test]
    fn node_too_small_is_rejected() {
        assert!(level_info(16, 11, 0, 8, 0).is_err());
        // leaves fit one record, internal nodes none
        assert!(level_info(24, 11, 1, 8, 0).is_err());
    }

    #[test]
    fn single_leaf() {
        let h = header(5, 512, 4, 0, 64, 3, 3);
        let l = leaf(5, &[b"aaaa", b"bbbb", b"cccc"]);
        let f = file(&[(0, &h), (64, &l)]);
        let r = collect(&f, 0).unwrap();
        assert_eq!(
            r,
            vec![b"aaaa".to_vec(), b"bbbb".to_vec(), b"cccc".to_vec()]
        );
    }

    #[test]
    fn empty_tree() {
        let h = header(8, 512, 17, 0, u64::MAX, 0, 0);
        let f = file(&[(0, &h)]);
        assert!(collect(&f, 0).unwrap().is_empty());
    }

    /// Depth 1: an internal node with one record and two leaves.
    fn two_level() -> Vec<u8> {
        let h = header(5, 512, 4, 1, 100, 1, 5);
        let mut i = b"BTIN".to_vec();
        i.extend([0, 5]);
        i.extend(b"cccc");
        // leaf capacity (512 - 10) / 4 = 125: counts are 1 byte
        i.extend(200u64.to_le_bytes());
        i.push(2);
        i.extend(300u64.to_le_bytes());
        i.push(2);
        let i = seal(i);
        let l0 = leaf(5, &[b"aaaa", b"bbbb"]);
        let l1 = leaf(5, &[b"dddd", b"eeee"]);
        file(&[(0, &h), (100, &i), (200, &l0), (300, &l1)])
    }

    #[test]
    fn internal_node_in_order() {
        let f = two_level();
        let r = collect(&f, 0).unwrap();
        let want: Vec<Vec<u8>> = ["aaaa", "bbbb", "cccc", "dddd", "eeee"]
            .iter()
            .map(|s| s.as_bytes().to_vec())
            .collect();
        assert_eq!(r, want);
    }

    #[test]
    fn find_descends() {
        let f = two_level();
        let c = ctx(&f);
        let t = BTreeV2::read(&c, 0).unwrap();
        for key in [b"aaaa", b"cccc", b"eeee", b"dddd"] {
            let got = t.find(&c, &mut |r| Ok(r.cmp(&key[..]))).unwrap();
            assert_eq!(got, Some(&key[..]));
        }
        let got = t.find(&c, &mut |r| Ok(r.cmp(&b"bbbc"[..]))).unwrap();
        assert_eq!(got, None);
    }

    #[test]
    fn bad_checksum_is_reported() {
        let mut f = two_level();
        f[206] ^= 1; // first record of the first leaf
        let e = collect(&f, 0).unwrap_err();
        assert!(e.to_string().contains("checksum"), "{e}");
        assert!(e.to_string().contains("0xc8"), "{e}");
        let mut f = two_level();
        f[20] ^= 1;
        let e = collect(&f, 0).unwrap_err();
        assert!(e.to_string().contains("checksum"), "{e}");
    }

    #[test]
    fn child_counts_must_add_up() {
        // header says 6 records but the subtrees hold 5
        let mut f = two_level();
        let h = header(5, 512, 4, 1, 100, 1, 6);
        f[..h.len()].copy_from_slice(&h);
        let e = collect(&f, 0).unwrap_err();
        assert!(e.to_string().contains("counts 6"), "{e}");
    }

    #[test]
    fn cycle_is_detected() {
        // both children point at the internal node itself
        let h = header(5, 512, 4, 1, 100, 1, 1);
        let mut i = b"BTIN".to_vec();
        i.extend([0, 5]);
        i.extend(b"cccc");
        i.extend(100u64.to_le_bytes());
        i.push(0);
        i.extend(100u64.to_le_bytes());
        i.push(0);
        let i = seal(i);
        let f = file(&[(0, &h), (100, &i)]);
        let e = collect(&f, 0).unwrap_err();
        // the child is read as a leaf and its signature is wrong, or the
        // address repeats: either way an error, never a loop
        assert!(matches!(e, Error::Format { .. }), "{e}");
        // a true cycle between two leaves' parents: same child twice
        let h = header(5, 512, 4, 1, 100, 1, 1);
        let mut i = b"BTIN".to_vec();
        i.extend([0, 5]);
        i.extend(b"cccc");
        i.extend(200u64.to_le_bytes());
        i.push(0);
        i.extend(200u64.to_le_bytes());
        i.push(0);
        let i = seal(i);
        let l = leaf(5, &[]);
        let f = file(&[(0, &h), (100, &i), (200, &l)]);
        let e = collect(&f, 0).unwrap_err();
        assert!(e.to_string().contains("cycle"), "{e}");
    }

    #[test]
    fn too_many_records_for_the_node() {
        // 512-byte nodes of 100-byte records hold 5; the root claims 6
        let h = header(5, 512, 100, 0, 64, 6, 6);
        let f = file(&[(0, &h)]);
        let e = BTreeV2::read(&ctx(&f), 0).unwrap_err();
        assert!(e.to_string().contains("at most 5"), "{e}");
    }

    #[test]
    fn depth_limit() {
        let h = header(5, 65535, 4, 1000, 64, 1, 1);
        let f = file(&[(0, &h)]);
        let e = BTreeV2::read(&ctx(&f), 0).unwrap_err();
        assert!(matches!(e, Error::LimitsExceeded(_)), "{e}");
    }

    #[test]
    fn wrong_node_type() {
        let h = header(5, 512, 4, 0, 64, 1, 1);
        let l = leaf(6, &[b"aaaa"]);
        let f = file(&[(0, &h), (64, &l)]);
        let e = collect(&f, 0).unwrap_err();
        assert!(e.to_string().contains("type 6"), "{e}");
    }

    /// xorshift64: deterministic noise for mutation tests.
    pub(crate) fn noise(state: &mut u64) -> u64 {
        let mut x = *state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *state = x;
        x
    }

    /// Rewrites the trailing checksum of the `len` bytes at `start`.
    pub(crate) fn reseal(f: &mut [u8], start: usize, len: usize) {
        let sum = lookup3(&f[start..start + len - 4], 0);
        f[start + len - 4..start + len].copy_from_slice(&sum.to_le_bytes());
    }

    #[test]
    fn mutated_nodes_never_panic() {
        let clean = two_level();
        // header, internal node, two leaves (each with its checksum)
        let regions = [(0usize, 38usize), (100, 32), (200, 18), (300, 18)];
        let mut s = 0x9e37_79b9_7f4a_7c15;
        let mut failures = 0;
        for _ in 0..20000 {
            let mut f = clean.clone();
            let (start, len) = regions[(noise(&mut s) % 4) as usize];
            let at = start + (noise(&mut s) as usize % (len - 4));
            f[at] = noise(&mut s) as u8;
            reseal(&mut f, start, len);
            let c = ctx(&f);
            match BTreeV2::read(&c, 0) {
                Ok(t) => {
                    failures += t.records(&c).is_err() as usize;
                    let _ = t.find(&c, &mut |r| Ok(r.cmp(&b"cccc"[..])));
                }
                Err(_) => failures += 1,
            }
        }
        assert!(failures > 0);
    }

    #[test]
    fn record_type_round_trip() {
        for t in 0..=255u8 {
            assert_eq!(RecordType::from_u8(t).to_u8(), t);
        }
        assert_eq!(RecordType::from_u8(12), RecordType::Unknown(12));
    }

    fn test_params(node_size: u32) -> BTreeV2Params {
        BTreeV2Params {
            record_type: RecordType::Test,
            record_size: 4,
            node_size,
            split_percent: 100,
            merge_percent: 40,
            insertion: Insertion::Insert,
        }
    }

    fn keyed(keys: &[u32]) -> Vec<(u32, Vec<u8>)> {
        keys.iter()
            .map(|&k| (k, k.to_be_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn encode_single_leaf_bytes() {
        let p = test_params(64);
        let recs = keyed(&[0x6363_6363, 0x6161_6161, 0x6262_6262]);
        let mut a = crate::format::alloc::Bump { next: 0 };
        let (addr, blocks) = encode_tree(&p, &recs, Sizes::DEFAULT, &mut a).unwrap();
        assert_eq!(addr, 0);
        assert_eq!(blocks.len(), 2);
        let mut h = header(0, 64, 4, 0, 38, 3, 3);
        assert_eq!(blocks[0], (0, std::mem::take(&mut h)));
        let mut l = leaf(0, &[b"aaaa", b"bbbb", b"cccc"]);
        l.resize(64, 0);
        assert_eq!(blocks[1], (38, l));
        assert_eq!(a.next, 38 + 64);
    }

    #[test]
    fn encode_empty_tree() {
        let p = test_params(64);
        let mut a = crate::format::alloc::Bump { next: 0 };
        let (addr, blocks) = encode_tree::<u32>(&p, &[], Sizes::DEFAULT, &mut a).unwrap();
        assert_eq!(blocks, vec![(addr, header(0, 64, 4, 0, u64::MAX, 0, 0))]);
    }

    /// Encodes `keys` in that order, reads the tree back and checks that
    /// every record comes back in key order and can be found.
    fn round_trip(node_size: u32, keys: &[u32]) -> BTreeV2 {
        let t = round_trip_as(test_params(node_size), keys);
        let u = round_trip_as(
            BTreeV2Params {
                insertion: Insertion::Update,
                ..test_params(node_size)
            },
            keys,
        );
        assert!(u.depth <= t.depth);
        t
    }

    fn round_trip_as(p: BTreeV2Params, keys: &[u32]) -> BTreeV2 {
        let recs = keyed(keys);
        let mut a = crate::format::alloc::Bump { next: 16 };
        let (addr, blocks) = encode_tree(&p, &recs, Sizes::DEFAULT, &mut a).unwrap();
        let mut img = Vec::new();
        crate::format::alloc::apply(&mut img, &blocks);
        let c = ctx(&img);
        let t = BTreeV2::read(&c, addr).unwrap();
        assert_eq!(t.total_records, keys.len() as u64);
        let mut sorted = keys.to_vec();
        sorted.sort();
        let got: Vec<u32> = t
            .records(&c)
            .unwrap()
            .iter()
            .map(|r| u32::from_be_bytes([r[0], r[1], r[2], r[3]]))
            .collect();
        assert_eq!(got, sorted);
        for k in keys.iter().step_by(7) {
            let want = k.to_be_bytes();
            let found = t.find(&c, &mut |r| Ok(r.cmp(&want[..]))).unwrap();
            assert_eq!(found, Some(&want[..]));
        }
        t
    }

    #[test]
    fn encode_round_trips_in_any_insertion_order() {
        let mut s = 0x2545_f491_4f6c_dd1d;
        let shuffled: Vec<u32> = (0..3000).map(|_| noise(&mut s) as u32).collect();
        // 64-byte nodes: 13 records per leaf, 4 per twig (9-byte pointers)
        for n in [1, 13, 14, 60, 200, 3000] {
            let t = round_trip(64, &shuffled[..n]);
            assert!(t.depth as usize >= (n > 13) as usize);
        }
        let ascending: Vec<u32> = (0..2000).collect();
        let t = round_trip(64, &ascending);
        assert!(t.depth >= 3);
        let descending: Vec<u32> = (0..2000).rev().collect();
        round_trip(64, &descending);
        round_trip(512, &shuffled);
    }

    #[test]
    fn root_split_moves_the_middle_record_up() {
        // 14 records into 13-record leaves: the full root is split at
        // record 6 before the 14th insertion
        let keys: Vec<u32> = (0..14).collect();
        let p = test_params(64);
        let mut a = crate::format::alloc::Bump { next: 0 };
        let (_, blocks) = encode_tree(&p, &keyed(&keys), Sizes::DEFAULT, &mut a).unwrap();
        let root = &blocks[1].1;
        assert_eq!(&root[..4], b"BTIN");
        assert_eq!(&root[6..10], &6u32.to_be_bytes());
        // children: 6 and 7 records
        assert_eq!(root[18], 6);
        assert_eq!(root[27], 7);
    }

    #[test]
    fn encode_rejects_bad_records() {
        let p = test_params(64);
        let mut a = crate::format::alloc::Bump { next: 0 };
        let bad = vec![(1u32, vec![0u8; 5])];
        assert!(encode_tree(&p, &bad, Sizes::DEFAULT, &mut a).is_err());
        let dup = keyed(&[1, 2, 1]);
        let e = encode_tree(&p, &dup, Sizes::DEFAULT, &mut a).unwrap_err();
        assert!(e.to_string().contains("equal keys"), "{e}");
        let tiny = BTreeV2Params { node_size: 12, ..p };
        assert!(encode_tree(&tiny, &keyed(&[1]), Sizes::DEFAULT, &mut a).is_err());
    }

    #[test]
    fn extents_are_the_header_and_every_node() {
        for (node_size, n) in [(64u32, 0u32), (64, 3), (64, 200), (64, 2000), (512, 3000)] {
            let recs = keyed(&(0..n).rev().collect::<Vec<_>>());
            let mut log = Log::at(16);
            let (addr, blocks) =
                encode_tree(&test_params(node_size), &recs, Sizes::DEFAULT, &mut log).unwrap();
            let mut img = Vec::new();
            crate::format::alloc::apply(&mut img, &blocks);
            img.resize(log.next as usize, 0);
            let c = ctx(&img);
            let t = BTreeV2::read(&c, addr).unwrap();
            let mut got = t.extents(&c).unwrap();
            got.sort_unstable();
            assert_eq!(got, log.sorted(), "node size {node_size}, {n} records");
            assert_eq!(got[0].1, BTreeV2::header_len(Sizes::DEFAULT));
            if n == 2000 {
                assert!(t.depth >= 3);
            }
        }
    }

    #[test]
    fn extents_check_the_nodes() {
        let f = two_level();
        let c = ctx(&f);
        let t = BTreeV2::read(&c, 0).unwrap();
        // the last node's unused tail runs past the end of this image
        let e = t.extents(&c).unwrap_err();
        assert!(e.to_string().contains("past the end"), "{e}");
        let mut padded = f.clone();
        padded.resize(f.len() + t.node_size as usize, 0);
        let c = ctx(&padded);
        let got = t.extents(&c).unwrap();
        assert_eq!(got.len(), 1 + 3);
        assert!(got[1..].iter().all(|&(_, l)| l == u64::from(t.node_size)));
        // a node whose signature is wrong
        let leaf = got[2].0 as usize;
        padded[leaf] = b'X';
        assert!(t.extents(&ctx(&padded)).is_err());
    }
}
