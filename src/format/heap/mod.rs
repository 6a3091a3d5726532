//! Heaps: local (names of old-style groups), global (variable-length data)
//! and fractal (names and attributes of new-style groups, shared messages).

pub mod fractal;
pub mod global;
pub mod local;
