//! `h5rs canon FILE`: the canonical dump (CANON.md): every link, object,
//! attribute and a SHA-256 of every value, one JSON object per line.

use std::collections::HashMap;
use std::io::{BufWriter, Write};

use h5rs::{Attribute, Dataset, Datatype, File, Group, LinkTarget, Object, Value};
use sha2::{Digest, Sha256};

/// A JSON value built by hand (the dump needs only these shapes).
enum J {
    Null,
    Str(String),
    Num(u64),
    List(Vec<J>),
    Obj(Vec<(String, J)>),
}

fn esc(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

impl J {
    fn write(&self, out: &mut String) {
        match self {
            J::Null => out.push_str("null"),
            J::Str(s) => esc(s, out),
            J::Num(n) => out.push_str(&n.to_string()),
            J::List(v) => {
                out.push('[');
                for (i, x) in v.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    x.write(out);
                }
                out.push(']');
            }
            J::Obj(v) => {
                out.push('{');
                for (i, (k, x)) in v.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    esc(k, out);
                    out.push(':');
                    x.write(out);
                }
                out.push('}');
            }
        }
    }
}

fn s(v: &str) -> J {
    J::Str(v.to_string())
}

struct Walker {
    file: File,
    seen: HashMap<u64, String>,
    lines: Vec<J>,
    ref_paths: Option<HashMap<u64, String>>,
    /// Object paths of other files that references point into, by the
    /// name the references give (`None` when the file cannot be read).
    ext_paths: HashMap<String, Option<HashMap<u64, String>>>,
}

fn join(g: &str, name: &str) -> String {
    if g == "/" {
        format!("/{name}")
    } else {
        format!("{g}/{name}")
    }
}

pub fn run(path: &str) -> h5rs::Result<()> {
    let file = crate::open(path)?;
    let root = file.root()?;
    let mut w = Walker {
        file: file.clone(),
        seen: HashMap::from([(root.addr(), "/".to_string())]),
        lines: Vec::new(),
        ref_paths: None,
        ext_paths: HashMap::new(),
    };
    let attrs = w.attrs(&root.attrs()?)?;
    w.lines.push(J::Obj(vec![
        ("path".into(), s("/")),
        ("kind".into(), s("group")),
        ("attrs".into(), attrs),
    ]));
    w.visit("/", &root)?;
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut line = String::new();
    for j in &w.lines {
        line.clear();
        j.write(&mut line);
        line.push('\n');
        out.write_all(line.as_bytes())?;
    }
    out.flush()?;
    Ok(())
}

impl Walker {
    fn visit(&mut self, gpath: &str, g: &Group) -> h5rs::Result<()> {
        let mut links = g.links()?;
        links.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
        for link in links {
            let p = join(gpath, &link.name);
            match &link.target {
                LinkTarget::Soft(t) => self.lines.push(J::Obj(vec![
                    ("path".into(), s(&p)),
                    ("kind".into(), s("softlink")),
                    ("target".into(), s(t)),
                ])),
                LinkTarget::External { file, path } => self.lines.push(J::Obj(vec![
                    ("path".into(), s(&p)),
                    ("kind".into(), s("extlink")),
                    ("file".into(), s(file)),
                    ("target".into(), s(path)),
                ])),
                LinkTarget::UserDefined { class, .. } => self.lines.push(J::Obj(vec![
                    ("path".into(), s(&p)),
                    ("kind".into(), s("udlink")),
                    ("linktype".into(), J::Num(*class as u64)),
                ])),
                LinkTarget::Hard(addr) => {
                    if let Some(first) = self.seen.get(addr) {
                        self.lines.push(J::Obj(vec![
                            ("path".into(), s(&p)),
                            ("kind".into(), s("hardlink")),
                            ("target".into(), s(first)),
                        ]));
                        continue;
                    }
                    self.seen.insert(*addr, p.clone());
                    let obj = self.file.object_at_path(*addr, &p)?;
                    self.emit(&p, &obj)?;
                    if let Object::Group(child) = obj {
                        self.visit(&p, &child)?;
                    }
                }
            }
        }
        Ok(())
    }

    fn emit(&mut self, p: &str, obj: &Object) -> h5rs::Result<()> {
        match obj {
            Object::Group(g) => {
                let attrs = self.attrs(&g.attrs()?)?;
                self.lines.push(J::Obj(vec![
                    ("path".into(), s(p)),
                    ("kind".into(), s("group")),
                    ("attrs".into(), attrs),
                ]));
            }
            Object::Datatype(t) => {
                let attrs = self.attrs(&t.attrs()?)?;
                self.lines.push(J::Obj(vec![
                    ("path".into(), s(p)),
                    ("kind".into(), s("datatype")),
                    ("dtype".into(), s(&t.dtype()?.memory_layout().canonical())),
                    ("attrs".into(), attrs),
                ]));
            }
            Object::Dataset(d) => {
                let line = self.dataset(p, d)?;
                self.lines.push(line);
            }
        }
        Ok(())
    }

    fn dataset(&mut self, p: &str, d: &Dataset) -> h5rs::Result<J> {
        let mut rec = vec![
            ("path".into(), s(p)),
            ("kind".into(), s("dataset")),
            (
                "shape".into(),
                if d.is_null() {
                    J::Null
                } else {
                    J::List(d.shape().iter().map(|&n| J::Num(n as u64)).collect())
                },
            ),
            ("dtype".into(), s(&d.dtype().memory_layout().canonical())),
            ("layout".into(), s(d.layout().name())),
        ];
        if let Some(c) = d.chunks() {
            rec.push((
                "chunks".into(),
                J::List(c.iter().map(|&n| J::Num(n as u64)).collect()),
            ));
            rec.push((
                "filters".into(),
                J::List(d.filters().iter().map(|f| J::Num(f.id as u64)).collect()),
            ));
        }
        if !d.is_null() {
            rec.push((
                "maxshape".into(),
                J::List(
                    d.maxshape()
                        .iter()
                        .map(|m| m.map_or(J::Null, |v| J::Num(v as u64)))
                        .collect(),
                ),
            ));
        }
        let data = if d.is_null() {
            "null".to_string()
        } else if d.size() == 0 {
            hex(&Sha256::digest(b""))
        } else {
            let raw = d.read_raw()?;
            if flattens_sequences(d) {
                self.digest_flattened(d.dtype(), &raw)?
            } else {
                self.digest(d.dtype(), &raw)?
            }
        };
        rec.push(("data".into(), s(&data)));
        let attrs = self.attrs(&d.attrs()?)?;
        rec.push(("attrs".into(), attrs));
        Ok(J::Obj(rec))
    }

    fn attrs(&mut self, attrs: &[Attribute]) -> h5rs::Result<J> {
        let mut v: Vec<&Attribute> = attrs.iter().collect();
        v.sort_by(|a, b| a.name().as_bytes().cmp(b.name().as_bytes()));
        let mut out = Vec::new();
        for a in v {
            let (shape, data) = if a.is_null() {
                (J::Null, "null".to_string())
            } else {
                let shape = J::List(a.shape().iter().map(|&n| J::Num(n as u64)).collect());
                let data = match self.digest(a.dtype(), a.raw()) {
                    Ok(d) => d,
                    Err(e) => format!("error:{e}"),
                };
                (shape, data)
            };
            out.push((
                a.name().to_string(),
                J::Obj(vec![
                    ("shape".into(), shape),
                    ("dtype".into(), s(&a.dtype().memory_layout().canonical())),
                    ("data".into(), s(&data)),
                ]),
            ));
        }
        Ok(J::Obj(out))
    }

    fn digest(&mut self, dt: &Datatype, raw: &[u8]) -> h5rs::Result<String> {
        let mut h = Sha256::new();
        let es = dt.size().max(1);
        let mut buf = Vec::with_capacity(1 << 16);
        if let Some(fast) = fast_numeric(dt) {
            for e in raw.chunks_exact(es) {
                fast(e, &mut buf);
                if buf.len() >= 1 << 16 {
                    h.update(&buf);
                    buf.clear();
                }
            }
        } else {
            // one budget for the variable-length data of the whole dataset
            let limit = self.file.limits().max_vlen_bytes;
            let file = self.file.clone();
            h5rs::hl::value::with_vlen_budget(limit, || -> h5rs::Result<()> {
                for e in raw.chunks_exact(es) {
                    let v = h5rs::hl::value::decode_value(&file, dt, e)?;
                    self.encode(&v, &mut buf)?;
                    if buf.len() >= 1 << 16 {
                        h.update(&buf);
                        buf.clear();
                    }
                }
                Ok(())
            })?;
        }
        h.update(&buf);
        Ok(hex(&h.finalize()))
    }

    /// h5py hands a scalar variable-length dataset, or a dataset of arrays
    /// of sequences, to numpy as the sequences' items themselves; the
    /// reference dump then encodes each item as a one-element sequence.
    fn digest_flattened(&mut self, dt: &Datatype, raw: &[u8]) -> h5rs::Result<String> {
        let mut h = Sha256::new();
        let mut buf = Vec::new();
        let limit = self.file.limits().max_vlen_bytes;
        let file = self.file.clone();
        h5rs::hl::value::with_vlen_budget(limit, || -> h5rs::Result<()> {
            for e in raw.chunks_exact(dt.size().max(1)) {
                let v = h5rs::hl::value::decode_value(&file, dt, e)?;
                let seqs: Vec<&Value> = match &v {
                    Value::Sequence(_) => vec![&v],
                    Value::Array(xs) => xs.iter().collect(),
                    _ => vec![],
                };
                for sq in seqs {
                    if let Value::Sequence(items) = sq {
                        for it in items {
                            buf.extend(1u32.to_le_bytes());
                            self.encode(it, &mut buf)?;
                        }
                    }
                }
            }
            Ok(())
        })?;
        h.update(&buf);
        Ok(hex(&h.finalize()))
    }

    fn ref_path(&mut self, addr: u64) -> h5rs::Result<String> {
        if self.ref_paths.is_none() {
            self.ref_paths = Some(object_paths(&self.file)?);
        }
        Ok(self
            .ref_paths
            .as_ref()
            .and_then(|m| m.get(&addr).cloned())
            .unwrap_or_default())
    }

    /// The path of the object at `addr` in the file a reference names
    /// `name` (relative names resolve against this file's folder, as
    /// libhdf5 resolves them against the working directory); empty when
    /// that file cannot be read.
    fn external_ref_path(&mut self, name: &str, addr: u64) -> String {
        if !self.ext_paths.contains_key(name) {
            let path = match self.file.path().and_then(|p| p.parent()) {
                Some(dir) => dir.join(name),
                None => name.into(),
            };
            let paths = crate::open(&path).and_then(|f| object_paths(&f)).ok();
            self.ext_paths.insert(name.to_string(), paths);
        }
        self.ext_paths
            .get(name)
            .and_then(|m| m.as_ref())
            .and_then(|m| m.get(&addr).cloned())
            .unwrap_or_default()
    }

    fn encode(&mut self, v: &Value, out: &mut Vec<u8>) -> h5rs::Result<()> {
        match v {
            Value::Int(i) => out.extend(i.to_le_bytes()),
            Value::UInt(u) => out.extend(u.to_le_bytes()),
            Value::Float(f) => push_f64(*f, out),
            Value::Complex(re, im) => {
                push_f64(*re, out);
                push_f64(*im, out);
            }
            Value::FixedString(b) => {
                let end = b.iter().rposition(|&c| c != 0).map_or(0, |p| p + 1);
                out.extend((end as u32).to_le_bytes());
                out.extend(&b[..end]);
            }
            Value::String(b) => {
                out.extend((b.len() as u32).to_le_bytes());
                out.extend(b);
            }
            Value::Opaque(b) => out.extend(b),
            Value::Compound(m) => {
                for (_, x) in m {
                    self.encode(x, out)?;
                }
            }
            Value::Array(xs) => {
                for x in xs {
                    self.encode(x, out)?;
                }
            }
            Value::Sequence(xs) => {
                out.extend((xs.len() as u32).to_le_bytes());
                for x in xs {
                    self.encode(x, out)?;
                }
            }
            Value::ObjectRef(a) | Value::RegionRef(a) => {
                let p = match a {
                    Some(a) => self.ref_path(*a)?,
                    None => String::new(),
                };
                out.extend((p.len() as u32).to_le_bytes());
                out.extend(p.as_bytes());
            }
            Value::Reference(r) => {
                // the object named (for an attribute, the object holding it)
                let p = match (r.address(), &r.external_file) {
                    (None, _) => String::new(),
                    (Some(a), None) => self.ref_path(a)?,
                    (Some(a), Some(name)) => self.external_ref_path(name, a),
                };
                out.extend((p.len() as u32).to_le_bytes());
                out.extend(p.as_bytes());
            }
        }
        Ok(())
    }
}

/// The path of every object of `file` by header address (the first path
/// found, the root as `/`).
fn object_paths(file: &File) -> h5rs::Result<HashMap<u64, String>> {
    let mut m = HashMap::new();
    let root = file.root()?;
    m.insert(root.addr(), "/".to_string());
    root.visit_items(|p, o| {
        m.entry(o.addr()).or_insert_with(|| format!("/{p}"));
        None::<()>
    })?;
    Ok(m)
}

fn flattens_sequences(d: &Dataset) -> bool {
    match d.dtype() {
        Datatype::VarLen { .. } => d.is_scalar(),
        Datatype::Array { base, .. } => matches!(**base, Datatype::VarLen { .. }),
        _ => false,
    }
}

fn push_f64(f: f64, out: &mut Vec<u8>) {
    if f.is_nan() {
        out.extend([0, 0, 0, 0, 0, 0, 0xf8, 0x7f]);
    } else {
        out.extend(f.to_le_bytes());
    }
}

type Fast = fn(&[u8], &mut Vec<u8>);

/// Encoders for the common plain numeric types, skipping `Value`.
fn fast_numeric(dt: &Datatype) -> Option<Fast> {
    use h5rs::format::datatype::{ByteOrder as O, FloatLayout};
    match dt {
        Datatype::Float {
            size: 8,
            order,
            layout,
        } if *layout == FloatLayout::F64 => Some(match order {
            O::Little => |e, o| push_f64(f64::from_le_bytes(e.try_into().unwrap_or([0; 8])), o),
            O::Big => |e, o| push_f64(f64::from_be_bytes(e.try_into().unwrap_or([0; 8])), o),
        }),
        Datatype::Float {
            size: 4,
            order,
            layout,
        } if *layout == FloatLayout::F32 => Some(match order {
            O::Little => {
                |e, o| push_f64(f32::from_le_bytes(e.try_into().unwrap_or([0; 4])) as f64, o)
            }
            O::Big => |e, o| push_f64(f32::from_be_bytes(e.try_into().unwrap_or([0; 4])) as f64, o),
        }),
        Datatype::Integer {
            size,
            order,
            signed,
            bit_offset: 0,
            precision,
        } if *precision as u32 == size * 8 && *size <= 8 => Some(match (order, signed) {
            (O::Little, true) => |e, o| {
                let mut a = [0u8; 8];
                a[..e.len()].copy_from_slice(e);
                let sh = 64 - 8 * e.len() as u32;
                o.extend(((i64::from_le_bytes(a) << sh) >> sh).to_le_bytes())
            },
            (O::Little, false) => |e, o| {
                let mut a = [0u8; 8];
                a[..e.len()].copy_from_slice(e);
                o.extend(a)
            },
            (O::Big, true) => |e, o| {
                let mut a = [0u8; 8];
                a[8 - e.len()..].copy_from_slice(e);
                let sh = 64 - 8 * e.len() as u32;
                o.extend(((i64::from_be_bytes(a) << sh) >> sh).to_le_bytes())
            },
            (O::Big, false) => |e, o| {
                let mut a = [0u8; 8];
                a[8 - e.len()..].copy_from_slice(e);
                o.extend(u64::from_be_bytes(a).to_le_bytes())
            },
        }),
        _ => None,
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
