//! Exploring an HDF5 file "found in the wild": a NASA GPM granule, as the
//! last part of the h5py tutorial does, with h5rs.
//!
//! ```text
//! cargo run --release --example explore [GRANULE.HDF5]
//! ```
//! Without an argument it opens the IMERG half-hourly granule of the shared
//! corpus (`../shared/corpus/gpm/3B-HHR...HDF5`).

use h5rs::{Dataset, Datatype, File, Object};
use ndarray::{ArrayD, Axis, SliceInfoElem};

const DEFAULT: &str =
    "../shared/corpus/gpm/3B-HHR.MS.MRG.3IMERG.20000601-S000000-E002959.0000.V07A.HDF5";

/// The sentinel GPM products use for "no data".
const SENTINEL: f64 = -9999.0;

fn kind(o: &Object) -> String {
    match o {
        Object::Group(_) => "group".into(),
        Object::Dataset(d) => format!("dataset {:?} {}", d.shape(), d.dtype().canonical()),
        Object::Datatype(_) => "named datatype".into(),
    }
}

fn numeric(d: &Dataset) -> bool {
    matches!(d.dtype(), Datatype::Integer { .. } | Datatype::Float { .. })
}

/// The last two axes' leading `rows x cols` corner (other axes at 0).
fn corner(
    d: &Dataset,
    r: std::ops::Range<usize>,
    c: std::ops::Range<usize>,
) -> h5rs::Result<ArrayD<f64>> {
    let shape = d.shape();
    let n = shape.len();
    let mut elems = Vec::new();
    for (axis, &len) in shape.iter().enumerate() {
        let range = if axis + 2 == n {
            r.start.min(len)..r.end.min(len)
        } else if axis + 1 == n {
            c.start.min(len)..c.end.min(len)
        } else {
            elems.push(SliceInfoElem::Index(0));
            continue;
        };
        elems.push(SliceInfoElem::Slice {
            start: range.start as isize,
            end: Some(range.end as isize),
            step: 1,
        });
    }
    d.read_slice_dyn::<f64, _>(elems)
}

fn show(a: &ArrayD<f64>) {
    if a.is_empty() {
        println!("  (empty: this granule is cut to a few scans)");
        return;
    }
    let a = if a.ndim() == 1 {
        a.clone().insert_axis(Axis(0))
    } else {
        a.clone()
    };
    for row in a.outer_iter() {
        let cells: Vec<String> = row.iter().map(|v| format!("{v:>9.3}")).collect();
        println!("  {}", cells.join(" "));
    }
}

fn main() -> h5rs::Result<()> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| DEFAULT.to_string());
    let f = File::open(&path)?;
    println!("== {path}\n");

    println!("list(f.items()):");
    for (name, obj) in f.root()?.members()? {
        println!("  {name:<24} {}", kind(&obj));
    }

    println!("\nlist(f.attrs.keys()): {:?}", f.attr_names()?);
    for name in ["FileInfo", "FileHeader"] {
        if let Ok(a) = f.attr(name) {
            println!("\nf.attrs['{name}'].decode().split('\\n'):");
            for line in a
                .read_scalar::<String>()?
                .split('\n')
                .filter(|l| !l.is_empty())
            {
                println!("  {line}");
            }
        }
    }

    // the group holding the science data: "Grid" for gridded products,
    // else the first group, else the root (netCDF-4 files)
    let root = f.root()?;
    let grid = match root.group("Grid") {
        Ok(g) => g,
        Err(_) => root
            .members()?
            .into_iter()
            .find_map(|(_, o)| match o {
                Object::Group(g) => Some(g),
                _ => None,
            })
            .unwrap_or(root),
    };
    let datasets: Vec<(String, Dataset)> = grid
        .members()?
        .into_iter()
        .filter_map(|(n, o)| match o {
            Object::Dataset(d) => Some((n, d)),
            _ => None,
        })
        .collect();
    println!(
        "\nlist(f['{}']): {:?}",
        grid.name(),
        datasets.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>()
    );

    println!("\nWhich datasets hold real values (>= {SENTINEL}), and how many:");
    for (name, d) in datasets.iter().filter(|(_, d)| numeric(d)) {
        let values = d.read_raw_vec::<f64>()?;
        let real = values.iter().filter(|&&v| v >= SENTINEL).count();
        println!(
            "  {name:<34} real data in {real} of {} positions  {:?} {}",
            values.len(),
            d.shape(),
            d.dtype().canonical()
        );
    }

    let rain = datasets
        .iter()
        .find(|(n, d)| n.to_lowercase().contains("precip") && d.ndim() >= 2)
        .or_else(|| datasets.iter().find(|(_, d)| d.ndim() >= 2 && numeric(d)));
    if let Some((name, rain)) = rain {
        println!(
            "\nrain = f['{}/{name}']: a lazy handle, nothing read yet: {rain:?}",
            grid.name()
        );
        println!("\nrain[:5, :10] (last two axes):");
        show(&corner(rain, 0..5, 0..10)?);
        println!(
            "\nrain[705:716, 400:411] (clipped to the shape {:?}):",
            rain.shape()
        );
        show(&corner(rain, 705..716, 400..411)?);
        let all = rain.read_dyn::<f64>()?;
        let drizzle = all.iter().filter(|&&v| 0.1 < v && v < 0.9).count();
        println!("\ndrizzle ((.1 < rain) & (rain < .9)).sum(): {drizzle}");
    }
    Ok(())
}
