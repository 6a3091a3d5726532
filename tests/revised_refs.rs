//! Revised references (HDF5 1.12 and later, `H5T_STD_REF`) read through the
//! public API: objects, regions, attributes, objects in another file and
//! null references, in datasets (contiguous and chunked) and attributes,
//! with 8-byte and 4-byte offsets. Each reference is checked against the
//! object it should name (`File::object(path).addr()`), the attribute name,
//! the external file name, and for regions the elements the generator
//! selected. Old references are read in full through the same function.
//!
//! Fixtures in tests/data are made by tests/data/make_revised_refs.py (its
//! docstring lists what each reference names); one test runs it again
//! with h5py's libhdf5 and checks the fresh files the same way.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use h5rs::format::vds::{EncodedSelection, Hyperslab};
use h5rs::hl::value::{Reference, ReferenceType, decode_reference};
use h5rs::{Dataset, File, Value};
use sha2::{Digest, Sha256};

const EXT: &str = "revised_refs_ext.h5";

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

fn addr(f: &File, path: &str) -> u64 {
    f.object(path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .addr()
}

fn values(ds: &Dataset) -> Vec<Value> {
    ds.read_raw_vec::<Value>()
        .unwrap_or_else(|e| panic!("{}: {e}", ds.name()))
}

/// Every element of a reference dataset in full.
fn references(ds: &Dataset) -> Vec<Option<Reference>> {
    let raw = ds.read_raw().expect("raw bytes");
    raw.chunks_exact(ds.dtype().size())
        .map(|e| decode_reference(ds.file(), ds.dtype(), e).expect("reference"))
        .collect()
}

/// What a region reference of the generator selects.
enum Sel {
    /// `select_hyperslab(start, count, stride, block)`.
    Slab(
        &'static [u64],
        &'static [u64],
        Option<&'static [u64]>,
        Option<&'static [u64]>,
    ),
    /// A union of blocks given by first and last corners.
    Blocks(&'static [(&'static [u64], &'static [u64])]),
    /// Points, in order.
    Points(&'static [&'static [u64]]),
    All,
    None,
}

fn product(ranges: &[Vec<u64>]) -> Vec<Vec<u64>> {
    let mut out = vec![vec![]];
    for r in ranges {
        let mut next = Vec::new();
        for p in &out {
            for &i in r {
                let mut q = p.clone();
                q.push(i);
                next.push(q);
            }
        }
        out = next;
    }
    out
}

fn all(shape: &[u64]) -> Vec<Vec<u64>> {
    product(&shape.iter().map(|&n| (0..n).collect()).collect::<Vec<_>>())
}

impl Sel {
    /// The selected coordinates, in the order that matters (points) or
    /// sorted (everything else).
    fn expected(&self, shape: &[u64]) -> Vec<Vec<u64>> {
        match self {
            Sel::Slab(start, count, stride, block) => {
                let ranges: Vec<Vec<u64>> = (0..start.len())
                    .map(|d| {
                        let st = stride.map_or(1, |s| s[d]);
                        let bl = block.map_or(1, |b| b[d]);
                        let mut v: Vec<u64> = (0..count[d])
                            .flat_map(|c| (0..bl).map(move |b| start[d] + c * st + b))
                            .collect();
                        v.sort();
                        v
                    })
                    .collect();
                product(&ranges)
            }
            Sel::Blocks(bs) => {
                let mut set = BTreeSet::new();
                for (lo, hi) in bs.iter() {
                    let r: Vec<Vec<u64>> = lo
                        .iter()
                        .zip(hi.iter())
                        .map(|(&l, &h)| (l..=h).collect())
                        .collect();
                    set.extend(product(&r));
                }
                set.into_iter().collect()
            }
            Sel::Points(p) => p.iter().map(|c| c.to_vec()).collect(),
            Sel::All => all(shape),
            Sel::None => vec![],
        }
    }
}

/// The coordinates an encoded selection selects (sorted, except points).
fn selected(s: &EncodedSelection, shape: &[u64]) -> Vec<Vec<u64>> {
    match s {
        EncodedSelection::None => vec![],
        EncodedSelection::All => all(shape),
        EncodedSelection::Points { rank, coords } => {
            coords.chunks_exact(*rank).map(|c| c.to_vec()).collect()
        }
        EncodedSelection::Hyperslab(Hyperslab::Regular(dims)) => {
            let ranges: Vec<Vec<u64>> = dims
                .iter()
                .map(|d| {
                    let (count, block) = (d.count.expect("limited"), d.block.expect("limited"));
                    (0..count)
                        .flat_map(|c| (0..block).map(move |b| d.start + c * d.stride + b))
                        .collect()
                })
                .collect();
            let mut v = product(&ranges);
            v.sort();
            v
        }
        EncodedSelection::Hyperslab(Hyperslab::Irregular { rank, blocks }) => {
            let mut set = BTreeSet::new();
            for b in blocks.chunks_exact(2 * rank) {
                let (lo, hi) = b.split_at(*rank);
                let r: Vec<Vec<u64>> = lo
                    .iter()
                    .zip(hi)
                    .map(|(&l, &h)| (l..=h).collect())
                    .collect();
                set.extend(product(&r));
            }
            set.into_iter().collect()
        }
    }
}

/// Checks a region reference: kind, object, rank and selected elements.
fn check_region(r: &Reference, obj: u64, shape: &[u64], want: &Sel, what: &str) {
    assert_eq!(r.kind, ReferenceType::Region, "{what}");
    assert_eq!(r.address(), Some(obj), "{what}");
    assert_eq!(r.attribute, None, "{what}");
    let s = r
        .selection
        .as_ref()
        .unwrap_or_else(|| panic!("{what}: no selection"));
    assert_eq!(s.rank, Some(shape.len() as u32), "{what}");
    match want {
        Sel::All => assert_eq!(s.selection, EncodedSelection::All, "{what}"),
        Sel::None => assert_eq!(s.selection, EncodedSelection::None, "{what}"),
        _ => {}
    }
    assert_eq!(
        selected(&s.selection, shape),
        want.expected(shape),
        "{what}"
    );
}

fn object_of(v: &Value) -> Option<u64> {
    match v {
        Value::ObjectRef(a) => *a,
        v => panic!("not an object reference: {v:?}"),
    }
}

const DS_SHAPE: &[u64] = &[6, 8];

const REGIONS: [Sel; 6] = [
    Sel::Slab(&[1, 2], &[2, 3], None, None),
    Sel::Slab(&[0, 1], &[2, 2], Some(&[3, 4]), Some(&[2, 2])),
    Sel::Blocks(&[(&[0, 0], &[1, 1]), (&[4, 5], &[5, 7])]),
    Sel::Points(&[&[0, 0], &[3, 4], &[5, 7], &[2, 1]]),
    Sel::All,
    Sel::None,
];

fn check_main(dir: &Path) {
    let f = File::open(dir.join("revised_refs.h5")).expect("open");
    let ext = File::open(dir.join(EXT)).expect("open external");
    let ds = addr(&f, "/data/ds");
    let grp = addr(&f, "/data/grp");
    let objects = [ds, grp, addr(&f, "/"), addr(&f, "/dtype")];

    // objects: inline in the elements
    let d = f.dataset("/refs/object").unwrap();
    assert_eq!(d.dtype().canonical(), "ref");
    assert_eq!(d.dtype().size(), 18);
    let v = values(&d);
    let got: Vec<Option<u64>> = v.iter().map(object_of).collect();
    let mut want: Vec<Option<u64>> = objects.iter().copied().map(Some).collect();
    want.push(None);
    assert_eq!(got, want);
    let full = references(&d);
    assert!(full[4].is_none());
    for r in full[..4].iter().flatten() {
        assert_eq!(
            (r.kind, &r.external_file, &r.attribute),
            (ReferenceType::Object, &None, &None)
        );
        assert_eq!(r.token.len(), 8);
    }

    // the same in a chunked, compressed dataset, then a region
    let d = f.dataset("/refs/chunked").unwrap();
    let v = values(&d);
    assert_eq!(v[..5].iter().map(object_of).collect::<Vec<_>>(), want);
    assert_eq!(v[5], Value::RegionRef(Some(ds)));
    let full = references(&d);
    check_region(
        full[5].as_ref().unwrap(),
        ds,
        DS_SHAPE,
        &Sel::Slab(&[5, 0], &[1, 8], None, None),
        "chunked[5]",
    );

    // regions
    let d = f.dataset("/refs/region").unwrap();
    let v = values(&d);
    assert_eq!(v[..6], vec![Value::RegionRef(Some(ds)); 6][..]);
    assert_eq!(v[6], Value::ObjectRef(None));
    let full = references(&d);
    for (i, want) in REGIONS.iter().enumerate() {
        let r = full[i].as_ref().unwrap();
        assert_eq!(r.external_file, None);
        check_region(r, ds, DS_SHAPE, want, &format!("region[{i}]"));
    }
    assert!(full[6].is_none());

    // attributes
    let d = f.dataset("/refs/attr").unwrap();
    let v = values(&d);
    let want = [(ds, "units"), (grp, "note"), (addr(&f, "/"), "root_attr")];
    for (i, (obj, name)) in want.iter().enumerate() {
        let Value::Reference(r) = &v[i] else {
            panic!("attr[{i}]: {:?}", v[i])
        };
        assert_eq!(r.kind, ReferenceType::Attribute);
        assert_eq!(r.address(), Some(*obj));
        assert_eq!(r.attribute.as_deref(), Some(*name));
        assert_eq!(r.external_file, None);
        assert_eq!(r.selection, None);
        // the attribute is there, on that object
        let holder = f.object_at(*obj).unwrap();
        assert!(holder.attrs().unwrap().iter().any(|a| a.name() == *name));
    }
    assert_eq!(v[3], Value::ObjectRef(None));

    // into the external file: every kind in the heap, with the file name
    let d = f.dataset("/refs/external").unwrap();
    let v = values(&d);
    let target = addr(&ext, "/target");
    let refs: Vec<&Reference> = v
        .iter()
        .map(|x| match x {
            Value::Reference(r) => r,
            x => panic!("external: {x:?}"),
        })
        .collect();
    for r in &refs {
        assert_eq!(r.external_file.as_deref(), Some(EXT));
    }
    assert_eq!(refs[0].kind, ReferenceType::Object);
    assert_eq!(refs[0].address(), Some(target));
    check_region(
        refs[1],
        target,
        &[4, 5],
        &Sel::Slab(&[1, 1], &[2, 3], None, None),
        "external[1]",
    );
    assert_eq!(refs[2].kind, ReferenceType::Attribute);
    assert_eq!(refs[2].address(), Some(target));
    assert_eq!(refs[2].attribute.as_deref(), Some("a"));
    assert_eq!(refs[3].kind, ReferenceType::Object);
    assert_eq!(refs[3].address(), Some(addr(&ext, "/g")));

    // kinds mixed in one dataset
    let d = f.dataset("/refs/mixed").unwrap();
    let v = values(&d);
    assert_eq!(v[0], Value::ObjectRef(Some(ds)));
    assert_eq!(v[1], Value::RegionRef(Some(ds)));
    assert!(
        matches!(&v[2], Value::Reference(r) if r.attribute.as_deref() == Some("note") && r.address() == Some(grp))
    );
    assert_eq!(v[3], Value::ObjectRef(None));
    let full = references(&d);
    check_region(
        full[1].as_ref().unwrap(),
        ds,
        DS_SHAPE,
        &Sel::Points(&[&[5, 0], &[0, 7]]),
        "mixed[1]",
    );

    // attributes of the reference type
    let refs_group = f.group("/refs").unwrap();
    let a = refs_group.attr("scalar").unwrap();
    assert_eq!(a.dtype().canonical(), "ref");
    assert_eq!(
        a.read_scalar::<Value>().unwrap(),
        Value::ObjectRef(Some(ds))
    );
    let a = refs_group.attr("array").unwrap();
    let v = a.read_raw::<Value>().unwrap();
    assert!(
        matches!(&v[0], Value::Reference(r) if r.attribute.as_deref() == Some("units") && r.address() == Some(ds))
    );
    assert_eq!(v[1], Value::RegionRef(Some(ds)));
    assert_eq!(v[2], Value::ObjectRef(None));
    let raw = a.raw();
    let r = decode_reference(a.file(), a.dtype(), &raw[18..36])
        .unwrap()
        .unwrap();
    check_region(&r, ds, DS_SHAPE, &REGIONS[0], "attribute array[1]");
    let a = refs_group.attr("ext").unwrap();
    let Value::Reference(r) = a.read_scalar::<Value>().unwrap() else {
        panic!("ext attribute")
    };
    assert_eq!(
        (r.kind, r.external_file.as_deref(), r.address()),
        (ReferenceType::Object, Some(EXT), Some(target))
    );
}

fn check_latest(dir: &Path) {
    let f = File::open(dir.join("revised_refs_latest.h5")).expect("open");
    let ds = addr(&f, "/ds");
    let d = f.dataset("/refs").unwrap();
    assert_eq!(d.dtype().size(), 14, "4-byte offsets: 2 + 4 + 4 + 4");
    let v = values(&d);
    assert_eq!(v[0], Value::ObjectRef(Some(ds)));
    assert_eq!(v[1..6], vec![Value::RegionRef(Some(ds)); 5][..]);
    assert!(
        matches!(&v[6], Value::Reference(r) if r.attribute.as_deref() == Some("units") && r.address() == Some(ds))
    );
    assert_eq!(v[7], Value::ObjectRef(None));
    let full = references(&d);
    assert_eq!(full[0].as_ref().unwrap().token.len(), 4);
    let sels = [
        &REGIONS[0],
        &REGIONS[1],
        &REGIONS[2],
        &Sel::Points(&[&[0, 0], &[3, 4]]),
        &Sel::All,
    ];
    for (i, want) in sels.iter().enumerate() {
        let r = full[i + 1].as_ref().unwrap();
        check_region(r, ds, DS_SHAPE, want, &format!("latest[{}]", i + 1));
    }
    // the latest format stores a regular hyperslab as such
    let s = &full[2]
        .as_ref()
        .unwrap()
        .selection
        .as_ref()
        .unwrap()
        .selection;
    assert!(
        matches!(s, EncodedSelection::Hyperslab(Hyperslab::Regular(_))),
        "{s:?}"
    );
    assert!(full[7].is_none());
}

#[test]
fn committed_files() {
    check_main(&data_dir());
    check_latest(&data_dir());
}

#[test]
fn regenerated_files() {
    let dir = common::scratch("revised_refs");
    let script = dir.join("make_revised_refs.py");
    std::fs::copy(data_dir().join("make_revised_refs.py"), &script).expect("copy script");
    let out = Command::new(common::python())
        .arg(&script)
        .current_dir(&dir)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "make_revised_refs.py failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    check_main(&dir);
    check_latest(&dir);
}

/// Old object and region references through `decode_reference`.
#[test]
fn old_references_in_full() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    for name in ["refs_earliest.h5", "refs_latest.h5"] {
        let f = File::open(fixtures.join(name)).expect("open");
        let ds = addr(&f, "/data/ds");
        let d = f.dataset("/object_refs").unwrap();
        let full = references(&d);
        assert_eq!(full[0].as_ref().and_then(|r| r.address()), Some(ds));
        assert_eq!(
            full[0].as_ref().map(|r| r.kind),
            Some(ReferenceType::Object)
        );
        assert!(full[4].is_none());

        let d = f.dataset("/region_refs").unwrap();
        let full = references(&d);
        let shape = [10, 10];
        let want = [
            Sel::Slab(&[1, 2], &[2, 3], None, None),
            Sel::Slab(&[0, 0], &[1, 10], None, None),
            Sel::Points(&[&[0, 4], &[3, 4], &[7, 4]]),
        ];
        for (i, w) in want.iter().enumerate() {
            let r = full[i].as_ref().unwrap();
            assert_eq!(r.kind, ReferenceType::Region);
            assert_eq!(r.address(), Some(ds), "{name} region[{i}]");
            let s = r.selection.as_ref().unwrap();
            assert_eq!(
                selected(&s.selection, &shape),
                w.expected(&shape),
                "{name} region[{i}]"
            );
        }
        assert!(full[3].is_none());
    }
}

fn sha_of_paths(paths: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in paths {
        h.update((p.len() as u32).to_le_bytes());
        h.update(p.as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// `h5rs canon` reads every reference and streams the path of the object
/// each names (in the other file for external ones; the holder for
/// attribute references; nothing for null ones).
#[test]
fn canon_streams_paths() {
    let mut lines = Vec::new();
    for name in ["revised_refs.h5", "revised_refs_latest.h5", EXT] {
        let out = Command::new(env!("CARGO_BIN_EXE_h5rs"))
            .arg("canon")
            .arg(data_dir().join(name))
            .output()
            .expect("run h5rs");
        assert!(
            out.status.success(),
            "canon {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(!text.contains("error"), "{name}: {text}");
        for l in text.lines() {
            lines.push((name, serde_json::from_str::<serde_json::Value>(l).unwrap()));
        }
    }
    let data = |file: &str, path: &str| -> String {
        let (_, j) = lines
            .iter()
            .find(|(f, j)| *f == file && j["path"] == path)
            .unwrap_or_else(|| panic!("{file} {path}"));
        j["data"].as_str().unwrap().to_string()
    };
    let main = "revised_refs.h5";
    assert_eq!(
        data(main, "/refs/object"),
        sha_of_paths(&["/data/ds", "/data/grp", "/", "/dtype", ""])
    );
    assert_eq!(
        data(main, "/refs/region"),
        sha_of_paths(
            &["/data/ds"; 6]
                .iter()
                .copied()
                .chain([""])
                .collect::<Vec<_>>()
        )
    );
    assert_eq!(
        data(main, "/refs/attr"),
        sha_of_paths(&["/data/ds", "/data/grp", "/", ""])
    );
    assert_eq!(
        data(main, "/refs/external"),
        sha_of_paths(&["/target", "/target", "/target", "/g"])
    );
    assert_eq!(
        data(main, "/refs/mixed"),
        sha_of_paths(&["/data/ds", "/data/ds", "/data/grp", ""])
    );
    assert_eq!(
        data("revised_refs_latest.h5", "/refs"),
        sha_of_paths(&["/ds", "/ds", "/ds", "/ds", "/ds", "/ds", "/ds", ""])
    );
}
