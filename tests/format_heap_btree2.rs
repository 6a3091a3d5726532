//! Fractal heaps and version 2 B-trees read from real files, through the
//! format layer only: dense links and attributes (name and creation-order
//! indexes), huge objects (plain and filtered), filtered link heaps, and v2
//! B-tree chunk indexes under layout versions 4 and 5.
//!
//! Fixtures in tests/data are made by tests/data/make_heap_btree2.py. The
//! corpus sweep walks every corpus file with dense links, dense attributes
//! or v2 B-tree chunk indexes and compares link paths and attribute names
//! with the corpus's reference dumps; it runs when the environment variable
//! `H5RS_CORPUS` names the corpus folder.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use h5rs::format::FileCtx;
use h5rs::format::attribute::RawAttribute;
use h5rs::format::btree_v1::{self, NodeType};
use h5rs::format::btree_v2::BTreeV2;
use h5rs::format::btree_v2::records::{
    AttributeNameRecord, AttributeOrderRecord, LinkNameRecord, LinkOrderRecord,
};
use h5rs::format::checksum::lookup3;
use h5rs::format::chunk_index::{self, ChunkRecord, IndexParams};
use h5rs::format::cursor::Cursor;
use h5rs::format::dataspace::Dataspace;
use h5rs::format::heap::fractal::FractalHeap;
use h5rs::format::heap::local::LocalHeap;
use h5rs::format::layout::{ChunkIndexKind, Layout};
use h5rs::format::link::{Link, LinkTarget};
use h5rs::format::messages::{AttributeInfo, LinkInfo, SymbolTableMessage};
use h5rs::format::object_header::{ObjectHeader, msg};
use h5rs::format::superblock::Superblock;
use h5rs::format::symbol_table::{self, Scratch};
use h5rs::{Limits, Result};

fn data_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn load(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The format context of a whole file and its superblock.
fn open(data: &[u8]) -> (FileCtx<'_>, Superblock) {
    let sb = Superblock::read(data).expect("superblock");
    let ctx = FileCtx {
        data,
        base: sb.position,
        sizes: sb.sizes,
        limits: Limits::default(),
    };
    (ctx, sb)
}

fn header_message<T>(
    ctx: &FileCtx,
    oh: &ObjectHeader,
    kind: u16,
    decode: fn(&mut Cursor) -> Result<T>,
) -> Option<T> {
    oh.find(kind).map(|m| {
        let mut c = Cursor::new(&m.data, m.addr, ctx.sizes);
        decode(&mut c).expect("header message")
    })
}

/// The object header at the end of `path` (names of hard links only).
fn resolve(ctx: &FileCtx, root: u64, path: &str) -> ObjectHeader {
    let mut oh = ObjectHeader::read(ctx, root).expect("root header");
    for part in path.split('/').filter(|p| !p.is_empty()) {
        let links = group_links(ctx, &oh).expect("links");
        let link = links
            .iter()
            .find(|l| l.name == part)
            .unwrap_or_else(|| panic!("no link {part} in {path}"));
        let LinkTarget::Hard(a) = link.target else {
            panic!("{part} is not a hard link");
        };
        oh = ObjectHeader::read(ctx, a).expect("object header");
    }
    oh
}

/// Dense links: the name index walked in hash order, each link message
/// read from the heap. Checks each record's hash against the name.
fn dense_links(ctx: &FileCtx, info: &LinkInfo) -> Result<Vec<Link>> {
    let (Some(heap), Some(index)) = (info.heap, info.name_index) else {
        return Ok(Vec::new());
    };
    let heap = FractalHeap::read(ctx, heap)?;
    let tree = BTreeV2::read(ctx, index)?;
    assert_eq!(tree.record_type, 5, "link name index type");
    let mut out = Vec::new();
    tree.for_each_record(ctx, &mut |r| {
        let rec = LinkNameRecord::decode(r, tree.addr)?;
        let obj = heap.object(ctx, rec.heap_id)?;
        let link = Link::from_message(&obj, heap.addr, ctx.sizes)?;
        assert_eq!(
            rec.hash,
            lookup3(link.name.as_bytes(), 0),
            "hash of link {}",
            link.name
        );
        out.push(link);
        Ok(())
    })?;
    assert_eq!(out.len() as u64, tree.total_records);
    Ok(out)
}

/// Links of an old-style (symbol table) group.
fn symbol_table_links(ctx: &FileCtx, st: &SymbolTableMessage, leaf_k: u16) -> Result<Vec<Link>> {
    let heap = LocalHeap::read(ctx, st.heap)?;
    let mut out = Vec::new();
    btree_v1::walk(ctx, st.btree, NodeType::Group, &mut |_, snod| {
        for e in symbol_table::read_node(ctx, snod, leaf_k)? {
            let name = String::from_utf8_lossy(heap.string(e.name_offset)?).into_owned();
            let target = match e.scratch {
                Scratch::SoftLink { offset } => LinkTarget::Soft(
                    String::from_utf8_lossy(heap.string(offset as u64)?).into_owned(),
                ),
                _ => LinkTarget::Hard(e.header),
            };
            out.push(Link {
                name,
                target,
                creation_order: None,
            });
        }
        Ok(())
    })?;
    Ok(out)
}

/// Every link of a group, in whatever storage it uses.
fn group_links(ctx: &FileCtx, oh: &ObjectHeader) -> Result<Vec<Link>> {
    let mut out = Vec::new();
    for m in oh.all(msg::LINK) {
        out.push(Link::from_message(&m.data, m.addr, ctx.sizes)?);
    }
    if let Some(info) = header_message(ctx, oh, msg::LINK_INFO, LinkInfo::decode) {
        out.extend(dense_links(ctx, &info)?);
    }
    if let Some(st) = header_message(ctx, oh, msg::SYMBOL_TABLE, SymbolTableMessage::decode) {
        out.extend(symbol_table_links(ctx, &st, 4)?);
    }
    Ok(out)
}

/// An attribute read out of a header or a heap.
#[derive(Debug, Clone)]
struct Attr {
    name: String,
    data: Vec<u8>,
}

/// Dense attributes in name-index order; `None` for the names of shared
/// attribute messages (their heap object is a shared-message reference).
fn dense_attributes(ctx: &FileCtx, info: &AttributeInfo) -> Result<Vec<Option<Attr>>> {
    let (Some(heap), Some(index)) = (info.heap, info.name_index) else {
        return Ok(Vec::new());
    };
    let heap = FractalHeap::read(ctx, heap)?;
    let tree = BTreeV2::read(ctx, index)?;
    assert_eq!(tree.record_type, 8, "attribute name index type");
    let mut out = Vec::new();
    tree.for_each_record(ctx, &mut |r| {
        let rec = AttributeNameRecord::decode(r, tree.addr)?;
        let obj = heap.object(ctx, rec.heap_id)?;
        if rec.flags & 0x02 != 0 {
            out.push(None);
            return Ok(());
        }
        let a = RawAttribute::decode(&mut Cursor::new(&obj, heap.addr, ctx.sizes))?;
        assert_eq!(
            rec.hash,
            lookup3(a.name.as_bytes(), 0),
            "hash of {}",
            a.name
        );
        out.push(Some(Attr {
            name: a.name,
            data: a.data.to_vec(),
        }));
        Ok(())
    })?;
    Ok(out)
}

/// Every attribute of an object; `None` entries are shared messages.
fn attributes(ctx: &FileCtx, oh: &ObjectHeader) -> Result<Vec<Option<Attr>>> {
    let mut out = Vec::new();
    for m in oh.all(msg::ATTRIBUTE) {
        if m.is_shared() {
            out.push(None);
            continue;
        }
        let a = RawAttribute::decode(&mut Cursor::new(&m.data, m.addr, ctx.sizes))?;
        out.push(Some(Attr {
            name: a.name,
            data: a.data.to_vec(),
        }));
    }
    if let Some(info) = header_message(ctx, oh, msg::ATTRIBUTE_INFO, AttributeInfo::decode) {
        out.extend(dense_attributes(ctx, &info)?);
    }
    Ok(out)
}

/// The chunks of a dataset with a v2 B-tree chunk index, checked: every
/// chunk's coordinates distinct and within the dataset's chunk grid, its
/// bytes within the file. `None` for any other layout.
fn btree2_chunks(ctx: &FileCtx, oh: &ObjectHeader) -> Option<(u8, Vec<ChunkRecord>)> {
    let m = oh.find(msg::LAYOUT)?;
    let Layout::Chunked(layout) = Layout::from_message(&m.data, m.addr, ctx.sizes).unwrap() else {
        return None;
    };
    if !matches!(layout.index, ChunkIndexKind::BTreeV2 { .. }) {
        return None;
    }
    let s = oh.find(msg::DATASPACE).expect("dataspace");
    let space = Dataspace::from_message(&s.data, s.addr, ctx.sizes).unwrap();
    let filtered = oh.find(msg::FILTER_PIPELINE).is_some();
    let p = IndexParams {
        layout: &layout,
        dims: &space.dims,
        max_dims: &space.max_dims,
        filtered,
    };
    let chunks = chunk_index::all_chunks(ctx, &p).expect("v2 B-tree chunk index");
    let grid = p.chunks_per_dim();
    let mut seen = HashSet::new();
    for c in &chunks {
        assert!(seen.insert(c.coords.clone()), "chunk {:?} twice", c.coords);
        assert!(
            c.coords.iter().zip(&grid).all(|(x, n)| x < n),
            "chunk {:?} outside the grid {grid:?}",
            c.coords
        );
        assert!(c.size > 0);
        assert!(c.addr.checked_add(c.size).is_some_and(|e| e <= ctx.end()));
    }
    Some((layout.version, chunks))
}

// ---------------------------------------------------------------------
// The generated fixtures.

fn names(links: &[Link]) -> BTreeSet<String> {
    links.iter().map(|l| l.name.clone()).collect()
}

#[test]
fn dense_group_of_100_links() {
    let data = load(&data_path("heap_btree2.h5"));
    let (ctx, sb) = open(&data);
    let oh = resolve(&ctx, sb.root, "/dense");
    let info = header_message(&ctx, &oh, msg::LINK_INFO, LinkInfo::decode).unwrap();
    let links = dense_links(&ctx, &info).unwrap();
    let want: BTreeSet<String> = (0..100).map(|i| format!("g{i:03}")).collect();
    assert_eq!(names(&links), want);
    for l in &links {
        let LinkTarget::Hard(a) = l.target else {
            panic!("{} is not a hard link", l.name);
        };
        let child = ObjectHeader::read(&ctx, a).unwrap();
        assert!(
            child.find(msg::LINK_INFO).is_some(),
            "{} is a group",
            l.name
        );
    }
    // the heap: managed objects only, 7-byte IDs, a root indirect block
    let heap = FractalHeap::read(&ctx, info.heap.unwrap()).unwrap();
    assert_eq!(heap.id_len, 7);
    assert_eq!(heap.managed_objects, 100);
    assert!(heap.checksummed_blocks());
    assert!(!heap.is_filtered());
}

#[test]
fn dense_attributes_with_a_huge_one() {
    let data = load(&data_path("heap_btree2.h5"));
    let (ctx, sb) = open(&data);
    let oh = ObjectHeader::read(&ctx, sb.root).unwrap();
    let info = header_message(&ctx, &oh, msg::ATTRIBUTE_INFO, AttributeInfo::decode).unwrap();
    let attrs: Vec<Attr> = dense_attributes(&ctx, &info)
        .unwrap()
        .into_iter()
        .map(|a| a.expect("not shared"))
        .collect();
    let mut want: BTreeSet<String> = (0..30).map(|i| format!("a{i:02}")).collect();
    want.insert("big".into());
    let got: BTreeSet<String> = attrs.iter().map(|a| a.name.clone()).collect();
    assert_eq!(got, want);
    for a in &attrs {
        if let Some(i) = a.name.strip_prefix('a') {
            let i: i32 = i.parse().unwrap();
            assert_eq!(a.data, i.to_le_bytes(), "value of {}", a.name);
        }
    }
    let big = attrs.iter().find(|a| a.name == "big").unwrap();
    let want: Vec<u8> = (0..16500i32).flat_map(|v| v.to_le_bytes()).collect();
    assert_eq!(big.data, want);
    // "big" is a huge object, found through a type 1 B-tree
    let heap = FractalHeap::read(&ctx, info.heap.unwrap()).unwrap();
    assert_eq!((heap.id_len, heap.huge_objects), (8, 1));
    let huge = BTreeV2::read(&ctx, heap.huge_btree.unwrap()).unwrap();
    assert_eq!((huge.record_type, huge.total_records), (1, 1));
}

#[test]
fn creation_order_indexes() {
    let data = load(&data_path("heap_btree2.h5"));
    let (ctx, sb) = open(&data);
    let oh = resolve(&ctx, sb.root, "/ordered");
    // links by creation order (type 6), in order
    let info = header_message(&ctx, &oh, msg::LINK_INFO, LinkInfo::decode).unwrap();
    assert!(info.track_order && info.index_order);
    let heap = FractalHeap::read(&ctx, info.heap.unwrap()).unwrap();
    let tree = BTreeV2::read(&ctx, info.order_index.unwrap()).unwrap();
    assert_eq!(tree.record_type, 6);
    let mut order = Vec::new();
    tree.for_each_record(&ctx, &mut |r| {
        let rec = LinkOrderRecord::decode(r, tree.addr)?;
        let link = Link::from_message(&heap.object(&ctx, rec.heap_id)?, 0, ctx.sizes)?;
        assert_eq!(link.creation_order, Some(rec.order));
        order.push((rec.order, link));
        Ok(())
    })
    .unwrap();
    assert_eq!(order.len(), 40);
    for (i, (o, l)) in order.iter().enumerate() {
        assert_eq!(*o, i as u64);
        assert_eq!(l.name, format!("o{i:02}"));
        assert_eq!(l.target, LinkTarget::Soft(format!("/dense/g{i:03}")));
    }
    // the same links through the name index
    let by_name = dense_links(&ctx, &info).unwrap();
    assert_eq!(by_name.len(), 40);
    // attributes by creation order (type 9)
    let ainfo = header_message(&ctx, &oh, msg::ATTRIBUTE_INFO, AttributeInfo::decode).unwrap();
    let aheap = FractalHeap::read(&ctx, ainfo.heap.unwrap()).unwrap();
    let atree = BTreeV2::read(&ctx, ainfo.order_index.unwrap()).unwrap();
    assert_eq!(atree.record_type, 9);
    let mut attrs = Vec::new();
    atree
        .for_each_record(&ctx, &mut |r| {
            let rec = AttributeOrderRecord::decode(r, atree.addr)?;
            let obj = aheap.object(&ctx, rec.heap_id)?;
            let a = RawAttribute::decode(&mut Cursor::new(&obj, 0, ctx.sizes))?;
            attrs.push((rec.order, a.name, a.data.to_vec()));
            Ok(())
        })
        .unwrap();
    assert_eq!(attrs.len(), 25);
    for (i, (o, name, value)) in attrs.iter().enumerate() {
        assert_eq!(*o, i as u32);
        assert_eq!(*name, format!("c{i:02}"));
        assert_eq!(*value, (100 + i as i16).to_le_bytes());
    }
    let by_name = dense_attributes(&ctx, &ainfo).unwrap();
    assert_eq!(by_name.len(), 25);
}

#[test]
fn filtered_link_heap() {
    let data = load(&data_path("heap_btree2.h5"));
    let (ctx, sb) = open(&data);
    let oh = resolve(&ctx, sb.root, "/zlinks");
    let info = header_message(&ctx, &oh, msg::LINK_INFO, LinkInfo::decode).unwrap();
    let heap = FractalHeap::read(&ctx, info.heap.unwrap()).unwrap();
    assert!(heap.is_filtered());
    assert_eq!(heap.filters.len(), 1);
    assert_eq!(heap.filters[0].id, 1);
    assert!(heap.root_rows > 0, "root is an indirect block");
    let links = dense_links(&ctx, &info).unwrap();
    assert_eq!(links.len(), 201);
    let mut want: BTreeSet<String> = (0..200).map(|i| format!("s{i:03}")).collect();
    want.insert("huge".into());
    assert_eq!(names(&links), want);
    for l in &links {
        if l.name == "huge" {
            let LinkTarget::Soft(t) = &l.target else {
                panic!("huge is not a soft link");
            };
            assert_eq!(t.len(), 60001);
            assert!(t.starts_with('/') && t[1..].bytes().all(|b| b == b'x'));
        } else {
            let i: usize = l.name[1..].parse().unwrap();
            assert_eq!(
                l.target,
                LinkTarget::Soft(format!("/dense/g{:03}", i % 100))
            );
        }
    }
    // the long link is a filtered huge object (B-tree type 2)
    let huge = BTreeV2::read(&ctx, heap.huge_btree.unwrap()).unwrap();
    assert_eq!((huge.record_type, huge.total_records), (2, 1));
}

#[test]
fn name_index_of_depth_two() {
    let data = load(&data_path("deep_btree2.h5"));
    let (ctx, sb) = open(&data);
    let oh = resolve(&ctx, sb.root, "/deep");
    let info = header_message(&ctx, &oh, msg::LINK_INFO, LinkInfo::decode).unwrap();
    let tree = BTreeV2::read(&ctx, info.name_index.unwrap()).unwrap();
    assert_eq!(tree.depth, 2);
    assert_eq!(tree.total_records, 1300);
    // the records come out in key order: ascending name hashes
    let mut hashes = Vec::new();
    tree.for_each_record(&ctx, &mut |r| {
        hashes.push(LinkNameRecord::decode(r, 0)?.hash);
        Ok(())
    })
    .unwrap();
    assert!(hashes.windows(2).all(|w| w[0] <= w[1]));
    let links = dense_links(&ctx, &info).unwrap();
    let want: BTreeSet<String> = (0..1300).map(|i| format!("l{i:04}")).collect();
    assert_eq!(names(&links), want);
    assert!(
        links
            .iter()
            .all(|l| l.target == LinkTarget::Soft("/".into()))
    );
}

fn check_chunked(file: &str, want_version: u8) {
    let data = load(&data_path(file));
    let (ctx, sb) = open(&data);
    for name in ["plain", "gzip"] {
        let oh = resolve(&ctx, sb.root, &format!("/chunked/{name}"));
        let (version, chunks) = btree2_chunks(&ctx, &oh).expect("v2 B-tree index");
        // libhdf5 2.0 writes version 5 only where it changes the records
        let want = if name == "gzip" { want_version } else { 4 };
        assert_eq!(version, want, "{file} {name}");
        // 10 x 12 in chunks of 4 x 5: a 3 x 3 grid, all written
        assert_eq!(chunks.len(), 9, "{file} {name}");
        let coords: BTreeSet<Vec<u64>> = chunks.iter().map(|c| c.coords.clone()).collect();
        let all: BTreeSet<Vec<u64>> = (0..3)
            .flat_map(|i| (0..3).map(move |j| vec![i, j]))
            .collect();
        assert_eq!(coords, all);
        for c in &chunks {
            if name == "plain" {
                assert_eq!((c.size, c.filter_mask), (80, 0));
                // the first element of chunk (i, j) is row 4i, column 5j
                let first = ctx.slice(c.addr, 4, "chunk").unwrap();
                let v = i32::from_le_bytes(first.try_into().unwrap());
                assert_eq!(v as u64, 4 * c.coords[0] * 12 + 5 * c.coords[1]);
            } else {
                assert_eq!(c.filter_mask, 0);
                assert!(c.size < 200, "gzip chunk of {} bytes", c.size);
            }
        }
    }
}

#[test]
fn chunk_index_layout_v5() {
    check_chunked("heap_btree2.h5", 5);
}

#[test]
fn chunk_index_layout_v4() {
    check_chunked("heap_btree2_v110.h5", 4);
}

// ---------------------------------------------------------------------
// The conformance corpus, against its reference dumps.

/// A minimal JSON value, enough to read the reference dumps.
#[derive(Debug, Clone)]
enum Json {
    /// Numbers, booleans, null and arrays: not needed here.
    Other,
    Str(String),
    Obj(Vec<(String, Json)>),
}

impl Json {
    fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(v) => v.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

struct JsonParser<'a> {
    s: &'a [u8],
    i: usize,
}

impl JsonParser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn eat(&mut self, b: u8) {
        self.ws();
        assert_eq!(self.s[self.i], b, "JSON at {}", self.i);
        self.i += 1;
    }

    fn value(&mut self) -> Json {
        self.ws();
        match self.s[self.i] {
            b'{' => {
                self.i += 1;
                let mut v = Vec::new();
                self.ws();
                if self.s[self.i] == b'}' {
                    self.i += 1;
                    return Json::Obj(v);
                }
                loop {
                    self.ws();
                    let k = self.string();
                    self.eat(b':');
                    v.push((k, self.value()));
                    self.ws();
                    self.i += 1;
                    if self.s[self.i - 1] == b'}' {
                        return Json::Obj(v);
                    }
                }
            }
            b'[' => {
                self.i += 1;
                self.ws();
                if self.s[self.i] == b']' {
                    self.i += 1;
                    return Json::Other;
                }
                loop {
                    self.value();
                    self.ws();
                    self.i += 1;
                    if self.s[self.i - 1] == b']' {
                        return Json::Other;
                    }
                }
            }
            b'"' => Json::Str(self.string()),
            b'n' => {
                self.i += 4;
                Json::Other
            }
            b't' => {
                self.i += 4;
                Json::Other
            }
            b'f' => {
                self.i += 5;
                Json::Other
            }
            _ => {
                while self.i < self.s.len() && b"+-.eE0123456789".contains(&self.s[self.i]) {
                    self.i += 1;
                }
                Json::Other
            }
        }
    }

    fn hex4(&mut self) -> u32 {
        let h = std::str::from_utf8(&self.s[self.i..self.i + 4]).unwrap();
        self.i += 4;
        u32::from_str_radix(h, 16).unwrap()
    }

    fn string(&mut self) -> String {
        self.eat(b'"');
        let mut out = Vec::new();
        loop {
            let b = self.s[self.i];
            self.i += 1;
            match b {
                b'"' => break,
                b'\\' => {
                    let e = self.s[self.i];
                    self.i += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b't' => out.push(b'\t'),
                        b'r' => out.push(b'\r'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'u' => {
                            let mut c = self.hex4();
                            if (0xd800..0xdc00).contains(&c) && self.s[self.i] == b'\\' {
                                self.i += 2;
                                let lo = self.hex4();
                                c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
                            }
                            let ch = char::from_u32(c).unwrap_or('\u{fffd}');
                            let mut buf = [0u8; 4];
                            out.extend(ch.encode_utf8(&mut buf).as_bytes());
                        }
                        other => out.push(other),
                    }
                }
                b => out.push(b),
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

fn parse_json(line: &str) -> Json {
    JsonParser {
        s: line.as_bytes(),
        i: 0,
    }
    .value()
}

/// What the walk of a file found: every link path, and the attribute
/// names of each object (`None` when some are shared messages).
#[derive(Default)]
struct Walk {
    paths: BTreeSet<String>,
    attrs: BTreeMap<String, Option<BTreeSet<String>>>,
    visited: HashSet<u64>,
    dense_links: usize,
    dense_attrs: usize,
    shared_attrs: usize,
    btree2_chunked: usize,
}

impl Walk {
    fn object(&mut self, ctx: &FileCtx, sb: &Superblock, path: &str, addr: u64) -> Result<()> {
        if !self.visited.insert(addr) {
            return Ok(());
        }
        let oh = ObjectHeader::read(ctx, addr)?;
        let attrs = attributes(ctx, &oh)?;
        let info = header_message(ctx, &oh, msg::ATTRIBUTE_INFO, AttributeInfo::decode);
        if info.is_some_and(|i| i.heap.is_some()) {
            self.dense_attrs += 1;
        }
        if attrs.iter().any(Option::is_none) {
            self.shared_attrs += 1;
        }
        let names = if attrs.iter().all(Option::is_some) {
            Some(attrs.into_iter().flatten().map(|a| a.name).collect())
        } else {
            None
        };
        self.attrs.insert(path.to_string(), names);
        if btree2_chunks(ctx, &oh).is_some() {
            self.btree2_chunked += 1;
        }
        let mut links = Vec::new();
        for m in oh.all(msg::LINK) {
            links.push(Link::from_message(&m.data, m.addr, ctx.sizes)?);
        }
        if let Some(info) = header_message(ctx, &oh, msg::LINK_INFO, LinkInfo::decode) {
            let dense = dense_links(ctx, &info)?;
            if !dense.is_empty() {
                self.dense_links += 1;
            }
            links.extend(dense);
        }
        if let Some(st) = header_message(ctx, &oh, msg::SYMBOL_TABLE, SymbolTableMessage::decode) {
            links.extend(symbol_table_links(ctx, &st, sb.group_leaf_k)?);
        }
        links.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
        for l in links {
            let child = if path == "/" {
                format!("/{}", l.name)
            } else {
                format!("{path}/{}", l.name)
            };
            self.paths.insert(child.clone());
            if let LinkTarget::Hard(a) = l.target {
                self.object(ctx, sb, &child, a)?;
            }
        }
        Ok(())
    }
}

/// The conformance corpus: the folder named by `H5RS_CORPUS`, holding
/// `MANIFEST.tsv` and the reference dumps in `_canon/`.
fn corpus_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(std::env::var_os("H5RS_CORPUS")?);
    dir.join("MANIFEST.tsv").exists().then_some(dir)
}

#[test]
fn corpus_dense_storage_matches_reference_dumps() {
    let Some(dir) = corpus_dir() else {
        eprintln!("H5RS_CORPUS does not name the conformance corpus: skipped");
        return;
    };
    let manifest = std::fs::read_to_string(dir.join("MANIFEST.tsv")).unwrap();
    let mut checked = 0;
    let (mut dense_links_seen, mut dense_attrs_seen, mut chunked_seen) = (0, 0, 0);
    let mut shared_seen = 0;
    for line in manifest.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let (path, ok, features) = (cols[0], cols[5], cols[6]);
        let wanted = features
            .split(',')
            .any(|f| matches!(f, "dense-links" | "dense-attrs" | "idx-btree2"));
        if !wanted || ok != "yes" || path.starts_with("_bad/") {
            continue;
        }
        let data = load(&dir.join(path));
        let (ctx, sb) = open(&data);
        let mut walk = Walk::default();
        walk.object(&ctx, &sb, "/", sb.root)
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        dense_links_seen += walk.dense_links;
        dense_attrs_seen += walk.dense_attrs;
        shared_seen += walk.shared_attrs;
        chunked_seen += walk.btree2_chunked;

        let canon = dir.join("_canon").join(format!("{path}.canon.jsonl"));
        let canon = std::fs::read_to_string(&canon).unwrap();
        let mut paths = BTreeSet::new();
        for l in canon.lines() {
            let v = parse_json(l);
            let Some(Json::Str(p)) = v.get("path") else {
                panic!("{path}: canon line without path");
            };
            if p != "/" {
                paths.insert(p.clone());
            }
            if let Some(Json::Obj(attrs)) = v.get("attrs") {
                let want: BTreeSet<String> = attrs.iter().map(|(k, _)| k.clone()).collect();
                match walk.attrs.get(p) {
                    Some(Some(got)) => assert_eq!(got, &want, "{path}: attributes of {p}"),
                    Some(None) => {}
                    None => panic!("{path}: the walk did not reach {p}"),
                }
            }
        }
        assert_eq!(walk.paths, paths, "{path}: link paths");
        checked += 1;
    }
    eprintln!(
        "{checked} corpus files: {dense_links_seen} dense link groups, {dense_attrs_seen} \
         objects with dense attributes ({shared_seen} with shared attribute messages, \
         not compared), {chunked_seen} v2 B-tree chunked datasets"
    );
    assert!(checked >= 10);
    assert!(dense_links_seen > 0 && dense_attrs_seen > 0 && chunked_seen > 0);
}
