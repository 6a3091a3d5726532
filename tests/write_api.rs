//! The writing API as a user meets it: reading back in the same session,
//! flush making everything visible to another process, identical files for
//! identical inputs, and clear errors.

mod common;

use h5rs::{File, Format};
use ndarray::{Array2, Ix1, Ix2, s};

fn build(path: &std::path::Path, f: Format) {
    let file = File::builder().format(f).create(path).unwrap();
    let g = file.create_group("a/b").unwrap();
    g.write_dataset(
        "x",
        &Array2::from_shape_fn((50, 40), |(i, j)| (i * j) as f64),
    )
    .unwrap();
    let d = file
        .new_dataset::<i32>()
        .unwrap()
        .shape((100, 100))
        .maxshape((None, 100))
        .deflate(5)
        .shuffle()
        .create("grow")
        .unwrap();
    d.write_slice(&Array2::from_elem((10, 100), 3i32), s![5..15, ..])
        .unwrap();
    d.resize((300, 100)).unwrap();
    file.write_attr("n", &7u8).unwrap();
    for i in 0..20 {
        file.create_group(&format!("many/{i}")).unwrap();
    }
    file.close().unwrap();
}

#[test]
fn identical_inputs_give_identical_files() {
    let dir = common::scratch("write_identical");
    for f in [Format::Earliest, Format::Latest] {
        let (a, b) = (dir.join("a.h5"), dir.join("b.h5"));
        build(&a, f);
        build(&b, f);
        let (x, y) = (std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
        assert!(x.len() > 1000);
        assert!(x == y, "{f:?}: two runs wrote different bytes");
    }
}

#[test]
fn reads_in_the_same_session_see_every_write() {
    let dir = common::scratch("write_session");
    let file = File::create(dir.join("s.h5")).unwrap();
    let d = file
        .new_dataset::<i64>()
        .unwrap()
        .shape(10)
        .maxshape(None::<usize>)
        .chunk(4)
        .create("d")
        .unwrap();
    assert_eq!(d.read::<i64, Ix1>().unwrap().to_vec(), vec![0; 10]);
    d.write(&(0..10).collect::<Vec<i64>>()).unwrap();
    assert_eq!(
        d.read::<i64, Ix1>().unwrap().to_vec(),
        (0..10).collect::<Vec<_>>()
    );
    d.resize(12).unwrap();
    assert_eq!(d.shape(), vec![12]);
    d.write_slice(&[10i64, 11], s![10..]).unwrap();
    assert_eq!(
        d.read::<i64, Ix1>().unwrap().to_vec(),
        (0..12).collect::<Vec<_>>()
    );
    // handles found by path see later writes too
    let again = file.dataset("d").unwrap();
    d.write_slice(&[-1i64], s![0..1]).unwrap();
    assert_eq!(
        again.read_slice::<i64, _, Ix1>(s![..2]).unwrap().to_vec(),
        vec![-1, 1]
    );
    file.create_group("g/h").unwrap();
    assert_eq!(file.member_names().unwrap(), vec!["d", "g"]);
    assert!(file.group("g").unwrap().contains("h"));
    let g = file.group("g").unwrap();
    g.create_group("i").unwrap();
    assert_eq!(g.member_names().unwrap(), vec!["h", "i"]);
    file.write_attr("k", &1.5f32).unwrap();
    assert_eq!(file.attr("k").unwrap().read_scalar::<f32>().unwrap(), 1.5);
}

#[test]
fn flush_makes_everything_visible_to_another_process() {
    let dir = common::scratch("write_flush");
    let path = dir.join("f.h5");
    let file = File::create(&path).unwrap();
    file.write_dataset("a", &Array2::from_elem((3, 3), 2u16))
        .unwrap();
    file.flush().unwrap();
    common::run_python(
        r#"
import sys, h5py, numpy as np
with h5py.File(sys.argv[1] + "/f.h5", "r") as f:
    assert list(f) == ["a"] and (f["a"][:] == 2).all()
"#,
        &dir,
    );
    file.create_group("later").unwrap();
    file.flush().unwrap();
    common::run_python(
        r#"
import sys, h5py
with h5py.File(sys.argv[1] + "/f.h5", "r") as f:
    assert list(f) == ["a", "later"], list(f)
"#,
        &dir,
    );
    drop(file);
    // dropping the last handle finished the file
    let f = File::open(&path).unwrap();
    assert_eq!(f.member_names().unwrap(), vec!["a", "later"]);
}

#[test]
fn misuse_gives_clear_errors() {
    let dir = common::scratch("write_errors");
    let path = dir.join("e.h5");
    let file = File::create(&path).unwrap();
    file.create_group("g").unwrap();
    let e = file.create_group("g").unwrap_err().to_string();
    assert!(e.contains("already exists"), "{e}");
    let e = File::create_excl(&path).unwrap_err().to_string();
    assert!(e.contains("exists"), "{e}");
    let d = file
        .new_dataset::<f64>()
        .unwrap()
        .shape((4, 4))
        .create("d")
        .unwrap();
    let e = d.resize((8, 4)).unwrap_err().to_string();
    assert!(e.contains("maximum") || e.contains("chunked"), "{e}");
    let e = d.write(&vec![1.0f64; 3]).unwrap_err().to_string();
    assert!(e.contains("3 elements"), "{e}");
    let e = d
        .write_slice(&vec![1.0f64; 4], s![4..5, ..])
        .unwrap_err()
        .to_string();
    assert!(e.contains("selection of 0 elements"), "{e}");
    // numbers convert as libhdf5 converts them; strings do not
    d.write(&vec![3i32; 16]).unwrap();
    assert_eq!(
        d.read::<f64, Ix2>().unwrap(),
        Array2::from_elem((4, 4), 3.0)
    );
    d.write(&vec![0.0f64; 16]).unwrap();
    let e = d.write(&vec!["x".to_string(); 16]).unwrap_err().to_string();
    assert!(e.contains("cannot") || e.contains("String"), "{e}");
    let e = file
        .new_dataset::<f64>()
        .unwrap()
        .shape(10)
        .maxshape(5)
        .create("bad")
        .unwrap_err()
        .to_string();
    assert!(e.contains("maximum"), "{e}");
    let e = file
        .new_dataset::<f64>()
        .unwrap()
        .contiguous()
        .deflate(3)
        .shape(10)
        .create("bad")
        .unwrap_err()
        .to_string();
    assert!(e.contains("need chunks"), "{e}");
    file.close().unwrap();
    // a read-only file refuses writes
    let ro = File::open(&path).unwrap();
    assert!(!ro.is_writable());
    let e = ro.create_group("x").unwrap_err().to_string();
    assert!(e.contains("read-only"), "{e}");
    let ds = ro.dataset("d").unwrap();
    assert_eq!(ds.read::<f64, Ix2>().unwrap(), Array2::<f64>::zeros((4, 4)));
    assert!(ds.write(&vec![0.0f64; 16]).is_err());
}

#[test]
fn closed_files_refuse_writes_through_old_handles() {
    let dir = common::scratch("write_closed");
    let file = File::create(dir.join("c.h5")).unwrap();
    let g = file.create_group("g").unwrap();
    let keep = file.clone();
    file.close().unwrap();
    let e = g.create_group("x").unwrap_err().to_string();
    assert!(e.contains("closed"), "{e}");
    let e = keep.write_attr("a", &1i32).unwrap_err().to_string();
    assert!(e.contains("closed"), "{e}");
}
