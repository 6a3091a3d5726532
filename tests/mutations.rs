//! Hostile input: corpus files with random bytes changed must give errors,
//! never a panic, while everything in them is walked and read through the
//! public API. Deterministic (fixed seed), bounded in time.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use h5rs::{File, Object, Value};

fn corpus() -> PathBuf {
    std::env::var_os("H5RS_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"))
        .join("corpus")
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Walks every object and reads every dataset and attribute; errors are
/// fine, panics are not.
fn exercise(bytes: Vec<u8>) {
    let Ok(f) = File::from_bytes(bytes) else {
        return;
    };
    let Ok(root) = f.root() else {
        return;
    };
    if let Ok(attrs) = root.attrs() {
        for a in attrs {
            let _ = a.read_raw::<Value>();
        }
    }
    let mut budget = 200;
    let _ = root.visit_items(|_, o| {
        budget -= 1;
        if let Ok(attrs) = o.attrs() {
            for a in attrs {
                let _ = a.read_raw::<Value>();
            }
        }
        if let Object::Dataset(d) = o
            && d.size() <= 1 << 20
        {
            let _ = d.read_raw_vec::<Value>();
            let _ = d.read_raw_vec::<f64>();
        }
        (budget == 0).then_some(())
    });
}

#[test]
fn mutated_corpus_files_never_panic() {
    let dir = corpus();
    let manifest = std::fs::read_to_string(dir.join("MANIFEST.tsv")).expect("corpus manifest");
    let mut files: Vec<(PathBuf, u64)> = manifest
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut it = l.split('\t');
            let p = it.next()?;
            let size: u64 = it.next()?.parse().ok()?;
            Some((dir.join(p), size))
        })
        .filter(|(p, s)| *s < 64 << 10 && !p.to_string_lossy().contains("_bad/"))
        .collect();
    files.sort();
    let mut rng = Rng(0x9e3779b97f4a7c15);
    let start = Instant::now();
    let mut runs = 0;
    for (path, _) in files.iter().step_by(3) {
        let original = std::fs::read(path).unwrap();
        for _ in 0..20 {
            let mut b = original.clone();
            let n = 1 + rng.next() % 8;
            for _ in 0..n {
                let i = (rng.next() % b.len() as u64) as usize;
                b[i] = match rng.next() % 4 {
                    0 => 0xff,
                    1 => 0,
                    _ => rng.next() as u8,
                };
            }
            let r = std::panic::catch_unwind(|| exercise(b.clone()));
            if r.is_err() {
                let out = std::env::temp_dir().join("h5rs-mutation-panic.h5");
                std::fs::write(&out, &b).unwrap();
                panic!(
                    "panic on a mutation of {} (saved as {})",
                    path.display(),
                    out.display()
                );
            }
            runs += 1;
        }
        if start.elapsed() > Duration::from_secs(40) {
            break;
        }
    }
    assert!(runs > 100, "only {runs} mutations ran");
}
