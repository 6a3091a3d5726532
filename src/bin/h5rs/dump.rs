//! `h5rs dump FILE [PATH]`: objects, attributes and (abbreviated) values.

use std::collections::HashSet;

use h5rs::{Attribute, Dataset, File, Group, LinkTarget, Object, Value};

const SHOW: usize = 20;

fn show_value(v: &Value) -> String {
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
    let file = File::open(path)?;
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
