//! Files made by h5py (libhdf5), then opened and changed by h5rs
//! (`File::open_rw`): each change is made by h5py on the same original
//! too, and libhdf5 must dump both results alike; `h5rs canon` must agree,
//! h5dump must read the earliest-format results.

mod common;

use common::h5check::Batch;
use h5rs::File;
use ndarray::{Array1, Array2, s};

/// The original file, written by h5py at `p`.
const MAKE: &str = r#"
f = h5py.File(p, "w", libver=LIBVER)
f.attrs["title"] = "original"
g = f.create_group("data")
g["contig"] = np.arange(200, dtype="<i4").reshape(20, 10)
g.create_dataset("chunked", data=np.arange(1000, dtype="<f8").reshape(100, 10), chunks=(16, 10), maxshape=(None, 10))
g.create_dataset("gzip", data=(np.arange(4000) % 97).astype("<i2").reshape(40, 100), compression="gzip", shuffle=True)
g.create_dataset("fixed", data=np.arange(60, dtype="<u1").reshape(6, 10), chunks=(4, 4))
g["strings"] = ["a", "bb", "ccc"]
g["contig"].attrs["units"] = "K"
for i in range(5):
    f.create_group("old/g%d" % i)
f["old/x"] = np.ones(5)
f["keep"] = np.arange(3)
f.close()
"#;

/// The changes, as h5py makes them.
const CHANGE: &str = r#"
f = h5py.File(p, "r+")
f["data/contig"][:5] = -1
f["data/contig"][10:12, 2:4] = 7
f["data/chunked"].resize((150, 10))
f["data/chunked"][100:150] = np.arange(500, dtype="<f8").reshape(50, 10) * 2
f["data/chunked"][3, :] = -3.5
f["data/gzip"][5:7, :] = 11
f["data/fixed"][1:5, 3:9] = 200
f.attrs["title"] = "changed"
f.attrs["added"] = np.arange(4)
for i in range(12):
    f["data/contig"].attrs["a%02d" % i] = i
g = f.create_group("data/new")
g["v"] = np.arange(7, dtype="<i8")
for i in range(20):
    f.create_group("old/h%02d" % i)
del f["old/g2"]
del f["old/x"]
f["old/soft"] = h5py.SoftLink("/keep")
d = f["data/chunked"]
d.resize((d.shape[0] + 7, 10))
d[-7:] = 9.0
d.resize((d.shape[0] + 1, 10))
d[-1] = 8.0
del f["data/contig"].attrs["units"]
h5py.h5a.rename(f["data/contig"].id, b"a00", b"first")
f.move("old/g4", "moved/g4")
f.close()
"#;

fn change(path: &std::path::Path) {
    let f = File::open_rw(path).unwrap();
    let c = f.dataset("data/contig").unwrap();
    c.write_slice(&Array2::from_elem((5, 10), -1i32), s![..5, ..])
        .unwrap();
    c.write_slice(&Array2::from_elem((2, 2), 7i32), s![10..12, 2..4])
        .unwrap();
    let ch = f.dataset("data/chunked").unwrap();
    ch.resize((150, 10)).unwrap();
    ch.write_slice(
        &Array2::from_shape_fn((50, 10), |(i, j)| (i * 10 + j) as f64 * 2.0),
        s![100..150, ..],
    )
    .unwrap();
    ch.write_slice(&Array1::from_elem(10, -3.5f64), s![3, ..])
        .unwrap();
    f.dataset("data/gzip")
        .unwrap()
        .write_slice(&Array2::from_elem((2, 100), 11i16), s![5..7, ..])
        .unwrap();
    f.dataset("data/fixed")
        .unwrap()
        .write_slice(&Array2::from_elem((4, 6), 200u8), s![1..5, 3..9])
        .unwrap();
    f.write_attr("title", "changed").unwrap();
    f.write_attr("added", &vec![0i64, 1, 2, 3]).unwrap();
    for i in 0..12 {
        c.write_attr(&format!("a{i:02}"), &(i as i64)).unwrap();
    }
    let g = f.create_group("data/new").unwrap();
    g.write_dataset("v", &(0..7).collect::<Vec<i64>>()).unwrap();
    for i in 0..20 {
        f.create_group(&format!("old/h{i:02}")).unwrap();
    }
    f.unlink("old/g2").unwrap();
    f.unlink("old/x").unwrap();
    let e = f.unlink("old/x").unwrap_err();
    assert!(matches!(e, h5rs::Error::NotFound(_)), "{e}");
    f.link_soft("/keep", "old/soft").unwrap();
    let ap = f.dataset("data/chunked").unwrap();
    ap.append(&Array2::from_elem((7, 10), 9.0f64)).unwrap();
    ap.append(&Array1::from_elem(10, 8.0f64)).unwrap();
    assert!(ap.append(&Array1::from_elem(3, 8.0f64)).is_err());
    c.delete_attr("units").unwrap();
    assert!(matches!(
        c.delete_attr("units"),
        Err(h5rs::Error::NotFound(_))
    ));
    c.rename_attr("a00", "first").unwrap();
    f.move_link("old/g4", "moved/g4").unwrap();
    f.close().unwrap();
}

#[test]
fn changes_to_h5py_files_read_the_same_as_h5pys_own() {
    let dir = common::scratch("modify_h5py");
    let mut b = Batch::default();
    for libver in ["earliest", "latest"] {
        let path = dir.join(format!("orig_{libver}.h5"));
        let make = MAKE.replace("LIBVER", &format!("{libver:?}"));
        common::run_python(
            &format!(
                "import sys, h5py, numpy as np\np = sys.argv[1] + '/orig_{libver}.h5'\n{make}"
            ),
            &dir,
        );
        change(&path);
        b.add(
            &format!("modify/{libver}"),
            &path,
            &format!("{make}\n{CHANGE}"),
            libver == "earliest",
        );
        b.check(
            r#"
f = h5py.File(p, "r")
assert f.attrs["title"] == "changed"
assert sorted(f["old"]) == sorted(["g0", "g1", "g3", "soft"] + ["h%02d" % i for i in range(20)])
assert "g4" in f["moved"] and "units" not in f["data/contig"].attrs and f["data/contig"].attrs["first"] == 0
assert (f["old/soft"][:] == np.arange(3)).all()
"#,
        );
    }
    b.run(&dir);
}

#[test]
fn a_file_left_open_for_writing_is_refused_until_cleared() {
    let dir = common::scratch("modify_mark");
    let path = dir.join("m.h5");
    common::run_python(
        "import sys, h5py\nwith h5py.File(sys.argv[1] + '/m.h5', 'w', libver='latest') as f:\n    f['x'] = [1, 2]\n",
        &dir,
    );
    let f = File::open_rw(&path).unwrap();
    f.write_attr("a", &1i32).unwrap();
    f.flush().unwrap();
    // a writer that dies without closing leaves the mark
    std::mem::forget(f);
    let e = File::open_rw(&path).unwrap_err().to_string();
    assert!(e.contains("open for writing"), "{e}");
    assert!(h5rs::clear_write_mark(&path).unwrap());
    assert!(!h5rs::clear_write_mark(&path).unwrap());
    let f = File::open_rw(&path).unwrap();
    f.close().unwrap();
    common::run_python(
        "import sys, h5py\nwith h5py.File(sys.argv[1] + '/m.h5', 'r') as f:\n    assert list(f['x'][:]) == [1, 2] and f.attrs['a'] == 1\n",
        &dir,
    );
}

/// A file libhdf5 made with a persistent free-space manager and paged
/// aggregation: after h5rs changes it, h5py reads it and can change it too.
#[test]
fn files_with_a_persistent_free_space_manager_stay_valid() {
    let dir = common::scratch("modify_fsm");
    let src =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/freespace_paged_latest.h5");
    let path = dir.join("fsm.h5");
    std::fs::copy(&src, &path).unwrap();
    let f = File::open_rw(&path).unwrap();
    f.write_dataset("added", &(0..5000).collect::<Vec<i64>>())
        .unwrap();
    f.unlink("keep1").unwrap();
    f.write_attr("changed_by", "h5rs").unwrap();
    f.close().unwrap();
    common::run_python(
        r#"
import sys, h5py, numpy as np
p = sys.argv[1] + "/fsm.h5"
with h5py.File(p, "r") as f:
    assert (f["added"][:] == np.arange(5000)).all()
    assert "keep1" not in f and f.attrs["changed_by"] == "h5rs"
    for name in f:
        f[name][()] if isinstance(f[name], h5py.Dataset) else None
with h5py.File(p, "r+") as f:
    f["more"] = np.arange(100000)
    del f["keep2"]
with h5py.File(p, "r") as f:
    assert (f["more"][:] == np.arange(100000)).all() and "keep2" not in f
"#,
        &dir,
    );
    let st = std::process::Command::new("h5dump")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
}
