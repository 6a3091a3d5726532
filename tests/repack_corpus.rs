//! `h5rs repack` over the shared corpus: every file h5rs reads (the
//! conformance pass list) is copied into both formats, and libhdf5's
//! canonical dump of each copy (one Python process for all) must equal
//! libhdf5's reference dump of the original.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use h5rs::{File, Format, LayoutClass, Object};

fn shared() -> PathBuf {
    std::env::var_os("H5RS_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"))
}

/// True when the file holds a virtual dataset.
fn has_virtual(f: &File) -> bool {
    let Ok(root) = f.root() else { return false };
    let mut found = false;
    let _ = root.visit_items(|_, o| {
        if let Object::Dataset(d) = o
            && d.layout() == LayoutClass::Virtual
        {
            found = true;
            return Some(());
        }
        None
    });
    found
}

const DRIVER: &str = r#"
import importlib.util, json, os, sys
os.environ.setdefault("HDF5_EXTFILE_PREFIX", "${ORIGIN}")
# the copies of virtual datasets name their source files as the originals
# do, relative to the originals' folder
if len(sys.argv) > 4:
    os.environ["HDF5_VDS_PREFIX"] = sys.argv[4]
spec = importlib.util.spec_from_file_location("h5canon", sys.argv[1])
h5canon = importlib.util.module_from_spec(spec)
spec.loader.exec_module(h5canon)
out = {}
for p in json.load(open(sys.argv[2])):
    try:
        out[p] = h5canon.walk(p)
    except Exception as e:
        out[p] = "error: %r" % (e,)
json.dump(out, open(sys.argv[3], "w"))
"#;

/// libhdf5's dumps of `paths` (one Python process), by path; virtual
/// datasets find their sources under `vds_prefix`.
fn dump_all(dir: &Path, paths: &[PathBuf], vds_prefix: Option<PathBuf>) -> serde_json::Value {
    let input = dir.join("files.json");
    let output = dir.join("dumps.json");
    let list: Vec<String> = paths
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    std::fs::write(&input, serde_json::to_vec(&list).unwrap()).unwrap();
    let st = Command::new(common::python())
        .arg("-c")
        .arg(DRIVER)
        .arg(shared().join("conformance/h5canon.py"))
        .arg(&input)
        .arg(&output)
        .args(vds_prefix)
        .status()
        .unwrap();
    assert!(st.success(), "the dump driver failed");
    serde_json::from_slice(&std::fs::read(&output).unwrap()).unwrap()
}

/// The lines of a reference dump.
fn reference_lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// The corpus files h5rs reads (the conformance pass list, without the
/// corrupt ones), relative to the corpus folder.
fn readable_files() -> Vec<String> {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance-pass.txt"),
    )
    .unwrap()
    .lines()
    .map(str::trim)
    .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with("_bad/"))
    .map(str::to_string)
    .collect()
}

#[test]
fn repacked_corpus_files_dump_as_the_originals() {
    let corpus = shared().join("corpus");
    let dir = common::scratch("repack_corpus");
    let mut copies: Vec<(String, PathBuf, PathBuf)> = Vec::new();
    let mut failures = Vec::new();
    let mut skipped = 0;
    let mut vds = false;
    for (i, rel) in readable_files().iter().enumerate() {
        let reference = corpus.join("_canon").join(format!("{rel}.canon.jsonl"));
        if !reference.exists() {
            skipped += 1;
            continue;
        }
        let src = match File::open(corpus.join(rel)) {
            Ok(f) => f,
            Err(e) => {
                failures.push(format!("{rel}: open: {e}"));
                continue;
            }
        };
        vds |= has_virtual(&src);
        for (tag, format) in [("e", Format::Earliest), ("l", Format::Latest)] {
            let out = dir.join(format!("{i}{tag}.h5"));
            let r = File::builder().format(format).create(&out).and_then(|dst| {
                dst.copy_from(&src)
                    .and_then(|rep| dst.close().map(|()| rep))
            });
            match r {
                Ok(report) if report.notes.is_empty() => {
                    copies.push((format!("{rel} ({format:?})"), out, reference.clone()))
                }
                Ok(report) => failures.push(format!("{rel} ({format:?}): {:?}", report.notes)),
                Err(e) => failures.push(format!("{rel} ({format:?}): {e}")),
            }
        }
    }
    let paths: Vec<PathBuf> = copies.iter().map(|c| c.1.clone()).collect();
    let dumps = dump_all(&dir, &paths, vds.then(|| corpus.join("hdf5-testfiles")));
    let mut passed = 0;
    for (name, path, reference) in &copies {
        let expected = reference_lines(reference);
        let got = &dumps[path.to_string_lossy().as_ref()];
        if got.as_array() == Some(&expected) {
            passed += 1;
        } else {
            let diff: Vec<String> = expected
                .iter()
                .zip(got.as_array().into_iter().flatten())
                .filter(|(a, b)| a != b)
                .take(2)
                .map(|(a, b)| format!("\n    expected {a}\n    got      {b}"))
                .collect();
            failures.push(format!(
                "{name}: the copy dumps differently{}{}",
                diff.join(""),
                if got.is_string() {
                    format!(" {got}")
                } else {
                    String::new()
                }
            ));
        }
    }
    eprintln!(
        "repack over the corpus: {passed} copies dump as their originals, {} differ or fail, {skipped} files skipped (no reference dump)",
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every corpus file h5rs reads, opened for writing with an attribute added
/// to its root group and a new group added: libhdf5 dumps the result as
/// the original plus those two (copies of the files are changed, in both
/// cases through the loader of existing objects).
#[test]
fn corpus_files_changed_in_place_dump_as_the_originals_plus_the_change() {
    let corpus = shared().join("corpus");
    let dir = common::scratch("touch_corpus");
    let mut touched: Vec<(String, PathBuf, PathBuf)> = Vec::new();
    let mut failures = Vec::new();
    for (i, rel) in readable_files().iter().enumerate() {
        let reference = corpus.join("_canon").join(format!("{rel}.canon.jsonl"));
        if !reference.exists() {
            continue;
        }
        let src = corpus.join(rel);
        // external raw data and virtual sources are found beside the file
        let out_dir = dir.join(format!("{i}"));
        std::fs::create_dir_all(&out_dir).unwrap();
        let name = src.file_name().unwrap();
        let out = out_dir.join(name);
        std::fs::copy(&src, &out).unwrap();
        if let Some(parent) = src.parent() {
            for e in std::fs::read_dir(parent).unwrap().flatten() {
                let n = e.file_name().to_string_lossy().to_string();
                let stem = name.to_string_lossy().trim_end_matches(".h5").to_string();
                if n != name.to_string_lossy() && n.starts_with(&stem) && !n.ends_with(".h5") {
                    let _ = std::fs::copy(e.path(), out_dir.join(&n));
                }
            }
        }
        let r = File::open_rw(&out).and_then(|f| {
            f.write_attr("h5rs_touched", &1i32)?;
            f.create_group("h5rs_new")?;
            f.close()
        });
        match r {
            Ok(()) => touched.push((rel.to_string(), out, reference)),
            Err(e) => failures.push(format!("{rel}: {e}")),
        }
    }
    let paths: Vec<PathBuf> = touched.iter().map(|c| c.1.clone()).collect();
    let dumps = dump_all(&dir, &paths, Some(corpus.join("hdf5-testfiles")));
    let mut passed = 0;
    for (name, path, reference) in &touched {
        let mut expected = reference_lines(reference);
        let Some(got) = dumps[path.to_string_lossy().as_ref()].as_array().cloned() else {
            failures.push(format!(
                "{name}: libhdf5 cannot dump it: {}",
                dumps[path.to_string_lossy().as_ref()]
            ));
            continue;
        };
        // the change: the root's new attribute and the new group
        let mut got = got;
        let mut ok = true;
        if let Some(root) = got.first_mut() {
            ok &= root["attrs"]
                .as_object_mut()
                .and_then(|a| a.remove("h5rs_touched"))
                .is_some();
        }
        let before = got.len();
        got.retain(|l| l["path"] != "/h5rs_new");
        ok &= got.len() + 1 == before;
        expected.sort_by_key(|l| l["path"].to_string());
        got.sort_by_key(|l| l["path"].to_string());
        if ok && got == expected {
            passed += 1;
        } else {
            let diff: Vec<String> = expected
                .iter()
                .zip(&got)
                .filter(|(a, b)| a != b)
                .take(2)
                .map(|(a, b)| format!("\n    expected {a}\n    got      {b}"))
                .collect();
            failures.push(format!(
                "{name}: changed file dumps differently{}",
                diff.join("")
            ));
        }
    }
    eprintln!(
        "changed in place: {passed} corpus files dump as the originals plus the change, {} differ or fail",
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
