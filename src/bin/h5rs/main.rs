//! `h5rs`: list, dump and check HDF5 files.

mod bench;
mod canon;
mod dump;
mod ls;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "h5rs", version, about = "Inspect HDF5 files (pure Rust)")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// List the members of a group, like h5ls.
    Ls {
        /// Recurse into subgroups.
        #[arg(short, long)]
        recursive: bool,
        /// The HDF5 file.
        file: String,
        /// The group or dataset to list (default: the root group).
        path: Option<String>,
    },
    /// Print objects, attributes and values (large arrays abbreviated).
    Dump {
        /// The HDF5 file.
        file: String,
        /// The object to dump (default: everything).
        path: Option<String>,
    },
    /// Print the canonical dump (one JSON object per line).
    Canon {
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (file, r) = match &cli.cmd {
        Cmd::Ls {
            recursive,
            file,
            path,
        } => (file, ls::run(file, path.as_deref(), *recursive)),
        Cmd::Dump { file, path } => (file, dump::run(file, path.as_deref())),
        Cmd::Canon { file } => (file, canon::run(file)),
        Cmd::Bench { workload, args } => (workload, bench::run(workload, args)),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("h5rs: {file}: {e}");
            ExitCode::FAILURE
        }
    }
}
