//! Replays every fuzz-found input under tests/regressions/ (sorted by
//! failure class: panic/, oom/, hang/) through the fuzz harness it came
//! from, picked by the file name's prefix (`<target>-<name>`); every file
//! also goes through the `open_walk` harness. Each must end without a
//! panic and within a bounded time.

#[path = "../fuzz/src/harness.rs"]
mod harness;

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Largest single allocation allowed: the harness's limits keep every
/// allocation a file asks for far below it, so an input of `oom/` that
/// makes h5rs try more fails here (an allocation failure aborts the test
/// binary) as it did under the fuzzer's memory limit.
const ALLOC_CAP: usize = 1 << 30;

/// The system allocator, refusing allocations over [`ALLOC_CAP`].
struct Capped;

// SAFETY: every call is forwarded to `System` with the caller's layout and
// pointer unchanged, or returns null (allowed: an allocation failure).
unsafe impl GlobalAlloc for Capped {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() > ALLOC_CAP {
            return std::ptr::null_mut();
        }
        // SAFETY: as `GlobalAlloc::alloc`, the caller's contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() > ALLOC_CAP {
            return std::ptr::null_mut();
        }
        // SAFETY: as `GlobalAlloc::alloc_zeroed`, the caller's contract.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > ALLOC_CAP {
            return std::ptr::null_mut();
        }
        // SAFETY: `ptr` came from `System` with `layout`; the caller's
        // contract for `new_size` holds.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Capped = Capped;

const DECODERS: [&str; 13] = [
    "superblock",
    "object_header",
    "datatype",
    "dataspace",
    "layout",
    "btree_v1",
    "btree_v2",
    "fractal_heap",
    "fixed_array",
    "extensible_array",
    "global_heap",
    "local_heap",
    "symbol_table_node",
];

/// Time allowed per input and harness (debug build included).
const BUDGET: Duration = Duration::from_secs(2);

fn inputs() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/regressions");
    let mut out = Vec::new();
    for class in ["panic", "oom", "hang"] {
        let Ok(rd) = std::fs::read_dir(dir.join(class)) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_file()
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Runs `f` and fails on a panic or when it takes longer than [`BUDGET`].
fn replay(label: &str, f: impl FnOnce() + std::panic::UnwindSafe) -> Result<(), String> {
    let start = Instant::now();
    let r = std::panic::catch_unwind(f);
    let took = start.elapsed();
    match r {
        Err(e) => {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Err(format!("{label}: panicked: {msg}"))
        }
        Ok(()) if took > BUDGET => Err(format!("{label}: took {took:?} (at most {BUDGET:?})")),
        Ok(()) => Ok(()),
    }
}

#[test]
fn fuzz_regressions_end_cleanly() {
    // the fuzzers run with checksums unchecked: so do their inputs here
    h5rs::format::checksum::accept_bad_checksums();
    let mut failures = Vec::new();
    let files = inputs();
    for path in &files {
        let data = std::fs::read(path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let target = name.split('-').next().unwrap_or("").to_string();
        let label = path
            .strip_prefix(env!("CARGO_MANIFEST_DIR"))
            .unwrap_or(path)
            .display()
            .to_string();
        let d = data.clone();
        if let Err(e) = replay(&format!("{label} (open_walk)"), move || {
            harness::open_walk(&d)
        }) {
            failures.push(e);
        }
        let d = data.clone();
        let r = match target.as_str() {
            "open_walk" => Ok(()),
            "filters" => replay(&label, move || harness::filters(&d)),
            "writer" => replay(&label, move || harness::writer(&d)),
            "modify" => replay(&label, move || harness::modify(&d)),
            t if DECODERS.contains(&t) => {
                let t = t.to_string();
                replay(&label, move || harness::decoder(&t, &d))
            }
            other => Err(format!("{label}: unknown target prefix {other:?}")),
        };
        if let Err(e) = r {
            failures.push(e);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} inputs failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

/// The `modify` harness on every fixture and every corpus file up to
/// 1 MiB: real files must take the changes and read them back.
#[test]
fn modify_harness_on_real_files() {
    // as the fuzzers run: files with bad checksums are decoded too
    h5rs::format::checksum::accept_bad_checksums();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let shared = std::env::var_os("H5RS_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("../shared"));
    let mut files: Vec<PathBuf> = std::fs::read_dir(root.join("fixtures"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "h5"))
        .collect();
    let manifest = std::fs::read_to_string(shared.join("corpus/MANIFEST.tsv")).unwrap();
    for l in manifest.lines().skip(1) {
        let mut it = l.split('\t');
        if let (Some(p), Some(size)) = (it.next(), it.next().and_then(|s| s.parse::<u64>().ok()))
            && size <= 1 << 20
        {
            files.push(shared.join("corpus").join(p));
        }
    }
    files.sort();
    assert!(files.len() > 300, "only {} files", files.len());
    let mut failures = Vec::new();
    for path in &files {
        let data = std::fs::read(path).unwrap();
        if let Err(e) = replay(&path.display().to_string(), move || harness::modify(&data)) {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
