//! The command-line tool on every corpus file, corrupt ones included:
//! `ls -r` and `dump` must finish with status 0 or 1 (a clear error on
//! stderr naming the file), never a panic, abort or hang.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn corpus() -> PathBuf {
    let shared = std::env::var_os("H5RS_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    let c = shared.join("corpus");
    assert!(
        c.join("MANIFEST.tsv").exists(),
        "corpus missing at {}",
        c.display()
    );
    c
}

fn files() -> Vec<PathBuf> {
    let c = corpus();
    let manifest = std::fs::read_to_string(c.join("MANIFEST.tsv")).unwrap();
    manifest
        .lines()
        .skip(1)
        .filter_map(|l| l.split('\t').next())
        .filter(|p| !p.is_empty())
        .map(|p| c.join(p))
        .collect()
}

fn run(args: &[&str], file: &PathBuf) -> (i32, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_h5rs"))
        .args(args)
        .arg(file)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            use std::io::Read;
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            return (status.code().unwrap_or(-1), err);
        }
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            return (-2, "timeout".into());
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn ls_and_dump_never_crash() {
    let mut bad = Vec::new();
    for f in files() {
        for args in [&["ls", "-r"][..], &["dump"][..]] {
            let (code, err) = run(args, &f);
            let name = f.display().to_string();
            match code {
                0 => {}
                1 => {
                    if !(err.contains("h5rs:") && err.contains(&name)) {
                        bad.push(format!(
                            "{args:?} {name}: error without the file name: {err}"
                        ));
                    }
                }
                c => bad.push(format!("{args:?} {name}: status {c}: {err}")),
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn tutorial_fixture_lists_and_dumps() {
    let f = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/tutorial_earliest.h5");
    let out = Command::new(env!("CARGO_BIN_EXE_h5rs"))
        .args(["ls", "-r"])
        .arg(&f)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for want in [
        "dataset1",
        "first/nestedfirst",
        "second/third/fourth",
        "data/dataset2",
    ] {
        assert!(text.contains(want), "ls -r lacks {want}:\n{text}");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_h5rs"))
        .args(["dump"])
        .arg(&f)
        .arg("/dataset1")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("[0, 1, 2, 3, 4, 5, 6, 7, 8, 9,"), "{text}");
}

#[test]
fn read_limits_and_no_mmap_from_the_command_line() {
    let f = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/tutorial_earliest.h5");
    let canon = |opts: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_h5rs"))
            .args(opts)
            .arg("canon")
            .arg(&f)
            .output()
            .unwrap()
    };
    let plain = canon(&[]);
    assert!(plain.status.success());
    // read into memory: the same dump
    let read = canon(&["--no-mmap"]);
    assert!(read.status.success());
    assert_eq!(plain.stdout, read.stdout);
    // /compressed holds 200 x 50 4-byte integers (40,000 bytes)
    let small = canon(&["--max-read", "39K"]);
    assert!(!small.status.success());
    let err = String::from_utf8_lossy(&small.stderr);
    assert!(
        err.contains("/compressed") && err.contains("read limit of 39936 bytes"),
        "{err}"
    );
    let enough = canon(&["--max-read", "40000"]);
    assert!(enough.status.success());
    assert_eq!(plain.stdout, enough.stdout);
    let bad = canon(&["--max-read", "2X"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown size unit"));
}
