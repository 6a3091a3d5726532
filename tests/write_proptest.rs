//! Random files: shapes (zero-length and unlimited dimensions included),
//! element types, layouts, chunk shapes, filter pipelines, partial writes,
//! resizes and attributes, drawn by proptest with a fixed seed. Each file
//! is written by h5rs and, with the same calls, by h5py; libhdf5 must dump
//! both alike, and `h5rs canon` must agree (all through one Python process,
//! see `common::h5check`).

mod common;

use common::h5check::Batch;
use h5rs::array::selection::{DimSelection, Selection};
use h5rs::{File, Format, H5Type};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

/// Cases per run (each a file with up to three datasets).
const CASES: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Ty {
    I8,
    U16,
    I32,
    I64,
    F32,
    F64,
    Bool,
    Str,
}

impl Ty {
    fn numpy(self) -> &'static str {
        match self {
            Ty::I8 => "'<i1'",
            Ty::U16 => "'<u2'",
            Ty::I32 => "'<i4'",
            Ty::I64 => "'<i8'",
            Ty::F32 => "'<f4'",
            Ty::F64 => "'<f8'",
            Ty::Bool => "'?'",
            Ty::Str => "h5py.string_dtype()",
        }
    }

    /// numpy code turning `v` (an int array in 0..251) into values.
    fn py_values(self, v: &str) -> String {
        match self {
            Ty::I8 | Ty::I32 | Ty::I64 => format!("({v} - 100).astype({})", self.numpy()),
            Ty::U16 => format!("{v}.astype('<u2')"),
            Ty::F32 | Ty::F64 => format!("({v} - 100.5).astype({})", self.numpy()),
            Ty::Bool => format!("({v} % 2 == 1)"),
            Ty::Str => format!("np.array(['s%d' % x for x in {v}], dtype=object)"),
        }
    }
}

/// The raw value of element `k` of a write with seed `seed`.
fn raw(k: u64, seed: u64) -> u64 {
    (k * 7 + seed) % 251
}

#[derive(Debug, Clone)]
struct Write {
    /// (start, step, count) per dimension, inside the extent at the time.
    region: Vec<(u64, u64, u64)>,
    seed: u64,
}

#[derive(Debug, Clone)]
struct DsSpec {
    ty: Ty,
    shape: Vec<u64>,
    /// `None`: fixed (no maxshape); else one entry per dim, `None` unlimited.
    maxshape: Option<Vec<Option<u64>>>,
    chunked: bool,
    chunks: Option<Vec<u64>>,
    shuffle: bool,
    deflate: Option<u32>,
    fletcher32: bool,
    fill: Option<u64>,
    initial: Option<u64>,
    writes: Vec<Write>,
    resize: Option<Vec<u64>>,
    after_resize: Option<Write>,
    attrs: Vec<(Ty, Vec<u64>, u64)>,
}

fn region_in(shape: Vec<u64>) -> impl Strategy<Value = Write> {
    let dims: Vec<_> = shape
        .iter()
        .map(|&n| {
            (0..=n, 1u64..=2).prop_flat_map(move |(start, step)| {
                let max = if start >= n {
                    0
                } else {
                    (n - start).div_ceil(step)
                };
                (Just(start), Just(step), 0..=max)
            })
        })
        .collect();
    (dims, 0u64..251).prop_map(|(region, seed)| Write { region, seed })
}

fn ty() -> impl Strategy<Value = Ty> {
    prop_oneof![
        Just(Ty::I8),
        Just(Ty::U16),
        Just(Ty::I32),
        Just(Ty::I64),
        Just(Ty::F32),
        Just(Ty::F64),
        Just(Ty::Bool),
        Just(Ty::Str),
    ]
}

fn ds_spec() -> impl Strategy<Value = DsSpec> {
    (ty(), prop::collection::vec(0u64..12, 0..=3))
        .prop_flat_map(|(elem, shape)| {
            let rank = shape.len();
            let scalar = rank == 0;
            // maxshape: none, or per dim unlimited / fixed at or above the size
            let max = if scalar {
                Just(None).boxed()
            } else {
                prop::option::of(
                    shape
                        .iter()
                        .map(|&n| prop_oneof![Just(None), (n..n + 8).prop_map(Some)].boxed())
                        .collect::<Vec<_>>(),
                )
                .boxed()
            };
            (
                Just(elem),
                Just(shape.clone()),
                max,
                any::<bool>(),
                prop::option::of(prop::collection::vec(1u64..7, rank..=rank)),
                any::<bool>(),
                prop::option::of(0u32..=9),
                any::<bool>(),
                prop::option::of(0u64..251),
                prop::option::of(0u64..251),
                prop::collection::vec(region_in(shape.clone()), 0..=2),
                prop::collection::vec(
                    (ty(), prop::collection::vec(1u64..4, 0..=1), 0u64..251),
                    0..=3,
                ),
            )
                .prop_map(
                    |(
                        ty,
                        shape,
                        maxshape,
                        chunked,
                        chunks,
                        shuffle,
                        deflate,
                        fletcher32,
                        fill,
                        initial,
                        writes,
                        attrs,
                    )| {
                        let scalar = shape.is_empty();
                        let filtered = shuffle || deflate.is_some() || fletcher32;
                        let chunked = !scalar && (chunked || filtered || maxshape.is_some());
                        // explicit chunks must fit fixed maximum dimensions
                        let chunks = chunks.filter(|c| {
                            chunked
                                && c.iter().enumerate().all(|(i, &cd)| {
                                    let m = match &maxshape {
                                        Some(m) => m[i],
                                        None => Some(shape[i]),
                                    };
                                    m.is_none_or(|m| cd <= m)
                                })
                        });
                        DsSpec {
                            ty,
                            shape,
                            maxshape,
                            chunked,
                            chunks,
                            shuffle: shuffle && !scalar,
                            deflate: deflate.filter(|_| !scalar),
                            // libhdf5 refuses checksums of variable-length data
                            fletcher32: fletcher32 && !scalar && ty != Ty::Str,
                            // a fill value only for numbers
                            fill: fill.filter(|_| ty != Ty::Str),
                            initial,
                            writes,
                            resize: None,
                            after_resize: None,
                            attrs,
                        }
                    },
                )
        })
        .prop_flat_map(|spec| {
            // a resize within maxshape, then a write in the new extent
            let resize = match &spec.maxshape {
                Some(m) if spec.chunked => prop::option::of(
                    spec.shape
                        .iter()
                        .zip(m)
                        .map(|(&n, md)| match md {
                            Some(md) => (0..=*md).boxed(),
                            None => (0..n + 10).boxed(),
                        })
                        .collect::<Vec<_>>(),
                )
                .boxed(),
                _ => Just(None).boxed(),
            };
            (Just(spec), resize)
        })
        .prop_flat_map(|(spec, resize)| {
            let after = match &resize {
                Some(r) => prop::option::of(region_in(r.clone())).boxed(),
                None => Just(None).boxed(),
            };
            (Just(spec), Just(resize), after)
        })
        .prop_map(|(mut spec, resize, after)| {
            spec.resize = resize;
            spec.after_resize = after;
            spec
        })
}

fn values<T>(n: u64, seed: u64, conv: &impl Fn(u64) -> T) -> Vec<T> {
    (0..n).map(|k| conv(raw(k, seed))).collect()
}

fn selection(w: &Write) -> Selection {
    Selection {
        dims: w
            .region
            .iter()
            .map(|&(start, step, count)| DimSelection {
                start,
                step,
                count,
                keep: true,
            })
            .collect(),
    }
}

fn write_typed<T: H5Type + Clone>(
    file: &File,
    name: &str,
    s: &DsSpec,
    conv: impl Fn(u64) -> T,
) -> h5rs::Result<()> {
    let mut b = file
        .new_dataset::<T>()?
        .shape(s.shape.iter().map(|&d| d as usize).collect::<Vec<_>>());
    if let Some(m) = &s.maxshape {
        b = b.maxshape(m.iter().map(|d| d.map(|d| d as usize)).collect::<Vec<_>>());
    }
    if s.chunked {
        b = match &s.chunks {
            Some(c) => b.chunk(c.iter().map(|&d| d as usize).collect::<Vec<_>>()),
            None => b.chunked(),
        };
    }
    if s.shuffle {
        b = b.shuffle();
    }
    if let Some(l) = s.deflate {
        b = b.deflate(l);
    }
    if s.fletcher32 {
        b = b.fletcher32();
    }
    if let Some(f) = s.fill {
        b = b.fill_value(conv(f));
    }
    let n: u64 = s.shape.iter().product();
    let init = s.initial.map(|seed| values(n, seed, &conv));
    if let Some(v) = &init {
        b = b.with_data(v);
    }
    let d = b.create(name)?;
    for w in &s.writes {
        let sel = selection(w);
        d.write_selection(&values(sel.count(), w.seed, &conv), &sel)?;
    }
    if let Some(r) = &s.resize {
        d.resize(r.iter().map(|&x| x as usize).collect::<Vec<_>>())?;
        if let Some(w) = &s.after_resize {
            let sel = selection(w);
            d.write_selection(&values(sel.count(), w.seed, &conv), &sel)?;
        }
    }
    for (i, (ty, shape, seed)) in s.attrs.iter().enumerate() {
        let n: u64 = shape.iter().product();
        let name = format!("a{i}");
        let v = |k| raw(k, *seed);
        match (ty, shape.is_empty()) {
            (Ty::Str, true) => d.write_attr(&name, &format!("s{}", v(0)))?,
            (Ty::Str, false) => d.write_attr(
                &name,
                &(0..n).map(|k| format!("s{}", v(k))).collect::<Vec<_>>(),
            )?,
            (Ty::F64 | Ty::F32, true) => d.write_attr(&name, &(v(0) as f64 - 100.5))?,
            (Ty::F64 | Ty::F32, false) => d.write_attr(
                &name,
                &(0..n).map(|k| v(k) as f64 - 100.5).collect::<Vec<_>>(),
            )?,
            (_, true) => d.write_attr(&name, &(v(0) as i64 - 100))?,
            (_, false) => d.write_attr(
                &name,
                &(0..n).map(|k| v(k) as i64 - 100).collect::<Vec<_>>(),
            )?,
        }
    }
    Ok(())
}

fn py_tuple(v: &[u64]) -> String {
    let parts: Vec<String> = v.iter().map(u64::to_string).collect();
    match parts.len() {
        1 => format!("({},)", parts[0]),
        _ => format!("({})", parts.join(", ")),
    }
}

fn py_region(w: &Write) -> String {
    let parts: Vec<String> = w
        .region
        .iter()
        .map(|&(start, step, count)| {
            let end = if count == 0 {
                start
            } else {
                start + (count - 1) * step + 1
            };
            format!("{start}:{end}:{step}")
        })
        .collect();
    if parts.is_empty() {
        "()".into()
    } else {
        parts.join(", ")
    }
}

fn py_dataset(name: &str, s: &DsSpec) -> String {
    let mut py = String::new();
    let mut kw = vec![format!("dtype={}", s.ty.numpy())];
    if let Some(m) = &s.maxshape {
        let parts: Vec<String> = m
            .iter()
            .map(|d| d.map_or("None".into(), |d| d.to_string()))
            .collect();
        kw.push(if parts.len() == 1 {
            format!("maxshape=({},)", parts[0])
        } else {
            format!("maxshape=({})", parts.join(", "))
        });
    }
    if s.chunked {
        kw.push(match &s.chunks {
            Some(c) => format!("chunks={}", py_tuple(c)),
            None => "chunks=True".into(),
        });
    }
    if s.shuffle {
        kw.push("shuffle=True".into());
    }
    if let Some(l) = s.deflate {
        kw.push(format!("compression='gzip', compression_opts={l}"));
    }
    if s.fletcher32 {
        kw.push("fletcher32=True".into());
    }
    if let Some(f) = s.fill {
        kw.push(format!(
            "fillvalue={}[0]",
            s.ty.py_values(&format!("np.array([{f}])"))
        ));
    }
    let n: u64 = s.shape.iter().product();
    let shape = if s.shape.is_empty() {
        "()".to_string()
    } else {
        py_tuple(&s.shape)
    };
    if let Some(seed) = s.initial {
        kw.push(format!(
            "data={}.reshape({shape})",
            s.ty.py_values(&format!("((np.arange({n}) * 7 + {seed}) % 251)"))
        ));
    }
    py.push_str(&format!(
        "d = f.create_dataset({name:?}, {shape}, {})\n",
        kw.join(", ")
    ));
    let write = |w: &Write| {
        let counts: Vec<u64> = w.region.iter().map(|r| r.2).collect();
        let n: u64 = counts.iter().product();
        let cs = if counts.is_empty() {
            "()".to_string()
        } else {
            py_tuple(&counts)
        };
        format!(
            "d[{}] = {}.reshape({cs})\n",
            py_region(w),
            s.ty.py_values(&format!("((np.arange({n}) * 7 + {}) % 251)", w.seed))
        )
    };
    for w in &s.writes {
        py.push_str(&write(w));
    }
    if let Some(r) = &s.resize {
        py.push_str(&format!("d.resize({})\n", py_tuple(r)));
        if let Some(w) = &s.after_resize {
            py.push_str(&write(w));
        }
    }
    for (i, (ty, shape, seed)) in s.attrs.iter().enumerate() {
        let n: u64 = shape.iter().product::<u64>().max(1);
        let v = format!("((np.arange({n}) * 7 + {seed}) % 251)");
        let vals = match ty {
            Ty::Str => format!("[str(x) for x in np.char.add('s', {v}.astype(str))]"),
            Ty::F64 | Ty::F32 => format!("({v} - 100.5).astype('<f8')"),
            _ => format!("({v} - 100).astype('<i8')"),
        };
        let value = if shape.is_empty() {
            format!("{vals}[0]")
        } else {
            vals
        };
        py.push_str(&format!("d.attrs['a{i}'] = {value}\n"));
    }
    py
}

#[test]
fn random_files_read_the_same_in_libhdf5_and_h5rs() {
    let dir = common::scratch("write_proptest");
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]),
    );
    let case = (
        prop_oneof![Just(Format::Earliest), Just(Format::Latest)],
        prop::collection::vec(ds_spec(), 1..=3),
    );
    let mut batch = Batch::default();
    for i in 0..CASES {
        let (format, specs) = case.new_tree(&mut runner).unwrap().current();
        let path = dir.join(format!("case{i}.h5"));
        let file = File::builder().format(format).create(&path).unwrap();
        let mut py = format!(
            "f = h5py.File(p, 'w', libver={:?})\n",
            if format == Format::Latest {
                "latest"
            } else {
                "earliest"
            }
        );
        for (j, s) in specs.iter().enumerate() {
            let name = format!("d{j}");
            let r = match s.ty {
                Ty::I8 => write_typed(&file, &name, s, |v| (v as i64 - 100) as i8),
                Ty::U16 => write_typed(&file, &name, s, |v| v as u16),
                Ty::I32 => write_typed(&file, &name, s, |v| v as i32 - 100),
                Ty::I64 => write_typed(&file, &name, s, |v| v as i64 - 100),
                Ty::F32 => write_typed(&file, &name, s, |v| v as f32 - 100.5),
                Ty::F64 => write_typed(&file, &name, s, |v| v as f64 - 100.5),
                Ty::Bool => write_typed(&file, &name, s, |v| v % 2 == 1),
                Ty::Str => write_typed(&file, &name, s, |v| format!("s{v}")),
            };
            if let Err(e) = r {
                panic!("case {i} dataset {j}: {e}\n{s:#?}");
            }
            py.push_str(&py_dataset(&name, s));
        }
        file.close().unwrap();
        py.push_str("f.close()\n");
        batch.add(
            &format!("case {i} ({format:?}): {specs:?}"),
            &path,
            &py,
            format == Format::Earliest,
        );
    }
    batch.run(&dir);
}
