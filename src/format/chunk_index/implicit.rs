//! Chunk index: implicit (spec VII.B). Unfiltered chunks of a dataset with
//! fixed maximum dimensions lie one after another from the index address,
//! in row-major order of the chunk grid over the maximum dimensions.

use super::{ChunkRecord, IndexParams, unlinearize};
use crate::error::{Error, Result};

/// Every chunk of the grid, each at its computed address.
pub fn chunks(addr: u64, p: &IndexParams) -> Result<Vec<ChunkRecord>> {
    let size = p.chunk_bytes()?;
    let per_dim = p.max_chunks_per_dim();
    let current = p.chunks_per_dim();
    let total = per_dim
        .iter()
        .try_fold(1u64, |a, &n| a.checked_mul(n))
        .ok_or_else(|| Error::format("implicit index: chunk count overflows", addr))?;
    let mut out = Vec::new();
    for i in 0..total {
        let coords = unlinearize(i, &per_dim);
        if coords.iter().zip(&current).any(|(c, n)| c >= n) {
            continue;
        }
        let at = i
            .checked_mul(size)
            .and_then(|o| o.checked_add(addr))
            .ok_or_else(|| Error::format("implicit index: chunk address overflows", addr))?;
        out.push(ChunkRecord {
            coords,
            addr: at,
            size,
            filter_mask: 0,
        });
    }
    Ok(out)
}
