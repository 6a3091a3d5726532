//! Conformance of `h5rs canon` with libhdf5's canonical dumps.
//!
//! Both tests drive `run.py` of the conformance kit (`../shared/conformance/`
//! beside the repository, or `$H5RS_SHARED/conformance/`) with the `h5rs`
//! binary:
//!
//! - `fixtures_match_libhdf5`: every file of `fixtures/` must pass.
//! - `corpus_no_crash_and_pass_list`: over the real-world corpus
//!   (`../shared/corpus/`), no file may crash the binary or time out, and
//!   every file listed in `tests/conformance-pass.txt` must pass.
//!
//! They need `python3` (standard library only) and fail when it is missing.

use std::collections::HashSet;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Per-file time limit given to run.py, in seconds.
const TIMEOUT_SECONDS: &str = "20";

fn crate_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The shared conformance kit and corpus: `$H5RS_SHARED`, else `../shared`
/// beside the repository.
fn shared_dir() -> PathBuf {
    match std::env::var_os("H5RS_SHARED") {
        Some(dir) => PathBuf::from(dir),
        None => crate_root().join("..").join("shared"),
    }
}

/// Quotes one word for `shlex.split`, which run.py applies to `--cmd`.
fn shell_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r#"'"'"'"#))
}

/// Runs run.py over `corpus` with `h5rs canon {}` as the command.
fn run_conformance(corpus: &Path) -> Output {
    let run_py = shared_dir().join("conformance").join("run.py");
    assert!(
        run_py.is_file(),
        "{} is missing: the conformance kit must sit beside the repository (or set H5RS_SHARED)",
        run_py.display()
    );
    assert!(
        corpus.join("MANIFEST.tsv").is_file(),
        "{}: no MANIFEST.tsv",
        corpus.display()
    );
    let cmd = format!("{} canon {{}}", shell_quote(env!("CARGO_BIN_EXE_h5rs")));
    let result = Command::new("python3")
        .arg(&run_py)
        .arg("--cmd")
        .arg(&cmd)
        .arg("--corpus")
        .arg(corpus)
        .arg("--timeout")
        .arg(TIMEOUT_SECONDS)
        .output();
    match result {
        Ok(out) => out,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            panic!("python3 not found: the conformance tests need Python 3 on PATH")
        }
        Err(e) => panic!("cannot run python3 {}: {e}", run_py.display()),
    }
}

/// The `N passed, M failed` line of run.py's output.
fn summary(stdout: &str) -> Option<(usize, usize)> {
    let last = stdout.lines().rev().find(|l| !l.trim().is_empty())?;
    let (passed, failed) = last.split_once(" passed, ")?;
    let failed = failed.strip_suffix(" failed")?;
    Some((passed.trim().parse().ok()?, failed.trim().parse().ok()?))
}

/// The `(verdict, path)` of each failing file (`<verdict> <path>  (message)`).
fn failures(stdout: &str) -> Vec<(String, String)> {
    const VERDICTS: [&str; 4] = ["differs", "error", "crash", "timeout"];
    stdout
        .lines()
        .filter_map(|line| {
            let (verdict, rest) = line.split_once(' ')?;
            if !VERDICTS.contains(&verdict) {
                return None;
            }
            let rest = rest.trim_start();
            let path = rest.split_once("  (").map_or(rest, |(p, _)| p).trim_end();
            Some((verdict.to_string(), path.to_string()))
        })
        .collect()
}

/// Paths listed in a manifest (column `path`).
fn manifest_paths(corpus: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(corpus.join("MANIFEST.tsv"))
        .unwrap_or_else(|e| panic!("{}/MANIFEST.tsv: {e}", corpus.display()));
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split('\t').collect();
    let col = header
        .iter()
        .position(|c| *c == "path")
        .unwrap_or_else(|| panic!("{}/MANIFEST.tsv: no path column", corpus.display()));
    lines
        .filter_map(|l| l.split('\t').nth(col))
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

fn report(out: &Output) -> String {
    format!(
        "run.py exit status {}\n--- stdout ---\n{}--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn fixtures_match_libhdf5() {
    let corpus = crate_root().join("fixtures");
    let expected = manifest_paths(&corpus).len();
    assert!(expected > 0, "fixtures/MANIFEST.tsv lists no files");
    let out = run_conformance(&corpus);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let Some((passed, failed)) = summary(&stdout) else {
        panic!("run.py printed no summary line\n{}", report(&out));
    };
    println!("fixtures: {passed} passed, {failed} failed");
    assert!(
        out.status.success() && failed == 0 && passed == expected,
        "not every fixture passes ({passed} of {expected} passed)\n{}",
        report(&out)
    );
}

#[test]
fn corpus_no_crash_and_pass_list() {
    let corpus = shared_dir().join("corpus");
    let listed = manifest_paths(&corpus);
    let pass_list_file = crate_root().join("tests").join("conformance-pass.txt");
    let pass_list_text = std::fs::read_to_string(&pass_list_file)
        .unwrap_or_else(|e| panic!("{}: {e}", pass_list_file.display()));
    let must_pass: Vec<&str> = pass_list_text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let known: HashSet<&str> = listed.iter().map(String::as_str).collect();
    let unknown: Vec<&&str> = must_pass.iter().filter(|p| !known.contains(**p)).collect();
    assert!(
        unknown.is_empty(),
        "tests/conformance-pass.txt names files the corpus manifest does not list: {unknown:?}"
    );

    let out = run_conformance(&corpus);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let Some((passed, failed)) = summary(&stdout) else {
        panic!("run.py printed no summary line\n{}", report(&out));
    };
    // run.py exits 1 when some file fails; anything else is run.py failing
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "run.py itself failed\n{}",
        report(&out)
    );
    println!("corpus: {passed} passed, {failed} failed");

    let failing = failures(&stdout);
    let fatal: Vec<String> = failing
        .iter()
        .filter(|(verdict, _)| verdict == "crash" || verdict == "timeout")
        .map(|(verdict, path)| format!("{verdict} {path}"))
        .collect();
    let failing_paths: HashSet<&str> = failing.iter().map(|(_, p)| p.as_str()).collect();
    let regressed: Vec<&&str> = must_pass
        .iter()
        .filter(|p| failing_paths.contains(**p))
        .collect();
    assert!(
        fatal.is_empty() && regressed.is_empty(),
        "crashes or timeouts: {fatal:#?}\nfiles of tests/conformance-pass.txt that do not pass: \
         {regressed:#?}\n{passed} passed, {failed} failed\n{}",
        report(&out)
    );
}

#[test]
fn summary_and_failure_lines_parse() {
    let text = "differs  a/b c.h5  (x)\ncrash    _bad/c.h5\nby verdict: crash 1, differs 1, pass 3\n3 passed, 2 failed\n";
    assert_eq!(summary(text), Some((3, 2)));
    assert_eq!(
        failures(text),
        vec![
            ("differs".to_string(), "a/b c.h5".to_string()),
            ("crash".to_string(), "_bad/c.h5".to_string())
        ]
    );
    assert_eq!(shell_quote("/a b/it's"), r#"'/a b/it'"'"'s'"#);
}
