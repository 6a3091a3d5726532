//! Shared object header messages (spec IV.A.2, "shared message" encoding):
//! a message stored once and referenced from many headers, either in
//! another object header (committed datatypes) or in the shared-message
//! heap (spec III.I).
//!
//! ```text
//! v1: version 1 | type | reserved (6) | symbol table entry (its name
//!     offset (O), then the object header address (O), ...)
//! v2: version 2 | type | address (O)
//! v3: version 3 | type (1 heap, 2 header) | heap ID (8) or address (O)
//! ```

use super::cursor::{Cursor, Encoder};
use crate::error::{Error, Result};

/// Where a shared message's real bytes live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SharedRef {
    /// In the object header at this address (first message of the type).
    Header(u64),
    /// In the shared-message fractal heap, by heap ID.
    Heap([u8; 8]),
}

impl SharedRef {
    /// Decodes a shared message reference.
    pub fn decode(c: &mut Cursor) -> Result<SharedRef> {
        let at = c.address();
        let version = c.u8()?;
        let kind = c.u8()?;
        match version {
            1 => {
                // libhdf5 1.4 wrote a whole symbol table entry here; the
                // header address is its second field
                c.skip(6)?;
                c.skip(c.sizes().offset as usize)?;
                Ok(SharedRef::Header(c.required_address("shared message")?))
            }
            2 => Ok(SharedRef::Header(c.required_address("shared message")?)),
            3 => match kind {
                1 => Ok(SharedRef::Heap(c.array::<8>()?)),
                2 | 0 => Ok(SharedRef::Header(c.required_address("shared message")?)),
                k => Err(Error::format(format!("shared message: type {k}"), at)),
            },
            v => Err(Error::format(format!("shared message: version {v}"), at)),
        }
    }
}

impl SharedRef {
    /// Encodes the reference in `version` 2 (what libhdf5 writes with the
    /// earliest format bounds; only header references exist there) or 3.
    /// The type byte is 2 for a header and 1 for the shared-message heap.
    /// A heap ID asked for in version 2 is written as version 3, the only
    /// one that can hold it.
    pub fn encode(&self, version: u8, sizes: super::Sizes) -> Vec<u8> {
        let mut e = Encoder::new(sizes);
        match *self {
            SharedRef::Header(a) => {
                e.u8(if version <= 2 { 2 } else { 3 })
                    .u8(2)
                    .address(Some(a));
            }
            SharedRef::Heap(id) => {
                e.u8(3).u8(1).bytes(&id);
            }
        }
        e.into_bytes()
    }
}

/// One index of the shared object header message table (`SMTB`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedIndex {
    /// Bit mask of message types kept in this index (bit n = type n).
    pub types: u16,
    /// Fractal heap that stores the messages.
    pub heap: u64,
}

/// Reads the shared message table (`SMTB`) at `addr` with `count` indexes.
pub fn read_table(ctx: &super::FileCtx, addr: u64, count: usize) -> Result<Vec<SharedIndex>> {
    let entry = 1 + 1 + 2 + 4 + 2 + 2 + 2 + 2 * ctx.sizes.offset as u64;
    let len = 4 + entry * count as u64 + 4;
    let block = ctx.slice(addr, len, "shared message table")?;
    super::checksum::verify(block, "shared message table", addr)?;
    let mut c = Cursor::new(block, addr, ctx.sizes);
    c.signature(b"SMTB", "shared message table")?;
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let _version = c.u8()?;
        let _index_type = c.u8()?;
        let types = c.u16()?;
        let _min_size = c.u32()?;
        let _list_max = c.u16()?;
        let _btree_min = c.u16()?;
        let _num = c.u16()?;
        let _index_addr = c.address_field()?;
        let heap = c.required_address("shared message heap")?;
        out.push(SharedIndex { types, heap });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::Sizes;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn round_trip(a in 0u64..1 << 48, id in any::<[u8; 8]>(), heap in any::<bool>(),
                      v in 2u8..=3) {
            let r = if heap { SharedRef::Heap(id) } else { SharedRef::Header(a) };
            let b = r.encode(v, Sizes::DEFAULT);
            prop_assert_eq!(SharedRef::decode(&mut Cursor::new(&b, 0, Sizes::DEFAULT)).unwrap(), r);
        }
    }

    #[test]
    fn encode_bytes() {
        let mut want = vec![2u8, 2];
        want.extend(800u64.to_le_bytes());
        assert_eq!(SharedRef::Header(800).encode(2, Sizes::DEFAULT), want);
        let b = SharedRef::Heap([1, 2, 3, 4, 5, 6, 7, 8]).encode(3, Sizes::DEFAULT);
        assert_eq!(b, [3, 1, 1, 2, 3, 4, 5, 6, 7, 8]);
    }

    #[test]
    fn v1_reference_holds_a_symbol_table_entry() {
        let mut b = vec![1u8, 0, 0, 0, 0, 0, 0, 0];
        b.extend(16u64.to_le_bytes()); // name offset of the entry
        b.extend(1424u64.to_le_bytes()); // header address
        let r = SharedRef::decode(&mut Cursor::new(&b, 0, Sizes::DEFAULT)).unwrap();
        assert_eq!(r, SharedRef::Header(1424));
    }

    #[test]
    fn v3_heap_and_header() {
        let mut b = vec![3u8, 1];
        b.extend([1, 2, 3, 4, 5, 6, 7, 8]);
        let r = SharedRef::decode(&mut Cursor::new(&b, 0, Sizes::DEFAULT)).unwrap();
        assert_eq!(r, SharedRef::Heap([1, 2, 3, 4, 5, 6, 7, 8]));
        let mut b = vec![3u8, 2];
        b.extend(99u64.to_le_bytes());
        let r = SharedRef::decode(&mut Cursor::new(&b, 0, Sizes::DEFAULT)).unwrap();
        assert_eq!(r, SharedRef::Header(99));
    }
}
