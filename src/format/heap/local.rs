//! Local heap (spec III.D): the link names of a symbol-table group.
//!
//! ```text
//! "HEAP" | version 0 | reserved (3) | data segment size (L)
//!        | offset to head of free list (L) | data segment address (O)
//! ```
//! A free block in the data segment starts with the offset of the next
//! free block (L) and its own size (L). Where the spec says "undefined
//! address" for the end of the free list, libhdf5 writes 1
//! ([`FREE_LIST_END`]), in the header and in a block's "next" field.

use crate::error::{Error, Result};
use crate::format::FileCtx;
use crate::format::cursor::{Cursor, Encoder, Sizes};

/// What libhdf5 stores for "no free block", both in the header's free-list
/// head and in a free block's "next" field. The spec says the undefined
/// address; libhdf5 writes 1, which no 8-aligned block can start at. Both
/// decode as `None`.
pub const FREE_LIST_END: u64 = 1;

/// The header of a local heap, owned, for decoding and encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalHeapHeader {
    /// Size of the data segment.
    pub data_size: u64,
    /// Offset of the first free block in the data segment.
    pub free_list: Option<u64>,
    /// Address of the data segment.
    pub data_addr: u64,
}

impl LocalHeapHeader {
    /// Encoded size for the given widths.
    pub fn size(sizes: Sizes) -> usize {
        8 + 2 * sizes.length as usize + sizes.offset as usize
    }

    /// Decodes a header (signature included).
    pub fn decode(c: &mut Cursor) -> Result<Self> {
        let at = c.address();
        c.signature(b"HEAP", "local heap")?;
        let version = c.u8()?;
        if version != 0 {
            return Err(Error::format(format!("local heap: version {version}"), at));
        }
        c.skip(3)?;
        let data_size = c.length()?;
        let free = c.length()?;
        let undefined = c.sizes().undefined_address();
        let free_list = (free != FREE_LIST_END && free != undefined).then_some(free);
        let data_addr = c.required_address("local heap data segment")?;
        Ok(LocalHeapHeader {
            data_size,
            free_list,
            data_addr,
        })
    }

    /// Encodes the header; no free list is written as [`FREE_LIST_END`],
    /// as libhdf5 does.
    pub fn encode(&self, sizes: Sizes) -> Vec<u8> {
        let mut e = Encoder::new(sizes);
        e.bytes(b"HEAP").u8(0).zeros(3);
        e.length(self.data_size)
            .length(self.free_list.unwrap_or(FREE_LIST_END))
            .address(Some(self.data_addr));
        e.into_bytes()
    }
}

/// Builds a data segment of `size` bytes as libhdf5 lays out a fresh heap:
/// `used` (the strings, each already NUL-terminated and padded to 8 by the
/// caller) from offset 0, then, when at least `2 * size of lengths` bytes
/// remain after `used` padded to 8, one free block spanning the rest, whose
/// "next" field is [`FREE_LIST_END`] and whose size field is its length.
/// Returns the segment and the free-list head for the header. `size` is
/// rounded up to a multiple of 8 and to at least what `used` needs.
pub fn encode_data_segment(used: &[u8], size: usize, sizes: Sizes) -> (Vec<u8>, Option<u64>) {
    let mut e = Encoder::new(sizes);
    e.bytes(used).pad_to(8);
    let start = e.position();
    let total = size.max(start).div_ceil(8) * 8;
    let free = total - start;
    let head = if free >= 2 * sizes.length as usize {
        e.length(FREE_LIST_END).length(free as u64);
        Some(start as u64)
    } else {
        None
    };
    e.zeros(total - e.position());
    (e.into_bytes(), head)
}

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
        let len = LocalHeapHeader::size(ctx.sizes) as u64;
        let mut c = ctx.cursor(addr, len, "local heap")?;
        let h = LocalHeapHeader::decode(&mut c)?;
        let data = ctx
            .slice(h.data_addr, h.data_size, "local heap data segment")
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::Limits;
    use proptest::prelude::*;

    #[test]
    fn empty_group_heap_as_libhdf5_writes_it() {
        // an empty h5py group: "" at 0, then one free block of 80 bytes
        let (seg, head) = encode_data_segment(&[0u8; 8], 88, Sizes::DEFAULT);
        assert_eq!(head, Some(8));
        let mut want = vec![0u8; 8];
        want.extend(1u64.to_le_bytes());
        want.extend(80u64.to_le_bytes());
        want.resize(88, 0);
        assert_eq!(seg, want);
        let h = LocalHeapHeader {
            data_size: 88,
            free_list: head,
            data_addr: 32,
        };
        let mut file = h.encode(Sizes::DEFAULT);
        assert_eq!(&file[..8], b"HEAP\0\0\0\0");
        file.extend(&seg);
        let ctx = FileCtx {
            data: &file,
            base: 0,
            sizes: Sizes::DEFAULT,
            limits: Limits::default(),
        };
        let heap = LocalHeap::read(&ctx, 0).unwrap();
        assert_eq!(heap.string(0).unwrap(), b"");
    }

    proptest! {
        #[test]
        fn header_round_trips(size in 0u64..0xfff, free in proptest::option::of(0u64..0x7ff),
                              addr in 0u64..0x7fff, o in 0usize..3, l in 0usize..3) {
            let sizes = Sizes::new([2, 4, 8][o], [2, 4, 8][l]).unwrap();
            let free = free.map(|f| f * 8);
            let h = LocalHeapHeader { data_size: size, free_list: free, data_addr: addr };
            let b = h.encode(sizes);
            prop_assert_eq!(b.len(), LocalHeapHeader::size(sizes));
            let mut c = Cursor::new(&b, 0, sizes);
            prop_assert_eq!(LocalHeapHeader::decode(&mut c).unwrap(), h);
        }
    }
}
