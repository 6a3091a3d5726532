//! Chunk index: a single chunk (spec VII.A). The layout message holds the
//! chunk's address, and its stored size and filter mask when filtered.

use super::{ChunkRecord, IndexParams};
use crate::error::Result;

/// The one chunk at `addr`.
pub fn chunks(
    addr: u64,
    filtered: Option<(u64, u32)>,
    p: &IndexParams,
) -> Result<Vec<ChunkRecord>> {
    let (size, filter_mask) = match filtered {
        Some(f) => f,
        None => (p.chunk_bytes()?, 0),
    };
    Ok(vec![ChunkRecord {
        coords: vec![0; p.dims.len()],
        addr,
        size,
        filter_mask,
    }])
}
