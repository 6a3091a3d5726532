//! Files of libhdf5's multi-file drivers are refused with a clear
//! `Unsupported` error naming the driver, not misread.

mod common;

const SCRIPT: &str = r#"
import sys, os, numpy as np, h5py
d = sys.argv[1]
with h5py.File(os.path.join(d, 'fam%d.h5'), 'w', driver='family', memb_size=1024) as f:
    f['x'] = np.arange(1000)
with h5py.File(os.path.join(d, 'split'), 'w', driver='split') as f:
    f['x'] = np.arange(10)
"#;

#[test]
fn family_and_split_files_are_refused_clearly() {
    let d = common::scratch("drivers");
    common::run_python(SCRIPT, &d);
    for (file, id) in [("fam0.h5", "NCSAfami"), ("split-m.h5", "NCSAmult")] {
        let e = h5rs::File::open(d.join(file)).unwrap_err();
        assert!(matches!(e, h5rs::Error::Unsupported(_)), "{e}");
        assert!(e.to_string().contains(id), "{e}");
    }
}
