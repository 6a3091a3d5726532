//! Global heap collections (spec III.E): where variable-length data lives.
//!
//! ```text
//! "GCOL" | version 1 | reserved (3) | collection size (L)
//! objects: index (2) | reference count (2) | reserved (4) | size (L)
//!          | data, padded to a multiple of 8 bytes
//! ```
//! Object index 0 is the collection's free space and ends the list.

use crate::error::{Error, Result};
use crate::format::FileCtx;
use crate::format::cursor::Cursor;

/// A reference to one global heap object, as stored in variable-length
/// elements and region references.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GlobalHeapId {
    /// Address of the collection.
    pub collection: u64,
    /// Index of the object in the collection.
    pub index: u32,
}

impl GlobalHeapId {
    /// Decodes an address (O) and an index (4); `None` when the address is
    /// undefined or zero (a null reference / empty sequence).
    pub fn decode(c: &mut Cursor) -> Result<Option<Self>> {
        let addr = c.address_field()?;
        let index = c.u32()?;
        Ok(match addr {
            Some(a) if a != 0 => Some(GlobalHeapId {
                collection: a,
                index,
            }),
            _ => None,
        })
    }
}

/// A decoded collection: the objects it holds.
#[derive(Debug, Clone)]
pub struct GlobalHeapCollection<'a> {
    /// Address of the collection.
    pub addr: u64,
    /// (index, data) of every object, in stored order.
    pub objects: Vec<(u16, &'a [u8])>,
}

impl<'a> GlobalHeapCollection<'a> {
    /// Reads the collection at `addr`.
    pub fn read(ctx: &FileCtx<'a>, addr: u64) -> Result<Self> {
        let head = 8 + ctx.sizes.length as u64;
        let mut c = ctx.cursor(addr, head, "global heap collection")?;
        c.signature(b"GCOL", "global heap collection")?;
        let version = c.u8()?;
        if version != 1 {
            return Err(Error::format(
                format!("global heap collection: version {version}"),
                addr,
            ));
        }
        c.skip(3)?;
        let size = c.length()?;
        if size < head {
            return Err(Error::format(
                format!("global heap collection: size {size} is too small"),
                addr,
            ));
        }
        let mut c = ctx.cursor(addr, size, "global heap collection")?;
        c.skip(head as usize)?;
        let mut objects = Vec::new();
        let obj_head = 8 + ctx.sizes.length as usize;
        while c.remaining() >= obj_head {
            let index = c.u16()?;
            if index == 0 {
                break;
            }
            c.u16()?;
            c.u32()?;
            let len = c.length()?;
            let len = usize::try_from(len)
                .ok()
                .filter(|&l| l <= c.remaining())
                .ok_or_else(|| {
                    Error::format(
                        format!("global heap object {index}: size {len} runs past its collection"),
                        c.address(),
                    )
                })?;
            let data = c.bytes(len)?;
            objects.push((index, data));
            let pad = (8 - len % 8) % 8;
            if pad > c.remaining() {
                break;
            }
            c.skip(pad)?;
        }
        Ok(GlobalHeapCollection { addr, objects })
    }

    /// The data of object `index`.
    pub fn object(&self, index: u32) -> Result<&'a [u8]> {
        self.objects
            .iter()
            .find(|(i, _)| *i as u32 == index)
            .map(|(_, d)| *d)
            .ok_or_else(|| {
                Error::format(
                    format!("global heap collection has no object {index}"),
                    self.addr,
                )
            })
    }
}
