//! Copies of files nobody here wrote: every fixture made by h5py is copied
//! object by object into a new file by h5rs (`File::copy_from`, in the
//! format of the original), and libhdf5 must dump the copy exactly as it
//! dumps the original.

mod common;

use common::h5check::Batch;
use h5rs::{File, Format};
use std::path::Path;

#[test]
fn fixtures_copied_by_h5rs_read_the_same_in_libhdf5() {
    let dir = common::scratch("write_copy");
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut names: Vec<_> = std::fs::read_dir(&fixtures)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "h5"))
        .collect();
    names.sort();
    let mut b = Batch::default();
    for src_path in names {
        let name = src_path.file_name().unwrap().to_string_lossy().to_string();
        let src = File::open(&src_path).unwrap();
        let format = if src.superblock_version() >= 2 {
            Format::Latest
        } else {
            Format::Earliest
        };
        let out = dir.join(&name);
        let dst = File::builder().format(format).create(&out).unwrap();
        let report = dst
            .copy_from(&src)
            .unwrap_or_else(|e| panic!("copying {name}: {e}"));
        dst.close()
            .unwrap_or_else(|e| panic!("closing the copy of {name}: {e}"));
        assert!(
            report.notes.is_empty(),
            "{name}: the copy left things out: {:?}",
            report.notes
        );
        // h5dump (libhdf5 1.10) must read the copy when it reads the original
        let h5dump_reads_original = format == Format::Earliest
            && std::process::Command::new("h5dump")
                .arg(&src_path)
                .output()
                .expect("h5dump (Debian's hdf5-tools) must be installed")
                .status
                .success();
        // the reference is the original itself, with its external raw data
        // files beside it
        let stem = name.trim_end_matches(".h5");
        b.add(
            &format!("copy of {name}"),
            &out,
            &format!(
                "import glob, os, shutil\nshutil.copy({src:?}, p)\nfor e in glob.glob({ext:?}):\n    shutil.copy(e, os.path.dirname(p))\n",
                src = src_path.to_string_lossy(),
                ext = fixtures.join(format!("{stem}-ext*")).to_string_lossy(),
            ),
            h5dump_reads_original,
        );
    }
    b.run(&dir);
}
