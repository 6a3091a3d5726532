//! Fuzz harnesses for h5rs (see README.md in this folder).

mod harness;
pub use harness::*;
