//! References stored as data (spec VIII.B "Reference Encoding (Revised)"
//! and VIII.C "Reference Encoding (Backward Compatibility)"; the datatype
//! side is the reference class, IV.A.2.d class 7).
//!
//! The revised references of HDF5 1.12 and later (datatype version 4,
//! `H5T_STD_REF`) start with a two-byte header:
//!
//! ```text
//! type (1: 2 object, 3 dataset region, 4 attribute) | flags (1, bit 0 external)
//! ```
//!
//! followed, in the element, by either the reference block itself (an
//! object reference to this file: "inline") or where to find it in the
//! global heap:
//!
//! ```text
//! inline:  header | block (then zeros up to the element size)
//! in heap: header | block size (4) | global heap collection address (O)
//!                 | object index (4)
//! null:    all zeros (type 0)
//! ```
//!
//! The block (little-endian):
//!
//! ```text
//! token size (1) | token (token size bytes: the object header address
//!                  for files of libhdf5's native format)
//! [external]     name length (2) | file name (no NUL)
//! [region]       selection size (4) | extent rank (4)
//!                | selection (selection size bytes, spec VIII.A)
//! [attribute]    name length (2) | attribute name (no NUL)
//! ```
//!
//! The old forms: an object reference (`H5R_OBJECT1`) is the object header
//! address (O); a region reference (`H5R_DATASET_REGION1`) is a global heap
//! ID (address (O), index (4)) of an object holding the dataset's header
//! address (O) then its selection (VIII.A).
//!
//! What libhdf5 (2.0) writes, checked against its files:
//! - an element of `H5T_STD_REF` takes 2 + 4 + O + 4 bytes (18 with 8-byte
//!   offsets, 14 with 4-byte ones), whatever it holds, and the datatype's
//!   type bits always say "object" (2), even in a dataset of region or
//!   attribute references: the header of each element tells its kind;
//! - as the spec says, only object references to the same file are inline;
//!   every other reference, object references to another file included,
//!   goes to the global heap, and the heap object holds the block only
//!   (the header stays in the element); the size field before the heap ID
//!   is the block's size, which is also the heap object's size;
//! - the extent rank after the selection size is the referenced dataset's
//!   rank (also for "all" and "none" selections, which carry none);
//! - the selection is encoded with the oldest version the file's format
//!   bounds allow: version 1 (4-byte fields, hyperslabs as lists of
//!   blocks) by default, version 3 (packed widths, regular hyperslabs as
//!   start/stride/count/block) with the latest format;
//! - the external file name is the name the referenced file was opened
//!   with (a relative name stays relative);
//! - a null reference is all zeros.

use super::Sizes;
use super::cursor::{Cursor, le_uint};
use super::dataspace::MAX_RANK;
use super::vds::EncodedSelection;
use crate::error::{Error, Result};

/// What a reference names (the type byte of a revised reference header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReferenceType {
    /// An object: group, dataset or committed datatype (`H5R_OBJECT1`,
    /// `H5R_OBJECT2`).
    Object,
    /// Elements of a dataset (`H5R_DATASET_REGION1`, `H5R_DATASET_REGION2`).
    Region,
    /// An attribute of an object (`H5R_ATTR`).
    Attribute,
}

impl ReferenceType {
    /// The type of a revised reference header byte (2, 3 or 4).
    pub fn from_revised(code: u8) -> Option<ReferenceType> {
        match code {
            2 => Some(ReferenceType::Object),
            3 => Some(ReferenceType::Region),
            4 => Some(ReferenceType::Attribute),
            _ => None,
        }
    }
}

/// The selection of a region reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionSelection {
    /// Rank of the referenced dataset, as a revised reference stores it;
    /// for old references the selection's own rank (`None` for "all" and
    /// "none", which do not store one).
    pub rank: Option<u32>,
    /// The selected elements.
    pub selection: EncodedSelection,
}

/// A decoded reference (its block, for revised references).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// What it names.
    pub kind: ReferenceType,
    /// The object's token: in files of libhdf5's native format the
    /// object header address, little-endian, "size of offsets" bytes.
    pub token: Vec<u8>,
    /// The file holding the object when it is not the referencing file, as
    /// the reference stores it.
    pub external_file: Option<String>,
    /// The selected elements, for region references.
    pub selection: Option<RegionSelection>,
    /// The attribute's name, for attribute references.
    pub attribute: Option<String>,
}

impl Reference {
    /// The object header address the token holds (in `external_file` when
    /// that is set); `None` when the token is wider than 8 bytes with
    /// non-zero high bytes, or all ones (undefined).
    pub fn address(&self) -> Option<u64> {
        if self.token.is_empty() || self.token.iter().skip(8).any(|&b| b != 0) {
            return None;
        }
        let w = self.token.len().min(8);
        let v = le_uint(&self.token[..w]);
        let undefined = if w == 8 {
            u64::MAX
        } else {
            (1u64 << (8 * w as u32)) - 1
        };
        (v != undefined).then_some(v)
    }

    /// An old object reference (`H5R_OBJECT1`) to the header at `addr`.
    pub fn object_v1(addr: u64, sizes: Sizes) -> Reference {
        let w = sizes.offset as usize;
        Reference {
            kind: ReferenceType::Object,
            token: addr.to_le_bytes()[..w.min(8)].to_vec(),
            external_file: None,
            selection: None,
            attribute: None,
        }
    }

    /// Decodes the global heap object of an old region reference
    /// (`H5R_DATASET_REGION1`): the dataset's header address, then its
    /// selection. `addr` is where `obj` is in the file (for errors).
    ///
    /// # Errors
    /// `Format` when the object is too short or the selection malformed.
    pub fn decode_region_v1(obj: &[u8], addr: u64, sizes: Sizes) -> Result<Reference> {
        let mut c = Cursor::new(obj, addr, sizes);
        let token = c.bytes(sizes.offset as usize)?.to_vec();
        let selection = EncodedSelection::decode(&mut c)
            .map_err(|e| e.context("region reference (old form)"))?;
        Ok(Reference {
            kind: ReferenceType::Region,
            token,
            external_file: None,
            selection: Some(RegionSelection {
                rank: selection.rank().map(|r| r as u32),
                selection,
            }),
            attribute: None,
        })
    }

    /// Decodes a revised reference block of type `kind` (`external`: the
    /// header's flag bit 0). `addr` is where `block` is in the file.
    ///
    /// # Errors
    /// `Format` when a field runs past the block, the rank is out of range
    /// or the selection is malformed or disagrees with the rank.
    pub fn decode_block(
        kind: ReferenceType,
        external: bool,
        block: &[u8],
        addr: u64,
        sizes: Sizes,
    ) -> Result<Reference> {
        let mut c = Cursor::new(block, addr, sizes);
        decode_block(&mut c, kind, external).map_err(|e| e.context("reference block"))
    }
}

fn decode_block(c: &mut Cursor, kind: ReferenceType, external: bool) -> Result<Reference> {
    let n = c.u8()? as usize;
    let token = c.bytes(n)?.to_vec();
    let external_file = if external { Some(short_name(c)?) } else { None };
    let selection = if kind == ReferenceType::Region {
        let at = c.address();
        let size = c.u32()? as usize;
        let rank = c.u32()?;
        if rank as usize > MAX_RANK {
            return Err(Error::format(format!("selection rank {rank}"), at));
        }
        if size > c.remaining() {
            return Err(Error::format(
                format!(
                    "{size}-byte selection runs past the block ({} bytes left)",
                    c.remaining()
                ),
                at,
            ));
        }
        let mut s = c.sub(size)?;
        let selection = EncodedSelection::decode(&mut s)?;
        if let Some(r) = selection.rank().filter(|&r| r != rank as usize) {
            return Err(Error::format(
                format!("selection of rank {r} in a reference of rank {rank}"),
                at,
            ));
        }
        Some(RegionSelection {
            rank: Some(rank),
            selection,
        })
    } else {
        None
    };
    let attribute = if kind == ReferenceType::Attribute {
        Some(short_name(c)?)
    } else {
        None
    };
    Ok(Reference {
        kind,
        token,
        external_file,
        selection,
        attribute,
    })
}

/// A name of a 2-byte length and that many bytes (no NUL).
fn short_name(c: &mut Cursor) -> Result<String> {
    let n = c.u16()? as usize;
    Ok(String::from_utf8_lossy(c.bytes(n)?).into_owned())
}

/// What one element of a revised reference type holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredReference {
    /// A null reference: type 0, or a global heap ID of address 0 or the
    /// undefined address.
    Null,
    /// The whole reference, in the element.
    Inline(Reference),
    /// The reference's block is a global heap object.
    InHeap {
        /// What the reference names.
        kind: ReferenceType,
        /// Header flag bit 0: the object is in another file.
        external: bool,
        /// Size of the block.
        size: u32,
        /// Address of the global heap collection.
        heap: u64,
        /// Index of the object in the collection.
        index: u32,
    },
}

impl StoredReference {
    /// Decodes one element (`at`: its file address, or 0 when not known).
    ///
    /// # Errors
    /// `Format` on an unknown reference type or an element too short for
    /// its fields.
    pub fn decode(elem: &[u8], at: u64, sizes: Sizes) -> Result<StoredReference> {
        let mut c = Cursor::new(elem, at, sizes);
        let code = c.u8()?;
        let flags = c.u8()?;
        if code == 0 {
            return Ok(StoredReference::Null);
        }
        let kind = ReferenceType::from_revised(code)
            .ok_or_else(|| Error::format(format!("revised reference: type {code}"), at))?;
        let external = flags & 1 != 0;
        if kind == ReferenceType::Object && !external {
            let r = decode_block(&mut c, kind, false)
                .map_err(|e| e.context("revised reference (inline)"))?;
            return Ok(StoredReference::Inline(r));
        }
        let size = c.u32()?;
        let heap = c.uint(sizes.offset as usize)?;
        let index = c.u32()?;
        if heap == 0 || heap == sizes.undefined_address() {
            return Ok(StoredReference::Null);
        }
        Ok(StoredReference::InHeap {
            kind,
            external,
            size,
            heap,
            index,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::vds::Hyperslab;

    const S8: Sizes = Sizes::DEFAULT;

    fn sizes4() -> Sizes {
        Sizes::new(4, 4).unwrap()
    }

    #[test]
    fn inline_object() {
        // libhdf5 2.0, 8-byte offsets: object /data/ds at 0x728
        let e = [2, 0, 8, 0x28, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        let StoredReference::Inline(r) = StoredReference::decode(&e, 0, S8).unwrap() else {
            panic!()
        };
        assert_eq!(r.kind, ReferenceType::Object);
        assert_eq!(r.address(), Some(0x728));
        assert_eq!(r.external_file, None);
        assert_eq!(r.selection, None);
        assert_eq!(r.attribute, None);
    }

    #[test]
    fn inline_object_four_byte_offsets() {
        let e = [2, 0, 4, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        let StoredReference::Inline(r) = StoredReference::decode(&e, 0, sizes4()).unwrap() else {
            panic!()
        };
        assert_eq!(r.token, [0x9b, 0, 0, 0]);
        assert_eq!(r.address(), Some(0x9b));
    }

    #[test]
    fn null_is_all_zeros() {
        assert_eq!(
            StoredReference::decode(&[0; 18], 0, S8).unwrap(),
            StoredReference::Null
        );
        // a heap ID of address 0 is null as well
        let e = [3, 0, 57, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(
            StoredReference::decode(&e, 0, S8).unwrap(),
            StoredReference::Null
        );
    }

    #[test]
    fn heap_ids() {
        // region: block of 57 bytes, collection 0xa40, object 2
        let e = [3, 0, 57, 0, 0, 0, 0x40, 0x0a, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0];
        assert_eq!(
            StoredReference::decode(&e, 0, S8).unwrap(),
            StoredReference::InHeap {
                kind: ReferenceType::Region,
                external: false,
                size: 57,
                heap: 0xa40,
                index: 2
            }
        );
        // object in another file: also in the heap
        let e = [2, 1, 30, 0, 0, 0, 0x40, 0x0a, 0, 0, 0, 0, 0, 0, 11, 0, 0, 0];
        assert!(matches!(
            StoredReference::decode(&e, 0, S8).unwrap(),
            StoredReference::InHeap {
                kind: ReferenceType::Object,
                external: true,
                size: 30,
                ..
            }
        ));
        // attribute, 4-byte offsets
        let e = [4, 0, 16, 0, 0, 0, 6, 9, 0, 0, 1, 0, 0, 0];
        assert!(matches!(
            StoredReference::decode(&e, 0, sizes4()).unwrap(),
            StoredReference::InHeap {
                kind: ReferenceType::Attribute,
                heap: 0x906,
                index: 1,
                ..
            }
        ));
    }

    #[test]
    fn bad_elements() {
        // unknown type
        let mut e = [0u8; 18];
        e[0] = 5;
        assert!(StoredReference::decode(&e, 0, S8).is_err());
        e[0] = 1;
        assert!(StoredReference::decode(&e, 0, S8).is_err());
        // token runs past the element
        let e = [2, 0, 40, 1, 2, 3];
        assert!(StoredReference::decode(&e, 0, S8).is_err());
        // element too short for a heap ID
        let e = [3, 0, 57, 0, 0, 0, 0x40];
        assert!(StoredReference::decode(&e, 0, S8).is_err());
        assert!(StoredReference::decode(&[2], 0, S8).is_err());
        assert!(StoredReference::decode(&[], 0, S8).is_err());
    }

    #[test]
    fn region_block_hyperslab_v1() {
        // libhdf5 2.0: /data/ds (0x728), hyperslab (1,2) count (2,3),
        // stored as one block (1,2)-(2,4)
        let mut b = vec![8, 0x28, 7, 0, 0, 0, 0, 0, 0];
        for v in [40u32, 2, 2, 1, 0, 24, 2, 1, 1, 2, 2, 4] {
            b.extend(v.to_le_bytes());
        }
        assert_eq!(b.len(), 57);
        let r = Reference::decode_block(ReferenceType::Region, false, &b, 0, S8).unwrap();
        assert_eq!(r.address(), Some(0x728));
        let s = r.selection.unwrap();
        assert_eq!(s.rank, Some(2));
        assert_eq!(
            s.selection,
            EncodedSelection::Hyperslab(Hyperslab::Irregular {
                rank: 2,
                blocks: vec![1, 2, 2, 4]
            })
        );
    }

    #[test]
    fn region_block_all_and_points() {
        let mut b = vec![8, 0x28, 7, 0, 0, 0, 0, 0, 0];
        for v in [16u32, 2, 3, 1, 0, 0] {
            b.extend(v.to_le_bytes());
        }
        let r = Reference::decode_block(ReferenceType::Region, false, &b, 0, S8).unwrap();
        let s = r.selection.unwrap();
        assert_eq!((s.rank, s.selection), (Some(2), EncodedSelection::All));

        // version 2 points, 2-byte coordinates, 4-byte offsets
        let mut b = vec![4, 0x9b, 0, 0, 0, 23, 0, 0, 0, 2, 0, 0, 0];
        b.extend([1, 0, 0, 0, 2, 0, 0, 0, 2, 2, 0, 0, 0, 2, 0]);
        b.extend([0, 0, 0, 0, 3, 0, 4, 0]);
        let r = Reference::decode_block(ReferenceType::Region, false, &b, 0, sizes4()).unwrap();
        assert_eq!(
            r.selection.unwrap().selection,
            EncodedSelection::Points {
                rank: 2,
                coords: vec![0, 0, 3, 4]
            }
        );
    }

    #[test]
    fn region_block_errors() {
        let head = [8u8, 0x28, 7, 0, 0, 0, 0, 0, 0];
        let block = |fields: &[u32]| {
            let mut b = head.to_vec();
            for v in fields {
                b.extend(v.to_le_bytes());
            }
            b
        };
        let dec = |b: &[u8]| Reference::decode_block(ReferenceType::Region, false, b, 0, S8);
        // selection size past the block
        assert!(dec(&block(&[400, 2, 3, 1, 0, 0])).is_err());
        // rank out of range
        assert!(dec(&block(&[16, 99, 3, 1, 0, 0])).is_err());
        // selection rank differs from the stored rank
        assert!(dec(&block(&[40, 3, 2, 1, 0, 24, 2, 1, 1, 2, 2, 4])).is_err());
        // selection longer than its stated size
        assert!(dec(&block(&[20, 2, 2, 1, 0, 24, 2, 1, 1, 2, 2, 4])).is_err());
        // no selection at all
        assert!(dec(&head).is_err());
    }

    #[test]
    fn attribute_and_external_blocks() {
        let mut b = vec![8, 0x28, 7, 0, 0, 0, 0, 0, 0, 5, 0];
        b.extend(b"units");
        let r = Reference::decode_block(ReferenceType::Attribute, false, &b, 0, S8).unwrap();
        assert_eq!(r.attribute.as_deref(), Some("units"));
        assert_eq!(r.address(), Some(0x728));

        // attribute "a" of /target (0x320) in another file
        let mut b = vec![8, 0x20, 3, 0, 0, 0, 0, 0, 0, 19, 0];
        b.extend(b"revised_refs_ext.h5");
        b.extend([1, 0, b'a']);
        let r = Reference::decode_block(ReferenceType::Attribute, true, &b, 0, S8).unwrap();
        assert_eq!(r.external_file.as_deref(), Some("revised_refs_ext.h5"));
        assert_eq!(r.attribute.as_deref(), Some("a"));
        assert_eq!(r.address(), Some(0x320));

        // names running past the block
        let b = [8, 0x20, 3, 0, 0, 0, 0, 0, 0, 19, 0, b'x'];
        assert!(Reference::decode_block(ReferenceType::Object, true, &b, 0, S8).is_err());
        assert!(Reference::decode_block(ReferenceType::Attribute, false, &b[..10], 0, S8).is_err());
    }

    #[test]
    fn addresses() {
        let r = |token: Vec<u8>| Reference {
            kind: ReferenceType::Object,
            token,
            external_file: None,
            selection: None,
            attribute: None,
        };
        assert_eq!(r(vec![]).address(), None);
        assert_eq!(r(vec![0xff; 8]).address(), None);
        assert_eq!(r(vec![0xff; 4]).address(), None);
        assert_eq!(r(vec![1, 2]).address(), Some(0x201));
        let mut t = vec![0x60, 0, 0, 0, 0, 0, 0, 0];
        t.extend([0; 8]);
        assert_eq!(r(t.clone()).address(), Some(0x60));
        t[12] = 1;
        assert_eq!(r(t).address(), None);
        assert_eq!(Reference::object_v1(0x60, sizes4()).token, [0x60, 0, 0, 0]);
    }

    #[test]
    fn old_region() {
        // address 0x320, then a version 1 points selection of 2 points
        let mut b = vec![0x20, 3, 0, 0, 0, 0, 0, 0];
        for v in [1u32, 1, 0, 24, 2, 2, 0, 4, 5, 0] {
            b.extend(v.to_le_bytes());
        }
        let r = Reference::decode_region_v1(&b, 0, S8).unwrap();
        assert_eq!(r.address(), Some(0x320));
        let s = r.selection.unwrap();
        assert_eq!(s.rank, Some(2));
        assert_eq!(
            s.selection,
            EncodedSelection::Points {
                rank: 2,
                coords: vec![0, 4, 5, 0]
            }
        );
        assert!(Reference::decode_region_v1(&b[..6], 0, S8).is_err());
        assert!(Reference::decode_region_v1(&b[..20], 0, S8).is_err());
    }
}
