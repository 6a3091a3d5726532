//! Random changes to files h5py made: proptest (fixed seed) draws an
//! original file (datasets of random shapes, layouts, filters and maximum
//! shapes, in either format) and a sequence of changes (slice writes,
//! resizes, deletions, attribute edits, new groups and datasets). h5py
//! makes the original; h5rs reopens it (`File::open_rw`) and applies the
//! changes, and h5py applies the same changes to its own copy; libhdf5 must
//! dump both results alike (one Python process for all cases).

mod common;

use common::h5check::Batch;
use h5rs::File;
use h5rs::array::selection::{DimSelection, Selection};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

const CASES: usize = 150;

#[derive(Debug, Clone)]
struct Ds {
    shape: Vec<u64>,
    /// `None`: contiguous; else chunk shape.
    chunks: Option<Vec<u64>>,
    /// Unlimited first dimension (needs chunks).
    growable: bool,
    gzip: bool,
}

#[derive(Debug, Clone)]
enum Op {
    /// (dataset, region as (start, step, count) per dimension, seed).
    Write(usize, Vec<(u64, u64, u64)>, u64),
    /// (dataset, new first dimension).
    Grow(usize, u64),
    Delete(usize),
    /// (dataset or root when `None`, attribute number, value).
    SetAttr(Option<usize>, u8, i64),
    DeleteAttr(Option<usize>, u8),
    NewGroup(u8),
}

fn ds() -> impl Strategy<Value = Ds> {
    (
        prop::collection::vec(1u64..9, 1..=2),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(shape, chunked, growable, gzip)| {
            let chunked = chunked || growable || gzip;
            Ds {
                chunks: chunked.then(|| shape.iter().map(|&n| n.div_ceil(2)).collect()),
                shape,
                growable,
                gzip,
            }
        })
}

fn op(n: usize) -> impl Strategy<Value = Op> {
    prop_oneof![
        (
            0..n,
            prop::collection::vec((0u64..8, 1u64..3, 0u64..6), 2),
            0u64..251
        )
            .prop_map(|(d, r, s)| Op::Write(d, r, s)),
        (0..n, 1u64..20).prop_map(|(d, g)| Op::Grow(d, g)),
        (0..n).prop_map(Op::Delete),
        (prop::option::of(0..n), 0u8..12, -50i64..50).prop_map(|(o, a, v)| Op::SetAttr(o, a, v)),
        (prop::option::of(0..n), 0u8..12).prop_map(|(o, a)| Op::DeleteAttr(o, a)),
        (0u8..30).prop_map(Op::NewGroup),
    ]
}

fn tuple(v: &[u64]) -> String {
    let p: Vec<String> = v.iter().map(u64::to_string).collect();
    if p.len() == 1 {
        format!("({},)", p[0])
    } else {
        format!("({})", p.join(", "))
    }
}

/// The region clipped to the dataset's current shape (as a selection and
/// as numpy slices), `None` when it selects nothing.
fn clip(region: &[(u64, u64, u64)], shape: &[u64]) -> Option<(Selection, String)> {
    let mut dims = Vec::new();
    let mut py = Vec::new();
    for (d, &n) in shape.iter().enumerate() {
        let (start, step, count) = region.get(d).copied().unwrap_or((0, 1, n));
        if start >= n {
            return None;
        }
        let count = count.min((n - start).div_ceil(step));
        if count == 0 {
            return None;
        }
        dims.push(DimSelection {
            start,
            step,
            count,
            keep: true,
        });
        py.push(format!("{start}:{}:{step}", start + (count - 1) * step + 1));
    }
    Some((Selection { dims }, py.join(", ")))
}

#[test]
fn random_changes_read_the_same_as_h5pys() {
    let dir = common::scratch("modify_proptest");
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[11; 32]),
    );
    let strategy =
        (any::<bool>(), prop::collection::vec(ds(), 1..=4)).prop_flat_map(|(latest, dss)| {
            let n = dss.len();
            (
                Just(latest),
                Just(dss),
                prop::collection::vec(op(n), 1..=10),
            )
        });
    let mut batch = Batch::default();
    let mut originals = String::from("import sys, h5py, numpy as np\n");
    let mut cases = Vec::new();
    for i in 0..CASES {
        let (latest, dss, ops) = strategy.new_tree(&mut runner).unwrap().current();
        let libver = if latest { "latest" } else { "earliest" };
        let mut make = format!("f = h5py.File(p, 'w', libver={libver:?})\n");
        for (j, d) in dss.iter().enumerate() {
            let n: u64 = d.shape.iter().product();
            let mut kw = vec![format!(
                "data=(np.arange({n}) * 3 + {j}).astype('<i4').reshape({})",
                tuple(&d.shape)
            )];
            if let Some(c) = &d.chunks {
                kw.push(format!("chunks={}", tuple(c)));
            }
            if d.growable {
                let mut m: Vec<String> = d.shape.iter().map(u64::to_string).collect();
                m[0] = "None".into();
                kw.push(
                    format!("maxshape=({},)", m.join(", "))
                        .replace(",)", if m.len() == 1 { ",)" } else { ")" }),
                );
            }
            if d.gzip {
                kw.push("compression='gzip'".into());
            }
            make.push_str(&format!("f.create_dataset('d{j}', {})\n", kw.join(", ")));
            make.push_str(&format!("f['d{j}'].attrs['a0'] = np.int64({j})\n"));
        }
        make.push_str("f.close()\n");
        let path = dir.join(format!("case{i}.h5"));
        originals.push_str(&format!("p = sys.argv[1] + '/case{i}.h5'\n{make}"));
        cases.push((path, make, dss, ops, latest));
    }
    common::run_python(&originals, &dir);
    for (i, (path, make, dss, ops, latest)) in cases.into_iter().enumerate() {
        let f = File::open_rw(&path).unwrap();
        let mut py = String::from("f = h5py.File(p, 'r+')\n");
        let mut shapes: Vec<Option<Vec<u64>>> = dss.iter().map(|d| Some(d.shape.clone())).collect();
        let mut groups = std::collections::HashSet::new();
        for op in &ops {
            match op {
                Op::Write(d, region, seed) => {
                    let Some(shape) = &shapes[*d] else { continue };
                    let Some((sel, slices)) = clip(region, shape) else {
                        continue;
                    };
                    let n = sel.count();
                    let vals: Vec<i32> = (0..n)
                        .map(|k| ((k * 7 + seed) % 251) as i32 - 100)
                        .collect();
                    f.dataset(&format!("d{d}"))
                        .unwrap()
                        .write_selection(&vals, &sel)
                        .unwrap();
                    let counts: Vec<u64> = sel.dims.iter().map(|x| x.count).collect();
                    py.push_str(&format!(
                        "f['d{d}'][{slices}] = (((np.arange({n}) * 7 + {seed}) % 251) - 100).astype('<i4').reshape({})\n",
                        tuple(&counts)
                    ));
                }
                Op::Grow(d, g) => {
                    let Some(shape) = &mut shapes[*d] else {
                        continue;
                    };
                    if !dss[*d].growable {
                        continue;
                    }
                    shape[0] = *g;
                    f.dataset(&format!("d{d}"))
                        .unwrap()
                        .resize(shape.iter().map(|&x| x as usize).collect::<Vec<_>>())
                        .unwrap();
                    py.push_str(&format!("f['d{d}'].resize({})\n", tuple(shape)));
                }
                Op::Delete(d) => {
                    if shapes[*d].take().is_none() {
                        continue;
                    }
                    f.unlink(&format!("d{d}")).unwrap();
                    py.push_str(&format!("del f['d{d}']\n"));
                }
                Op::SetAttr(o, a, v) => {
                    let target = match o {
                        Some(d) if shapes[*d].is_none() => continue,
                        Some(d) => format!("f['d{d}']"),
                        None => "f".into(),
                    };
                    match o {
                        Some(d) => f
                            .dataset(&format!("d{d}"))
                            .unwrap()
                            .write_attr(&format!("a{a}"), v)
                            .unwrap(),
                        None => f.write_attr(&format!("a{a}"), v).unwrap(),
                    }
                    py.push_str(&format!("{target}.attrs['a{a}'] = np.int64({v})\n"));
                }
                Op::DeleteAttr(o, a) => {
                    let name = format!("a{a}");
                    let r = match o {
                        Some(d) if shapes[*d].is_none() => continue,
                        Some(d) => f.dataset(&format!("d{d}")).unwrap().delete_attr(&name),
                        None => f.delete_attr(&name),
                    };
                    if r.is_ok() {
                        let target = o.map_or("f".to_string(), |d| format!("f['d{d}']"));
                        py.push_str(&format!("del {target}.attrs['{name}']\n"));
                    }
                }
                Op::NewGroup(g) => {
                    if groups.insert(*g) {
                        f.create_group(&format!("g{g}")).unwrap();
                        py.push_str(&format!("f.create_group('g{g}')\n"));
                    }
                }
            }
        }
        f.close().unwrap();
        py.push_str("f.close()\n");
        batch.add(
            &format!("case {i}: {ops:?}"),
            &path,
            &format!("{make}{py}"),
            !latest,
        );
    }
    batch.run(&dir);
}
