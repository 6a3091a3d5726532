//! h5rs: HDF5 in pure Rust.
//!
//! Reads every HDF5 file libhdf5 and h5py write (superblocks v0–v3, both
//! object header versions, old- and new-style groups, every datatype class,
//! all chunk indexes, the standard filters, virtual and external storage),
//! with no C dependency. Files are memory-mapped and handles are lazy;
//! chunks decode in parallel; hostile files give errors, never panics.
//!
//! # Quick start
//!
//! ```no_run
//! use ndarray::{s, Ix2};
//!
//! let file = h5rs::File::open("data.h5")?;
//! let ds = file.dataset("group1/temperature")?; // reads metadata only
//! println!("{:?} {} {:?}", ds.shape(), ds.dtype().canonical(), ds.chunks());
//! let all = ds.read::<f64, Ix2>()?;
//! let part = ds.read_slice::<f64, _, Ix2>(s![705..716, 400..411])?;
//! let units: String = ds.attr("units")?.read_scalar()?;
//! file.root()?.visit(|path| {
//!     println!("{path}");
//!     None::<()>
//! })?;
//! # Ok::<(), h5rs::Error>(())
//! ```
//!
//! # Layers
//!
//! Data flows one way through four layers; a module never imports from a
//! layer above it:
//!
//! 1. [`format`](mod@format): the on-disk structures, decoded from byte slices (no I/O).
//! 2. [`io`]: byte sources: a memory map (the default) or bytes in memory.
//! 3. [`array`](mod@array): the array machinery: selections, the chunk grid, filters,
//!    element conversion, parallel chunk decoding.
//! 4. the high-level API: [`File`], [`Group`], [`Dataset`], [`Attribute`].
#![warn(missing_docs)]

pub mod array;
pub mod bytes;
pub mod error;
pub mod format;
pub mod io;
pub mod limits;

pub use error::{Error, Result};
pub use limits::Limits;
pub mod hl;

pub use array::selection::Selection;
pub use format::datatype::Datatype;
pub use h5rs_derive::H5Type;
pub use hl::attribute::Attribute;
pub use hl::dataset::{Dataset, LayoutClass};
pub use hl::file::{File, OpenOptions};
pub use hl::group::{Group, Link, LinkTarget};
pub use hl::object::{NamedDatatype, Object};
pub use hl::types::{F16, FixedBytes, H5Type, ObjectRef, VlenSink};
pub use hl::value::Value;
pub use hl::writer::Format;
pub use hl::writer::api::{
    DatasetBuilder, FileBuilder, IntoMaxShape, IntoShape, MaxDim, Scalar, WriteData, guess_chunk,
};
pub use hl::writer::copy::{CopyOptions, CopyReport, LayoutChoice};
pub use hl::writer::open::clear_write_mark;
