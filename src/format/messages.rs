//! Small header messages: link info (0x02), group info (0x0a), symbol
//! table (0x11), attribute info (0x15), external data files (0x07).
//!
//! Each has `decode` and an `encode` that writes exactly the bytes libhdf5
//! writes for the same values.

use super::Sizes;
use super::cursor::{Cursor, Encoder};
use crate::error::{Error, Result};

/// Link info message (spec IV.A.2.c): where a new-style group keeps dense
/// links.
///
/// ```text
/// version 0 | flags | [max creation index (8)] | fractal heap (O)
///   | name index v2 B-tree (O) | [creation order index (O)]
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkInfo {
    /// Creation order is tracked.
    pub track_order: bool,
    /// Largest creation index given so far (stored only when tracked).
    pub max_creation_index: u64,
    /// Creation order is indexed.
    pub index_order: bool,
    /// Fractal heap of dense links (`None` when links are compact).
    pub heap: Option<u64>,
    /// v2 B-tree indexing links by name hash.
    pub name_index: Option<u64>,
    /// v2 B-tree indexing links by creation order.
    pub order_index: Option<u64>,
}

impl LinkInfo {
    /// Decodes a link info message.
    pub fn decode(c: &mut Cursor) -> Result<Self> {
        let at = c.address();
        let version = c.u8()?;
        if version != 0 {
            return Err(Error::format(format!("link info: version {version}"), at));
        }
        let flags = c.u8()?;
        let max_creation_index = if flags & 1 != 0 { c.u64()? } else { 0 };
        let heap = c.address_field()?;
        let name_index = c.address_field()?;
        let order_index = if flags & 2 != 0 {
            c.address_field()?
        } else {
            None
        };
        Ok(LinkInfo {
            track_order: flags & 1 != 0,
            max_creation_index,
            index_order: flags & 2 != 0,
            heap,
            name_index,
            order_index,
        })
    }
}

impl LinkInfo {
    /// Encodes the message (version 0). The creation-order index address
    /// is written only when `index_order` is set.
    pub fn encode(&self, sizes: Sizes) -> Vec<u8> {
        let mut e = Encoder::new(sizes);
        e.u8(0)
            .u8(u8::from(self.track_order) | u8::from(self.index_order) << 1);
        if self.track_order {
            e.u64(self.max_creation_index);
        }
        e.address(self.heap).address(self.name_index);
        if self.index_order {
            e.address(self.order_index);
        }
        e.into_bytes()
    }
}

/// Attribute info message (spec IV.A.2.v): where an object keeps dense
/// attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeInfo {
    /// Creation order is tracked.
    pub track_order: bool,
    /// Creation order is indexed.
    pub index_order: bool,
    /// Largest creation index given so far (stored only when tracked).
    pub max_creation_index: u16,
    /// Fractal heap of dense attributes.
    pub heap: Option<u64>,
    /// v2 B-tree indexing attributes by name hash.
    pub name_index: Option<u64>,
    /// v2 B-tree indexing attributes by creation order.
    pub order_index: Option<u64>,
}

impl AttributeInfo {
    /// Decodes an attribute info message.
    pub fn decode(c: &mut Cursor) -> Result<Self> {
        let at = c.address();
        let version = c.u8()?;
        if version != 0 {
            return Err(Error::format(
                format!("attribute info: version {version}"),
                at,
            ));
        }
        let flags = c.u8()?;
        let max_creation_index = if flags & 1 != 0 { c.u16()? } else { 0 };
        let heap = c.address_field()?;
        let name_index = c.address_field()?;
        let order_index = if flags & 2 != 0 {
            c.address_field()?
        } else {
            None
        };
        Ok(AttributeInfo {
            track_order: flags & 1 != 0,
            index_order: flags & 2 != 0,
            max_creation_index,
            heap,
            name_index,
            order_index,
        })
    }
}

impl AttributeInfo {
    /// Encodes the message (version 0).
    pub fn encode(&self, sizes: Sizes) -> Vec<u8> {
        let mut e = Encoder::new(sizes);
        e.u8(0)
            .u8(u8::from(self.track_order) | u8::from(self.index_order) << 1);
        if self.track_order {
            e.u16(self.max_creation_index);
        }
        e.address(self.heap).address(self.name_index);
        if self.index_order {
            e.address(self.order_index);
        }
        e.into_bytes()
    }
}

/// Group info message (spec IV.A.2.k): a new-style group's thresholds
/// between compact and dense link storage and its size estimates.
///
/// ```text
/// version 0 | flags | [max compact (2) | min dense (2)]
///   | [estimated entries (2) | estimated name length (2)]
/// ```
/// Flags bit 0: the phase-change values are stored; bit 1: the estimates.
/// libhdf5 writes an empty message (flags 0) for default settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GroupInfo {
    /// Most links kept compact, and fewest kept dense (when not default).
    pub phase_change: Option<(u16, u16)>,
    /// Estimated number of entries and name length (when not default).
    pub estimates: Option<(u16, u16)>,
}

impl GroupInfo {
    /// Decodes a group info message.
    pub fn decode(c: &mut Cursor) -> Result<Self> {
        let at = c.address();
        let version = c.u8()?;
        if version != 0 {
            return Err(Error::format(format!("group info: version {version}"), at));
        }
        let flags = c.u8()?;
        let phase_change = if flags & 1 != 0 {
            Some((c.u16()?, c.u16()?))
        } else {
            None
        };
        let estimates = if flags & 2 != 0 {
            Some((c.u16()?, c.u16()?))
        } else {
            None
        };
        Ok(GroupInfo {
            phase_change,
            estimates,
        })
    }

    /// Encodes the message (version 0).
    pub fn encode(&self) -> Vec<u8> {
        let mut e = Encoder::new(Sizes::DEFAULT);
        e.u8(0)
            .u8(u8::from(self.phase_change.is_some()) | u8::from(self.estimates.is_some()) << 1);
        for (a, b) in [self.phase_change, self.estimates].into_iter().flatten() {
            e.u16(a).u16(b);
        }
        e.into_bytes()
    }
}

/// Symbol table message (spec IV.A.2.r): an old-style group's B-tree and
/// local heap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SymbolTableMessage {
    /// v1 B-tree of group nodes.
    pub btree: u64,
    /// Local heap of link names.
    pub heap: u64,
}

impl SymbolTableMessage {
    /// Decodes a symbol table message.
    pub fn decode(c: &mut Cursor) -> Result<Self> {
        Ok(SymbolTableMessage {
            btree: c.required_address("symbol table B-tree")?,
            heap: c.required_address("symbol table local heap")?,
        })
    }

    /// Encodes the message: the B-tree address, then the heap address.
    pub fn encode(&self, sizes: Sizes) -> Vec<u8> {
        let mut e = Encoder::new(sizes);
        e.address(Some(self.btree)).address(Some(self.heap));
        e.into_bytes()
    }
}

/// One slot of the external data files message (spec IV.A.2.h).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalSlot {
    /// Offset of the file name in the local heap.
    pub name_offset: u64,
    /// Byte offset of the data in the external file.
    pub offset: u64,
    /// Bytes reserved in the external file.
    pub size: u64,
}

/// External data files message: local heap of names and the slots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalFiles {
    /// Local heap holding the file names.
    pub heap: u64,
    /// The slots, in order of the dataset's bytes.
    pub slots: Vec<ExternalSlot>,
}

impl ExternalFiles {
    /// Decodes an external data files message.
    pub fn decode(c: &mut Cursor) -> Result<Self> {
        let at = c.address();
        let version = c.u8()?;
        if version != 1 {
            return Err(Error::format(
                format!("external files: version {version}"),
                at,
            ));
        }
        c.skip(3)?;
        let _allocated = c.u16()?;
        let used = c.u16()? as usize;
        let heap = c.required_address("external files heap")?;
        let mut slots = Vec::with_capacity(used.min(c.remaining()));
        for _ in 0..used {
            slots.push(ExternalSlot {
                name_offset: c.length()?,
                offset: c.length()?,
                size: c.length()?,
            });
        }
        Ok(ExternalFiles { heap, slots })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn addr() -> impl Strategy<Value = Option<u64>> {
        prop::option::of(0u64..1 << 48)
    }

    proptest! {
        #[test]
        fn link_info_round_trip(t in any::<bool>(), i in any::<bool>(), m in any::<u64>(),
                                h in addr(), n in addr(), o in addr()) {
            let x = LinkInfo {
                track_order: t,
                max_creation_index: if t { m } else { 0 },
                index_order: i,
                heap: h,
                name_index: n,
                order_index: if i { o } else { None },
            };
            let b = x.encode(Sizes::DEFAULT);
            prop_assert_eq!(LinkInfo::decode(&mut Cursor::new(&b, 0, Sizes::DEFAULT)).unwrap(), x);
        }

        #[test]
        fn attribute_info_round_trip(t in any::<bool>(), i in any::<bool>(), m in any::<u16>(),
                                     h in addr(), n in addr(), o in addr()) {
            let x = AttributeInfo {
                track_order: t,
                index_order: i,
                max_creation_index: if t { m } else { 0 },
                heap: h,
                name_index: n,
                order_index: if i { o } else { None },
            };
            let b = x.encode(Sizes::DEFAULT);
            let back = AttributeInfo::decode(&mut Cursor::new(&b, 0, Sizes::DEFAULT)).unwrap();
            prop_assert_eq!(back, x);
        }

        #[test]
        fn group_info_round_trip(p in prop::option::of(any::<(u16, u16)>()),
                                 e in prop::option::of(any::<(u16, u16)>())) {
            let x = GroupInfo { phase_change: p, estimates: e };
            let b = x.encode();
            prop_assert_eq!(GroupInfo::decode(&mut Cursor::new(&b, 0, Sizes::DEFAULT)).unwrap(), x);
        }

        #[test]
        fn symbol_table_round_trip(b in 0u64..1 << 48, h in 0u64..1 << 48) {
            let x = SymbolTableMessage { btree: b, heap: h };
            let e = x.encode(Sizes::DEFAULT);
            let back = SymbolTableMessage::decode(&mut Cursor::new(&e, 0, Sizes::DEFAULT)).unwrap();
            prop_assert_eq!(back, x);
        }
    }

    #[test]
    fn group_info_bytes() {
        assert_eq!(GroupInfo::default().encode(), [0, 0]);
        let g = GroupInfo {
            phase_change: Some((8, 6)),
            estimates: None,
        };
        assert_eq!(g.encode(), [0, 1, 8, 0, 6, 0]);
    }

    #[test]
    fn link_info_bytes() {
        let x = LinkInfo {
            track_order: false,
            max_creation_index: 0,
            index_order: false,
            heap: None,
            name_index: None,
            order_index: None,
        };
        let mut want = vec![0u8, 0];
        want.extend([0xff; 16]);
        assert_eq!(x.encode(Sizes::DEFAULT), want);
    }
}
