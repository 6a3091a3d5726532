//! Chunk index: btree_v2 (being implemented; the interface is fixed).

use super::{ChunkRecord, IndexParams};
use crate::error::{Error, Result};
use crate::format::FileCtx;

/// Every allocated chunk in the index at `addr`.
pub fn chunks(_ctx: &FileCtx, addr: u64, _p: &IndexParams) -> Result<Vec<ChunkRecord>> {
    Err(Error::unsupported(format!(
        "btree_v2 chunk index at {addr:#x}"
    )))
}
