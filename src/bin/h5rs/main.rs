//! `h5rs`: list, dump and check HDF5 files.

mod bench;
mod canon;
mod dump;
mod ls;
mod repack;
mod stats;

use std::path::Path;
use std::process::ExitCode;
use std::sync::OnceLock;

use clap::{Parser, Subcommand};
use h5rs::{File, Limits, OpenOptions};

#[derive(Parser)]
#[command(name = "h5rs", version, about = "Inspect HDF5 files (pure Rust)")]
struct Cli {
    /// Largest result of one read (dataset or attribute values), as bytes
    /// or with a K, M, G or T suffix (powers of 1024); default 64G. Bounds
    /// what a file from an untrusted source can make h5rs allocate.
    #[arg(long, global = true, value_parser = parse_size)]
    max_read: Option<u64>,
    /// Most bytes of variable-length data (strings, sequences) one read may
    /// produce (K, M, G or T suffix allowed); default 4G.
    #[arg(long, global = true, value_parser = parse_size)]
    max_vlen: Option<u64>,
    /// Largest decoded chunk (K, M, G or T suffix allowed); default 4G.
    #[arg(long, global = true, value_parser = parse_size)]
    max_chunk: Option<u64>,
    /// Read the whole file into memory instead of mapping it, so that
    /// another process truncating it cannot end this one with SIGBUS.
    #[arg(long, global = true)]
    no_mmap: bool,
    #[command(subcommand)]
    cmd: Cmd,
}

/// How every subcommand opens files (the command line's limits).
static OPEN_OPTIONS: OnceLock<OpenOptions> = OnceLock::new();

/// Opens `path` for reading with the command line's options.
pub(crate) fn open(path: impl AsRef<Path>) -> h5rs::Result<File> {
    let opts = OPEN_OPTIONS.get_or_init(OpenOptions::new);
    File::open_with(path, opts)
}

/// A size: digits, then optionally K, M, G or T (powers of 1024), with
/// an optional trailing `B` or `iB`.
fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let t = t
        .strip_suffix("iB")
        .or_else(|| t.strip_suffix('B'))
        .unwrap_or(t);
    let (digits, shift) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let shift = match c.to_ascii_uppercase() {
                'K' => 10,
                'M' => 20,
                'G' => 30,
                'T' => 40,
                _ => return Err(format!("unknown size unit {c:?} (K, M, G or T)")),
            };
            (&t[..i], shift)
        }
        _ => (t, 0),
    };
    let n: u64 = digits
        .trim()
        .parse()
        .map_err(|_| format!("not a size: {s:?}"))?;
    n.checked_mul(1u64 << shift)
        .ok_or_else(|| format!("size too large: {s:?}"))
}

#[derive(Subcommand)]
enum Cmd {
    /// List the members of a group, like h5ls.
    Ls {
        /// Recurse into subgroups.
        #[arg(short, long)]
        recursive: bool,
        /// Also list each object's attributes (name, type, shape, value).
        #[arg(short, long)]
        attrs: bool,
        /// The HDF5 file.
        file: String,
        /// The group or dataset to list (default: the root group).
        path: Option<String>,
    },
    /// Print objects, attributes and values (large arrays abbreviated).
    Dump {
        /// Print only this slice of the dataset, numpy style, one entry per
        /// axis: `start:stop`, `start:stop:step`, an index or `:`; negative
        /// indices count from the end; missing axes mean `:`
        /// (e.g. `--slice '705:716,400:411'`).
        #[arg(short, long, allow_hyphen_values = true)]
        slice: Option<String>,
        /// The HDF5 file.
        file: String,
        /// The object to dump (default: everything).
        path: Option<String>,
    },
    /// Count, non-fill count, min, max and mean of a numeric dataset, read
    /// block by block along its first axis.
    Stats {
        /// The value marking missing data (default: the `_FillValue`, then
        /// `CodeMissingValue` or `missing_value` attribute, then the fill
        /// value of the dataset). NaN always counts as missing.
        #[arg(long, allow_hyphen_values = true)]
        fill: Option<f64>,
        /// Rows (along the first axis) per read (default: whole chunks,
        /// about 16 MiB).
        #[arg(long)]
        block_rows: Option<u64>,
        /// The HDF5 file.
        file: String,
        /// The dataset.
        path: String,
    },
    /// Print the canonical dump (one JSON object per line).
    Canon {
        /// The HDF5 file.
        file: String,
    },
    /// Copy a file into a new, compact one (as h5repack): every object,
    /// link and attribute; `--filter` and `--layout` change every dataset.
    Repack {
        /// Filters for every dataset, in order: GZIP=N, SHUF, FLET, NONE.
        #[arg(short, long)]
        filter: Vec<String>,
        /// Layout of every dataset: CONTI, COMPA or CHUNK=AxB.
        #[arg(short, long)]
        layout: Option<String>,
        /// Format of the copy: earliest or latest (default: the input's).
        #[arg(long)]
        format: Option<String>,
        /// The file to copy.
        input: String,
        /// The new file.
        output: String,
    },
    /// Clear the mark a writer that did not close the file left in it
    /// (as h5clear -s); only for a file no program is writing.
    Clear {
        /// The HDF5 file.
        file: String,
    },
    /// Run a benchmark workload: read-all|read-cols FILE DSET,
    /// read-random FILE DSET N, meta-walk FILE.
    Bench {
        /// The workload.
        workload: String,
        /// Its arguments.
        args: Vec<String>,
    },
}

/// A reader closing the pipe early (`h5rs dump f.h5 | head`) ends the
/// output: exit quietly, as Unix tools do, instead of reporting a panic.
fn quiet_on_closed_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if msg.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info);
    }));
}

fn main() -> ExitCode {
    quiet_on_closed_pipe();
    let cli = Cli::parse();
    let mut limits = Limits::default();
    if let Some(n) = cli.max_read {
        limits.max_read_bytes = n;
    }
    if let Some(n) = cli.max_vlen {
        limits.max_vlen_bytes = n;
    }
    if let Some(n) = cli.max_chunk {
        limits.max_chunk_bytes = n;
    }
    let opts = OpenOptions::new().mmap(!cli.no_mmap).limits(limits);
    // set once, before any subcommand opens a file
    let _ = OPEN_OPTIONS.set(opts);
    let (file, r) = match &cli.cmd {
        Cmd::Ls {
            recursive,
            attrs,
            file,
            path,
        } => (file, ls::run(file, path.as_deref(), *recursive, *attrs)),
        Cmd::Dump { slice, file, path } => (
            file,
            match slice {
                None => dump::run(file, path.as_deref()),
                Some(s) => dump::run_slice(file, path.as_deref(), s),
            },
        ),
        Cmd::Stats {
            fill,
            block_rows,
            file,
            path,
        } => (file, stats::run(file, path, *fill, *block_rows)),
        Cmd::Canon { file } => (file, canon::run(file)),
        Cmd::Bench { workload, args } => (workload, bench::run(workload, args)),
        Cmd::Clear { file } => (
            file,
            h5rs::clear_write_mark(file).map(|had| {
                if had {
                    println!("{file}: cleared the open-for-writing mark");
                } else {
                    println!("{file}: no mark to clear");
                }
            }),
        ),
        Cmd::Repack {
            filter,
            layout,
            format,
            input,
            output,
        } => (
            input,
            repack::run(input, output, filter, layout.as_deref(), format.as_deref()),
        ),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("h5rs: {file}: {e}");
            ExitCode::FAILURE
        }
    }
}
