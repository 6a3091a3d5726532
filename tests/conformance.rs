//! The canonical dump of every file in the shared corpus, checked against
//! libhdf5's reference dumps with the shared conformance runner.
//!
//! Fails when any corpus file crashes or times out, or when a file listed in
//! `tests/conformance-pass.txt` (the list only grows) no longer passes.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run_corpus() -> (String, BTreeSet<String>) {
    let shared = root().join("../shared");
    let runner = shared.join("conformance/run.py");
    assert!(
        runner.exists(),
        "the shared conformance runner is missing: {}",
        runner.display()
    );
    let cmd = format!("{} canon {{}}", env!("CARGO_BIN_EXE_h5rs"));
    let out = Command::new("python3")
        .arg(&runner)
        .arg("--cmd")
        .arg(&cmd)
        .arg("--timeout")
        .arg("30")
        .output()
        .expect("python3 must be installed to run the conformance tests");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let failing = text
        .lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            let verdict = it.next()?;
            let path = it.next()?;
            matches!(verdict, "differs" | "error" | "crash" | "timeout")
                .then(|| format!("{verdict} {path}"))
        })
        .collect();
    (text, failing)
}

#[test]
fn corpus_conformance() {
    let (text, failing) = run_corpus();
    let summary = text
        .lines()
        .rev()
        .find(|l| l.contains(" passed, "))
        .unwrap_or("no summary line");
    println!("corpus: {summary}");
    let bad: Vec<&String> = failing
        .iter()
        .filter(|l| l.starts_with("crash ") || l.starts_with("timeout "))
        .collect();
    assert!(bad.is_empty(), "crashes or timeouts:\n{bad:#?}\n{text}");

    let list = std::fs::read_to_string(root().join("tests/conformance-pass.txt"))
        .expect("tests/conformance-pass.txt");
    let failed_paths: BTreeSet<&str> = failing
        .iter()
        .filter_map(|l| l.split_whitespace().nth(1))
        .collect();
    let regressions: Vec<&str> = list
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter(|p| failed_paths.contains(p))
        .collect();
    assert!(
        regressions.is_empty(),
        "files that passed before fail now:\n{regressions:#?}\n{text}"
    );
}
