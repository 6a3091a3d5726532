//! The high-level API: files, groups, datasets, attributes, typed reads.

pub mod attribute;
pub mod dataset;
pub mod file;
pub mod group;
pub mod object;
pub mod types;
pub mod value;
mod virtual_ds;
pub(crate) mod writer;
