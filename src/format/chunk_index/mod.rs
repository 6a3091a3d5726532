//! Chunk indexes (spec VII and III.A.1): from a chunked dataset's layout to
//! the address, stored size and filter mask of every allocated chunk.
//!
//! Each index kind has its own file; [`all_chunks`] dispatches on the
//! layout. Records come out in no particular order; callers key them by
//! chunk coordinates.

pub mod btree_v1;
pub mod btree_v2;
pub mod extensible_array;
pub mod fixed_array;
pub mod implicit;
pub mod single;

use crate::error::{Error, Result};
use crate::format::FileCtx;
use crate::format::layout::{ChunkIndexKind, ChunkedLayout};

/// One allocated chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkRecord {
    /// Chunk coordinates in units of chunks ("scaled" offsets): element
    /// offset divided by the chunk dimension, one per dataset dimension.
    pub coords: Vec<u64>,
    /// File address of the stored chunk.
    pub addr: u64,
    /// Stored (possibly filtered) size in bytes.
    pub size: u64,
    /// Bit n set: filter n of the pipeline was skipped for this chunk.
    pub filter_mask: u32,
}

/// What an index needs to know about its dataset.
#[derive(Debug, Clone, Copy)]
pub struct IndexParams<'x> {
    /// The chunked layout message.
    pub layout: &'x ChunkedLayout,
    /// Current dataset dimensions.
    pub dims: &'x [u64],
    /// Maximum dataset dimensions (`None`: unlimited).
    pub max_dims: &'x [Option<u64>],
    /// True when the dataset has a filter pipeline (changes record formats).
    pub filtered: bool,
}

impl IndexParams<'_> {
    /// Bytes in an unfiltered chunk.
    pub fn chunk_bytes(&self) -> Result<u64> {
        self.layout
            .dims
            .iter()
            .try_fold(self.layout.element_size, |a, &d| a.checked_mul(d))
            .ok_or_else(|| Error::format_noaddr("chunk size overflows"))
    }

    /// Chunks along each dimension for the current dims (rounded up).
    pub fn chunks_per_dim(&self) -> Vec<u64> {
        self.dims
            .iter()
            .zip(&self.layout.dims)
            .map(|(&d, &c)| d.div_ceil(c))
            .collect()
    }

    /// Chunks along each dimension for the maximum dims (unlimited counts
    /// as the current size).
    pub fn max_chunks_per_dim(&self) -> Vec<u64> {
        grid_over_max(self.dims, self.max_dims, &self.layout.dims)
    }
}

/// Chunks along each dimension of the grid over the maximum dimensions
/// `max_dims` (unlimited, or less than the current size, counts as the
/// current size `dims`), for chunks of `chunk_dims` elements: the grid an
/// implicit index lays out, and that fixed and extensible arrays number
/// their elements by.
pub fn grid_over_max(dims: &[u64], max_dims: &[Option<u64>], chunk_dims: &[u64]) -> Vec<u64> {
    max_dims
        .iter()
        .zip(dims)
        .zip(chunk_dims)
        .map(|((m, &d), &c)| m.unwrap_or(d).max(d).div_ceil(c.max(1)))
        .collect()
}

/// Checks what every fixed- and extensible-array block holds after its
/// version byte: the client id (0 unfiltered chunks, 1 filtered) and the
/// address of the header that owns the block.
pub(crate) fn check_block_owner(
    c: &mut crate::format::cursor::Cursor,
    what: &str,
    addr: u64,
    client: u8,
    header_addr: u64,
) -> Result<()> {
    let found = c.u8()?;
    if found != client {
        return Err(Error::format(
            format!("{what}: client id {found}, its header says {client}"),
            addr,
        ));
    }
    let back = c.address_field()?;
    if back != Some(header_addr) {
        return Err(Error::format(
            format!("{what}: header address {back:?} is not the header at {header_addr:#x}"),
            addr,
        ));
    }
    Ok(())
}

/// Converts a row-major linear chunk index into chunk coordinates, given
/// the number of chunks along each dimension.
pub fn unlinearize(mut index: u64, per_dim: &[u64]) -> Vec<u64> {
    let mut out = vec![0; per_dim.len()];
    for (o, &n) in out.iter_mut().zip(per_dim).rev() {
        if n == 0 {
            continue;
        }
        *o = index % n;
        index /= n;
    }
    out
}

/// Every allocated chunk of the dataset.
pub fn all_chunks(ctx: &FileCtx, p: &IndexParams) -> Result<Vec<ChunkRecord>> {
    let Some(addr) = p.layout.address else {
        return Ok(Vec::new());
    };
    if p.layout.dims.len() != p.dims.len() {
        return Err(Error::format(
            format!(
                "chunk index: chunks have {} dimensions, the dataspace {}",
                p.layout.dims.len(),
                p.dims.len()
            ),
            addr,
        ));
    }
    match &p.layout.index {
        ChunkIndexKind::BTreeV1 => btree_v1::chunks(ctx, addr, p),
        ChunkIndexKind::Single { filtered } => single::chunks(addr, *filtered, p),
        ChunkIndexKind::Implicit => implicit::chunks(ctx, addr, p),
        ChunkIndexKind::FixedArray { .. } => fixed_array::chunks(ctx, addr, p),
        ChunkIndexKind::ExtensibleArray { .. } => extensible_array::chunks(ctx, addr, p),
        ChunkIndexKind::BTreeV2 { .. } => btree_v2::chunks(ctx, addr, p),
    }
}

/// The file space of a dataset's chunk index structure, as `(address,
/// length)` extents: every block of a fixed array, extensible array or
/// version 2 B-tree index. Empty for the indexes without blocks of their
/// own (single chunk, implicit: their chunks are data, not index) and for
/// the version 1 B-tree (whose node size depends on the superblock; see
/// [`crate::format::btree_v1::node_addresses`]).
///
/// # Errors
/// As reading the index's chunks.
pub(crate) fn index_extents(ctx: &FileCtx, p: &IndexParams) -> Result<Vec<(u64, u64)>> {
    let Some(addr) = p.layout.address else {
        return Ok(Vec::new());
    };
    match &p.layout.index {
        ChunkIndexKind::FixedArray { .. } => fixed_array::extents(ctx, addr),
        ChunkIndexKind::ExtensibleArray { .. } => extensible_array::extents(ctx, addr, p),
        ChunkIndexKind::BTreeV2 { .. } => {
            crate::format::btree_v2::BTreeV2::read(ctx, addr)?.extents(ctx)
        }
        ChunkIndexKind::BTreeV1 | ChunkIndexKind::Single { .. } | ChunkIndexKind::Implicit => {
            Ok(Vec::new())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unlinearize_row_major() {
        assert_eq!(unlinearize(5, &[2, 3]), vec![1, 2]);
        assert_eq!(unlinearize(0, &[4]), vec![0]);
    }
}
