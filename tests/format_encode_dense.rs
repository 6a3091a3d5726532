//! The encode side of fractal heaps and v2 B-trees against libhdf5: dense
//! links, dense attributes and v2 B-tree chunk indexes of files written by
//! h5py are decoded, re-encoded from their objects and records, and
//! compared with the file's bytes.
//!
//! The structures are laid out with the file's own addresses (a replaying
//! allocator hands out, in the encoder's allocation order, the addresses
//! libhdf5 chose), so every block can be compared whole. What is compared
//! byte for byte, and what cannot be, is listed in
//! spec-notes/fractal_heap.md and spec-notes/btree_v2.md.
//!
//! Fixtures: tests/data/heap_btree2.h5 and tests/data/deep_btree2.h5
//! (made by tests/data/make_heap_btree2.py), and fixtures/dense/*.h5 (made
//! by fixtures/dense/make_dense.py).

mod common;

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use h5rs::Limits;
use h5rs::format::FileCtx;
use h5rs::format::alloc::Allocator;
use h5rs::format::attribute::RawAttribute;
use h5rs::format::btree_v2::records::{
    AttributeNameRecord, AttributeOrderRecord, ChunkRecordV2, HugeObject, LinkNameRecord,
    LinkOrderRecord, RecordKey,
};
use h5rs::format::btree_v2::{BTreeV2, BTreeV2Params, encode_tree};
use h5rs::format::checksum::lookup3;
use h5rs::format::cursor::{Cursor, le_uint};
use h5rs::format::dataspace::Dataspace;
use h5rs::format::heap::fractal::{FractalHeap, HeapParams, encode_heap};
use h5rs::format::layout::Layout;
use h5rs::format::link::{Link, LinkTarget};
use h5rs::format::messages::{AttributeInfo, LinkInfo};
use h5rs::format::object_header::{ObjectHeader, msg};
use h5rs::format::superblock::Superblock;

fn load(rel: &str) -> Vec<u8> {
    let p: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn open(data: &[u8]) -> (FileCtx<'_>, u64) {
    let sb = Superblock::read(data).expect("superblock");
    let ctx = FileCtx {
        data,
        base: sb.position,
        sizes: sb.sizes,
        limits: Limits::default(),
    };
    (ctx, sb.root)
}

fn message<T>(
    ctx: &FileCtx,
    oh: &ObjectHeader,
    kind: u16,
    decode: fn(&mut Cursor) -> h5rs::Result<T>,
) -> Option<T> {
    oh.find(kind).map(|m| {
        let mut c = Cursor::new(&m.data, m.addr, ctx.sizes);
        decode(&mut c).expect("header message")
    })
}

/// The object header at `path`, following hard links (compact or dense).
fn resolve(ctx: &FileCtx, root: u64, path: &str) -> ObjectHeader {
    let mut oh = ObjectHeader::read(ctx, root).expect("root header");
    for part in path.split('/').filter(|p| !p.is_empty()) {
        let mut links: Vec<Link> = oh
            .all(msg::LINK)
            .map(|m| Link::from_message(&m.data, m.addr, ctx.sizes).unwrap())
            .collect();
        if let Some(info) = message(ctx, &oh, msg::LINK_INFO, LinkInfo::decode)
            && let (Some(h), Some(t)) = (info.heap, info.name_index)
        {
            let heap = FractalHeap::read(ctx, h).unwrap();
            for r in BTreeV2::read(ctx, t).unwrap().records(ctx).unwrap() {
                let obj = heap.object(ctx, &r[4..]).unwrap();
                links.push(Link::from_message(&obj, h, ctx.sizes).unwrap());
            }
        }
        let link = links.iter().find(|l| l.name == part).expect("link");
        let LinkTarget::Hard(a) = link.target else {
            panic!("{part} is not a hard link")
        };
        oh = ObjectHeader::read(ctx, a).unwrap();
    }
    oh
}

/// Hands out recorded addresses in order; past their end, space after
/// `fallback` (so that a layout that differs fails the comparison rather
/// than the test harness).
struct Replay {
    addrs: VecDeque<u64>,
    fallback: u64,
    lens: Vec<u64>,
}

impl Replay {
    fn new(addrs: Vec<u64>, fallback: u64) -> Replay {
        Replay {
            addrs: addrs.into(),
            fallback,
            lens: Vec::new(),
        }
    }
}

impl Allocator for Replay {
    fn alloc(&mut self, len: u64) -> u64 {
        self.lens.push(len);
        self.addrs.pop_front().unwrap_or_else(|| {
            let a = self.fallback;
            self.fallback += len;
            a
        })
    }
}

/// Addresses of a tree's nodes in pre-order (root, then each child's
/// subtree from left to right), read from the file.
fn node_addrs(ctx: &FileCtx, t: &BTreeV2) -> Vec<u64> {
    let mut out = Vec::new();
    let Some(root) = t.root else { return out };
    let o = ctx.sizes.offset as usize;
    let rs = t.record_size as usize;
    // (address, depth, records)
    let mut stack = vec![(root, t.depth, t.root_records as usize)];
    while let Some((addr, depth, n)) = stack.pop() {
        out.push(addr);
        if depth == 0 {
            continue;
        }
        let below = if depth > 1 {
            t.levels[depth as usize - 1].total_width
        } else {
            0
        };
        let ptr = o + t.count_width + below;
        let node = ctx
            .slice(addr, 6 + (n * rs + (n + 1) * ptr) as u64, "node")
            .unwrap();
        let mut kids = Vec::new();
        for i in 0..=n {
            let p = &node[6 + n * rs + i * ptr..];
            kids.push((
                le_uint(&p[..o]),
                depth - 1,
                le_uint(&p[o..o + t.count_width]) as usize,
            ));
        }
        stack.extend(kids.into_iter().rev());
    }
    out
}

/// Encodes a tree of `records` (insertion order) with the file's
/// addresses and compares every block with the file. Returns the number
/// of bytes compared.
fn check_tree(
    data: &[u8],
    ctx: &FileCtx,
    addr: u64,
    params: &BTreeV2Params,
    records: &[(RecordKey, Vec<u8>)],
) -> usize {
    let t = BTreeV2::read(ctx, addr).unwrap();
    assert_eq!(t.record_type, params.record_type.to_u8());
    assert_eq!(
        (t.node_size, t.record_size, t.split_percent, t.merge_percent),
        (
            params.node_size,
            params.record_size,
            params.split_percent,
            params.merge_percent
        ),
        "libhdf5's parameters of the tree at {addr:#x}"
    );
    let mut addrs = vec![addr];
    addrs.extend(node_addrs(ctx, &t));
    let mut a = Replay::new(addrs, data.len() as u64);
    let (h, blocks) = encode_tree(params, records, ctx.sizes, &mut a).unwrap();
    assert_eq!(h, addr);
    assert!(
        a.addrs.is_empty(),
        "fewer nodes than the file's tree at {addr:#x}"
    );
    let mut n = 0;
    for (i, (at, bytes)) in blocks.iter().enumerate() {
        let file = &data[*at as usize..*at as usize + bytes.len()];
        assert!(
            file == &bytes[..],
            "tree at {addr:#x}, block {i} at {at:#x} differs (depth {})",
            t.depth
        );
        n += bytes.len();
    }
    n
}

/// A direct block found under an indirect block: heap offset, size,
/// address, child indirect blocks above it.
type Found = (u64, u64, u64, Vec<u64>);

/// Collects the direct blocks under the indirect block at `addr` (heap
/// offset `offset`, `rows` rows); `above` are the child indirect blocks
/// above it, itself included unless it is the root.
fn collect_direct(
    ctx: &FileCtx,
    heap: &FractalHeap,
    addr: u64,
    offset: u64,
    rows: u64,
    above: &[u64],
    out: &mut Vec<Found>,
) {
    let o = ctx.sizes.offset as usize;
    let w = heap.table_width as u64;
    let start = heap.start_block_size;
    let size = |row: u64| if row == 0 { start } else { start << (row - 1) };
    let dblock_rows = (heap.max_direct_size / start).trailing_zeros() as u64 + 2;
    let pre = 5 + o + heap.id_offset_width();
    let ib = ctx
        .slice(addr, pre as u64 + rows * w * o as u64, "indirect block")
        .unwrap();
    let mut off = offset;
    for e in 0..rows * w {
        let row = e / w;
        let at = pre + e as usize * o;
        let a = le_uint(&ib[at..at + o]);
        if a != u64::MAX {
            if row < dblock_rows {
                out.push((off, size(row), a, above.to_vec()));
            } else {
                let child_rows = (size(row) / (start * w)).trailing_zeros() as u64 + 1;
                let mut chain = above.to_vec();
                chain.push(a);
                collect_direct(ctx, heap, a, off, child_rows, &chain, out);
            }
        }
        off += size(row);
    }
}

/// One object of a dense storage: its heap ID in the file, its bytes and
/// its name.
struct Stored {
    id: Vec<u8>,
    bytes: Vec<u8>,
    name: Vec<u8>,
}

/// Re-encodes the fractal heap at `heap_addr` from `objects` (in insertion
/// order) with the file's addresses and compares: the heap IDs, the header
/// (after putting the file's free-space manager address in), every direct
/// block, the root indirect block, huge objects and their B-tree.
fn check_heap(data: &[u8], ctx: &FileCtx, heap_addr: u64, params: &HeapParams, objects: &[Stored]) {
    let heap = FractalHeap::read(ctx, heap_addr).unwrap();
    assert_eq!(
        (
            heap.id_len,
            heap.max_managed_size,
            heap.table_width,
            heap.start_block_size,
            heap.max_direct_size,
            heap.max_heap_bits,
            heap.start_root_rows,
            heap.checksummed_blocks(),
        ),
        (
            params.id_len,
            params.max_managed_size,
            params.table_width,
            params.start_block_size,
            params.max_direct_size,
            params.max_heap_bits,
            params.start_root_rows,
            params.checksum_direct_blocks,
        ),
        "libhdf5's parameters of the heap at {heap_addr:#x}"
    );
    // the file's addresses, in the encoder's allocation order: header,
    // then for each object in insertion order the direct block it is the
    // first to land in, or its own block if huge; the root indirect block;
    // the huge-object B-tree
    let o = ctx.sizes.offset as usize;
    let mut addrs = vec![heap_addr];
    let root = heap.root.expect("root block");
    // every allocated direct block: heap offset, size, address and the
    // child indirect blocks above it (outermost first)
    let mut direct = Vec::new();
    if heap.root_rows == 0 {
        direct.push((0, heap.start_block_size, root, Vec::new()));
    } else {
        collect_direct(ctx, &heap, root, 0, heap.root_rows as u64, &[], &mut direct);
    }
    let mut huge = Vec::new();
    let mut huge_tree = None;
    if let Some(bt) = heap.huge_btree {
        let t = BTreeV2::read(ctx, bt).unwrap();
        for r in t.records(ctx).unwrap() {
            huge.push(HugeObject::decode(t.record_type, &r, ctx.sizes, bt).unwrap());
        }
        huge_tree = Some(t);
    }
    let ow = heap.id_offset_width();
    let mut seen = std::collections::HashSet::new();
    for s in objects {
        match s.id[0] >> 4 {
            0 => {
                let off = le_uint(&s.id[1..1 + ow]);
                let b = direct
                    .iter()
                    .find(|d| d.0 <= off && off < d.0 + d.1)
                    .expect("block of a managed object");
                for &i in &b.3 {
                    if seen.insert(i) {
                        addrs.push(i);
                    }
                }
                if seen.insert(b.2) {
                    addrs.push(b.2);
                }
            }
            1 => {
                let key = le_uint(&s.id[1..(heap.id_len as usize).min(9)]);
                let h = huge
                    .iter()
                    .find(|h| h.id == Some(key))
                    .expect("huge record");
                addrs.push(h.addr);
            }
            t => panic!("heap ID type {t}"),
        }
    }
    if heap.root_rows > 0 {
        addrs.push(root);
    }
    if let Some(t) = huge_tree {
        addrs.push(t.addr);
        addrs.extend(node_addrs(ctx, &t));
    }
    let objs: Vec<&[u8]> = objects.iter().map(|s| &s.bytes[..]).collect();
    let mut a = Replay::new(addrs, data.len() as u64);
    let img = encode_heap(params, &objs, ctx.sizes, &mut a).unwrap();
    assert!(
        a.addrs.is_empty(),
        "fewer blocks than the heap at {heap_addr:#x}"
    );
    for (s, id) in objects.iter().zip(&img.ids) {
        assert_eq!(&s.id, id, "heap ID of {}", String::from_utf8_lossy(&s.name));
    }
    for (i, (at, bytes)) in img.blocks.iter().enumerate() {
        let mut bytes = bytes.clone();
        let file = &data[*at as usize..*at as usize + bytes.len()];
        if i == 0 {
            // the free-space manager address, 38 bytes in with 8-byte
            // lengths and offsets: libhdf5's, then the checksum again
            assert_eq!(&bytes[38..38 + o], &[0xff; 8][..o]);
            bytes[38..38 + o].copy_from_slice(&file[38..38 + o]);
            let n = bytes.len() - 4;
            let sum = lookup3(&bytes[..n], 0);
            bytes[n..].copy_from_slice(&sum.to_le_bytes());
        }
        assert!(
            file == &bytes[..],
            "heap at {heap_addr:#x}: block {i} at {at:#x} differs:\n ours {:02x?}\n file {:02x?}",
            &bytes[..bytes.len().min(96)],
            &file[..file.len().min(96)]
        );
    }
}

/// The dense links of a group: heap, index records, objects in creation
/// order (by `order`), checked against the encoders.
fn check_links(data: &[u8], path: &str, order: fn(&Link) -> u64) {
    let (ctx, root) = open(data);
    let oh = resolve(&ctx, root, path);
    let info = message(&ctx, &oh, msg::LINK_INFO, LinkInfo::decode).expect("link info");
    let heap_addr = info.heap.expect("dense links");
    let heap = FractalHeap::read(&ctx, heap_addr).unwrap();
    let names = BTreeV2::read(&ctx, info.name_index.unwrap()).unwrap();
    let mut stored = Vec::new();
    let mut keys = Vec::new();
    for r in names.records(&ctx).unwrap() {
        let rec = LinkNameRecord::decode(&r, names.addr).unwrap();
        let bytes = heap.object(&ctx, rec.heap_id).unwrap().to_vec();
        let link = Link::from_message(&bytes, heap_addr, ctx.sizes).unwrap();
        // the record encoder gives the file's record back
        assert_eq!(
            LinkNameRecord::new(link.name.as_bytes(), rec.heap_id).encode(),
            r
        );
        keys.push(order(&link));
        stored.push(Stored {
            id: rec.heap_id.to_vec(),
            bytes,
            name: link.name.into_bytes(),
        });
    }
    let mut idx: Vec<usize> = (0..stored.len()).collect();
    idx.sort_by_key(|&i| keys[i]);
    let stored: Vec<Stored> = idx
        .into_iter()
        .map(|i| {
            std::mem::replace(
                &mut stored[i],
                Stored {
                    id: vec![],
                    bytes: vec![],
                    name: vec![],
                },
            )
        })
        .collect();
    check_heap(data, &ctx, heap_addr, &HeapParams::links(), &stored);
    let recs: Vec<(RecordKey, Vec<u8>)> = stored
        .iter()
        .map(|s| {
            let r = LinkNameRecord::new(&s.name, &s.id).encode();
            (RecordKey::name(&s.name), r)
        })
        .collect();
    check_tree(data, &ctx, names.addr, &BTreeV2Params::link_names(7), &recs);
    if let Some(t) = info.order_index {
        let tree = BTreeV2::read(&ctx, t).unwrap();
        let mut recs = Vec::new();
        for s in &stored {
            let link = Link::from_message(&s.bytes, heap_addr, ctx.sizes).unwrap();
            let r = LinkOrderRecord {
                order: link.creation_order.expect("creation order"),
                heap_id: &s.id,
            };
            recs.push((r.key(), r.encode()));
        }
        // every record of the file's index comes out of the encoder
        let mut ours: Vec<Vec<u8>> = recs.iter().map(|r| r.1.clone()).collect();
        ours.sort();
        let mut theirs = tree.records(&ctx).unwrap();
        theirs.sort();
        assert_eq!(ours, theirs);
        check_tree(data, &ctx, t, &BTreeV2Params::link_orders(7), &recs);
    }
}

/// The dense attributes of an object, checked as [`check_links`] does.
fn check_attributes(data: &[u8], path: &str, order: fn(&str) -> u64) {
    let (ctx, root) = open(data);
    let oh = resolve(&ctx, root, path);
    let info =
        message(&ctx, &oh, msg::ATTRIBUTE_INFO, AttributeInfo::decode).expect("attribute info");
    let heap_addr = info.heap.expect("dense attributes");
    let heap = FractalHeap::read(&ctx, heap_addr).unwrap();
    let names = BTreeV2::read(&ctx, info.name_index.unwrap()).unwrap();
    let mut stored = Vec::new();
    for r in names.records(&ctx).unwrap() {
        let rec = AttributeNameRecord::decode(&r, names.addr).unwrap();
        let bytes = heap.object(&ctx, rec.heap_id).unwrap().to_vec();
        let a = RawAttribute::decode(&mut Cursor::new(&bytes, heap_addr, ctx.sizes)).unwrap();
        let name = a.name.clone();
        let again = AttributeNameRecord::new(name.as_bytes(), rec.heap_id, rec.flags, rec.order);
        assert_eq!(again.encode(), r);
        stored.push((
            order(&name),
            rec.flags,
            rec.order,
            Stored {
                id: rec.heap_id.to_vec(),
                bytes,
                name: name.into_bytes(),
            },
        ));
    }
    stored.sort_by_key(|s| s.0);
    let objs: Vec<Stored> = stored
        .iter()
        .map(|s| Stored {
            id: s.3.id.clone(),
            bytes: s.3.bytes.clone(),
            name: s.3.name.clone(),
        })
        .collect();
    check_heap(data, &ctx, heap_addr, &HeapParams::attributes(), &objs);
    let recs: Vec<(RecordKey, Vec<u8>)> = stored
        .iter()
        .map(|(_, flags, order, s)| {
            let r = AttributeNameRecord::new(&s.name, &s.id, *flags, *order).encode();
            (RecordKey::name(&s.name), r)
        })
        .collect();
    check_tree(
        data,
        &ctx,
        names.addr,
        &BTreeV2Params::attribute_names(8),
        &recs,
    );
    if let Some(t) = info.order_index {
        let recs: Vec<(RecordKey, Vec<u8>)> = stored
            .iter()
            .map(|(_, flags, order, s)| {
                let r = AttributeOrderRecord {
                    heap_id: &s.id,
                    flags: *flags,
                    order: *order,
                };
                (r.key(), r.encode())
            })
            .collect();
        check_tree(data, &ctx, t, &BTreeV2Params::attribute_orders(8), &recs);
    }
}

/// The number in a name such as `g042` or `l1299`.
fn number(name: &str) -> u64 {
    name.trim_start_matches(|c: char| !c.is_ascii_digit())
        .parse()
        .unwrap_or(u64::MAX)
}

#[test]
fn link_heap_and_name_index_of_100_links() {
    let data = load("tests/data/heap_btree2.h5");
    check_links(&data, "/dense", |l| number(&l.name));
}

#[test]
fn link_heap_name_and_order_indexes() {
    let data = load("tests/data/heap_btree2.h5");
    check_links(&data, "/ordered", |l| l.creation_order.unwrap());
}

#[test]
fn name_index_of_depth_2() {
    let data = load("tests/data/deep_btree2.h5");
    check_links(&data, "/deep", |l| number(&l.name));
}

#[test]
fn attribute_heap_with_a_huge_object() {
    // a00..a29, then "big" (66000 bytes of data: a huge object)
    let data = load("tests/data/heap_btree2.h5");
    check_attributes(&data, "/", number);
}

#[test]
fn attribute_heap_name_and_order_indexes() {
    let data = load("tests/data/heap_btree2.h5");
    check_attributes(&data, "/ordered", number);
}

/// A v2 B-tree chunk index: the file's records, decoded and encoded again,
/// then laid out in insertion order: the order of the flat chunk indices
/// in the dataset's attribute "order" if it has one, else key order (the
/// order in which libhdf5 writes the chunks of a whole dataset).
fn check_chunks(data: &[u8], path: &str) {
    let (ctx, root) = open(data);
    let oh = resolve(&ctx, root, path);
    let m = oh.find(msg::LAYOUT).unwrap();
    let Layout::Chunked(layout) = Layout::from_message(&m.data, m.addr, ctx.sizes).unwrap() else {
        panic!("{path} is not chunked")
    };
    let s = oh.find(msg::DATASPACE).unwrap();
    let rank = Dataspace::from_message(&s.data, s.addr, ctx.sizes)
        .unwrap()
        .dims
        .len();
    let addr = layout.address.unwrap();
    let t = BTreeV2::read(&ctx, addr).unwrap();
    let o = ctx.sizes.offset as usize;
    let width = (t.record_type == 11).then(|| t.record_size as usize - o - 4 - 8 * rank);
    let mut recs = Vec::new();
    for r in t.records(&ctx).unwrap() {
        let c = ChunkRecordV2::decode(&r, ctx.sizes, rank, width, addr).unwrap();
        assert_eq!(c.encode(ctx.sizes, width).unwrap(), r);
        recs.push((c.scaled.clone(), c.key(), r));
    }
    let order: Option<Vec<u64>> = oh.all(msg::ATTRIBUTE).find_map(|m| {
        let a = RawAttribute::decode(&mut Cursor::new(&m.data, m.addr, ctx.sizes)).ok()?;
        (a.name == "order").then(|| {
            a.data
                .chunks_exact(4)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as u64)
                .collect()
        })
    });
    if let Some(order) = order {
        let cols = recs.iter().map(|r| r.0[1] + 1).max().unwrap_or(1);
        let pos: std::collections::HashMap<u64, usize> =
            order.iter().enumerate().map(|(i, &f)| (f, i)).collect();
        recs.sort_by_key(|r| pos[&(r.0[0] * cols + r.0[1])]);
    }
    let recs: Vec<(RecordKey, Vec<u8>)> = recs.into_iter().map(|r| (r.1, r.2)).collect();
    check_tree(
        data,
        &ctx,
        addr,
        &BTreeV2Params::chunks(ctx.sizes, rank, width),
        &recs,
    );
}

#[test]
fn varied_links_fill_by_best_fit() {
    let data = load("fixtures/dense/dense.h5");
    check_links(&data, "/varied", |l| l.creation_order.unwrap());
}

#[test]
fn skipped_blocks_are_filled_later() {
    let data = load("fixtures/dense/dense.h5");
    check_links(&data, "/skipping", |l| number(&l.name));
}

#[test]
fn huge_link() {
    let data = load("fixtures/dense/dense.h5");
    check_links(&data, "/hugelink", |l| number(&l.name));
}

#[test]
fn attributes_of_many_sizes() {
    let data = load("fixtures/dense/dense.h5");
    check_attributes(&data, "/attrs", number);
}

#[test]
fn chunk_indexes() {
    let data = load("tests/data/heap_btree2.h5");
    check_chunks(&data, "/chunked/plain");
    check_chunks(&data, "/chunked/gzip");
    let data = load("tests/data/heap_btree2_v110.h5");
    check_chunks(&data, "/chunked/plain");
    check_chunks(&data, "/chunked/gzip");
    // 400 chunks written in a shuffled order
    let data = load("fixtures/dense/dense.h5");
    check_chunks(&data, "/chunks");
    check_chunks(&data, "/zchunks");
}

/// Writes `c.h5`: 6400 one-element chunks written in a shuffled order,
/// the order in the attribute "order" (a chunk index of depth 2, where
/// `H5B2_update` and `H5B2_insert` leave different trees).
const DEEP_CHUNKS: &str = r#"
import os, random, sys
import h5py, numpy as np
rnd = random.Random(5)
path = os.path.join(sys.argv[1], "c.h5")
with h5py.File(path, "w", libver="latest", rdcc_nbytes=0) as f:
    n = 80
    ds = f.create_dataset("c", shape=(n, n), dtype="i1", chunks=(1, 1),
                          maxshape=(None, None))
    order = [(r, c) for r in range(n) for c in range(n)]
    rnd.shuffle(order)
    ds.attrs["order"] = np.array([r * n + c for r, c in order], dtype="<i4")
    for r, c in order:
        ds[r, c] = 1
"#;

#[test]
fn chunk_index_of_depth_2() {
    let dir = common::scratch("format_encode_dense");
    common::run_python(DEEP_CHUNKS, &dir);
    let data = std::fs::read(dir.join("c.h5")).unwrap();
    let (ctx, root) = open(&data);
    let oh = resolve(&ctx, root, "/c");
    let m = oh.find(msg::LAYOUT).unwrap();
    let Layout::Chunked(layout) = Layout::from_message(&m.data, m.addr, ctx.sizes).unwrap() else {
        panic!("not chunked")
    };
    assert_eq!(
        BTreeV2::read(&ctx, layout.address.unwrap()).unwrap().depth,
        2
    );
    check_chunks(&data, "/c");
}

/// Writes `l.h5`: a group of 25000 soft links (13-byte link messages,
/// 325 000 bytes): the heap's root indirect block fills its first 8 rows
/// and doubles to 16, half of them rows of child indirect blocks.
const MANY_LINKS: &str = r#"
import os, sys
import h5py
with h5py.File(os.path.join(sys.argv[1], "l.h5"), "w", libver="latest") as f:
    g = f.create_group("big")
    for i in range(25000):
        g["l%05d" % i] = h5py.SoftLink("/")
"#;

#[test]
fn link_heap_of_16_root_rows() {
    let dir = common::scratch("format_encode_dense_links");
    common::run_python(MANY_LINKS, &dir);
    let data = std::fs::read(dir.join("l.h5")).unwrap();
    let (ctx, root) = open(&data);
    let oh = resolve(&ctx, root, "/big");
    let info = message(&ctx, &oh, msg::LINK_INFO, LinkInfo::decode).unwrap();
    let heap = FractalHeap::read(&ctx, info.heap.unwrap()).unwrap();
    assert_eq!(heap.root_rows, 16);
    check_links(&data, "/big", |l| number(&l.name));
}

/// Writes `c.h5`: a group of 45000 soft links (585 000 bytes of link
/// messages): past the root's rows of direct blocks, into child indirect
/// blocks.
const MORE_LINKS: &str = r#"
import os, sys
import h5py
with h5py.File(os.path.join(sys.argv[1], "c.h5"), "w", libver="latest") as f:
    g = f.create_group("big")
    for i in range(45000):
        g["l%05d" % i] = h5py.SoftLink("/")
"#;

#[test]
fn link_heap_with_child_indirect_blocks() {
    let dir = common::scratch("format_encode_dense_child");
    common::run_python(MORE_LINKS, &dir);
    let data = std::fs::read(dir.join("c.h5")).unwrap();
    let (ctx, root) = open(&data);
    let oh = resolve(&ctx, root, "/big");
    let info = message(&ctx, &oh, msg::LINK_INFO, LinkInfo::decode).unwrap();
    let heap = FractalHeap::read(&ctx, info.heap.unwrap()).unwrap();
    assert!(heap.managed_space > 524288);
    check_links(&data, "/big", |l| number(&l.name));
}
