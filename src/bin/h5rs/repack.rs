//! `h5rs repack IN OUT`: a fresh, compact copy of a file, as h5repack
//! makes: every object, link, attribute and committed type, with filters,
//! layout and format changed when asked.

use h5rs::format::filter_pipeline::FilterInfo;
use h5rs::{CopyOptions, File, Format, LayoutChoice};

/// Parses `--filter` values: `GZIP=N`, `SHUF`, `FLET`, `NONE`, in order.
pub fn parse_filters(specs: &[String]) -> h5rs::Result<Option<Vec<FilterInfo>>> {
    if specs.is_empty() {
        return Ok(None);
    }
    let mut out = Vec::new();
    for s in specs {
        let up = s.to_ascii_uppercase();
        let f = |id: u16, name: &str, flags: u16, params: Vec<u32>| FilterInfo {
            id,
            name: name.to_string(),
            flags,
            params,
        };
        match up.split_once('=') {
            Some(("GZIP", level)) => {
                let level: u32 =
                    level.parse().ok().filter(|l| *l <= 9).ok_or_else(|| {
                        h5rs::Error::usage(format!("--filter {s}: a level 0 to 9"))
                    })?;
                out.push(f(1, "deflate", 1, vec![level]));
            }
            None if up == "SHUF" => out.push(f(2, "shuffle", 1, vec![])),
            None if up == "FLET" => out.push(f(3, "fletcher32", 0, vec![])),
            None if up == "NONE" => out.clear(),
            _ => {
                return Err(h5rs::Error::usage(format!(
                    "--filter {s}: expected GZIP=N, SHUF, FLET or NONE"
                )));
            }
        }
    }
    // as h5repack and h5py: shuffle first, checksum last
    out.sort_by_key(|f| match f.id {
        2 => 0,
        3 => 2,
        _ => 1,
    });
    Ok(Some(out))
}

/// Parses `--layout`: `CONTI`, `COMPA` or `CHUNK=AxB...`.
pub fn parse_layout(spec: Option<&str>) -> h5rs::Result<Option<LayoutChoice>> {
    let Some(s) = spec else {
        return Ok(None);
    };
    let up = s.to_ascii_uppercase();
    Ok(Some(match up.split_once('=') {
        None if up == "CONTI" => LayoutChoice::Contiguous,
        None if up == "COMPA" => LayoutChoice::Compact,
        Some(("CHUNK", dims)) => LayoutChoice::Chunked(
            dims.split('X')
                .map(|d| d.parse::<u64>().ok().filter(|&d| d > 0))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| {
                    h5rs::Error::usage(format!("--layout {s}: CHUNK=AxB with sizes above 0"))
                })?,
        ),
        _ => {
            return Err(h5rs::Error::usage(format!(
                "--layout {s}: expected CONTI, COMPA or CHUNK=AxB"
            )));
        }
    }))
}

/// One line on the terminal, rewritten as datasets are copied.
fn show_progress(done: usize, total: usize) {
    eprint!("\rh5rs repack: dataset {} of {total}", done + 1);
    if done + 1 == total {
        eprintln!();
    }
}

/// Copies `input` into a new file `output`.
pub fn run(
    input: &str,
    output: &str,
    filters: &[String],
    layout: Option<&str>,
    format: Option<&str>,
) -> h5rs::Result<()> {
    use std::io::IsTerminal;
    let opts = CopyOptions {
        filters: parse_filters(filters)?,
        layout: parse_layout(layout)?,
        progress: std::io::stderr()
            .is_terminal()
            .then_some(show_progress as fn(usize, usize)),
    };
    let src = File::open(input)?;
    let format = match format {
        Some("latest") => Format::Latest,
        Some("earliest") => Format::Earliest,
        Some(other) => {
            return Err(h5rs::Error::usage(format!(
                "--format {other}: expected earliest or latest"
            )));
        }
        None if src.superblock_version() >= 2 => Format::Latest,
        None => Format::Earliest,
    };
    let dst = File::builder().format(format).create(output)?;
    let report = dst.copy_from_with(&src, &opts)?;
    dst.close()?;
    for (path, what) in report.notes {
        eprintln!("h5rs repack: {path}: {what}");
    }
    Ok(())
}
