//! `h5rs ls [-r] [-a] FILE [PATH]`: members with kind, shape, type and
//! storage; with `-a` each object's attributes indented under it.

use std::collections::HashSet;

use h5rs::{Attribute, Dataset, Group, LinkTarget, Object};

use crate::dump::short_attr_value;

/// Prints attributes, one per line: `@name type shape = value`.
fn print_attrs(attrs: h5rs::Result<Vec<Attribute>>, indent: &str) {
    match attrs {
        Ok(attrs) => {
            for a in attrs {
                let shape = if a.is_null() {
                    "null".to_string()
                } else if a.shape().is_empty() {
                    "scalar".to_string()
                } else {
                    let d: Vec<String> = a.shape().iter().map(|n| n.to_string()).collect();
                    format!("{{{}}}", d.join(", "))
                };
                println!(
                    "{indent}@{} {} {shape} = {}",
                    a.name(),
                    a.dtype().canonical(),
                    short_attr_value(&a)
                );
            }
        }
        Err(e) => println!("{indent}<attributes: {e}>"),
    }
}

/// The listing options.
#[derive(Clone, Copy)]
struct Opts {
    recursive: bool,
    attrs: bool,
}

const ATTR_INDENT: &str = "    ";

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

fn list(g: &Group, prefix: &str, o: Opts, seen: &mut HashSet<u64>) -> h5rs::Result<()> {
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
                    if o.attrs {
                        print_attrs(child.attrs(), ATTR_INDENT);
                    }
                    if o.recursive {
                        list(&child, &format!("{name}/"), o, seen)?;
                    }
                }
                Ok(Object::Dataset(d)) => {
                    println!("{name:<30} {}", describe_dataset(&d));
                    if o.attrs {
                        print_attrs(d.attrs(), ATTR_INDENT);
                    }
                }
                Ok(Object::Datatype(t)) => {
                    println!(
                        "{name:<30} Type {}",
                        t.dtype()
                            .map(|d| d.canonical())
                            .unwrap_or_else(|e| e.to_string())
                    );
                    if o.attrs {
                        print_attrs(t.attrs(), ATTR_INDENT);
                    }
                }
                Err(e) => println!("{name:<30} error: {e}"),
            },
        }
    }
    Ok(())
}

/// Lists `obj` (default: the root group) of the file at `path`; with
/// `attrs`, a listed group's own attributes come first, under a line
/// naming it.
pub fn run(path: &str, obj: Option<&str>, recursive: bool, attrs: bool) -> h5rs::Result<()> {
    let file = crate::open(path)?;
    let o = Opts { recursive, attrs };
    let group = |g: &Group, name: &str| -> h5rs::Result<()> {
        if attrs {
            println!("{name:<30} Group");
            print_attrs(g.attrs(), ATTR_INDENT);
        }
        list(g, "", o, &mut HashSet::new())
    };
    match obj {
        None => group(&file.root()?, "/"),
        Some(p) => match file.object(p)? {
            Object::Group(g) => group(&g, p),
            Object::Dataset(d) => {
                println!("{:<30} {}", p, describe_dataset(&d));
                if attrs {
                    print_attrs(d.attrs(), ATTR_INDENT);
                }
                Ok(())
            }
            Object::Datatype(t) => {
                println!("{:<30} Type {}", p, t.dtype()?.canonical());
                if attrs {
                    print_attrs(t.attrs(), ATTR_INDENT);
                }
                Ok(())
            }
        },
    }
}
