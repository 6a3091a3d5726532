//! Chunk index: fixed_array (being implemented; the interface is fixed).

use super::{ChunkRecord, IndexParams};
use crate::error::{Error, Result};
use crate::format::FileCtx;

/// Every allocated chunk in the index at `addr`.
pub fn chunks(_ctx: &FileCtx, addr: u64, _p: &IndexParams) -> Result<Vec<ChunkRecord>> {
    Err(Error::unsupported(format!(
        "fixed_array chunk index at {addr:#x}"
    )))
}
