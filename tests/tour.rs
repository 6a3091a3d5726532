//! `examples/tour.rs` runs and h5py reads its files with the values the
//! tutorial's steps put there (computed here with numpy, not read back
//! through h5rs); h5dump reads them too.

mod common;

use std::process::Command;

#[test]
fn the_tour_writes_what_the_tutorial_expects() {
    let dir = common::scratch("tour");
    let out = Command::new(common::example_binary("tour"))
        .arg(&dir)
        .output()
        .expect("run the tour");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "tour failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for needle in [
        "Step 3a: an ndarray of 1000 values; the first 10: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]",
        r#"Step 4: ["first", "first/nestedfirst", "first/nestedsecond", "first/nestedthird", "second", "second/third", "second/third/fourth"]"#,
        "(dataset2 is all zeros: it was created but never written)",
        "reads back equal: true",
        "Step 6: trying to delete a dataset that doesn't exist: not found",
        "objects left: []",
        "(the freed space was reused)",
        "Step 8: shape [10000, 10], maxshape [Some(100000), Some(10)]",
        "Step 8: resized to [20000, 10]",
        "Step 8: read [20000, 10], last row [99990, 99991, 99992, 99993, 99994, 99995, 99996, 99997, 99998, 99999]",
        "Step 8: resizing to 6 times the rows fails:",
        "Step 8: shape still [20000, 10]",
    ] {
        assert!(
            stdout.contains(needle),
            "tour output lacks {needle:?}:\n{stdout}"
        );
    }
    // deleting what was written last gives its space back at once
    let bytes_after = |prefix: &str| -> u64 {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no line {prefix:?}"));
        line[prefix.len()..]
            .split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no size in {line:?}"))
    };
    assert!(bytes_after("Step 6: after deleting data/dataset1: ") < 10_000);
    assert!(bytes_after("Step 6a: after deleting data: ") < 10_000);
    common::run_python(
        r#"
import sys, h5py, numpy as np
d = sys.argv[1]
with h5py.File(d + "/my_first_hdf5.hdf5", "r") as f:
    l = []
    f.visit(l.append)
    assert l == ["first", "first/nestedfirst", "first/nestedsecond", "first/nestedthird",
                 "second", "second/third", "second/third/fourth"], l
with h5py.File(d + "/my_second_hdf5.hdf5", "r") as f:
    assert f.attrs["title"] == "h5rs tour"
    assert f["data"].attrs["instrument"] == "none: made up numbers"
    d1 = f["data/dataset1"]
    expect = np.array([[i + j * 10 for i in range(10)] for j in range(100)])
    assert d1.dtype == np.dtype("<i8") and (d1[:] == expect).all()
    assert d1.attrs["units"] == "counts"
    assert list(d1.attrs["scale"]) == [1.0, 0.5, 0.25]
    assert d1.attrs["valid_max"] == 99
for name in ["/my_third_hdf5.hdf5", "/my_third_repacked.hdf5"]:
    with h5py.File(d + name, "r") as f:
        l = []
        f.visit(l.append)
        assert l == ["data", "data/dataset2", "data/dataset3"], l
        for k in (1, 2):
            expect = k * 100000 + np.arange(100000).reshape(10, 10000)
            assert (f["data/dataset%d" % (k + 1)][:] == expect).all()
with h5py.File(d + "/my_fourth_hdf5.hdf5", "r") as f:
    d1 = np.arange(100000, dtype="f4").reshape(10000, 10)
    r = f["resizable/dataset1"]
    assert r.shape == (20000, 10) and r.maxshape == (100000, 10) and r.dtype == np.dtype("<f4")
    assert (r[:10000] == d1).all() and (r[10000:] == d1).all()
with h5py.File(d + "/my_compressed_hdf5.hdf5", "r") as f:
    big = (np.arange(100000).reshape(10000, 10)) % 1000
    assert (f["plain"][:] == big).all()
    c = f["compressed"]
    assert c.compression == "gzip" and c.shuffle and c.chunks is not None
    assert (c[:] == big).all()
    assert c.id.get_storage_size() < f["plain"].id.get_storage_size() / 4
"#,
        &dir,
    );
    for name in [
        "my_first_hdf5.hdf5",
        "my_second_hdf5.hdf5",
        "my_compressed_hdf5.hdf5",
    ] {
        let st = Command::new("h5dump")
            .arg(dir.join(name))
            .output()
            .expect("h5dump (Debian's hdf5-tools) must be installed");
        assert!(st.status.success(), "h5dump fails on {name}");
    }
}
