//! `h5rs ls [-r] FILE [PATH]`: members with kind, shape, type and storage.

use std::collections::HashSet;

use h5rs::{Dataset, File, Group, LinkTarget, Object};

fn describe_dataset(d: &Dataset) -> String {
    let shape = if d.is_null() {
        "null".to_string()
    } else if d.is_scalar() {
        "scalar".to_string()
    } else {
        let dims: Vec<String> = d
            .shape()
            .iter()
            .zip(d.maxshape())
            .map(|(n, m)| match m {
                Some(m) if m == *n => n.to_string(),
                Some(m) => format!("{n}/{m}"),
                None => format!("{n}/Inf"),
            })
            .collect();
        format!("{{{}}}", dims.join(", "))
    };
    let mut s = format!(
        "Dataset {shape} {} {}",
        d.dtype().canonical(),
        d.layout().name()
    );
    if let Some(c) = d.chunks() {
        let c: Vec<String> = c.iter().map(|x| x.to_string()).collect();
        s.push_str(&format!(" chunks={{{}}}", c.join(", ")));
    }
    if !d.filters().is_empty() {
        let f: Vec<String> = d
            .filters()
            .iter()
            .map(|f| match f.id {
                1 => format!("deflate({})", f.params.first().copied().unwrap_or(0)),
                2 => "shuffle".into(),
                3 => "fletcher32".into(),
                4 => "szip".into(),
                5 => "nbit".into(),
                6 => "scaleoffset".into(),
                32000 => "lzf".into(),
                id => format!("filter{id}"),
            })
            .collect();
        s.push_str(&format!(" filters={}", f.join(",")));
    }
    s
}

fn list(g: &Group, prefix: &str, recursive: bool, seen: &mut HashSet<u64>) -> h5rs::Result<()> {
    if !seen.insert(g.addr()) {
        return Ok(());
    }
    for link in g.links()? {
        let name = format!("{prefix}{}", link.name);
        match &link.target {
            LinkTarget::Soft(t) => println!("{name:<30} Soft Link {{{t}}}"),
            LinkTarget::External { file, path } => {
                println!("{name:<30} External Link {{{file}/{path}}}")
            }
            LinkTarget::UserDefined { class, .. } => {
                println!("{name:<30} User-defined Link (class {class})")
            }
            LinkTarget::Hard(addr) => match g.file().object_at_path(*addr, &format!("/{name}")) {
                Ok(Object::Group(child)) => {
                    println!("{name:<30} Group");
                    if recursive {
                        list(&child, &format!("{name}/"), true, seen)?;
                    }
                }
                Ok(Object::Dataset(d)) => println!("{name:<30} {}", describe_dataset(&d)),
                Ok(Object::Datatype(t)) => println!(
                    "{name:<30} Type {}",
                    t.dtype()
                        .map(|d| d.canonical())
                        .unwrap_or_else(|e| e.to_string())
                ),
                Err(e) => println!("{name:<30} error: {e}"),
            },
        }
    }
    Ok(())
}

pub fn run(path: &str, obj: Option<&str>, recursive: bool) -> h5rs::Result<()> {
    let file = File::open(path)?;
    match obj {
        None => list(&file.root()?, "", recursive, &mut HashSet::new()),
        Some(p) => match file.object(p)? {
            Object::Group(g) => list(&g, "", recursive, &mut HashSet::new()),
            Object::Dataset(d) => {
                println!("{:<30} {}", p, describe_dataset(&d));
                Ok(())
            }
            Object::Datatype(t) => {
                println!("{:<30} Type {}", p, t.dtype()?.canonical());
                Ok(())
            }
        },
    }
}
