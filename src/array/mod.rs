//! The array machinery: selections, chunk grid, filters, conversion.
