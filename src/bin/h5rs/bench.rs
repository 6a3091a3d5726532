//! `h5rs bench WORKLOAD ...`: the workloads of the shared benchmark suite,
//! printing the same line (`workload seconds bytes GB/s`) and, on stderr,
//! the same checksum (`# check=... cpu_s=...`) as the libhdf5 version.

use std::time::Instant;

use h5rs::{Dataset, Datatype, File, Selection};

const NCOLS_SEL: u64 = 64;
const RAND_LEN: u64 = 16;

/// Process CPU seconds (user + system) from /proc, 0 where unavailable.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields of the line
    let Some(rest) = stat.rsplit(')').next() else {
        return 0.0;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

struct Timer {
    wall: Instant,
    cpu: f64,
}

impl Timer {
    fn start() -> Self {
        Timer {
            wall: Instant::now(),
            cpu: cpu_seconds(),
        }
    }

    /// Ends the timed region (the check value is computed after it, as
    /// the C benchmark does).
    fn stop(self) -> Timed {
        Timed {
            wall: self.wall.elapsed().as_secs_f64(),
            cpu: cpu_seconds() - self.cpu,
        }
    }
}

struct Timed {
    wall: f64,
    cpu: f64,
}

impl Timed {
    fn report(self, name: &str, bytes: f64, check: f64) {
        let dt = self.wall;
        println!("{name} {dt:.6} {bytes:.0} {:.3}", bytes / dt / 1e9);
        eprintln!("# check={} cpu_s={:.3}", fmt_g17(check), self.cpu);
    }
}

/// `%.17g` as C prints it.
fn fmt_g17(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let exp = v.abs().log10().floor() as i32;
    if !(-5..17).contains(&exp) {
        let s = format!("{v:.16e}");
        let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
        let m = m.trim_end_matches('0').trim_end_matches('.');
        let e: i32 = e.parse().unwrap_or(0);
        format!("{m}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs())
    } else {
        let decimals = (16 - exp).max(0) as usize;
        let s = format!("{v:.decimals$}");
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    }
}

fn sum<T: Copy + Into<f64>>(v: &[T]) -> f64 {
    v.iter().fold(0.0, |s, &x| s + x.into())
}

/// Values read as the dataset's native type.
enum Values {
    F32(Vec<f32>),
    F64(Vec<f64>),
    I32(Vec<i32>),
    I64(Vec<i64>),
}

impl Values {
    fn sum(&self) -> f64 {
        match self {
            Values::F32(v) => sum(v),
            Values::F64(v) => sum(v),
            Values::I32(v) => sum(v),
            Values::I64(v) => v.iter().fold(0.0, |s, &x| s + x as f64),
        }
    }
}

/// Reads the selection as the dataset's native type.
fn read_native(d: &Dataset, sel: &Selection) -> h5rs::Result<Values> {
    Ok(match d.dtype() {
        Datatype::Float { size: 4, .. } => Values::F32(d.read_selection_vec(sel)?),
        Datatype::Float { .. } => Values::F64(d.read_selection_vec(sel)?),
        Datatype::Integer {
            size: 4,
            signed: true,
            ..
        } => Values::I32(d.read_selection_vec(sel)?),
        Datatype::Integer { .. } => Values::I64(d.read_selection_vec(sel)?),
        _ => return Err(h5rs::Error::usage("bench needs a numeric dataset")),
    })
}

/// Reads the selection and sums it (for the small reads of read-random and
/// meta-walk, whose C versions also sum inside the timed region).
fn read_sum(d: &Dataset, sel: &Selection) -> h5rs::Result<f64> {
    Ok(read_native(d, sel)?.sum())
}

fn dims_of(d: &Dataset) -> Vec<u64> {
    d.shape().iter().map(|&n| n as u64).collect()
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E3779B97F4A7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D049BB133111EB);
    z ^ (z >> 31)
}

pub fn run(workload: &str, args: &[String]) -> h5rs::Result<()> {
    let arg = |i: usize| {
        args.get(i)
            .cloned()
            .ok_or_else(|| h5rs::Error::usage(format!("{workload}: missing argument {}", i + 1)))
    };
    match workload {
        "read-all" => {
            let (path, name) = (arg(0)?, arg(1)?);
            let t = Timer::start();
            let f = File::open(&path)?;
            let d = f.dataset(&name)?;
            let sel = Selection::all(&dims_of(&d));
            let values = read_native(&d, &sel)?;
            let bytes = (d.size() * d.dtype().size()) as f64;
            drop(f);
            let timed = t.stop();
            timed.report("read-all", bytes, values.sum());
        }
        "read-cols" => {
            let (path, name) = (arg(0)?, arg(1)?);
            let t = Timer::start();
            let f = File::open(&path)?;
            let d = f.dataset(&name)?;
            let dims = dims_of(&d);
            if dims.len() != 2 {
                return Err(h5rs::Error::usage("read-cols needs a 2-D dataset"));
            }
            let mut sel = Selection::all(&dims);
            sel.dims[1].start = (dims[1] / 2).saturating_sub(NCOLS_SEL / 2);
            sel.dims[1].count = NCOLS_SEL.min(dims[1] - sel.dims[1].start);
            let values = read_native(&d, &sel)?;
            let bytes = (dims[0] * NCOLS_SEL) as f64 * d.dtype().size() as f64;
            drop(f);
            let timed = t.stop();
            timed.report("read-cols", bytes, values.sum());
        }
        "read-random" => {
            let (path, name) = (arg(0)?, arg(1)?);
            let n: u64 = arg(2)?
                .parse()
                .map_err(|_| h5rs::Error::usage("read-random: N must be a number"))?;
            let dims = dims_of(&File::open(&path)?.dataset(&name)?);
            if dims.len() != 2 || dims[1] < RAND_LEN {
                return Err(h5rs::Error::usage("read-random needs a 2-D dataset"));
            }
            let mut state = 12345u64;
            let pos: Vec<(u64, u64)> = (0..n)
                .map(|_| {
                    let r = splitmix64(&mut state) % dims[0];
                    let c = splitmix64(&mut state) % (dims[1] - RAND_LEN + 1);
                    (r, c)
                })
                .collect();
            let t = Timer::start();
            let f = File::open(&path)?;
            let d = f.dataset(&name)?;
            let mut check = 0.0;
            let mut sel = Selection::all(&dims);
            for (r, c) in pos {
                sel.dims[0].start = r;
                sel.dims[0].count = 1;
                sel.dims[1].start = c;
                sel.dims[1].count = RAND_LEN;
                check += read_sum(&d, &sel)?;
            }
            let bytes = (n * RAND_LEN) as f64 * d.dtype().size() as f64;
            t.stop().report("read-random", bytes, check);
        }
        "meta-walk" => {
            let path = arg(0)?;
            let t = Timer::start();
            let f = File::open(&path)?;
            let root = f.root()?;
            let mut check = 0.0;
            let mut objects = 0u64;
            let mut err = None;
            for a in root.attrs()? {
                check += attr_sum(&a);
            }
            root.visit_items(|_, o| {
                objects += 1;
                let r = (|| -> h5rs::Result<()> {
                    for a in o.attrs()? {
                        check += attr_sum(&a);
                    }
                    if let h5rs::Object::Dataset(d) = o {
                        check += read_sum(d, &Selection::all(&dims_of(d)))?;
                    }
                    Ok(())
                })();
                match r {
                    Ok(()) => None,
                    Err(e) => {
                        err = Some(e);
                        Some(())
                    }
                }
            })?;
            if let Some(e) = err {
                return Err(e);
            }
            let size = std::fs::metadata(&path)?.len() as f64;
            t.stop().report("meta-walk", size, check);
            eprintln!("# objects={objects}");
        }
        "write-contig" | "write-gzip" => {
            let path = arg(0)?;
            let gzip = workload == "write-gzip";
            let _ = std::fs::remove_file(&path);
            // the input is built before the timed region and freed after
            // it, as in h5bench.c
            let (timed, bytes) = if gzip {
                let data = field::<f32>();
                let t = Timer::start();
                let f = File::create(&path)?;
                f.new_dataset::<f32>()?
                    .shape((N, N))
                    .chunk((256, 1024))
                    .shuffle()
                    .deflate(4)
                    .with_data(&data)
                    .create("data")?;
                f.close()?;
                let timed = t.stop();
                drop(data);
                (timed, (N * N * 4) as f64)
            } else {
                let data = field::<f64>();
                let t = Timer::start();
                let f = File::create(&path)?;
                f.new_dataset::<f64>()?
                    .shape((N, N))
                    .with_data(&data)
                    .create("data")?;
                f.close()?;
                let timed = t.stop();
                drop(data);
                (timed, (N * N * 8) as f64)
            };
            let size = std::fs::metadata(&path)?.len() as f64;
            timed.report(workload, bytes, size);
        }
        "meta-create" => {
            let path = arg(0)?;
            let _ = std::fs::remove_file(&path);
            let t = Timer::start();
            let f = File::create(&path)?;
            let mut base = [0i32; 10];
            for g in 0..NGROUPS {
                let grp = f.create_group(&format!("g{g:05}"))?;
                for k in 0..2 {
                    for (i, b) in base.iter_mut().enumerate() {
                        *b = (if k == 1 { 2 * i } else { i }) as i32 + g as i32;
                    }
                    grp.write_dataset(if k == 1 { "y" } else { "x" }, &base)?;
                }
                grp.write_attr("id", &(g as i32))?;
                grp.write_attr("scale", &(g as f64 * 0.5))?;
                grp.write_attr("name", &format!("group {g}"))?;
            }
            f.close()?;
            let size = std::fs::metadata(&path)?.len() as f64;
            t.stop().report("meta-create", size, NGROUPS as f64);
        }
        w => {
            return Err(h5rs::Error::usage(format!(
                "unknown workload {w:?} (read-all, read-cols, read-random, meta-walk, \
                 write-contig, write-gzip, meta-create)"
            )));
        }
    }
    Ok(())
}

/// Rows and columns of the written field.
const N: usize = 8192;
/// Groups made by meta-create.
const NGROUPS: usize = 10_000;

/// A float type the field can be made in.
trait FieldValue: Copy + Default + Send {
    fn from_f64(v: f64) -> Self;
}
impl FieldValue for f32 {
    fn from_f64(v: f64) -> Self {
        v as f32
    }
}
impl FieldValue for f64 {
    fn from_f64(v: f64) -> Self {
        v
    }
}

/// The benchmark field of `gen.py` (smooth plus hash noise), N x N.
fn field<T: FieldValue + h5rs::H5Type + Clone>() -> ndarray::Array2<T> {
    let hash32 = |mut x: u32| {
        x ^= x >> 16;
        x = x.wrapping_mul(0x7feb_352d);
        x ^= x >> 15;
        x = x.wrapping_mul(0x846c_a68b);
        x ^= x >> 16;
        x
    };
    let a: Vec<f64> = (0..N)
        .map(|i| 100.0 * (i as f64 * 0.0021 + 0.3).sin())
        .collect();
    let b: Vec<f64> = (0..N).map(|i| (i as f64 * 0.0037).cos()).collect();
    let c: Vec<f64> = (0..2 * N)
        .map(|s| 20.0 * (s as f64 * 0.00051).sin())
        .collect();
    let mut out = ndarray::Array2::<T>::default((N, N));
    for ((i, j), v) in out.indexed_iter_mut() {
        let k = (i * N + j) as u32;
        let noise = f64::from(hash32(k)) * (1.0 / 4_294_967_296.0) - 0.5;
        *v = T::from_f64(a[i] * b[j] + c[i + j] + 0.01 * noise);
    }
    out
}

/// An attribute's contribution to the check, as the C benchmark's
/// attribute callback: the byte length of variable-length strings, the sum
/// of numbers.
fn attr_sum(a: &h5rs::Attribute) -> f64 {
    match a.dtype() {
        Datatype::VarLenString { .. } => a
            .read_raw::<String>()
            .map(|v| v.iter().map(|s| s.len() as f64).sum())
            .unwrap_or(0.0),
        Datatype::Integer { .. } | Datatype::Float { .. } => {
            a.read_raw::<f64>().map(|v| sum(&v)).unwrap_or(0.0)
        }
        _ => 0.0,
    }
}
