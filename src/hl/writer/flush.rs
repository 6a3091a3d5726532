//! Laying out and writing metadata: object headers with their messages,
//! symbol tables (v1 B-tree, symbol table nodes, local heap), chunk
//! indexes, the global heap and the superblock.

use super::Options;
use super::State;
use super::model::{
    ChunkedM, DatasetM, Extent, GroupM, GroupStyle, IndexChoice, Kind, LayoutM, Obj,
};
use super::space::Space;
use crate::error::{Error, Result};
use crate::format::Sizes;
use crate::format::alloc::{Allocator, Blocks};
use crate::format::attribute::AttributeMessage;
use crate::format::btree_v1::{NodeImage, NodeType};
use crate::format::btree_v2::records::{
    AttributeNameRecord, AttributeOrderRecord, ChunkRecordV2, LinkNameRecord, LinkOrderRecord,
    RecordKey,
};
use crate::format::btree_v2::{BTreeV2Params, encode_tree};
use crate::format::chunk_index::{ChunkRecord, IndexParams, extensible_array, fixed_array};
use crate::format::cursor::Encoder;
use crate::format::datatype::Datatype;
use crate::format::fill_value::AllocTime;
use crate::format::filter_pipeline;
use crate::format::heap::fractal::{HeapParams, encode_heap};
use crate::format::heap::local::{LocalHeapHeader, encode_data_segment};
use crate::format::layout::{ChunkIndexKind, ChunkedLayout, Layout};
use crate::format::link::{Link, LinkTarget};
use crate::format::messages::{AttributeInfo, GroupInfo, LinkInfo, SymbolTableMessage};
use crate::format::object_header::{HeaderPrefix, Message, continuation_message, msg};
use crate::format::shared::SharedRef;
use crate::format::superblock::Superblock;
use crate::format::symbol_table::{self, Scratch, SymbolTableEntry};

/// libhdf5's defaults for symbol-table groups and chunk B-trees.
pub(crate) const GROUP_LEAF_K: u16 = 4;
pub(crate) const GROUP_INTERNAL_K: u16 = 16;
pub(crate) const CHUNK_K: u16 = 32;

/// Bytes of the superblock for these options.
pub(crate) fn superblock_len(opts: &Options) -> u64 {
    let s = opts.sizes();
    if opts.latest() {
        // signature, version, sizes, flags, 4 addresses, checksum
        12 + 4 * s.offset as u64 + 4
    } else {
        // 24 fixed bytes, 4 addresses, the root symbol table entry
        24 + 4 * s.offset as u64 + SymbolTableEntry::size(s.offset) as u64
    }
}

/// Bytes of a header's prefix (before chunk 0's messages).
pub(crate) fn prefix_len(prefix: &HeaderPrefix, chunk0: usize) -> usize {
    match prefix {
        HeaderPrefix::V1 { .. } => 16,
        HeaderPrefix::V2(p) => {
            let width = match chunk0 {
                n if n <= 0xff => 1,
                n if n <= 0xffff => 2,
                n if n <= 0xffff_ffff => 4,
                _ => 8,
            };
            6 + width
                + if p.times.is_some() { 16 } else { 0 }
                + if p.attr_phase_change.is_some() { 4 } else { 0 }
                + 4 // checksum
        }
    }
}

fn message(kind: u16, flags: u8, data: Vec<u8>) -> Message {
    Message {
        kind,
        flags,
        creation_order: None,
        addr: 0,
        data,
    }
}

/// The messages an object starts with, to size its first header chunk.
pub(crate) fn initial_messages(opts: &Options, obj: &Obj) -> Result<Vec<Message>> {
    let sizes = opts.sizes();
    match &obj.kind {
        Kind::Group(g) => Ok(group_messages(opts, g, Some((0, 0)), None)),
        Kind::Dataset(d) => dataset_messages(opts, d, sizes),
        Kind::Datatype(t) => Ok(datatype_messages(opts, t)),
    }
}

/// A committed datatype's own message.
fn datatype_messages(opts: &Options, t: &Datatype) -> Vec<Message> {
    vec![message(
        msg::DATATYPE,
        1,
        t.encode(if opts.latest() { 3 } else { 1 }),
    )]
}

/// A group's own messages (attributes not included). `stab`: the B-tree
/// and local heap of a symbol-table group.
fn group_messages(
    opts: &Options,
    g: &GroupM,
    stab: Option<(u64, u64)>,
    dense: Option<&LinkInfo>,
) -> Vec<Message> {
    let sizes = opts.sizes();
    match g.style {
        GroupStyle::SymbolTable => {
            let (btree, heap) = stab.unwrap_or((0, 0));
            vec![message(
                msg::SYMBOL_TABLE,
                0,
                SymbolTableMessage { btree, heap }.encode(sizes),
            )]
        }
        GroupStyle::Links => {
            let compact = LinkInfo {
                track_order: g.track_order,
                max_creation_index: g.next_order,
                index_order: g.track_order,
                heap: None,
                name_index: None,
                order_index: None,
            };
            let mut out = vec![
                message(msg::LINK_INFO, 0, dense.unwrap_or(&compact).encode(sizes)),
                message(msg::GROUP_INFO, 1, GroupInfo::default().encode()),
            ];
            if dense.is_some() {
                return out;
            }
            for l in &g.links {
                let link = Link {
                    name: l.name.clone(),
                    target: l.target.clone(),
                    creation_order: g.track_order.then_some(l.order),
                };
                out.push(message(msg::LINK, 0, link.encode(sizes)));
            }
            out
        }
    }
}

/// The dataspace message version: 1 for the earliest format, except for a
/// null dataspace, which only version 2 can say (libhdf5 raises it too).
fn space_version(latest: bool, s: &crate::format::dataspace::Dataspace) -> u8 {
    if latest || s.kind == crate::format::dataspace::SpaceKind::Null {
        2
    } else {
        1
    }
}

/// The layout message a dataset has now.
fn layout_of(d: &DatasetM) -> Result<(Layout, u8)> {
    Ok(match &d.layout {
        LayoutM::Virtual { address, index } => (
            Layout::Virtual {
                address: Some(*address),
                index: *index,
            },
            4,
        ),
        LayoutM::Kept => (
            Layout::Contiguous {
                address: None,
                size: None,
            },
            3,
        ),
        LayoutM::Compact(data) => (Layout::Compact { data: data.clone() }, 3),
        LayoutM::Contiguous { addr } => (
            Layout::Contiguous {
                address: *addr,
                size: Some(d.data_bytes()?),
            },
            3,
        ),
        LayoutM::Chunked(c) => {
            let mut cl = chunked_layout(c, d.dtype.size() as u64);
            if c.index == IndexChoice::Single && !d.filters.is_empty() {
                let (size, mask) = c
                    .chunks
                    .values()
                    .next()
                    .map_or((0, 0), |l| (l.size, l.mask));
                cl.index = ChunkIndexKind::Single {
                    filtered: Some((size, mask)),
                };
            }
            let (index, version) = (cl.index, cl.version);
            let address = match c.index {
                IndexChoice::Single => c.chunks.values().next().map(|l| l.addr),
                _ => c.index_addr,
            };
            (
                Layout::Chunked(ChunkedLayout {
                    version,
                    dims: c.dims.clone(),
                    element_size: d.dtype.size() as u64,
                    index,
                    address,
                    dont_filter_partial_edges: false,
                }),
                version,
            )
        }
    })
}

/// A dataset's own messages (attributes not included), in libhdf5's order.
fn dataset_messages(opts: &Options, d: &DatasetM, sizes: Sizes) -> Result<Vec<Message>> {
    let latest = opts.latest();
    if d.loaded {
        // the datatype, fill value and filters of a loaded dataset are kept
        if matches!(d.layout, LayoutM::Kept) {
            return Ok(Vec::new());
        }
        let (layout, version) = layout_of(d)?;
        return Ok(vec![
            message(
                msg::DATASPACE,
                0,
                d.space.encode(space_version(latest, &d.space), sizes),
            ),
            message(msg::LAYOUT, 0, layout.encode(version, sizes)),
        ]);
    }
    let mut out = vec![
        message(
            msg::DATASPACE,
            0,
            d.space.encode(space_version(latest, &d.space), sizes),
        ),
        match d.dtype_ref {
            // a committed type: a shared message naming its header
            Some(a) => message(
                msg::DATATYPE,
                0x03,
                SharedRef::Header(a).encode(if latest { 3 } else { 2 }, sizes),
            ),
            None => message(msg::DATATYPE, 1, d.dtype.encode(if latest { 3 } else { 1 })),
        },
    ];
    let mut fill = d.fill.clone();
    if fill.alloc_time == AllocTime::Default {
        fill.alloc_time = match d.layout {
            LayoutM::Compact(_) => AllocTime::Early,
            LayoutM::Contiguous { .. } => AllocTime::Late,
            LayoutM::Chunked(_) => AllocTime::Incremental,
            LayoutM::Kept | LayoutM::Virtual { .. } => AllocTime::Late,
        };
    }
    out.push(message(
        msg::FILL,
        1,
        fill.encode(if latest { 3 } else { 2 }),
    ));
    if !d.filters.is_empty() {
        out.push(message(
            msg::FILTER_PIPELINE,
            1,
            filter_pipeline::encode(&d.filters, if latest { 2 } else { 1 }),
        ));
    }
    let (layout, version) = layout_of(d)?;
    if let Layout::Compact { data } = &layout
        && data.len() > 64 * 1024 - 64
    {
        return Err(Error::usage(format!(
            "compact dataset of {} bytes: compact storage holds less than 64 KiB",
            data.len()
        )));
    }
    out.push(message(msg::LAYOUT, 0, layout.encode(version, sizes)));
    Ok(out)
}

/// libhdf5's thresholds between compact and dense storage of links and
/// attributes: more than this many go dense.
const MAX_COMPACT: usize = 8;

/// The largest message an object header holds.
const MAX_MESSAGE: usize = 65535;

/// Zeroes the space a structure was given, then writes its blocks.
fn place(space: &mut Space, taken: &[Extent], blocks: &Blocks) -> Result<()> {
    for &(a, l) in taken {
        space.write(a, &vec![0; l as usize])?;
    }
    for (a, bytes) in blocks {
        space.write(*a, bytes)?;
    }
    Ok(())
}

/// What a dense store (links or attributes) took: the heap and index
/// addresses, and the space they occupy.
struct DenseStore {
    heap: u64,
    name_index: u64,
    order_index: Option<u64>,
    taken: Vec<Extent>,
}

/// Writes `objects` (encoded messages) into a fractal heap with `heap`'s
/// parameters, and the name index (and, with `order`, the creation-order
/// index) over them; `name_rec` and `order_rec` make each object's record
/// from its position and heap ID.
#[allow(clippy::type_complexity)]
fn write_dense(
    space: &mut Space,
    heap: &HeapParams,
    objects: &[Vec<u8>],
    indexes: (BTreeV2Params, Option<BTreeV2Params>),
    name_rec: &dyn Fn(usize, &[u8]) -> (RecordKey, Vec<u8>),
    order_rec: &dyn Fn(usize, &[u8]) -> (RecordKey, Vec<u8>),
    sizes: Sizes,
) -> Result<DenseStore> {
    let mut rec = Recording {
        space,
        taken: Vec::new(),
    };
    let image = encode_heap(heap, objects, sizes, &mut rec)?;
    let records = |f: &dyn Fn(usize, &[u8]) -> (RecordKey, Vec<u8>)| -> Vec<(RecordKey, Vec<u8>)> {
        image
            .ids
            .iter()
            .enumerate()
            .map(|(i, id)| f(i, id))
            .collect()
    };
    let (name_index, b1) = encode_tree(&indexes.0, &records(name_rec), sizes, &mut rec)?;
    let mut blocks = image.blocks.clone();
    blocks.extend(b1);
    let order_index = match &indexes.1 {
        Some(p) => {
            let (a, b2) = encode_tree(p, &records(order_rec), sizes, &mut rec)?;
            blocks.extend(b2);
            Some(a)
        }
        None => None,
    };
    let taken = rec.taken;
    place(space, &taken, &blocks)?;
    Ok(DenseStore {
        heap: image.header,
        name_index,
        order_index,
        taken,
    })
}

/// Writes a group's links densely (fractal heap of link messages, name
/// index and, when creation order is tracked, order index) when it has
/// more than libhdf5 keeps compact; returns the link info message then.
fn write_dense_links(space: &mut Space, g: &mut GroupM, sizes: Sizes) -> Result<Option<LinkInfo>> {
    for (a, l) in g.dense_space.drain(..) {
        space.free(a, l);
    }
    if g.style != GroupStyle::Links || g.links.len() <= MAX_COMPACT {
        return Ok(None);
    }
    let encoded: Vec<Vec<u8>> = g
        .links
        .iter()
        .map(|l| {
            Link {
                name: l.name.clone(),
                target: l.target.clone(),
                creation_order: g.track_order.then_some(l.order),
            }
            .encode(sizes)
        })
        .collect();
    let params = HeapParams::links();
    let links = &g.links;
    let store = write_dense(
        space,
        &params,
        &encoded,
        (
            BTreeV2Params::link_names(params.id_len),
            g.track_order
                .then(|| BTreeV2Params::link_orders(params.id_len)),
        ),
        &|i, id| {
            let name = links[i].name.as_bytes();
            (
                RecordKey::name(name),
                LinkNameRecord::new(name, id).encode(),
            )
        },
        &|i, id| {
            let r = LinkOrderRecord {
                order: links[i].order,
                heap_id: id,
            };
            (r.key(), r.encode())
        },
        sizes,
    )?;
    g.dense_space = store.taken;
    Ok(Some(LinkInfo {
        track_order: g.track_order,
        max_creation_index: g.next_order,
        index_order: g.track_order,
        heap: Some(store.heap),
        name_index: Some(store.name_index),
        order_index: store.order_index,
    }))
}

/// The attribute messages of an object, after its attribute info message
/// when it tracks creation order; in a version 2 header with more
/// attributes than libhdf5 keeps compact, or one too large for a header
/// message, the attributes go to dense storage and only the attribute info
/// message remains.
fn attribute_messages(
    opts: &Options,
    o: &mut Obj,
    space: &mut Space,
    v2: bool,
) -> Result<Vec<Message>> {
    let latest = opts.latest();
    let sizes = opts.sizes();
    for (a, l) in o.attr_space.drain(..) {
        space.free(a, l);
    }
    let encoded: Vec<Vec<u8>> = o
        .attrs
        .iter()
        .map(|a| {
            let m = AttributeMessage {
                name: a.name.clone(),
                charset: u8::from(!a.name.is_ascii()),
                dtype: a.dtype.encode(if latest { 3 } else { 1 }),
                shared_type: false,
                space: a.space.encode(space_version(latest, &a.space), sizes),
                shared_space: false,
                data: a.data.clone(),
            };
            let version = if latest || !a.name.is_ascii() { 3 } else { 1 };
            m.encode(version)
        })
        .collect();
    let too_big = encoded.iter().position(|e| e.len() > MAX_MESSAGE - 8);
    let dense = v2 && (o.attrs.len() > MAX_COMPACT || too_big.is_some());
    if !v2 && let Some(i) = too_big {
        return Err(Error::usage(format!(
            "attribute {:?} of {} bytes does not fit an object header in the earliest \
                 format (libhdf5: \"object header message is too large\"); use the latest \
                 format or track creation order, which store large attributes densely",
            o.attrs[i].name,
            encoded[i].len()
        )));
    }
    let mut out = Vec::new();
    if dense {
        let params = HeapParams::attributes();
        let attrs = &o.attrs;
        let tracked = o.track_attr_order;
        let store = write_dense(
            space,
            &params,
            &encoded,
            (
                BTreeV2Params::attribute_names(params.id_len),
                tracked.then(|| BTreeV2Params::attribute_orders(params.id_len)),
            ),
            &|i, id| {
                let a = &attrs[i];
                // libhdf5 writes 0xFFFF when creation order is not tracked
                let order = if tracked { u32::from(a.order) } else { 0xFFFF };
                (
                    RecordKey::name(a.name.as_bytes()),
                    AttributeNameRecord::new(a.name.as_bytes(), id, 0, order).encode(),
                )
            },
            &|i, id| {
                let r = AttributeOrderRecord {
                    heap_id: id,
                    flags: 0,
                    order: u32::from(attrs[i].order),
                };
                (r.key(), r.encode())
            },
            sizes,
        )?;
        o.attr_space = store.taken;
        let info = AttributeInfo {
            track_order: tracked,
            index_order: tracked,
            max_creation_index: o.next_attr_order,
            heap: Some(store.heap),
            name_index: Some(store.name_index),
            order_index: store.order_index,
        };
        out.push(message(msg::ATTRIBUTE_INFO, 4, info.encode(sizes)));
        return Ok(out);
    }
    if o.track_attr_order {
        let info = AttributeInfo {
            track_order: true,
            index_order: true,
            max_creation_index: o.next_attr_order,
            heap: None,
            name_index: None,
            order_index: None,
        };
        out.push(message(msg::ATTRIBUTE_INFO, 4, info.encode(sizes)));
    }
    for (a, e) in o.attrs.iter().zip(encoded) {
        let mut m = message(msg::ATTRIBUTE, 0, e);
        if o.track_attr_order {
            m.creation_order = Some(a.order);
        }
        out.push(m);
    }
    Ok(out)
}

/// Writes every changed structure, then the superblock.
///
/// The order keeps the file on disk valid if the process dies at any
/// point: space freed since the last flush is not reused before this one
/// completes; the global heap and the objects never written before go
/// first (nothing on disk points at them yet); then the superblock, so its
/// end of file covers everything allocated; then the headers already on
/// disk, each after the structures it points to (continuation chunks before
/// chunk 0); the superblock last.
pub(crate) fn flush(st: &mut State) -> Result<()> {
    let sizes = st.opts.sizes();
    st.gheap.flush(&mut st.space, sizes)?;
    let mut fresh: Vec<u64> = Vec::new();
    let mut rewrite: Vec<u64> = Vec::new();
    for (&a, o) in &st.objects {
        if o.dirty {
            if o.written {
                rewrite.push(a);
            } else {
                fresh.push(a);
            }
        }
    }
    let mut root_stab = None;
    let fresh_count = fresh.len();
    for (i, addr) in fresh.into_iter().chain(rewrite).enumerate() {
        if i == fresh_count {
            write_superblock(st, None)?;
        }
        let Some(mut obj) = st.objects.remove(&addr) else {
            continue;
        };
        let r = write_object(st, &mut obj, sizes);
        if addr == st.root
            && let Kind::Group(g) = &obj.kind
        {
            root_stab = g.stab;
        }
        obj.dirty = r.is_err();
        obj.written |= r.is_ok();
        st.objects.insert(addr, obj);
        r?;
    }
    if root_stab.is_none()
        && let Some(Kind::Group(g)) = st.objects.get(&st.root).map(|o| &o.kind)
    {
        root_stab = g.stab;
    }
    write_superblock(st, root_stab)?;
    let eof = st.space.eof;
    st.space.commit_frees();
    if st.space.eof != eof {
        // space freed at the end shortened the file
        write_superblock(st, root_stab)?;
    }
    Ok(())
}

fn write_superblock(st: &mut State, root_stab: Option<(u64, u64)>) -> Result<()> {
    let opts = st.opts;
    let sizes = opts.sizes();
    st.space.cover_eof()?;
    if let Some(sb) = &mut st.superblock {
        // an opened file keeps its superblock; the end of file and the
        // root group's cached symbol table follow what was written
        // stored counting from the stored base address, as libhdf5 reads it
        sb.eof = sb
            .base_address
            .checked_add(st.space.eof)
            .ok_or_else(|| Error::format_noaddr("superblock: end of file overflows"))?;
        if let (Some(entry), Some((btree, heap))) = (&mut sb.root_entry, root_stab)
            && matches!(entry.scratch, Scratch::Group { .. })
        {
            entry.scratch = Scratch::Group { btree, heap };
        }
        let bytes = sb.encode()?;
        return st.space.write_absolute(sb.position, &bytes);
    }
    let sb = Superblock {
        version: if opts.latest() { 3 } else { 0 },
        position: opts.userblock,
        sizes,
        group_leaf_k: opts.ks.0,
        group_internal_k: opts.ks.1,
        indexed_storage_k: opts.ks.2,
        flags: 0,
        base_address: opts.userblock,
        extension: None,
        // libhdf5 stores the superblock's position as the base address,
        // and the end of file from there
        eof: opts.userblock + st.space.eof,
        root: st.root,
        driver_info: None,
        root_entry: Some(SymbolTableEntry {
            name_offset: 0,
            header: st.root,
            scratch: match root_stab {
                Some((btree, heap)) if !opts.latest() => Scratch::Group { btree, heap },
                _ => Scratch::None,
            },
        }),
    };
    let bytes = sb.encode()?;
    st.space.write_absolute(opts.userblock, &bytes)
}

/// Lays out an object's structures and writes its header.
fn write_object(st: &mut State, obj: &mut Obj, sizes: Sizes) -> Result<()> {
    let opts = st.opts;
    let mut messages = match &mut obj.kind {
        Kind::Group(g) => {
            let stab = if g.style == GroupStyle::SymbolTable {
                Some(write_symbol_table(
                    &mut st.space,
                    g,
                    sizes,
                    (opts.ks.0, opts.ks.1),
                )?)
            } else {
                None
            };
            let dense = write_dense_links(&mut st.space, g, sizes)?;
            let mut own = group_messages(&opts, g, stab, dense.as_ref());
            if obj.kept.iter().any(|m| m.kind == msg::GROUP_INFO) {
                own.retain(|m| m.kind != msg::GROUP_INFO);
            }
            own
        }
        Kind::Dataset(d) => {
            let fill = d.fill_element();
            if let LayoutM::Chunked(c) = &mut d.layout
                && c.index_dirty
            {
                let params = IndexInputs {
                    elem: d.dtype.size() as u64,
                    chunk_k: opts.ks.2,
                    fill,
                    dims: &d.space.dims,
                    max_dims: &d.space.max_dims,
                    filtered: !d.filters.is_empty(),
                };
                write_chunk_index(&mut st.space, c, &params, sizes)?;
                c.index_dirty = false;
            }
            dataset_messages(&opts, d, sizes)?
        }
        // a loaded committed type keeps its datatype message
        Kind::Datatype(_) if obj.kept.iter().any(|m| m.kind == msg::DATATYPE) => Vec::new(),
        Kind::Datatype(t) => datatype_messages(&opts, t),
    };
    // a loaded object: the messages kept as they were come first
    if !obj.kept.is_empty() {
        let own = std::mem::take(&mut messages);
        messages = obj.kept.clone();
        messages.extend(own);
    }
    let base_prefix = obj
        .prefix
        .unwrap_or_else(|| opts.prefix(obj.track_attr_order));
    let v2 = matches!(base_prefix, HeaderPrefix::V2(_));
    if obj.attrs_loaded {
        messages.extend(attribute_messages(&opts, obj, &mut st.space, v2)?);
    }
    let prefix = match base_prefix {
        p @ HeaderPrefix::V2(_) if obj.refcount > 1 => {
            // v2 headers keep a count above one in a message
            let mut e = Encoder::new(sizes);
            e.u8(0).u32(obj.refcount);
            messages.push(message(msg::REFCOUNT, 0, e.into_bytes()));
            p
        }
        HeaderPrefix::V1 { .. } => HeaderPrefix::V1 {
            refcount: obj.refcount.max(1),
        },
        p => p,
    };
    if prefix.tracked() {
        for m in &mut messages {
            if m.creation_order.is_none() {
                m.creation_order = Some(0);
            }
        }
    }
    let h = &mut obj.header;
    let chunks = match prefix.encode(&messages, h.chunk0, &h.conts, sizes) {
        Ok(c) => c,
        Err(_) => {
            // the messages outgrew the header: one new continuation chunk
            // takes what chunk 0 cannot hold
            for (a, l) in h.conts.drain(..) {
                st.space.free(a, l);
            }
            let cont = prefix.message_size(&continuation_message(0, 0, sizes));
            let mut left = h.chunk0;
            let mut rest = 0usize;
            let mut spilled = false;
            for m in &messages {
                let size = prefix.message_size(m);
                if !spilled && size + cont <= left {
                    left -= size;
                } else {
                    spilled = true;
                    rest += size;
                }
            }
            let len = (rest + prefix.continuation_overhead() + 64).div_ceil(8) * 8;
            let addr = st.space.allocate(len as u64);
            h.conts.push((addr, len as u64));
            prefix.encode(&messages, h.chunk0, &h.conts, sizes)?
        }
    };
    let mut targets = vec![h.addr];
    targets.extend(h.conts.iter().map(|&(a, _)| a));
    // continuation chunks no longer used are freed
    let used = chunks.len();
    if used < targets.len() {
        for (a, l) in h.conts.drain(used - 1..) {
            st.space.free(a, l);
        }
    }
    // a header already on disk: its structures are written; the end of
    // file must cover them before it points there
    if obj.written {
        write_superblock(st, None)?;
    }
    // continuation chunks before chunk 0, which points at them
    for (bytes, addr) in chunks.iter().zip(targets).rev() {
        st.space.write(addr, bytes)?;
    }
    Ok(())
}

/// Frees the structures a symbol table last used and writes new ones:
/// the local heap (its header stays put), symbol table nodes of up to
/// `2 * leaf_k` entries in name order, and the v1 B-tree over them.
/// Returns the B-tree root and the heap header address.
fn write_symbol_table(
    space: &mut Space,
    g: &mut GroupM,
    sizes: Sizes,
    (leaf_k, internal_k): (u16, u16),
) -> Result<(u64, u64)> {
    for (a, l) in g.stab_space.drain(..) {
        space.free(a, l);
    }
    // the heap header moves with the rest (only the group's own symbol
    // table message and the root entry's cache, both rewritten, name it)
    let header_len = LocalHeapHeader::size(sizes) as u64;
    if let Some(old) = g.heap_header.take() {
        space.free(old, header_len);
    }
    let heap_header = space.allocate(header_len);
    g.heap_header = Some(heap_header);
    let mut order: Vec<usize> = (0..g.links.len()).collect();
    order.sort_by(|&a, &b| g.links[a].name.as_bytes().cmp(g.links[b].name.as_bytes()));
    // heap: the empty name at 0, then each name (and soft link value)
    let mut used: Vec<u8> = vec![0; 8];
    let mut entries = Vec::with_capacity(order.len());
    for &i in &order {
        let l = &g.links[i];
        let name_offset = used.len() as u64;
        used.extend_from_slice(l.name.as_bytes());
        used.push(0);
        used.resize(used.len().div_ceil(8) * 8, 0);
        let entry = match &l.target {
            LinkTarget::Hard(a) => SymbolTableEntry {
                name_offset,
                header: *a,
                scratch: Scratch::None,
            },
            LinkTarget::Soft(path) => {
                let offset = u32::try_from(used.len())
                    .map_err(|_| Error::usage("group local heap over 4 GiB"))?;
                used.extend_from_slice(path.as_bytes());
                used.push(0);
                used.resize(used.len().div_ceil(8) * 8, 0);
                SymbolTableEntry {
                    name_offset,
                    header: sizes.undefined_address(),
                    scratch: Scratch::SoftLink { offset },
                }
            }
            _ => {
                return Err(Error::usage(
                    "internal: a symbol table cannot hold external links",
                ));
            }
        };
        entries.push(entry);
    }
    let (segment, free_list) = encode_data_segment(&used, used.len(), sizes);
    let data_addr = space.allocate(segment.len() as u64);
    space.write(data_addr, &segment)?;
    g.stab_space.push((data_addr, segment.len() as u64));
    let header = LocalHeapHeader {
        data_size: segment.len() as u64,
        free_list,
        data_addr,
    };
    space.write(heap_header, &header.encode(sizes))?;
    // symbol table nodes
    let per_node = 2 * leaf_k as usize;
    let mut leaves: Vec<(u64, u64, u64)> = Vec::new(); // (addr, first key, last key)
    let key_of = |e: &SymbolTableEntry| e.name_offset;
    for part in entries.chunks(per_node) {
        let bytes = symbol_table::encode_node(part, leaf_k, sizes)?;
        let a = space.allocate(bytes.len() as u64);
        space.write(a, &bytes)?;
        g.stab_space.push((a, bytes.len() as u64));
        let last = part.last().map_or(0, key_of);
        leaves.push((a, 0, last));
    }
    let key = |v: u64| {
        let mut e = Encoder::new(sizes);
        e.length(v);
        e.into_bytes()
    };
    let root = write_btree(
        space,
        &mut g.stab_space,
        NodeType::Group,
        internal_k,
        leaves
            .into_iter()
            .map(|(a, first, last)| (a, key(first), key(last)))
            .collect(),
        key(0),
        sizes,
    )?;
    g.stab = Some((root, heap_header));
    Ok((root, heap_header))
}

/// A B-tree child: its address, left key and right key.
type Child = (u64, Vec<u8>, Vec<u8>);

/// Writes a v1 B-tree over `children` (address, left key, right key), in
/// key order, nodes of up to `2k` children, and returns the root address.
/// `empty_key` is the single key of a tree with no children.
fn write_btree(
    space: &mut Space,
    used: &mut Vec<Extent>,
    kind: NodeType,
    k: u16,
    children: Vec<(u64, Vec<u8>, Vec<u8>)>,
    empty_key: Vec<u8>,
    sizes: Sizes,
) -> Result<u64> {
    let cap = 2 * k as usize;
    if cap == 0 {
        return Err(Error::usage("internal: a v1 B-tree of K 0"));
    }
    let node_len = NodeImage {
        level: 0,
        keys: vec![empty_key.clone()],
        children: vec![],
        left: None,
        right: None,
    }
    .encode(kind, k, sizes)?
    .len() as u64;
    if children.is_empty() {
        let img = NodeImage {
            level: 0,
            keys: vec![empty_key],
            children: vec![],
            left: None,
            right: None,
        };
        let a = space.allocate(node_len);
        space.write(a, &img.encode(kind, k, sizes)?)?;
        used.push((a, node_len));
        return Ok(a);
    }
    let mut level_items = children;
    let mut level = 0u8;
    loop {
        let groups: Vec<&[Child]> = level_items.chunks(cap).collect();
        let addrs: Vec<u64> = groups.iter().map(|_| space.allocate(node_len)).collect();
        let mut next = Vec::with_capacity(groups.len());
        for (i, part) in groups.iter().enumerate() {
            let mut keys: Vec<Vec<u8>> = Vec::with_capacity(part.len() + 1);
            keys.push(part[0].1.clone());
            for (j, item) in part.iter().enumerate() {
                if kind == NodeType::Group || j + 1 == part.len() {
                    keys.push(item.2.clone());
                } else {
                    keys.push(part[j + 1].1.clone());
                }
            }
            let img = NodeImage {
                level,
                keys,
                children: part.iter().map(|c| c.0).collect(),
                left: i.checked_sub(1).map(|p| addrs[p]),
                right: addrs.get(i + 1).copied(),
            };
            space.write(addrs[i], &img.encode(kind, k, sizes)?)?;
            used.push((addrs[i], node_len));
            next.push((addrs[i], part[0].1.clone(), part[part.len() - 1].2.clone()));
        }
        if next.len() == 1 {
            return Ok(next[0].0);
        }
        level_items = next;
        level = level
            .checked_add(1)
            .ok_or_else(|| Error::usage("v1 B-tree too deep"))?;
    }
}

/// What a chunk index needs to know of its dataset.
struct IndexInputs<'a> {
    elem: u64,
    /// K of v1 B-tree chunk nodes.
    chunk_k: u16,
    /// One element of the fill value.
    fill: Vec<u8>,
    dims: &'a [u64],
    max_dims: &'a [Option<u64>],
    filtered: bool,
}

/// An allocator that remembers what it handed out, so a structure's space
/// can be zeroed before its blocks are written and freed when replaced.
struct Recording<'a> {
    space: &'a mut Space,
    taken: Vec<Extent>,
}

impl Allocator for Recording<'_> {
    fn alloc(&mut self, len: u64) -> u64 {
        let a = self.space.allocate(len);
        self.taken.push((a, len));
        a
    }
}

/// The layout message's chunked part for an index kind (a loaded
/// dataset's own, with its version and index parameters).
fn chunked_layout(c: &ChunkedM, elem: u64) -> ChunkedLayout {
    if let Some(orig) = &c.layout {
        let mut l = orig.clone();
        l.address = c.index_addr;
        return l;
    }
    let (index, version) = match c.index {
        IndexChoice::BTreeV1 => (ChunkIndexKind::BTreeV1, 3),
        IndexChoice::Single => (ChunkIndexKind::Single { filtered: None }, 4),
        IndexChoice::FixedArray => (
            ChunkIndexKind::FixedArray {
                page_bits: fixed_array::LIBHDF5_PAGE_BITS,
            },
            4,
        ),
        IndexChoice::ExtensibleArray => (extensible_array::LIBHDF5_INDEX, 4),
        IndexChoice::Implicit => (ChunkIndexKind::Implicit, 4),
        IndexChoice::BTreeV2 => (
            ChunkIndexKind::BTreeV2 {
                node_size: 2048,
                split: 100,
                merge: 40,
            },
            4,
        ),
    };
    ChunkedLayout {
        version,
        dims: c.dims.clone(),
        element_size: elem,
        index,
        address: c.index_addr,
        dont_filter_partial_edges: false,
    }
}

/// The implicit index: one block holding every chunk of the maximum grid
/// in row-major order, allocated once; chunks written elsewhere move into
/// their slots, and slots never written hold the fill value.
fn write_implicit(
    space: &mut Space,
    c: &mut ChunkedM,
    p: &IndexInputs<'_>,
    _sizes: Sizes,
) -> Result<()> {
    let chunk_bytes = c.dims.iter().try_fold(p.elem, |a, &d| a.checked_mul(d));
    let per_dim = crate::format::chunk_index::grid_over_max(p.dims, p.max_dims, &c.dims);
    let (chunk_bytes, len) = chunk_bytes
        .and_then(|b| {
            per_dim
                .iter()
                .try_fold(1u64, |a, &n| a.checked_mul(n))
                .and_then(|t| t.checked_mul(b))
                .map(|l| (b, l))
        })
        .filter(|&(_, l)| l <= 1 << 40)
        .ok_or_else(|| {
            Error::limit("implicit chunk index: the chunk grid needs more than 1 TiB")
        })?;
    let base = match (c.index_addr, c.index_space.first()) {
        (Some(a), Some(&(_, l))) if l == len => a,
        _ => {
            let a = space.allocate(len);
            let fill = p.fill.repeat((chunk_bytes / p.elem.max(1)) as usize);
            for i in 0..len / chunk_bytes.max(1) {
                space.write(a + i * chunk_bytes, &fill)?;
            }
            c.index_space = vec![(a, len)];
            a
        }
    };
    let mut moved = Vec::new();
    for (k, l) in c.chunks.iter_mut() {
        // (the grid holds at most 1 TiB of chunks: no overflow below)
        let lin = (k.len() == per_dim.len())
            .then(|| {
                k.iter()
                    .zip(&per_dim)
                    .try_fold(0u64, |lin, (&s, &n)| (s < n).then_some(lin * n + s))
            })
            .flatten()
            .ok_or_else(|| {
                Error::format_noaddr(format!(
                    "implicit chunk index: chunk {k:?} lies outside the grid {per_dim:?}"
                ))
            })?;
        let slot = base + lin * chunk_bytes;
        if l.addr != slot {
            let bytes = space.read(l.addr, l.size as usize)?;
            space.write(slot, &bytes)?;
            moved.push((l.addr, l.size));
            l.addr = slot;
        }
    }
    for (a, l) in moved {
        space.free(a, l);
    }
    c.index_addr = Some(base);
    Ok(())
}

/// Frees a chunked dataset's old index and writes the new one.
fn write_chunk_index(
    space: &mut Space,
    c: &mut ChunkedM,
    p: &IndexInputs<'_>,
    sizes: Sizes,
) -> Result<()> {
    let elem = p.elem;
    if c.index != IndexChoice::Implicit {
        for (a, l) in c.index_space.drain(..) {
            space.free(a, l);
        }
    }
    match c.index {
        IndexChoice::Single => {
            c.index_addr = c.chunks.values().next().map(|l| l.addr);
            Ok(())
        }
        IndexChoice::Implicit => write_implicit(space, c, p, sizes),
        IndexChoice::FixedArray | IndexChoice::ExtensibleArray | IndexChoice::BTreeV2 => {
            if c.chunks.is_empty() {
                // libhdf5 creates the index with the first chunk
                c.index_addr = None;
                return Ok(());
            }
            let records: Vec<ChunkRecord> = c
                .chunks
                .iter()
                .map(|(k, l)| ChunkRecord {
                    coords: k.clone(),
                    addr: l.addr,
                    size: l.size,
                    filter_mask: l.mask,
                })
                .collect();
            let layout = chunked_layout(c, elem);
            let params = IndexParams {
                layout: &layout,
                dims: p.dims,
                max_dims: p.max_dims,
                filtered: p.filtered,
            };
            let mut rec = Recording {
                space,
                taken: Vec::new(),
            };
            let (addr, blocks) = match c.index {
                IndexChoice::FixedArray => fixed_array::encode(&records, &params, sizes, &mut rec)?,
                IndexChoice::ExtensibleArray => {
                    extensible_array::encode(&records, &params, sizes, &mut rec)?
                }
                _ => {
                    let chunk_bytes = c.dims.iter().product::<u64>() * elem;
                    let width = p.filtered.then(|| {
                        crate::format::chunk_index::btree_v2::filtered_size_width(
                            4,
                            chunk_bytes,
                            sizes,
                        )
                    });
                    let recs = records
                        .iter()
                        .map(|r| {
                            let v2 = ChunkRecordV2 {
                                addr: r.addr,
                                filtered: width.map(|_| (r.size, r.filter_mask)),
                                scaled: r.coords.clone(),
                            };
                            Ok((v2.key(), v2.encode(sizes, width)?))
                        })
                        .collect::<Result<Vec<_>>>()?;
                    let bp = BTreeV2Params::chunks(sizes, c.dims.len(), width);
                    encode_tree(&bp, &recs, sizes, &mut rec)?
                }
            };
            let taken = rec.taken;
            // parts of blocks that are not written (pages without chunks)
            // hold zeros, not old bytes
            for &(a, l) in &taken {
                space.write(a, &vec![0; l as usize])?;
            }
            for (a, bytes) in &blocks {
                space.write(*a, bytes)?;
            }
            c.index_space = taken;
            c.index_addr = Some(addr);
            Ok(())
        }
        IndexChoice::BTreeV1 => {
            if c.chunks.is_empty() {
                c.index_addr = None;
                return Ok(());
            }
            let rank = c.dims.len();
            let key = |coords: &[u64], size: u64, mask: u32, plus: u64| {
                let mut e = Encoder::new(sizes);
                e.u32(size as u32).u32(mask);
                for (d, &s) in coords.iter().enumerate() {
                    // coordinates read from a hostile index may be huge
                    e.u64(s.saturating_add(plus).saturating_mul(c.dims[d]));
                }
                e.u64(0);
                e.into_bytes()
            };
            let children: Vec<(u64, Vec<u8>, Vec<u8>)> = c
                .chunks
                .iter()
                .map(|(coords, l)| (l.addr, key(coords, l.size, l.mask, 0), key(coords, 0, 0, 1)))
                .collect();
            let root = write_btree(
                space,
                &mut c.index_space,
                NodeType::Chunk { key_dims: rank + 1 },
                p.chunk_k,
                children,
                key(&vec![0; rank], 0, 0, 0),
                sizes,
            )?;
            c.index_addr = Some(root);
            Ok(())
        }
    }
}
