//! API misuse ends in a clear error, never a panic: out-of-range
//! selections, element types that do not convert, writes to read-only
//! files, handles used after their file was closed, files truncated while
//! open.

mod common;

use h5rs::{Error, File, OpenOptions};
use ndarray::{Array1, Array2, s};

/// A file with a 10×4 i32 dataset `m` (chunked), a 100-element f64
/// dataset `v`, a string dataset `name`, and attributes.
fn make(path: &std::path::Path) {
    let f = File::create(path).unwrap();
    let m = Array2::from_shape_fn((10, 4), |(i, j)| (i * 4 + j) as i32);
    f.new_dataset::<i32>()
        .unwrap()
        .shape((10, 4))
        .chunk((5, 2))
        .with_data(&m)
        .create("m")
        .unwrap();
    let v: Vec<f64> = (0..100).map(f64::from).collect();
    f.write_dataset("v", &v).unwrap();
    f.write_dataset("name", &["alpha".to_string(), "beta".to_string()][..])
        .unwrap();
    f.write_attr("units", &"m/s".to_string()).unwrap();
    f.close().unwrap();
}

fn is_usage(r: &Result<impl std::fmt::Debug, Error>) -> bool {
    matches!(r, Err(Error::Usage(_)))
}

#[test]
fn out_of_range_selections_are_usage_errors() {
    let dir = common::scratch("misuse-range");
    let p = dir.join("a.h5");
    make(&p);
    let f = File::open(&p).unwrap();
    let v = f.dataset("v").unwrap();
    let m = f.dataset("m").unwrap();
    // an index past the end (h5py: IndexError)
    let r = v.read_slice::<f64, _, ndarray::Ix0>(s![100]);
    assert!(is_usage(&r), "{r:?}");
    let r = v.read_slice::<f64, _, ndarray::Ix0>(s![-101]);
    assert!(is_usage(&r), "{r:?}");
    // too many indices for the rank
    let r = v.read_slice_dyn::<f64, _>(s![1, 2]);
    assert!(is_usage(&r), "{r:?}");
    let r = m.read_slice_dyn::<i32, _>(s![.., .., 0]);
    assert!(is_usage(&r), "{r:?}");
    // a slice reaching past the end is cut at the end, as numpy and h5py do
    let tail = v.read_slice::<f64, _, ndarray::Ix1>(s![95..200]).unwrap();
    assert_eq!(tail.to_vec(), vec![95.0, 96.0, 97.0, 98.0, 99.0]);
    // a wrong dimensionality for the result
    let r = m.read_slice::<i32, _, ndarray::Ix1>(s![.., ..]);
    assert!(is_usage(&r), "{r:?}");
    let r = m.read::<i32, ndarray::Ix3>();
    assert!(is_usage(&r), "{r:?}");
    // a scalar read of a dataset with many elements
    let r = v.read_scalar::<f64>();
    assert!(is_usage(&r), "{r:?}");
}

#[test]
fn types_that_do_not_convert_are_usage_errors() {
    let dir = common::scratch("misuse-types");
    let p = dir.join("a.h5");
    make(&p);
    let f = File::open(&p).unwrap();
    let r = f.dataset("name").unwrap().read_raw_vec::<f64>();
    assert!(is_usage(&r), "{r:?}");
    let r = f.dataset("v").unwrap().read_raw_vec::<String>();
    assert!(is_usage(&r), "{r:?}");
    let r = f.attr("units").unwrap().read_scalar::<i32>();
    assert!(is_usage(&r), "{r:?}");
    // writing strings into a number dataset
    let w = File::open_rw(&p).unwrap();
    let r = w
        .dataset("v")
        .unwrap()
        .write(&vec!["x".to_string(); 100][..]);
    assert!(is_usage(&r), "{r:?}");
    // the wrong number of elements
    let r = w.dataset("v").unwrap().write(&[1.0f64, 2.0][..]);
    assert!(is_usage(&r), "{r:?}");
    let r = w
        .dataset("m")
        .unwrap()
        .write_slice(&Array1::from(vec![1i32, 2, 3]), s![0, ..]);
    assert!(is_usage(&r), "{r:?}");
    // a selection outside the dataset
    let r = w
        .dataset("v")
        .unwrap()
        .write_slice(&Array1::from(vec![1.0f64; 5]), s![98..103]);
    assert!(r.is_err(), "{r:?}");
    w.close().unwrap();
    // nothing of that changed the file
    let f = File::open(&p).unwrap();
    let v: Vec<f64> = f.dataset("v").unwrap().read_raw_vec().unwrap();
    assert_eq!(v, (0..100).map(f64::from).collect::<Vec<_>>());
}

#[test]
fn writes_to_a_read_only_file_are_usage_errors() {
    let dir = common::scratch("misuse-readonly");
    let p = dir.join("a.h5");
    make(&p);
    let before = std::fs::read(&p).unwrap();
    let f = File::open(&p).unwrap();
    assert!(!f.is_writable());
    assert!(is_usage(&f.create_group("g")));
    assert!(is_usage(&f.write_dataset("x", &[1i32][..])));
    assert!(is_usage(&f.write_attr("a", &1i32)));
    assert!(is_usage(&f.delete_attr("units")));
    assert!(is_usage(&f.unlink("v")));
    assert!(is_usage(&f.flush()));
    let v = f.dataset("v").unwrap();
    assert!(is_usage(&v.write(&[0.0f64; 100][..])));
    assert!(is_usage(&v.resize(200)));
    assert!(is_usage(&v.write_attr("b", &2i32)));
    let root = f.root().unwrap();
    assert!(is_usage(&root.create_group("g")));
    f.close().unwrap();
    assert_eq!(
        std::fs::read(&p).unwrap(),
        before,
        "a read-only open changed the file"
    );
}

#[test]
fn handles_outliving_their_closed_file() {
    let dir = common::scratch("misuse-closed");
    let p = dir.join("a.h5");
    make(&p);
    let f = File::open_rw(&p).unwrap();
    let v = f.dataset("v").unwrap();
    let g = f.create_group("g").unwrap();
    let f2 = f.clone();
    f.close().unwrap();
    // writes through any handle of the closed file fail
    assert!(is_usage(&v.write(&[0.0f64; 100][..])), "write after close");
    assert!(is_usage(&v.resize(200)));
    assert!(is_usage(&g.create_group("h")));
    assert!(is_usage(&f2.create_group("k")));
    assert!(is_usage(&f2.flush()));
    assert!(f2.close().is_ok(), "a second close is harmless");
    drop((v, g));
    // the file is whole and reads as written
    let f = File::open(&p).unwrap();
    assert!(f.group("g").is_ok());
    assert!(f.group("h").is_err() && f.group("k").is_err());
    let v: Vec<f64> = f.dataset("v").unwrap().read_raw_vec().unwrap();
    assert_eq!(v[99], 99.0);
}

#[test]
fn a_file_truncated_while_open_gives_an_error_not_a_crash() {
    let dir = common::scratch("misuse-truncated");
    let p = dir.join("a.h5");
    let f = File::create(&p).unwrap();
    let big: Vec<f64> = (0..1 << 20).map(f64::from).collect();
    f.write_dataset("big", &big).unwrap();
    f.close().unwrap();

    let mapped = File::open(&p).unwrap();
    let unmapped = File::open_with(&p, &OpenOptions::new().mmap(false)).unwrap();
    let ds = mapped.dataset("big").unwrap();
    let ds2 = unmapped.dataset("big").unwrap();
    // another process cuts the file short
    std::fs::OpenOptions::new()
        .write(true)
        .open(&p)
        .unwrap()
        .set_len(4096)
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(5));
    match ds.read_raw_vec::<f64>() {
        Err(Error::Io(e)) => assert!(e.to_string().contains("truncated"), "{e}"),
        other => panic!("expected an I/O error, got {other:?}"),
    }
    // opening objects checks too
    std::thread::sleep(std::time::Duration::from_millis(5));
    assert!(matches!(mapped.root(), Err(Error::Io(_))));
    // the copy in memory is unaffected
    let v: Vec<f64> = ds2.read_raw_vec().unwrap();
    assert_eq!(v, big);
}
