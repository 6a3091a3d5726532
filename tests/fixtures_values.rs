//! Every fixture file against its sidecar: for each object that
//! `fixtures/generate.py` recorded in `fixtures/expected/<file>.json`, the
//! object's kind, and for datasets the shape, maximum shape, datatype,
//! layout, chunk shape, filter ids, chunk index kind, fill value and every
//! value (or, for numeric arrays over 64 elements, the count, sum, minimum,
//! maximum, first and last element), and the same for every recorded
//! attribute. The expectations come only from the sidecar, never from h5rs.
//!
//! Values are read twice: as generic [`Value`]s (every datatype) and as the
//! natural Rust type where there is one (native numbers of the stored
//! width, `String`, `Vec<N>` for sequences of numbers), through
//! `read_dyn`/`read_scalar` so that the array shape is checked too.
//! Datasets are also read through `read_slice` (the last element by
//! indices, and a strided selection) and compared with the whole read.
//!
//! Comparisons are exact: integers, floats (the sidecar holds the exact
//! value of each element, NaN and the sign of zero included) and the stored
//! bytes of fixed-length strings. Summed floats are compared with a relative
//! tolerance (the sidecar sums left to right in C order as f64, as done here,
//! so the tolerance only covers a different summation order).
//!
//! A sidecar field this test does not know fails the test, so nothing is
//! skipped silently; entries that cannot be checked yet are listed in
//! [`NOT_CHECKABLE`] with the reason, and a listed entry that starts to pass
//! fails the test too, so the list stays current. A virtual dataset whose
//! mapped data the library cannot read yet must fail to read with an error
//! saying "virtual"; once it reads, its values are compared like any other.
//!
//! The sidecar's datatype text is libhdf5's description of the type in
//! memory (`H5Dget_type`): variable-length members take their in-memory
//! size there, so it is compared with `Datatype::memory_layout()`.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Display;
use std::path::{Path, PathBuf};

use h5rs::format::datatype::{ReferenceKind, StringPad};
use h5rs::format::layout::{ChunkIndexKind, Layout};
use h5rs::hl::value::decode_value;
use h5rs::{Attribute, Dataset, Datatype, File, H5Type, Object, Value};
use ndarray::SliceInfoElem;
use serde_json::Value as J;

/// Sidecar entries (file, object path, attribute name or `""` for the
/// object itself, sidecar field) that this test cannot check yet, and why.
/// Their checks still run: a failure is then reported as a note, and a
/// pass fails the test (the entry should leave the list). Empty: every
/// entry of every sidecar is checked. (Virtual datasets whose mapped data
/// cannot be read are not listed here: their read must fail with an error
/// that says "virtual", see `Checker::dataset`.)
const NOT_CHECKABLE: &[NotCheckable] = &[];

struct NotCheckable {
    file: &'static str,
    path: &'static str,
    attr: &'static str,
    field: &'static str,
    reason: &'static str,
}

/// Fields a dataset entry may have; anything else fails the test.
const DATASET_FIELDS: &[&str] = &[
    "kind",
    "shape",
    "maxshape",
    "dtype",
    "layout",
    "chunks",
    "filters",
    "chunk_index",
    "external",
    "fillvalue",
    "values",
    "summary",
    "attrs",
];

macro_rules! fixture_tests {
    ($($test:ident => $file:literal,)*) => {
        $(
            #[test]
            fn $test() {
                check_fixture($file);
            }
        )*

        /// Every fixture with a test function above.
        const FIXTURES: &[&str] = &[$($file),*];
    };
}

fixture_tests! {
    attrs_earliest => "attrs_earliest.h5",
    attrs_latest => "attrs_latest.h5",
    chunk_index_earliest => "chunk_index_earliest.h5",
    chunk_index_latest => "chunk_index_latest.h5",
    dtypes_earliest => "dtypes_earliest.h5",
    dtypes_latest => "dtypes_latest.h5",
    empty_earliest => "empty_earliest.h5",
    empty_latest => "empty_latest.h5",
    filters_earliest => "filters_earliest.h5",
    filters_latest => "filters_latest.h5",
    freespace_paged_latest => "freespace_paged_latest.h5",
    groups_earliest => "groups_earliest.h5",
    groups_latest => "groups_latest.h5",
    layouts_earliest => "layouts_earliest.h5",
    layouts_latest => "layouts_latest.h5",
    links_earliest => "links_earliest.h5",
    links_latest => "links_latest.h5",
    refs_earliest => "refs_earliest.h5",
    refs_latest => "refs_latest.h5",
    sizes4_earliest => "sizes4_earliest.h5",
    sizes4_latest => "sizes4_latest.h5",
    sohm_earliest => "sohm_earliest.h5",
    sohm_latest => "sohm_latest.h5",
    tutorial_earliest => "tutorial_earliest.h5",
    tutorial_latest => "tutorial_latest.h5",
    tutorial_v108 => "tutorial_v108.h5",
    userblock1024_latest => "userblock1024_latest.h5",
    userblock4096_earliest => "userblock4096_earliest.h5",
    userblock4096_latest => "userblock4096_latest.h5",
    userblock512_earliest => "userblock512_earliest.h5",
    vds_latest => "vds_latest.h5",
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// Every sidecar has a test function, and every listed entry names a
/// sidecar field that exists.
#[test]
fn every_sidecar_has_a_test() {
    let mut on_disk = BTreeSet::new();
    for e in std::fs::read_dir(fixtures_dir().join("expected")).expect("fixtures/expected") {
        let name = e.expect("directory entry").file_name();
        let name = name.to_string_lossy();
        if let Some(stem) = name.strip_suffix(".json") {
            on_disk.insert(stem.to_string());
        }
    }
    let listed: BTreeSet<String> = FIXTURES.iter().map(|s| s.to_string()).collect();
    assert_eq!(on_disk, listed, "sidecars and test functions differ");
    for n in NOT_CHECKABLE {
        let side = load_sidecar(n.file);
        let obj = &side["objects"][n.path];
        let entry = if n.attr.is_empty() {
            obj
        } else {
            &obj["attrs"][n.attr]
        };
        assert!(
            entry.get(n.field).is_some(),
            "NOT_CHECKABLE names {} {} {:?} {:?}, which the sidecar does not have",
            n.file,
            n.path,
            n.attr,
            n.field
        );
    }
}

fn load_sidecar(file: &str) -> J {
    let p = fixtures_dir().join("expected").join(format!("{file}.json"));
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

// --------------------------------------------------------------------------
// driver

fn check_fixture(file: &'static str) {
    let side = load_sidecar(file);
    assert_eq!(
        side["file"].as_str(),
        Some(file),
        "sidecar names another file"
    );
    let f = File::open(fixtures_dir().join(file))
        .unwrap_or_else(|e| panic!("{file}: cannot open: {e}"));
    let mut cx = Checker {
        file: &f,
        name: file,
        errors: Vec::new(),
        notes: Vec::new(),
        addrs: HashMap::new(),
        checked: 0,
    };
    let objects = side["objects"]
        .as_object()
        .unwrap_or_else(|| panic!("{file}: sidecar has no objects"));
    assert!(!objects.is_empty(), "{file}: sidecar lists no objects");
    for (path, entry) in objects {
        cx.object(path, entry);
    }
    for n in &cx.notes {
        eprintln!("{file}: {n}");
    }
    eprintln!("{file}: {} objects, {} checks", objects.len(), cx.checked);
    if !cx.errors.is_empty() {
        panic!(
            "{file}: {} problems:\n  {}",
            cx.errors.len(),
            cx.errors.join("\n  ")
        );
    }
}

struct Checker<'f> {
    file: &'f File,
    name: &'static str,
    errors: Vec<String>,
    notes: Vec<String>,
    /// Header address of each referenced path (`None`: no such object).
    addrs: HashMap<String, Option<u64>>,
    checked: usize,
}

/// One number, from the file or from the sidecar.
#[derive(Debug, Clone, Copy)]
enum Num {
    I(i128),
    F(f64),
}

impl Display for Num {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Num::I(v) => write!(f, "{v}"),
            Num::F(v) => write!(f, "{v:?}"),
        }
    }
}

fn same_num(a: Num, b: Num) -> bool {
    match (a, b) {
        (Num::I(x), Num::I(y)) => x == y,
        (Num::F(x), Num::F(y)) => {
            (x.is_nan() && y.is_nan()) || (x == y && x.is_sign_negative() == y.is_sign_negative())
        }
        _ => false,
    }
}

fn num_lt(a: Num, b: Num) -> bool {
    match (a, b) {
        (Num::I(x), Num::I(y)) => x < y,
        (Num::F(x), Num::F(y)) => x < y,
        (Num::I(x), Num::F(y)) => (x as f64) < y,
        (Num::F(x), Num::I(y)) => x < y as f64,
    }
}

fn json_num(j: &J) -> Option<Num> {
    if let Some(v) = j.as_i64() {
        return Some(Num::I(v as i128));
    }
    if let Some(v) = j.as_u64() {
        return Some(Num::I(v as i128));
    }
    if let Some(v) = j.as_f64() {
        return Some(Num::F(v));
    }
    match j.as_str()? {
        "nan" => Some(Num::F(f64::NAN)),
        "inf" => Some(Num::F(f64::INFINITY)),
        "-inf" => Some(Num::F(f64::NEG_INFINITY)),
        _ => None,
    }
}

fn value_num(v: &Value) -> Option<Num> {
    match v {
        Value::Int(i) => Some(Num::I(*i as i128)),
        Value::UInt(u) => Some(Num::I(*u as i128)),
        Value::Float(f) => Some(Num::F(*f)),
        _ => None,
    }
}

/// True for the classes the sidecar summarises (integer, float, enum,
/// bitfield).
fn is_numeric(dt: &Datatype) -> bool {
    matches!(
        dt,
        Datatype::Integer { .. }
            | Datatype::Float { .. }
            | Datatype::Enum { .. }
            | Datatype::Bitfield { .. }
    )
}

/// What the fixed-length string `stored` (the sidecar's text: the stored
/// bytes without trailing NULs) reads as through `String`.
fn padded_string(stored: &str, pad: StringPad) -> String {
    match pad {
        StringPad::NullTerm => stored.split('\0').next().unwrap_or("").to_string(),
        StringPad::NullPad => stored.trim_end_matches('\0').to_string(),
        StringPad::SpacePad => stored.trim_end_matches([' ', '\0']).to_string(),
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The elements of `j`, nested `shape.len()` levels deep, in C order.
fn flatten<'j>(j: &'j J, shape: &[usize], out: &mut Vec<&'j J>) -> Result<(), String> {
    let Some((&n, rest)) = shape.split_first() else {
        out.push(j);
        return Ok(());
    };
    let a = j
        .as_array()
        .ok_or_else(|| format!("sidecar values: expected a list of {n}, found {j}"))?;
    if a.len() != n {
        return Err(format!(
            "sidecar values: a list of {} where the shape says {n}",
            a.len()
        ));
    }
    for x in a {
        flatten(x, rest, out)?;
    }
    Ok(())
}

fn json_shape(j: &J) -> Option<Vec<usize>> {
    j.as_array()?
        .iter()
        .map(|d| d.as_u64().map(|d| d as usize))
        .collect()
}

/// A dataset or an attribute: what can be read from either.
trait Source {
    fn read_values(&self) -> h5rs::Result<Vec<Value>>;
    fn read_nd<T: H5Type + Clone>(&self) -> h5rs::Result<(Vec<usize>, Vec<T>)>;
    fn read_one<T: H5Type + Clone>(&self) -> h5rs::Result<T>;
}

impl Source for Dataset {
    fn read_values(&self) -> h5rs::Result<Vec<Value>> {
        self.read_raw_vec::<Value>()
    }
    fn read_nd<T: H5Type + Clone>(&self) -> h5rs::Result<(Vec<usize>, Vec<T>)> {
        let a = self.read_dyn::<T>()?;
        Ok((a.shape().to_vec(), a.iter().cloned().collect()))
    }
    fn read_one<T: H5Type + Clone>(&self) -> h5rs::Result<T> {
        self.read_scalar::<T>()
    }
}

impl Source for Attribute {
    fn read_values(&self) -> h5rs::Result<Vec<Value>> {
        self.read_raw::<Value>()
    }
    fn read_nd<T: H5Type + Clone>(&self) -> h5rs::Result<(Vec<usize>, Vec<T>)> {
        let a = self.read_dyn::<T>()?;
        Ok((a.shape().to_vec(), a.iter().cloned().collect()))
    }
    fn read_one<T: H5Type + Clone>(&self) -> h5rs::Result<T> {
        self.read_scalar::<T>()
    }
}

/// A native number type, for the typed reads.
trait Native: H5Type + Clone + Copy {
    fn num(self) -> Num;
}

macro_rules! native_int {
    ($($t:ty),*) => {$(
        impl Native for $t {
            fn num(self) -> Num {
                Num::I(self as i128)
            }
        }
    )*};
}
native_int!(i8, i16, i32, i64, u8, u16, u32, u64);

impl Native for f32 {
    fn num(self) -> Num {
        Num::F(self as f64)
    }
}

impl Native for f64 {
    fn num(self) -> Num {
        Num::F(self)
    }
}

/// The typed elements read back: numbers, strings or sequences of numbers.
enum Typed {
    Nums(Vec<Num>),
    Strings(Vec<String>),
    Seqs(Vec<Vec<Num>>),
}

impl Checker<'_> {
    fn fail(&mut self, at: &str, msg: impl Display) {
        self.errors.push(format!("{at}: {msg}"));
    }

    /// Compares two values with `==`, counting the check.
    fn eq<T: PartialEq + std::fmt::Debug>(&mut self, at: &str, what: &str, got: T, want: T) {
        self.checked += 1;
        if got != want {
            self.fail(at, format!("{what}: got {got:?}, sidecar says {want:?}"));
        }
    }

    fn listed(&self, path: &str, attr: &str, field: &str) -> Option<&'static NotCheckable> {
        NOT_CHECKABLE
            .iter()
            .find(|n| n.file == self.name && n.path == path && n.attr == attr && n.field == field)
    }

    /// Runs `check` for the sidecar field `field`; when the entry is listed
    /// as not checkable, its failures are expected and a pass is an error.
    fn guarded(&mut self, path: &str, attr: &str, field: &str, check: impl FnOnce(&mut Self)) {
        let before = self.errors.len();
        check(self);
        if let Some(n) = self.listed(path, attr, field) {
            let new: Vec<String> = self.errors.drain(before..).collect();
            if new.is_empty() {
                self.errors.push(format!(
                    "{path} {attr} {field}: listed as not checkable ({}) but passes: \
                     remove it from NOT_CHECKABLE",
                    n.reason
                ));
            } else {
                self.notes.push(format!(
                    "{path} {attr} {field}: not checkable yet ({}): {}",
                    n.reason,
                    new.join("; ")
                ));
            }
        }
    }

    /// The header address of the object at `path` (for references).
    fn addr_of(&mut self, path: &str) -> Option<u64> {
        if let Some(a) = self.addrs.get(path) {
            return *a;
        }
        let a = self.file.object(path).ok().map(|o| o.addr());
        self.addrs.insert(path.to_string(), a);
        a
    }

    // ---- objects

    fn object(&mut self, path: &str, e: &J) {
        let Some(kind) = e["kind"].as_str() else {
            self.fail(path, "sidecar entry has no kind");
            return;
        };
        for key in e.as_object().map(|m| m.keys()).into_iter().flatten() {
            let known = match kind {
                "dataset" => DATASET_FIELDS.contains(&key.as_str()),
                _ => key == "kind" || key == "attrs",
            };
            if !known {
                self.fail(
                    path,
                    format!("sidecar field {key:?} is not checked by this test"),
                );
            }
        }
        let obj = match self.file.object(path) {
            Ok(o) => o,
            Err(e) => {
                self.fail(path, format!("cannot open: {e}"));
                return;
            }
        };
        let got_kind = match &obj {
            Object::Group(_) => "group",
            Object::Dataset(_) => "dataset",
            Object::Datatype(_) => "datatype",
        };
        self.eq(path, "kind", got_kind, kind);
        match kind {
            "group" => {
                if let Err(err) = self.file.group(path) {
                    self.fail(path, format!("file.group: {err}"));
                }
            }
            "dataset" => match self.file.dataset(path) {
                Ok(ds) => self.dataset(path, &ds, e),
                Err(err) => self.fail(path, format!("file.dataset: {err}")),
            },
            "datatype" => {
                if let Object::Datatype(t) = &obj
                    && let Err(err) = t.dtype()
                {
                    self.fail(path, format!("committed datatype: {err}"));
                }
            }
            other => self.fail(path, format!("unknown kind {other:?} in the sidecar")),
        }
        if let Some(attrs) = e.get("attrs") {
            self.attributes(path, &obj, attrs);
        }
    }

    fn attributes(&mut self, path: &str, obj: &Object, attrs: &J) {
        let got = match obj.attrs() {
            Ok(a) => a,
            Err(e) => {
                self.fail(path, format!("attributes: {e}"));
                return;
            }
        };
        let Some(want) = attrs.as_object() else {
            self.fail(path, "sidecar attrs is not an object");
            return;
        };
        for (name, a) in want {
            let at = format!("{path} attr {name:?}");
            for key in a.as_object().map(|m| m.keys()).into_iter().flatten() {
                if !["shape", "dtype", "values", "summary"].contains(&key.as_str()) {
                    self.fail(
                        &at,
                        format!("sidecar field {key:?} is not checked by this test"),
                    );
                }
            }
            let Some(attr) = got.iter().find(|x| x.name() == name) else {
                self.fail(&at, "no such attribute");
                continue;
            };
            // the lookup by name of each kind of object, as users do it
            let by_name = match obj {
                Object::Group(g) => g.attr(name).map(|_| ()),
                Object::Dataset(d) => d.attr(name).map(|_| ()),
                Object::Datatype(_) => Ok(()),
            };
            if let Err(e) = by_name {
                self.fail(&at, format!(".attr(name): {e}"));
            }
            self.guarded(path, name, "dtype", |cx| {
                cx.eq(
                    &at,
                    "dtype",
                    attr.dtype().memory_layout().canonical(),
                    dtext(&a["dtype"]),
                )
            });
            self.guarded(path, name, "shape", |cx| match &a["shape"] {
                J::Null => cx.eq(&at, "null dataspace", attr.is_null(), true),
                s => {
                    cx.eq(&at, "null dataspace", attr.is_null(), false);
                    cx.eq(&at, "shape", Some(attr.shape()), json_shape(s));
                }
            });
            let field = if a.get("summary").is_some() {
                "summary"
            } else {
                "values"
            };
            self.guarded(path, name, field, |cx| {
                cx.contents(&at, attr, attr.dtype(), &a["shape"], a)
            });
        }
    }

    fn dataset(&mut self, path: &str, ds: &Dataset, e: &J) {
        let dt = ds.dtype().clone();
        self.guarded(path, "", "dtype", |cx| {
            cx.eq(
                path,
                "dtype",
                dt.memory_layout().canonical(),
                dtext(&e["dtype"]),
            )
        });
        self.guarded(path, "", "shape", |cx| match &e["shape"] {
            J::Null => {
                cx.eq(path, "null dataspace", ds.is_null(), true);
                cx.eq(path, "shape of a null dataspace", ds.shape(), vec![]);
            }
            s => {
                cx.eq(path, "null dataspace", ds.is_null(), false);
                cx.eq(path, "shape", Some(ds.shape()), json_shape(s));
                cx.eq(
                    path,
                    "scalar",
                    ds.is_scalar(),
                    s.as_array().is_some_and(|a| a.is_empty()),
                );
            }
        });
        if let Some(m) = e.get("maxshape") {
            self.guarded(path, "", "maxshape", |cx| {
                let want: Option<Vec<Option<usize>>> = m.as_array().and_then(|a| {
                    a.iter()
                        .map(|d| match d {
                            J::Null => Some(None),
                            d => d.as_u64().map(|d| Some(d as usize)),
                        })
                        .collect()
                });
                cx.eq(path, "maxshape", Some(ds.maxshape()), want);
            });
        }
        let layout = e["layout"].as_str().unwrap_or("?");
        self.guarded(path, "", "layout", |cx| {
            cx.eq(path, "layout", ds.layout().name(), layout)
        });
        match e.get("chunks") {
            Some(c) => self.guarded(path, "", "chunks", |cx| {
                cx.eq(path, "chunks", ds.chunks(), json_shape(c))
            }),
            None => self.eq(path, "chunks (not chunked)", ds.chunks(), None),
        }
        let filter_ids: Vec<u64> = ds.filters().iter().map(|f| f.id as u64).collect();
        match e.get("filters") {
            Some(fl) => self.guarded(path, "", "filters", |cx| {
                let want: Option<Vec<u64>> = fl
                    .as_array()
                    .and_then(|a| a.iter().map(|x| x.as_u64()).collect());
                cx.eq(path, "filter ids", Some(filter_ids), want)
            }),
            None => self.eq(path, "filter ids (not chunked)", filter_ids, vec![]),
        }
        if let Some(ci) = e.get("chunk_index") {
            self.guarded(path, "", "chunk_index", |cx| {
                let got = match ds.layout_message() {
                    Layout::Chunked(c) => match c.index {
                        ChunkIndexKind::BTreeV1 => "btree1",
                        ChunkIndexKind::Single { .. } => "single",
                        ChunkIndexKind::Implicit => "implicit",
                        ChunkIndexKind::FixedArray { .. } => "farray",
                        ChunkIndexKind::ExtensibleArray { .. } => "earray",
                        ChunkIndexKind::BTreeV2 { .. } => "btree2",
                    },
                    other => other.class_name(),
                };
                cx.eq(path, "chunk index", got, ci.as_str().unwrap_or("?"))
            });
        }
        if let Some(x) = e.get("external") {
            self.guarded(path, "", "external", |cx| cx.external(path, x));
        }
        if let Some(fv) = e.get("fillvalue") {
            self.guarded(path, "", "fillvalue", |cx| {
                cx.checked += 1;
                match &ds.fill_value().value {
                    None => cx.fail(path, format!("no fill value, sidecar says {fv}")),
                    Some(bytes) => match decode_value(cx.file, &dt, bytes) {
                        Ok(v) => cx.element(&format!("{path} fill value"), &dt, &v, fv),
                        Err(err) => cx.fail(path, format!("fill value: {err}")),
                    },
                }
            });
        }
        let field = if e.get("summary").is_some() {
            "summary"
        } else {
            "values"
        };
        if layout == "virtual" {
            // reading mapped data may not be implemented: then the read must
            // fail with an error that says so
            if let Err(err) = ds.read_raw() {
                self.checked += 1;
                let msg = err.to_string();
                if msg.to_lowercase().contains("virtual") {
                    self.notes.push(format!(
                        "{path}: virtual dataset values not read (\"{msg}\")"
                    ));
                } else {
                    self.fail(
                        path,
                        format!("reading a virtual dataset fails without saying why: {msg}"),
                    );
                }
                return;
            }
        }
        self.guarded(path, "", field, |cx| {
            cx.contents(path, ds, &dt, &e["shape"], e);
            cx.slices(path, ds);
        });
    }

    /// External raw data: the values (checked with the others) come from
    /// files beside the HDF5 file, so the HDF5 file copied alone to another
    /// folder cannot read them, and says why.
    fn external(&mut self, path: &str, flag: &J) {
        self.checked += 1;
        if flag != &J::Bool(true) {
            self.fail(path, format!("sidecar external: {flag}, expected true"));
            return;
        }
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("fixtures_values_external")
            .join(self.name);
        let _ = std::fs::remove_dir_all(&dir);
        let copy = dir.join(self.name);
        let made = std::fs::create_dir_all(&dir)
            .and_then(|_| std::fs::copy(fixtures_dir().join(self.name), &copy));
        if let Err(err) = made {
            self.fail(
                path,
                format!("cannot copy the file to {}: {err}", dir.display()),
            );
            return;
        }
        let read = File::open(&copy).and_then(|f| f.dataset(path)?.read_raw());
        match read {
            Ok(_) => self.fail(
                path,
                "read without its external raw data files (is the storage really external?)",
            ),
            Err(err) if err.to_string().contains("external") => {}
            Err(err) => self.fail(
                path,
                format!("read without its external files fails without saying why: {err}"),
            ),
        }
    }

    // ---- values

    /// The values (or summary) of a dataset or attribute.
    fn contents<S: Source>(&mut self, at: &str, src: &S, dt: &Datatype, shape: &J, e: &J) {
        if shape.is_null() {
            // a null dataspace: no values, reads fail
            self.eq(
                at,
                "values of a null dataspace",
                e.get("values"),
                Some(&J::Null),
            );
            self.checked += 1;
            if let Ok(v) = src.read_nd::<Value>() {
                self.fail(at, format!("a null dataspace read as {v:?}"));
            }
            return;
        }
        let Some(shape) = json_shape(shape) else {
            self.fail(at, format!("sidecar shape {shape} is not a list"));
            return;
        };
        let values = match src.read_values() {
            Ok(v) => v,
            Err(err) => {
                self.fail(at, format!("read as Value: {err}"));
                return;
            }
        };
        let count: usize = shape.iter().product();
        self.eq(at, "element count", values.len(), count);
        if values.len() != count {
            return;
        }
        let typed = self.typed(at, src, dt, &shape);
        if let Some(s) = e.get("summary") {
            let nums: Option<Vec<Num>> = values.iter().map(value_num).collect();
            match nums {
                Some(n) => self.summary(&format!("{at} (as Value)"), &n, s),
                None => self.fail(at, "summary of values that are not numbers"),
            }
            match typed {
                Some(Typed::Nums(n)) => self.summary(&format!("{at} (typed)"), &n, s),
                Some(_) => self.fail(at, "typed read of a summarised array is not numeric"),
                None => self.fail(at, "no typed read for a summarised array"),
            }
            return;
        }
        let Some(want) = e.get("values") else {
            self.fail(at, "sidecar has neither values nor summary");
            return;
        };
        let mut flat = Vec::new();
        if let Err(msg) = flatten(want, &shape, &mut flat) {
            self.fail(at, msg);
            return;
        }
        for (i, (g, w)) in values.iter().zip(&flat).enumerate() {
            self.element(&format!("{at}[{i}]"), dt, g, w);
        }
        match typed {
            Some(Typed::Nums(n)) => {
                for (i, (g, w)) in n.iter().zip(&flat).enumerate() {
                    self.number(&format!("{at}[{i}] (typed)"), *g, w);
                }
            }
            Some(Typed::Strings(s)) => {
                for (i, (g, w)) in s.iter().zip(&flat).enumerate() {
                    let want = match (dt, w.as_str()) {
                        (Datatype::String { pad, .. }, Some(w)) => padded_string(w, *pad),
                        (_, Some(w)) => w.to_string(),
                        _ => {
                            self.fail(at, format!("sidecar string {w} is not text"));
                            continue;
                        }
                    };
                    self.eq(&format!("{at}[{i}]"), "String", g.as_str(), want.as_str());
                }
            }
            Some(Typed::Seqs(s)) => {
                for (i, (g, w)) in s.iter().zip(&flat).enumerate() {
                    let at = format!("{at}[{i}] (typed sequence)");
                    let Some(w) = w.as_array() else {
                        self.fail(&at, format!("sidecar {w} is not a list"));
                        continue;
                    };
                    self.eq(&at, "length", g.len(), w.len());
                    for (k, (g, w)) in g.iter().zip(w).enumerate() {
                        self.number(&format!("{at}[{k}]"), *g, w);
                    }
                }
            }
            None => {}
        }
    }

    /// Reads through the natural Rust type of `dt`, when it has one, by
    /// `read_dyn` (shape checked) and for scalars also `read_scalar`.
    fn typed<S: Source>(
        &mut self,
        at: &str,
        src: &S,
        dt: &Datatype,
        shape: &[usize],
    ) -> Option<Typed> {
        fn nums<T: Native, S: Source>(
            src: &S,
            scalar: bool,
        ) -> h5rs::Result<(Vec<usize>, Vec<Num>)> {
            let (shape, v) = src.read_nd::<T>()?;
            let v: Vec<Num> = v.into_iter().map(Native::num).collect();
            if scalar {
                let one = src.read_one::<T>()?.num();
                if !v.first().is_some_and(|&x| same_num(x, one)) {
                    return Err(h5rs::Error::usage(format!(
                        "read_scalar gave {one}, read_dyn {v:?}"
                    )));
                }
            }
            Ok((shape, v))
        }
        fn int_of(size: u32, signed: bool) -> Option<u8> {
            Some(match (size, signed) {
                (1, true) => 0,
                (2, true) => 1,
                (4, true) => 2,
                (8, true) => 3,
                (1, false) => 4,
                (2, false) => 5,
                (4, false) => 6,
                (8, false) => 7,
                _ => return None,
            })
        }
        fn by_code<S: Source>(
            src: &S,
            code: u8,
            scalar: bool,
        ) -> h5rs::Result<(Vec<usize>, Vec<Num>)> {
            match code {
                0 => nums::<i8, S>(src, scalar),
                1 => nums::<i16, S>(src, scalar),
                2 => nums::<i32, S>(src, scalar),
                3 => nums::<i64, S>(src, scalar),
                4 => nums::<u8, S>(src, scalar),
                5 => nums::<u16, S>(src, scalar),
                6 => nums::<u32, S>(src, scalar),
                7 => nums::<u64, S>(src, scalar),
                8 => nums::<f32, S>(src, scalar),
                _ => nums::<f64, S>(src, scalar),
            }
        }
        let scalar = shape.is_empty();
        let code = |dt: &Datatype| -> Option<u8> {
            match dt {
                Datatype::Integer { size, signed, .. } => int_of(*size, *signed),
                Datatype::Bitfield { size, .. } => int_of(*size, false),
                Datatype::Enum { base, .. } => match &**base {
                    Datatype::Integer { size, signed, .. } => int_of(*size, *signed),
                    _ => None,
                },
                Datatype::Float { size: 4, .. } => Some(8),
                Datatype::Float { .. } => Some(9),
                _ => None,
            }
        };
        let at = format!("{at} (typed)");
        let got: h5rs::Result<(Vec<usize>, Typed)> = match dt {
            _ if is_numeric(dt) => {
                let Some(c) = code(dt) else {
                    self.fail(&at, format!("no native type for {}", dt.canonical()));
                    return None;
                };
                by_code(src, c, scalar).map(|(s, v)| (s, Typed::Nums(v)))
            }
            Datatype::String { .. } | Datatype::VarLenString { .. } => {
                src.read_nd::<String>().and_then(|(s, v)| {
                    if scalar {
                        let one = src.read_one::<String>()?;
                        if v.first() != Some(&one) {
                            return Err(h5rs::Error::usage(format!(
                                "read_scalar gave {one:?}, read_dyn {v:?}"
                            )));
                        }
                    }
                    Ok((s, Typed::Strings(v)))
                })
            }
            Datatype::VarLen { base, .. } if is_numeric(base) => {
                let seqs = |v: Vec<Vec<Num>>| Typed::Seqs(v);
                match &**base {
                    Datatype::Float { .. } => src.read_nd::<Vec<f64>>().map(|(s, v)| {
                        (
                            s,
                            seqs(
                                v.into_iter()
                                    .map(|x| x.into_iter().map(Num::F).collect())
                                    .collect(),
                            ),
                        )
                    }),
                    Datatype::Integer { signed: true, .. } => {
                        src.read_nd::<Vec<i64>>().map(|(s, v)| {
                            (
                                s,
                                seqs(
                                    v.into_iter()
                                        .map(|x| x.into_iter().map(|y| Num::I(y as i128)).collect())
                                        .collect(),
                                ),
                            )
                        })
                    }
                    _ => src.read_nd::<Vec<u64>>().map(|(s, v)| {
                        (
                            s,
                            seqs(
                                v.into_iter()
                                    .map(|x| x.into_iter().map(|y| Num::I(y as i128)).collect())
                                    .collect(),
                            ),
                        )
                    }),
                }
            }
            _ => return None,
        };
        self.checked += 1;
        match got {
            Ok((s, t)) => {
                self.eq(&at, "shape of read_dyn", s.as_slice(), shape);
                Some(t)
            }
            Err(err) => {
                self.fail(&at, err);
                None
            }
        }
    }

    fn number(&mut self, at: &str, got: Num, want: &J) {
        self.checked += 1;
        match json_num(want) {
            Some(w) if same_num(got, w) => {}
            Some(w) => self.fail(at, format!("got {got}, sidecar says {w}")),
            None => self.fail(at, format!("sidecar value {want} is not a number")),
        }
    }

    fn summary(&mut self, at: &str, nums: &[Num], s: &J) {
        self.eq(
            at,
            "summary count",
            Some(nums.len() as u64),
            s["count"].as_u64(),
        );
        let (Some(&first), Some(&last)) = (nums.first(), nums.last()) else {
            return;
        };
        self.number(&format!("{at} first"), first, &s["first"]);
        self.number(&format!("{at} last"), last, &s["last"]);
        let mut min = first;
        let mut max = first;
        for &x in nums {
            if num_lt(x, min) {
                min = x;
            }
            if num_lt(max, x) {
                max = x;
            }
        }
        self.number(&format!("{at} min"), min, &s["min"]);
        self.number(&format!("{at} max"), max, &s["max"]);
        self.checked += 1;
        match (
            nums.iter().all(|n| matches!(n, Num::I(_))),
            json_num(&s["sum"]),
        ) {
            (true, Some(Num::I(want))) => {
                let got: i128 = nums
                    .iter()
                    .map(|n| match n {
                        Num::I(v) => *v,
                        Num::F(_) => 0,
                    })
                    .sum();
                if got != want {
                    self.fail(at, format!("sum {got}, sidecar says {want}"));
                }
            }
            (false, Some(Num::F(want))) => {
                let mut got = 0.0f64;
                for n in nums {
                    got += match n {
                        Num::F(v) => *v,
                        Num::I(v) => *v as f64,
                    };
                }
                let tol = 1e-12 * want.abs().max(1.0);
                if (got - want).abs() > tol {
                    self.fail(at, format!("sum {got:?}, sidecar says {want:?}"));
                }
            }
            (_, w) => self.fail(at, format!("sum of mismatched kinds: sidecar {w:?}")),
        }
    }

    /// One element read as a [`Value`] against its sidecar encoding.
    fn element(&mut self, at: &str, dt: &Datatype, got: &Value, want: &J) {
        self.checked += 1;
        match dt {
            Datatype::Integer { .. }
            | Datatype::Float { .. }
            | Datatype::Enum { .. }
            | Datatype::Bitfield { .. } => match value_num(got) {
                Some(n) => self.number(at, n, want),
                None => self.fail(at, format!("{got:?} is not a number")),
            },
            Datatype::Time { .. } | Datatype::Opaque { .. } => match got {
                Value::Opaque(b) => self.eq(
                    at,
                    "opaque bytes",
                    Some(hex(b)),
                    want.as_str().map(String::from),
                ),
                other => self.fail(at, format!("{other:?} is not opaque")),
            },
            Datatype::String { .. } => match got {
                Value::FixedString(b) => {
                    let end = b.iter().rposition(|&c| c != 0).map_or(0, |p| p + 1);
                    let got = String::from_utf8_lossy(&b[..end]);
                    self.eq(at, "stored string bytes", Some(got.as_ref()), want.as_str());
                }
                other => self.fail(at, format!("{other:?} is not a fixed-length string")),
            },
            Datatype::VarLenString { .. } => match got {
                Value::String(b) => {
                    let got = String::from_utf8_lossy(b);
                    self.eq(at, "string", Some(got.as_ref()), want.as_str());
                }
                other => self.fail(at, format!("{other:?} is not a string")),
            },
            Datatype::Compound { members, .. } => {
                let (Value::Compound(fields), Some(w)) = (got, want.as_object()) else {
                    self.fail(at, format!("compound: got {got:?}, sidecar says {want}"));
                    return;
                };
                let names: Vec<&str> = fields.iter().map(|(n, _)| n.as_str()).collect();
                let want_names: BTreeSet<&str> = w.keys().map(String::as_str).collect();
                self.eq(
                    at,
                    "member names",
                    names.iter().copied().collect::<BTreeSet<_>>(),
                    want_names,
                );
                for m in members {
                    let g = fields.iter().find(|(n, _)| *n == m.name).map(|(_, v)| v);
                    match (g, w.get(&m.name)) {
                        (Some(g), Some(wv)) => {
                            self.element(&format!("{at}.{}", m.name), &m.dtype, g, wv)
                        }
                        _ => self.fail(at, format!("member {:?} missing", m.name)),
                    }
                }
            }
            Datatype::Array { dims, base } => {
                let Value::Array(items) = got else {
                    self.fail(at, format!("{got:?} is not an array"));
                    return;
                };
                let dims: Vec<usize> = dims.iter().map(|&d| d as usize).collect();
                let mut flat = Vec::new();
                if let Err(msg) = flatten(want, &dims, &mut flat) {
                    self.fail(at, msg);
                    return;
                }
                self.eq(at, "array element count", items.len(), flat.len());
                for (i, (g, w)) in items.iter().zip(flat).enumerate() {
                    self.element(&format!("{at}[{i}]"), base, g, w);
                }
            }
            Datatype::VarLen { base, .. } => {
                let (Value::Sequence(items), Some(w)) = (got, want.as_array()) else {
                    self.fail(at, format!("sequence: got {got:?}, sidecar says {want}"));
                    return;
                };
                self.eq(at, "sequence length", items.len(), w.len());
                for (i, (g, w)) in items.iter().zip(w).enumerate() {
                    self.element(&format!("{at}[{i}]"), base, g, w);
                }
            }
            Datatype::Reference { kind, .. } => {
                let Some(target) = want.as_str() else {
                    self.fail(at, format!("sidecar reference {want} is not a path"));
                    return;
                };
                let expect = if target.is_empty() {
                    None
                } else {
                    match self.addr_of(target) {
                        Some(a) => Some(a),
                        None => {
                            self.fail(at, format!("referenced {target:?} does not open"));
                            return;
                        }
                    }
                };
                let got_addr = match (kind, got) {
                    (ReferenceKind::Object, Value::ObjectRef(a)) => *a,
                    (ReferenceKind::Region, Value::RegionRef(a)) => *a,
                    (_, other) => {
                        self.fail(at, format!("{other:?} is not a reference of kind {kind:?}"));
                        return;
                    }
                };
                self.eq(at, &format!("reference (to {target:?})"), got_addr, expect);
            }
            Datatype::Complex { .. } => {
                let (Value::Complex(re, im), Some([wr, wi])) =
                    (got, want.as_array().map(Vec::as_slice))
                else {
                    self.fail(at, format!("complex: got {got:?}, sidecar says {want}"));
                    return;
                };
                self.number(&format!("{at}.re"), Num::F(*re), wr);
                self.number(&format!("{at}.im"), Num::F(*im), wi);
            }
        }
    }

    /// `read_slice` against the whole read: the last element by indices,
    /// and every second element from the second on along each axis.
    fn slices(&mut self, at: &str, ds: &Dataset) {
        let shape = ds.shape();
        if ds.is_null() || shape.is_empty() || shape.contains(&0) {
            return;
        }
        let Ok(all) = ds.read_raw_vec::<Value>() else {
            return; // already reported
        };
        let index = |pos: &[usize]| -> usize {
            pos.iter().zip(&shape).fold(0, |acc, (&p, &d)| acc * d + p)
        };
        self.checked += 1;
        let last: Vec<SliceInfoElem> = shape
            .iter()
            .map(|&d| SliceInfoElem::Index(d as isize - 1))
            .collect();
        match ds.read_slice_dyn::<Value, _>(last) {
            Ok(a) => {
                let want = &all[index(&shape.iter().map(|d| d - 1).collect::<Vec<_>>())];
                self.eq(
                    at,
                    "read_slice shape (last element)",
                    a.shape().to_vec(),
                    vec![],
                );
                self.eq(at, "read_slice (last element)", a.iter().next(), Some(want));
            }
            Err(e) => self.fail(at, format!("read_slice (last element): {e}")),
        }
        self.checked += 1;
        let starts: Vec<usize> = shape.iter().map(|&d| 1.min(d - 1)).collect();
        let strided: Vec<SliceInfoElem> = starts
            .iter()
            .map(|&s| SliceInfoElem::Slice {
                start: s as isize,
                end: None,
                step: 2,
            })
            .collect();
        match ds.read_slice_dyn::<Value, _>(strided) {
            Ok(a) => {
                let want_shape: Vec<usize> = shape
                    .iter()
                    .zip(&starts)
                    .map(|(&d, &s)| (d - s).div_ceil(2))
                    .collect();
                self.eq(
                    at,
                    "read_slice shape (strided)",
                    a.shape().to_vec(),
                    want_shape.clone(),
                );
                if a.shape() == want_shape.as_slice() {
                    for (pos, g) in a.indexed_iter() {
                        let src: Vec<usize> =
                            (0..shape.len()).map(|k| starts[k] + 2 * pos[k]).collect();
                        let w = &all[index(&src)];
                        if g != w {
                            self.fail(
                                at,
                                format!(
                                    "read_slice (strided) at {src:?}: got {g:?}, whole read {w:?}"
                                ),
                            );
                            break;
                        }
                    }
                }
            }
            Err(e) => self.fail(at, format!("read_slice (strided): {e}")),
        }
    }
}

fn dtext(j: &J) -> String {
    j.as_str()
        .unwrap_or("<no dtype in the sidecar>")
        .to_string()
}
