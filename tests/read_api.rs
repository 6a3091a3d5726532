//! The read API against files written by h5py: every value is computed here
//! from the same formula the writing script used, never read back through
//! h5rs to make the expectation.

mod common;

use std::path::PathBuf;
use std::sync::OnceLock;

use h5rs::{File, Value};
use ndarray::{Ix1, Ix2, Ix3, s};

const SCRIPT: &str = r#"
import sys, numpy as np, h5py
d = sys.argv[1]
def field(shape):
    idx = np.indices(shape)
    v = np.zeros(shape)
    for k, a in enumerate(idx):
        v = v * 1000 + a
    return v
for libver in ('earliest', 'latest'):
    with h5py.File(f'{d}/data_{libver}.h5', 'w', libver=libver) as f:
        f['contig_f64'] = field((50, 40)).astype('<f8')
        f['contig_be_i32'] = field((30, 7)).astype('>i4')
        f.create_dataset('chunked_i64', data=field((100, 90)).astype('<i8'), chunks=(16, 25))
        f.create_dataset('gzip_f32', data=(field((64, 48)) / 7).astype('<f4'), chunks=(10, 12),
                         compression='gzip', compression_opts=4, shuffle=True)
        f.create_dataset('fletcher', data=field((33,)).astype('<u2'), chunks=(8,), fletcher32=True)
        ds = f.create_dataset('partial', shape=(20, 20), dtype='<i2', chunks=(5, 5), fillvalue=-7)
        ds[0:5, 0:5] = 1
        ds[12:14, 3:9] = 2
        f.create_dataset('unlimited', data=field((7, 3)).astype('<f8'), maxshape=(None, 3), chunks=(2, 3))
        f.create_dataset('cube', data=(field((6, 5, 4)) % 251).astype('<u1'), chunks=(4, 2, 3),
                         compression='gzip')
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_layout(h5py.h5d.COMPACT)
        sid = h5py.h5s.create_simple((10,))
        dsid = h5py.h5d.create(f.id, b'compact', h5py.h5t.STD_I32BE, sid, dcpl=dcpl)
        dsid.write(h5py.h5s.ALL, h5py.h5s.ALL, np.arange(10, dtype='<i4') * -3)
        f.create_dataset('scalar', data=np.float64(2.5))
        f.create_dataset('empty', shape=(0, 4), dtype='<f4')
        f.create_dataset('strings_fixed', data=np.array([b'alpha', b'be', b'gamma!'], dtype='S6'))
        f.create_dataset('strings_vlen', data=['one', 'two three', ''], dtype=h5py.string_dtype())
        f.create_dataset('vlen_int', data=[np.arange(n, dtype='<i4') for n in range(4)],
                         dtype=h5py.vlen_dtype('<i4'))
        cmp = np.dtype([('a', '<i2'), ('b', '<f8'), ('c', 'S3')])
        f.create_dataset('records', data=np.array([(i, i / 2, b'x%d' % i) for i in range(5)], dtype=cmp))
        g = f.create_group('grp/sub')
        g.attrs['units'] = 'kelvin'
        g.attrs['FileHeader'] = np.bytes_(b'DOI=10.5067/GPM;\nAlgorithmID=3IMERG;')
        g.attrs['scale'] = np.array([1.5, 2.5], dtype='>f4')
        g.attrs['count'] = np.int64(-42)
        f['grp'].attrs['flag'] = True
        f['grp/link'] = h5py.SoftLink('/grp/sub')
        f['ext'] = h5py.ExternalLink('other.h5', '/x')
        for i in range(300):
            f.create_group(f'many/g{i:04d}').attrs['i'] = i
        for i in range(8):
            f.create_dataset(f'par/d{i}', data=field((40, 30)).astype('<i4') + i, chunks=(7, 11))
"#;

fn field(idx: &[usize]) -> f64 {
    idx.iter().fold(0.0, |v, &a| v * 1000.0 + a as f64)
}

fn files() -> &'static Vec<PathBuf> {
    static F: OnceLock<Vec<PathBuf>> = OnceLock::new();
    F.get_or_init(|| {
        let d = common::scratch("read_api");
        common::run_python(SCRIPT, &d);
        vec![d.join("data_earliest.h5"), d.join("data_latest.h5")]
    })
}

#[test]
fn contiguous_and_converted_reads() {
    for p in files() {
        let f = File::open(p).unwrap();
        let a = f.dataset("contig_f64").unwrap().read::<f64, Ix2>().unwrap();
        assert_eq!(a.shape(), &[50, 40]);
        for ((i, j), v) in a.indexed_iter() {
            assert_eq!(*v, field(&[i, j]));
        }
        // big-endian i32 read as i64 and as f64
        let d = f.dataset("contig_be_i32").unwrap();
        let b = d.read::<i64, Ix2>().unwrap();
        let c = d.read::<f64, Ix2>().unwrap();
        for ((i, j), v) in b.indexed_iter() {
            assert_eq!(*v as f64, field(&[i, j]));
            assert_eq!(c[[i, j]], field(&[i, j]));
        }
        // narrowing clamps as libhdf5 does
        let n = d.read_raw_vec::<i8>().unwrap();
        assert_eq!(n[0], 0);
        assert_eq!(n[2], 2);
        assert_eq!(*n.last().unwrap(), i8::MAX);
        assert_eq!(
            f.dataset("scalar").unwrap().read_scalar::<f64>().unwrap(),
            2.5
        );
        let e = f.dataset("empty").unwrap();
        assert_eq!(e.shape(), vec![0, 4]);
        assert_eq!(e.read::<f32, Ix2>().unwrap().len(), 0);
    }
}

#[test]
fn chunked_slices_touch_the_right_elements() {
    for p in files() {
        let f = File::open(p).unwrap();
        let d = f.dataset("chunked_i64").unwrap();
        assert_eq!(d.chunks(), Some(vec![16, 25]));
        let whole = d.read::<i64, Ix2>().unwrap();
        for ((i, j), v) in whole.indexed_iter() {
            assert_eq!(*v as f64, field(&[i, j]));
        }
        let a = d.read_slice::<i64, _, Ix2>(s![13..77;5, 3..90;7]).unwrap();
        for ((i, j), v) in a.indexed_iter() {
            assert_eq!(*v as f64, field(&[13 + 5 * i, 3 + 7 * j]));
        }
        let row = d.read_slice::<i64, _, Ix1>(s![-1, 20..30]).unwrap();
        assert_eq!(row.len(), 10);
        assert_eq!(row[0] as f64, field(&[99, 20]));
        let col = d.read_slice::<i64, _, Ix1>(s![.., 89]).unwrap();
        assert_eq!(col[57] as f64, field(&[57, 89]));
        assert!(d.read_slice::<i64, _, Ix1>(s![100, ..]).is_err());
        let cube = f.dataset("cube").unwrap();
        let c = cube.read_slice::<u8, _, Ix3>(s![1..6;2, .., 1..4]).unwrap();
        for ((i, j, k), v) in c.indexed_iter() {
            assert_eq!(*v, (field(&[1 + 2 * i, j, 1 + k]) % 251.0) as u8);
        }
    }
}

#[test]
fn filters_decode() {
    for p in files() {
        let f = File::open(p).unwrap();
        let d = f.dataset("gzip_f32").unwrap();
        let ids: Vec<u16> = d.filters().iter().map(|x| x.id).collect();
        assert_eq!(ids, vec![2, 1]);
        let a = d.read::<f32, Ix2>().unwrap();
        for ((i, j), v) in a.indexed_iter() {
            assert_eq!(*v, (field(&[i, j]) / 7.0) as f32);
        }
        // row by row: small reads served from the chunk cache after the first
        for i in (0..64).rev() {
            let row = d.read_slice::<f32, _, Ix1>(s![i, ..]).unwrap();
            for (j, v) in row.iter().enumerate() {
                assert_eq!(*v, (field(&[i, j]) / 7.0) as f32, "row {i}");
            }
        }
        let u = f.dataset("fletcher").unwrap().read::<u16, Ix1>().unwrap();
        assert_eq!(u.to_vec(), (0..33).collect::<Vec<u16>>());
    }
}

#[test]
fn unwritten_chunks_read_as_fill_value() {
    for p in files() {
        let f = File::open(p).unwrap();
        let a = f.dataset("partial").unwrap().read::<i16, Ix2>().unwrap();
        for ((i, j), v) in a.indexed_iter() {
            let want = if i < 5 && j < 5 {
                1
            } else if (12..14).contains(&i) && (3..9).contains(&j) {
                2
            } else {
                -7
            };
            assert_eq!(*v, want, "at {i},{j}");
        }
        let u = f.dataset("unlimited").unwrap();
        assert_eq!(u.maxshape(), vec![None, Some(3)]);
        let rows: Vec<_> = u
            .iter_rows::<f64>()
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(rows.len(), 7);
        assert_eq!(rows[5][[2]], field(&[5, 2]));
    }
}

#[test]
fn strings_compounds_and_sequences() {
    for p in files() {
        let f = File::open(p).unwrap();
        let s = f
            .dataset("strings_fixed")
            .unwrap()
            .read_raw_vec::<String>()
            .unwrap();
        assert_eq!(s, vec!["alpha", "be", "gamma!"]);
        let v = f
            .dataset("strings_vlen")
            .unwrap()
            .read_raw_vec::<String>()
            .unwrap();
        assert_eq!(v, vec!["one", "two three", ""]);
        let q = f
            .dataset("vlen_int")
            .unwrap()
            .read_raw_vec::<Vec<i32>>()
            .unwrap();
        assert_eq!(
            q,
            (0..4).map(|n| (0..n).collect()).collect::<Vec<Vec<i32>>>()
        );
        let r = f
            .dataset("records")
            .unwrap()
            .read_raw_vec::<Value>()
            .unwrap();
        assert_eq!(r.len(), 5);
        match &r[3] {
            Value::Compound(m) => {
                assert_eq!(m[0], ("a".to_string(), Value::Int(3)));
                assert_eq!(m[1], ("b".to_string(), Value::Float(1.5)));
                assert_eq!(m[2].1.as_str().unwrap(), "x3");
            }
            v => panic!("{v:?}"),
        }
    }
}

#[test]
fn groups_links_and_attributes() {
    for p in files() {
        let f = File::open(p).unwrap();
        let sub = f.group("grp/sub").unwrap();
        assert_eq!(
            f.group("/grp").unwrap().group("sub").unwrap().addr(),
            sub.addr()
        );
        // the soft link resolves to the same group
        assert_eq!(f.group("grp/link").unwrap().addr(), sub.addr());
        assert!(f.object("ext").is_err());
        let names = [
            "chunked_i64",
            "compact",
            "contig_be_i32",
            "contig_f64",
            "cube",
            "empty",
            "ext",
            "fletcher",
            "grp",
            "gzip_f32",
            "many",
            "par",
            "partial",
            "records",
            "scalar",
            "strings_fixed",
            "strings_vlen",
            "unlimited",
            "vlen_int",
        ];
        assert_eq!(f.root().unwrap().member_names().unwrap(), names);
        let compact = f.dataset("compact").unwrap();
        assert_eq!(compact.layout(), h5rs::LayoutClass::Compact);
        assert_eq!(
            compact.read_raw_vec::<i32>().unwrap(),
            (0..10).map(|i| -3 * i).collect::<Vec<i32>>()
        );
        assert_eq!(
            sub.attr("units").unwrap().read_scalar::<String>().unwrap(),
            "kelvin"
        );
        assert_eq!(
            sub.attr("FileHeader")
                .unwrap()
                .read_scalar::<String>()
                .unwrap(),
            "DOI=10.5067/GPM;\nAlgorithmID=3IMERG;"
        );
        assert_eq!(
            sub.attr("scale")
                .unwrap()
                .read::<f64, Ix1>()
                .unwrap()
                .to_vec(),
            vec![1.5, 2.5]
        );
        assert_eq!(
            sub.attr("count").unwrap().read_scalar::<i64>().unwrap(),
            -42
        );
        assert!(
            f.group("grp")
                .unwrap()
                .attr("flag")
                .unwrap()
                .read_scalar::<bool>()
                .unwrap()
        );
        let mut seen = Vec::new();
        f.group("grp")
            .unwrap()
            .visit(|p| {
                seen.push(p.to_string());
                None::<()>
            })
            .unwrap();
        assert_eq!(seen, vec!["sub"]);
        // early stop
        let found = f
            .root()
            .unwrap()
            .visit(|p| (p == "par/d3").then(|| p.to_string()))
            .unwrap();
        assert_eq!(found.as_deref(), Some("par/d3"));
    }
}

#[test]
fn lookups_in_large_groups_use_the_index() {
    for p in files() {
        let f = File::open(p).unwrap();
        let many = f.group("many").unwrap();
        let names = many.member_names().unwrap();
        assert_eq!(names.len(), 300);
        for i in (0..300).rev() {
            let name = format!("g{i:04}");
            let g = many.group(&name).unwrap();
            assert_eq!(g.attr("i").unwrap().read_scalar::<i64>().unwrap(), i);
            assert_eq!(g.name(), format!("/many/{name}"));
        }
        for missing in ["g0300", "a", "zzz", "g00", ""] {
            assert!(many.link(missing).unwrap().is_none(), "{missing}");
        }
    }
}

#[test]
fn eight_threads_read_one_file() {
    for p in files() {
        let f = File::open(p).unwrap();
        std::thread::scope(|s| {
            for t in 0..8usize {
                let f = f.clone();
                s.spawn(move || {
                    for round in 0..20usize {
                        let d = f.dataset(&format!("par/d{t}")).unwrap();
                        let r0 = (round * 3 + t) % 30;
                        let a = d
                            .read_slice::<i32, _, Ix2>(s![r0..r0 + 9, t..t + 17;2])
                            .unwrap();
                        for ((i, j), v) in a.indexed_iter() {
                            let want = field(&[r0 + i, t + 2 * j]) as i32 + t as i32;
                            assert_eq!(*v, want, "thread {t} round {round}");
                        }
                    }
                });
            }
        });
    }
}

#[test]
fn handles_are_send_sync_and_clone() {
    fn check<T: Send + Sync + Clone + 'static>() {}
    check::<File>();
    check::<h5rs::Group>();
    check::<h5rs::Dataset>();
    check::<h5rs::Attribute>();
    check::<h5rs::Object>();
}

#[test]
fn in_memory_files_read_like_mapped_ones() {
    let p = &files()[1];
    let bytes = std::fs::read(p).unwrap();
    let a = File::from_bytes(bytes.clone()).unwrap();
    let b = File::from_reader(std::io::Cursor::new(bytes)).unwrap();
    let c = File::open(p).unwrap();
    for f in [&a, &b] {
        assert_eq!(
            f.dataset("gzip_f32").unwrap().read_raw().unwrap(),
            c.dataset("gzip_f32").unwrap().read_raw().unwrap()
        );
    }
}

#[test]
fn object_comments() {
    let corpus = std::env::var_os("H5RS_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"))
        .join("corpus/hdf5-testfiles/tobjref.h5");
    let f = File::open(corpus).unwrap();
    let g = f.object("Group1").unwrap();
    assert_eq!(g.comment().unwrap().as_deref(), Some("Foo!"));
    assert_eq!(
        f.object("Group1/Dataset1").unwrap().comment().unwrap(),
        None
    );
}
