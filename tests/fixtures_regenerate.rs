//! The committed fixtures are what `fixtures/generate.py` writes.
//!
//! Reruns the generator into a temporary folder and checks, for every
//! fixture, that its canonical dump (made by `h5canon.py`, libhdf5 through
//! h5py) matches the committed one in `fixtures/_canon/`, and that the
//! manifest (all but the size column) and the expected-value sidecars in
//! `fixtures/expected/` are the same. Byte-identical files are not required:
//! libhdf5 stores a few times it cannot be told to leave out.
//!
//! Needs the Python with h5py and numpy: `$H5RS_PYTHON`, else
//! `.venv/bin/python` at the crate root (`scripts/test-all.sh` sets both up),
//! and the conformance kit beside the repository (`../shared/conformance/`,
//! or `$H5RS_SHARED/conformance/`). Fails when either is missing.

use std::path::{Path, PathBuf};
use std::process::Command;

fn crate_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn shared_dir() -> PathBuf {
    match std::env::var_os("H5RS_SHARED") {
        Some(dir) => PathBuf::from(dir),
        None => crate_root().join("..").join("shared"),
    }
}

/// The Python interpreter that has h5py and numpy.
fn h5py_python() -> PathBuf {
    let python = match std::env::var_os("H5RS_PYTHON") {
        Some(p) => PathBuf::from(p),
        None => crate_root().join(".venv").join("bin").join("python"),
    };
    assert!(
        python.exists(),
        "{} not found: set H5RS_PYTHON to a Python with h5py and numpy \
         (scripts/test-all.sh makes .venv)",
        python.display()
    );
    python
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Manifest rows without the size column (sizes may change with libhdf5).
fn manifest_rows(dir: &Path) -> Vec<Vec<String>> {
    let text = read(&dir.join("MANIFEST.tsv"));
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split('\t').collect();
    let size_col = header.iter().position(|c| *c == "size");
    lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            l.split('\t')
                .enumerate()
                .filter(|(i, _)| Some(*i) != size_col)
                .map(|(_, cell)| cell.to_string())
                .collect()
        })
        .collect()
}

#[test]
fn generator_reproduces_committed_fixtures() {
    let python = h5py_python();
    let fixtures = crate_root().join("fixtures");
    let conformance = shared_dir().join("conformance");
    let h5canon = conformance.join("h5canon.py");
    let compare = conformance.join("compare.py");
    for tool in [&h5canon, &compare] {
        assert!(
            tool.is_file(),
            "{} is missing: the conformance kit must sit beside the repository (or set H5RS_SHARED)",
            tool.display()
        );
    }

    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fixtures-regenerated");
    if out.exists() {
        std::fs::remove_dir_all(&out).unwrap_or_else(|e| panic!("{}: {e}", out.display()));
    }
    std::fs::create_dir_all(&out).unwrap_or_else(|e| panic!("{}: {e}", out.display()));

    let gen_out = Command::new(&python)
        .arg(fixtures.join("generate.py"))
        .arg("--out")
        .arg(&out)
        .arg("--canon-tool")
        .arg(&h5canon)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    assert!(
        gen_out.status.success(),
        "generate.py failed ({})\n{}{}",
        gen_out.status,
        String::from_utf8_lossy(&gen_out.stdout),
        String::from_utf8_lossy(&gen_out.stderr)
    );

    let committed = manifest_rows(&fixtures);
    let regenerated = manifest_rows(&out);
    assert!(
        !committed.is_empty(),
        "fixtures/MANIFEST.tsv lists no files"
    );
    assert_eq!(
        committed, regenerated,
        "MANIFEST.tsv differs from what generate.py writes now (size column aside)"
    );

    let mut problems = Vec::new();
    let mut byte_identical = 0;
    for row in &committed {
        let name = &row[0];
        let canon = format!("{name}.canon.jsonl");
        let cmp = Command::new(&python)
            .arg(&compare)
            .arg(fixtures.join("_canon").join(&canon))
            .arg(out.join("_canon").join(&canon))
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", compare.display()));
        if !cmp.status.success() {
            problems.push(format!(
                "{name}: canonical dump differs\n{}",
                String::from_utf8_lossy(&cmp.stdout)
            ));
        }
        let sidecar = format!("{name}.json");
        if read(&fixtures.join("expected").join(&sidecar))
            != read(&out.join("expected").join(&sidecar))
        {
            problems.push(format!("{name}: expected/{sidecar} differs"));
        }
        let a = std::fs::read(fixtures.join(name));
        let b = std::fs::read(out.join(name));
        if matches!((a, b), (Ok(a), Ok(b)) if a == b) {
            byte_identical += 1;
        }
    }
    println!(
        "{} fixtures regenerated, {byte_identical} byte-identical",
        committed.len()
    );
    assert!(
        problems.is_empty(),
        "regenerated fixtures differ from the committed ones \
         (rerun fixtures/generate.py and commit, or fix the generator):\n{}",
        problems.join("\n")
    );
}
