//! Hostile input: every file of `fixtures/` and of the shared corpus
//! (`_bad/` included), changed by a fixed-seed set of structure-aware
//! mutations, is opened with restrictive [`Limits`](h5rs::Limits) and
//! walked whole (every object, link, attribute and dataset value, through
//! the fuzz harness's `walk`). Each case must end in `Ok` or an error:
//!
//! - no panic: every case runs under `catch_unwind` in this process, and
//!   again in child processes (this test binary run again, one shard of
//!   the cases each) where nothing catches a panic: a panic, an abort, a
//!   signal or a non-zero exit of a child fails the test and names the
//!   case it was running;
//! - no hang: a watchdog aborts the process when one case takes longer
//!   than [`CASE_BUDGET`], after naming the case;
//! - no runaway allocation: a counting global allocator fails a case
//!   whose largest single allocation exceeds [`MAX_ALLOC`], and refuses
//!   (returns null for) any request over [`HARD_CAP`], so that a bug
//!   aborts the process instead of exhausting the machine.
//!
//! The mutations start from where the format's structures are: every
//! offset of a signature (superblock, `OHDR`, `TREE`, `HEAP`, ...) in the
//! file. Near those offsets (where sizes, addresses and counts live) and
//! at random offsets: bit flips, bytes set to boundary values, 2/4/8-byte
//! little-endian fields set to 0, all ones, the top bit, small counts or
//! the file's length; truncations at signature offsets; blocks copied
//! over other blocks and blocks swapped. Deterministic: a xorshift
//! generator seeded from the file's name and the case number.
//!
//! A failing input is saved under the system's temporary directory; the
//! failure message names the path. `H5RS_MUT_CASE=<n>` runs case `n`
//! alone (in this process, saving its input) to reproduce a failure;
//! `H5RS_MUT_SHARDS=<n>` sets the number of child processes (2; 0 runs
//! the cases in this process only, to time them).

#[path = "../fuzz/src/harness.rs"]
mod harness;

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Longest a single case may run.
const CASE_BUDGET: Duration = Duration::from_secs(2);
/// Largest single allocation a case may make. The harness limits allow
/// reads of up to 16 MiB (and the walk reads datasets of at most 4 MiB
/// whole); anything far beyond that was sized by a file value.
const MAX_ALLOC: usize = 64 << 20;
/// Requests over this are refused (null), which aborts the process.
const HARD_CAP: usize = 1 << 30;
/// Most live bytes a case may add (the file's bytes included).
const MAX_PEAK: usize = 512 << 20;
/// Selects child mode: `<shard>/<shards>`.
const CHILD_ENV: &str = "H5RS_MUT_CHILD";
/// Runs one case alone.
const CASE_ENV: &str = "H5RS_MUT_CASE";
/// This test's name, for re-running it in a child process.
const TEST_NAME: &str = "mutated_files_end_in_errors";

// ---------------------------------------------------------------------
// Counting allocator

/// Wraps the system allocator: counts live bytes, the peak of live
/// bytes and the largest single request since the last [`reset`].
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static LARGEST: AtomicUsize = AtomicUsize::new(0);

/// Names the running case when a request is refused (the process then
/// aborts): written without allocating.
fn refused(size: usize) {
    use std::io::Write;
    fn digits(mut n: usize, buf: &mut [u8; 20]) -> &[u8] {
        let mut i = buf.len();
        loop {
            i -= 1;
            buf[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                return &buf[i..];
            }
        }
    }
    let (mut a, mut b) = ([0u8; 20], [0u8; 20]);
    let case = RUNNING.load(Ordering::SeqCst).saturating_sub(1);
    let mut err = std::io::stderr();
    let _ = err.write_all(b"\nALLOC: refused a request of ");
    let _ = err.write_all(digits(size, &mut a));
    let _ = err.write_all(b" bytes in case ");
    let _ = err.write_all(digits(case, &mut b));
    let _ = err.write_all(b" (run it alone with H5RS_MUT_CASE=<case>)\n");
}

impl Counting {
    fn grow(size: usize) {
        LARGEST.fetch_max(size, Ordering::Relaxed);
        let live = LIVE.fetch_add(size, Ordering::Relaxed) + size;
        PEAK.fetch_max(live, Ordering::Relaxed);
    }

    fn refuse(size: usize) -> bool {
        if size > HARD_CAP {
            LARGEST.fetch_max(size, Ordering::Relaxed);
            refused(size);
            return true;
        }
        false
    }
}

// SAFETY: every call is forwarded to `System` with the caller's layout
// and pointer unchanged; the wrapper only counts sizes, or returns null
// (allowed: it reports an allocation failure).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if Self::refuse(layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: as `GlobalAlloc::alloc`, the caller's contract.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            Self::grow(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if Self::refuse(layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: as `GlobalAlloc::alloc_zeroed`, the caller's contract.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            Self::grow(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator, i.e. from `System`.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if Self::refuse(new_size) {
            return std::ptr::null_mut();
        }
        // SAFETY: `ptr` came from `System` with `layout`; the caller's
        // contract for `new_size` holds.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            Self::grow(new_size);
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Held by a test while it reads the counts (tests run on threads of one
/// process).
static COUNTED: Mutex<()> = Mutex::new(());

/// Starts counting a new case: returns the live bytes before it.
fn reset_counts() -> usize {
    let live = LIVE.load(Ordering::Relaxed);
    PEAK.store(live, Ordering::Relaxed);
    LARGEST.store(0, Ordering::Relaxed);
    live
}

// ---------------------------------------------------------------------
// Inputs

fn shared_corpus() -> PathBuf {
    std::env::var_os("H5RS_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"))
        .join("corpus")
}

/// One input file: its name (for messages), bytes and signature offsets.
struct Input {
    name: String,
    bytes: Vec<u8>,
    sigs: Vec<usize>,
    cases: u32,
}

const SUPERBLOCK_SIG: &[u8; 8] = b"\x89HDF\r\n\x1a\n";
const SIGS: [&[u8; 4]; 22] = [
    b"OHDR", b"OCHK", b"TREE", b"HEAP", b"GCOL", b"FRHP", b"FHIB", b"FHDB", b"BTHD", b"BTIN",
    b"BTLF", b"FAHD", b"FADB", b"EAHD", b"EAIB", b"EASB", b"EADB", b"SNOD", b"SMTB", b"SMLI",
    b"FSHD", b"FSSE",
];
/// Most signature offsets kept per file (evenly thinned beyond).
const MAX_SIGS: usize = 4096;

fn signatures(b: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    for i in 0..b.len().saturating_sub(3) {
        let w = &b[i..i + 4];
        if (w == b"\x89HDF" && b[i..].starts_with(SUPERBLOCK_SIG)) || SIGS.iter().any(|s| w == *s) {
            out.push(i);
        }
    }
    if out.len() > MAX_SIGS {
        let n = out.len();
        out = (0..MAX_SIGS).map(|j| out[j * n / MAX_SIGS]).collect();
    }
    out
}

/// Cases per file: small files get many, large ones (slow to walk) few.
fn cases_for(len: usize) -> u32 {
    match len {
        0..=131_072 => 2000,
        131_073..=1_048_576 => 800,
        _ => 200,
    }
}

fn load_inputs() -> Vec<Input> {
    let mut paths: Vec<(String, PathBuf)> = Vec::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut fixtures: Vec<PathBuf> = std::fs::read_dir(root.join("fixtures"))
        .expect("fixtures/")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "h5"))
        .collect();
    fixtures.sort();
    for p in fixtures {
        let name = p.strip_prefix(root).unwrap_or(&p).display().to_string();
        paths.push((name, p));
    }
    let dir = shared_corpus();
    let manifest = std::fs::read_to_string(dir.join("MANIFEST.tsv"))
        .unwrap_or_else(|e| panic!("{}: {e}", dir.join("MANIFEST.tsv").display()));
    let mut listed: Vec<String> = manifest
        .lines()
        .skip(1)
        .filter_map(|l| l.split('\t').next())
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect();
    listed.sort();
    for p in listed {
        paths.push((format!("corpus/{p}"), dir.join(&p)));
    }
    paths
        .into_iter()
        .map(|(name, path)| {
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let sigs = signatures(&bytes);
            let cases = cases_for(bytes.len());
            Input {
                name,
                bytes,
                sigs,
                cases,
            }
        })
        .collect()
}

// ---------------------------------------------------------------------
// Mutations

struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        // never zero, and well mixed
        let mut r = Rng(seed ^ 0x9e37_79b9_7f4a_7c15 | 1);
        for _ in 0..4 {
            r.next();
        }
        r
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// Uniform-ish in `0..n` (`n > 0`).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// One change to a file's bytes.
#[derive(Debug, Clone)]
enum Mutation {
    /// Flip bit `bit` of byte `at`.
    BitFlip { at: usize, bit: u8 },
    /// Set byte `at` to `value`.
    Byte { at: usize, value: u8 },
    /// Write `value` as a `width`-byte little-endian field at `at`.
    Field { at: usize, width: u8, value: u64 },
    /// Cut the file to `len` bytes.
    Truncate { len: usize },
    /// Copy `len` bytes from `from` over those at `to`.
    Duplicate { from: usize, to: usize, len: usize },
    /// Exchange the `len` bytes at `a` with those at `b`.
    Swap { a: usize, b: usize, len: usize },
}

impl Mutation {
    fn apply(&self, b: &mut Vec<u8>) {
        let n = b.len();
        match *self {
            Mutation::BitFlip { at, bit } => {
                if at < n {
                    b[at] ^= 1 << bit;
                }
            }
            Mutation::Byte { at, value } => {
                if at < n {
                    b[at] = value;
                }
            }
            Mutation::Field { at, width, value } => {
                let bytes = value.to_le_bytes();
                for (i, &v) in bytes.iter().take(width as usize).enumerate() {
                    if let Some(x) = b.get_mut(at + i) {
                        *x = v;
                    }
                }
            }
            Mutation::Truncate { len } => b.truncate(len),
            Mutation::Duplicate { from, to, len } => {
                if from >= n || to >= n {
                    return;
                }
                let len = len.min(n.saturating_sub(from)).min(n.saturating_sub(to));
                b.copy_within(from..from + len, to);
            }
            Mutation::Swap { a, b: c, len } => {
                let (lo, hi) = (a.min(c), a.max(c));
                if hi >= n {
                    return;
                }
                let len = len.min(hi - lo).min(n.saturating_sub(hi));
                let (x, y) = b.split_at_mut(hi);
                x[lo..lo + len].swap_with_slice(&mut y[..len]);
            }
        }
    }
}

/// Values for bytes: boundaries of signed and unsigned bytes.
const BYTE_VALUES: [u8; 6] = [0x00, 0xff, 0x7f, 0x80, 0x01, 0xfe];

/// An offset: mostly within 64 bytes after a signature, else anywhere.
fn offset(rng: &mut Rng, input: &Input) -> usize {
    let n = input.bytes.len().max(1);
    if !input.sigs.is_empty() && rng.below(4) != 0 {
        let s = rng.pick(&input.sigs);
        // the superblock's fields run further
        let span = if input.bytes[s] == 0x89 { 128 } else { 64 };
        (s + rng.below(span) as usize).min(n - 1)
    } else {
        rng.below(n as u64) as usize
    }
}

/// A field value: 0, all ones, all ones less one, the top bit, a small
/// count, the file's length or near it.
fn field_value(rng: &mut Rng, width: u8, file_len: usize) -> u64 {
    let max = if width >= 8 {
        u64::MAX
    } else {
        (1u64 << (8 * width)) - 1
    };
    let len = file_len as u64;
    match rng.below(7) {
        0 => 0,
        1 => max,
        2 => max - 1,
        3 => 1u64 << (8 * u32::from(width) - 1),
        4 => 1 + rng.below(16),
        5 => len & max,
        _ => len.wrapping_add(rng.below(17)).wrapping_sub(8) & max,
    }
}

fn one_mutation(rng: &mut Rng, input: &Input) -> Mutation {
    let n = input.bytes.len().max(1);
    match rng.below(100) {
        0..=14 => Mutation::BitFlip {
            at: offset(rng, input),
            bit: rng.below(8) as u8,
        },
        15..=34 => Mutation::Byte {
            at: offset(rng, input),
            value: if rng.below(5) == 0 {
                rng.next() as u8
            } else {
                rng.pick(&BYTE_VALUES)
            },
        },
        35..=69 => {
            let width = rng.pick(&[2u8, 4, 8, 8]);
            Mutation::Field {
                at: offset(rng, input),
                width,
                value: field_value(rng, width, n),
            }
        }
        70..=77 => Mutation::Truncate {
            len: if !input.sigs.is_empty() && rng.below(3) != 0 {
                let s = rng.pick(&input.sigs);
                (s + rng.pick(&[0, 0, 1, 4, 8, 16, 32])).min(n)
            } else {
                rng.below(n as u64) as usize
            },
        },
        78..=88 => {
            let from = offset(rng, input);
            let to = offset(rng, input);
            Mutation::Duplicate {
                from,
                to,
                len: 4 + rng.below(512) as usize,
            }
        }
        _ => {
            let a = offset(rng, input);
            let b = offset(rng, input);
            Mutation::Swap {
                a,
                b,
                len: 4 + rng.below(256) as usize,
            }
        }
    }
}

/// The mutations of case `k` of `input`: the first cases truncate at
/// signature offsets (spread over the file); the others are one to three
/// random mutations.
fn mutations(input: &Input, k: u32) -> Vec<Mutation> {
    let truncations = (input.cases / 6).min(input.sigs.len() as u32);
    if k < truncations {
        let i = k as usize * input.sigs.len() / truncations as usize;
        return vec![Mutation::Truncate { len: input.sigs[i] }];
    }
    let mut rng = Rng::new(fnv(&input.name) ^ u64::from(k).wrapping_mul(0x2545_f491_4f6c_dd1d));
    let count = match rng.below(10) {
        0..=6 => 1,
        7..=8 => 2,
        _ => 3,
    };
    (0..count).map(|_| one_mutation(&mut rng, input)).collect()
}

/// A case: file `file`, case number `k` of that file.
#[derive(Clone, Copy)]
struct Case {
    file: usize,
    k: u32,
}

fn all_cases(inputs: &[Input]) -> Vec<Case> {
    inputs
        .iter()
        .enumerate()
        .flat_map(|(file, i)| (0..i.cases).map(move |k| Case { file, k }))
        .collect()
}

fn bytes_of(inputs: &[Input], c: Case) -> Vec<u8> {
    let input = &inputs[c.file];
    let mut b = input.bytes.clone();
    for m in mutations(input, c.k) {
        m.apply(&mut b);
    }
    b
}

fn describe(inputs: &[Input], c: Case) -> String {
    let input = &inputs[c.file];
    format!("{} case {} {:?}", input.name, c.k, mutations(input, c.k))
}

/// Saves the input of case `c` and returns the path.
fn save(inputs: &[Input], c: Case) -> PathBuf {
    let input = &inputs[c.file];
    let stem: String = input
        .name
        .chars()
        .map(|ch| if ch.is_ascii_alphanumeric() { ch } else { '_' })
        .collect();
    let out = std::env::temp_dir().join(format!("h5rs-mutation-{stem}-{}.h5", c.k));
    if let Err(e) = std::fs::write(&out, bytes_of(inputs, c)) {
        eprintln!("could not save {}: {e}", out.display());
    }
    out
}

// ---------------------------------------------------------------------
// Running cases

/// What the watchdog watches: the case running now (index + 1, 0 for
/// none) and when it started (milliseconds since [`epoch`]).
static RUNNING: AtomicUsize = AtomicUsize::new(0);
static STARTED_MS: AtomicU64 = AtomicU64::new(0);

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn now_ms() -> u64 {
    epoch().elapsed().as_millis() as u64
}

/// Aborts the process, after naming the case and saving its input, when
/// one case runs longer than [`CASE_BUDGET`].
fn start_watchdog(inputs: Arc<Vec<Input>>, cases: Arc<Vec<Case>>) {
    static STARTED: AtomicBool = AtomicBool::new(false);
    if STARTED.swap(true, Ordering::SeqCst) {
        return;
    }
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(Duration::from_millis(100));
            let running = RUNNING.load(Ordering::SeqCst);
            if running == 0 {
                continue;
            }
            let took = now_ms().saturating_sub(STARTED_MS.load(Ordering::SeqCst));
            if took > CASE_BUDGET.as_millis() as u64 && RUNNING.load(Ordering::SeqCst) == running {
                let c = cases[running - 1];
                let saved = save(&inputs, c);
                eprintln!(
                    "HANG: {} ran over {CASE_BUDGET:?} (input saved as {})",
                    describe(&inputs, c),
                    saved.display()
                );
                std::process::abort();
            }
        }
    });
}

/// Opens and walks the bytes; measures allocations. `Err` names what
/// went wrong.
fn run_case(bytes: Vec<u8>) -> Result<(), String> {
    let file = h5rs::File::from_bytes_with_limits(bytes, harness::limits());
    if let Ok(file) = file {
        let _ = harness::walk(&file);
    }
    Ok(())
}

/// Failures listed (and inputs saved) at most.
const MAX_REPORTED: usize = 20;

thread_local! {
    /// The message and place of the last panic on this thread.
    static LAST_PANIC: std::cell::Cell<Option<String>> = const { std::cell::Cell::new(None) };
}

/// Panics under `catch_unwind` print nothing; the case's failure message
/// says what and where.
fn quiet_panics() {
    std::panic::set_hook(Box::new(|info| {
        let s = info.to_string();
        LAST_PANIC.with(|p| p.set(Some(s)));
    }));
}

/// Runs case `i`, in-process or not, and checks its time and allocations.
fn check_case(
    inputs: &[Input],
    cases: &[Case],
    i: usize,
    catch: bool,
    peak_seen: &mut usize,
) -> Result<(), String> {
    let c = cases[i];
    let bytes = bytes_of(inputs, c);
    let base = reset_counts();
    STARTED_MS.store(now_ms(), Ordering::SeqCst);
    RUNNING.store(i + 1, Ordering::SeqCst);
    let start = Instant::now();
    let r = if catch {
        match std::panic::catch_unwind(move || run_case(bytes)) {
            Ok(r) => r,
            Err(_) => {
                let at = LAST_PANIC.with(|p| p.take()).unwrap_or_default();
                Err(at)
            }
        }
    } else {
        run_case(bytes)
    };
    let took = start.elapsed();
    RUNNING.store(0, Ordering::SeqCst);
    let largest = LARGEST.load(Ordering::Relaxed);
    let peak = PEAK.load(Ordering::Relaxed).saturating_sub(base);
    *peak_seen = (*peak_seen).max(peak);
    r?;
    if largest > MAX_ALLOC {
        return Err(format!(
            "allocated {largest} bytes at once (at most {MAX_ALLOC})"
        ));
    }
    if peak > MAX_PEAK {
        return Err(format!("{peak} bytes live at once (at most {MAX_PEAK})"));
    }
    if took > CASE_BUDGET {
        return Err(format!("took {took:?} (at most {CASE_BUDGET:?})"));
    }
    Ok(())
}

/// Child mode: runs shard `shard` of `shards` with no `catch_unwind`,
/// printing `CASE <i>` before each case. Exits non-zero on a failure.
fn child(inputs: Arc<Vec<Input>>, cases: Arc<Vec<Case>>, shard: usize, shards: usize) {
    use std::io::Write;
    // a panic ends the process at once, as under a fuzzer
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        hook(info);
        std::process::abort();
    }));
    start_watchdog(inputs.clone(), cases.clone());
    let mut peak = 0;
    let stdout = std::io::stdout();
    for i in (shard..cases.len()).step_by(shards) {
        {
            let mut out = stdout.lock();
            if writeln!(out, "CASE {i}").and_then(|_| out.flush()).is_err() {
                // the parent is gone
                std::process::exit(4);
            }
        }
        if let Err(e) = check_case(&inputs, &cases, i, false, &mut peak) {
            eprintln!("FAIL: {}: {e}", describe(&inputs, cases[i]));
            std::process::exit(3);
        }
    }
    let mut out = stdout.lock();
    let _ = writeln!(out, "DONE");
    let _ = out.flush();
}

/// A running child process of one shard.
struct Child {
    shard: usize,
    proc: std::process::Child,
    last_case: std::thread::JoinHandle<(Option<usize>, bool)>,
    stderr: std::thread::JoinHandle<String>,
}

fn spawn_child(shard: usize, shards: usize) -> Child {
    let exe = std::env::current_exe().expect("test binary");
    let mut proc = Command::new(exe)
        .args([TEST_NAME, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, format!("{shard}/{shards}"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the test binary again");
    let out = proc.stdout.take().expect("child stdout");
    let err = proc.stderr.take().expect("child stderr");
    let last_case = std::thread::spawn(move || {
        let mut last = None;
        let mut done = false;
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if let Some(i) = line.strip_prefix("CASE ") {
                last = i.trim().parse().ok();
            } else if line == "DONE" {
                done = true;
            }
        }
        (last, done)
    });
    let stderr = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = BufReader::new(err).read_to_string(&mut s);
        s
    });
    Child {
        shard,
        proc,
        last_case,
        stderr,
    }
}

/// Waits for a child; `Err` names the case it failed on.
fn finish_child(inputs: &[Input], cases: &[Case], mut ch: Child) -> Result<(), String> {
    let status = ch.proc.wait().expect("wait for the child");
    let (last, done) = ch.last_case.join().unwrap_or((None, false));
    let stderr = ch.stderr.join().unwrap_or_default();
    if status.success() && done {
        return Ok(());
    }
    let tail: Vec<&str> = stderr.lines().rev().take(12).collect();
    let tail: Vec<&str> = tail.into_iter().rev().collect();
    let case = match last {
        Some(i) if i < cases.len() => {
            let c = cases[i];
            let saved = save(inputs, c);
            format!(
                "case {i}: {} (input saved as {})",
                describe(inputs, c),
                saved.display()
            )
        }
        _ => "before its first case".to_string(),
    };
    Err(format!(
        "child process of shard {} ended with {status} at {case}; its last output:\n{}",
        ch.shard,
        tail.join("\n")
    ))
}

#[test]
fn mutated_files_end_in_errors() {
    let t0 = Instant::now();
    let inputs = Arc::new(load_inputs());
    let cases = Arc::new(all_cases(&inputs));

    if let Ok(spec) = std::env::var(CHILD_ENV) {
        let (shard, shards) = spec.split_once('/').expect("<shard>/<shards>");
        let shard: usize = shard.parse().expect("shard");
        let shards: usize = shards.parse().expect("shards");
        child(inputs, cases, shard, shards);
        return;
    }

    if let Ok(one) = std::env::var(CASE_ENV) {
        let i: usize = one.parse().expect("case number");
        let c = cases[i];
        let saved = save(&inputs, c);
        eprintln!(
            "case {i}: {} (input saved as {})",
            describe(&inputs, c),
            saved.display()
        );
        let mut peak = 0;
        let r = check_case(&inputs, &cases, i, true, &mut peak);
        eprintln!(
            "largest allocation {} bytes, peak {peak} bytes",
            LARGEST.load(Ordering::Relaxed)
        );
        if let Err(e) = r {
            panic!("case {i}: {e}");
        }
        return;
    }

    // the child processes run while this one runs every case in-process
    let shards: usize = std::env::var("H5RS_MUT_SHARDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    let children: Vec<Child> = (0..shards).map(|s| spawn_child(s, shards)).collect();

    let counted = COUNTED.lock().unwrap_or_else(|e| e.into_inner());
    start_watchdog(inputs.clone(), cases.clone());
    quiet_panics();
    let mut failures = Vec::new();
    let mut failed = 0;
    let mut peak = 0;
    let mut per_file = vec![Duration::ZERO; inputs.len()];
    for i in 0..cases.len() {
        let started = Instant::now();
        let r = check_case(&inputs, &cases, i, true, &mut peak);
        per_file[cases[i].file] += started.elapsed();
        if let Err(e) = r {
            failed += 1;
            if failed > MAX_REPORTED {
                continue;
            }
            let saved = save(&inputs, cases[i]);
            failures.push(format!(
                "case {i}: {}: {e} (input saved as {})",
                describe(&inputs, cases[i]),
                saved.display()
            ));
        }
    }
    std::panic::set_hook(Box::new(|info| eprintln!("{info}")));
    if failed > MAX_REPORTED {
        failures.push(format!("... and {} more cases", failed - MAX_REPORTED));
    }
    drop(counted);
    let in_process = t0.elapsed();
    for ch in children {
        if let Err(e) = finish_child(&inputs, &cases, ch) {
            failures.push(e);
        }
    }
    eprintln!(
        "mutations: {} cases of {} files, in-process in {in_process:.1?} and in {shards} child \
         processes, {:.1?} in all; largest live bytes of a case: {peak}",
        cases.len(),
        inputs.len(),
        t0.elapsed()
    );
    let mut slowest: Vec<(Duration, &str)> = per_file
        .iter()
        .zip(inputs.iter())
        .map(|(&t, i)| (t, i.name.as_str()))
        .collect();
    slowest.sort_unstable_by(|a, b| b.cmp(a));
    for (t, name) in slowest.iter().take(8) {
        eprintln!("  {t:>8.1?} {name}");
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Every input under `tests/regressions/oom/`, opened with the default
/// limits and every dataset read whole (as `h5rs canon` does): a dataset
/// whose storage the file cannot hold fails before its output is
/// allocated.
#[test]
fn oom_regressions_read_whole_with_default_limits() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/regressions/oom");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    paths.retain(|p| p.is_file() && p.extension().is_none());
    paths.sort();
    let _counted = COUNTED.lock().unwrap_or_else(|e| e.into_inner());
    let mut failures = Vec::new();
    for path in &paths {
        let bytes = std::fs::read(path).unwrap();
        reset_counts();
        if let Ok(file) = h5rs::File::from_bytes(bytes)
            && let Ok(root) = file.root()
        {
            let mut sets = Vec::new();
            let _ = root.visit_items(|_, o| {
                if let h5rs::Object::Dataset(d) = o {
                    sets.push(d.clone());
                }
                (sets.len() > 1000).then_some(())
            });
            for d in sets {
                let _ = d.read_raw();
            }
        }
        let largest = LARGEST.load(Ordering::Relaxed);
        if largest > MAX_ALLOC {
            failures.push(format!(
                "{}: allocated {largest} bytes at once",
                path.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
