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
