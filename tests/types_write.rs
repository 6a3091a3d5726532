//! The write side of `H5Type`: for each Rust type, `file_type` is the
//! datatype h5py gives the same data, encoding h5py's values gives the
//! bytes h5py stored (variable-length parts compared through a heap the
//! test builds), and encode then `decode_all` gives the values back. Also
//! `#[derive(H5Type)]` on nested structs and enums, against numpy
//! structured dtypes and h5py enumerations.

mod common;

use std::path::PathBuf;

use h5rs::format::Sizes;
use h5rs::format::datatype::{ByteOrder, CharSet, Datatype, StringPad};
use h5rs::format::heap::global::{GlobalHeapObject, encode_collection};
use h5rs::{F16, File, FixedBytes, H5Type, ObjectRef, Value, VlenSink};

/// A heap for the test: objects go into one global heap collection after
/// the bytes of an existing file, which is then opened with it.
struct HeapImage {
    base: Vec<u8>,
    addr: u64,
    objects: Vec<GlobalHeapObject>,
}

impl HeapImage {
    fn new(base: Vec<u8>) -> HeapImage {
        let addr = base.len().div_ceil(8) as u64 * 8;
        HeapImage {
            base,
            addr,
            objects: Vec::new(),
        }
    }

    fn finish(self) -> File {
        let mut img = self.base;
        img.resize(self.addr as usize, 0);
        img.extend(encode_collection(&self.objects, 4096, Sizes::DEFAULT));
        File::from_bytes(img).unwrap()
    }
}

impl VlenSink for HeapImage {
    fn put(&mut self, len: u32, bytes: &[u8]) -> h5rs::Result<Vec<u8>> {
        let index = self.objects.len() as u16 + 1;
        self.objects.push(GlobalHeapObject {
            index,
            refcount: 0,
            data: bytes.to_vec(),
        });
        let mut e = len.to_le_bytes().to_vec();
        e.extend_from_slice(&self.addr.to_le_bytes());
        e.extend_from_slice(&u32::from(index).to_le_bytes());
        Ok(e)
    }
}

/// A file h5py wrote, made once per test run.
fn h5py_file() -> PathBuf {
    static MADE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    MADE.get_or_init(|| {
        let dir = common::scratch("types_write");
        common::run_python(SCRIPT, &dir);
        dir.join("types.h5")
    })
    .clone()
}

const SCRIPT: &str = r#"
import sys, os
import numpy as np, h5py
f = h5py.File(os.path.join(sys.argv[1], "types.h5"), "w")
for t in ["i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8"]:
    f[t] = np.array([0, 1, 100, 127], dtype=t)
f["i8neg"] = np.array([-5, 1 << 40, -(1 << 62)], dtype="i8")
for t in ["f2", "f4", "f8"]:
    f[t] = np.array([0.5, -1.25, 1e4, float("inf")], dtype=t)
f["bool"] = np.array([True, False, True])
f["str"] = ["", "a", "ünïcödé", "a longer string"]
f["bytes"] = np.array([b"ab", b"", b"abcde"])
f["bytes_empty"] = np.array([b"", b""])
d = f.create_dataset("vlen_i4", (3,), dtype=h5py.vlen_dtype(np.dtype("i4")))
d[0] = [1, -2, 3]; d[1] = []; d[2] = [2**31 - 1]
d = f.create_dataset("vlen_f8", (2,), dtype=h5py.vlen_dtype(np.dtype("f8")))
d[0] = [0.5]; d[1] = [1.0, 2.0]
f["refs"] = np.array([f["i1"].ref, f["str"].ref, h5py.Reference()], dtype=h5py.ref_dtype)
color = h5py.enum_dtype({"Red": 0, "Green": 5, "Blue": 6}, basetype="u1")
level = h5py.enum_dtype({"Low": -1, "High": 1000}, basetype="i2")
f.create_dataset("color", data=np.array([0, 6, 5], dtype="u1"), dtype=color)
inner = np.dtype([("x", "<f4"), ("y", "<f8")])
outer = np.dtype([
    ("id", "<u4"),
    ("pos", inner),
    ("name", h5py.string_dtype()),
    ("tag", "S4"),
    ("flags", "<i4", (3,)),
    ("color", color),
    ("level", level),
    ("ok", "?"),
])
a = np.zeros(2, dtype=outer)
a[0] = (7, (1.5, -2.25), "first", b"ab", (1, 2, 3), 5, -1, True)
a[1] = (8, (0.0, 1e300), "", b"abcd", (-1, 0, 1), 6, 1000, False)
f["records"] = a
"#;

fn open() -> File {
    File::open(h5py_file()).unwrap()
}

/// For h5py's dataset `name`: `T::file_type` of `values` is its datatype,
/// it reads as `values`, and `values` encode to its bytes (variable-length
/// parts stored in a test heap: compared by reading them back).
fn check<T: H5Type + PartialEq + std::fmt::Debug + Clone>(name: &str, values: &[T]) {
    let f = open();
    let ds = f.dataset(name).unwrap();
    let dt = ds.dtype();
    assert_eq!(&T::file_type(values).unwrap(), dt, "{name}: file type");
    let raw = ds.read_raw().unwrap();
    assert_eq!(T::decode_all(&f, dt, &raw).unwrap(), values, "{name}: read");
    let bytes = std::fs::read(h5py_file()).unwrap();
    let mut heap = HeapImage::new(bytes);
    let mut out = Vec::new();
    T::encode_all(values, dt, &mut heap, &mut out).unwrap();
    if dt.has_vlen() {
        assert_eq!(out.len(), raw.len(), "{name}: size");
        let back = heap.finish();
        assert_eq!(T::decode_all(&back, dt, &out).unwrap(), values, "{name}");
    } else {
        assert_eq!(out, raw, "{name}: bytes");
        assert!(heap.objects.is_empty());
    }
}

#[test]
fn numbers() {
    check::<i8>("i1", &[0, 1, 100, 127]);
    check::<i16>("i2", &[0, 1, 100, 127]);
    check::<i32>("i4", &[0, 1, 100, 127]);
    check::<i64>("i8", &[0, 1, 100, 127]);
    check::<u8>("u1", &[0, 1, 100, 127]);
    check::<u16>("u2", &[0, 1, 100, 127]);
    check::<u32>("u4", &[0, 1, 100, 127]);
    check::<u64>("u8", &[0, 1, 100, 127]);
    check::<i64>("i8neg", &[-5, 1 << 40, -(1 << 62)]);
    let fl = [0.5, -1.25, 1e4, f64::INFINITY];
    check::<f64>("f8", &fl);
    check::<f32>("f4", &fl.map(|x| x as f32));
    check::<F16>("f2", &fl.map(F16::from_f64));
}

/// Numbers written to types other than their own: h5py's `i1` dataset
/// from i64, f64 and u16 values, its `f2` dataset from f64.
#[test]
fn numbers_convert_into_other_types() {
    let f = open();
    let mut heap = HeapImage::new(Vec::new());
    let i1 = f.dataset("i1").unwrap();
    let raw = i1.read_raw().unwrap();
    for enc in [
        {
            let mut o = Vec::new();
            i64::encode_all(&[0, 1, 100, 127], i1.dtype(), &mut heap, &mut o).unwrap();
            o
        },
        {
            let mut o = Vec::new();
            f64::encode_all(&[0.2, 1.9, 100.5, 127.0], i1.dtype(), &mut heap, &mut o).unwrap();
            o
        },
        {
            let mut o = Vec::new();
            u16::encode_all(&[0, 1, 100, 127], i1.dtype(), &mut heap, &mut o).unwrap();
            o
        },
    ] {
        assert_eq!(enc, raw);
    }
    // saturation
    let mut o = Vec::new();
    i64::encode_all(&[1000, -1000], i1.dtype(), &mut heap, &mut o).unwrap();
    assert_eq!(o, [0x7f, 0x80]);
    let f2 = f.dataset("f2").unwrap();
    let mut o = Vec::new();
    f64::encode_all(
        &[0.5, -1.25, 1e4, f64::INFINITY],
        f2.dtype(),
        &mut heap,
        &mut o,
    )
    .unwrap();
    assert_eq!(o, f2.read_raw().unwrap());
    // numbers are no strings
    let s = f.dataset("bytes").unwrap();
    assert!(i32::encode_all(&[1], s.dtype(), &mut heap, &mut o).is_err());
}

#[test]
fn bools() {
    check("bool", &[true, false, true]);
}

#[test]
fn strings() {
    let v: Vec<String> = ["", "a", "ünïcödé", "a longer string"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    check("str", &v);
    // fixed-length byte strings, sized to the longest value
    check(
        "bytes",
        &[
            FixedBytes::from("ab"),
            FixedBytes::from(""),
            FixedBytes::from("abcde"),
        ],
    );
    check("bytes_empty", &[FixedBytes::from(""), FixedBytes::from("")]);
    // text into h5py's fixed type: fits, pads; too long is an error
    let f = open();
    let ds = f.dataset("bytes").unwrap();
    let mut heap = HeapImage::new(Vec::new());
    let mut o = Vec::new();
    String::encode_all(
        &["ab".to_string(), String::new(), "abcde".into()],
        ds.dtype(),
        &mut heap,
        &mut o,
    )
    .unwrap();
    assert_eq!(o, ds.read_raw().unwrap());
    assert!(
        "abcdef"
            .to_string()
            .encode(ds.dtype(), &mut heap, &mut o)
            .is_err()
    );
}

#[test]
fn sequences() {
    check::<Vec<i32>>("vlen_i4", &[vec![1, -2, 3], vec![], vec![i32::MAX]]);
    // the empty sequence is a null heap ID, as h5py's, and stores nothing
    let f = open();
    let ds = f.dataset("vlen_i4").unwrap();
    let mut heap = HeapImage::new(Vec::new());
    let mut out = Vec::new();
    Vec::<i32>::new()
        .encode(ds.dtype(), &mut heap, &mut out)
        .unwrap();
    assert_eq!(out, ds.read_raw().unwrap()[16..32]);
    assert!(heap.objects.is_empty());
    check::<Vec<f64>>("vlen_f8", &[vec![0.5], vec![1.0, 2.0]]);
}

#[test]
fn object_references() {
    let f = open();
    let a = f.object("i1").unwrap().addr();
    let b = f.object("str").unwrap().addr();
    check("refs", &[ObjectRef(a), ObjectRef(b), ObjectRef::NULL]);
}

#[test]
fn arrays_are_h5pys_subarray_members() {
    let f = open();
    let Datatype::Compound { members, .. } = f.dataset("records").unwrap().dtype().clone() else {
        panic!()
    };
    let flags = members.iter().find(|m| m.name == "flags").unwrap();
    assert_eq!(<[i32; 3]>::file_type(&[[1, 2, 3]]).unwrap(), flags.dtype);
}

#[test]
fn values_need_a_datatype_and_encode_any() {
    let f = open();
    let ds = f.dataset("records").unwrap();
    let values: Vec<Value> = ds.read_raw_vec().unwrap();
    assert!(Value::file_type(&values).is_err());
    let mut heap = HeapImage::new(std::fs::read(h5py_file()).unwrap());
    let mut out = Vec::new();
    Value::encode_all(&values, ds.dtype(), &mut heap, &mut out).unwrap();
    let back = heap.finish();
    assert_eq!(Value::decode_all(&back, ds.dtype(), &out).unwrap(), values);
}

mod derived {
    use super::*;

    #[derive(H5Type, Debug, Clone, PartialEq)]
    struct Pos {
        x: f32,
        y: f64,
    }

    #[derive(H5Type, Debug, Clone, Copy, PartialEq)]
    #[repr(u8)]
    enum Color {
        Red,
        Green = 5,
        Blue,
    }

    #[derive(H5Type, Debug, Clone, Copy, PartialEq)]
    #[repr(i16)]
    enum Level {
        Low = -1,
        High = 1000,
    }

    #[derive(H5Type, Debug, Clone, PartialEq)]
    struct Record {
        id: u32,
        pos: Pos,
        name: String,
        tag: FixedBytes,
        flags: [i32; 3],
        color: Color,
        level: Level,
        ok: bool,
    }

    fn records() -> Vec<Record> {
        vec![
            Record {
                id: 7,
                pos: Pos { x: 1.5, y: -2.25 },
                name: "first".into(),
                tag: FixedBytes::from("ab"),
                flags: [1, 2, 3],
                color: Color::Green,
                level: Level::Low,
                ok: true,
            },
            Record {
                id: 8,
                pos: Pos { x: 0.0, y: 1e300 },
                name: String::new(),
                tag: FixedBytes::from("abcd"),
                flags: [-1, 0, 1],
                color: Color::Blue,
                level: Level::High,
                ok: false,
            },
        ]
    }

    /// The nested struct's type is numpy's packed structured dtype as
    /// h5py writes it, and h5py's records read, encode and round trip.
    #[test]
    fn nested_struct_matches_numpy_structured_dtype() {
        check("records", &records());
    }

    #[test]
    fn enum_matches_h5py_enum() {
        check("color", &[Color::Red, Color::Blue, Color::Green]);
    }

    #[test]
    fn enums_read_by_name_and_integers_by_value() {
        let f = open();
        let mut heap = HeapImage::new(Vec::new());
        // an enumeration storing the same names with other values
        let other = Datatype::Enum {
            base: Box::new(Datatype::int(4, false, ByteOrder::Big)),
            members: vec![
                h5rs::format::datatype::EnumMember {
                    name: "Blue".into(),
                    value: vec![0, 0, 0, 1],
                },
                h5rs::format::datatype::EnumMember {
                    name: "Red".into(),
                    value: vec![0, 0, 0, 2],
                },
            ],
        };
        let mut o = Vec::new();
        Color::encode_all(&[Color::Red, Color::Blue], &other, &mut heap, &mut o).unwrap();
        assert_eq!(o, [0, 0, 0, 2, 0, 0, 0, 1]);
        assert_eq!(
            Color::decode_all(&f, &other, &o).unwrap(),
            [Color::Red, Color::Blue]
        );
        // a name the enumeration lacks, a value no member has
        assert!(Color::Green.encode(&other, &mut heap, &mut o).is_err());
        assert!(Color::decode_all(&f, &other, &[0, 0, 0, 9]).is_err());
        // plain integers by value
        let u2 = Datatype::int(2, false, ByteOrder::Little);
        let mut o = Vec::new();
        Color::encode_all(&[Color::Blue, Color::Green], &u2, &mut heap, &mut o).unwrap();
        assert_eq!(o, [6, 0, 5, 0]);
        assert_eq!(
            Color::decode_all(&f, &u2, &o).unwrap(),
            [Color::Blue, Color::Green]
        );
        assert!(Color::decode_all(&f, &u2, &[1, 0]).is_err());
        assert_eq!(
            Level::file_type(&[]).unwrap().canonical(),
            "enum(<i2;High=1000,Low=-1)"
        );
    }

    #[derive(H5Type, Debug, Clone, PartialEq)]
    struct Pair<T> {
        a: T,
        b: T,
    }

    #[derive(H5Type, Debug, Clone, Copy, PartialEq)]
    #[repr(i64)]
    enum Big {
        #[h5(name = "minus")]
        Minus = -(1 << 40),
        Zero = 0,
        One,
    }

    #[test]
    fn generic_structs_and_renamed_variants() {
        let v = [Pair { a: 1u16, b: 2 }, Pair { a: 3, b: 4 }];
        let dt = Pair::<u16>::file_type(&v).unwrap();
        assert_eq!(dt.canonical(), "compound{a:<u2@0,b:<u2@2}4");
        let mut heap = HeapImage::new(Vec::new());
        let mut out = Vec::new();
        Pair::encode_all(&v, &dt, &mut heap, &mut out).unwrap();
        assert_eq!(out, [1, 0, 2, 0, 3, 0, 4, 0]);
        let f = open();
        assert_eq!(Pair::<u16>::decode_all(&f, &dt, &out).unwrap(), v);
        let strings = [Pair {
            a: FixedBytes::from("x"),
            b: FixedBytes::from("yyy"),
        }];
        assert_eq!(
            Pair::file_type(&strings).unwrap().canonical(),
            "compound{a:S1/nullpad/ascii@0,b:S3/nullpad/ascii@1}4"
        );
        let dt = Big::file_type(&[]).unwrap();
        assert_eq!(
            dt.canonical(),
            "enum(<i8;One=1,Zero=0,minus=-1099511627776)"
        );
        let v = [Big::Minus, Big::One, Big::Zero];
        let mut out = Vec::new();
        Big::encode_all(&v, &dt, &mut heap, &mut out).unwrap();
        assert_eq!(Big::decode_all(&f, &dt, &out).unwrap(), v);
    }

    #[derive(H5Type, Debug, Clone, PartialEq)]
    struct Renamed {
        #[h5(name = "x")]
        first: i8,
        r#type: u16,
    }

    #[derive(H5Type, Debug, Clone, PartialEq)]
    struct Outer {
        inner: Renamed,
        seq: Vec<Renamed>,
        pair: [Pos; 2],
    }

    #[test]
    fn nested_round_trip_with_renames_sequences_and_arrays() {
        let v = vec![
            Outer {
                inner: Renamed {
                    first: -1,
                    r#type: 9,
                },
                seq: vec![Renamed {
                    first: 2,
                    r#type: 3,
                }],
                pair: [Pos { x: 1.0, y: 2.0 }, Pos { x: 3.0, y: 4.0 }],
            },
            Outer {
                inner: Renamed {
                    first: 5,
                    r#type: 0,
                },
                seq: vec![],
                pair: [Pos { x: -1.0, y: 0.5 }, Pos { x: 0.0, y: 0.0 }],
            },
        ];
        let dt = Outer::file_type(&v).unwrap();
        assert_eq!(
            dt.canonical(),
            "compound{inner:compound{x:<i1@0,type:<u2@1}3@0,seq:vlen(compound{x:<i1@0,type:<u2@1}3)@3,\
             pair:array(compound{x:<f4@0,y:<f8@4}12;[2])@19}43"
        );
        let mut heap = HeapImage::new(std::fs::read(h5py_file()).unwrap());
        let mut out = Vec::new();
        Outer::encode_all(&v, &dt, &mut heap, &mut out).unwrap();
        assert_eq!(out.len(), 2 * 43);
        let f = heap.finish();
        assert_eq!(Outer::decode_all(&f, &dt, &out).unwrap(), v);
    }

    /// Members are found by name whatever their order and offsets in the
    /// file; a missing member is an error; extra ones are left out.
    #[test]
    fn members_by_name_in_any_order() {
        use h5rs::format::datatype::CompoundMember;
        let f = open();
        let dt = Datatype::Compound {
            size: 16,
            members: vec![
                CompoundMember {
                    name: "y".into(),
                    offset: 0,
                    dtype: Datatype::float(8, ByteOrder::Big),
                },
                CompoundMember {
                    name: "extra".into(),
                    offset: 8,
                    dtype: Datatype::int(2, true, ByteOrder::Little),
                },
                CompoundMember {
                    name: "x".into(),
                    offset: 12,
                    dtype: Datatype::float(4, ByteOrder::Little),
                },
            ],
        };
        let v = [Pos { x: 1.5, y: -3.0 }];
        let mut heap = HeapImage::new(Vec::new());
        let mut out = Vec::new();
        Pos::encode_all(&v, &dt, &mut heap, &mut out).unwrap();
        let mut want = (-3.0f64).to_be_bytes().to_vec();
        want.extend([0; 4]);
        want.extend(1.5f32.to_le_bytes());
        assert_eq!(out, want);
        assert_eq!(Pos::decode_all(&f, &dt, &out).unwrap(), v);
        let missing = Datatype::Compound {
            size: 4,
            members: vec![CompoundMember {
                name: "x".into(),
                offset: 0,
                dtype: Datatype::float(4, ByteOrder::Little),
            }],
        };
        let e = Pos::decode_all(&f, &missing, &[0; 4]).unwrap_err();
        assert!(matches!(e, h5rs::Error::Usage(_)), "{e}");
        assert!(Pos::encode_all(&v, &missing, &mut heap, &mut out).is_err());
        // not a compound at all
        let s = Datatype::String {
            size: 4,
            pad: StringPad::NullPad,
            cset: CharSet::Ascii,
        };
        assert!(Pos::decode_all(&f, &s, &[0; 4]).is_err());
    }
}
