//! Files written by h5rs, checked by the referees: for each case the same
//! file is made by h5py with the same calls, libhdf5 must dump both alike
//! (`h5canon.py`), `h5rs canon` must agree, and `h5dump` must read the
//! earliest-format files.

mod common;

use common::h5check::Batch;
use h5rs::{File, Format};
use ndarray::{Array1, Array2, Array3, s};
use std::path::Path;

fn fmt_name(f: Format) -> &'static str {
    match f {
        Format::Earliest => "earliest",
        Format::Latest => "latest",
    }
}

fn create(dir: &Path, name: &str, f: Format) -> (File, std::path::PathBuf) {
    let p = dir.join(format!("{name}_{}.h5", fmt_name(f)));
    (File::builder().format(f).create(&p).unwrap(), p)
}

fn libver(f: Format) -> &'static str {
    fmt_name(f)
}

/// Numbers of every width, in every layout, whole and partial writes.
fn numbers(b: &mut Batch, dir: &Path, f: Format) {
    let (file, p) = create(dir, "numbers", f);
    file.write_dataset("i8", &(0..100).map(|i| i as i8 - 50).collect::<Vec<_>>())
        .unwrap();
    file.write_dataset("u16", &(0..300).map(|i| i as u16 * 200).collect::<Vec<_>>())
        .unwrap();
    file.write_dataset(
        "i32",
        &Array2::from_shape_fn((7, 9), |(i, j)| (i * 9 + j) as i32 - 30),
    )
    .unwrap();
    file.write_dataset("u64", &vec![u64::MAX, 0, 1 << 40])
        .unwrap();
    file.write_dataset("f32", &Array1::linspace(-1.0f32, 1.0, 33))
        .unwrap();
    file.write_dataset(
        "f64",
        &Array3::from_shape_fn((3, 4, 5), |(a, b, c)| {
            a as f64 * 0.5 + b as f64 - c as f64 * 1e-3
        }),
    )
    .unwrap();
    file.write_dataset("scalar", &42.5f64).unwrap();
    file.new_dataset::<i64>()
        .unwrap()
        .shape((20, 30))
        .compact()
        .with_data(&Array2::from_shape_fn((20, 30), |(i, j)| {
            (i * 1000 + j) as i64
        }))
        .create("compact")
        .unwrap();
    // partial writes into a contiguous dataset: the rest is the fill value
    let d = file
        .new_dataset::<i32>()
        .unwrap()
        .shape((10, 10))
        .fill_value(-7)
        .create("partial")
        .unwrap();
    d.write_slice(&Array2::from_elem((3, 4), 5i32), s![2..5, 1..5])
        .unwrap();
    d.write_slice(&Array1::from_vec(vec![1i32, 2, 3, 4, 5]), s![9, ..;2])
        .unwrap();
    // created empty: reads as zeros
    file.new_dataset::<f32>()
        .unwrap()
        .shape((10, 20, 5))
        .create("empty")
        .unwrap();
    file.close().unwrap();
    let py = format!(
        r#"
f = h5py.File(p, "w", libver="{lv}")
f["i8"] = (np.arange(100) - 50).astype("i1")
f["u16"] = (np.arange(300) * 200).astype("u2")
f["i32"] = (np.arange(63).reshape(7, 9) - 30).astype("i4")
f["u64"] = np.array([2**64 - 1, 0, 1 << 40], dtype="u8")
f["f32"] = np.linspace(-1, 1, 33, dtype="f4")
a = np.indices((3, 4, 5)).astype("f8")
f["f64"] = a[0] * 0.5 + a[1] - a[2] * 1e-3
f["scalar"] = np.float64(42.5)
i = np.indices((20, 30))
dc = h5py.h5p.create(h5py.h5p.DATASET_CREATE); dc.set_layout(h5py.h5d.COMPACT)
sid = h5py.h5s.create_simple((20, 30))
h5py.h5d.create(f.id, b"compact", h5py.h5t.STD_I64LE, sid, dcpl=dc).write(h5py.h5s.ALL, h5py.h5s.ALL, (i[0] * 1000 + i[1]).astype("<i8"))
d = f.create_dataset("partial", (10, 10), dtype="i4", fillvalue=-7)
d[2:5, 1:5] = 5
d[9, ::2] = [1, 2, 3, 4, 5]
f.create_dataset("empty", (10, 20, 5), dtype="f4")
f.close()
"#,
        lv = libver(f)
    );
    b.add(
        &format!("numbers/{}", fmt_name(f)),
        &p,
        &py,
        f == Format::Earliest,
    );
}

/// Chunked datasets: filters, maxshape, automatic chunks, partial chunk
/// writes, resizing both ways.
fn chunked(b: &mut Batch, dir: &Path, f: Format) {
    let (file, p) = create(dir, "chunked", f);
    let a = Array2::from_shape_fn((200, 50), |(i, j)| ((i * 50 + j) % 97) as i32);
    file.new_dataset::<i32>()
        .unwrap()
        .deflate(4)
        .with_data(&a)
        .create("gzip")
        .unwrap();
    file.new_dataset::<i32>()
        .unwrap()
        .shuffle()
        .deflate(6)
        .fletcher32()
        .chunk((16, 16))
        .with_data(&a)
        .create("all_filters")
        .unwrap();
    file.new_dataset::<i32>()
        .unwrap()
        .chunk((7, 11))
        .with_data(&a)
        .create("edges")
        .unwrap();
    file.new_dataset::<i32>()
        .unwrap()
        .chunk((200, 50))
        .with_data(&a)
        .create("one_chunk")
        .unwrap();
    // partial chunk writes and a fill value
    let d = file
        .new_dataset::<i16>()
        .unwrap()
        .shape((30, 40))
        .chunk((8, 8))
        .deflate(1)
        .fill_value(9)
        .create("sparse")
        .unwrap();
    d.write_slice(&Array2::from_elem((5, 5), -1i16), s![3..8, 3..8])
        .unwrap();
    d.write_slice(&Array2::from_elem((2, 40), 4i16), s![20..22, ..])
        .unwrap();
    // resizable: grow, write the new part, shrink
    let r = file
        .new_dataset::<i64>()
        .unwrap()
        .shape((100, 10))
        .maxshape((None, 10))
        .create("resizable")
        .unwrap();
    r.write(&Array2::from_shape_fn((100, 10), |(i, j)| {
        (i * 10 + j) as i64
    }))
    .unwrap();
    r.resize((250, 10)).unwrap();
    r.write_slice(&Array2::from_elem((100, 10), -5i64), s![150..250, ..])
        .unwrap();
    let r2 = file
        .new_dataset::<u8>()
        .unwrap()
        .shape(1000)
        .maxshape(2000)
        .chunk(64)
        .create("shrunk")
        .unwrap();
    r2.write(&(0..1000).map(|i| (i % 251) as u8).collect::<Vec<_>>())
        .unwrap();
    r2.resize(300).unwrap();
    r2.resize(500).unwrap();
    let err = r.resize((250, 11)).unwrap_err();
    assert!(err.to_string().contains("maximum"), "{err}");
    file.close().unwrap();
    let py = format!(
        r#"
f = h5py.File(p, "w", libver="{lv}")
a = (np.arange(200 * 50).reshape(200, 50) % 97).astype("i4")
f.create_dataset("gzip", data=a, compression="gzip", compression_opts=4)
f.create_dataset("all_filters", data=a, shuffle=True, compression="gzip", compression_opts=6, fletcher32=True, chunks=(16, 16))
f.create_dataset("edges", data=a, chunks=(7, 11))
f.create_dataset("one_chunk", data=a, chunks=(200, 50))
d = f.create_dataset("sparse", (30, 40), dtype="i2", chunks=(8, 8), compression="gzip", compression_opts=1, fillvalue=9)
d[3:8, 3:8] = -1
d[20:22, :] = 4
r = f.create_dataset("resizable", (100, 10), dtype="i8", maxshape=(None, 10))
r[:] = np.arange(1000).reshape(100, 10)
r.resize((250, 10))
r[150:250] = -5
r2 = f.create_dataset("shrunk", (1000,), dtype="u1", maxshape=(2000,), chunks=(64,))
r2[:] = np.arange(1000) % 251
r2.resize((300,))
r2.resize((500,))
f.close()
"#,
        lv = libver(f)
    );
    b.add(
        &format!("chunked/{}", fmt_name(f)),
        &p,
        &py,
        f == Format::Earliest,
    );
}

/// Groups: nesting, many members (multi-level B-trees), links.
fn groups(b: &mut Batch, dir: &Path, f: Format) {
    let (file, p) = create(dir, "groups", f);
    file.create_group("first").unwrap();
    file.create_group("second/third/fourth").unwrap();
    let g = file.group("first").unwrap();
    g.create_group("nestedfirst").unwrap();
    file.create_group("first/nestedthird").unwrap();
    assert!(file.create_group("first").is_err());
    file.require_group("first").unwrap();
    file.require_group("new/one").unwrap();
    let many = file.create_group("many").unwrap();
    for i in 0..300 {
        many.create_group(&format!("g{i:04}")).unwrap();
    }
    for i in 0..70 {
        many.write_dataset(&format!("d{i}"), &vec![i; 3]).unwrap();
    }
    file.link_soft("/first/nestedfirst", "soft").unwrap();
    file.link_soft("/nowhere", "dangling").unwrap();
    file.link_hard("/many/d5", "hard_to_d5").unwrap();
    file.link_external("other.h5", "/x", "ext").unwrap();
    file.close().unwrap();
    let py = format!(
        r#"
f = h5py.File(p, "w", libver="{lv}")
f.create_group("first")
f.create_group("second/third/fourth")
f["first"].create_group("nestedfirst")
f.create_group("first/nestedthird")
f.require_group("first")
f.require_group("new/one")
m = f.create_group("many")
for i in range(300):
    m.create_group("g%04d" % i)
for i in range(70):
    m["d%d" % i] = np.full(3, i, dtype="i4")
f["soft"] = h5py.SoftLink("/first/nestedfirst")
f["dangling"] = h5py.SoftLink("/nowhere")
f["hard_to_d5"] = f["many/d5"]
f["ext"] = h5py.ExternalLink("other.h5", "/x")
f.close()
"#,
        lv = libver(f)
    );
    b.add(
        &format!("groups/{}", fmt_name(f)),
        &p,
        &py,
        f == Format::Earliest,
    );
}

/// Numeric attributes on the root, groups and datasets; overwrites; many.
fn attributes(b: &mut Batch, dir: &Path, f: Format) {
    let (file, p) = create(dir, "attrs", f);
    file.write_attr("version", &3i32).unwrap();
    file.write_attr("scale", &[1.0f64, 0.5, 0.25]).unwrap();
    let g = file.create_group("g").unwrap();
    g.write_attr(
        "matrix",
        &Array2::from_shape_fn((3, 4), |(i, j)| (i * 4 + j) as u16),
    )
    .unwrap();
    let d = file.write_dataset("d", &vec![1.5f32; 10]).unwrap();
    d.write_attr("valid_max", &99i64).unwrap();
    d.write_attr("valid_max", &100i64).unwrap();
    for i in 0..40 {
        d.write_attr(&format!("a{i:02}"), &(i as f64)).unwrap();
    }
    file.close().unwrap();
    let py = format!(
        r#"
f = h5py.File(p, "w", libver="{lv}")
f.attrs["version"] = np.int32(3)
f.attrs["scale"] = np.array([1.0, 0.5, 0.25])
g = f.create_group("g")
g.attrs["matrix"] = np.arange(12, dtype="u2").reshape(3, 4)
d = f.create_dataset("d", data=np.full(10, 1.5, dtype="f4"))
d.attrs["valid_max"] = np.int64(99)
d.attrs["valid_max"] = np.int64(100)
for i in range(40):
    d.attrs["a%02d" % i] = float(i)
f.close()
"#,
        lv = libver(f)
    );
    b.add(
        &format!("attrs/{}", fmt_name(f)),
        &p,
        &py,
        f == Format::Earliest,
    );
}

/// Creation order tracked everywhere (h5py's `track_order` config).
fn tracked(b: &mut Batch, dir: &Path, f: Format) {
    let p = dir.join(format!("tracked_{}.h5", fmt_name(f)));
    let file = File::builder()
        .format(f)
        .track_order(true)
        .create(&p)
        .unwrap();
    file.create_group("b").unwrap();
    file.create_group("a/z").unwrap();
    let d = file.write_dataset("d", &vec![1i64, 2, 3]).unwrap();
    d.write_attr("z", &1i64).unwrap();
    d.write_attr("y", &2i64).unwrap();
    d.write_attr("z", &3i64).unwrap();
    file.write_attr("q", &1i64).unwrap();
    file.link_hard("/d", "a/d_again").unwrap();
    // dense storage: many links, many attributes, a large attribute
    let many = file.create_group("many").unwrap();
    for i in 0..30 {
        many.create_group(&format!("m{:02}", 29 - i)).unwrap();
        many.write_attr(&format!("a{:02}", 29 - i), &{ i }).unwrap();
    }
    many.write_attr(
        "big",
        &(0..12800).map(|i| i as f64 * 0.5).collect::<Vec<_>>(),
    )
    .unwrap();
    file.close().unwrap();
    let py = format!(
        r#"
h5py.get_config().track_order = True
try:
    f = h5py.File(p, "w", libver="{lv}")
    f.create_group("b")
    f.create_group("a/z")
    d = f.create_dataset("d", data=np.array([1, 2, 3]))
    d.attrs["z"] = 1
    d.attrs["y"] = 2
    d.attrs["z"] = 3
    f.attrs["q"] = 1
    f["a/d_again"] = f["d"]
    many = f.create_group("many")
    for i in range(30):
        many.create_group("m%02d" % (29 - i))
        many.attrs["a%02d" % (29 - i)] = np.int32(i)
    many.attrs["big"] = np.arange(12800) * 0.5
    f.close()
finally:
    h5py.get_config().track_order = False
"#,
        lv = libver(f)
    );
    b.add(
        &format!("tracked/{}", fmt_name(f)),
        &p,
        &py,
        f == Format::Earliest,
    );
    b.check(
        r#"
f = h5py.File(p, "r")
assert list(f) == ["b", "a", "d", "many"], list(f)
assert list(f["d"].attrs) == ["y", "z"], list(f["d"].attrs)
assert f["d"].attrs["z"] == 3
assert f["a/d_again"] == f["d"]
assert list(f["many"]) == ["m%02d" % (29 - i) for i in range(30)], list(f["many"])
assert list(f["many"].attrs)[:30] == ["a%02d" % (29 - i) for i in range(30)]
assert (f["many"].attrs["big"] == np.arange(12800) * 0.5).all()
"#,
    );
}

#[derive(h5rs::H5Type, Debug, Clone, PartialEq)]
struct Inner {
    x: f32,
    y: f64,
}

#[derive(h5rs::H5Type, Debug, Clone, Copy, PartialEq)]
#[repr(u8)]
enum Color {
    Red = 0,
    Green = 1,
    Blue = 2,
}

#[derive(h5rs::H5Type, Debug, Clone, PartialEq)]
struct Rec {
    id: i32,
    pos: Inner,
    name: String,
    color: Color,
    v: [u16; 3],
}

/// Every element type h5py writes: strings, booleans, compounds,
/// enumerations, arrays, sequences, opaque, references, half floats.
fn dtypes(b: &mut Batch, dir: &Path, f: Format) {
    use h5rs::{F16, FixedBytes, ObjectRef, Value};
    let (file, p) = create(dir, "dtypes", f);
    let words: Vec<String> = ["alpha", "", "γάμμα", "a much longer string than the others"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    file.write_dataset("vstr", &words).unwrap();
    file.write_dataset("vstr_scalar", "hello").unwrap();
    let bytes: Vec<FixedBytes> = ["ab", "abcdef", ""]
        .iter()
        .map(|s| FixedBytes::from(*s))
        .collect();
    file.write_dataset("bytes", &bytes).unwrap();
    file.write_dataset("bool", &vec![true, false, true])
        .unwrap();
    file.write_dataset("half", &vec![F16::from_f32(1.5), F16::from_f32(-0.25)])
        .unwrap();
    let recs: Vec<Rec> = (0..5)
        .map(|i| Rec {
            id: i,
            pos: Inner {
                x: i as f32 * 0.5,
                y: 0.0 - i as f64,
            },
            name: format!("r{i}"),
            color: [Color::Red, Color::Green, Color::Blue][i as usize % 3],
            v: [i as u16, 2 * i as u16, 3 * i as u16],
        })
        .collect();
    file.write_dataset("compound", &recs).unwrap();
    let arr: Vec<[i32; 4]> = (0..6).map(|i| [i, i + 1, i + 2, i + 3]).collect();
    file.write_dataset("array", &arr).unwrap();
    let seqs: Vec<Vec<i32>> = (0..5).map(|i| (0..i).collect()).collect();
    file.write_dataset("vlen", &seqs).unwrap();
    let g = file.create_group("target").unwrap();
    let d = file.write_dataset("plain", &vec![1u8, 2]).unwrap();
    file.write_dataset("refs", &vec![ObjectRef(g.addr()), ObjectRef(d.addr())])
        .unwrap();
    let opaque = h5rs::Datatype::Opaque {
        size: 4,
        tag: "raw bytes".into(),
    };
    file.new_dataset::<Value>()
        .unwrap()
        .dtype(opaque)
        .with_data(&vec![
            Value::Opaque(vec![1, 2, 3, 4]),
            Value::Opaque(vec![9, 8, 7, 6]),
        ])
        .create("opaque")
        .unwrap();
    // attributes of the same kinds, NASA-granule style byte strings included
    file.write_attr(
        "FileHeader",
        &h5rs::Scalar(FixedBytes::from("DOI=10.5067/X;\nAlgorithmID=3A;\n")),
    )
    .unwrap();
    file.write_attr("title", "a title").unwrap();
    file.write_attr("names", &words).unwrap();
    file.write_attr("flag", &true).unwrap();
    file.write_attr("rec", &h5rs::Scalar(recs[1].clone()))
        .unwrap();
    file.write_attr("ref", &h5rs::Scalar(ObjectRef(g.addr())))
        .unwrap();
    file.close().unwrap();
    let py = format!(
        r#"
f = h5py.File(p, "w", libver="{lv}")
words = ["alpha", "", "γάμμα", "a much longer string than the others"]
f["vstr"] = words
f["vstr_scalar"] = "hello"
f["bytes"] = np.array([b"ab", b"abcdef", b""])
f["bool"] = np.array([True, False, True])
f["half"] = np.array([1.5, -0.25], dtype="f2")
color = h5py.enum_dtype({{"Red": 0, "Green": 1, "Blue": 2}}, basetype="u1")
inner = np.dtype([("x", "<f4"), ("y", "<f8")])
rec = np.dtype([("id", "<i4"), ("pos", inner), ("name", h5py.string_dtype()), ("color", color), ("v", "<u2", (3,))])
recs = np.array([(i, (i * 0.5, -i), "r%d" % i, i % 3, (i, 2 * i, 3 * i)) for i in range(5)], dtype=rec)
f["compound"] = recs
def raw(name, tid, n, buf):
    ds = h5py.h5d.create(f.id, name, tid, h5py.h5s.create_simple((n,)))
    ds.write(h5py.h5s.ALL, h5py.h5s.ALL, buf, mtype=tid)
raw(b"array", h5py.h5t.array_create(h5py.h5t.STD_I32LE, (4,)), 6, np.array([(i, i + 1, i + 2, i + 3) for i in range(6)], dtype="<i4"))
vl = f.create_dataset("vlen", (5,), dtype=h5py.vlen_dtype(np.dtype("<i4")))
for i in range(5):
    vl[i] = np.arange(i, dtype="<i4")
g = f.create_group("target")
f["plain"] = np.array([1, 2], dtype="u1")
f.create_dataset("refs", data=[g.ref, f["plain"].ref], dtype=h5py.ref_dtype)
ot = h5py.h5t.create(h5py.h5t.OPAQUE, 4)
ot.set_tag(b"raw bytes")
raw(b"opaque", ot, 2, np.frombuffer(bytes([1, 2, 3, 4, 9, 8, 7, 6]), dtype="u1"))
f.attrs["FileHeader"] = np.bytes_(b"DOI=10.5067/X;\nAlgorithmID=3A;\n")
f.attrs["title"] = "a title"
f.attrs["names"] = words
f.attrs["flag"] = True
f.attrs["rec"] = recs[1]
f.attrs.create("ref", g.ref, dtype=h5py.ref_dtype)
f.close()
"#,
        lv = libver(f)
    );
    b.add(
        &format!("dtypes/{}", fmt_name(f)),
        &p,
        &py,
        f == Format::Earliest,
    );
}

/// A user block before the HDF5 data (h5py's `userblock_size`).
fn userblock(b: &mut Batch, dir: &Path, f: Format) {
    let p = dir.join(format!("userblock_{}.h5", fmt_name(f)));
    let file = File::builder()
        .format(f)
        .userblock(1024)
        .create(&p)
        .unwrap();
    file.write_dataset("d", &(0..100).collect::<Vec<i32>>())
        .unwrap();
    file.create_group("g/h").unwrap();
    file.close().unwrap();
    let f2 = File::open_rw(&p).unwrap();
    assert_eq!(f2.userblock_size(), 1024);
    f2.write_attr("later", &1i8).unwrap();
    f2.close().unwrap();
    let py = format!(
        r#"
f = h5py.File(p, "w", libver="{lv}", userblock_size=1024)
f["d"] = np.arange(100, dtype="<i4")
f.create_group("g/h")
f.close()
f = h5py.File(p, "r+")
f.attrs["later"] = np.int8(1)
f.close()
"#,
        lv = libver(f)
    );
    b.add(
        &format!("userblock/{}", fmt_name(f)),
        &p,
        &py,
        f == Format::Earliest,
    );
    b.check("assert h5py.File(p, 'r').userblock_size == 1024\n");
}

#[test]
fn written_files_read_back_in_libhdf5_as_in_h5rs() {
    let dir = common::scratch("write_h5py");
    let mut b = Batch::default();
    for f in [Format::Earliest, Format::Latest] {
        numbers(&mut b, &dir, f);
        chunked(&mut b, &dir, f);
        groups(&mut b, &dir, f);
        attributes(&mut b, &dir, f);
        tracked(&mut b, &dir, f);
        dtypes(&mut b, &dir, f);
        userblock(&mut b, &dir, f);
    }
    b.run(&dir);
}
