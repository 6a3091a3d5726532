//! Fixed-array and extensible-array chunk indexes of files written by
//! libhdf5 (tests/data/make_chunk_arrays.py), read through the format layer
//! only: superblock, root group links, dataset header messages, then
//! `chunk_index::all_chunks`.
//!
//! Every dataset holds little-endian u32 values equal to the element's
//! row-major flat index, so each chunk's contents are known from its
//! coordinates; filtered chunks are inflated (gzip) before comparing.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::PathBuf;

use h5rs::Limits;
use h5rs::format::chunk_index::{self, ChunkRecord, IndexParams};
use h5rs::format::dataspace::Dataspace;
use h5rs::format::filter_pipeline::{self, FilterInfo};
use h5rs::format::layout::{ChunkIndexKind, ChunkedLayout, Layout};
use h5rs::format::link::{Link, LinkTarget};
use h5rs::format::object_header::{ObjectHeader, msg};
use h5rs::format::superblock::Superblock;
use h5rs::format::{Cursor, FileCtx};

fn data_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// What a dataset's header says, decoded.
struct Dataset {
    space: Dataspace,
    layout: ChunkedLayout,
    filters: Vec<FilterInfo>,
}

/// Every dataset linked from the root group, by name.
fn datasets(ctx: &FileCtx, root: u64) -> BTreeMap<String, Dataset> {
    let root = ObjectHeader::read(ctx, root).unwrap();
    let mut out = BTreeMap::new();
    for m in root.all(msg::LINK) {
        let link = Link::from_message(&m.data, m.addr, ctx.sizes).unwrap();
        let LinkTarget::Hard(addr) = link.target else {
            panic!("{}: not a hard link", link.name);
        };
        let h = ObjectHeader::read(ctx, addr).unwrap();
        let one = |kind| {
            h.find(kind)
                .unwrap_or_else(|| panic!("{}: no message {kind}", link.name))
        };
        let s = one(msg::DATASPACE);
        let space = Dataspace::from_message(&s.data, s.addr, ctx.sizes).unwrap();
        let l = one(msg::LAYOUT);
        let Layout::Chunked(layout) = Layout::from_message(&l.data, l.addr, ctx.sizes).unwrap()
        else {
            panic!("{}: not chunked", link.name);
        };
        let filters = match h.find(msg::FILTER_PIPELINE) {
            Some(f) => {
                filter_pipeline::decode(&mut Cursor::new(&f.data, f.addr, ctx.sizes)).unwrap()
            }
            None => Vec::new(),
        };
        out.insert(
            link.name,
            Dataset {
                space,
                layout,
                filters,
            },
        );
    }
    out
}

/// The element value the generator wrote at `index` (row-major position).
fn value(dims: &[u64], index: &[u64]) -> u32 {
    let flat = index.iter().zip(dims).fold(0u64, |a, (&i, &d)| a * d + i);
    u32::try_from(flat).unwrap()
}

/// Compares a chunk's bytes with what the generator wrote, element by
/// element, for the elements inside the dataset's extent.
fn check_chunk_contents(name: &str, d: &Dataset, rec: &ChunkRecord, bytes: &[u8]) {
    let cdims = &d.layout.dims;
    let n: u64 = cdims.iter().product();
    assert_eq!(
        bytes.len() as u64,
        n * 4,
        "{name} {:?}: chunk size",
        rec.coords
    );
    let mut local = vec![0u64; cdims.len()];
    for k in 0..n as usize {
        // Chunk-local row-major position -> dataset position.
        let mut rem = k as u64;
        for (l, &c) in local.iter_mut().zip(cdims).rev() {
            *l = rem % c;
            rem /= c;
        }
        let global: Vec<u64> = rec
            .coords
            .iter()
            .zip(cdims)
            .zip(&local)
            .map(|((&s, &c), &l)| s * c + l)
            .collect();
        if global.iter().zip(&d.space.dims).any(|(g, n)| g >= n) {
            continue;
        }
        let got = u32::from_le_bytes(bytes[4 * k..4 * k + 4].try_into().unwrap());
        assert_eq!(
            got,
            value(&d.space.dims, &global),
            "{name}: chunk {:?} element {global:?}",
            rec.coords
        );
    }
}

/// Expected coordinates of a dataset with every chunk written.
fn full_grid(d: &Dataset) -> BTreeSet<Vec<u64>> {
    let grid: Vec<u64> = d
        .space
        .dims
        .iter()
        .zip(&d.layout.dims)
        .map(|(&n, &c)| n.div_ceil(c))
        .collect();
    let total: u64 = grid.iter().product();
    (0..total)
        .map(|i| chunk_index::unlinearize(i, &grid))
        .collect()
}

/// 1-D chunks of one element: the written ranges.
fn runs(r: &[(u64, u64)]) -> BTreeSet<Vec<u64>> {
    r.iter()
        .flat_map(|&(lo, hi)| lo..hi)
        .map(|i| vec![i])
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Fixed,
    Extensible,
}

struct Expect {
    name: &'static str,
    kind: Kind,
    layout_version: u8,
    /// `None`: every chunk of the current extent.
    chunks: Option<BTreeSet<Vec<u64>>>,
}

/// Checks every dataset of `file` against `expect` (and that the file
/// holds no others).
fn check_file(file: &str, expect: Vec<Expect>) {
    let data = std::fs::read(data_path(file)).unwrap();
    let sb = Superblock::read(&data).unwrap();
    let ctx = FileCtx {
        data: &data,
        base: sb.base_address,
        sizes: sb.sizes,
        limits: Limits::default(),
    };
    let sets = datasets(&ctx, sb.root);
    let names: BTreeSet<&str> = sets.keys().map(String::as_str).collect();
    let expected_names: BTreeSet<&str> = expect.iter().map(|e| e.name).collect();
    assert_eq!(names, expected_names, "{file}: datasets");
    for e in expect {
        let d = &sets[e.name];
        let name = format!("{file}/{}", e.name);
        check_dataset(&ctx, &name, d, &e);
    }
}

fn check_dataset(ctx: &FileCtx, name: &str, d: &Dataset, e: &Expect) {
    assert_eq!(d.layout.version, e.layout_version, "{name}: layout version");
    match (&d.layout.index, e.kind) {
        (ChunkIndexKind::FixedArray { page_bits }, Kind::Fixed) => assert_eq!(*page_bits, 10),
        (
            ChunkIndexKind::ExtensibleArray {
                max_bits,
                index_elements,
                min_pointers,
                min_elements,
                page_bits,
            },
            Kind::Extensible,
        ) => assert_eq!(
            (
                *max_bits,
                *index_elements,
                *min_pointers,
                *min_elements,
                *page_bits
            ),
            (32, 4, 4, 16, 10),
            "{name}: extensible array parameters"
        ),
        (k, _) => panic!("{name}: index {k:?}, expected {:?}", e.kind),
    }
    assert_eq!(d.layout.element_size, 4, "{name}");
    let filtered = !d.filters.is_empty();
    let p = IndexParams {
        layout: &d.layout,
        dims: &d.space.dims,
        max_dims: &d.space.max_dims,
        filtered,
    };
    let recs = chunk_index::all_chunks(ctx, &p).unwrap_or_else(|err| panic!("{name}: {err}"));
    let coords: BTreeSet<Vec<u64>> = recs.iter().map(|r| r.coords.clone()).collect();
    assert_eq!(coords.len(), recs.len(), "{name}: duplicate coordinates");
    let want = e.chunks.clone().unwrap_or_else(|| full_grid(d));
    assert_eq!(coords, want, "{name}: chunk coordinates");
    let chunk_bytes = d.layout.dims.iter().product::<u64>() * 4;
    let mut raw_chunks = 0;
    for r in &recs {
        let stored = ctx.slice(r.addr, r.size, name).unwrap();
        if !filtered {
            assert_eq!((r.size, r.filter_mask), (chunk_bytes, 0), "{name}");
            check_chunk_contents(name, d, r, stored);
        } else if r.filter_mask & 1 != 0 {
            // gzip skipped for this chunk.
            raw_chunks += 1;
            check_chunk_contents(name, d, r, stored);
        } else {
            assert_eq!(d.filters[0].id, filter_pipeline::id::DEFLATE);
            let mut out = Vec::new();
            flate2::read::ZlibDecoder::new(stored)
                .read_to_end(&mut out)
                .unwrap();
            check_chunk_contents(name, d, r, &out);
        }
    }
    // fa_gzip has one chunk, (1, 1), written with gzip skipped.
    let want_raw = if name.ends_with("/fa_gzip") { 1 } else { 0 };
    assert_eq!(raw_chunks, want_raw, "{name}: chunks with filter mask 1");
    if want_raw == 1 {
        let r = recs.iter().find(|r| r.filter_mask != 0).unwrap();
        assert_eq!((r.coords.clone(), r.filter_mask), (vec![1, 1], 1));
    }
}

fn filtered_expect(layout_version: u8) -> Vec<Expect> {
    vec![
        Expect {
            name: "fa_gzip",
            kind: Kind::Fixed,
            layout_version,
            chunks: None,
        },
        Expect {
            name: "ea_1d_gzip",
            kind: Kind::Extensible,
            layout_version,
            chunks: None,
        },
        Expect {
            name: "ea_dim2_gzip",
            kind: Kind::Extensible,
            layout_version,
            chunks: None,
        },
    ]
}

#[test]
fn latest_format_fixed_and_filtered() {
    let mut expect = filtered_expect(5);
    expect.push(Expect {
        name: "fa",
        kind: Kind::Fixed,
        layout_version: 4,
        chunks: None,
    });
    // Paged data block: pages 0, 1 and 3 (the short last one) written,
    // page 2 not.
    expect.push(Expect {
        name: "fa_paged_sparse",
        kind: Kind::Fixed,
        layout_version: 4,
        chunks: Some(runs(&[(0, 10), (2040, 2048), (3400, 3500)])),
    });
    check_file("chunk_arrays_latest.h5", expect);
}

#[test]
fn latest_format_extensible() {
    let mut expect = Vec::new();
    for name in ["ea_1d", "ea_dim2", "ea_3d"] {
        expect.push(Expect {
            name,
            kind: Kind::Extensible,
            layout_version: 4,
            chunks: None,
        });
    }
    // Super blocks 0 to 5 filled from the start; paged data blocks of
    // super block 13 (entries from 131060) written sparsely.
    expect.push(Expect {
        name: "ea_many_sparse",
        kind: Kind::Extensible,
        layout_version: 4,
        chunks: Some(runs(&[
            (0, 700),
            (131060, 131062),
            (131060 + 3 * 1024 + 5, 131060 + 3 * 1024 + 9),
            (139990, 140000),
        ])),
    });
    check_file("chunk_arrays_latest_ea.h5", expect);
}

#[test]
fn layout_version_4_filtered() {
    check_file("chunk_arrays_v110.h5", filtered_expect(4));
}

#[test]
fn layout_version_5_sizes_of_lengths_not_offsets() {
    // 4-byte addresses, 8-byte lengths: filtered chunk sizes take 8 bytes.
    check_file("chunk_arrays_sizes48.h5", filtered_expect(5));
}
