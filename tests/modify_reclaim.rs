//! Files made by h5py (`libver='latest'`), changed by h5rs once per
//! session (`File::open_rw`, one change, `close`) ten times over: each
//! change rewrites a chunk index (fixed array, extensible array, v2
//! B-tree), a group's dense link storage or an object's dense attribute
//! storage. The old structure is given back, and the holes it leaves are
//! filled on close, so after the first session the file grows by what the
//! changes add, not by one more copy of the structure each time; h5py then
//! reads every value.

mod common;

use std::path::Path;

use h5rs::File;
use h5rs::format::layout::Layout;
use ndarray::{Array1, Array2, s};

/// Sessions of one change each.
const CYCLES: usize = 10;

const MAKE: &str = r#"
import sys, h5py, numpy as np
d = sys.argv[1]
with h5py.File(d + "/fa.h5", "w", libver="latest") as f:
    # 2048 chunks of 16 bytes: a paged fixed array (2 pages of 1024)
    f.create_dataset("d", data=np.arange(64 * 64, dtype="<i8").reshape(64, 64), chunks=(2, 1))
with h5py.File(d + "/ea.h5", "w", libver="latest") as f:
    f.create_dataset("d", data=np.arange(2000, dtype="<i8"), chunks=(2,), maxshape=(None,))
with h5py.File(d + "/bt2.h5", "w", libver="latest") as f:
    f.create_dataset("d", data=np.arange(60 * 60, dtype="<i8").reshape(60, 60), chunks=(2, 2),
                     maxshape=(None, None))
with h5py.File(d + "/links.h5", "w", libver="latest") as f:
    g = f.create_group("g")
    for i in range(30):
        g.create_group("c%02d" % i)
with h5py.File(d + "/attrs.h5", "w", libver="latest") as f:
    a = f.create_dataset("a", data=np.arange(5))
    for i in range(30):
        a.attrs["a%02d" % i] = np.arange(i + 1, dtype="<i8")
"#;

/// What h5py must read at the end.
const CHECK: &str = r#"
import sys, h5py, numpy as np
d = sys.argv[1]
N = CYCLES
with h5py.File(d + "/fa.h5", "r") as f:
    want = np.arange(64 * 64, dtype="<i8").reshape(64, 64)
    for i in range(N):
        want[i * 4:i * 4 + 4, 8:16] = -(i + 1)
    got = f["d"][...]
    assert f["d"].id.get_create_plist().get_layout() == h5py.h5d.CHUNKED
    assert np.array_equal(got, want), (got, want)
with h5py.File(d + "/ea.h5", "r") as f:
    want = np.concatenate([np.arange(2000), np.arange(10000, 10000 + 2 * N)])
    assert np.array_equal(f["d"][...], want)
with h5py.File(d + "/bt2.h5", "r") as f:
    want = np.zeros((60 + N, 60 + N), dtype="<i8")
    want[:60, :60] = np.arange(60 * 60).reshape(60, 60)
    for i in range(N):
        want[i * 6:i * 6 + 6, i * 6:i * 6 + 6] = -(i + 1)
    assert f["d"].shape == want.shape
    assert np.array_equal(f["d"][...], want)
with h5py.File(d + "/links.h5", "r") as f:
    g = f["g"]
    assert sorted(g) == sorted(["c%02d" % i for i in range(30)] + ["s%02d" % i for i in range(N)])
    for i in range(N):
        assert g.get("s%02d" % i, getlink=True).path == "/g/c%02d" % i
        assert isinstance(g["s%02d" % i], h5py.Group)
with h5py.File(d + "/attrs.h5", "r") as f:
    at = f["a"].attrs
    assert sorted(at) == sorted(["a%02d" % i for i in range(30)] + ["n%02d" % i for i in range(N)])
    for i in range(30):
        assert np.array_equal(at["a%02d" % i], np.arange(i + 1))
    for i in range(N):
        assert at["n%02d" % i] == 100 + i
    assert np.array_equal(f["a"][...], np.arange(5))
print("ok")
"#;

fn size(p: &Path) -> u64 {
    std::fs::metadata(p).unwrap().len()
}

/// Runs `change(file, cycle)` in `CYCLES` sessions on `path`; returns the
/// file size before and after each.
fn sessions(path: &Path, change: &dyn Fn(&File, usize)) -> Vec<u64> {
    let mut sizes = vec![size(path)];
    for i in 0..CYCLES {
        let f = File::open_rw(path).unwrap();
        change(&f, i);
        f.close().unwrap();
        sizes.push(size(path));
    }
    sizes
}

/// After the first session (which may leave the original structure's
/// space as a hole the new one does not fit), at most two of the later
/// sessions grow the file by `structure` bytes (the least the structure
/// takes) or more: a structure that outgrows its space moves once, but
/// without reclaiming every session would add a copy of it.
fn check_growth(what: &str, sizes: &[u64], structure: u64) {
    let steps: Vec<u64> = sizes[1..].windows(2).map(|w| w[1] - w[0]).collect();
    eprintln!("{what}: sizes {sizes:?}, growth per later session {steps:?}");
    let big = steps.iter().filter(|&&g| g >= structure).count();
    assert!(
        big <= 2,
        "{what}: {big} of {} sessions grew the file by {structure} bytes or more \
         (sizes {sizes:?})",
        CYCLES - 1
    );
}

#[test]
fn rewritten_structures_are_reclaimed_across_sessions() {
    let dir = common::scratch("modify_reclaim");
    common::run_python(MAKE, &dir);

    // fixed array: a slice written each time; 2048 entries of 8 bytes
    let fa = sessions(&dir.join("fa.h5"), &|f, i| {
        let d = f.dataset("d").unwrap();
        let v = Array2::from_elem((4, 8), -(i as i64 + 1));
        d.write_slice(&v, s![i * 4..i * 4 + 4, 8..16]).unwrap();
    });
    check_growth("fixed array", &fa, 2048 * 8);

    // extensible array: two elements appended each time; 1000 entries
    let ea = sessions(&dir.join("ea.h5"), &|f, i| {
        let d = f.dataset("d").unwrap();
        let base = 10000 + 2 * i as i64;
        d.append(&Array1::from(vec![base, base + 1])).unwrap();
    });
    check_growth("extensible array", &ea, 1000 * 8);

    // v2 B-tree: grown by one row and column and a block written each
    // time; 900 records of 24 bytes
    let bt2 = sessions(&dir.join("bt2.h5"), &|f, i| {
        let d = f.dataset("d").unwrap();
        d.resize((61 + i, 61 + i)).unwrap();
        let v = Array2::from_elem((6, 6), -(i as i64 + 1));
        d.write_slice(&v, s![i * 6..i * 6 + 6, i * 6..i * 6 + 6])
            .unwrap();
    });
    check_growth("v2 B-tree", &bt2, 900 * 24);

    // dense links: a soft link added each time; the heap's first direct
    // block and the name index's root node take 512 bytes each
    let links = sessions(&dir.join("links.h5"), &|f, i| {
        f.link_soft(&format!("/g/c{i:02}"), &format!("g/s{i:02}"))
            .unwrap();
    });
    check_growth("dense links", &links, 1024);

    // dense attributes: an attribute added each time
    let attrs = sessions(&dir.join("attrs.h5"), &|f, i| {
        let a = f.dataset("a").unwrap();
        a.write_attr(&format!("n{i:02}"), &(100 + i as i64))
            .unwrap();
    });
    check_growth("dense attributes", &attrs, 1024);

    common::run_python(&CHECK.replace("N = CYCLES", &format!("N = {CYCLES}")), &dir);
}

/// Deleting a loaded dataset or group gives back its chunk index or dense
/// storage too: deleting the only object h5py wrote (with everything under
/// it) shrinks the file to about its root group, except where libhdf5 left
/// space unused between structures (the extensible array's file keeps
/// such a gap above its blocks).
#[test]
fn deleted_objects_give_back_their_structures() {
    let dir = common::scratch("modify_reclaim_delete");
    common::run_python(MAKE, &dir);
    for (name, obj, bound) in [
        ("fa.h5", "d", Some(4096)),
        ("ea.h5", "d", None),
        ("bt2.h5", "d", Some(4096)),
        ("links.h5", "g", Some(2048)),
        ("attrs.h5", "a", Some(4096)),
    ] {
        let path = dir.join(name);
        let before = size(&path);
        let f = File::open_rw(&path).unwrap();
        f.unlink(obj).unwrap();
        f.close().unwrap();
        let after = size(&path);
        eprintln!("delete {name}/{obj}: {before} -> {after}");
        assert!(
            after < before && after <= bound.unwrap_or(after),
            "{name}: {before} -> {after}"
        );
    }
    common::run_python(
        r#"
import sys, h5py
d = sys.argv[1]
for n, o in [("fa", "d"), ("ea", "d"), ("bt2", "d"), ("links", "g"), ("attrs", "a")]:
    with h5py.File("%s/%s.h5" % (d, n), "r") as f:
        assert o not in f, (n, list(f))
"#,
        &dir,
    );
}

/// A scratch copy of `fixtures/chunk_index_latest.h5` (libhdf5's
/// datasets of every chunk index), with the names of its datasets and the
/// raw bytes each held before any change.
struct IndexFixture {
    dir: std::path::PathBuf,
    path: std::path::PathBuf,
    names: Vec<String>,
    raw: Vec<Vec<u8>>,
}

impl IndexFixture {
    fn copy(scratch: &str) -> IndexFixture {
        let dir = common::scratch(scratch);
        let path = dir.join("a.h5");
        std::fs::copy(Self::source(), &path).unwrap();
        let f = File::open(&path).unwrap();
        let names: Vec<String> = f.member_names().unwrap();
        let raw = names
            .iter()
            .map(|n| f.dataset(n).unwrap().read_raw().unwrap())
            .collect();
        IndexFixture {
            dir,
            path,
            names,
            raw,
        }
    }

    fn source() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/chunk_index_latest.h5")
    }

    /// Every dataset `changed` does not name holds the bytes it held.
    fn assert_others_unchanged(&self, f: &File, changed: impl Fn(&str) -> bool) {
        for (n, was) in self.names.iter().zip(&self.raw) {
            if !changed(n) {
                assert_eq!(&f.dataset(n).unwrap().read_raw().unwrap(), was, "{n}");
            }
        }
    }
}

/// The address of a chunked dataset's index.
fn index_addr(f: &File, n: &str) -> Option<u64> {
    match f.dataset(n).unwrap().layout_message() {
        Layout::Chunked(c) => c.address,
        l => panic!("{n}: not chunked: {l:?}"),
    }
}

/// Chunks of an implicit index (libhdf5's early allocation) rewritten in
/// a file libhdf5 wrote, in two sessions: the values read back, and the
/// datasets of every other index in the file do not change.
#[test]
fn implicit_index_chunks_rewritten() {
    let fx = IndexFixture::copy("modify-every-index");
    let (dir, p) = (&fx.dir, &fx.path);
    let blocks: Vec<_> = {
        let f = File::open(p).unwrap();
        ["implicit", "implicit_2d"]
            .iter()
            .map(|n| index_addr(&f, n))
            .collect()
    };
    let len = std::fs::metadata(p).unwrap().len();
    for round in 0..2u8 {
        let f = File::open_rw(p).unwrap();
        let d = f.dataset("implicit").unwrap();
        d.write_slice(&[i32::from(round) + 100; 15][..], s![5..20])
            .unwrap();
        let d = f.dataset("implicit_2d").unwrap();
        d.write_slice(
            &Array2::<u16>::from_elem((2, 3), 7 + u16::from(round)),
            s![3..5, 2..5],
        )
        .unwrap();
        f.close().unwrap();
    }
    let f = File::open(p).unwrap();
    // the chunks were rewritten where they lie: same block, no growth
    for (n, was) in ["implicit", "implicit_2d"].iter().zip(&blocks) {
        assert_eq!(&index_addr(&f, n), was, "{n}: index block moved");
    }
    assert_eq!(std::fs::metadata(p).unwrap().len(), len, "file grew");
    let v = f.dataset("implicit").unwrap().read_1d::<i32>().unwrap();
    let orig = File::open(IndexFixture::source())
        .unwrap()
        .dataset("implicit")
        .unwrap()
        .read_1d::<i32>()
        .unwrap();
    for (i, (&got, &was)) in v.iter().zip(orig.iter()).enumerate() {
        let want = if (5..20).contains(&i) { 101 } else { was };
        assert_eq!(got, want, "implicit[{i}]");
    }
    let v2 = f
        .dataset("implicit_2d")
        .unwrap()
        .read::<u16, ndarray::Ix2>()
        .unwrap();
    assert!(v2.slice(s![3..5, 2..5]).iter().all(|&x| x == 8));
    fx.assert_others_unchanged(&f, |n| n.starts_with("implicit"));
    // libhdf5 reads the same values from the block
    common::run_python(
        r#"
import sys, h5py, numpy as np
with h5py.File(sys.argv[1] + "/a.h5", "r") as f:
    v = f["implicit"][5:20]
    assert (v == 101).all(), v
    w = f["implicit_2d"][3:5, 2:5]
    assert (w == 8).all(), w
"#,
        dir,
    );
}

/// A loaded implicit-index dataset, written and then deleted: its block
/// (every chunk) is given back once, and one of the datasets of the same
/// size written after a flush takes it; the other datasets keep their
/// values and h5py reads the new ones.
#[test]
fn implicit_index_block_reused_after_delete() {
    let fx = IndexFixture::copy("modify-implicit-delete");
    let (dir, p) = (&fx.dir, &fx.path);
    let block = index_addr(&File::open(p).unwrap(), "implicit").unwrap();
    let f = File::open_rw(p).unwrap();
    // written first: the block is then loaded as the dataset's own
    f.dataset("implicit")
        .unwrap()
        .write_slice(&[9i32; 3][..], s![0..3])
        .unwrap();
    f.unlink("implicit").unwrap();
    // (space freed becomes reusable once a flush has written the change)
    f.flush().unwrap();
    for name in ["again", "again2", "again3"] {
        f.new_dataset::<i32>()
            .unwrap()
            .shape(100)
            .contiguous()
            .with_data(&(0..100).map(|i| -i).collect::<Vec<i32>>())
            .create(name)
            .unwrap();
    }
    f.close().unwrap();
    let f = File::open(p).unwrap();
    let at: Vec<u64> = ["again", "again2", "again3"]
        .iter()
        .map(|n| match f.dataset(n).unwrap().layout_message() {
            Layout::Contiguous { address, .. } => address.unwrap(),
            l => panic!("{n}: not contiguous: {l:?}"),
        })
        .collect();
    assert!(
        at.contains(&block),
        "the block at {block} was not reused: {at:?}"
    );
    fx.assert_others_unchanged(&f, |n| n == "implicit");
    common::run_python(
        r#"
import sys, h5py, numpy as np
with h5py.File(sys.argv[1] + "/a.h5", "r") as f:
    assert "implicit" not in f
    for n in ("again", "again2", "again3"):
        assert (f[n][...] == -np.arange(100)).all(), n
"#,
        dir,
    );
}
