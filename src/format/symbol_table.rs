//! Symbol table entries (spec III.C) and symbol table nodes, `SNOD`
//! (spec III.B): the entries of old-style groups.
//!
//! ```text
//! entry: link name offset (O) | object header address (O) | cache type (4)
//!        | reserved (4) | scratch pad (16)
//! SNOD:  "SNOD" | version 1 | reserved | symbols used (2) | entries ...
//! ```
//!
//! libhdf5 allocates every node with room for `2 * group leaf K` entries
//! and zero-fills the unused ones ([`encode_node`] does the same), and
//! zero-fills the unused bytes of each entry's scratch pad.

use super::FileCtx;
use super::cursor::{Cursor, Encoder, Sizes};
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

    /// Encodes the entry: the cache type, 4 reserved bytes and the
    /// 16-byte scratch pad, zero-filled after what it caches.
    pub fn encode(&self, e: &mut Encoder) {
        let n = e.sizes().offset as usize;
        e.uint(self.name_offset, n).uint(self.header, n);
        let start = e.position();
        match self.scratch {
            Scratch::None => {
                e.u32(0).u32(0);
            }
            Scratch::Group { btree, heap } => {
                e.u32(1).u32(0).uint(btree, n).uint(heap, n);
            }
            Scratch::SoftLink { offset } => {
                e.u32(2).u32(0).u32(offset);
            }
        }
        e.zeros(start + 24 - e.position());
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

/// Encodes a symbol table node holding `entries` as libhdf5 allocates it:
/// room for `2 * leaf_k` entries, the unused ones zero-filled, so the node
/// is always `8 + 2 * leaf_k * entry size` bytes. Fails when the entries do
/// not fit.
pub fn encode_node(entries: &[SymbolTableEntry], leaf_k: u16, sizes: Sizes) -> Result<Vec<u8>> {
    let capacity = 2 * leaf_k as usize;
    if entries.len() > capacity {
        return Err(Error::format_noaddr(format!(
            "symbol table node: {} entries exceed the capacity of {capacity}",
            entries.len()
        )));
    }
    let mut e = Encoder::new(sizes);
    e.bytes(b"SNOD").u8(1).u8(0).u16(entries.len() as u16);
    for entry in entries {
        entry.encode(&mut e);
    }
    e.zeros((capacity - entries.len()) * SymbolTableEntry::size(sizes.offset));
    Ok(e.into_bytes())
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
    use crate::format::{FileCtx, cursor::Encoder};
    use crate::limits::Limits;
    use proptest::prelude::*;

    fn arb_entry() -> impl Strategy<Value = SymbolTableEntry> {
        let scratch = prop_oneof![
            Just(Scratch::None),
            (0u64..0xffff, 0u64..0xffff).prop_map(|(btree, heap)| Scratch::Group { btree, heap }),
            any::<u32>().prop_map(|offset| Scratch::SoftLink { offset }),
        ];
        (0u64..0xffff, 0u64..0xffff, scratch).prop_map(|(name_offset, header, scratch)| {
            SymbolTableEntry {
                name_offset,
                header,
                scratch,
            }
        })
    }

    proptest! {
        #[test]
        fn node_round_trips(entries in proptest::collection::vec(arb_entry(), 0..9), k in 4u16..6, o in 0usize..3) {
            let sizes = Sizes::new([2, 4, 8][o], 8).unwrap();
            let b = encode_node(&entries, k, sizes).unwrap();
            prop_assert_eq!(b.len(), 8 + 2 * k as usize * SymbolTableEntry::size(sizes.offset));
            let ctx = FileCtx { data: &b, base: 0, sizes, limits: Limits::default() };
            prop_assert_eq!(read_node(&ctx, 0, k).unwrap(), entries);
        }
    }

    #[test]
    fn encodes_soft_link_entry() {
        let mut e = Encoder::new(Sizes::new(4, 4).unwrap());
        SymbolTableEntry {
            name_offset: 8,
            header: 0xffff_ffff,
            scratch: Scratch::SoftLink { offset: 16 },
        }
        .encode(&mut e);
        let mut want = vec![
            8, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 0, 0, 0, 16,
        ];
        want.resize(32, 0);
        assert_eq!(e.into_bytes(), want);
    }

    #[test]
    fn too_many_entries_is_an_error() {
        let e = SymbolTableEntry {
            name_offset: 0,
            header: 0,
            scratch: Scratch::None,
        };
        assert!(encode_node(&[e; 9], 4, Sizes::DEFAULT).is_err());
    }

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
