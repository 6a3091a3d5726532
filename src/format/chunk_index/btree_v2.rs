//! Chunk index: version 2 B-tree (spec VII.E, records in III.A.2), used by
//! chunked datasets with more than one unlimited dimension (layout message
//! version 4 or 5, chunk index type 5).
//!
//! ```text
//! type 10 (no filters): address (O) | scaled offset (8) per dimension
//! type 11 (filtered):   address (O) | chunk size (w) | filter mask (4)
//!                       | scaled offset (8) per dimension
//! ```
//!
//! The chunk size width `w` of filtered records:
//!
//! - layout version 4: one more than the bytes needed to encode the size of
//!   an unfiltered chunk, at most 8 (spec and libhdf5 agree);
//! - layout version 5: the spec says "size of offsets", but libhdf5 2.0
//!   writes "size of lengths" bytes (a file with 4-byte offsets and 8-byte
//!   lengths has 8-byte chunk sizes, one with 8-byte offsets and 4-byte
//!   lengths 4-byte sizes). Both are accepted, told apart by the record
//!   size.
//!
//! Scaled offsets are element offsets divided by the chunk dimensions: the
//! chunk coordinates, slowest dimension first.

use super::{ChunkRecord, IndexParams};
use crate::error::{Error, Result};
use crate::format::FileCtx;
use crate::format::btree_v2::BTreeV2;
use crate::format::btree_v2::records::ChunkRecordV2;
use crate::format::cursor::{Sizes, bytes_for};

/// Width of the chunk size in filtered (type 11) records, as libhdf5
/// writes it for layout message `version` and chunks of `chunk_bytes`
/// unfiltered bytes.
pub fn filtered_size_width(version: u8, chunk_bytes: u64, sizes: Sizes) -> usize {
    if version >= 5 {
        sizes.length as usize
    } else {
        (bytes_for(chunk_bytes) + 1).min(8)
    }
}

/// Every allocated chunk in the index at `addr`.
///
/// # Errors
///
/// Format errors from the B-tree, or when its record type or size does not
/// match the dataset (filtered or not, its rank, the layout version).
pub fn chunks(ctx: &FileCtx, addr: u64, p: &IndexParams) -> Result<Vec<ChunkRecord>> {
    let tree = BTreeV2::read(ctx, addr)?;
    let rank = p.layout.dims.len();
    let chunk_bytes = p.chunk_bytes()?;
    let want = if p.filtered { 11 } else { 10 };
    if tree.record_type != want {
        return Err(Error::format(
            format!(
                "chunk index: v2 B-tree of record type {}, a {} dataset needs {want}",
                tree.record_type,
                if p.filtered { "filtered" } else { "unfiltered" }
            ),
            addr,
        ));
    }
    let width = if p.filtered {
        let expected = filtered_size_width(p.layout.version, chunk_bytes, ctx.sizes);
        let mut candidates = vec![expected];
        if p.layout.version >= 5 {
            // the spec's wording for version 5
            candidates.push(ctx.sizes.offset as usize);
        }
        let w = candidates.into_iter().find(|&w| {
            ChunkRecordV2::size(ctx.sizes, rank, Some(w)) == Some(tree.record_size as usize)
        });
        Some(w.ok_or_else(|| {
            Error::format(
                format!(
                    "chunk index: v2 B-tree records of {} bytes do not match a filtered \
                     {rank}-dimensional chunk record with {expected}-byte chunk sizes \
                     (layout version {})",
                    tree.record_size, p.layout.version
                ),
                addr,
            )
        })?)
    } else {
        let need = ChunkRecordV2::size(ctx.sizes, rank, None);
        if need != Some(tree.record_size as usize) {
            return Err(Error::format(
                format!(
                    "chunk index: v2 B-tree records of {} bytes, a {rank}-dimensional chunk \
                     record has {}",
                    tree.record_size,
                    need.unwrap_or(0)
                ),
                addr,
            ));
        }
        None
    };
    let mut out = Vec::new();
    tree.for_each_record(ctx, &mut |r| {
        let rec = ChunkRecordV2::decode(r, ctx.sizes, rank, width, addr)?;
        if rec.addr == ctx.sizes.undefined_address() {
            return Err(Error::format(
                "chunk index: v2 B-tree record with an undefined chunk address",
                addr,
            ));
        }
        let (size, filter_mask) = rec.filtered.unwrap_or((chunk_bytes, 0));
        out.push(ChunkRecord {
            coords: rec.scaled,
            addr: rec.addr,
            size,
            filter_mask,
        });
        Ok(())
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::btree_v2::tests::{ctx, file, header, leaf};
    use crate::format::layout::{ChunkIndexKind, ChunkedLayout};

    fn layout(version: u8) -> ChunkedLayout {
        ChunkedLayout {
            version,
            dims: vec![4, 5],
            element_size: 4,
            index: ChunkIndexKind::BTreeV2 {
                node_size: 2048,
                split: 100,
                merge: 40,
            },
            address: Some(0),
            dont_filter_partial_edges: false,
        }
    }

    fn rec(addr: u64, size: Option<(&[u8], u32)>, scaled: [u64; 2]) -> Vec<u8> {
        let mut b = addr.to_le_bytes().to_vec();
        if let Some((s, m)) = size {
            b.extend(s);
            b.extend(m.to_le_bytes());
        }
        for s in scaled {
            b.extend(s.to_le_bytes());
        }
        b
    }

    fn run(version: u8, filtered: bool, data: &[u8]) -> Result<Vec<ChunkRecord>> {
        let l = layout(version);
        let dims = [10u64, 12];
        let max = [None, None];
        let p = IndexParams {
            layout: &l,
            dims: &dims,
            max_dims: &max,
            filtered,
        };
        chunks(&ctx(data), 0, &p)
    }

    #[test]
    fn widths() {
        let s = Sizes::DEFAULT;
        assert_eq!(filtered_size_width(4, 80, s), 2);
        assert_eq!(filtered_size_width(4, 255, s), 2);
        assert_eq!(filtered_size_width(4, 256, s), 3);
        assert_eq!(filtered_size_width(4, u64::MAX, s), 8);
        assert_eq!(filtered_size_width(5, 80, s), 8);
        let s = Sizes::new(8, 4).unwrap();
        assert_eq!(filtered_size_width(5, 80, s), 4);
    }

    #[test]
    fn unfiltered_records() {
        let r0 = rec(0x800, None, [0, 0]);
        let r1 = rec(0x850, None, [0, 1]);
        let h = header(10, 2048, 24, 0, 64, 2, 2);
        let l = leaf(10, &[&r0, &r1]);
        let f = file(&[(0, &h), (64, &l)]);
        let c = run(4, false, &f).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c[1].coords, vec![0, 1]);
        assert_eq!((c[1].addr, c[1].size, c[1].filter_mask), (0x850, 80, 0));
        // a filtered dataset cannot use a type 10 tree
        assert!(run(4, true, &f).is_err());
    }

    #[test]
    fn filtered_v4_records() {
        // chunks of 80 bytes: sizes take 2 bytes
        let r0 = rec(0x800, Some((&[48, 0], 0)), [0, 0]);
        let r1 = rec(0x830, Some((&[50, 0], 1)), [2, 1]);
        let h = header(11, 2048, 30, 0, 64, 2, 2);
        let l = leaf(11, &[&r0, &r1]);
        let f = file(&[(0, &h), (64, &l)]);
        let c = run(4, true, &f).unwrap();
        assert_eq!(c[0].size, 48);
        assert_eq!(
            (c[1].size, c[1].filter_mask, c[1].coords.clone()),
            (50, 1, vec![2, 1])
        );
        // the same records under a version 5 layout have the wrong size
        assert!(run(5, true, &f).is_err());
    }

    #[test]
    fn filtered_v5_records() {
        let r0 = rec(0x800, Some((&48u64.to_le_bytes(), 0)), [1, 2]);
        let h = header(11, 2048, 36, 0, 64, 1, 1);
        let l = leaf(11, &[&r0]);
        let f = file(&[(0, &h), (64, &l)]);
        let c = run(5, true, &f).unwrap();
        assert_eq!(
            (c[0].addr, c[0].size, c[0].coords.clone()),
            (0x800, 48, vec![1, 2])
        );
        assert!(run(4, true, &f).is_err());
    }
}
