//! Local heap (spec III.D): the link names of a symbol-table group.
//!
//! ```text
//! "HEAP" | version 0 | reserved (3) | data segment size (L)
//!        | offset to head of free list (L) | data segment address (O)
//! ```

use crate::error::{Error, Result};
use crate::format::FileCtx;

/// A local heap: a view of its data segment.
#[derive(Debug, Clone, Copy)]
pub struct LocalHeap<'a> {
    /// The data segment.
    pub data: &'a [u8],
    /// Address of the heap header.
    pub addr: u64,
}

impl<'a> LocalHeap<'a> {
    /// Reads the heap header at `addr`.
    pub fn read(ctx: &FileCtx<'a>, addr: u64) -> Result<Self> {
        let len = 8 + 2 * ctx.sizes.length as u64 + ctx.sizes.offset as u64;
        let mut c = ctx.cursor(addr, len, "local heap")?;
        c.signature(b"HEAP", "local heap")?;
        let version = c.u8()?;
        if version != 0 {
            return Err(Error::format(
                format!("local heap: version {version}"),
                addr,
            ));
        }
        c.skip(3)?;
        let size = c.length()?;
        let _free = c.length()?;
        let data_addr = c.required_address("local heap data segment")?;
        let data = ctx
            .slice(data_addr, size, "local heap data segment")
            .map_err(|e| e.at(addr))?;
        Ok(LocalHeap { data, addr })
    }

    /// The NUL-terminated string at `offset`.
    pub fn string(&self, offset: u64) -> Result<&'a [u8]> {
        let rest = usize::try_from(offset)
            .ok()
            .and_then(|o| self.data.get(o..))
            .ok_or_else(|| {
                Error::format(
                    format!(
                        "local heap: offset {offset} is outside the {}-byte data segment",
                        self.data.len()
                    ),
                    self.addr,
                )
            })?;
        let n = rest.iter().position(|&b| b == 0).ok_or_else(|| {
            Error::format(
                format!("local heap: string at offset {offset} is not terminated"),
                self.addr,
            )
        })?;
        Ok(&rest[..n])
    }
}
