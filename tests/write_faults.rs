//! Writes that fail: a child process (this test binary, re-run) limits the
//! size of files it may write (RLIMIT_FSIZE), so writes past a point fail
//! with an I/O error, as on a full disk. The error must come back from the
//! call that wrote (never a panic), and the file must keep what the last
//! successful flush wrote, readable by h5py.

mod common;

use std::process::Command;

const CHILD_ENV: &str = "H5RS_FAULTS_CHILD";

#[test]
#[ignore = "run by failed_writes_return_errors_and_keep_the_flushed_file as a child"]
fn child_fills_the_disk() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let f = h5rs::File::create(&path).unwrap();
    f.write_dataset("kept", &(0..1000).collect::<Vec<i64>>())
        .unwrap();
    f.write_attr("note", "flushed").unwrap();
    f.flush().unwrap();
    let size = std::fs::metadata(&path).unwrap().len();
    // SAFETY: plain libc calls on this process: ignore the signal a write
    // past the limit raises (the write then fails with EFBIG), and lower
    // the file size limit.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
        let lim = libc::rlimit {
            rlim_cur: size + 4096,
            rlim_max: libc::RLIM_INFINITY,
        };
        assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &lim), 0);
    }
    let big: Vec<f64> = (0..1_000_000).map(f64::from).collect();
    let r = f.write_dataset("too_big", &big);
    println!("write: {}", if r.is_err() { "error" } else { "ok" });
    let r = f.flush();
    println!("flush: {}", if r.is_err() { "error" } else { "ok" });
    let r = f
        .new_dataset::<i32>()
        .and_then(|b| b.shape(10).chunk(5).deflate(1).create("small"));
    println!("small: {}", if r.is_err() { "error" } else { "ok" });
    let r = f.clone().close();
    println!("close: {}", if r.is_err() { "error" } else { "ok" });
}

#[test]
fn failed_writes_return_errors_and_keep_the_flushed_file() {
    let dir = common::scratch("write_faults");
    let path = dir.join("full.h5");
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "child_fills_the_disk",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, &path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the child failed (a panic?):\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("write: error"), "{stdout}");
    common::run_python(
        r#"
import sys, h5py, numpy as np
with h5py.File(sys.argv[1] + "/full.h5", "r") as f:
    assert (f["kept"][:] == np.arange(1000)).all()
    assert f.attrs["note"] == "flushed"
"#,
        &dir,
    );
}
