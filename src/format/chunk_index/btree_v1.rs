//! Chunk index: version 1 B-tree of raw-data chunk nodes (layout v1 to v3).
//! Each leaf key holds the chunk's stored size, filter mask and element
//! offsets (plus a trailing 0 for the element-size dimension).

use super::{ChunkRecord, IndexParams};
use crate::error::{Error, Result};
use crate::format::FileCtx;
use crate::format::btree_v1::{self, NodeType};
use crate::format::cursor::Cursor;

/// Every chunk in the B-tree at `addr`.
pub fn chunks(ctx: &FileCtx, addr: u64, p: &IndexParams) -> Result<Vec<ChunkRecord>> {
    let rank = p.dims.len();
    let mut out = Vec::new();
    btree_v1::walk(
        ctx,
        addr,
        NodeType::Chunk { key_dims: rank + 1 },
        &mut |key, child| {
            let mut c = Cursor::new(key, 0, ctx.sizes);
            let size = c.u32()? as u64;
            let filter_mask = c.u32()?;
            let mut coords = Vec::with_capacity(rank);
            for &cd in &p.layout.dims {
                let off = c.u64()?;
                if off % cd != 0 {
                    return Err(Error::format(
                        format!("chunk offset {off} is not a multiple of the chunk size {cd}"),
                        child,
                    ));
                }
                coords.push(off / cd);
            }
            out.push(ChunkRecord {
                coords,
                addr: child,
                size,
                filter_mask,
            });
            Ok(())
        },
    )?;
    Ok(out)
}
