//! `h5rs stats FILE PATH [--fill VALUE]`: count, non-fill count, min, max
//! and mean of a numeric dataset.
//!
//! The dataset is read in blocks of rows along its first axis (whole rows
//! of chunks, about 16 MiB of `f64` per block), so datasets larger than
//! memory can be summarised; when one row is itself larger than that, the
//! blocks run along a later axis. Values equal to the fill value, and NaN, are
//! missing; the statistics are over the other values.

use h5rs::hl::value::decode_value;
use h5rs::{Dataset, Datatype, File, Object, Selection, Value};

/// Bytes of `f64` aimed at per block.
const BLOCK_BYTES: u64 = 16 << 20;

/// Where the fill value came from, and its values.
struct Fill {
    values: Vec<f64>,
    source: String,
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(*i as f64),
        Value::UInt(u) => Some(*u as f64),
        Value::Float(f) => Some(*f),
        _ => None,
    }
}

/// The numbers held by attribute `name` of `d`, if it exists and holds any
/// (numbers written as text, as GPM's `CodeMissingValue = "-9999.9"`,
/// count too).
fn attr_numbers(d: &Dataset, name: &str) -> Option<Vec<f64>> {
    let a = d.attrs().ok()?.into_iter().find(|a| a.name() == name)?;
    if a.is_null() {
        return None;
    }
    let v = a.read_raw::<Value>().ok()?;
    let n: Vec<f64> = v
        .iter()
        .filter_map(|x| number(x).or_else(|| x.as_str()?.trim().parse::<f64>().ok()))
        .collect();
    (!n.is_empty()).then_some(n)
}

/// The fill value: `--fill`, else the `_FillValue`, `CodeMissingValue` or
/// `missing_value` attribute, else the fill value message, else none.
/// Values are rounded to the dataset's precision when it is `f32`, so that
/// `--fill -9999.9` matches the stored `f32`.
fn find_fill(file: &File, d: &Dataset, given: Option<f64>) -> Fill {
    let single = matches!(d.dtype(), Datatype::Float { size: 4, .. });
    let round = |v: Vec<f64>| -> Vec<f64> {
        if single {
            v.into_iter().map(|x| x as f32 as f64).collect()
        } else {
            v
        }
    };
    if let Some(f) = given {
        return Fill {
            values: round(vec![f]),
            source: "option".into(),
        };
    }
    for name in ["_FillValue", "CodeMissingValue", "missing_value"] {
        if let Some(v) = attr_numbers(d, name) {
            return Fill {
                values: round(v),
                source: format!("attribute {name}"),
            };
        }
    }
    if let Some(bytes) = &d.fill_value().value
        && let Ok(v) = decode_value(file, d.dtype(), bytes)
        && let Some(x) = number(&v)
    {
        return Fill {
            values: vec![x],
            source: "fill value message".into(),
        };
    }
    Fill {
        values: Vec::new(),
        source: "none".into(),
    }
}

/// Running totals.
#[derive(Default)]
struct Acc {
    count: u64,
    valid: u64,
    nan: u64,
    min: f64,
    max: f64,
    /// Neumaier compensated sum and its correction.
    sum: f64,
    comp: f64,
}

impl Acc {
    fn add(&mut self, v: &[f64], fill: &[f64]) {
        self.count += v.len() as u64;
        for &x in v {
            if x.is_nan() {
                self.nan += 1;
                continue;
            }
            if fill.contains(&x) {
                continue;
            }
            if self.valid == 0 {
                self.min = x;
                self.max = x;
            } else {
                self.min = self.min.min(x);
                self.max = self.max.max(x);
            }
            self.valid += 1;
            let t = self.sum + x;
            if self.sum.abs() >= x.abs() {
                self.comp += (self.sum - t) + x;
            } else {
                self.comp += (x - t) + self.sum;
            }
            self.sum = t;
        }
    }
}

/// How the dataset is cut into blocks: the axis blocks run along and how
/// many of its indices a block takes. With `given`, that many rows of the
/// first axis; else the first axis whose trailing elements (one index of
/// it) fit in [`BLOCK_BYTES`], taking whole chunks along it and about
/// [`BLOCK_BYTES`] per block; the axes before it are read one index at a
/// time.
fn plan(d: &Dataset, given: Option<u64>) -> (usize, u64) {
    if let Some(n) = given {
        return (0, n.max(1));
    }
    let shape: Vec<u64> = d.shape().iter().map(|&n| n as u64).collect();
    let trailing = |k: usize| -> u64 {
        shape
            .iter()
            .skip(k + 1)
            .fold(1u64, |a, &n| a.saturating_mul(n))
            .max(1)
    };
    let mut axis = 0;
    while axis + 1 < shape.len() && trailing(axis).saturating_mul(8) > BLOCK_BYTES {
        axis += 1;
    }
    let by_bytes = (BLOCK_BYTES / trailing(axis).saturating_mul(8)).max(1);
    match d.chunks().and_then(|c| c.get(axis).copied()) {
        Some(c) if c > 0 => {
            let c = c as u64;
            (axis, (by_bytes / c).max(1).saturating_mul(c))
        }
        _ => (axis, by_bytes),
    }
}

fn show(x: f64) -> String {
    format!("{x}")
}

/// Prints the statistics of dataset `obj`, one `key: value` per line.
pub fn run(path: &str, obj: &str, fill: Option<f64>, block: Option<u64>) -> h5rs::Result<()> {
    let file = crate::open(path)?;
    let d = match file.object(obj)? {
        Object::Dataset(d) => d,
        _ => return Err(h5rs::Error::usage(format!("{obj} is not a dataset"))),
    };
    match d.dtype() {
        Datatype::Integer { .. } | Datatype::Float { .. } => {}
        other => {
            return Err(h5rs::Error::usage(format!(
                "{obj} is not numeric (type {})",
                other.canonical()
            )));
        }
    }
    let fill = find_fill(&file, &d, fill);
    let mut acc = Acc::default();
    let mut blocks = 0u64;
    if !d.is_null() {
        let shape: Vec<u64> = d.shape().iter().map(|&n| n as u64).collect();
        if shape.is_empty() {
            acc.add(&d.read_raw_vec::<f64>()?, &fill.values);
            blocks = 1;
        } else {
            let (axis, step) = plan(&d, block);
            // every index of the axes before `axis`, then blocks along it
            let outer = shape[..axis].iter().fold(1u64, |a, &n| a.saturating_mul(n));
            for o in 0..outer {
                let mut sel = Selection::all(&shape);
                let mut r = o;
                for k in (0..axis).rev() {
                    sel.dims[k].start = r % shape[k];
                    sel.dims[k].count = 1;
                    r /= shape[k];
                }
                let mut start = 0u64;
                while start < shape[axis] {
                    sel.dims[axis].start = start;
                    sel.dims[axis].count = step.min(shape[axis] - start);
                    acc.add(&d.read_selection_vec::<f64>(&sel)?, &fill.values);
                    blocks += 1;
                    start += sel.dims[axis].count;
                }
            }
        }
    }
    let dims: Vec<String> = d.shape().iter().map(|n| n.to_string()).collect();
    println!("dataset: {obj}");
    println!("dtype: {}", d.dtype().canonical());
    println!("shape: {{{}}}", dims.join(", "));
    let f = if fill.values.is_empty() {
        "none".to_string()
    } else {
        // f32 data: the fill as its f32 text (as `ls -a` shows it)
        let single = matches!(d.dtype(), Datatype::Float { size: 4, .. });
        fill.values
            .iter()
            .map(|&x| {
                if single {
                    format!("{}", x as f32)
                } else {
                    show(x)
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!("fill: {f}");
    println!("fill_source: {}", fill.source);
    println!("count: {}", acc.count);
    println!("non_fill: {}", acc.valid);
    println!("nan: {}", acc.nan);
    if acc.valid > 0 {
        println!("min: {}", show(acc.min));
        println!("max: {}", show(acc.max));
        println!("mean: {}", show((acc.sum + acc.comp) / acc.valid as f64));
    } else {
        println!("min: none");
        println!("max: none");
        println!("mean: none");
    }
    println!("blocks: {blocks}");
    Ok(())
}
