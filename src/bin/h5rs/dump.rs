//! `h5rs dump FILE [PATH]`: objects, attributes and (abbreviated) values;
//! `h5rs dump FILE PATH --slice TEXT`: the values of a numpy-style slice.

use std::collections::HashSet;

use h5rs::{Attribute, Dataset, Datatype, Group, LinkTarget, Object, Value};
use ndarray::{ArrayD, SliceInfoElem};

const SHOW: usize = 20;

/// One value as text: numbers as Rust prints them (shortest round trip),
/// strings quoted.
pub fn show_value(v: &Value) -> String {
    match v {
        Value::Int(i) => i.to_string(),
        Value::UInt(u) => u.to_string(),
        Value::Float(f) => format!("{f}"),
        Value::Complex(r, i) => format!("{r}{i:+}j"),
        Value::FixedString(_) | Value::String(_) => format!("{:?}", v.as_str().unwrap_or_default()),
        Value::Opaque(b) => format!(
            "0x{}",
            b.iter().map(|x| format!("{x:02x}")).collect::<String>()
        ),
        Value::Compound(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, x)| format!("{k}: {}", show_value(x)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Array(xs) | Value::Sequence(xs) => format!(
            "[{}]",
            xs.iter().map(show_value).collect::<Vec<_>>().join(", ")
        ),
        Value::ObjectRef(a) | Value::RegionRef(a) => match a {
            Some(a) => format!("<ref {a:#x}>"),
            None => "<null ref>".into(),
        },
        Value::Reference(r) => {
            let mut s = match r.address() {
                Some(a) => format!("<ref {a:#x}"),
                None => "<ref ?".into(),
            };
            if let Some(f) = &r.external_file {
                s.push_str(&format!(" in {f:?}"));
            }
            if let Some(n) = &r.attribute {
                s.push_str(&format!(" attribute {n:?}"));
            }
            if r.selection.is_some() {
                s.push_str(" region");
            }
            s.push('>');
            s
        }
    }
}

fn show_values(values: &[Value], total: usize) -> String {
    let mut s: Vec<String> = values.iter().take(SHOW).map(show_value).collect();
    if total > SHOW {
        s.push(format!("... ({total} values)"));
    }
    format!("[{}]", s.join(", "))
}

fn dump_attrs(attrs: &[Attribute], indent: &str) {
    for a in attrs {
        let v = if a.is_null() {
            "(empty)".to_string()
        } else {
            match a.read_raw::<Value>() {
                Ok(v) if a.shape().is_empty() => v.first().map(show_value).unwrap_or_default(),
                Ok(v) => show_values(&v, v.len()),
                Err(e) => format!("<error: {e}>"),
            }
        };
        println!("{indent}@{} {} = {v}", a.name(), a.dtype().canonical());
    }
}

fn dump_dataset(d: &Dataset, indent: &str) {
    println!(
        "{indent}dataset {} shape {:?} {} {}",
        d.name(),
        d.shape(),
        d.dtype().canonical(),
        d.layout().name()
    );
    let values = if d.is_null() {
        "(empty)".to_string()
    } else {
        let n = d.size();
        let sel = if d.ndim() > 0 && n > SHOW {
            // read only the first rows
            let mut sel =
                h5rs::Selection::all(&d.shape().iter().map(|&x| x as u64).collect::<Vec<_>>());
            let row: usize = d.shape()[1..].iter().product::<usize>().max(1);
            sel.dims[0].count = (SHOW.div_ceil(row) as u64).min(sel.dims[0].count);
            sel
        } else {
            h5rs::Selection::all(&d.shape().iter().map(|&x| x as u64).collect::<Vec<_>>())
        };
        match d.read_selection_vec::<Value>(&sel) {
            Ok(v) => show_values(&v, n),
            Err(e) => format!("<error: {e}>"),
        }
    };
    println!("{indent}  data = {values}");
    match d.attrs() {
        Ok(a) => dump_attrs(&a, &format!("{indent}  ")),
        Err(e) => println!("{indent}  <attributes: {e}>"),
    }
}

fn dump_group(g: &Group, indent: &str, seen: &mut HashSet<u64>) -> h5rs::Result<()> {
    println!("{indent}group {}", g.name());
    if !seen.insert(g.addr()) {
        println!("{indent}  (already shown: a hard link back to it)");
        return Ok(());
    }
    dump_attrs(&g.attrs()?, &format!("{indent}  "));
    for link in g.links()? {
        let inner = format!("{indent}  ");
        match &link.target {
            LinkTarget::Hard(_) => match g.object(&link.name) {
                Ok(Object::Group(c)) => dump_group(&c, &inner, seen)?,
                Ok(Object::Dataset(d)) => dump_dataset(&d, &inner),
                Ok(Object::Datatype(t)) => println!(
                    "{inner}datatype {} {}",
                    link.name,
                    t.dtype().map(|d| d.canonical()).unwrap_or_default()
                ),
                Err(e) => println!("{inner}{}: <error: {e}>", link.name),
            },
            LinkTarget::Soft(t) => println!("{inner}softlink {} -> {t}", link.name),
            LinkTarget::External { file, path } => {
                println!("{inner}extlink {} -> {file}:{path}", link.name)
            }
            LinkTarget::UserDefined { class, .. } => {
                println!("{inner}udlink {} (class {class})", link.name)
            }
        }
    }
    Ok(())
}

pub fn run(path: &str, obj: Option<&str>) -> h5rs::Result<()> {
    let file = crate::open(path)?;
    match obj {
        None => dump_group(&file.root()?, "", &mut HashSet::new()),
        Some(p) => match file.object(p)? {
            Object::Group(g) => dump_group(&g, "", &mut HashSet::new()),
            Object::Dataset(d) => {
                dump_dataset(&d, "");
                Ok(())
            }
            Object::Datatype(t) => {
                println!("datatype {p} {}", t.dtype()?.canonical());
                Ok(())
            }
        },
    }
}

/// A short text of an attribute's value: strings and numbers shown
/// (`f32` values as `f32`), long strings and arrays cut (with the number
/// of values).
pub fn short_attr_value(a: &Attribute) -> String {
    const ITEMS: usize = 8;
    let single = matches!(a.dtype(), Datatype::Float { size: 4, .. });
    const CHARS: usize = 60;
    if a.is_null() {
        return "(empty)".into();
    }
    let cut = |s: String| -> String {
        if s.chars().count() > CHARS {
            let head: String = s.chars().take(CHARS).collect();
            format!("{head}...")
        } else {
            s
        }
    };
    let one = |v: &Value| -> String {
        match v {
            Value::FixedString(_) | Value::String(_) => {
                let t = v.as_str().unwrap_or_default();
                let q = format!("{t:?}");
                if q.chars().count() > CHARS {
                    let head: String = t.chars().take(CHARS).collect();
                    format!("{head:?}... ({} chars)", t.chars().count())
                } else {
                    q
                }
            }
            other => cut(cell(other, single)),
        }
    };
    match a.read_raw::<Value>() {
        Ok(v) if a.shape().is_empty() => v.first().map(one).unwrap_or_default(),
        Ok(v) => {
            let mut parts: Vec<String> = v.iter().take(ITEMS).map(one).collect();
            if v.len() > ITEMS {
                parts.push(format!("... ({} values)", v.len()));
            }
            format!("[{}]", parts.join(", "))
        }
        Err(e) => format!("<error: {e}>"),
    }
}

/// Parses numpy-style slice text: axes separated by commas, each
/// `start:stop`, `start:stop:step`, `:` or a single index (which drops its
/// axis); parts of a range may be left out; negative numbers count from
/// the end. Empty text selects everything.
pub fn parse_slice(text: &str) -> h5rs::Result<Vec<SliceInfoElem>> {
    let bad = |why: &str| h5rs::Error::usage(format!("bad slice {text:?}: {why}"));
    let t = text.trim();
    if t.is_empty() {
        return Ok(Vec::new());
    }
    let num = |s: &str, what: &str| -> h5rs::Result<Option<isize>> {
        let s = s.trim();
        if s.is_empty() {
            return Ok(None);
        }
        s.parse::<isize>()
            .map(Some)
            .map_err(|_| bad(&format!("{what} {s:?} is not an integer")))
    };
    let mut out = Vec::new();
    for (axis, part) in t.split(',').enumerate() {
        let fields: Vec<&str> = part.split(':').collect();
        let e = match fields.as_slice() {
            [i] => match num(i, "index")? {
                Some(i) => SliceInfoElem::Index(i),
                None => return Err(bad(&format!("axis {axis} is empty"))),
            },
            [a, b] => SliceInfoElem::Slice {
                start: num(a, "start")?.unwrap_or(0),
                end: num(b, "stop")?,
                step: 1,
            },
            [a, b, c] => {
                let step = num(c, "step")?.unwrap_or(1);
                if step <= 0 {
                    return Err(bad(&format!(
                        "step {step} on axis {axis}: only positive steps are supported"
                    )));
                }
                SliceInfoElem::Slice {
                    start: num(a, "start")?.unwrap_or(0),
                    end: num(b, "stop")?,
                    step,
                }
            }
            _ => return Err(bad(&format!("axis {axis} has more than two ':'"))),
        };
        out.push(e);
    }
    Ok(out)
}

/// Text of one selected value; `f32` data are printed as `f32` (their
/// shortest round trip) rather than widened.
fn cell(v: &Value, single: bool) -> String {
    match v {
        Value::Float(f) if single => format!("{}", *f as f32),
        other => show_value(other),
    }
}

/// Prints a 2-D array of texts as a table, right-aligned per column.
fn print_table(cells: &ndarray::ArrayView2<String>) {
    let cols = cells.ncols();
    let mut width = vec![0usize; cols];
    for row in cells.rows() {
        for (w, c) in width.iter_mut().zip(row.iter()) {
            *w = (*w).max(c.chars().count());
        }
    }
    for row in cells.rows() {
        let line: Vec<String> = row
            .iter()
            .zip(&width)
            .map(|(c, w)| format!("{c:>w$}"))
            .collect();
        println!("{}", line.join(" ").trim_end());
    }
}

fn print_array(a: &ArrayD<String>) {
    match a.ndim() {
        0 => println!("{}", a.iter().next().cloned().unwrap_or_default()),
        1 => println!("[{}]", a.iter().cloned().collect::<Vec<_>>().join(", ")),
        2 => {
            if let Ok(t) = a.view().into_dimensionality::<ndarray::Ix2>() {
                print_table(&t);
            }
        }
        n => {
            // one table per index of the leading axes, headed by its index
            let lead = &a.shape()[..n - 2];
            let total: usize = lead.iter().product();
            for k in 0..total {
                let mut idx = vec![0usize; lead.len()];
                let mut r = k;
                for (i, &m) in lead.iter().enumerate().rev() {
                    idx[i] = r % m;
                    r /= m;
                }
                let mut view = a.view();
                for &i in &idx {
                    view = view.index_axis_move(ndarray::Axis(0), i);
                }
                let head: Vec<String> = idx
                    .iter()
                    .map(|i| i.to_string())
                    .chain([":".to_string(), ":".to_string()])
                    .collect();
                if k > 0 {
                    println!();
                }
                println!("[{}]", head.join(", "));
                if let Ok(t) = view.into_dimensionality::<ndarray::Ix2>() {
                    print_table(&t);
                }
            }
        }
    }
}

/// `dump --slice`: reads the slice `text` of dataset `obj` and prints a
/// header line (dataset, slice, type, result shape) then the values: one
/// value for a single element, a list for 1-D, a table (a row per line)
/// for 2-D, and tables headed by their leading indices for more.
pub fn run_slice(path: &str, obj: Option<&str>, text: &str) -> h5rs::Result<()> {
    let elems = parse_slice(text)?;
    let obj = obj.ok_or_else(|| h5rs::Error::usage("--slice needs a dataset path"))?;
    let file = crate::open(path)?;
    let d = match file.object(obj)? {
        Object::Dataset(d) => d,
        _ => return Err(h5rs::Error::usage(format!("{obj} is not a dataset"))),
    };
    if d.is_null() {
        return Err(h5rs::Error::usage(format!(
            "{obj} has no data (null dataspace)"
        )));
    }
    if elems.len() > d.ndim() {
        return Err(h5rs::Error::usage(format!(
            "bad slice {text:?}: {} axes given, {obj} has {}",
            elems.len(),
            d.ndim()
        )));
    }
    let a = d.read_slice_dyn::<Value, _>(&elems)?;
    let single = matches!(d.dtype(), Datatype::Float { size: 4, .. });
    let shape: Vec<String> = a.shape().iter().map(|n| n.to_string()).collect();
    println!(
        "{obj}[{text}] {} shape {{{}}}",
        d.dtype().canonical(),
        shape.join(", ")
    );
    print_array(&a.map(|v| cell(v, single)));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::SliceInfoElem as E;

    #[test]
    fn slice_text() {
        let r = parse_slice("705:716, 400:411:2,-3,:,::3,-5:").unwrap();
        assert_eq!(
            r,
            vec![
                E::Slice {
                    start: 705,
                    end: Some(716),
                    step: 1
                },
                E::Slice {
                    start: 400,
                    end: Some(411),
                    step: 2
                },
                E::Index(-3),
                E::Slice {
                    start: 0,
                    end: None,
                    step: 1
                },
                E::Slice {
                    start: 0,
                    end: None,
                    step: 3
                },
                E::Slice {
                    start: -5,
                    end: None,
                    step: 1
                },
            ]
        );
        assert!(parse_slice("").unwrap().is_empty());
        for bad in ["a:b", "1:2:0", "1:2:-1", "1:2:3:4", "1,,2", "1.5"] {
            assert!(parse_slice(bad).is_err(), "{bad}");
        }
    }
}
