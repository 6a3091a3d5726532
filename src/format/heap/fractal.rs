//! Fractal heap (spec III.G): dense links, dense attributes and shared
//! messages live here, addressed by heap IDs.
//!
//! (Being implemented; the interface below is fixed.)

use std::borrow::Cow;

use crate::error::{Error, Result};
use crate::format::FileCtx;

/// A fractal heap header, decoded.
#[derive(Debug, Clone)]
pub struct FractalHeap {
    /// Address of the header.
    pub addr: u64,
    /// Length of heap IDs in bytes.
    pub id_len: u16,
}

impl FractalHeap {
    /// Reads the heap header (`FRHP`) at `addr`, checksum verified.
    pub fn read(_ctx: &FileCtx, addr: u64) -> Result<FractalHeap> {
        Err(Error::unsupported(format!("fractal heap at {addr:#x}")))
    }

    /// The object with heap ID `id` (managed, huge or tiny).
    pub fn object<'a>(&self, _ctx: &FileCtx<'a>, _id: &[u8]) -> Result<Cow<'a, [u8]>> {
        Err(Error::unsupported("fractal heap objects"))
    }
}
