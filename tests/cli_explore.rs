//! The exploring commands of the command-line tool against h5py: `ls -a`
//! (attributes), `dump --slice` (numpy-style slices) and `stats` (streamed
//! statistics), on files written by h5py here, the fixtures and the GPM
//! granules of the corpus.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value as Json;

/// Runs the tool; (exit status, stdout, stderr).
fn h5rs(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_h5rs"))
        .args(args)
        .output()
        .expect("run h5rs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs the tool and expects success; its stdout.
fn ok(args: &[&str]) -> String {
    let (code, out, err) = h5rs(args);
    assert_eq!(code, 0, "h5rs {args:?} failed:\n{out}\n{err}");
    out
}

fn gpm() -> PathBuf {
    let shared = std::env::var_os("H5RS_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    let d = shared.join("corpus/gpm");
    assert!(d.is_dir(), "GPM granules missing at {}", d.display());
    d
}

const KA: &str = "2A.GPM.Ka.V9-20211125.20140308-S220950-E234217.000144.V07A.HDF5";

/// Writes `explore.h5` and `expected.json` (values h5py and numpy give for
/// the slices and statistics checked) into `dir`.
fn write_files(dir: &Path) {
    let script = format!(
        r#"
import sys, json, h5py, numpy as np
d = sys.argv[1]
ka = {ka:?}
rng = np.random.default_rng(7)
with h5py.File(d + "/explore.h5", "w") as f:
    f.attrs["title"] = "exploring test file"
    f.attrs["version"] = np.int32(3)
    f.attrs["long_text"] = "x" * 200
    f.attrs["many"] = np.arange(20, dtype="f8") / 4
    g = f.create_group("grid")
    g.attrs["units"] = "K"
    t = g.create_dataset("t2", data=rng.normal(280, 10, (40, 30)).astype("f4"), chunks=(8, 10))
    t.attrs["_FillValue"] = np.float32(-9999.9)
    t.attrs["long_name"] = "air temperature"
    f.create_dataset("i3", data=np.arange(120, dtype="i4").reshape(4, 5, 6))
    f.create_dataset("s1", data=np.linspace(-1, 1, 100))
    f.create_dataset("msg", data=np.arange(50, dtype="i2").reshape(10, 5), fillvalue=7)
    big = rng.normal(0, 1, (5000, 500))
    big[rng.random(big.shape) < 0.1] = -999.0
    big[rng.random(big.shape) < 0.01] = np.nan
    b = f.create_dataset("big", data=big, chunks=(100, 500))
    b.attrs["_FillValue"] = -999.0

slices = [
    ("grid/t2", "5:16,4:11"), ("grid/t2", "-10:,::4"), ("grid/t2", "3,-7:-1:2"),
    ("grid/t2", "-1"), ("grid/t2", ":,2"), ("grid/t2", "::7, 1:29:9"),
    ("grid/t2", "35:100"), ("i3", "1:3,::2,-2:"), ("i3", "-1,2,3"), ("i3", "2"),
    ("s1", "10:-80:3"), ("s1", "-5:"),
]
exp = {{"slices": [], "stats": {{}}}}
with h5py.File(d + "/explore.h5", "r") as f:
    for p, s in slices:
        a = np.asarray(eval("f[p][" + s + "]"))
        exp["slices"].append({{"file": "explore.h5", "path": p, "slice": s,
            "shape": list(a.shape), "f32": bool(a.dtype == np.float32),
            "values": [float(x) for x in a.ravel()]}})
    def stats(name, ds, fill):
        a = ds[()].astype("f8")
        valid = a[~np.isnan(a)]
        if fill is not None:
            valid = valid[valid != fill]
        e = {{"count": int(a.size), "non_fill": int(valid.size)}}
        if valid.size:
            e.update(min=float(valid.min()), max=float(valid.max()), mean=float(valid.mean()))
        exp["stats"][name] = e
    stats("big", f["big"], -999.0)
    stats("t2", f["grid/t2"], None)
    stats("msg", f["msg"], 7.0)
    stats("msg_fill_3", f["msg"], 3.0)
with h5py.File(ka, "r") as f:
    for p, s in [("FS/Latitude", "-3:,::3"), ("FS/PRE/height", "2,-4:,170:"),
                 ("FS/PRE/landSurfaceType", "1:9:2,-1")]:
        a = np.asarray(eval("f[p][" + s + "]"))
        exp["slices"].append({{"file": ka, "path": p, "slice": s,
            "shape": list(a.shape), "f32": bool(a.dtype == np.float32),
            "values": [float(x) for x in a.ravel()]}})
    h = f["FS/PRE/height"]
    stats("height", h, float(np.float32(h.attrs["_FillValue"])))
json.dump(exp, open(d + "/expected.json", "w"))
"#,
        ka = gpm().join(KA).display().to_string()
    );
    common::run_python(&script, dir);
}

fn expected(dir: &Path) -> Json {
    serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap()
}

/// The numbers printed by `dump --slice` after its header line: table
/// rows, lists and single values; block headers (`[0, :, :]`) skipped.
fn printed_values(out: &str, f32: bool) -> (String, Vec<f64>) {
    let mut lines = out.lines();
    let header = lines.next().unwrap_or_default().to_string();
    let mut v = Vec::new();
    for l in lines {
        if l.contains(':') {
            continue;
        }
        for tok in l
            .split(|c: char| c.is_whitespace() || c == ',' || c == '[' || c == ']')
            .filter(|t| !t.is_empty())
        {
            let x = if f32 {
                tok.parse::<f32>()
                    .unwrap_or_else(|_| panic!("{tok:?} in {out}")) as f64
            } else {
                tok.parse::<f64>()
                    .unwrap_or_else(|_| panic!("{tok:?} in {out}"))
            };
            v.push(x);
        }
    }
    (header, v)
}

#[test]
fn dump_slice_matches_h5py() {
    let dir = common::scratch("cli_explore_slice");
    write_files(&dir);
    let exp = expected(&dir);
    let cases = exp["slices"].as_array().unwrap();
    assert!(cases.len() >= 15);
    for c in cases {
        let file = c["file"].as_str().unwrap();
        let file = if Path::new(file).is_absolute() {
            PathBuf::from(file)
        } else {
            dir.join(file)
        };
        let path = c["path"].as_str().unwrap();
        let slice = c["slice"].as_str().unwrap();
        let f32 = c["f32"].as_bool().unwrap();
        let out = ok(&["dump", file.to_str().unwrap(), path, "--slice", slice]);
        let (header, got) = printed_values(&out, f32);
        let shape: Vec<String> = c["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.to_string())
            .collect();
        assert!(
            header.ends_with(&format!("shape {{{}}}", shape.join(", "))),
            "{path}[{slice}]: header {header:?}, h5py shape {shape:?}"
        );
        let want: Vec<f64> = c["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        assert_eq!(got, want, "{path}[{slice}]:\n{out}");
        // a 2-D result is a table: one line per row, one value per column
        if shape.len() == 2 {
            let rows: Vec<&str> = out.lines().skip(1).collect();
            assert_eq!(rows.len().to_string(), shape[0], "{out}");
            for r in &rows {
                assert_eq!(r.split_whitespace().count().to_string(), shape[1], "{out}");
            }
        }
    }
}

#[test]
fn dump_slice_errors() {
    let dir = common::scratch("cli_explore_errors");
    common::run_python(
        r#"
import sys, h5py, numpy as np
with h5py.File(sys.argv[1] + "/e.h5", "w") as f:
    f.create_dataset("x", data=np.arange(12.0).reshape(3, 4))
    f.create_group("g")
"#,
        &dir,
    );
    let file = dir.join("e.h5");
    let file = file.to_str().unwrap();
    for (slice, says) in [
        ("a:3", "not an integer"),
        ("1:2:0", "step"),
        ("::-1", "step"),
        ("1:2:3:4", "':'"),
        ("1,,2", "empty"),
        ("5", "out of range"),
        ("0,-5", "out of range"),
        ("1,2,3", "axes"),
    ] {
        let (code, out, err) = h5rs(&["dump", file, "x", "--slice", slice]);
        assert_eq!(code, 1, "{slice}: {out} {err}");
        assert!(
            err.contains("h5rs:") && err.contains(says),
            "{slice}: {err:?} should say {says:?}"
        );
    }
    let (code, _, err) = h5rs(&["dump", file, "g", "--slice", "1"]);
    assert_eq!(code, 1);
    assert!(err.contains("not a dataset"), "{err}");
}

#[test]
fn ls_attrs() {
    let dir = common::scratch("cli_explore_ls");
    write_files(&dir);
    let f = dir.join("explore.h5");
    let out = ok(&["ls", "-r", "-a", f.to_str().unwrap()]);
    // root attributes, under a line for the root group
    assert!(out.starts_with('/'), "{out}");
    for want in [
        "@title vstr/utf8 scalar",
        "= \"exploring test file\"",
        "@version <i4 scalar = 3",
        "@many <f8 {20} = [0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, ... (20 values)]",
        "@units ",
        "= \"K\"",
        "@_FillValue <f4 scalar = -9999.9",
        "= \"air temperature\"",
    ] {
        assert!(out.contains(want), "missing {want:?} in\n{out}");
    }
    // a long string is cut
    let long = out.lines().find(|l| l.contains("@long_text")).unwrap();
    assert!(long.len() < 120 && long.contains("(200 chars)"), "{long}");
    // attributes are indented under their object
    let lines: Vec<&str> = out.lines().collect();
    let t2 = lines
        .iter()
        .position(|l| l.starts_with("grid/t2 "))
        .unwrap();
    assert!(lines[t2 + 1].starts_with("    @"), "{out}");
    // without -a no attributes
    assert!(!ok(&["ls", "-r", f.to_str().unwrap()]).contains('@'));

    // a GPM granule: root and dataset attributes
    let ka = gpm().join(KA);
    let out = ok(&["ls", "-r", "--attrs", ka.to_str().unwrap()]);
    for want in [
        "    @FileHeader ",
        "DOI=",
        "FS/Latitude ",
        "    @_FillValue <f4 scalar = -9999.9",
        "    @CodeMissingValue S",
        "\"-9999.9\"",
    ] {
        assert!(out.contains(want), "missing {want:?} in GPM listing");
    }
    // the fixtures: every attribute of the attribute fixture is listed
    let fx = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/attrs_latest.h5");
    let out = ok(&["ls", "-r", "-a", fx.to_str().unwrap()]);
    assert!(
        out.lines()
            .filter(|l| l.trim_start().starts_with('@'))
            .count()
            > 5,
        "{out}"
    );
    // one object with -a
    let out = ok(&["ls", "-a", ka.to_str().unwrap(), "FS/PRE/height"]);
    assert!(out.contains("@_FillValue"), "{out}");
}

fn stat_lines(out: &str) -> std::collections::HashMap<String, String> {
    out.lines()
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn check_stats(out: &str, want: &Json, what: &str) {
    let s = stat_lines(out);
    for k in ["count", "non_fill"] {
        assert_eq!(
            s[k].parse::<u64>().unwrap(),
            want[k].as_u64().unwrap(),
            "{what} {k}:\n{out}"
        );
    }
    for k in ["min", "max", "mean"] {
        if want["non_fill"] == 0 {
            assert_eq!(s[k], "none", "{what} {k}:\n{out}");
            continue;
        }
        let got: f64 = s[k].parse().unwrap();
        let w = want[k].as_f64().unwrap();
        let tol = if k == "mean" {
            1e-9 * w.abs().max(1e-300)
        } else {
            0.0
        };
        assert!(
            (got - w).abs() <= tol,
            "{what} {k}: {got} vs numpy {w}\n{out}"
        );
    }
}

#[test]
fn stats_match_numpy() {
    let dir = common::scratch("cli_explore_stats");
    write_files(&dir);
    let exp = expected(&dir);
    let f = dir.join("explore.h5");
    let f = f.to_str().unwrap();

    // 20 MB of f64: more than one 16 MiB block, fill from _FillValue, NaNs
    let out = ok(&["stats", f, "big"]);
    check_stats(&out, &exp["stats"]["big"], "big");
    let s = stat_lines(&out);
    assert!(s["blocks"].parse::<u64>().unwrap() >= 2, "{out}");
    assert_eq!(s["fill"], "-999");
    assert_eq!(s["fill_source"], "attribute _FillValue");
    assert!(s["nan"].parse::<u64>().unwrap() > 0);
    // small blocks not aligned with the chunks give the same figures
    let out = ok(&["stats", f, "big", "--block-rows", "333"]);
    check_stats(&out, &exp["stats"]["big"], "big/333");
    assert_eq!(stat_lines(&out)["blocks"], "16");

    // f32 with a _FillValue nowhere in the data
    let out = ok(&["stats", f, "grid/t2", "--block-rows", "7"]);
    check_stats(&out, &exp["stats"]["t2"], "t2");
    // fill from the fill value message, and overridden by --fill
    let out = ok(&["stats", f, "msg"]);
    check_stats(&out, &exp["stats"]["msg"], "msg");
    assert_eq!(stat_lines(&out)["fill_source"], "fill value message");
    let out = ok(&["stats", f, "msg", "--fill", "3"]);
    check_stats(&out, &exp["stats"]["msg_fill_3"], "msg --fill 3");
    assert_eq!(stat_lines(&out)["fill_source"], "option");

    // a GPM profile: f32 with _FillValue -9999.9 (every value of the
    // granule kept in the corpus is fill)
    let ka = gpm().join(KA);
    let out = ok(&[
        "stats",
        ka.to_str().unwrap(),
        "FS/PRE/height",
        "--block-rows",
        "3",
    ]);
    check_stats(&out, &exp["stats"]["height"], "height");
    assert_eq!(stat_lines(&out)["count"], "17600");
    assert_eq!(stat_lines(&out)["blocks"], "4");

    // rows of more than 16 MiB: blocks run along the second axis
    common::run_python(
        r#"
import sys, json, h5py, numpy as np
a = np.tile(np.arange(1000, dtype="f4") / 8 - 30, (3, 2200))
a[1, 5:1000:7] = 12345.0
with h5py.File(sys.argv[1] + "/wide.h5", "w") as f:
    d = f.create_dataset("w", data=a, chunks=(1, 1000000), compression="gzip")
    d.attrs["missing_value"] = np.float32(12345.0)
v = a[a != 12345.0].astype("f8")
json.dump({"count": int(a.size), "non_fill": int(v.size), "min": float(v.min()),
           "max": float(v.max()), "mean": float(v.mean())}, open(sys.argv[1] + "/wide.json", "w"))
"#,
        &dir,
    );
    let want: Json =
        serde_json::from_str(&std::fs::read_to_string(dir.join("wide.json")).unwrap()).unwrap();
    let w = dir.join("wide.h5");
    let out = ok(&["stats", w.to_str().unwrap(), "w"]);
    check_stats(&out, &want, "wide");
    assert_eq!(stat_lines(&out)["blocks"], "6", "{out}");
    assert_eq!(stat_lines(&out)["fill_source"], "attribute missing_value");

    // not numeric, not a dataset
    let fx = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/dtypes_latest.h5");
    let (code, _, err) = h5rs(&["stats", fx.to_str().unwrap(), "/"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("not a dataset"), "{err}");
}

/// `ls -r -a` on every corpus file, corrupt ones included: status 0 or 1
/// (an error naming the file), never a panic or abort.
#[test]
fn ls_attrs_never_crash_on_corpus() {
    let c = gpm().join("..");
    let manifest = std::fs::read_to_string(c.join("MANIFEST.tsv")).unwrap();
    let mut bad = Vec::new();
    let mut n = 0;
    for p in manifest
        .lines()
        .skip(1)
        .filter_map(|l| l.split('\t').next())
        .filter(|p| !p.is_empty())
    {
        let f = c.join(p);
        let (code, _, err) = h5rs(&["ls", "-r", "-a", f.to_str().unwrap()]);
        n += 1;
        if !(code == 0 || (code == 1 && err.contains("h5rs:"))) {
            bad.push(format!("{p}: status {code}: {err}"));
        }
    }
    assert!(n > 10);
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// `stats` and `dump --slice` on every dataset of the fixtures: numeric
/// ones give figures, others a clear error; nothing panics.
#[test]
fn stats_and_slices_on_fixtures() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut bad = Vec::new();
    let mut numeric = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let f = e.unwrap().path();
        if f.extension().is_none_or(|x| x != "h5") {
            continue;
        }
        let fs = f.to_str().unwrap();
        let listing = ok(&["ls", "-r", fs]);
        for l in listing.lines() {
            let mut w = l.split_whitespace();
            let (Some(name), Some("Dataset")) = (w.next(), w.next()) else {
                continue;
            };
            for args in [
                vec!["stats", fs, name],
                vec!["stats", fs, name, "--block-rows", "1"],
                vec!["dump", fs, name, "--slice", "-1:"],
                vec!["dump", fs, name, "--slice", "::2"],
            ] {
                let (code, out, err) = h5rs(&args);
                match code {
                    0 => {
                        if args[0] == "stats" {
                            numeric += 1;
                            assert!(out.contains("non_fill: "), "{out}");
                        }
                    }
                    1 if err.contains("h5rs:") => {}
                    c => bad.push(format!("{args:?}: status {c}: {err}")),
                }
            }
        }
    }
    assert!(numeric > 10, "{numeric}");
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
