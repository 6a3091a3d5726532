//! Symbol table entries (spec III.C) and symbol table nodes, `SNOD`
//! (spec III.B): the entries of old-style groups.
//!
//! ```text
//! entry: link name offset (O) | object header address (O) | cache type (4)
//!        | reserved (4) | scratch pad (16)
//! SNOD:  "SNOD" | version 1 | reserved | symbols used (2) | entries ...
//! ```

use super::FileCtx;
use super::cursor::Cursor;
use crate::error::{Error, Result};

/// The cached metadata of a symbol table entry's scratch pad.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scratch {
    /// Nothing cached.
    None,
    /// The object is a group: its B-tree and local heap.
    Group {
        /// v1 B-tree address.
        btree: u64,
        /// Local heap address.
        heap: u64,
    },
    /// The entry is a soft link whose value is at this local heap offset.
    SoftLink {
        /// Offset of the link value in the group's local heap.
        offset: u32,
    },
}

/// One entry of a symbol table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SymbolTableEntry {
    /// Offset of the link name in the group's local heap.
    pub name_offset: u64,
    /// Object header address (undefined for soft links: then 0 / all ones).
    pub header: u64,
    /// What the scratch pad caches.
    pub scratch: Scratch,
}

impl SymbolTableEntry {
    /// Encoded size for the given widths.
    pub fn size(offset_size: u8) -> usize {
        2 * offset_size as usize + 24
    }

    /// Decodes one entry.
    pub fn decode(c: &mut Cursor) -> Result<Self> {
        let name_offset = c.uint(c.sizes().offset as usize)?;
        let header = c.uint(c.sizes().offset as usize)?;
        let cache_type = c.u32()?;
        c.u32()?;
        let mut pad = c.sub(16)?;
        let scratch = match cache_type {
            0 => Scratch::None,
            1 => Scratch::Group {
                btree: pad.uint(c.sizes().offset as usize)?,
                heap: pad.uint(c.sizes().offset as usize)?,
            },
            2 => Scratch::SoftLink { offset: pad.u32()? },
            t => {
                return Err(Error::format(
                    format!("symbol table entry: unknown cache type {t}"),
                    c.address(),
                ));
            }
        };
        Ok(SymbolTableEntry {
            name_offset,
            header,
            scratch,
        })
    }
}

/// Decodes the entries of the symbol table node at `addr`.
pub fn read_node(ctx: &FileCtx, addr: u64, leaf_k: u16) -> Result<Vec<SymbolTableEntry>> {
    let entry = SymbolTableEntry::size(ctx.sizes.offset);
    let max_len = 8 + 2 * leaf_k as usize * entry;
    let avail = ctx.end().saturating_sub(addr).min(max_len as u64);
    let mut c = ctx.cursor(addr, avail, "symbol table node")?;
    c.signature(b"SNOD", "symbol table node")?;
    let version = c.u8()?;
    if version != 1 {
        return Err(Error::format(
            format!("symbol table node: version {version}"),
            addr,
        ));
    }
    c.u8()?;
    let n = c.u16()? as usize;
    if n.saturating_mul(entry) > c.remaining() {
        return Err(Error::format(
            format!("symbol table node: {n} entries do not fit"),
            addr,
        ));
    }
    (0..n).map(|_| SymbolTableEntry::decode(&mut c)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::Sizes;

    #[test]
    fn decodes_group_entry() {
        let mut b = Vec::new();
        b.extend(8u64.to_le_bytes());
        b.extend(800u64.to_le_bytes());
        b.extend(1u32.to_le_bytes());
        b.extend(0u32.to_le_bytes());
        b.extend(136u64.to_le_bytes());
        b.extend(680u64.to_le_bytes());
        let mut c = Cursor::new(&b, 0, Sizes::DEFAULT);
        let e = SymbolTableEntry::decode(&mut c).unwrap();
        assert_eq!(e.name_offset, 8);
        assert_eq!(e.header, 800);
        assert_eq!(
            e.scratch,
            Scratch::Group {
                btree: 136,
                heap: 680
            }
        );
    }
}
