//! Exploring an HDF5 file "found in the wild": a NASA GPM granule (or any
//! file laid out like one), as the last part of the h5py tutorial does,
//! with h5rs.
//!
//! ```text
//! cargo run --release --example explore [GRANULE.HDF5]
//! ```
//! Without an argument it opens the IMERG half-hourly granule of the shared
//! corpus (`$H5RS_SHARED/corpus/gpm/3B-HHR...HDF5`, `H5RS_SHARED` defaulting
//! to `../shared`).
//!
//! Every figure is printed on a line of its own that starts with a keyword,
//! so that the output can be checked against h5py's
//! (`tests/data/explore_reference.py` prints the same lines):
//!
//! ```text
//! item <name> group | item <name> dataset <shape> <dtype>   root members
//! input <file name>                                         InputFileNames, split on ','
//! group <path>                                              the main grid/swath group
//! member <name> group | member <name> dataset <shape> <dtype>
//! real <dataset> <n> <total>                                values that are not fill
//! rain <path> <shape>                                       the precipitation-like dataset
//! window <r0>:<r1>,<c0>:<c1>                                then one `row` line per row
//! row <v> <v> ...                                           values with 4 decimals
//! between <n>                                               values with 0.1 < v < 0.9
//! attr <name>                                               root attribute names
//! kv <attr> <key> <value>                                   `Key=Value;` lines of string attributes
//! ```
//! Lines starting with `#` are commentary.
//!
//! The rules, shared with the reference script:
//! - main group: `Grid`, else the first root group holding a `Latitude`
//!   dataset (a swath), else the first root group holding any dataset, else
//!   the root itself (netCDF-style files);
//! - a value is missing when it equals the dataset's `_FillValue`, else
//!   `missing_value`, else `CodeMissingValue` attribute (a string is parsed;
//!   the fill is rounded to `f32` for 4-byte float datasets; a NaN fill
//!   matches NaN); without any of them, values below -9999 are missing;
//! - the precipitation-like dataset is the numeric dataset with two or more
//!   axes among the main group's datasets, then those of its direct
//!   subgroups, ranked: named `precipitation`; a surface precipitation
//!   (`surfacePrecipitation`, `precipRateNearSurface`); any name containing
//!   `precip`; else the first numeric dataset of the main group with two or
//!   more axes;
//! - windows are taken on the last two axes (other axes at index 0), with
//!   the wanted start and size clipped and shifted into the shape.

use h5rs::{Dataset, Datatype, File, Group, Object};
use ndarray::SliceInfoElem;

const DEFAULT: &str = "corpus/gpm/3B-HHR.MS.MRG.3IMERG.20000601-S000000-E002959.0000.V07A.HDF5";

/// Values below this count as missing when a dataset names no fill value.
const SENTINEL: f64 = -9999.0;

/// Shape as `10x10`, `scalar` for no axes.
fn shape_str(shape: &[usize]) -> String {
    if shape.is_empty() {
        return "scalar".into();
    }
    shape
        .iter()
        .map(|n| n.to_string())
        .collect::<Vec<_>>()
        .join("x")
}

/// Element type in numpy's spelling for numbers and fixed strings.
fn dtype_str(dt: &Datatype) -> String {
    match dt {
        Datatype::Integer { size, signed, .. } => {
            format!("{}int{}", if *signed { "" } else { "u" }, size * 8)
        }
        Datatype::Float { size, .. } => format!("float{}", size * 8),
        Datatype::String { size, .. } => format!("S{size}"),
        Datatype::VarLenString { .. } => "vlen-str".into(),
        _ => "other".into(),
    }
}

fn numeric(d: &Dataset) -> bool {
    matches!(d.dtype(), Datatype::Integer { .. } | Datatype::Float { .. })
}

fn describe(o: &Object) -> String {
    match o {
        Object::Group(_) => "group".into(),
        Object::Dataset(d) => format!("dataset {} {}", shape_str(&d.shape()), dtype_str(d.dtype())),
        Object::Datatype(_) => "datatype".into(),
    }
}

fn datasets(g: &Group) -> h5rs::Result<Vec<(String, Dataset)>> {
    Ok(g.members()?
        .into_iter()
        .filter_map(|(n, o)| match o {
            Object::Dataset(d) => Some((n, d)),
            _ => None,
        })
        .collect())
}

fn groups(g: &Group) -> h5rs::Result<Vec<(String, Group)>> {
    Ok(g.members()?
        .into_iter()
        .filter_map(|(n, o)| match o {
            Object::Group(g) => Some((n, g)),
            _ => None,
        })
        .collect())
}

/// The group holding the science data (see the module docs).
fn main_group(root: &Group) -> h5rs::Result<Group> {
    if let Ok(g) = root.group("Grid") {
        return Ok(g);
    }
    let subgroups = groups(root)?;
    for (_, g) in &subgroups {
        if datasets(g)?.iter().any(|(n, _)| n == "Latitude") {
            return Ok(g.clone());
        }
    }
    for (_, g) in &subgroups {
        if !datasets(g)?.is_empty() {
            return Ok(g.clone());
        }
    }
    Ok(root.clone())
}

/// The value marking "no data" in `d`, from its attributes.
fn fill_value(d: &Dataset) -> Option<f64> {
    for name in ["_FillValue", "missing_value", "CodeMissingValue"] {
        let Ok(a) = d.attr(name) else { continue };
        let value = match a.dtype() {
            Datatype::String { .. } | Datatype::VarLenString { .. } => a
                .read_raw::<String>()
                .ok()
                .and_then(|v| v.first().and_then(|s| s.trim().parse::<f64>().ok())),
            _ => a.read_raw::<f64>().ok().and_then(|v| v.first().copied()),
        };
        if let Some(v) = value {
            return Some(match d.dtype() {
                Datatype::Float { size: 4, .. } => v as f32 as f64,
                _ => v,
            });
        }
    }
    None
}

fn is_missing(v: f64, fill: Option<f64>) -> bool {
    match fill {
        Some(f) if f.is_nan() => v.is_nan(),
        Some(f) => v == f,
        None => v < SENTINEL,
    }
}

/// Rank of a dataset name as "the precipitation": lower is better.
fn precip_rank(name: &str) -> u8 {
    let n = name.to_lowercase();
    if n == "precipitation" {
        0
    } else if n.contains("surfaceprecip") || (n.contains("precip") && n.contains("nearsurface")) {
        1
    } else if n.contains("precip") {
        2
    } else {
        3
    }
}

/// The main precipitation-like dataset, with its path relative to `g`.
fn rain_dataset(g: &Group) -> h5rs::Result<Option<(String, Dataset)>> {
    let usable = |d: &Dataset| numeric(d) && d.ndim() >= 2;
    let mut candidates: Vec<(String, Dataset)> = datasets(g)?;
    for (sub, sg) in groups(g)? {
        candidates.extend(
            datasets(&sg)?
                .into_iter()
                .map(|(n, d)| (format!("{sub}/{n}"), d)),
        );
    }
    let mut best: Option<(u8, String, Dataset)> = None;
    for (path, d) in candidates {
        let leaf = path.rsplit('/').next().unwrap_or(&path);
        let rank = precip_rank(leaf);
        if rank < 3 && usable(&d) && best.as_ref().is_none_or(|(r, _, _)| rank < *r) {
            best = Some((rank, path, d));
        }
    }
    if let Some((_, p, d)) = best {
        return Ok(Some((p, d)));
    }
    Ok(datasets(g)?.into_iter().find(|(_, d)| usable(d)))
}

/// `[start, start + size)` clipped and shifted into `0..len`.
fn fit(start: usize, size: usize, len: usize) -> (usize, usize) {
    let size = size.min(len);
    let start = start.min(len - size);
    (start, start + size)
}

/// A value with 4 decimals (`nan`, `inf`, `-inf` spelt as numpy does).
fn fmt_value(v: f64) -> String {
    if v.is_nan() {
        "nan".into()
    } else if v.is_infinite() {
        if v > 0.0 { "inf".into() } else { "-inf".into() }
    } else {
        format!("{v:.4}")
    }
}

/// Prints the `rows x cols` window of the last two axes wanted at
/// `(r0, c0)`, moved into the shape.
fn window(d: &Dataset, r0: usize, c0: usize, rows: usize, cols: usize) -> h5rs::Result<()> {
    let shape = d.shape();
    let n = shape.len();
    let (r0, r1) = fit(r0, rows, shape[n - 2]);
    let (c0, c1) = fit(c0, cols, shape[n - 1]);
    let mut elems: Vec<SliceInfoElem> = shape[..n - 2]
        .iter()
        .map(|_| SliceInfoElem::Index(0))
        .collect();
    for (a, b) in [(r0, r1), (c0, c1)] {
        elems.push(SliceInfoElem::Slice {
            start: a as isize,
            end: Some(b as isize),
            step: 1,
        });
    }
    let a = d.read_slice_dyn::<f64, _>(elems)?;
    println!("window {r0}:{r1},{c0}:{c1}");
    if a.is_empty() {
        return Ok(());
    }
    let cells: Vec<Vec<String>> = a
        .outer_iter()
        .map(|row| row.iter().map(|&v| fmt_value(v)).collect())
        .collect();
    let width = cells.iter().flatten().map(String::len).max().unwrap_or(0);
    for row in cells {
        let row: Vec<String> = row.iter().map(|c| format!("{c:>width$}")).collect();
        println!("row {}", row.join(" "));
    }
    Ok(())
}

/// `Key=Value;` pairs of a multi-line string attribute.
fn key_values(text: &str) -> Vec<(String, String)> {
    text.split('\n')
        .filter_map(|line| {
            let line = line.trim();
            let line = line.strip_suffix(';').unwrap_or(line);
            let (k, v) = line.split_once('=')?;
            Some((k.trim().to_string(), v.trim().to_string()))
        })
        .collect()
}

fn main() -> h5rs::Result<()> {
    let path = std::env::args().nth(1).unwrap_or_else(|| {
        let shared = std::env::var("H5RS_SHARED").unwrap_or_else(|_| "../shared".into());
        format!("{shared}/{DEFAULT}")
    });
    let f = File::open(&path)?;
    let root = f.root()?;
    println!("# == {path}");

    println!("\n# list(f.items())");
    for (name, obj) in root.members()? {
        println!("item {name} {}", describe(&obj));
    }

    // root attributes by name, as h5py lists them for files that do not
    // track creation order; strings decoded and `Key=Value;` text parsed
    let mut attr_names = f.attr_names()?;
    attr_names.sort();
    let mut pairs: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for name in &attr_names {
        let a = f.attr(name)?;
        if matches!(
            a.dtype(),
            Datatype::String { .. } | Datatype::VarLenString { .. }
        ) && a.shape().is_empty()
        {
            let kv = key_values(&a.read_scalar::<String>()?);
            if !kv.is_empty() {
                pairs.push((name.clone(), kv));
            }
        }
    }

    // InputFileNames: a string dataset at the root or in the main group,
    // else the key of the `InputRecord` attribute
    let grid = main_group(&root)?;
    let mut inputs: Option<(String, String)> = None;
    for g in [&root, &grid] {
        if inputs.is_some() {
            break;
        }
        if let Ok(d) = g.dataset("InputFileNames")
            && matches!(
                d.dtype(),
                Datatype::String { .. } | Datatype::VarLenString { .. }
            )
            && let Some(s) = d.read_raw_vec::<String>()?.into_iter().next()
        {
            inputs = Some((format!("dataset {}", d.name()), s));
        }
    }
    if inputs.is_none() {
        inputs = pairs
            .iter()
            .filter(|(a, _)| a == "InputRecord")
            .flat_map(|(_, kv)| kv.iter())
            .find(|(k, _)| k == "InputFileNames")
            .map(|(_, v)| ("attribute InputRecord".to_string(), v.clone()));
    }
    match &inputs {
        Some((from, names)) => {
            println!("\n# InputFileNames ({from}), split on ','");
            for n in names.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                println!("input {n}");
            }
        }
        None => println!("\n# no InputFileNames"),
    }

    println!("\n# the main group and its members");
    println!("group {}", grid.name());
    for (name, obj) in grid.members()? {
        println!("member {name} {}", describe(&obj));
    }

    println!("\n# real values (not fill) out of all, per numeric dataset");
    let numeric_sets: Vec<(String, Dataset)> = datasets(&grid)?
        .into_iter()
        .filter(|(_, d)| numeric(d))
        .collect();
    let width = numeric_sets.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    for (name, d) in &numeric_sets {
        let fill = fill_value(d);
        let values = d.read_raw_vec::<f64>()?;
        let real = values.iter().filter(|&&v| !is_missing(v, fill)).count();
        println!("real {name:<width$} {real:>8} {:>8}", values.len());
    }

    match rain_dataset(&grid)? {
        Some((name, rain)) => {
            println!("\n# the precipitation-like dataset, last two axes");
            println!("rain {name} {}", shape_str(&rain.shape()));
            window(&rain, 0, 0, 10, 10)?;
            window(&rain, 705, 400, 11, 11)?;
            let drizzle = rain
                .read_raw_vec::<f64>()?
                .iter()
                .filter(|&&v| 0.1 < v && v < 0.9)
                .count();
            println!("# ((.1 < rain) & (rain < .9)).sum()");
            println!("between {drizzle}");
        }
        None => println!("\n# no numeric dataset with two axes in {}", grid.name()),
    }

    println!("\n# list(f.attrs.keys())");
    for name in &attr_names {
        println!("attr {name}");
    }
    for (name, kv) in &pairs {
        println!("\n# f.attrs['{name}'].decode().split('\\n'), as Key=Value;");
        for (k, v) in kv {
            println!("kv {name} {k} {v}");
        }
    }
    Ok(())
}
