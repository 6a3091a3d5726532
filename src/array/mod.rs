//! The array machinery: selections, chunk grid, filters, conversion.
#![deny(unsafe_code)]

pub mod buffers;
pub mod chunk_cache;
pub mod convert;
pub mod filters;
pub mod read;
pub mod selection;
