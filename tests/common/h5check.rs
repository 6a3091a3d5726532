//! Checking written files with the referees: h5py (libhdf5 2.0) through
//! the conformance dump `h5canon.py`, and Debian's `h5dump` (libhdf5 1.10).
//!
//! A test collects cases: a file h5rs wrote and the h5py code that makes
//! the same file with the same calls. [`Batch::run`] then starts one Python
//! process for all of them, which makes each reference file and dumps both
//! files with `h5canon.py`; the dumps must be equal (so libhdf5 reads the
//! intended values from the h5rs file), and `h5rs canon` on the h5rs file
//! must equal libhdf5's dump of it. Files in the earliest format must also
//! pass `h5dump`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// One written file and how h5py makes the same one.
pub struct Case {
    /// A name for messages.
    pub name: String,
    /// The file h5rs wrote.
    pub ours: PathBuf,
    /// Python statements that write the reference file at the path in the
    /// variable `p` (`h5py` and `numpy as np` are imported).
    pub h5py: String,
    /// Also run `h5dump` (libhdf5 1.10) on the file.
    pub h5dump: bool,
    /// Python assertions run on the h5rs file (path in `p`).
    pub check: String,
}

/// Cases checked together.
#[derive(Default)]
pub struct Batch {
    cases: Vec<Case>,
}

const DRIVER: &str = r#"
import importlib.util, json, os, sys, traceback
# as h5canon.py: external raw data files are found beside the HDF5 file
# (libhdf5 reads this when it starts, so before h5py is imported)
os.environ.setdefault("HDF5_EXTFILE_PREFIX", "${ORIGIN}")
import h5py
import numpy as np
spec = importlib.util.spec_from_file_location("h5canon", sys.argv[1])
h5canon = importlib.util.module_from_spec(spec)
spec.loader.exec_module(h5canon)
cases = json.load(open(sys.argv[2]))
out = []
for c in cases:
    r = {"name": c["name"]}
    try:
        r["ours"] = h5canon.walk(c["ours"])
    except Exception:
        r["ours_error"] = traceback.format_exc()
    try:
        p = c["ref"]
        exec(c["h5py"], {"h5py": h5py, "np": np, "p": p})
        r["ref"] = h5canon.walk(p)
    except Exception:
        r["ref_error"] = traceback.format_exc()
    try:
        exec(c["check"], {"h5py": h5py, "np": np, "p": c["ours"]})
    except Exception:
        r["check_error"] = traceback.format_exc()
    out.append(r)
json.dump(out, open(sys.argv[3], "w"))
"#;

fn canon_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance/h5canon.py")
}

impl Batch {
    /// Adds a case.
    pub fn add(&mut self, name: &str, ours: &Path, h5py: &str, h5dump: bool) {
        self.cases.push(Case {
            name: name.to_string(),
            ours: ours.to_path_buf(),
            h5py: h5py.to_string(),
            h5dump,
            check: String::new(),
        });
    }

    /// Adds Python assertions about the last case's h5rs file (its path in
    /// `p`), run by h5py.
    pub fn check(&mut self, python: &str) {
        if let Some(c) = self.cases.last_mut() {
            c.check.push_str(python);
            c.check.push('\n');
        }
    }

    /// Checks every case; panics listing every failure.
    pub fn run(&self, dir: &Path) {
        let script = canon_script();
        assert!(script.exists(), "{} is missing", script.display());
        let cases: Vec<serde_json::Value> = self
            .cases
            .iter()
            .enumerate()
            .map(|(i, c)| {
                serde_json::json!({
                    "name": c.name,
                    "ours": c.ours,
                    "ref": dir.join(format!("ref-{i}.h5")),
                    "h5py": c.h5py,
                    "check": c.check,
                })
            })
            .collect();
        let input = dir.join("cases.json");
        let output = dir.join("results.json");
        std::fs::write(&input, serde_json::to_vec(&cases).unwrap()).unwrap();
        let out = Command::new(super::python())
            .arg("-c")
            .arg(DRIVER)
            .arg(&script)
            .arg(&input)
            .arg(&output)
            .output()
            .expect("run python");
        assert!(
            out.status.success(),
            "python driver failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let results: Vec<serde_json::Value> =
            serde_json::from_slice(&std::fs::read(&output).unwrap()).unwrap();
        let mut failures = Vec::new();
        for (c, r) in self.cases.iter().zip(&results) {
            if let Some(e) = r.get("ours_error") {
                failures.push(format!("{}: h5py cannot dump the h5rs file:\n{e}", c.name));
                continue;
            }
            if let Some(e) = r.get("check_error") {
                failures.push(format!("{}: a check with h5py failed:\n{e}", c.name));
            }
            if let Some(e) = r.get("ref_error") {
                failures.push(format!("{}: the h5py reference failed:\n{e}", c.name));
                continue;
            }
            let ours = r["ours"].as_array().cloned().unwrap_or_default();
            let reference = r["ref"].as_array().cloned().unwrap_or_default();
            assert!(
                !ours.is_empty() || !reference.is_empty(),
                "{}: the dumps hold no objects",
                c.name
            );
            eprintln!("{}: {} objects", c.name, ours.len());
            if ours != reference {
                failures.push(format!(
                    "{}: libhdf5 reads the h5rs file differently from h5py's:\n{}",
                    c.name,
                    diff(&reference, &ours)
                ));
            }
            // h5rs canon on its own file equals libhdf5's dump of it
            let canon = Command::new(env!("CARGO_BIN_EXE_h5rs"))
                .arg("canon")
                .arg(&c.ours)
                .output()
                .expect("run h5rs canon");
            let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&canon.stdout)
                .lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect();
            if !canon.status.success() || lines != ours {
                failures.push(format!(
                    "{}: h5rs canon differs from libhdf5's dump:\n{}{}",
                    c.name,
                    String::from_utf8_lossy(&canon.stderr),
                    diff(&ours, &lines)
                ));
            }
            // the chunk index of every dataset is the kind libhdf5 picks
            let ref_path = dir.join(format!(
                "ref-{}.h5",
                self.cases
                    .iter()
                    .position(|x| std::ptr::eq(x, c))
                    .unwrap_or(0)
            ));
            match (index_kinds(&c.ours), index_kinds(&ref_path)) {
                (Ok(a), Ok(b)) if a != b => failures.push(format!(
                    "{}: chunk indexes differ from libhdf5's:\n  h5rs:   {a:?}\n  libhdf5: {b:?}",
                    c.name
                )),
                (Err(e), _) | (_, Err(e)) => {
                    failures.push(format!("{}: reading chunk indexes: {e}", c.name))
                }
                _ => {}
            }
            if c.h5dump {
                let d = Command::new("h5dump")
                    .arg(&c.ours)
                    .output()
                    .expect("h5dump (Debian's hdf5-tools) must be installed");
                if !d.status.success() {
                    failures.push(format!(
                        "{}: h5dump fails:\n{}",
                        c.name,
                        String::from_utf8_lossy(&d.stderr)
                    ));
                }
            }
        }
        assert!(
            failures.is_empty(),
            "{} of {} cases failed:\n\n{}",
            failures.len(),
            self.cases.len(),
            failures.join("\n\n")
        );
    }
}

/// The chunk index kind of every chunked dataset, by path.
fn index_kinds(path: &Path) -> h5rs::Result<Vec<(String, String)>> {
    let f = h5rs::File::open(path)?;
    let mut out = Vec::new();
    f.root()?.visit_items(|p, o| {
        if let h5rs::Object::Dataset(d) = o
            && let h5rs::format::layout::Layout::Chunked(cl) = d.layout_message()
        {
            let kind = format!("{:?}", cl.index);
            // the kind's name, without its parameters
            let name = kind.split([' ', '{', '(']).next().unwrap_or("").to_string();
            out.push((p.to_string(), name));
        }
        None::<()>
    })?;
    Ok(out)
}

/// The lines that differ between two dumps.
fn diff(a: &[serde_json::Value], b: &[serde_json::Value]) -> String {
    let mut s = String::new();
    for i in 0..a.len().max(b.len()) {
        let (x, y) = (a.get(i), b.get(i));
        if x != y {
            s.push_str(&format!(
                "  expected: {}\n  got:      {}\n",
                x.map_or("-".into(), |v| v.to_string()),
                y.map_or("-".into(), |v| v.to_string())
            ));
        }
    }
    s
}
