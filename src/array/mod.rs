//! The array machinery: selections, chunk grid, filters, conversion.
#![forbid(unsafe_code)]

pub mod convert;
pub mod filters;
pub mod read;
pub mod selection;
