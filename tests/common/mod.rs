//! Helpers shared by the integration tests: the Python with h5py that
//! writes reference files (the referee), and a scratch directory.

#![allow(dead_code)]

pub mod h5check;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The Python interpreter with h5py: `$H5RS_PYTHON`, else `.venv/bin/python`
/// at the crate root. Panics (never skips) when neither has h5py.
pub fn python() -> PathBuf {
    let p = std::env::var_os("H5RS_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"));
    let ok = Command::new(&p)
        .args(["-c", "import h5py, numpy"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(
        ok,
        "{} cannot import h5py and numpy: run scripts/test-all.sh (it creates .venv) or set H5RS_PYTHON",
        p.display()
    );
    p
}

/// Runs `script` with h5py's Python, `sys.argv[1]` being `dir`.
pub fn run_python(script: &str, dir: &Path) {
    let out = Command::new(python())
        .arg("-c")
        .arg(script)
        .arg(dir)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "python failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A fresh scratch directory under the target directory.
pub fn scratch(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("scratch dir");
    d
}

/// The example binary of this test's profile (`target/<profile>/examples`),
/// built first so that it is never stale.
pub fn example_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    // target/<profile>/deps/explore-<hash>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test binary under target/<profile>/deps")
        .to_path_buf();
    let profile = profile_dir
        .file_name()
        .and_then(|n| n.to_str())
        .expect("profile directory name")
        .to_string();
    let target_dir = profile_dir
        .parent()
        .expect("target directory")
        .to_path_buf();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["build", "--quiet", "--example", name, "--target-dir"])
        .arg(&target_dir);
    match profile.as_str() {
        "debug" => {}
        "release" => {
            cmd.arg("--release");
        }
        other => {
            cmd.args(["--profile", other]);
        }
    }
    let out = cmd.output().expect("run cargo build --example");
    assert!(
        out.status.success(),
        "cargo build --example {name} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bin = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(bin.is_file(), "{} missing after the build", bin.display());
    bin
}
