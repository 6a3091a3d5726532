//! A filter registered by the application decodes chunks libhdf5 stored
//! with its identifier; before registration the read fails naming it.

mod common;

use h5rs::File;
use h5rs::array::filters::{Filter, FilterCtx, register};

const SCRIPT: &str = r#"
import sys, numpy as np, h5py
d = sys.argv[1]
with h5py.File(f'{d}/custom.h5', 'w') as f:
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_chunk((8,))
    dcpl.set_filter(40001, h5py.h5z.FLAG_OPTIONAL, (7,))
    sid = h5py.h5s.create_simple((16,))
    ds = h5py.h5d.create(f.id, b'x', h5py.h5t.STD_I32LE, sid, dcpl=dcpl)
    for c in range(2):
        raw = (np.arange(8, dtype='<i4') + 8 * c).tobytes()[::-1]
        ds.write_direct_chunk((8 * c,), raw, 0)
"#;

/// Chunks stored byte-reversed.
struct Reverse;

impl Filter for Reverse {
    fn id(&self) -> u16 {
        40001
    }
    fn name(&self) -> &'static str {
        "reverse"
    }
    fn decode(&self, mut input: Vec<u8>, ctx: &FilterCtx) -> h5rs::Result<Vec<u8>> {
        assert_eq!(ctx.params, &[7]);
        input.reverse();
        Ok(input)
    }
}

#[test]
fn registered_filter_reads_its_chunks() {
    let d = common::scratch("filter_register");
    common::run_python(SCRIPT, &d);
    let f = File::open(d.join("custom.h5")).unwrap();
    let ds = f.dataset("x").unwrap();
    let e = ds.read_raw_vec::<i32>().unwrap_err();
    assert!(e.to_string().contains("40001"), "{e}");
    register(Box::new(Reverse));
    assert_eq!(
        ds.read_raw_vec::<i32>().unwrap(),
        (0..16).collect::<Vec<i32>>()
    );
}
