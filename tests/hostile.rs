//! Hand-made hostile files: structures valid one by one whose combination
//! would make a naive reader allocate without bound.

mod common;

use h5rs::format::layout::Layout;
use h5rs::{Error, File, Limits, Value};

/// Many variable-length elements all pointing at one large heap object:
/// each descriptor is 16 bytes in the file, each decodes to 1 MiB.
#[test]
fn variable_length_elements_sharing_one_heap_object_are_bounded() {
    let dir = common::scratch("hostile-vlen");
    let p = dir.join("a.h5");
    const N: usize = 20_000;
    {
        let f = File::create(&p).unwrap();
        f.write_dataset("big", &["a".repeat(1 << 20)][..]).unwrap();
        f.write_dataset("many", &vec!["x".to_string(); N][..])
            .unwrap();
        f.close().unwrap();
    }
    let (descriptor, at) = {
        let f = File::open(&p).unwrap();
        let d = f.dataset("big").unwrap().read_raw().unwrap();
        let many = f.dataset("many").unwrap();
        let Layout::Contiguous {
            address: Some(at), ..
        } = many.layout_message().clone()
        else {
            panic!("many is not contiguous")
        };
        (d, at as usize)
    };
    assert_eq!(descriptor.len(), 16);
    let mut bytes = std::fs::read(&p).unwrap();
    for i in 0..N {
        bytes[at + 16 * i..at + 16 * (i + 1)].copy_from_slice(&descriptor);
    }

    let limits = Limits {
        max_vlen_bytes: 64 << 20,
        ..Limits::default()
    };
    let f = File::from_bytes_with_limits(bytes, limits).unwrap();
    // the honest dataset fits in the limit
    let big: Vec<String> = f.dataset("big").unwrap().read_raw_vec().unwrap();
    assert_eq!(big[0].len(), 1 << 20);
    // 20,000 × 1 MiB does not
    let many = f.dataset("many").unwrap();
    for r in [
        many.read_raw_vec::<String>().map(|_| ()),
        many.read_raw_vec::<Value>().map(|_| ()),
    ] {
        match r {
            Err(Error::LimitsExceeded(m)) => assert!(m.contains("max_vlen_bytes"), "{m}"),
            other => panic!("expected a limit error, got {other:?}"),
        }
    }
    // a slice within the limit still reads
    let sel = h5rs::Selection::from_slice_elems(ndarray::s![0..10].as_ref(), &[N as u64]).unwrap();
    let some: Vec<String> = many.read_selection_vec(&sel).unwrap();
    assert_eq!(some.len(), 10);
    assert!(some.iter().all(|s| s.len() == 1 << 20));
}

/// Position of the only occurrence of `pat` in `bytes`.
fn only(bytes: &[u8], pat: &[u8]) -> usize {
    let hits: Vec<usize> = bytes
        .windows(pat.len())
        .enumerate()
        .filter(|(_, w)| *w == pat)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(hits.len(), 1, "pattern found {} times", hits.len());
    hits[0]
}

/// A damaged file whose raw data (contiguous storage, a chunk) points at
/// the root group's object header: writing the data in place would
/// destroy the header. Changes to either dataset are refused with a
/// format error; the rest of the file still takes changes, and keeps its
/// root group.
#[test]
fn raw_data_over_an_object_header_is_not_written_in_place() {
    let dir = common::scratch("hostile-raw-over-header");
    let p = dir.join("a.h5");
    {
        let f = File::create(&p).unwrap();
        f.write_dataset("contig", &[0x5a5a_5a5a_5a5a_5a5au64; 4][..])
            .unwrap();
        f.new_dataset::<u64>()
            .unwrap()
            .shape([4])
            .chunk([4])
            .with_data(&[0xa5a5_a5a5_a5a5_a5a5u64; 4][..])
            .create("chunked")
            .unwrap();
        f.write_dataset("fine", &[0u64; 4][..]).unwrap();
        f.close().unwrap();
    }
    let root = File::open(&p).unwrap().root().unwrap().addr();
    let mut bytes = std::fs::read(&p).unwrap();
    for fill in [0x5au8, 0xa5] {
        let data_at = only(&bytes, &[fill; 32]) as u64;
        let ptr = only(&bytes, &data_at.to_le_bytes());
        bytes[ptr..ptr + 8].copy_from_slice(&root.to_le_bytes());
    }
    std::fs::write(&p, &bytes).unwrap();

    let f = File::open_rw(&p).unwrap();
    for name in ["contig", "chunked"] {
        let e = f
            .dataset(name)
            .unwrap()
            .write(&[1u64, 2, 3, 4][..])
            .unwrap_err();
        assert!(
            matches!(&e, Error::Format { what, .. } if what.contains("dataset storage")),
            "{name}: {e}"
        );
    }
    f.dataset("fine")
        .unwrap()
        .write(&[5u64, 6, 7, 8][..])
        .unwrap();
    f.write_attr("after", &1i32).unwrap();
    f.close().unwrap();

    let f = File::open(&p).unwrap();
    assert_eq!(f.attr("after").unwrap().read_scalar::<i32>().unwrap(), 1);
    let v: Vec<u64> = f.dataset("fine").unwrap().read_raw_vec().unwrap();
    assert_eq!(v, [5, 6, 7, 8]);
    assert_eq!(f.member_names().unwrap().len(), 3);
}

/// A damaged file in which two groups share one local heap: adding a link
/// to the second would rewrite the heap's header for it, and the first
/// group's names would then be read from the second's. The second group's
/// change is refused; the first keeps what was added to it.
#[test]
fn a_local_heap_two_groups_claim_is_rewritten_for_one_only() {
    let dir = common::scratch("hostile-shared-heap");
    let p = dir.join("a.h5");
    {
        let f = File::create(&p).unwrap();
        f.create_group("g1").unwrap();
        f.create_group("g2").unwrap();
        f.close().unwrap();
    }
    let mut bytes = std::fs::read(&p).unwrap();
    // the groups' heaps: the "HEAP"s whose address appears once (the
    // root's also sits in the superblock's cache; a heap freed is not
    // pointed at)
    let count = |b: &[u8], a: u64| b.windows(8).filter(|w| *w == a.to_le_bytes()).count();
    let heaps: Vec<u64> = bytes
        .windows(4)
        .enumerate()
        .filter(|(_, w)| *w == b"HEAP")
        .map(|(i, _)| i as u64)
        .filter(|&h| count(&bytes, h) == 1)
        .collect();
    assert_eq!(heaps.len(), 2);
    let ptr = only(&bytes, &heaps[1].to_le_bytes());
    bytes[ptr..ptr + 8].copy_from_slice(&heaps[0].to_le_bytes());
    std::fs::write(&p, &bytes).unwrap();

    let f = File::open_rw(&p).unwrap();
    f.create_group("g1/x").unwrap();
    let e = f.create_group("g2/y").unwrap_err();
    assert!(matches!(&e, Error::Format { .. }), "{e}");
    f.close().unwrap();
    let f = File::open(&p).unwrap();
    assert_eq!(f.group("g1").unwrap().member_names().unwrap(), ["x"]);
}

/// Two datasets of a damaged file sharing one contiguous block: the first
/// written keeps it, a write to the second is refused.
#[test]
fn contiguous_storage_two_datasets_claim_is_written_for_one_only() {
    let dir = common::scratch("hostile-shared-storage");
    let p = dir.join("a.h5");
    {
        let f = File::create(&p).unwrap();
        f.write_dataset("a", &[0x1111_1111_1111_1111u64; 4][..])
            .unwrap();
        f.write_dataset("b", &[0x2222_2222_2222_2222u64; 4][..])
            .unwrap();
        f.close().unwrap();
    }
    let mut bytes = std::fs::read(&p).unwrap();
    let a_at = only(&bytes, &[0x11; 32]) as u64;
    let b_at = only(&bytes, &[0x22; 32]) as u64;
    let ptr = only(&bytes, &b_at.to_le_bytes());
    bytes[ptr..ptr + 8].copy_from_slice(&a_at.to_le_bytes());
    std::fs::write(&p, &bytes).unwrap();

    let f = File::open_rw(&p).unwrap();
    f.dataset("a").unwrap().write(&[1u64, 2, 3, 4][..]).unwrap();
    // again, after the header moved (attributes added)
    for i in 0..20 {
        f.dataset("a")
            .unwrap()
            .write_attr(&format!("attr{i}"), &[i as f64; 16][..])
            .unwrap();
    }
    f.dataset("a").unwrap().write(&[1u64, 2, 3, 5][..]).unwrap();
    let e = f
        .dataset("b")
        .unwrap()
        .write(&[5u64, 6, 7, 8][..])
        .unwrap_err();
    assert!(matches!(&e, Error::Format { .. }), "{e}");
    // every later change to it is refused the same way (the dataset is
    // not loaded again), and so are none of the others'
    let again = f.dataset("b").unwrap().write_attr("x", &1i32).unwrap_err();
    assert_eq!(again.to_string(), e.to_string());
    f.dataset("a").unwrap().write_attr("x", &1i32).unwrap();
    f.close().unwrap();
    let f = File::open(&p).unwrap();
    let a: Vec<u64> = f.dataset("a").unwrap().read_raw_vec().unwrap();
    assert_eq!(a, [1, 2, 3, 5]);
    assert_eq!(f.dataset("a").unwrap().attr_names().unwrap().len(), 21);
    assert!(f.dataset("b").unwrap().attr_names().unwrap().is_empty());
}

/// A damaged file whose implicit-index dataset (libhdf5's early
/// allocation, 10 chunks of 10 `i32` in one block) declares an unlimited
/// maximum size, which an implicit index never has: its grid is then the
/// grid over the current size, for writing as for reading, so chunks
/// written go back to their places in the block and nothing past it is
/// overwritten. Grown, it moves to a block for the larger grid.
#[test]
fn implicit_index_with_an_unlimited_maximum_is_written_in_its_block() {
    let dir = common::scratch("hostile-implicit-unlimited");
    let p = dir.join("a.h5");
    let src =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/chunk_index_latest.h5");
    let mut bytes = std::fs::read(&src).unwrap();
    // the dataset's v2 object header: its first chunk, checksum after it
    let ohdr = File::open(&src)
        .unwrap()
        .dataset("implicit")
        .unwrap()
        .addr();
    let (ohdr, end) = {
        let sb = h5rs::format::superblock::Superblock::read(&bytes).unwrap();
        let ctx = h5rs::format::FileCtx {
            data: &bytes,
            base: sb.position,
            sizes: sb.sizes,
            limits: Limits::default(),
        };
        let raw = h5rs::format::object_header::RawHeader::read(&ctx, ohdr).unwrap();
        let first = &raw.chunks[0];
        let at = |a: u64| usize::try_from(sb.position + a).unwrap();
        (at(ohdr), at(first.addr + first.len))
    };
    // its dataspace message: version 2, rank 1, maximum present, simple;
    // size 100, maximum 100
    let mut space = vec![2u8, 1, 1, 1];
    space.extend(100u64.to_le_bytes());
    space.extend(100u64.to_le_bytes());
    let at = ohdr + only(&bytes[ohdr..end], &space);
    bytes[at + 12..at + 20].fill(0xff);
    let sum = h5rs::format::checksum::lookup3(&bytes[ohdr..end], 0);
    bytes[end..end + 4].copy_from_slice(&sum.to_le_bytes());
    std::fs::write(&p, &bytes).unwrap();

    let f = File::open(&p).unwrap();
    let d = f.dataset("implicit").unwrap();
    assert_eq!(d.maxshape(), [None]);
    let before = d.read_1d::<i32>().unwrap();
    let block = match d.layout_message() {
        Layout::Chunked(c) => c.address.unwrap(),
        l => panic!("not chunked: {l:?}"),
    };
    let others: Vec<(String, Vec<u8>)> = f
        .member_names()
        .unwrap()
        .into_iter()
        .filter(|n| n != "implicit")
        .map(|n| {
            let raw = f.dataset(&n).unwrap().read_raw().unwrap();
            (n, raw)
        })
        .collect();
    drop(f);

    let f = File::open_rw(&p).unwrap();
    f.dataset("implicit")
        .unwrap()
        .write_slice(&[-7i32; 15][..], ndarray::s![5..20])
        .unwrap();
    f.new_dataset::<i64>()
        .unwrap()
        .shape(50)
        .contiguous()
        .with_data(&(0..50).collect::<Vec<i64>>())
        .create("after")
        .unwrap();
    f.close().unwrap();

    let f = File::open(&p).unwrap();
    let d = f.dataset("implicit").unwrap();
    let v = d.read_1d::<i32>().unwrap();
    for (i, (&got, &was)) in v.iter().zip(before.iter()).enumerate() {
        let want = if (5..20).contains(&i) { -7 } else { was };
        assert_eq!(got, want, "implicit[{i}]");
    }
    match d.layout_message() {
        Layout::Chunked(c) => assert_eq!(c.address, Some(block), "the block moved"),
        l => panic!("not chunked: {l:?}"),
    }
    drop(f);

    // grown, the grid grows: the chunks move to a new block of 13
    let f = File::open_rw(&p).unwrap();
    let d = f.dataset("implicit").unwrap();
    d.resize(125).unwrap();
    d.write_slice(&[9i32; 25][..], ndarray::s![100..125])
        .unwrap();
    f.close().unwrap();
    let f = File::open(&p).unwrap();
    let v = f.dataset("implicit").unwrap().read_1d::<i32>().unwrap();
    assert_eq!(v.len(), 125);
    for (i, &got) in v.iter().enumerate() {
        let want = match i {
            5..20 => -7,
            100.. => 9,
            _ => before[i],
        };
        assert_eq!(got, want, "implicit[{i}] after growing");
    }
    let after: Vec<i64> = f.dataset("after").unwrap().read_raw_vec().unwrap();
    assert_eq!(after, (0..50).collect::<Vec<i64>>());
    for (n, raw) in &others {
        assert_eq!(&f.dataset(n).unwrap().read_raw().unwrap(), raw, "{n}");
    }
}
