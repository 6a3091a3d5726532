//! `examples/explore.rs` against h5py: the example runs on every granule of
//! the shared GPM corpus and each of its keyword lines (root items, input
//! file names, main group and members, real-value counts, the two windows,
//! the count between 0.1 and 0.9, root attribute names and `Key=Value;`
//! pairs) must equal the line `tests/data/explore_reference.py` computes
//! with h5py and numpy by the same rules.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

/// Keywords of the lines that carry figures; everything else is commentary.
const KEYWORDS: &[&str] = &[
    "item", "input", "group", "member", "real", "rain", "window", "row", "between", "attr", "kv",
];

/// `$H5RS_SHARED/corpus/gpm`, else `../shared/corpus/gpm` next to the crate.
fn corpus() -> PathBuf {
    let shared = std::env::var_os("H5RS_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    shared.join("corpus/gpm")
}

/// The keyword lines of `text`, with runs of blanks made single.
fn figures(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| {
            l.split(' ')
                .next()
                .is_some_and(|first| KEYWORDS.contains(&first))
        })
        .collect()
}

fn run(cmd: &mut Command, what: &str) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap_or_else(|e| panic!("{what}: output not UTF-8: {e}"))
}

fn count(lines: &[String], keyword: &str) -> usize {
    lines
        .iter()
        .filter(|l| l.split(' ').next() == Some(keyword))
        .count()
}

#[test]
fn explore_matches_h5py_on_every_gpm_granule() {
    let dir = corpus();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e} (set H5RS_SHARED)", dir.display()))
        .map(|e| e.expect("read_dir entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no granules in {}", dir.display());

    let bin = common::example_binary("explore");
    let python = common::python();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/explore_reference.py");

    let results: Vec<(PathBuf, String, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = files
            .iter()
            .map(|file| {
                let (bin, python, script) = (&bin, &python, &script);
                s.spawn(move || {
                    let ours = run(
                        Command::new(bin).arg(file),
                        &format!("explore {}", file.display()),
                    );
                    let theirs = run(
                        Command::new(python).arg(script).arg(file),
                        &format!("explore_reference.py {}", file.display()),
                    );
                    (file.clone(), ours, theirs)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("worker"))
            .collect()
    });

    let mut failures = Vec::new();
    for (file, ours, theirs) in &results {
        let name = file.file_name().unwrap_or_default().to_string_lossy();
        let (ours, theirs) = (figures(ours), figures(theirs));

        // both sides must really have produced the figures asked for
        assert_eq!(count(&theirs, "group"), 1, "{name}: no main group");
        assert!(count(&theirs, "real") > 0, "{name}: no real-value counts");
        assert!(count(&theirs, "item") > 0, "{name}: no root items");
        if count(&theirs, "rain") == 1 {
            assert_eq!(count(&theirs, "window"), 2, "{name}: windows");
            assert!(count(&theirs, "row") > 0, "{name}: window rows");
            assert_eq!(count(&theirs, "between"), 1, "{name}: between");
        }
        if name.ends_with(".HDF5") {
            for attr in ["FileHeader", "FileInfo"] {
                let prefix = format!("kv {attr} ");
                assert!(
                    theirs.iter().any(|l| l.starts_with(&prefix)),
                    "{name}: no {attr} pairs"
                );
            }
            assert_eq!(count(&theirs, "rain"), 1, "{name}: no rain dataset");
        }
        if theirs.iter().any(|l| l == "attr InputRecord") {
            assert!(count(&theirs, "input") > 0, "{name}: no input files");
        }

        if ours != theirs {
            let mut msg = format!(
                "{name}: {} lines from explore, {} from h5py",
                ours.len(),
                theirs.len()
            );
            let n = ours.len().max(theirs.len());
            let mut shown = 0;
            for i in 0..n {
                let (a, b) = (ours.get(i), theirs.get(i));
                if a != b {
                    msg += &format!(
                        "\n  line {i}:\n    explore: {}\n    h5py:    {}",
                        a.map_or("(none)", String::as_str),
                        b.map_or("(none)", String::as_str)
                    );
                    shown += 1;
                    if shown == 10 {
                        break;
                    }
                }
            }
            failures.push(msg);
        }
    }
    assert!(
        failures.is_empty(),
        "explore differs from h5py:\n{}",
        failures.join("\n")
    );
}
