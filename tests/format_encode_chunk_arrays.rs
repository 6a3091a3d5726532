//! The encode side of the fixed-array and extensible-array chunk indexes
//! against files written by libhdf5 (through h5py): every such index is
//! decoded, re-encoded from its chunk records at the addresses the file
//! used, and compared with the file's bytes.
//!
//! Fixtures: `fixtures/chunk_arrays/*.h5` (made by
//! `fixtures/chunk_arrays/make.py`) and the chunk array files of
//! `tests/data` (made by `tests/data/make_chunk_arrays.py`).
//!
//! The allocator hands out the file's block addresses in the order the
//! encoder asks for them: header, then (fixed array) the data block, or
//! (extensible array) the index block, the data blocks it lists, and each
//! super block followed by its data blocks. Every block the encoder emits
//! (headers, index, super and data blocks, written pages) must equal the
//! file's bytes, and every block of the file must be requested.

use std::collections::BTreeMap;
use std::path::PathBuf;

use h5rs::Limits;
use h5rs::format::alloc::{Allocator, Blocks};
use h5rs::format::chunk_index::extensible_array::{self, ExtensibleArrayHeader};
use h5rs::format::chunk_index::fixed_array::{self, FixedArrayHeader};
use h5rs::format::chunk_index::{self, IndexParams};
use h5rs::format::dataspace::Dataspace;
use h5rs::format::layout::{ChunkIndexKind, ChunkedLayout, Layout};
use h5rs::format::link::{Link, LinkTarget};
use h5rs::format::object_header::{ObjectHeader, msg};
use h5rs::format::superblock::Superblock;
use h5rs::format::{Cursor, FileCtx, Sizes};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// What a dataset's header says, decoded.
struct Dataset {
    space: Dataspace,
    layout: ChunkedLayout,
    filtered: bool,
}

/// Every chunked dataset linked from the root group, by name.
fn datasets(ctx: &FileCtx, root: u64) -> BTreeMap<String, Dataset> {
    let root = ObjectHeader::read(ctx, root).unwrap();
    let mut out = BTreeMap::new();
    for m in root.all(msg::LINK) {
        let link = Link::from_message(&m.data, m.addr, ctx.sizes).unwrap();
        let LinkTarget::Hard(addr) = link.target else {
            continue;
        };
        let h = ObjectHeader::read(ctx, addr).unwrap();
        let (Some(s), Some(l)) = (h.find(msg::DATASPACE), h.find(msg::LAYOUT)) else {
            continue;
        };
        let space = Dataspace::from_message(&s.data, s.addr, ctx.sizes).unwrap();
        let Layout::Chunked(layout) = Layout::from_message(&l.data, l.addr, ctx.sizes).unwrap()
        else {
            continue;
        };
        let filtered = h.find(msg::FILTER_PIPELINE).is_some();
        out.insert(
            link.name,
            Dataset {
                space,
                layout,
                filtered,
            },
        );
    }
    out
}

/// Hands out recorded addresses in order.
struct Replay {
    addrs: Vec<u64>,
    next: usize,
}

impl Allocator for Replay {
    fn alloc(&mut self, _len: u64) -> u64 {
        let a = self.addrs.get(self.next).copied().unwrap_or(u64::MAX);
        self.next += 1;
        a
    }
}

/// The address of the `i`th address field after `skip` bytes of the
/// block at `at`.
fn addresses(ctx: &FileCtx, at: u64, skip: u64, n: u64) -> Vec<Option<u64>> {
    let o = ctx.sizes.offset as u64;
    let mut c: Cursor = ctx.cursor(at + skip, n * o, "addresses").unwrap();
    (0..n).map(|_| c.address_field().unwrap()).collect()
}

/// The file's blocks of the fixed array at `h`, in allocation order.
fn fixed_array_blocks(ctx: &FileCtx, h: u64) -> Vec<u64> {
    let header = FixedArrayHeader::read(ctx, h).unwrap();
    std::iter::once(h).chain(header.data_block).collect()
}

/// The file's blocks of the extensible array at `h`, in the encoder's
/// allocation order.
fn extensible_array_blocks(ctx: &FileCtx, h: u64) -> Vec<u64> {
    let hd = ExtensibleArrayHeader::read(ctx, h).unwrap();
    let mut out = vec![h];
    let Some(ib) = hd.index_block else {
        return out;
    };
    out.push(ib);
    let o = ctx.sizes.offset as u64;
    let prefix = 6 + o;
    let m = hd.data_block_min_entries as u64;
    let p = hd.super_block_min_pointers as u64;
    let bits = hd.max_index_bits as u64;
    let supers = 1 + bits - m.trailing_zeros() as u64;
    let index_supers = 2 * p.trailing_zeros() as u64;
    let index_dblocks = 2 * (p - 1);
    let skip = prefix + hd.index_block_entries as u64 * hd.entry_size as u64;
    let listed = addresses(ctx, ib, skip, index_dblocks + supers - index_supers);
    let (dblocks, sblocks) = listed.split_at(index_dblocks as usize);
    out.extend(dblocks.iter().flatten());
    let page = 1u64 << hd.page_bits;
    for (i, sb) in sblocks.iter().enumerate() {
        let Some(sb) = *sb else { continue };
        let s = index_supers + i as u64;
        let n_dblocks = 1u64 << (s / 2);
        let entries = m << s.div_ceil(2);
        let pages = if entries > page { entries / page } else { 0 };
        let skip = prefix + bits.div_ceil(8) + n_dblocks * pages.div_ceil(8);
        out.push(sb);
        out.extend(addresses(ctx, sb, skip, n_dblocks).into_iter().flatten());
    }
    out
}

/// Re-encodes every fixed and extensible array of `file`; returns what
/// was checked (name, kind, chunks, blocks).
fn check_file(file: &str) -> Vec<(String, &'static str, usize, usize)> {
    let data = std::fs::read(root().join(file)).unwrap();
    let sb = Superblock::read(&data).unwrap();
    let ctx = FileCtx {
        data: &data,
        base: sb.base_address,
        sizes: sb.sizes,
        limits: Limits::default(),
    };
    let mut seen = Vec::new();
    for (short, d) in datasets(&ctx, sb.root) {
        let name = format!("{file}/{short}");
        let p = IndexParams {
            layout: &d.layout,
            dims: &d.space.dims,
            max_dims: &d.space.max_dims,
            filtered: d.filtered,
        };
        let Some(h) = d.layout.address else { continue };
        let (kind, addrs) = match d.layout.index {
            ChunkIndexKind::FixedArray { .. } => ("fixed", fixed_array_blocks(&ctx, h)),
            ChunkIndexKind::ExtensibleArray { .. } => {
                assert_eq!(
                    d.layout.index,
                    extensible_array::LIBHDF5_INDEX,
                    "{name}: creation parameters"
                );
                ("extensible", extensible_array_blocks(&ctx, h))
            }
            _ => continue,
        };
        if kind == "fixed" {
            assert_eq!(
                d.layout.index,
                ChunkIndexKind::FixedArray {
                    page_bits: fixed_array::LIBHDF5_PAGE_BITS
                },
                "{name}"
            );
        }
        let records = chunk_index::all_chunks(&ctx, &p).unwrap();
        let mut alloc = Replay {
            addrs: addrs.clone(),
            next: 0,
        };
        let (got_h, blocks): (u64, Blocks) = match kind {
            "fixed" => fixed_array::encode(&records, &p, ctx.sizes, &mut alloc),
            _ => extensible_array::encode(&records, &p, ctx.sizes, &mut alloc),
        }
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(got_h, h, "{name}: header address");
        assert_eq!(alloc.next, addrs.len(), "{name}: blocks requested");
        for (at, bytes) in &blocks {
            let file_bytes = ctx.slice(*at, bytes.len() as u64, "block").unwrap();
            if file_bytes != bytes.as_slice() {
                let first = file_bytes.iter().zip(bytes).position(|(a, b)| a != b);
                panic!(
                    "{name}: block at {at:#x} ({} bytes, {:?}) differs from byte {first:?}",
                    bytes.len(),
                    String::from_utf8_lossy(&bytes[..4.min(bytes.len())])
                );
            }
        }
        seen.push((short, kind, records.len(), blocks.len()));
    }
    seen
}

#[test]
fn fixed_arrays_re_encode_byte_for_byte() {
    let seen = check_file("fixtures/chunk_arrays/fa_latest.h5");
    let summary: Vec<_> = seen
        .iter()
        .map(|(n, k, r, b)| (n.as_str(), *k, *r, *b))
        .collect();
    assert_eq!(
        summary,
        vec![
            // Emptied by a resize: libhdf5 drops the data block.
            ("fa_emptied", "fixed", 0, 1),
            ("fa_full", "fixed", 12, 2),
            ("fa_gzip", "fixed", 30, 2),
            ("fa_gzip_holes", "fixed", 4, 2),
            // Header, data block, two pages.
            ("fa_paged_gzip", "fixed", 1500, 4),
            // Header, data block, pages 0 and 2 (page 1 never written).
            ("fa_paged_sparse", "fixed", 505, 4),
            ("fa_shrunk", "fixed", 12, 2),
        ]
    );
}

#[test]
fn extensible_arrays_re_encode_byte_for_byte() {
    let seen = check_file("fixtures/chunk_arrays/ea_latest.h5");
    let summary: Vec<_> = seen
        .iter()
        .map(|(n, k, r, b)| (n.as_str(), *k, *r, *b))
        .collect();
    assert_eq!(
        summary,
        vec![
            // Header, index block, the data block of super block 0.
            ("ea_1d", "extensible", 13, 3),
            ("ea_2d_gzip", "extensible", 80, 5),
            ("ea_3d", "extensible", 32, 5),
            // The index block's 6 data blocks, super blocks 4 and 5 (4
            // data blocks each), super block 6 with 2 data blocks.
            ("ea_gzip_many", "extensible", 1200, 21),
            // ... super block 6 full (8), super block 7 with 2.
            ("ea_many", "extensible", 2500, 30),
            // The 6, super block 4 with 1 data block, then super block 13
            // with 3 paged data blocks, one page written in each.
            ("ea_paged_sparse", "extensible", 324, 17),
            // Shrunk from 300 chunks to 10: libhdf5 removed the blocks past
            // the extent and lowered "max index set".
            ("ea_shrunk", "extensible", 10, 3),
        ]
    );
}

#[test]
fn layout_version_4_and_other_widths_re_encode_byte_for_byte() {
    for f in [
        "fixtures/chunk_arrays/v110.h5",
        "fixtures/chunk_arrays/sizes48.h5",
    ] {
        let seen = check_file(f);
        assert_eq!(seen.len(), 4, "{f}");
    }
}

#[test]
fn chunk_array_test_files_re_encode_byte_for_byte() {
    let mut n = 0;
    for f in [
        "tests/data/chunk_arrays_latest.h5",
        "tests/data/chunk_arrays_latest_ea.h5",
        "tests/data/chunk_arrays_v110.h5",
        "tests/data/chunk_arrays_sizes48.h5",
    ] {
        n += check_file(f).len();
    }
    assert_eq!(n, 5 + 4 + 3 + 3);
}

#[test]
fn sizes_are_those_of_the_file() {
    // 4-byte addresses: the test allocator replays them as such.
    let data = std::fs::read(root().join("fixtures/chunk_arrays/sizes48.h5")).unwrap();
    let sb = Superblock::read(&data).unwrap();
    assert_eq!(sb.sizes, Sizes::new(4, 8).unwrap());
}
