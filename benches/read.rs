//! Read benchmarks: whole datasets (contiguous, chunked, gzip) and
//! hyperslabs, on files written by h5py (made once into
//! `target/bench-data`, or `$H5RS_BENCH_DATA`).
//!
//! `cargo bench --bench read` runs them at full size; under `cargo test`
//! (criterion's test mode) the files are small.

use std::path::{Path, PathBuf};
use std::process::Command;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use h5rs::{File, Selection};
use ndarray::{Ix2, s};

const SCRIPT: &str = r#"
import sys, numpy as np, h5py
path, n, big = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
i = np.arange(n, dtype='f8')[:, None]
j = np.arange(n, dtype='f8')[None, :]
field = np.sin(i * 0.0021) * 100 + np.cos(j * 0.0037) + (i * 31 + j * 17) % 7 * 0.01
with h5py.File(path, 'w') as f:
    f['contig'] = field
    f.create_dataset('chunked', data=field, chunks=(128, 128))
    f.create_dataset('gzip', data=field.astype('f4'), chunks=(min(256, n), min(1024, n)),
                     shuffle=True, compression='gzip', compression_opts=4)
    d = f.create_dataset('big', shape=(big, big), dtype='<u2', chunks=(128, 128))
    for r in range(0, big, 1024):
        rows = np.arange(r, min(r + 1024, big), dtype='u8')[:, None]
        d[r:r + 1024] = ((rows * big + np.arange(big, dtype='u8')[None, :]) % 65521).astype('u2')
"#;

fn data_file(full: bool) -> PathBuf {
    let dir = std::env::var_os("H5RS_BENCH_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-data"));
    std::fs::create_dir_all(&dir).expect("bench data dir");
    let (n, big) = if full { (2048, 8192) } else { (256, 1024) };
    let path = dir.join(format!("read-{n}-{big}.h5"));
    if !path.exists() {
        let py = std::env::var_os("H5RS_PYTHON")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"));
        let tmp = path.with_extension("tmp");
        let ok = Command::new(&py)
            .arg("-c")
            .arg(SCRIPT)
            .arg(&tmp)
            .arg(n.to_string())
            .arg(big.to_string())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(
            ok,
            "{} could not write the bench file (needs h5py)",
            py.display()
        );
        std::fs::rename(&tmp, &path).expect("rename bench file");
    }
    path
}

fn benches(c: &mut Criterion) {
    let full = std::env::args().any(|a| a == "--bench");
    let file = File::open(data_file(full)).expect("open bench file");

    let mut g = c.benchmark_group("read_all");
    for name in ["contig", "chunked", "gzip"] {
        let d = file.dataset(name).unwrap();
        g.throughput(Throughput::Bytes((d.size() * d.dtype().size()) as u64));
        g.bench_function(name, |b| {
            b.iter(|| {
                if name == "gzip" {
                    d.read::<f32, Ix2>().unwrap().len()
                } else {
                    d.read::<f64, Ix2>().unwrap().len()
                }
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("hyperslab");
    let big = file.dataset("big").unwrap();
    let n = big.shape()[0] as u64;
    let mut cols = Selection::all(&[n, n]);
    cols.dims[1].start = n / 2 - 32;
    cols.dims[1].count = 64;
    let all = Selection::all(&[n, n]);
    eprintln!(
        "hyperslab: 64 middle columns of {n}x{n} in 128x128 chunks decode {} of {} chunks",
        big.chunks_touched(&cols),
        big.chunks_touched(&all)
    );
    g.throughput(Throughput::Bytes(n * 64 * 2));
    g.bench_function("cols64_chunked", |b| {
        b.iter(|| big.read_selection_vec::<u16>(&cols).unwrap().len())
    });
    let chunked = file.dataset("chunked").unwrap();
    g.throughput(Throughput::Bytes(11 * 11 * 8));
    g.bench_function("block_11x11", |b| {
        b.iter(|| {
            chunked
                .read_slice::<f64, _, Ix2>(s![205..216, 100..111])
                .unwrap()
                .len()
        })
    });
    g.finish();
}

criterion_group!(read, benches);
criterion_main!(read);
