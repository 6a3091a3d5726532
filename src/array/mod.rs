//! The array machinery: selections, chunk grid, filters, conversion.

pub mod filters;
