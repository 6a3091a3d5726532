//! Decodes chunks written by libhdf5 through h5py and compares the result
//! with what libhdf5 itself decodes them to.
//!
//! The fixtures are made by `tests/data/filters/make.py`; `cases.tsv` lists
//! them (its header explains the columns).

use std::fs;
use std::path::{Path, PathBuf};

use h5rs::array::filters::{decode_chunk, encode_chunk};
use h5rs::format::datatype::{ByteOrder, Datatype};
use h5rs::format::filter_pipeline::FilterInfo;

struct Case {
    name: String,
    dtype: Datatype,
    chunk_bytes: usize,
    filter_mask: u32,
    pipeline: Vec<FilterInfo>,
    expect_error: Option<String>,
}

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/filters")
}

fn parse_dtype(text: &str) -> Datatype {
    let f: Vec<&str> = text.split(':').collect();
    let size: u32 = f[1].parse().unwrap();
    let order = if f[2] == ">" {
        ByteOrder::Big
    } else {
        ByteOrder::Little
    };
    match f[0] {
        "int" => Datatype::int(size, f[3] == "s", order),
        "float" => Datatype::float(size, order),
        _ => Datatype::Opaque {
            size,
            tag: String::new(),
        },
    }
}

fn parse_pipeline(text: &str) -> Vec<FilterInfo> {
    text.split(';')
        .filter(|s| !s.is_empty())
        .map(|f| {
            let parts: Vec<&str> = f.split('/').collect();
            FilterInfo {
                id: parts[0].parse().unwrap(),
                name: String::new(),
                flags: parts[1].parse().unwrap(),
                params: parts[2]
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(|v| v.parse().unwrap())
                    .collect(),
            }
        })
        .collect()
}

fn cases() -> Vec<Case> {
    let text = fs::read_to_string(dir().join("cases.tsv")).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|line| {
            let c: Vec<&str> = line.split('\t').collect();
            assert_eq!(c.len(), 6, "{line}");
            Case {
                name: c[0].to_string(),
                dtype: parse_dtype(c[1]),
                chunk_bytes: c[2].parse().unwrap(),
                filter_mask: c[3].parse().unwrap(),
                pipeline: parse_pipeline(c[4]),
                expect_error: c[5].strip_prefix("error:").map(str::to_string),
            }
        })
        .collect()
}

fn read(name: &str, ext: &str) -> Vec<u8> {
    fs::read(dir().join(format!("{name}.{ext}"))).unwrap()
}

fn run(prefix: &str) -> usize {
    let mut n = 0;
    let mut failures = Vec::new();
    for case in cases().into_iter().filter(|c| c.name.starts_with(prefix)) {
        n += 1;
        let chunk = read(&case.name, "chunk");
        let result = decode_chunk(
            &case.pipeline,
            case.filter_mask,
            &chunk,
            case.chunk_bytes,
            case.dtype.size(),
            &case.dtype,
        );
        match (&case.expect_error, result) {
            (None, Ok(out)) => {
                let want = read(&case.name, "out");
                if out != want {
                    let first = out.iter().zip(&want).position(|(a, b)| a != b);
                    failures.push(format!(
                        "{}: {} bytes decoded, {} expected, first difference at {first:?}",
                        case.name,
                        out.len(),
                        want.len()
                    ));
                }
            }
            (None, Err(e)) => failures.push(format!("{}: {e}", case.name)),
            (Some(text), Err(e)) => {
                if !e.to_string().contains(text.as_str()) {
                    failures.push(format!("{}: error {e:?} lacks {text:?}", case.name));
                }
            }
            (Some(_), Ok(_)) => failures.push(format!("{}: decoded, should fail", case.name)),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    n
}

#[test]
fn deflate() {
    assert!(run("deflate") >= 5);
}

#[test]
fn shuffle() {
    assert!(run("shuffle") >= 10);
}

#[test]
fn fletcher32() {
    assert!(run("fletcher32") >= 6);
}

#[test]
fn lzf() {
    assert!(run("lzf") >= 3);
}

#[test]
fn scaleoffset() {
    assert!(run("so_") >= 15);
}

#[test]
fn nbit() {
    assert!(run("nbit") >= 8);
}

#[test]
fn szip() {
    assert!(run("szip") >= 15);
}

#[test]
fn unknown_filter() {
    assert_eq!(run("unknown"), 1);
}

/// What h5rs writes, libhdf5's decoders read (checked in the other
/// direction here: the h5rs encoders' output decodes to the same bytes).
#[test]
fn re_encoding_round_trips() {
    for case in cases() {
        let writable = case.pipeline.iter().all(|f| matches!(f.id, 1..=3 | 32000));
        if case.expect_error.is_some() || case.filter_mask != 0 || !writable {
            continue;
        }
        let want = read(&case.name, "out");
        let stored = encode_chunk(&case.pipeline, &want, case.dtype.size(), &case.dtype).unwrap();
        let back = decode_chunk(
            &case.pipeline,
            0,
            &stored,
            want.len(),
            case.dtype.size(),
            &case.dtype,
        )
        .unwrap();
        assert_eq!(back, want, "{}", case.name);
    }
}

/// A small chunk that inflates to 16 MiB is refused; the decoder never
/// holds more than the chunk size.
#[test]
fn deflate_bomb_is_refused() {
    let bomb = read("deflate_bomb", "chunk");
    assert!(bomb.len() < 20_000);
    let pipeline = parse_pipeline("1/1/9");
    let dt = Datatype::int(4, true, ByteOrder::Little);
    let e = decode_chunk(&pipeline, 0, &bomb, 4096, 4, &dt).unwrap_err();
    assert!(e.to_string().contains("more than the 4096 bytes"), "{e}");
    // As an intermediate step (under a shuffle) the bound is a little above
    // the chunk size: still refused.
    let pipeline = parse_pipeline("2/1/4;1/1/9");
    assert!(decode_chunk(&pipeline, 0, &bomb, 4096, 4, &dt).is_err());
}
