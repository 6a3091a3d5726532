//! A writer killed at a random moment leaves a file that h5py opens, with
//! everything written before its last completed `flush()`: a child process
//! (this test binary, re-run) keeps adding groups, datasets and attributes
//! and flushing, both to a new file and to one it reopened; the parent
//! kills it (SIGKILL) at random points after a flush and checks the file
//! with h5py.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

const CHILD_ENV: &str = "H5RS_KILL_WRITER_CHILD";

/// The child: writes forever, printing `flushed N` after each flush that
/// covers objects 0..N.
#[test]
#[ignore = "run by kill_writer_leaves_a_readable_file as a child process"]
fn child_writer() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let reopen = std::env::var("H5RS_KILL_WRITER_REOPEN").is_ok();
    let f = if reopen {
        h5rs::File::open_rw(&path).unwrap()
    } else {
        h5rs::File::create(&path).unwrap()
    };
    let start = f.member_names().unwrap().len();
    let mut i = start;
    loop {
        let g = f.create_group(&format!("g{i:05}")).unwrap();
        let d = g
            .new_dataset::<i64>()
            .unwrap()
            .shape(100)
            .maxshape(None::<usize>)
            .chunk(16)
            .deflate(1)
            .create("d")
            .unwrap();
        d.write(&(0..100).map(|k| k * i as i64).collect::<Vec<_>>())
            .unwrap();
        d.resize(150).unwrap();
        g.write_attr("i", &(i as i64)).unwrap();
        g.write_attr("name", &format!("group {i}")).unwrap();
        i += 1;
        if i % 3 == 0 {
            f.flush().unwrap();
            println!("flushed {i}");
        }
    }
}

#[test]
fn kill_writer_leaves_a_readable_file() {
    let dir = common::scratch("kill_writer");
    let exe = std::env::current_exe().unwrap();
    let mut checks = Vec::new();
    let mut seed = 12345u64;
    for trial in 0..8 {
        let path = dir.join(format!("t{trial}.h5"));
        let mut flushed_total = 0;
        // a new file, then twice reopened and extended
        for round in 0..3 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let wait_flushes = 1 + (seed >> 33) % 4;
            let extra_ms = (seed >> 40) % 15;
            let mut cmd = Command::new(&exe);
            cmd.args([
                "child_writer",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
            if round > 0 {
                cmd.env("H5RS_KILL_WRITER_REOPEN", "1");
            }
            let mut child = cmd.spawn().unwrap();
            let out = child.stdout.take().unwrap();
            let mut lines = BufReader::new(out).lines();
            let mut seen = 0;
            let mut last = flushed_total;
            while seen < wait_flushes {
                let Some(Ok(line)) = lines.next() else {
                    break;
                };
                if let Some(n) = line.strip_prefix("flushed ") {
                    last = n.trim().parse().unwrap();
                    seen += 1;
                }
            }
            std::thread::sleep(Duration::from_millis(extra_ms));
            child.kill().unwrap();
            let _ = child.wait();
            // a flush completed after the one read may count too: the
            // check asks for at least `last` objects
            assert!(seen == wait_flushes, "the child stopped early");
            flushed_total = last;
        }
        checks.push(format!("({:?}, {flushed_total})", path.to_string_lossy()));
    }
    common::run_python(
        &format!(
            r#"
import h5py, numpy as np
for path, n in [{}]:
    with h5py.File(path, "r") as f:
        names = sorted(f)
        assert len(names) >= n, (path, len(names), n)
        for i in range(n):
            g = f["g%05d" % i]
            assert g.attrs["i"] == i and g.attrs["name"] == "group %d" % i, path
            d = g["d"][:]
            assert d.shape == (150,), (path, i, d.shape)
            assert (d[:100] == np.arange(100) * i).all() and (d[100:] == 0).all(), (path, i)
        # whatever a later, unreported flush added is whole too
        for name in names:
            g = f[name]
            dict(g.attrs)
            g["d"][:]
"#,
            checks.join(", ")
        ),
        &dir,
    );
}
