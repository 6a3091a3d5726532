//! Virtual datasets written by h5py: sources in other files and in the same
//! file, strided and irregular mappings, missing sources, unlimited
//! mappings (a growing source, `%b` source names), type conversion and
//! nesting. Expected values are computed here from the formulas the script
//! wrote the sources with; the script also checks with libhdf5 that those
//! formulas give what libhdf5 reads.

mod common;

use std::path::PathBuf;
use std::sync::OnceLock;

use h5rs::File;
use ndarray::{ArrayD, Dimension, IxDyn, SliceInfoElem, s};

const SCRIPT: &str = r#"
import sys, numpy as np, h5py
from h5py import h5s, h5p, h5d, h5t
d = sys.argv[1]
U = h5s.UNLIMITED

def field(shape, base=0):
    v = np.zeros(shape, dtype='i8')
    for a in np.indices(shape):
        v = v * 100 + a
    return v + base

for i in range(4):
    with h5py.File(f'{d}/src_{i}.h5', 'w') as f:
        f['data'] = field((3, 6), 100000 * i).astype('<i4')
with h5py.File(f'{d}/strided_src.h5', 'w') as f:
    f['a'] = np.arange(10, dtype='<i4')
    f['b'] = np.arange(10, dtype='<i4') + 1000
    f['long'] = np.arange(40, dtype='<i4') * 3
    f['tile'] = field((3, 3), 500).astype('<i4')
    f['short'] = np.arange(4, dtype='<i2') - 2
    f['real'] = np.array([1.5, -2.25, 3e39, 0.1], dtype='<f8')
with h5py.File(f'{d}/grow.h5', 'w') as f:
    f.create_dataset('d', data=np.arange(5, dtype='<i4') + 100, maxshape=(None,))
for j in range(3):
    with h5py.File(f'{d}/frame_{j}.h5', 'w') as f:
        f['x'] = field((2, 4), 10000 * (j + 1)).astype('<i4')
for j in (0, 2):
    with h5py.File(f'{d}/gap_{j}.h5', 'w') as f:
        f['x'] = field((2, 4), 10000 * (j + 1)).astype('<i4')

def lowlevel(f, name, dims, maxdims, maps, fill, dt=h5t.STD_I32LE):
    dcpl = h5p.create(h5p.DATASET_CREATE)
    dcpl.set_fill_value(np.array(fill, dtype=dt.dtype))
    for (fname, dname, vsel, ssel, sdims, smax) in maps:
        vs = h5s.create_simple(dims, maxdims)
        vsel(vs)
        ss = h5s.create_simple(sdims, smax)
        ssel(ss)
        dcpl.set_virtual(vs, fname.encode(), dname.encode(), ss)
    h5d.create(f.id, name.encode(), dt, h5s.create_simple(dims, maxdims), dcpl=dcpl)

ALL = lambda s: s.select_all()
def union1(s):
    s.select_hyperslab((0,), (1,), block=(2,))
    s.select_hyperslab((5,), (1,), block=(3,), op=h5s.SELECT_OR)
def union2(s):
    s.select_hyperslab((0, 0), (1, 1), block=(2, 2))
    s.select_hyperslab((1, 1), (1, 1), block=(2, 2), op=h5s.SELECT_OR)
frames = lambda s: s.select_hyperslab((0, 0), (U, 1), stride=(2, 1), block=(2, 4))

for libver in ('earliest', 'latest'):
    with h5py.File(f'{d}/vds_{libver}.h5', 'w', libver=libver) as f:
        lay = h5py.VirtualLayout((12, 6), '<i4')
        for i in range(4):
            lay[3 * i:3 * i + 3] = h5py.VirtualSource(f'src_{i}.h5', 'data', shape=(3, 6))
        f.create_virtual_dataset('stacked', lay, fillvalue=-1)
        lay = h5py.VirtualLayout((4, 3, 6), '<i4')
        for i in range(4):
            lay[i] = h5py.VirtualSource(f'src_{i}.h5', 'data', shape=(3, 6))
        f.create_virtual_dataset('planes', lay, fillvalue=-1)
        lay = h5py.VirtualLayout((20,), '<i4')
        lay[0:20:2] = h5py.VirtualSource('strided_src.h5', 'a', shape=(10,))
        lay[1:20:2] = h5py.VirtualSource('strided_src.h5', 'b', shape=(10,))
        f.create_virtual_dataset('interleaved', lay, fillvalue=-1)
        lay = h5py.VirtualLayout((6, 8), '<i4')
        lay[::2, 1::3] = h5py.VirtualSource('strided_src.h5', 'tile', shape=(3, 3))
        lay[5, 0:5] = h5py.VirtualSource('strided_src.h5', 'long', shape=(40,))[10:20:2]
        f.create_virtual_dataset('strided2d', lay, fillvalue=-9)
        f['local'] = field((4, 5), 7).astype('<i4')
        lay = h5py.VirtualLayout((5, 4), '<i4')
        lay[0:4, 0:4] = h5py.VirtualSource('.', '/local', shape=(4, 5))[:, 1:5]
        f.create_virtual_dataset('same_file', lay, fillvalue=-3)
        lay = h5py.VirtualLayout((12,), '<i4')
        lay[0:4] = h5py.VirtualSource('no_such_file.h5', 'x', shape=(4,))
        lay[4:8] = h5py.VirtualSource('strided_src.h5', 'no_such_dataset', shape=(4,))
        lay[8:12] = h5py.VirtualSource('strided_src.h5', 'a', shape=(10,))[2:6]
        f.create_virtual_dataset('missing', lay, fillvalue=-7)
        lowlevel(f, 'frames', (0, 4), (U, 4), [('frame_%b.h5', 'x', frames, ALL, (2, 4), (2, 4))], -1)
        lowlevel(f, 'gapped', (0, 4), (U, 4), [('gap_%b.h5', 'x', frames, ALL, (2, 4), (2, 4))], -1)
        lowlevel(f, 'growing', (0,), (U,), [('grow.h5', 'd',
                 lambda s: s.select_hyperslab((0,), (U,), stride=(3,), block=(2,)),
                 lambda s: s.select_hyperslab((0,), (U,), stride=(1,), block=(1,)), (5,), (U,))], -1)
        lowlevel(f, 'irregular', (10,), (10,), [('strided_src.h5', 'a', union1,
                 lambda s: s.select_hyperslab((3,), (1,), block=(5,)), (10,), (10,))], -1)
        lowlevel(f, 'irregular2d', (4, 4), (4, 4), [('strided_src.h5', 'long', union2,
                 lambda s: s.select_hyperslab((0,), (1,), block=(7,)), (40,), (40,))], -1)
        lowlevel(f, 'widened', (4,), (4,), [('strided_src.h5', 'short', ALL, ALL, (4,), (4,))], 0)
        lowlevel(f, 'narrowed', (4,), (4,), [('strided_src.h5', 'real', ALL, ALL, (4,), (4,))], 0,
                 dt=h5t.IEEE_F32LE)
        lay = h5py.VirtualLayout((6,), '<i4')
        lay[:] = h5py.VirtualSource('.', '/interleaved', shape=(20,))[4:10]
        f.create_virtual_dataset('nested', lay, fillvalue=-1)
        lay = h5py.VirtualLayout((4,), '<i4')
        lay[:] = h5py.VirtualSource('.', '/loop', shape=(4,))
        f.create_virtual_dataset('loop', lay, fillvalue=-1)

# two files mapping to each other, and a chain of 20 virtual datasets
for name, other, od in (('ping', 'pong.h5', 'o'), ('pong', 'ping.h5', 'i')):
    with h5py.File(f'{d}/{name}.h5', 'w') as f:
        lay = h5py.VirtualLayout((3,), '<i4')
        lay[:] = h5py.VirtualSource(other, od, shape=(3,))
        f.create_virtual_dataset(name[1], lay, fillvalue=-1)
with h5py.File(f'{d}/chain.h5', 'w') as f:
    f['end'] = np.arange(3, dtype='<i4') + 40
    for i in range(20):
        lay = h5py.VirtualLayout((3,), '<i4')
        lay[:] = h5py.VirtualSource('.', f'/chain_{i + 1}' if i < 19 else '/end', shape=(3,))
        f.create_virtual_dataset(f'chain_{i}', lay, fillvalue=-1)
with h5py.File(f'{d}/chain.h5', 'r') as f:
    assert f['chain_0'][...].tolist() == [40, 41, 42]

# libhdf5 agrees with the formulas the test uses (it would crash on /loop)
with h5py.File(f'{d}/vds_latest.h5', 'r') as f:
    assert f['frames'].shape == (6, 4) and f['gapped'].shape == (2, 4)
    assert f['growing'][...].tolist() == [100, 101, -1, 102, 103, -1, 104]
    assert f['irregular'][...].tolist() == [3, 4, -1, -1, -1, 5, 6, 7, -1, -1]
    assert f['irregular2d'][...].tolist() == [[0, 3, -1, -1], [6, 9, 12, -1], [-1, 15, 18, -1], [-1] * 4]
    assert f['nested'][...].tolist() == [2, 1002, 3, 1003, 4, 1004]
    assert f['missing'][...].tolist() == [-7] * 8 + [2, 3, 4, 5]
    assert f['widened'][...].tolist() == [-2, -1, 0, 1]
    assert f['narrowed'][...].tolist() == [1.5, -2.25, float('inf'), float(np.float32(0.1))]
"#;

fn files() -> &'static Vec<PathBuf> {
    static F: OnceLock<Vec<PathBuf>> = OnceLock::new();
    F.get_or_init(|| {
        let d = common::scratch("virtual");
        common::run_python(SCRIPT, &d);
        vec![d.join("vds_earliest.h5"), d.join("vds_latest.h5")]
    })
}

/// `field` of the script: the index digits in base 100, plus `base`.
fn field(idx: &[usize], base: i32) -> i32 {
    idx.iter().fold(0i32, |v, &a| v * 100 + a as i32) + base
}

fn array(shape: &[usize], f: impl Fn(&[usize]) -> i32) -> ArrayD<i32> {
    ArrayD::from_shape_fn(IxDyn(shape), |i| f(i.slice()))
}

/// The whole dataset and each slice read by h5rs equal `want` and its slices.
fn check(file: &File, name: &str, want: &ArrayD<i32>, slices: &[&[SliceInfoElem]]) {
    let ds = file.dataset(name).unwrap();
    assert_eq!(ds.shape(), want.shape(), "{name}: shape");
    let got = ds.read_dyn::<i32>().unwrap();
    assert_eq!(&got, want, "{name}");
    for sl in slices {
        let got = ds.read_slice_dyn::<i32, _>(*sl).unwrap();
        let exp = want.slice(*sl).to_owned();
        assert_eq!(got, exp, "{name}{sl:?}");
    }
}

fn stacked() -> ArrayD<i32> {
    array(&[12, 6], |i| {
        field(&[i[0] % 3, i[1]], 0) + 100000 * (i[0] / 3) as i32
    })
}

fn interleaved(k: usize) -> i32 {
    if k.is_multiple_of(2) {
        (k / 2) as i32
    } else {
        1000 + (k / 2) as i32
    }
}

#[test]
fn sources_in_other_files_stacked() {
    for p in files() {
        let f = File::open(p).unwrap();
        check(
            &f,
            "stacked",
            &stacked(),
            &[
                s![2..10;3, 1..6;2].as_ref(),
                s![-1, ..].as_ref(),
                s![5..7, 3].as_ref(),
            ],
        );
        let planes = array(&[4, 3, 6], |i| {
            field(&[i[1], i[2]], 0) + 100000 * i[0] as i32
        });
        check(
            &f,
            "planes",
            &planes,
            &[s![1..3, -1, ..].as_ref(), s![.., 1.., 4..].as_ref()],
        );
    }
}

#[test]
fn strided_and_hyperslab_mappings() {
    for p in files() {
        let f = File::open(p).unwrap();
        let want = array(&[20], |i| interleaved(i[0]));
        check(
            &f,
            "interleaved",
            &want,
            &[s![3..17;4].as_ref(), s![1..2].as_ref(), s![..;2].as_ref()],
        );
        let want = array(&[6, 8], |i| {
            let (r, c) = (i[0], i[1]);
            if r % 2 == 0 && c % 3 == 1 {
                field(&[r / 2, c / 3], 500)
            } else if r == 5 && c < 5 {
                3 * (10 + 2 * c as i32)
            } else {
                -9
            }
        });
        check(
            &f,
            "strided2d",
            &want,
            &[
                s![..;2, 1..8;3].as_ref(),
                s![4.., ..].as_ref(),
                s![1..6;2, 2..7;4].as_ref(),
            ],
        );
    }
}

#[test]
fn source_in_the_same_file_and_nested() {
    for p in files() {
        let f = File::open(p).unwrap();
        let want = array(&[5, 4], |i| {
            if i[0] < 4 {
                field(&[i[0], i[1] + 1], 7)
            } else {
                -3
            }
        });
        check(&f, "same_file", &want, &[s![3.., 1..3].as_ref()]);
        let want = array(&[6], |i| interleaved(i[0] + 4));
        check(&f, "nested", &want, &[s![1..5;3].as_ref()]);
    }
}

#[test]
fn missing_sources_read_as_the_fill_value() {
    for p in files() {
        let f = File::open(p).unwrap();
        let want = array(&[12], |i| if i[0] < 8 { -7 } else { i[0] as i32 - 6 });
        check(&f, "missing", &want, &[s![6..10].as_ref()]);
    }
}

#[test]
fn unlimited_mappings_take_their_extent_from_the_sources() {
    for p in files() {
        let f = File::open(p).unwrap();
        // frame_0 .. frame_2, two rows each
        let frames = |n: usize| {
            array(&[n, 4], |i| {
                field(&[i[0] % 2, i[1]], 10000 * (i[0] / 2 + 1) as i32)
            })
        };
        check(
            &f,
            "frames",
            &frames(6),
            &[
                s![1..5, 2].as_ref(),
                s![3..4, ..].as_ref(),
                s![..;5, 1..].as_ref(),
            ],
        );
        assert_eq!(f.dataset("frames").unwrap().maxshape(), vec![None, Some(4)]);
        // gap_1 is missing: only gap_0 is found
        check(&f, "gapped", &frames(2), &[s![1, ..].as_ref()]);
        // blocks of 2 every 3 take the 5 elements of the growing source
        let want =
            ArrayD::from_shape_vec(IxDyn(&[7]), vec![100, 101, -1, 102, 103, -1, 104]).unwrap();
        check(&f, "growing", &want, &[s![2..6].as_ref(), s![4..].as_ref()]);
    }
}

#[test]
fn irregular_selections_pair_in_c_order() {
    for p in files() {
        let f = File::open(p).unwrap();
        let want =
            ArrayD::from_shape_vec(IxDyn(&[10]), vec![3, 4, -1, -1, -1, 5, 6, 7, -1, -1]).unwrap();
        check(&f, "irregular", &want, &[s![1..7;2].as_ref()]);
        // the union of two overlapping squares, walked in C order
        let order = [(0, 0), (0, 1), (1, 0), (1, 1), (1, 2), (2, 1), (2, 2)];
        let want = array(&[4, 4], |i| {
            order
                .iter()
                .position(|&(r, c)| (r, c) == (i[0], i[1]))
                .map_or(-1, |k| 3 * k as i32)
        });
        check(
            &f,
            "irregular2d",
            &want,
            &[s![1..3, 1..].as_ref(), s![.., 2].as_ref()],
        );
    }
}

#[test]
fn source_types_convert_to_the_virtual_type() {
    for p in files() {
        let f = File::open(p).unwrap();
        let v = f.dataset("widened").unwrap().read_raw_vec::<i32>().unwrap();
        assert_eq!(v, vec![-2, -1, 0, 1]);
        let v = f
            .dataset("narrowed")
            .unwrap()
            .read_raw_vec::<f32>()
            .unwrap();
        assert_eq!(v, vec![1.5, -2.25, f32::INFINITY, 0.1]);
    }
}

#[test]
fn a_dataset_mapping_to_itself_is_an_error() {
    for p in files() {
        let f = File::open(p).unwrap();
        let ds = f.dataset("loop").unwrap();
        assert_eq!(ds.shape(), vec![4]);
        let e = ds.read_raw().unwrap_err().to_string();
        assert!(e.contains("maps to itself"), "{e}");
    }
}

#[test]
fn file_in_memory_finds_only_its_own_sources() {
    let p = &files()[1];
    let f = File::from_bytes(std::fs::read(p).unwrap()).unwrap();
    let want = array(&[5, 4], |i| {
        if i[0] < 4 {
            field(&[i[0], i[1] + 1], 7)
        } else {
            -3
        }
    });
    check(&f, "same_file", &want, &[]);
    // other files are looked for from the working directory: absent
    let v = f.dataset("stacked").unwrap().read_raw_vec::<i32>().unwrap();
    assert!(v.iter().all(|&x| x == -1));
}

#[test]
fn cycles_through_other_files_and_deep_chains_are_refused() {
    let d = files()[0].parent().unwrap();
    let f = File::open(d.join("ping.h5")).unwrap();
    let e = f.dataset("i").unwrap().read_raw().unwrap_err().to_string();
    assert!(e.contains("maps to itself"), "{e}");
    let f = File::open(d.join("chain.h5")).unwrap();
    // 16 virtual datasets read through one another are fine, 17 are not
    let v = f.dataset("chain_4").unwrap().read_raw_vec::<i32>().unwrap();
    assert_eq!(v, vec![40, 41, 42]);
    let e = f
        .dataset("chain_3")
        .unwrap()
        .read_raw()
        .unwrap_err()
        .to_string();
    assert!(e.contains("nested more than 16"), "{e}");
}

#[test]
fn parallel_reads_of_nested_virtual_datasets() {
    use rayon::prelude::*;
    let f = File::open(&files()[0]).unwrap();
    let ds = f.dataset("nested").unwrap();
    let frames = f.dataset("frames").unwrap();
    let want: Vec<i32> = (4..10).map(interleaved).collect();
    (0..64).into_par_iter().for_each(|i| {
        assert_eq!(ds.read_raw_vec::<i32>().unwrap(), want);
        let row = frames
            .read_slice_dyn::<i32, _>(s![i % 6, ..].as_ref())
            .unwrap();
        assert_eq!(row[1], field(&[i % 2, 1], 10000 * (i / 2 % 3 + 1) as i32));
    });
}
