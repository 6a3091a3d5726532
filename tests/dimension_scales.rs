//! Dimension scales (netCDF-4 and HDF5 DS conventions) read as plain
//! objects: every reference in a dataset's `DIMENSION_LIST` resolves to a
//! dataset marked `CLASS = "DIMENSION_SCALE"`, and that scale's
//! `REFERENCE_LIST` points back at the dataset, with the right dimension.

use std::path::PathBuf;

use h5rs::{File, Object, Value};

fn corpus() -> PathBuf {
    std::env::var_os("H5RS_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"))
        .join("corpus")
}

fn refs(v: &Value) -> Vec<u64> {
    match v {
        Value::ObjectRef(Some(a)) => vec![*a],
        Value::Sequence(xs) | Value::Array(xs) => xs.iter().flat_map(refs).collect(),
        _ => vec![],
    }
}

#[test]
fn dimension_lists_resolve_to_scales_that_point_back() {
    let files = [
        "gpm/processed_V7_2A-DPR_FS.nc",
        "gpm/3B-HHR.MS.MRG.3IMERG.20000601-S000000-E002959.0000.V07A.HDF5",
        "hdf5-testfiles/test_ds_le.h5",
        "hdf5-testfiles/test_ds_be.h5",
    ];
    let mut checked = 0;
    for rel in files {
        let f = File::open(corpus().join(rel)).unwrap();
        let mut datasets = Vec::new();
        f.root()
            .unwrap()
            .visit_items(|p, o| {
                if let Object::Dataset(d) = o {
                    datasets.push((p.to_string(), d.clone()));
                }
                None::<()>
            })
            .unwrap();
        for (path, d) in datasets {
            let Ok(list) = d.attr("DIMENSION_LIST") else {
                continue;
            };
            let per_dim = list.read_raw::<Value>().unwrap();
            assert_eq!(per_dim.len(), d.ndim(), "{rel} {path}");
            for (dim, entry) in per_dim.iter().enumerate() {
                for addr in refs(entry) {
                    let Object::Dataset(scale) = f.object_at(addr).unwrap() else {
                        panic!("{rel} {path}: dimension {dim} refers to a non-dataset");
                    };
                    let class = scale
                        .attr("CLASS")
                        .unwrap()
                        .read_scalar::<String>()
                        .unwrap();
                    assert_eq!(class, "DIMENSION_SCALE", "{rel} {path}");
                    // the scale lists (dataset, dimension) pairs that use it
                    let back = scale
                        .attr("REFERENCE_LIST")
                        .unwrap()
                        .read_raw::<Value>()
                        .unwrap();
                    let found = back.iter().any(|rec| match rec {
                        Value::Compound(m) => {
                            let index = match m[1].1 {
                                Value::Int(i) => i,
                                Value::UInt(u) => u as i64,
                                _ => -1,
                            };
                            refs(&m[0].1) == vec![d.addr()] && index == dim as i64
                        }
                        _ => false,
                    });
                    assert!(
                        found,
                        "{rel} {path}: scale does not point back for dim {dim}"
                    );
                    checked += 1;
                }
            }
        }
    }
    assert!(checked >= 6, "only {checked} dimension references checked");
}
