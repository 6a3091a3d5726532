//! Global heap collections (spec III.E): where variable-length data lives.
//!
//! ```text
//! "GCOL" | version 1 | reserved (3) | collection size (L)
//! objects: index (2) | reference count (2) | reserved (4) | size (L)
//!          | data, padded to a multiple of 8 bytes
//! ```
//! Object index 0 is the collection's free space and ends the list.
//! libhdf5 writes the free-space object's size as the whole free space, its
//! own header included, creates collections of at least 4096 bytes, and
//! stores reference count 0 for variable-length data.

use crate::error::{Error, Result};
use crate::format::FileCtx;
use crate::format::cursor::{Cursor, Encoder, Sizes};

/// The smallest collection libhdf5 creates (`H5HG_MINSIZE`).
pub const MIN_COLLECTION_SIZE: usize = 4096;

/// One object to encode into a collection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalHeapObject {
    /// Index in the collection (1 or more; 0 is the free space).
    pub index: u16,
    /// Reference count (libhdf5 writes 0 for variable-length data).
    pub refcount: u16,
    /// The object's data.
    pub data: Vec<u8>,
}

/// Encodes a collection holding `objects` in order, as libhdf5 lays one
/// out: header, objects with header and data each padded to 8 bytes, then
/// the free-space object (index 0) whose size field counts the whole
/// remaining space, its own header included. The collection is `min_size`
/// bytes (libhdf5: [`MIN_COLLECTION_SIZE`]) or, when the objects need
/// more, just what they need, rounded up to 8. The free-space object is
/// left out when fewer bytes than its header remain, as the decoder allows.
pub fn encode_collection(objects: &[GlobalHeapObject], min_size: usize, sizes: Sizes) -> Vec<u8> {
    let align8 = |n: usize| n.div_ceil(8) * 8;
    let obj_head = align8(8 + sizes.length as usize);
    let head = align8(8 + sizes.length as usize);
    let needed = head
        + objects
            .iter()
            .map(|o| obj_head + align8(o.data.len()))
            .sum::<usize>();
    let size = align8(min_size.max(needed));
    let mut e = Encoder::new(sizes);
    e.bytes(b"GCOL")
        .u8(1)
        .zeros(3)
        .length(size as u64)
        .pad_to(8);
    for o in objects {
        e.u16(o.index)
            .u16(o.refcount)
            .u32(0)
            .length(o.data.len() as u64);
        e.pad_to(8).bytes(&o.data).pad_to(8);
    }
    let free = size - e.position();
    if free >= obj_head {
        e.u16(0).u16(0).u32(0).length(free as u64);
    }
    e.zeros(size - e.position());
    e.into_bytes()
}

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
        let block = ctx.slice(addr, size, "global heap collection")?;
        // libhdf5 pads the collection header, each object header and each
        // object's data to multiples of 8 bytes (which matters when lengths
        // are 4 bytes wide)
        let align8 = |n: usize| n.div_ceil(8) * 8;
        let obj_head = align8(8 + ctx.sizes.length as usize);
        let mut pos = align8(head as usize);
        let mut objects = Vec::new();
        while pos + obj_head <= block.len() {
            let mut c = Cursor::new(&block[pos..], addr + pos as u64, ctx.sizes);
            let index = c.u16()?;
            if index == 0 {
                break;
            }
            c.u16()?;
            c.u32()?;
            let len = c.length()?;
            c.seek(obj_head)?;
            let len = usize::try_from(len)
                .ok()
                .filter(|&l| l <= c.remaining())
                .ok_or_else(|| {
                    Error::format(
                        format!("global heap object {index}: size {len} runs past its collection"),
                        c.address(),
                    )
                })?;
            objects.push((index, c.bytes(len)?));
            pos += obj_head + align8(len);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::Sizes;
    use crate::limits::Limits;

    /// A collection with 4-byte lengths: header 12 bytes padded to 16,
    /// object headers 12 padded to 16, data padded to 8.
    #[test]
    fn four_byte_lengths_pad_headers() {
        let mut b = b"GCOL\x01\0\0\0".to_vec();
        b.extend(80u32.to_le_bytes());
        b.resize(16, 0);
        for (i, data) in [(1u16, &b"abc"[..]), (2, &b"0123456789"[..])] {
            b.extend(i.to_le_bytes());
            b.extend(1u16.to_le_bytes());
            b.extend([0u8; 4]);
            b.extend((data.len() as u32).to_le_bytes());
            b.extend([0u8; 4]);
            b.extend(data);
            b.resize(b.len().div_ceil(8) * 8, 0);
        }
        b.resize(80, 0);
        let ctx = FileCtx {
            data: &b,
            base: 0,
            sizes: Sizes::new(4, 4).unwrap(),
            limits: Limits::default(),
        };
        let c = GlobalHeapCollection::read(&ctx, 0).unwrap();
        assert_eq!(c.object(1).unwrap(), b"abc");
        assert_eq!(c.object(2).unwrap(), b"0123456789");
        assert!(c.object(3).is_err());
    }

    #[test]
    fn encodes_minimum_collection() {
        let o = GlobalHeapObject {
            index: 1,
            refcount: 0,
            data: b"abc".to_vec(),
        };
        let b = encode_collection(&[o], MIN_COLLECTION_SIZE, Sizes::DEFAULT);
        assert_eq!(b.len(), 4096);
        assert_eq!(&b[..16], b"GCOL\x01\0\0\0\x00\x10\0\0\0\0\0\0");
        assert_eq!(&b[16..32], b"\x01\0\0\0\0\0\0\0\x03\0\0\0\0\0\0\0");
        assert_eq!(&b[32..40], b"abc\0\0\0\0\0");
        assert_eq!(&b[40..56], b"\0\0\0\0\0\0\0\0\xd8\x0f\0\0\0\0\0\0");
    }

    proptest::proptest! {
        #[test]
        fn collection_round_trips(datas in proptest::collection::vec(proptest::collection::vec(0u8..255, 0..40), 0..20),
                                  l in 0usize..3, min in 0usize..600) {
            let sizes = Sizes::new(8, [2, 4, 8][l]).unwrap();
            let objects: Vec<_> = datas.into_iter().enumerate()
                .map(|(i, data)| GlobalHeapObject { index: i as u16 + 1, refcount: 0, data }).collect();
            let b = encode_collection(&objects, min, sizes);
            let ctx = FileCtx { data: &b, base: 0, sizes, limits: Limits::default() };
            let c = GlobalHeapCollection::read(&ctx, 0).unwrap();
            let got: Vec<_> = c.objects.iter().map(|(i, d)| (*i, d.to_vec())).collect();
            let want: Vec<_> = objects.iter().map(|o| (o.index, o.data.clone())).collect();
            proptest::prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn oversized_object_is_an_error() {
        let mut b = b"GCOL\x01\0\0\0".to_vec();
        b.extend(48u64.to_le_bytes());
        b.extend(1u16.to_le_bytes());
        b.extend([0u8; 6]);
        b.extend(1000u64.to_le_bytes());
        b.resize(48, 0);
        let ctx = FileCtx {
            data: &b,
            base: 0,
            sizes: Sizes::DEFAULT,
            limits: Limits::default(),
        };
        assert!(GlobalHeapCollection::read(&ctx, 0).is_err());
    }
}
