//! The fuzz harnesses: each takes arbitrary bytes and drives one part of
//! h5rs with them. The fuzz targets call these; `tests/regressions.rs`
//! includes this file to replay saved inputs through the same code.
//!
//! Every harness ignores errors (a malformed input must end in one) and
//! panics only when h5rs does, or when a file h5rs wrote itself does not
//! read back.

#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};

use h5rs::format::btree_v1::{self, NodeType};
use h5rs::format::btree_v2::BTreeV2;
use h5rs::format::chunk_index::{self, IndexParams};
use h5rs::format::cursor::{Cursor, Sizes};
use h5rs::format::heap::fractal::FractalHeap;
use h5rs::format::heap::global::GlobalHeapCollection;
use h5rs::format::heap::local::LocalHeap;
use h5rs::format::layout::{ChunkIndexKind, ChunkedLayout, Layout};
use h5rs::format::object_header::{ObjectHeader, RawHeader, msg};
use h5rs::format::superblock::Superblock;
use h5rs::format::{FileCtx, symbol_table};
use h5rs::{Attribute, Dataset, Datatype, File, Group, Limits, LinkTarget, Object, Value};

/// Restrictive limits: what a fuzz input may make the reader allocate or
/// loop over stays small.
pub fn limits() -> Limits {
    Limits {
        max_chunk_bytes: 1 << 20,
        max_read_bytes: 16 << 20,
        max_header_messages: 4096,
        max_header_chunks: 64,
        max_tree_depth: 16,
        max_link_depth: 8,
        max_type_depth: 8,
        max_vlen_bytes: 64 << 20,
    }
}

/// Largest dataset (in bytes) the walk reads whole.
const READ_MAX_BYTES: u64 = 4 << 20;
/// Largest dataset (in elements) the walk also reads as `Value`s.
const VALUES_MAX: usize = 4096;
/// Datasets of more chunks than this are read at their corners only: the
/// 140,000 one-byte chunks of a fixture read in milliseconds in a release
/// build but take seconds in the fuzz build (the address sanitizer's
/// allocator), which made a valid seed time out.
const CHUNKS_MAX: u64 = 8192;

static SCRATCH: AtomicU64 = AtomicU64::new(0);

/// A file path private to this process and call.
fn scratch_path(tag: &str) -> std::path::PathBuf {
    let n = SCRATCH.fetch_add(1, Ordering::Relaxed);
    let dir = if std::path::Path::new("/dev/shm").is_dir() {
        std::path::PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    dir.join(format!("h5rs-fuzz-{tag}-{}-{n}.h5", std::process::id()))
}

/// Opens `data` in memory with [`limits`].
fn open_limited(data: &[u8]) -> Option<File> {
    File::from_bytes_with_limits(data.to_vec(), limits()).ok()
}

/// (a) Opens the bytes as a file and walks everything in it, as
/// `h5rs canon` does.
pub fn open_walk(data: &[u8]) {
    if let Some(file) = open_limited(data) {
        let _ = walk(&file);
    }
    // The in-memory source too (default limits): only when the bytes
    // are small, so what they can claim stays small as well.
    if data.len() <= 4096
        && let Ok(file) = File::from_bytes(data.to_vec())
    {
        let _ = file.root().and_then(|r| r.links());
    }
}

/// Walks every object, link, attribute and dataset value of `file`.
/// Errors of one object do not stop the walk of the others; the first
/// error is returned.
pub fn walk(file: &File) -> h5rs::Result<()> {
    let mut first: Option<h5rs::Error> = None;
    let mut note = |r: h5rs::Result<()>| {
        if let Err(e) = r
            && first.is_none()
        {
            first = Some(e);
        }
    };
    let _ = file.superblock_version();
    let root = file.root()?;
    note(file.attrs().map(|a| attrs(file, &a)));
    note(group(file, &root));
    let mut objects = Vec::new();
    note(
        root.visit_items(|path, obj| {
            objects.push((path.to_string(), obj.clone()));
            if objects.len() > 10_000 {
                Some(())
            } else {
                None
            }
        })
        .map(|_| ()),
    );
    for (path, obj) in &objects {
        note(object(file, obj));
        // the same object found by its path
        note(file.object(path).map(|_| ()));
    }
    match first {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn object(file: &File, obj: &Object) -> h5rs::Result<()> {
    let _ = obj.name();
    let _ = obj.comment();
    match obj {
        Object::Group(g) => {
            attrs(file, &g.attrs()?);
            group(file, g)
        }
        Object::Dataset(d) => dataset(file, d),
        Object::Datatype(t) => {
            let dt = t.dtype()?;
            let _ = dt.memory_layout().canonical();
            attrs(file, &t.attrs()?);
            Ok(())
        }
    }
}

/// Lists a group's links and follows each (soft links included).
fn group(_file: &File, g: &Group) -> h5rs::Result<()> {
    let _ = g.tracks_order();
    let links = g.links()?;
    for link in links.iter().take(1000) {
        let _ = g.link(&link.name);
        match &link.target {
            LinkTarget::Soft(_) | LinkTarget::Hard(_) => {
                let _ = g.object(&link.name);
            }
            _ => {}
        }
    }
    Ok(())
}

fn dataset(file: &File, d: &Dataset) -> h5rs::Result<()> {
    let _ = (d.shape(), d.maxshape(), d.chunks(), d.filters(), d.layout());
    let _ = d.dtype().memory_layout().canonical();
    let _ = d.fill_value();
    let _ = d.storage_size();
    attrs(file, &d.attrs()?);
    let es = d.dtype().size() as u64;
    let bytes = (d.size() as u64).saturating_mul(es.max(1));
    if d.is_null() {
        return Ok(());
    }
    let chunks = d.chunks().map_or(1, |c| {
        d.shape()
            .iter()
            .zip(&c)
            .map(|(&n, &c)| (n as u64).div_ceil(c.max(1) as u64))
            .fold(1u64, u64::saturating_mul)
    });
    if bytes <= READ_MAX_BYTES && chunks <= CHUNKS_MAX {
        d.read_raw()?;
        if d.size() <= VALUES_MAX {
            d.read_raw_vec::<Value>()?;
        }
    } else if d.shape().iter().all(|&n| n < 1 << 62) {
        // too large to read whole: a small window at each corner
        let shape: Vec<u64> = d.shape().iter().map(|&n| n as u64).collect();
        for corner in [false, true] {
            let elems: Vec<ndarray::SliceInfoElem> = shape
                .iter()
                .map(|&n| {
                    let lo = if corner { n.saturating_sub(2) } else { 0 };
                    ndarray::SliceInfoElem::Slice {
                        start: lo as isize,
                        end: Some(n.min(lo + 2) as isize),
                        step: 1,
                    }
                })
                .collect();
            let sel = h5rs::Selection::from_slice_elems(&elems, &shape)?;
            d.read_raw_selection(&sel)?;
        }
    }
    Ok(())
}

fn attrs(file: &File, list: &[Attribute]) {
    for a in list.iter().take(1000) {
        let _ = (a.name(), a.shape(), a.dtype().memory_layout().canonical());
        if a.is_null() {
            continue;
        }
        let raw = a.raw();
        let es = a.dtype().size().max(1);
        for e in raw.chunks_exact(es).take(VALUES_MAX) {
            let _ = h5rs::hl::value::decode_value(file, a.dtype(), e);
        }
        if a.shape().iter().product::<usize>() <= VALUES_MAX {
            let _ = a.read_raw::<Value>();
        }
    }
}

/// The fixed prefix of a decoder target's input: a configuration byte
/// (bits 0–1: size of offsets, 2–3: size of lengths, each 0 for "from
/// the superblock of the data, else 8", 1: 2, 2: 4, 3: 8; bits 4–7: a
/// parameter of the target), the structure's address (u32 little
/// endian) and three parameter bytes; the rest is the file's bytes.
pub const DECODER_PREFIX: usize = 8;

struct DecoderInput<'a> {
    ctx: FileCtx<'a>,
    addr: u64,
    param: u8,
    p: [u8; 3],
    sb: Option<Superblock>,
}

fn width(code: u8) -> Option<u8> {
    match code {
        1 => Some(2),
        2 => Some(4),
        3 => Some(8),
        _ => None,
    }
}

fn decoder_input(data: &[u8]) -> Option<DecoderInput<'_>> {
    if data.len() < DECODER_PREFIX {
        return None;
    }
    let (head, body) = data.split_at(DECODER_PREFIX);
    let cfg = head[0];
    let addr = u32::from_le_bytes([head[1], head[2], head[3], head[4]]) as u64;
    let sb = Superblock::read(body).ok();
    let (offset, length, base) = match (width(cfg & 3), width((cfg >> 2) & 3), &sb) {
        (Some(o), Some(l), _) => (o, l, 0),
        (o, l, Some(sb)) => (
            o.unwrap_or(sb.sizes.offset),
            l.unwrap_or(sb.sizes.length),
            sb.base_address,
        ),
        (o, l, None) => (o.unwrap_or(8), l.unwrap_or(8), 0),
    };
    let sizes = Sizes::new(offset, length).ok()?;
    Some(DecoderInput {
        ctx: FileCtx {
            data: body,
            base,
            sizes,
            limits: limits(),
        },
        addr,
        param: cfg >> 4,
        p: [head[5], head[6], head[7]],
        sb,
    })
}

/// (b) One decoder on its own; `target` names it (the fuzz target's name).
pub fn decoder(target: &str, data: &[u8]) {
    if target == "superblock" {
        // The whole input is the file.
        if let Ok(sb) = Superblock::read(data) {
            let _ =
                Superblock::decode(data.get(sb.position as usize..).unwrap_or(&[]), sb.position);
        }
        return;
    }
    let Some(inp) = decoder_input(data) else {
        return;
    };
    let ctx = &inp.ctx;
    let addr = inp.addr;
    match target {
        "object_header" => {
            if let Ok(h) = ObjectHeader::read(ctx, addr) {
                for m in &h.messages {
                    decode_message(ctx.sizes, m.kind, m.is_shared(), &m.data, m.addr);
                }
            }
            let _ = RawHeader::read(ctx, addr);
        }
        "datatype" | "dataspace" | "layout" => {
            let body = ctx.data.get(addr as usize..).unwrap_or(&[]);
            let kind = match target {
                "datatype" => msg::DATATYPE,
                "dataspace" => msg::DATASPACE,
                _ => msg::LAYOUT,
            };
            decode_message(ctx.sizes, kind, false, body, addr);
        }
        "btree_v1" => {
            let kind = if inp.param & 1 == 0 {
                NodeType::Group
            } else {
                NodeType::Chunk {
                    key_dims: (inp.param as usize >> 1) + 1,
                }
            };
            if let Ok(node) = btree_v1::Node::read(ctx, addr, kind) {
                for i in 0..node.children.len().min(64) {
                    let _ = node.key(i);
                }
            }
            let mut n = 0u32;
            let _ = btree_v1::walk(ctx, addr, kind, &mut |_key, _child| {
                n += 1;
                Ok(())
            });
            if kind == NodeType::Group {
                let _ = btree_v1::find_group_leaf(ctx, addr, b"name", &|k: &[u8]| Ok(k.to_vec()));
            }
        }
        "btree_v2" => {
            if let Ok(t) = BTreeV2::read(ctx, addr) {
                let _ = t.kind();
                let _ = t.records(ctx);
                let _ = t.find(ctx, &mut |r: &[u8]| Ok(r.cmp(&inp.p[..])));
            }
        }
        "fractal_heap" => {
            if let Ok(h) = FractalHeap::read(ctx, addr) {
                let _ = (h.checksummed_blocks(), h.is_filtered());
                let w = 1 + h.id_offset_width() + h.id_length_width();
                // heap ids: from the three parameter bytes, and the last
                // bytes of the input
                let mut ids: Vec<Vec<u8>> = vec![vec![0; w], inp.p.to_vec()];
                let tail = &ctx.data[ctx.data.len().saturating_sub(64)..];
                ids.extend(tail.chunks(w.max(1)).map(|c| c.to_vec()));
                for id in ids.iter().take(16) {
                    let _ = h.object(ctx, id);
                }
            }
        }
        "fixed_array" => {
            use chunk_index::fixed_array::FixedArrayHeader;
            if let Ok(h) = FixedArrayHeader::read(ctx, addr) {
                let n = h.entry_count;
                index_chunks(ctx, addr, &inp, h.client_id == 1, n, Some(n), |pb| {
                    ChunkIndexKind::FixedArray { page_bits: pb }
                });
            }
        }
        "extensible_array" => {
            use chunk_index::extensible_array::ExtensibleArrayHeader;
            if let Ok(h) = ExtensibleArrayHeader::read(ctx, addr) {
                let kind = ChunkIndexKind::ExtensibleArray {
                    max_bits: h.max_index_bits,
                    index_elements: h.index_block_entries,
                    min_pointers: h.super_block_min_pointers,
                    min_elements: h.data_block_min_entries,
                    page_bits: h.page_bits,
                };
                index_chunks(
                    ctx,
                    addr,
                    &inp,
                    h.client_id == 1,
                    h.max_index_set,
                    None,
                    |_| kind.clone(),
                );
            }
        }
        "global_heap" => {
            if let Ok(c) = GlobalHeapCollection::read(ctx, addr) {
                for i in 0..32 {
                    let _ = c.object(i);
                }
                let _ = c.object(u32::from_le_bytes([inp.p[0], inp.p[1], inp.p[2], 0]));
            }
        }
        "local_heap" => {
            if let Ok(h) = LocalHeap::read(ctx, addr) {
                for off in [
                    0u64,
                    1,
                    8,
                    16,
                    inp.p[0] as u64,
                    u16::from_le_bytes([inp.p[1], inp.p[2]]) as u64,
                ] {
                    let _ = h.string(off);
                }
            }
        }
        "symbol_table_node" => {
            let k = match (&inp.sb, inp.param) {
                (Some(sb), 0) => sb.group_leaf_k,
                (_, p) => u16::from(p) * 4 + u16::from(inp.p[0] & 3),
            };
            if let Ok(entries) = symbol_table::read_node(ctx, addr, k) {
                for e in entries.iter().take(64) {
                    let _ = (e.name_offset, e.header, &e.scratch);
                }
            }
        }
        _ => {}
    }
}

/// Reads a chunk index through `chunk_index::all_chunks` with a 1-D
/// dataset shaped after the index header's entry count.
fn index_chunks(
    ctx: &FileCtx,
    addr: u64,
    inp: &DecoderInput,
    filtered: bool,
    entries: u64,
    max: Option<u64>,
    kind: impl Fn(u8) -> ChunkIndexKind,
) {
    let chunk = u64::from(inp.p[0] % 8) + 1;
    let element_size = u64::from(inp.p[1] % 16) + 1;
    let layout = ChunkedLayout {
        version: 4 + (inp.param & 1),
        dims: vec![chunk],
        element_size,
        index: kind(inp.p[2] % 16),
        address: Some(addr),
        dont_filter_partial_edges: false,
    };
    let dims = [entries.saturating_mul(chunk)];
    let max_dims = [max.map(|m| m.saturating_mul(chunk))];
    let p = IndexParams {
        layout: &layout,
        dims: &dims,
        max_dims: &max_dims,
        filtered,
    };
    let _ = chunk_index::all_chunks(ctx, &p);
}

/// Decodes one header message by its type, as the reader would.
fn decode_message(sizes: Sizes, kind: u16, shared: bool, data: &[u8], at: u64) {
    use h5rs::format::{
        attribute, dataspace, fill_value, filter_pipeline, link, messages, shared as sh,
    };
    let c = || Cursor::new(data, at, sizes);
    if shared {
        let _ = sh::SharedRef::decode(&mut c());
        return;
    }
    match kind {
        msg::DATASPACE => {
            let _ = dataspace::Dataspace::decode(&mut c());
        }
        msg::LINK_INFO => {
            let _ = messages::LinkInfo::decode(&mut c());
        }
        msg::DATATYPE => {
            if let Ok(dt) = Datatype::decode(&mut c()) {
                let _ = dt.memory_layout().canonical();
                let _ = dt.size();
            }
        }
        msg::FILL_OLD => {
            let _ = fill_value::FillValue::decode_old(&mut c());
        }
        msg::FILL => {
            let _ = fill_value::FillValue::decode(&mut c());
        }
        msg::LINK => {
            let _ = link::Link::decode(&mut c());
        }
        msg::EXTERNAL => {
            let _ = messages::ExternalFiles::decode(&mut c());
        }
        msg::LAYOUT => {
            if let Ok(Layout::Chunked(l)) = Layout::decode(&mut c()) {
                let _ = l.dims.len();
            }
        }
        msg::GROUP_INFO => {
            let _ = messages::GroupInfo::decode(&mut c());
        }
        msg::FILTER_PIPELINE => {
            let _ = filter_pipeline::decode(&mut c());
        }
        msg::ATTRIBUTE => {
            let _ = attribute::AttributeMessage::decode(&mut c());
            let _ = attribute::RawAttribute::decode(&mut c());
        }
        msg::SYMBOL_TABLE => {
            let _ = messages::SymbolTableMessage::decode(&mut c());
        }
        msg::ATTRIBUTE_INFO => {
            let _ = messages::AttributeInfo::decode(&mut c());
        }
        _ => {}
    }
}

/// A reader of fuzz bytes that yields zeros once they run out.
struct Bytes<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Bytes<'_> {
    fn u8(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }
    fn done(&self) -> bool {
        self.pos >= self.data.len()
    }
    fn small(&mut self, n: u8) -> usize {
        (self.u8() % n) as usize
    }
}

/// (c) One stored chunk through `decode_chunk`: the input picks the
/// pipeline (filter ids, flags, client data, possibly lying), the filter
/// mask, the element type and the expected size, then gives the chunk.
pub fn filters(data: &[u8]) {
    use h5rs::array::filters::decode_chunk;
    use h5rs::format::datatype::ByteOrder;
    use h5rs::format::filter_pipeline::FilterInfo;
    const IDS: [u16; 8] = [1, 2, 3, 4, 5, 6, 32000, 32001];
    let mut b = Bytes { data, pos: 0 };
    let nfilters = b.small(4) + 1;
    let mut pipeline = Vec::new();
    for _ in 0..nfilters {
        let id = IDS[b.small(IDS.len() as u8)];
        let flags = u16::from(b.u8() & 1);
        let nparams = b.small(12);
        let params = (0..nparams)
            .map(|_| u32::from_le_bytes([b.u8(), b.u8(), b.u8(), b.u8()]))
            .collect();
        pipeline.push(FilterInfo {
            id,
            name: String::new(),
            flags,
            params,
        });
    }
    let mask = u32::from(b.u8() & 0x0f);
    let order = if b.u8() & 1 == 0 {
        ByteOrder::Little
    } else {
        ByteOrder::Big
    };
    let dtype = match b.small(6) {
        0 => Datatype::int(1, false, order),
        1 => Datatype::int(2, true, order),
        2 => Datatype::int(4, true, order),
        3 => Datatype::int(8, false, order),
        4 => Datatype::float(4, order),
        _ => Datatype::float(8, order),
    };
    let element_size = match b.u8() {
        0..=200 => dtype.size(),
        x => x as usize % 17,
    };
    // expected decoded size: up to 1 MiB
    let chunk_bytes = u32::from_le_bytes([b.u8(), b.u8(), b.u8() & 0x0f, 0]) as usize;
    let rest = data.get(b.pos..).unwrap_or(&[]);
    let _ = decode_chunk(&pipeline, mask, rest, chunk_bytes, element_size, &dtype);
}

/// Elements a writer dataset may have.
#[derive(Clone, Copy)]
enum Elem {
    U8,
    I32,
    I64,
    F32,
    F64,
}

const NAMES: [&str; 8] = [
    "a",
    "b",
    "a/b",
    "c/d/e",
    "x",
    "a/y",
    "b/z",
    "long_name_0123456789",
];

/// (d) A sequence of writing operations, decoded from the bytes; every
/// file closed without error must reopen and walk without error.
pub fn writer(data: &[u8]) {
    let path = scratch_path("writer");
    let _ = std::fs::remove_file(&path);
    let mut b = Bytes { data, pos: 0 };
    let latest = b.u8() & 1 == 1;
    let builder = if latest {
        File::builder().libver_latest()
    } else {
        File::builder().libver_earliest()
    };
    let Ok(file) = builder.track_order(b.u8() & 1 == 1).create(&path) else {
        return;
    };
    let mut sets: Vec<(Dataset, Elem)> = Vec::new();
    let mut ops = 0;
    while !b.done() && ops < 64 {
        ops += 1;
        match b.small(10) {
            0 => {
                let _ = file.create_group(NAMES[b.small(8)]);
            }
            1 => {
                let elem = [Elem::U8, Elem::I32, Elem::I64, Elem::F32, Elem::F64][b.small(5)];
                if let Some(d) = new_dataset(&file, elem, &mut b) {
                    sets.push((d, elem));
                }
            }
            2 if !sets.is_empty() => {
                let (d, elem) = &sets[b.small(sets.len() as u8)];
                let shape = d.shape();
                let mut sel = Vec::new();
                let mut count = 1usize;
                for &n in &shape {
                    let lo = if n == 0 { 0 } else { b.small(255) % (n + 1) };
                    let hi = (lo + b.small(16)).min(n.max(lo));
                    count *= hi - lo;
                    sel.push(ndarray::SliceInfoElem::Slice {
                        start: lo as isize,
                        end: Some(hi as isize),
                        step: 1,
                    });
                }
                // sometimes a wrong count, to get an error
                if b.u8() == 0xff {
                    count += 1;
                }
                let seed = b.u8();
                let _ = write_slice(d, *elem, count, seed, &sel);
            }
            3 if !sets.is_empty() => {
                let (d, _) = &sets[b.small(sets.len() as u8)];
                let shape: Vec<usize> = d.shape().iter().map(|_| b.small(64)).collect();
                let _ = d.resize(shape);
            }
            4 => {
                let name = ["n", "units", "long attribute name", "v"][b.small(4)];
                let v = b.u8();
                let _ = match b.small(4) {
                    0 => file.write_attr(name, &v),
                    1 => file.write_attr(name, "text value"),
                    2 => file.write_attr(name, &vec![f64::from(v); b.small(40)]),
                    _ => match sets.first() {
                        Some((d, _)) => d.write_attr(name, &(i32::from(v) - 100)),
                        None => Ok(()),
                    },
                };
            }
            5 => {
                let _ = file.link_soft(NAMES[b.small(8)], &format!("soft{}", b.small(4)));
            }
            6 => {
                let _ = file.link_hard(NAMES[b.small(8)], &format!("hard{}", b.small(4)));
            }
            7 => {
                let _ = file.flush();
            }
            8 => {
                let n = b.small(30);
                let v: Vec<i16> = (0..n as i16).collect();
                let _ = file.write_dataset(NAMES[b.small(8)], &v);
            }
            9 => {
                if let Ok(g) = file.require_group(NAMES[b.small(8)]) {
                    let _ = g.write_attr("in_group", &7u32);
                    let _ = g.create_group(NAMES[b.small(8)]);
                }
            }
            _ => {}
        }
    }
    drop(sets);
    let closed = file.close();
    if closed.is_ok() {
        let back = File::open(&path).expect("a file h5rs closed must reopen");
        if let Err(e) = walk(&back) {
            panic!("a file h5rs closed must walk without error: {e}");
        }
    }
    let _ = std::fs::remove_file(&path);
}

fn new_dataset(file: &File, elem: Elem, b: &mut Bytes) -> Option<Dataset> {
    macro_rules! build {
        ($t:ty) => {{
            let rank = b.small(3);
            let shape: Vec<usize> = (0..rank).map(|_| b.small(40)).collect();
            let mut d = file.new_dataset::<$t>().ok()?.shape(shape.clone());
            let flags = b.u8();
            if flags & 1 != 0 {
                let max: Vec<Option<usize>> = shape
                    .iter()
                    .map(|&n| {
                        if b.u8() & 1 == 0 {
                            None
                        } else {
                            Some(n + b.small(8))
                        }
                    })
                    .collect();
                d = d.maxshape(max);
            }
            if flags & 2 != 0 {
                let chunk: Vec<usize> = shape.iter().map(|_| b.small(12) + 1).collect();
                d = d.chunk(chunk);
            }
            if flags & 4 != 0 {
                d = d.deflate(u32::from(b.u8() % 10));
            }
            if flags & 8 != 0 {
                d = d.shuffle();
            }
            if flags & 16 != 0 {
                d = d.fletcher32();
            }
            if flags & 32 != 0 {
                d = d.compact();
            }
            if flags & 64 != 0 {
                d = d.contiguous();
            }
            if flags & 128 != 0 {
                d = d.fill_value(<$t>::from(b.u8()));
            }
            d.create(NAMES[b.small(8)]).ok()
        }};
    }
    match elem {
        Elem::U8 => build!(u8),
        Elem::I32 => build!(i32),
        Elem::I64 => build!(i64),
        Elem::F32 => build!(f32),
        Elem::F64 => build!(f64),
    }
}

fn write_slice(
    d: &Dataset,
    elem: Elem,
    count: usize,
    seed: u8,
    sel: &[ndarray::SliceInfoElem],
) -> h5rs::Result<()> {
    let sel = sel.to_vec();
    match elem {
        Elem::U8 => d.write_slice(&vec![seed; count], sel),
        Elem::I32 => d.write_slice(&vec![i32::from(seed) - 7; count], sel),
        Elem::I64 => d.write_slice(&vec![i64::from(seed) << 40; count], sel),
        Elem::F32 => d.write_slice(&vec![f32::from(seed) / 3.0; count], sel),
        Elem::F64 => d.write_slice(&vec![f64::from(seed) * 1e10; count], sel),
    }
}

/// (e) Opens the bytes as a file for writing and changes it: an attribute
/// and a group added at the root; on each of the first few objects an
/// attribute added, one deleted or renamed; in each group a small
/// compressed dataset and a soft link added; the first element of the
/// first 1-D number dataset set to 3; small datasets rewritten whole with
/// the values they hold; a chunked dataset grown; an object moved and one
/// deleted. Errors are fine; a file that closes without error must reopen,
/// the root attribute added must read back, and so must every dataset
/// written, as it read right after the write (its type may not hold the
/// values exactly).
pub fn modify(data: &[u8]) {
    let path = scratch_path("modify");
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let closed = modify_file(&path);
    if let Ok(written) = closed {
        let file = File::open_with_limits(&path, limits())
            .unwrap_or_else(|e| panic!("a file h5rs closed does not reopen: {e}"));
        let a = file
            .attr("fuzz_added")
            .and_then(|a| a.read_scalar::<i32>())
            .unwrap_or_else(|e| panic!("the attribute h5rs added does not read back: {e}"));
        assert_eq!(a, 7, "the attribute h5rs added reads back wrong");
        // a dataset may be gone (deleted, or in a group deleted after)
        for (p, want) in written {
            if let Ok(d) = file.dataset(&p) {
                // a 1-D dataset of which only the first elements were
                // written may hold unreadable chunks further on
                let got = if want.len() < d.size() && d.ndim() == 1 {
                    d.read_slice_dyn::<f64, _>(ndarray::s![0..want.len()])
                        .map(|v| v.iter().copied().collect())
                } else {
                    d.read_raw_vec::<f64>()
                };
                let got =
                    got.unwrap_or_else(|e| panic!("what h5rs wrote in {p} does not read: {e}"));
                assert!(
                    got.len() >= want.len()
                        && got
                            .iter()
                            .zip(&want)
                            .all(|(g, w)| g.to_bits() == w.to_bits()),
                    "what h5rs wrote in {p} reads back wrong"
                );
            }
        }
        let _ = walk(&file);
    }
    let _ = std::fs::remove_file(&path);
}

/// Deletes (odd `i`) or renames the first attribute of an object that the
/// harness did not add.
macro_rules! change_attr {
    ($o:expr, $i:expr) => {
        if let Ok(names) = $o.attr_names()
            && let Some(n) = names.iter().find(|n| !n.starts_with("fuzz_"))
        {
            let _ = if $i % 2 == 1 {
                $o.delete_attr(n)
            } else {
                $o.rename_attr(n, "fuzz_renamed")
            };
        }
    };
}

/// Values of a dataset as read now (in row-major order), for the check
/// after reopening.
fn values(d: &Dataset) -> Option<Vec<f64>> {
    d.read_raw_vec::<f64>().ok()
}

/// Changes the file (see [`modify`]); the datasets written, each with its
/// first values as they read right after the writes.
fn modify_file(path: &std::path::Path) -> h5rs::Result<Vec<(String, Vec<f64>)>> {
    let file = File::open_rw_with_limits(path, limits())?;
    let _ = file.create_group("fuzz_group");
    let mut objects = Vec::new();
    if let Ok(root) = file.root() {
        let _ = root.visit_items(|p, o| {
            objects.push((p.to_string(), o.clone()));
            (objects.len() >= 8).then_some(())
        });
    }
    let mut tried = false;
    let mut written = Vec::new();
    for (i, (p, o)) in objects.iter().enumerate() {
        // (a damaged group may hold a name twice: a path checked must lead
        // to the object changed, as it will after reopening)
        let here = format!("/{p}");
        match o {
            Object::Dataset(d) => {
                let _ = d.write_attr("fuzz_attr", &(i as i64));
                change_attr!(d, i);
                let mine = file.dataset(&here).is_ok_and(|r| r.addr() == d.addr());
                if !tried
                    && mine
                    && d.size() > 0
                    && d.size() <= 1 << 16
                    && d.ndim() == 1
                    && d.read_slice_dyn::<f64, _>(ndarray::s![0..1]).is_ok()
                {
                    tried = true;
                    if d.write_slice(&[3.0f64], ndarray::s![0..1]).is_ok()
                        && let Ok(v) = d.read_slice_dyn::<f64, _>(ndarray::s![0..1])
                    {
                        written.push((here.clone(), v.iter().copied().collect()));
                    }
                } else if mine
                    && i % 2 == 0
                    && d.size() <= 4096
                    && let Ok(v) = d.read_dyn::<f64>()
                    && d.write(&v).is_ok()
                    && let Some(v) = values(d)
                {
                    written.push((here.clone(), v));
                }
                if d.chunks().is_some() && d.ndim() == 1 {
                    let n = d.shape()[0];
                    let _ = d.resize(n + 1);
                }
            }
            Object::Group(g) => {
                let _ = g.write_attr("fuzz_attr", &(i as i64));
                change_attr!(g, i);
                let _ = g.link_soft("/", "fuzz_soft");
                if let Ok(d) = g.new_dataset::<i32>().and_then(|b| {
                    b.shape(6)
                        .chunk(4)
                        .deflate(1)
                        .with_data(&[1, 2, 3, 4, 5, 6])
                        .create("fuzz_ds")
                }) && file
                    .dataset(&format!("{here}/fuzz_ds"))
                    .is_ok_and(|r| r.addr() == d.addr())
                    && let Some(v) = values(&d)
                {
                    written.push((format!("{here}/fuzz_ds"), v));
                }
            }
            _ => {}
        }
        if i == 3 {
            let _ = file.unlink(p);
        }
        if i == 5 {
            let _ = file.move_link(p, "/fuzz_group/moved");
        }
    }
    file.write_attr("fuzz_added", &7i32)?;
    file.close()?;
    Ok(written)
}
