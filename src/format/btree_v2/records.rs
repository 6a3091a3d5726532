//! Typed decoders and encoders for the records of version 2 B-trees
//! (spec III.A.2), and the order each record type is kept in.
//!
//! ```text
//! 1  huge object, indirect:           address (O) | length (L) | ID (L)
//! 2  huge object, indirect, filtered: address (O) | length (L) | filter mask (4)
//!                                     | memory size (L) | ID (L)
//! 3  huge object, direct:             address (O) | length (L)
//! 4  huge object, direct, filtered:   address (O) | length (L) | filter mask (4)
//!                                     | memory size (L)
//! 5  link name:          hash (4) | heap ID (record size - 4; 7 from libhdf5)
//! 6  link creation order: order (8) | heap ID (record size - 8; 7 from libhdf5)
//! 7  shared message:     location (1) | hash (4)
//!                        | 0, in the heap: reference count (4) | heap ID (8)
//!                        | 1, in a header: reserved (1) | message type (1)
//!                                          | index (2) | header address (O)
//! 8  attribute name:     heap ID (8) | message flags (1) | creation order (4)
//!                        | hash (4)
//! 9  attribute order:    heap ID (8) | message flags (1) | creation order (4)
//! 10 chunk:              address (O) | scaled offsets (8 each)
//! 11 filtered chunk:     address (O) | chunk size (w) | filter mask (4)
//!                        | scaled offsets (8 each)
//! ```
//!
//! The spec fixes the heap ID of link records at 7 bytes and of attribute
//! records at 8: that is what libhdf5 writes (its link heaps use 7-byte IDs,
//! its attribute heaps 8-byte IDs). These decoders take the ID length from
//! the record size instead, so a heap with other ID lengths still decodes.
//!
//! libhdf5 sizes type 7 records as the larger of the two forms (17 bytes
//! with 4- or 8-byte addresses); the shorter form leaves trailing bytes.
//!
//! The width `w` of a filtered chunk's size depends on the layout message
//! version and is the caller's to give (see the chunk index).
//!
//! # Record order
//!
//! A tree keeps its records sorted by a key that depends on the type
//! ([`RecordKey`]); libhdf5 compares:
//!
//! ```text
//! 1, 2    huge object ID (unsigned)
//! 3, 4    huge object address
//! 5, 8    lookup3 hash of the name (initial value 0), then the name's
//!         bytes (equal hashes are told apart by the names, as strcmp does)
//! 6, 9    creation order
//! 10, 11  scaled chunk offsets, slowest dimension first (lexicographic)
//! ```

use crate::error::{Error, Result};
use crate::format::checksum::lookup3;
use crate::format::cursor::{Cursor, Encoder, Sizes, bytes_for};

/// The key a v2 B-tree orders its records by (see the module docs). Keys
/// of one tree are all of one variant; the derived order compares them
/// as libhdf5 does.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RecordKey {
    /// Types 1 and 2: the huge object's ID.
    HugeId(u64),
    /// Types 3 and 4: the huge object's address.
    HugeAddr(u64),
    /// Types 5 and 8: the name's hash, then the name.
    NameHash {
        /// lookup3 hash of the name ([`name_hash`]).
        hash: u32,
        /// The link or attribute name, without a terminator.
        name: Vec<u8>,
    },
    /// Types 6 and 9: the creation order.
    Order(u64),
    /// Types 10 and 11: the chunk's scaled offsets, slowest dimension
    /// first.
    Scaled(Vec<u64>),
}

impl RecordKey {
    /// The key of a link or attribute name (types 5 and 8).
    pub fn name(name: &[u8]) -> RecordKey {
        RecordKey::NameHash {
            hash: name_hash(name),
            name: name.to_vec(),
        }
    }
}

/// The hash of a link or attribute name in records of types 5 and 8:
/// lookup3 of the name's bytes (no terminator), initial value 0.
pub fn name_hash(name: &[u8]) -> u32 {
    lookup3(name, 0)
}

/// Sorts encoded records by their keys into the order of their tree
/// (stable: records with equal keys keep their order).
pub fn sort_records(records: &mut [(RecordKey, Vec<u8>)]) {
    records.sort_by(|a, b| a.0.cmp(&b.0));
}

fn short(what: &str, len: usize, need: usize, at: u64) -> Error {
    Error::format(
        format!("v2 B-tree {what} record: {len} bytes, needs {need}"),
        at,
    )
}

fn exact(what: &str, rec: &[u8], need: usize, at: u64) -> Result<()> {
    if rec.len() != need {
        return Err(Error::format(
            format!(
                "v2 B-tree {what} record: {} bytes, the format has {need}",
                rec.len()
            ),
            at,
        ));
    }
    Ok(())
}

/// The filter details of a filtered huge object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HugeFilter {
    /// Bit n set: filter n of the heap's pipeline was skipped.
    pub mask: u32,
    /// Size of the object once the filters are undone.
    pub memory_size: u64,
}

/// Records of types 1 to 4: where a huge fractal-heap object is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HugeObject {
    /// Address of the (possibly filtered) object.
    pub addr: u64,
    /// Stored length in bytes.
    pub len: u64,
    /// Filter details (types 2 and 4).
    pub filter: Option<HugeFilter>,
    /// The object's ID, the key of types 1 and 2 (`None` for 3 and 4,
    /// whose key is the address).
    pub id: Option<u64>,
}

impl HugeObject {
    /// Bytes of a record of `record_type` (1 to 4).
    pub fn size(record_type: u8, sizes: Sizes) -> Option<usize> {
        let o = sizes.offset as usize;
        let l = sizes.length as usize;
        match record_type {
            1 => Some(o + 2 * l),
            2 => Some(o + 3 * l + 4),
            3 => Some(o + l),
            4 => Some(o + 2 * l + 4),
            _ => None,
        }
    }

    /// Decodes a record of `record_type` (1 to 4) from the tree at `at`.
    pub fn decode(record_type: u8, rec: &[u8], sizes: Sizes, at: u64) -> Result<HugeObject> {
        let need = Self::size(record_type, sizes).ok_or_else(|| {
            Error::format(
                format!("v2 B-tree of type {record_type} does not index huge objects"),
                at,
            )
        })?;
        exact("huge object", rec, need, at)?;
        let mut c = Cursor::new(rec, at, sizes);
        let addr = c.uint(sizes.offset as usize)?;
        let len = c.length()?;
        let filter = if record_type == 2 || record_type == 4 {
            Some(HugeFilter {
                mask: c.u32()?,
                memory_size: c.length()?,
            })
        } else {
            None
        };
        let id = if record_type <= 2 {
            Some(c.length()?)
        } else {
            None
        };
        Ok(HugeObject {
            addr,
            len,
            filter,
            id,
        })
    }

    /// Encodes a record of `record_type` (1 to 4).
    ///
    /// # Errors
    ///
    /// A usage error when the type is not 1 to 4, or the record's filter
    /// details or ID do not match what the type holds.
    pub fn encode(&self, record_type: u8, sizes: Sizes) -> Result<Vec<u8>> {
        let filtered = record_type == 2 || record_type == 4;
        let keyed = record_type == 1 || record_type == 2;
        if !(1..=4).contains(&record_type)
            || filtered != self.filter.is_some()
            || keyed != self.id.is_some()
        {
            return Err(Error::usage(format!(
                "huge object record {self:?} does not fit a v2 B-tree of type {record_type}"
            )));
        }
        let mut e = Encoder::new(sizes);
        e.address(Some(self.addr)).length(self.len);
        if let Some(f) = self.filter {
            e.u32(f.mask).length(f.memory_size);
        }
        if let Some(id) = self.id {
            e.length(id);
        }
        Ok(e.into_bytes())
    }

    /// The key of the record in a tree of its type: the ID for types 1
    /// and 2, the address for 3 and 4.
    pub fn key(&self) -> RecordKey {
        match self.id {
            Some(id) => RecordKey::HugeId(id),
            None => RecordKey::HugeAddr(self.addr),
        }
    }
}

/// Type 5: a link of an indexed group, keyed by the hash of its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkNameRecord<'a> {
    /// lookup3 hash of the link name.
    pub hash: u32,
    /// Heap ID of the link message in the group's fractal heap.
    pub heap_id: &'a [u8],
}

impl<'a> LinkNameRecord<'a> {
    /// Decodes a record from the tree at `at`.
    pub fn decode(rec: &'a [u8], at: u64) -> Result<Self> {
        if rec.len() < 5 {
            return Err(short("link name", rec.len(), 5, at));
        }
        let (hash, heap_id) = rec.split_at(4);
        Ok(LinkNameRecord {
            hash: u32::from_le_bytes([hash[0], hash[1], hash[2], hash[3]]),
            heap_id,
        })
    }

    /// The record of the link `name` stored under `heap_id`.
    pub fn new(name: &[u8], heap_id: &'a [u8]) -> Self {
        LinkNameRecord {
            hash: name_hash(name),
            heap_id,
        }
    }

    /// Encodes the record: hash, then heap ID.
    pub fn encode(&self) -> Vec<u8> {
        let mut b = self.hash.to_le_bytes().to_vec();
        b.extend_from_slice(self.heap_id);
        b
    }
}

/// Type 6: a link of an indexed group, keyed by creation order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkOrderRecord<'a> {
    /// Creation order of the link.
    pub order: u64,
    /// Heap ID of the link message in the group's fractal heap.
    pub heap_id: &'a [u8],
}

impl<'a> LinkOrderRecord<'a> {
    /// Decodes a record from the tree at `at`.
    pub fn decode(rec: &'a [u8], at: u64) -> Result<Self> {
        if rec.len() < 9 {
            return Err(short("link creation order", rec.len(), 9, at));
        }
        let (order, heap_id) = rec.split_at(8);
        let mut o = [0u8; 8];
        o.copy_from_slice(order);
        Ok(LinkOrderRecord {
            order: u64::from_le_bytes(o),
            heap_id,
        })
    }

    /// Encodes the record: creation order, then heap ID.
    pub fn encode(&self) -> Vec<u8> {
        let mut b = self.order.to_le_bytes().to_vec();
        b.extend_from_slice(self.heap_id);
        b
    }

    /// The record's key: its creation order.
    pub fn key(&self) -> RecordKey {
        RecordKey::Order(self.order)
    }
}

/// Type 7: a shared object header message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SharedMessageRecord {
    /// The message is in the shared-message index's fractal heap.
    InHeap {
        /// lookup3 hash of the encoded message.
        hash: u32,
        /// Objects referring to the message.
        refcount: u32,
        /// Heap ID in the index's fractal heap.
        heap_id: [u8; 8],
    },
    /// The message is in an object header.
    InHeader {
        /// lookup3 hash of the encoded message.
        hash: u32,
        /// Message type.
        message_type: u8,
        /// The message is the n-th of its type in that header.
        index: u16,
        /// Address of the object header.
        header: u64,
    },
}

impl SharedMessageRecord {
    /// Decodes a record from the tree at `at`.
    pub fn decode(rec: &[u8], sizes: Sizes, at: u64) -> Result<Self> {
        let mut c = Cursor::new(rec, at, sizes);
        let bad = |e: Error| e.context("v2 B-tree shared message record");
        let location = c.u8().map_err(bad)?;
        let hash = c.u32().map_err(bad)?;
        match location {
            0 => Ok(SharedMessageRecord::InHeap {
                hash,
                refcount: c.u32().map_err(bad)?,
                heap_id: c.array::<8>().map_err(bad)?,
            }),
            1 => {
                c.u8().map_err(bad)?;
                let message_type = c.u8().map_err(bad)?;
                let index = c.u16().map_err(bad)?;
                let header = c.uint(sizes.offset as usize).map_err(bad)?;
                Ok(SharedMessageRecord::InHeader {
                    hash,
                    message_type,
                    index,
                    header,
                })
            }
            l => Err(Error::format(
                format!("v2 B-tree shared message record: location {l}"),
                at,
            )),
        }
    }
}

/// Type 8: a dense attribute, keyed by the hash of its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttributeNameRecord<'a> {
    /// Heap ID of the attribute message in the object's attribute heap.
    pub heap_id: &'a [u8],
    /// Header message flags of the attribute message (bit 1: shared).
    pub flags: u8,
    /// Creation order of the attribute.
    pub order: u32,
    /// lookup3 hash of the attribute name.
    pub hash: u32,
}

impl<'a> AttributeNameRecord<'a> {
    /// Decodes a record from the tree at `at`.
    pub fn decode(rec: &'a [u8], at: u64) -> Result<Self> {
        if rec.len() < 10 {
            return Err(short("attribute name", rec.len(), 10, at));
        }
        let (heap_id, tail) = rec.split_at(rec.len() - 9);
        Ok(AttributeNameRecord {
            heap_id,
            flags: tail[0],
            order: u32::from_le_bytes([tail[1], tail[2], tail[3], tail[4]]),
            hash: u32::from_le_bytes([tail[5], tail[6], tail[7], tail[8]]),
        })
    }

    /// The record of the attribute `name` stored under `heap_id`.
    pub fn new(name: &[u8], heap_id: &'a [u8], flags: u8, order: u32) -> Self {
        AttributeNameRecord {
            heap_id,
            flags,
            order,
            hash: name_hash(name),
        }
    }

    /// Encodes the record: heap ID, flags, creation order, hash.
    pub fn encode(&self) -> Vec<u8> {
        let mut b = self.heap_id.to_vec();
        b.push(self.flags);
        b.extend_from_slice(&self.order.to_le_bytes());
        b.extend_from_slice(&self.hash.to_le_bytes());
        b
    }
}

/// Type 9: a dense attribute, keyed by creation order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttributeOrderRecord<'a> {
    /// Heap ID of the attribute message in the object's attribute heap.
    pub heap_id: &'a [u8],
    /// Header message flags of the attribute message (bit 1: shared).
    pub flags: u8,
    /// Creation order of the attribute.
    pub order: u32,
}

impl<'a> AttributeOrderRecord<'a> {
    /// Decodes a record from the tree at `at`.
    pub fn decode(rec: &'a [u8], at: u64) -> Result<Self> {
        if rec.len() < 6 {
            return Err(short("attribute creation order", rec.len(), 6, at));
        }
        let (heap_id, tail) = rec.split_at(rec.len() - 5);
        Ok(AttributeOrderRecord {
            heap_id,
            flags: tail[0],
            order: u32::from_le_bytes([tail[1], tail[2], tail[3], tail[4]]),
        })
    }

    /// Encodes the record: heap ID, flags, creation order.
    pub fn encode(&self) -> Vec<u8> {
        let mut b = self.heap_id.to_vec();
        b.push(self.flags);
        b.extend_from_slice(&self.order.to_le_bytes());
        b
    }

    /// The record's key: its creation order.
    pub fn key(&self) -> RecordKey {
        RecordKey::Order(u64::from(self.order))
    }
}

/// Types 10 and 11: one chunk of a dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkRecordV2 {
    /// Address of the chunk.
    pub addr: u64,
    /// Stored size and filter mask (type 11 only).
    pub filtered: Option<(u64, u32)>,
    /// Chunk coordinates in units of chunks, slowest dimension first.
    pub scaled: Vec<u64>,
}

impl ChunkRecordV2 {
    /// Bytes of a record for `rank` dimensions: `size_width` is the width
    /// of the chunk size of a filtered (type 11) record, `None` for type 10.
    pub fn size(sizes: Sizes, rank: usize, size_width: Option<usize>) -> Option<usize> {
        let base = sizes.offset as usize + size_width.map_or(0, |w| w + 4);
        rank.checked_mul(8)?.checked_add(base)
    }

    /// Decodes a record from the tree at `at` (see [`ChunkRecordV2::size`]).
    pub fn decode(
        rec: &[u8],
        sizes: Sizes,
        rank: usize,
        size_width: Option<usize>,
        at: u64,
    ) -> Result<Self> {
        let need = Self::size(sizes, rank, size_width)
            .ok_or_else(|| Error::format("v2 B-tree chunk record: rank overflows", at))?;
        exact("chunk", rec, need, at)?;
        let mut c = Cursor::new(rec, at, sizes);
        let addr = c.uint(sizes.offset as usize)?;
        let filtered = match size_width {
            Some(w) => Some((c.uint(w)?, c.u32()?)),
            None => None,
        };
        let mut scaled = Vec::with_capacity(rank);
        for _ in 0..rank {
            scaled.push(c.u64()?);
        }
        Ok(ChunkRecordV2 {
            addr,
            filtered,
            scaled,
        })
    }

    /// Encodes the record: type 10 when `size_width` is `None`, type 11
    /// (with the chunk size in `size_width` bytes) otherwise.
    ///
    /// # Errors
    ///
    /// A usage error when the record's filter details do not match
    /// `size_width`, or the chunk size does not fit `size_width` bytes.
    pub fn encode(&self, sizes: Sizes, size_width: Option<usize>) -> Result<Vec<u8>> {
        let mut e = Encoder::new(sizes);
        e.address(Some(self.addr));
        match (self.filtered, size_width) {
            (None, None) => {}
            (Some((size, mask)), Some(w)) if (1..=8).contains(&w) && bytes_for(size) <= w => {
                e.uint(size, w).u32(mask);
            }
            _ => {
                return Err(Error::usage(format!(
                    "chunk record {self:?} does not fit a chunk size of {size_width:?} bytes"
                )));
            }
        }
        for &s in &self.scaled {
            e.u64(s);
        }
        Ok(e.into_bytes())
    }

    /// The record's key: its scaled offsets.
    pub fn key(&self) -> RecordKey {
        RecordKey::Scaled(self.scaled.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Sizes = Sizes::DEFAULT;

    #[test]
    fn huge_records() {
        let mut b = Vec::new();
        b.extend(0x1000u64.to_le_bytes());
        b.extend(70000u64.to_le_bytes());
        b.extend(3u64.to_le_bytes());
        let h = HugeObject::decode(1, &b, S, 0).unwrap();
        assert_eq!(
            h,
            HugeObject {
                addr: 0x1000,
                len: 70000,
                filter: None,
                id: Some(3)
            }
        );
        assert!(HugeObject::decode(3, &b, S, 0).is_err());
        let mut b = Vec::new();
        b.extend(0x2000u64.to_le_bytes());
        b.extend(500u64.to_le_bytes());
        b.extend(1u32.to_le_bytes());
        b.extend(9000u64.to_le_bytes());
        let h = HugeObject::decode(4, &b, S, 0).unwrap();
        assert_eq!(
            h.filter,
            Some(HugeFilter {
                mask: 1,
                memory_size: 9000
            })
        );
        assert_eq!(h.id, None);
        b.extend(7u64.to_le_bytes());
        let h = HugeObject::decode(2, &b, S, 0).unwrap();
        assert_eq!((h.addr, h.len, h.id), (0x2000, 500, Some(7)));
        // 4-byte addresses and lengths
        let s4 = Sizes::new(4, 4).unwrap();
        let b = [1, 0, 0, 0, 2, 0, 0, 0];
        let h = HugeObject::decode(3, &b, s4, 0).unwrap();
        assert_eq!((h.addr, h.len), (1, 2));
    }

    #[test]
    fn link_records() {
        let b = [0x78, 0x56, 0x34, 0x12, 0, 1, 2, 3, 4, 5, 6];
        let r = LinkNameRecord::decode(&b, 0).unwrap();
        assert_eq!(r.hash, 0x12345678);
        assert_eq!(r.heap_id, &[0, 1, 2, 3, 4, 5, 6]);
        assert!(LinkNameRecord::decode(&b[..4], 0).is_err());
        let b = [5, 0, 0, 0, 0, 0, 0, 0, 0, 9, 8, 7, 6, 5, 4];
        let r = LinkOrderRecord::decode(&b, 0).unwrap();
        assert_eq!(r.order, 5);
        assert_eq!(r.heap_id, &[0, 9, 8, 7, 6, 5, 4]);
    }

    #[test]
    fn attribute_records() {
        let b = [
            1, 2, 3, 4, 5, 6, 7, 8,    // heap ID
            0x02, // flags
            3, 0, 0, 0, // creation order
            0xef, 0xbe, 0xad, 0xde, // hash
        ];
        let r = AttributeNameRecord::decode(&b, 0).unwrap();
        assert_eq!(r.heap_id, &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!((r.flags, r.order, r.hash), (2, 3, 0xdeadbeef));
        let r = AttributeOrderRecord::decode(&b[..13], 0).unwrap();
        assert_eq!(r.heap_id, &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!((r.flags, r.order), (2, 3));
    }

    #[test]
    fn shared_message_records() {
        let mut b = vec![0u8];
        b.extend(0xaabbccddu32.to_le_bytes());
        b.extend(2u32.to_le_bytes());
        b.extend([1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(
            SharedMessageRecord::decode(&b, S, 0).unwrap(),
            SharedMessageRecord::InHeap {
                hash: 0xaabbccdd,
                refcount: 2,
                heap_id: [1, 2, 3, 4, 5, 6, 7, 8]
            }
        );
        let mut b = vec![1u8];
        b.extend(7u32.to_le_bytes());
        b.extend([0, 3]);
        b.extend(1u16.to_le_bytes());
        b.extend(0x800u64.to_le_bytes());
        assert_eq!(
            SharedMessageRecord::decode(&b, S, 0).unwrap(),
            SharedMessageRecord::InHeader {
                hash: 7,
                message_type: 3,
                index: 1,
                header: 0x800
            }
        );
        b[0] = 2;
        assert!(SharedMessageRecord::decode(&b, S, 0).is_err());
    }

    #[test]
    fn chunk_records() {
        let mut b = Vec::new();
        b.extend(0x3000u64.to_le_bytes());
        b.extend(2u64.to_le_bytes());
        b.extend(5u64.to_le_bytes());
        let r = ChunkRecordV2::decode(&b, S, 2, None, 0).unwrap();
        assert_eq!(r.addr, 0x3000);
        assert_eq!(r.filtered, None);
        assert_eq!(r.scaled, vec![2, 5]);
        // filtered, 3-byte size
        let mut b = Vec::new();
        b.extend(0x3000u64.to_le_bytes());
        b.extend([0x10, 0x27, 0]);
        b.extend(0u32.to_le_bytes());
        b.extend(1u64.to_le_bytes());
        let r = ChunkRecordV2::decode(&b, S, 1, Some(3), 0).unwrap();
        assert_eq!(r.filtered, Some((10000, 0)));
        assert_eq!(r.scaled, vec![1]);
        assert!(ChunkRecordV2::decode(&b, S, 1, Some(4), 0).is_err());
    }

    #[test]
    fn encode_huge_records() {
        let h = HugeObject {
            addr: 0x8c6,
            len: 66045,
            filter: None,
            id: Some(1),
        };
        // the record of a 66045-byte attribute in libhdf5's attribute heap
        let b = h.encode(1, S).unwrap();
        assert_eq!(
            b,
            [
                0xc6, 0x08, 0, 0, 0, 0, 0, 0, 0xfd, 0x01, 0x01, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0,
                0
            ]
        );
        assert_eq!(HugeObject::decode(1, &b, S, 0).unwrap(), h);
        assert_eq!(h.key(), RecordKey::HugeId(1));
        assert!(h.encode(2, S).is_err());
        assert!(h.encode(3, S).is_err());
        let f = HugeObject {
            addr: 0x2000,
            len: 500,
            filter: Some(HugeFilter {
                mask: 1,
                memory_size: 9000,
            }),
            id: None,
        };
        let b = f.encode(4, S).unwrap();
        assert_eq!(b.len(), 28);
        assert_eq!(HugeObject::decode(4, &b, S, 0).unwrap(), f);
        assert_eq!(f.key(), RecordKey::HugeAddr(0x2000));
    }

    #[test]
    fn encode_link_and_attribute_records() {
        let id = [0, 1, 2, 3, 4, 5, 6];
        let r = LinkNameRecord::new(b"g000", &id);
        assert_eq!(r.hash, lookup3(b"g000", 0));
        let b = r.encode();
        assert_eq!(&b[..4], &r.hash.to_le_bytes());
        assert_eq!(LinkNameRecord::decode(&b, 0).unwrap(), r);
        let r = LinkOrderRecord {
            order: 5,
            heap_id: &id,
        };
        assert_eq!(r.encode(), [5, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6]);
        assert_eq!(r.key(), RecordKey::Order(5));
        let id = [0, 0x4f, 3, 0, 0, 0, 0x21, 0];
        let r = AttributeNameRecord {
            heap_id: &id,
            flags: 0,
            order: 0xffff,
            hash: 0x0b0f_fa4e,
        };
        // a record of libhdf5's attribute name index
        assert_eq!(
            r.encode(),
            [
                0, 0x4f, 3, 0, 0, 0, 0x21, 0, 0, 0xff, 0xff, 0, 0, 0x4e, 0xfa, 0x0f, 0x0b
            ]
        );
        assert_eq!(AttributeNameRecord::decode(&r.encode(), 0).unwrap(), r);
        let n = AttributeNameRecord::new(b"a00", &id, 0, 0xffff);
        assert_eq!(n.hash, lookup3(b"a00", 0));
        let r = AttributeOrderRecord {
            heap_id: &id,
            flags: 2,
            order: 3,
        };
        let b = r.encode();
        assert_eq!(&b[8..], &[2, 3, 0, 0, 0]);
        assert_eq!(AttributeOrderRecord::decode(&b, 0).unwrap(), r);
        assert_eq!(r.key(), RecordKey::Order(3));
    }

    #[test]
    fn encode_chunk_records() {
        let r = ChunkRecordV2 {
            addr: 0x3000,
            filtered: None,
            scaled: vec![2, 5],
        };
        let b = r.encode(S, None).unwrap();
        let mut want = 0x3000u64.to_le_bytes().to_vec();
        want.extend(2u64.to_le_bytes());
        want.extend(5u64.to_le_bytes());
        assert_eq!(b, want);
        assert!(r.encode(S, Some(2)).is_err());
        let r = ChunkRecordV2 {
            addr: 0x3000,
            filtered: Some((10000, 0)),
            scaled: vec![1],
        };
        let b = r.encode(S, Some(3)).unwrap();
        assert_eq!(&b[8..15], &[0x10, 0x27, 0, 0, 0, 0, 0]);
        assert_eq!(ChunkRecordV2::decode(&b, S, 1, Some(3), 0).unwrap(), r);
        // 10000 needs 2 bytes
        assert!(r.encode(S, Some(1)).is_err());
        assert!(r.encode(S, None).is_err());
        assert_eq!(r.key(), RecordKey::Scaled(vec![1]));
    }

    #[test]
    fn record_order() {
        let mut recs = vec![
            (RecordKey::Scaled(vec![1, 0]), vec![1]),
            (RecordKey::Scaled(vec![0, 7]), vec![2]),
            (RecordKey::Scaled(vec![0, 2]), vec![3]),
        ];
        sort_records(&mut recs);
        let order: Vec<u8> = recs.iter().map(|r| r.1[0]).collect();
        assert_eq!(order, [3, 2, 1]);
        // names: by hash first, the name only on equal hashes
        let (a, b) = (RecordKey::name(b"a00"), RecordKey::name(b"a01"));
        let ha = lookup3(b"a00", 0);
        let hb = lookup3(b"a01", 0);
        assert_eq!(a.cmp(&b), ha.cmp(&hb));
        let x = RecordKey::NameHash {
            hash: 7,
            name: b"b".to_vec(),
        };
        let y = RecordKey::NameHash {
            hash: 7,
            name: b"ab".to_vec(),
        };
        assert!(y < x);
        assert!(RecordKey::Order(2) < RecordKey::Order(10));
    }
}
