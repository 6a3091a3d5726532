//! h5rs: HDF5 in pure Rust.
//!
//! # Layers
//!
//! Data flows one way through four layers; a module never imports from a
//! layer above it:
//!
//! 1. [`format`]: the on-disk structures, decoded from byte slices (no I/O).
//! 2. [`io`]: byte sources: a memory map (the default) or bytes in memory.
//! 3. [`array`]: the array machinery: selections, the chunk grid, filters,
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
pub use hl::attribute::Attribute;
pub use hl::dataset::{Dataset, LayoutClass};
pub use hl::file::File;
pub use hl::group::{Group, Link, LinkTarget};
pub use hl::object::{NamedDatatype, Object};
pub use hl::types::H5Type;
pub use hl::value::Value;
