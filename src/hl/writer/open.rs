//! Opening an existing file for writing: objects are loaded into the
//! writer's model the first time something changes them, from a read view
//! of the file as it was opened. A loaded object keeps every header message
//! the writer does not regenerate, byte for byte (datatype, fill value,
//! filters, times, comments, unknown messages), and its header stays where
//! it is, in the chunks it had.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use super::gheap::GlobalHeapWriter;
use super::model::Extent;
use super::model::{
    ChunkLoc, ChunkedM, DatasetM, GroupM, GroupStyle, HeaderSpace, IndexChoice, Kind, LayoutM,
    LinkM, Obj,
};
use super::space::Space;
use super::{Format, Options, State, Writer};
use crate::error::{Error, Result};
use crate::format::FileCtx;
use crate::format::btree_v2::BTreeV2;
use crate::format::chunk_index::{self, IndexParams};
use crate::format::cursor::Cursor;
use crate::format::heap::fractal::FractalHeap;
use crate::format::layout::{ChunkIndexKind, Layout};
use crate::format::messages::{AttributeInfo, LinkInfo};
use crate::format::object_header::{HeaderPrefix, Message, RawHeader, msg};
use crate::hl::file::File;
use crate::hl::group::Group;
use crate::hl::object::{Object, ObjectData};
use crate::limits::Limits;

/// Superblock flag (version 3): the file is open for writing.
const FLAG_WRITE: u32 = 0x01;

impl Writer {
    /// Opens the file at `path` for reading and writing (h5py's `'r+'`).
    pub(crate) fn open(path: &Path, limits: Limits) -> Result<File> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)?;
        let base_view = File::open_with_limits(path, limits)?;
        let sb = base_view.inner.sb.clone();
        if sb.version >= 3 && sb.flags & FLAG_WRITE != 0 {
            return Err(Error::usage(format!(
                "{} is marked as open for writing by another program (or one that did not \
                 close it): open it read-only, or clear the mark (`h5rs clear`, as h5clear) \
                 if no program is writing it",
                path.display()
            )));
        }
        // B-tree nodes of no entries cannot be written (libhdf5 refuses a
        // K of 0 too)
        if sb.group_leaf_k == 0 || sb.group_internal_k == 0 || sb.indexed_storage_k == 0 {
            return Err(Error::format(
                format!(
                    "superblock: B-tree K of 0 (group leaf {}, group internal {}, chunk {}): \
                     damaged, not opened for writing",
                    sb.group_leaf_k, sb.group_internal_k, sb.indexed_storage_k
                ),
                0,
            ));
        }
        let opts = Options {
            format: if sb.version >= 2 {
                Format::Latest
            } else {
                Format::Earliest
            },
            userblock: sb.position,
            track_order: false,
            sizes: sb.sizes,
            ks: (sb.group_leaf_k, sb.group_internal_k, sb.indexed_storage_k),
        };
        // the stored end of file counts from the stored base address (the
        // file's start when a user block was added after the file was
        // written); the writer's addresses count from the superblock
        let eof = sb.eof.saturating_sub(sb.base_address);
        // a file longer than its stored end (bytes left by a writer that
        // did not finish, or a wrong end in a damaged file) keeps its extra
        // bytes: new space starts after them, so nothing there is overwritten
        let len = file.metadata()?.len().saturating_sub(sb.position);
        // the stored base is the file's start or the superblock's position
        // (a user block added later, or written by libhdf5)
        if sb.base_address > sb.position {
            return Err(Error::format(
                format!(
                    "superblock: base address {:#x} lies past the superblock at {:#x}: \
                     damaged, not opened for writing",
                    sb.base_address, sb.position
                ),
                0,
            ));
        }
        // libhdf5 refuses a file shorter than its stored end ("truncated
        // file"); writing there would also extend it to that length
        if eof > len {
            return Err(Error::format(
                format!(
                    "superblock: the file ends at {len} bytes but claims {eof}: \
                     truncated or damaged, not opened for writing"
                ),
                0,
            ));
        }
        // the superblock's bytes are never freed, whatever a damaged file's
        // structures claim
        let floor = sb.encode()?.len() as u64;
        let space = Space::new(file, sb.position, eof.max(len), floor);
        let mut state = State {
            space,
            opts,
            objects: BTreeMap::new(),
            root: sb.root,
            gheap: GlobalHeapWriter::default(),
            dirty: false,
            closed: false,
            loaded_headers: BTreeMap::new(),
            raw_claims: BTreeMap::new(),
            raw_owners: Default::default(),
            view: None,
            base: Some(base_view),
            superblock: Some(sb.clone()),
            deleted: Default::default(),
            refused: Default::default(),
        };
        // the root group's header and the superblock extension's are
        // claimed first: no structure of the file is then written or freed
        // over them
        state.ensure(sb.root)?;
        if let Some(ext) = sb.extension {
            state.claim_extension(ext);
        }
        if sb.version >= 3 {
            // mark the file open for writing, as libhdf5 does
            state.superblock_flags(FLAG_WRITE)?;
        }
        let writer = Arc::new(Writer {
            state: Mutex::new(state),
            generation: AtomicU64::new(1),
            path: path.to_path_buf(),
            limits,
        });
        writer.view()
    }
}

impl State {
    /// Rewrites the superblock of an opened file with `flags`.
    pub(crate) fn superblock_flags(&mut self, flags: u32) -> Result<()> {
        if let Some(sb) = &mut self.superblock {
            sb.flags = flags;
            let bytes = sb.encode()?;
            self.space.write_absolute(sb.position, &bytes)?;
        }
        Ok(())
    }

    /// Loads the object at `addr` into the model if it is not there yet.
    pub(crate) fn ensure(&mut self, addr: u64) -> Result<()> {
        if self.objects.contains_key(&addr) {
            return Ok(());
        }
        if self.deleted.contains(&addr) {
            return Err(Error::usage(format!(
                "the object at address {addr} was deleted"
            )));
        }
        let Some(view) = self.base.clone() else {
            return Err(Error::usage(format!(
                "no object at address {addr} in this file"
            )));
        };
        if let Some(e) = self.refused.get(&addr).and_then(Error::of_the_file) {
            return Err(e);
        }
        let loaded = load(&view, addr, self.opts).and_then(|mut obj| {
            self.claim_header(&mut obj)?;
            Ok(obj)
        });
        match loaded {
            Ok(obj) => {
                self.objects.insert(addr, obj);
                Ok(())
            }
            Err(e) => {
                if let Some(copy) = e.of_the_file() {
                    self.refused.insert(addr, copy);
                }
                Err(e)
            }
        }
    }

    /// Records the space of the superblock extension's object header (when
    /// it reads; h5rs never rewrites it).
    fn claim_extension(&mut self, addr: u64) {
        let Some(view) = &self.base else {
            return;
        };
        let Ok(raw) = RawHeader::read(&view.inner.ctx(), addr) else {
            return;
        };
        let Some(chunk0) = raw.chunks.first().map(|c| c.len) else {
            return;
        };
        let head = super::flush::prefix_len(&raw.prefix, chunk0 as usize) as u64;
        let mut spans = vec![(addr, addr.saturating_add(head.saturating_add(chunk0)))];
        spans.extend(
            continuation_extents(&raw)
                .into_iter()
                .map(|(a, l)| (a, a.saturating_add(l))),
        );
        if overlap(&mut spans, &self.loaded_headers).is_none() {
            self.loaded_headers.extend(spans);
        }
    }

    /// Records the space a loaded object holds: its header chunks, and
    /// the structures h5rs frees when it rewrites or deletes the object
    /// (symbol table, dense storage, chunk index). A header overlapping
    /// space claimed before is an error (a rewrite of one object would
    /// corrupt the other); structures to free that overlap claimed space or
    /// each other are forgotten, so their space leaks instead of being
    /// handed out while in use. Only hostile files get there.
    fn claim_header(&mut self, obj: &mut Obj) -> Result<()> {
        let Some(prefix) = &obj.prefix else {
            return Ok(());
        };
        let h = &obj.header;
        let head = super::flush::prefix_len(prefix, h.chunk0) as u64 + h.chunk0 as u64;
        let mut mine: Vec<(u64, u64)> = Vec::with_capacity(1 + h.conts.len());
        mine.push((h.addr, h.addr.saturating_add(head)));
        mine.extend(h.conts.iter().map(|&(a, l)| (a, a.saturating_add(l))));
        // a symbol-table group's local heap header is rewritten in place
        if let Kind::Group(GroupM {
            heap_header: Some(a),
            ..
        }) = &obj.kind
        {
            let len = crate::format::heap::local::LocalHeapHeader::size(self.opts.sizes()) as u64;
            mine.push((*a, a.saturating_add(len)));
        }
        if let Some(e) = overlap(&mut mine, &self.loaded_headers)
            .or_else(|| overlap(&mut mine, &self.raw_claims))
            .or_else(|| self.space.in_use(&mine))
        {
            return Err(Error::format(
                format!("object header: its bytes overlap other structures ({e}); not changed"),
                h.addr,
            ));
        }
        // a dataset's raw data, written in place and freed by it alone
        let mut raw = raw_spans(obj)?;
        let floor = self.space.floor();
        if let Some(&(a, e)) = raw.iter().find(|&&(a, e)| a < floor || e > self.space.eof) {
            return Err(Error::format(
                format!(
                    "dataset storage: {a:#x}..{e:#x} lies in the superblock or past the end \
                     of the file; not changed"
                ),
                obj.header.addr,
            ));
        }
        let mut all = mine.clone();
        all.extend(raw.iter().copied());
        if let Some(e) = overlap(&mut all, &BTreeMap::new())
            .or_else(|| overlap(&mut raw, &self.loaded_headers))
            .or_else(|| overlap(&mut raw, &self.raw_claims))
            .or_else(|| self.space.in_use(&raw))
        {
            return Err(Error::format(
                format!("dataset storage: overlaps other structures or data ({e}); not changed"),
                obj.header.addr,
            ));
        }
        self.loaded_headers.extend(mine);
        for (a, e) in raw {
            self.raw_claims.insert(a, e);
            self.raw_owners.insert(a, obj.header.addr);
        }
        let mut lists: Vec<&mut Vec<Extent>> = vec![&mut obj.attr_space];
        match &mut obj.kind {
            Kind::Group(g) => {
                lists.push(&mut g.stab_space);
                lists.push(&mut g.dense_space);
            }
            Kind::Dataset(d) => {
                // an implicit block is the union of its chunks, claimed
                // above as raw data
                if let LayoutM::Chunked(c) = &mut d.layout
                    && c.index != IndexChoice::Implicit
                {
                    lists.push(&mut c.index_space);
                }
            }
            Kind::Datatype(_) => {}
        }
        for list in lists {
            let mut spans: Vec<(u64, u64)> = list
                .iter()
                .map(|&(a, l)| (a, a.saturating_add(l)))
                .collect();
            if overlap(&mut spans, &self.loaded_headers)
                .or_else(|| overlap(&mut spans, &self.raw_claims))
                .or_else(|| self.space.in_use(&spans))
                .is_some()
            {
                list.clear();
            } else {
                self.loaded_headers.extend(spans);
            }
        }
        Ok(())
    }

    /// Loads the attributes of a loaded object into the model, taking its
    /// attribute messages out of the kept ones (before it changes them).
    pub(crate) fn ensure_attrs(&mut self, addr: u64) -> Result<()> {
        self.ensure(addr)?;
        let view = self.base.clone();
        let o = self.obj_mut(addr)?;
        if o.attrs_loaded {
            return Ok(());
        }
        let Some(view) = view else {
            o.attrs_loaded = true;
            return Ok(());
        };
        let object = Object::from_data(ObjectData::load(&view, addr, String::new())?)?;
        let attrs = object.attrs()?;
        let sizes = view.inner.ctx().sizes;
        let mut next = 0u16;
        if let Some(m) = o.kept.iter().find(|m| m.kind == msg::ATTRIBUTE_INFO) {
            let info = AttributeInfo::decode(&mut Cursor::new(&m.data, m.addr, sizes))?;
            next = info.max_creation_index;
        }
        o.attrs = attrs
            .iter()
            .enumerate()
            .map(|(i, a)| super::model::Attr {
                name: a.name().to_string(),
                dtype: a.dtype().clone(),
                space: a.space().clone(),
                data: a.raw().to_vec(),
                order: i as u16,
            })
            .collect();
        o.next_attr_order = next.max(o.attrs.len() as u16);
        o.kept
            .retain(|m| m.kind != msg::ATTRIBUTE && m.kind != msg::ATTRIBUTE_INFO);
        o.attrs_loaded = true;
        Ok(())
    }
}

/// Messages a loaded object keeps verbatim unless the writer takes them
/// over: all but those the model regenerates for its kind.
fn regenerated(kind: &Kind, m: &Message) -> bool {
    match (kind, m.kind) {
        (_, msg::REFCOUNT) => true,
        (Kind::Group(_), msg::SYMBOL_TABLE | msg::LINK_INFO | msg::LINK) => true,
        (Kind::Dataset(d), msg::DATASPACE) => !matches!(d.layout, LayoutM::Kept),
        (Kind::Dataset(d), msg::LAYOUT) => !matches!(d.layout, LayoutM::Kept),
        _ => false,
    }
}

/// Reads the object at `addr` of `view` into the model.
fn load(view: &File, addr: u64, opts: Options) -> Result<Obj> {
    let ctx = view.inner.ctx();
    let raw = RawHeader::read(&ctx, addr)?;
    let prefix = raw.prefix;
    // a v2 continuation chunk starts with "OCHK" and ends with a checksum,
    // which the chunk's recorded start and length leave out
    let chunk0 = raw
        .chunks
        .first()
        .map(|c| c.len as usize)
        .ok_or_else(|| Error::format("object header without chunks", addr))?;
    let conts = continuation_extents(&raw);
    let object = Object::from_data(ObjectData::load(view, addr, String::new())?)?;
    let header = &object.data().header;
    let mut refcount = match raw.prefix {
        HeaderPrefix::V1 { refcount } => refcount,
        HeaderPrefix::V2(_) => 1,
    };
    if let Some(m) = header.find(msg::REFCOUNT)
        && let Some(b) = m.data.get(1..5)
    {
        refcount = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    }
    let track_attr_order = matches!(prefix, HeaderPrefix::V2(p) if p.track_creation_order);
    let kind = match &object {
        Object::Group(g) => Kind::Group(load_group(g, opts)?),
        Object::Dataset(d) => {
            // the writer handles whole elements (a fill value, a converted
            // one): no larger than a chunk may be
            if d.dtype().size() as u64 > ctx.limits.max_chunk_bytes {
                return Err(Error::limit(format!(
                    "dataset at {addr:#x}: elements of {} bytes are over the chunk limit",
                    d.dtype().size()
                )));
            }
            let layout = match d.layout_message() {
                Layout::Compact { data } => LayoutM::Compact(data.clone()),
                Layout::Contiguous { address, .. } if !d.is_external() => {
                    LayoutM::Contiguous { addr: *address }
                }
                Layout::Chunked(cl) => {
                    // the chunk size bounds every later product of the dims
                    let chunk_bytes = cl
                        .dims
                        .iter()
                        .try_fold(d.dtype().size() as u64, |a, &n| a.checked_mul(n))
                        .filter(|&b| b <= ctx.limits.max_chunk_bytes);
                    if chunk_bytes.is_none() {
                        return Err(Error::limit(format!(
                            "dataset at {addr:#x}: chunks of {:?} elements are too large",
                            cl.dims
                        )));
                    }
                    let index = match &cl.index {
                        ChunkIndexKind::BTreeV1 => IndexChoice::BTreeV1,
                        ChunkIndexKind::Single { .. } => IndexChoice::Single,
                        ChunkIndexKind::Implicit => IndexChoice::Implicit,
                        ChunkIndexKind::FixedArray { .. } => IndexChoice::FixedArray,
                        ChunkIndexKind::ExtensibleArray { .. } => IndexChoice::ExtensibleArray,
                        ChunkIndexKind::BTreeV2 { .. } => IndexChoice::BTreeV2,
                    };
                    let chunks = d
                        .stored_chunks()?
                        .into_iter()
                        .map(|(r, _)| {
                            (
                                r.coords,
                                ChunkLoc {
                                    addr: r.addr,
                                    size: r.size,
                                    mask: r.filter_mask,
                                },
                            )
                        })
                        .collect();
                    let space = d.space();
                    let p = IndexParams {
                        layout: cl,
                        dims: &space.dims,
                        max_dims: &space.max_dims,
                        filtered: !d.filters().is_empty(),
                    };
                    // the nodes of a v1 B-tree index are known, and given
                    // back when the index is written anew
                    let index_space = match (&cl.index, cl.address) {
                        (ChunkIndexKind::BTreeV1, Some(root)) => {
                            use crate::format::btree_v1::{self, NodeType};
                            let kind = NodeType::Chunk {
                                key_dims: cl.dims.len() + 1,
                            };
                            let len = btree_v1::node_len(
                                kind,
                                view.inner.sb.indexed_storage_k,
                                ctx.sizes,
                            );
                            btree_v1::node_addresses(&ctx, root, kind)?
                                .into_iter()
                                .map(|a| (a, len))
                                .collect()
                        }
                        // fixed and extensible arrays, v2 B-trees: every
                        // block of the index
                        (
                            ChunkIndexKind::FixedArray { .. }
                            | ChunkIndexKind::ExtensibleArray { .. }
                            | ChunkIndexKind::BTreeV2 { .. },
                            Some(_),
                        ) => reclaimable(chunk_index::index_extents(&ctx, &p)),
                        // the implicit block, when its chunks (listed and
                        // claimed one by one below) fill it: chunks are then
                        // rewritten where they lie
                        (ChunkIndexKind::Implicit, Some(base)) => implicit_block(base, &p, &chunks),
                        _ => Vec::new(),
                    };
                    LayoutM::Chunked(ChunkedM {
                        dims: cl.dims.clone(),
                        chunks,
                        index,
                        index_space,
                        index_addr: cl.address,
                        index_dirty: false,
                        layout: Some(cl.clone()),
                    })
                }
                // external raw data and virtual datasets stay as they are
                _ => LayoutM::Kept,
            };
            Kind::Dataset(DatasetM {
                dtype: d.dtype().clone(),
                dtype_ref: None,
                space: d.space(),
                layout,
                filters: d.filters().to_vec(),
                fill: d.fill_value().clone(),
                loaded: true,
            })
        }
        Object::Datatype(t) => Kind::Datatype(t.dtype()?),
    };
    let kept = header
        .messages
        .iter()
        .filter(|m| !regenerated(&kind, m))
        .cloned()
        .collect();
    // dense attribute storage, given back when the attributes are written
    // anew or the object is deleted
    let attr_space = header
        .find(msg::ATTRIBUTE_INFO)
        .and_then(|m| AttributeInfo::decode(&mut Cursor::new(&m.data, m.addr, ctx.sizes)).ok())
        .map_or_else(Vec::new, |info| {
            dense_extents(&ctx, info.heap, info.name_index, info.order_index)
        });
    Ok(Obj {
        header: HeaderSpace {
            addr,
            chunk0,
            conts,
        },
        kind,
        attrs: Vec::new(),
        track_attr_order,
        next_attr_order: 0,
        attr_space,
        refcount,
        dirty: false,
        written: true,
        prefix: Some(prefix),
        kept,
        attrs_loaded: false,
    })
}

/// A group's links as the model holds them.
fn load_group(g: &Group, _opts: Options) -> Result<GroupM> {
    let sizes = g.data.file.inner.ctx().sizes;
    let header = &g.data.header;
    let mut dense_space = Vec::new();
    let (style, track, next) = match header.find(msg::LINK_INFO) {
        Some(m) if header.find(msg::SYMBOL_TABLE).is_none() => {
            let info = LinkInfo::decode(&mut Cursor::new(&m.data, m.addr, sizes))?;
            let ctx = g.data.file.inner.ctx();
            dense_space = dense_extents(&ctx, info.heap, info.name_index, info.order_index);
            (GroupStyle::Links, info.track_order, info.max_creation_index)
        }
        _ => (GroupStyle::SymbolTable, false, 0),
    };
    let heap_header = match header.find(msg::SYMBOL_TABLE) {
        Some(m) => {
            let st = crate::format::messages::SymbolTableMessage::decode(&mut Cursor::new(
                &m.data, m.addr, sizes,
            ))?;
            Some(st.heap)
        }
        None => None,
    };
    let mut out = GroupM::new(style, track);
    out.heap_header = heap_header;
    out.dense_space = dense_space;
    if let Some(m) = header.find(msg::SYMBOL_TABLE) {
        out.stab_space = symbol_table_extents(g, m)?;
    }
    let mut links = g.links()?;
    if track {
        links.sort_by_key(|l| l.creation_order);
    }
    for (i, l) in links.into_iter().enumerate() {
        let order = l.creation_order.unwrap_or(i as u64);
        out.index.insert(l.name.clone(), out.links.len());
        out.links.push(LinkM {
            name: l.name,
            target: l.target,
            order,
        });
    }
    out.next_order = next.max(out.links.len() as u64);
    Ok(out)
}

/// The space of dense link or attribute storage: the fractal heap (with
/// its huge objects and free-space manager) and the name and creation-order
/// indexes, for [`reclaimable`].
fn dense_extents(
    ctx: &FileCtx,
    heap: Option<u64>,
    name_index: Option<u64>,
    order_index: Option<u64>,
) -> Vec<Extent> {
    let all = || -> Result<Vec<Extent>> {
        let mut out = Vec::new();
        if let Some(h) = heap {
            out.extend(FractalHeap::read(ctx, h)?.extents(ctx)?);
        }
        for t in [name_index, order_index].into_iter().flatten() {
            out.extend(BTreeV2::read(ctx, t)?.extents(ctx)?);
        }
        Ok(out)
    };
    reclaimable(all())
}

/// The extents of a loaded structure that may be given back when it is
/// replaced: all of them when they were read without error and do not
/// overlap, else none (the space stays allocated rather than risk freeing
/// bytes something else uses).
fn reclaimable(extents: Result<Vec<Extent>>) -> Vec<Extent> {
    let Ok(mut v) = extents else {
        return Vec::new();
    };
    v.sort_unstable();
    let disjoint = v
        .windows(2)
        .all(|w| w[0].0.checked_add(w[0].1).is_some_and(|end| end <= w[1].0));
    if disjoint { v } else { Vec::new() }
}

/// The space of a symbol table (B-tree nodes, symbol table nodes and the
/// local heap's data segment; the heap header stays where it is), given
/// back when the group's links are written anew.
fn symbol_table_extents(g: &Group, m: &Message) -> Result<Vec<(u64, u64)>> {
    use crate::format::btree_v1::{self, NodeType};
    use crate::format::heap::local::LocalHeapHeader;
    use crate::format::symbol_table::SymbolTableEntry;
    let inner = &g.data.file.inner;
    let ctx = inner.ctx();
    let sizes = ctx.sizes;
    let st = crate::format::messages::SymbolTableMessage::decode(&mut Cursor::new(
        &m.data, m.addr, sizes,
    ))?;
    let node = btree_v1::node_len(NodeType::Group, inner.sb.group_internal_k, sizes);
    let mut out: Vec<(u64, u64)> = btree_v1::node_addresses(&ctx, st.btree, NodeType::Group)?
        .into_iter()
        .map(|a| (a, node))
        .collect();
    let snod =
        8 + 2 * u64::from(inner.sb.group_leaf_k) * SymbolTableEntry::size(sizes.offset) as u64;
    btree_v1::walk(&ctx, st.btree, NodeType::Group, &mut |_, a| {
        out.push((a, snod));
        Ok(())
    })?;
    let heap = LocalHeapHeader::decode(&mut ctx.cursor_at(st.heap, "local heap")?)?;
    out.push((heap.data_addr, heap.data_size));
    Ok(out)
}

/// Clears the "open for writing" mark a writer that did not close the file
/// left in its version 3 superblock (what `h5clear -s` does). Returns
/// whether there was a mark. Only for a file no program is writing.
///
/// # Errors
/// `Io` when the file cannot be written, `Format` when it is not HDF5.
pub fn clear_write_mark(path: impl AsRef<Path>) -> Result<bool> {
    use std::os::unix::fs::FileExt;
    let path = path.as_ref();
    let mut sb = {
        let f = File::open(path)?;
        f.inner.sb.clone()
    };
    if sb.version < 3 || sb.flags == 0 {
        return Ok(false);
    }
    sb.flags = 0;
    let bytes = sb.encode()?;
    let file = std::fs::OpenOptions::new().write(true).open(path)?;
    file.write_all_at(&bytes, sb.position)?;
    Ok(true)
}

impl File {
    /// Opens an existing file for reading and writing (h5py's
    /// `h5py.File(path, 'r+')`): objects, data and attributes can be
    /// added, changed and deleted. A version 3 superblock is marked open
    /// for writing until the file is closed, as libhdf5 does; a file that
    /// carries the mark (a writer that crashed) is refused.
    ///
    /// # Errors
    /// `Io` when the file cannot be opened for writing, `Format` when it is
    /// not HDF5, `Usage` when it is marked open for writing.
    pub fn open_rw(path: impl AsRef<Path>) -> Result<File> {
        Writer::open(path.as_ref(), Limits::default())
    }

    /// As [`File::open_rw`], with explicit [`Limits`] for what is read.
    ///
    /// # Errors
    /// As [`File::open_rw`].
    pub fn open_rw_with_limits(path: impl AsRef<Path>, limits: Limits) -> Result<File> {
        Writer::open(path.as_ref(), limits)
    }

    /// Opens the file for reading and writing, creating it when missing
    /// (h5py's `'a'`).
    ///
    /// # Errors
    /// As [`File::open_rw`] and [`File::create`].
    pub fn append(path: impl AsRef<Path>) -> Result<File> {
        let p = path.as_ref();
        if p.exists() {
            File::open_rw(p)
        } else {
            File::create(p)
        }
    }
}

/// The continuation chunks of a header as extents (start, length): a v2
/// chunk starts with "OCHK" and ends with a checksum, which the chunk's
/// recorded start and length leave out.
fn continuation_extents(raw: &RawHeader) -> Vec<(u64, u64)> {
    let (before, overhead) = match raw.prefix {
        HeaderPrefix::V1 { .. } => (0u64, 0u64),
        HeaderPrefix::V2(_) => (4, 8),
    };
    raw.chunks
        .iter()
        .skip(1)
        .map(|c| {
            (
                c.addr.saturating_sub(before),
                c.len.saturating_add(overhead),
            )
        })
        .collect()
}

/// The raw data of a loaded dataset (start, end), each stored chunk or
/// the contiguous block; empty chunks left out.
fn raw_spans(obj: &Obj) -> Result<Vec<(u64, u64)>> {
    let Kind::Dataset(d) = &obj.kind else {
        return Ok(Vec::new());
    };
    let span = |a: u64, l: u64| {
        a.checked_add(l).map(|e| (a, e)).ok_or_else(|| {
            Error::format("dataset storage: address + size overflows", obj.header.addr)
        })
    };
    match &d.layout {
        LayoutM::Contiguous { addr: Some(a) } => match d.data_bytes()? {
            0 => Ok(Vec::new()),
            n => Ok(vec![span(*a, n)?]),
        },
        LayoutM::Chunked(c) => c
            .chunks
            .values()
            .filter(|l| l.size > 0)
            .map(|l| span(l.addr, l.size))
            .collect(),
        _ => Ok(Vec::new()),
    }
}

/// The block of a loaded implicit index, as one extent, when the chunks
/// listed fill the grid over the maximum dimensions (each chunk is then
/// claimed as the dataset's own, so the block is too); otherwise none, and
/// the chunks move to a new block when the index is written.
fn implicit_block(
    base: u64,
    p: &IndexParams,
    chunks: &BTreeMap<Vec<u64>, ChunkLoc>,
) -> Vec<(u64, u64)> {
    let grid = p
        .max_chunks_per_dim()
        .iter()
        .try_fold(1u64, |a, &n| a.checked_mul(n));
    let size = chunks.values().next().map(|l| l.size);
    let count = u64::try_from(chunks.len()).ok();
    match (grid == count, size) {
        (true, Some(s)) if chunks.values().all(|l| l.size == s) => count
            .and_then(|n| n.checked_mul(s))
            .map(|len| vec![(base, len)])
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// Sorts `spans` (start, end) and tells where two of them overlap, or one
/// overlaps a span of `claimed` (disjoint, start → end).
fn overlap(spans: &mut [(u64, u64)], claimed: &BTreeMap<u64, u64>) -> Option<String> {
    spans.sort_unstable();
    for w in spans.windows(2) {
        if w[1].0 < w[0].1 {
            return Some(format!("{:#x} and {:#x}", w[0].0, w[1].0));
        }
    }
    for &(start, end) in spans.iter() {
        if let Some((&s, &e)) = claimed.range(..end).next_back()
            && e > start
        {
            return Some(format!("{start:#x}..{end:#x} and {s:#x}..{e:#x}"));
        }
    }
    None
}
