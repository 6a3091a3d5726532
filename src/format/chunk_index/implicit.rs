//! Chunk index: implicit (spec VII.B). Unfiltered chunks of a dataset with
//! fixed maximum dimensions lie one after another from the index address,
//! in row-major order of the chunk grid over the maximum dimensions.

use super::{ChunkRecord, IndexParams, unlinearize};
use crate::error::{Error, Result};
use crate::format::FileCtx;

/// Every chunk of the grid, each at its computed address.
///
/// # Errors
/// A format error when the chunks are empty, or when the grid of chunks
/// (all allocated when the dataset is created) runs past the end of the
/// file: the grid's size is checked before any chunk is listed.
pub fn chunks(ctx: &FileCtx, addr: u64, p: &IndexParams) -> Result<Vec<ChunkRecord>> {
    let size = p.chunk_bytes()?;
    if size == 0 {
        return Err(Error::format("implicit index: chunks of 0 bytes", addr));
    }
    let per_dim = p.max_chunks_per_dim();
    let current = p.chunks_per_dim();
    let total = per_dim
        .iter()
        .try_fold(1u64, |a, &n| a.checked_mul(n))
        .ok_or_else(|| Error::format("implicit index: chunk count overflows", addr))?;
    let span = total.checked_mul(size);
    if span.is_none_or(|s| s > ctx.end().saturating_sub(addr)) {
        return Err(Error::format(
            format!(
                "implicit index: {total} chunks of {size} bytes run past the end of the file ({} bytes)",
                ctx.end()
            ),
            addr,
        ));
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::cursor::Sizes;
    use crate::format::layout::{ChunkIndexKind, ChunkedLayout};
    use crate::limits::Limits;

    fn layout() -> ChunkedLayout {
        ChunkedLayout {
            version: 4,
            dims: vec![2, 3],
            element_size: 4,
            index: ChunkIndexKind::Implicit,
            address: Some(16),
            dont_filter_partial_edges: false,
        }
    }

    /// The implicit index at 16 of a 112-byte file, for a dataset of `dims`.
    fn list(l: &ChunkedLayout, dims: &[u64]) -> Result<Vec<ChunkRecord>> {
        let data = [0u8; 16 + 4 * 24];
        let ctx = FileCtx {
            data: &data,
            base: 0,
            sizes: Sizes::new(8, 8).unwrap(),
            limits: Limits::default(),
        };
        let p = IndexParams {
            layout: l,
            dims,
            max_dims: &[Some(4), Some(6)],
            filtered: false,
        };
        chunks(&ctx, 16, &p)
    }

    #[test]
    fn lists_the_grid_at_computed_addresses() {
        let c = list(&layout(), &[4, 6]).unwrap();
        assert_eq!(c.len(), 4);
        assert_eq!(
            (c[3].coords.clone(), c[3].addr, c[3].size),
            (vec![1, 1], 16 + 72, 24)
        );
    }

    #[test]
    fn a_grid_larger_than_the_file_is_an_error() {
        // a 2^56-row dataset in a 112-byte file: an error, not 2^55 records
        let e = list(&layout(), &[1 << 56, 6]).unwrap_err().to_string();
        assert!(e.contains("run past the end of the file"), "{e}");
        let mut zero = layout();
        zero.element_size = 0;
        assert!(
            list(&zero, &[1 << 56, 6])
                .unwrap_err()
                .to_string()
                .contains("0 bytes")
        );
    }
}
