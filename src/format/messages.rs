//! Small header messages: link info (0x02), symbol table (0x11), attribute
//! info (0x15), external data files (0x07).

use super::cursor::Cursor;
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
        if flags & 1 != 0 {
            c.u64()?;
        }
        let heap = c.address_field()?;
        let name_index = c.address_field()?;
        let order_index = if flags & 2 != 0 {
            c.address_field()?
        } else {
            None
        };
        Ok(LinkInfo {
            track_order: flags & 1 != 0,
            index_order: flags & 2 != 0,
            heap,
            name_index,
            order_index,
        })
    }
}

/// Attribute info message (spec IV.A.2.v): where an object keeps dense
/// attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeInfo {
    /// Creation order is tracked.
    pub track_order: bool,
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
        if flags & 1 != 0 {
            c.u16()?;
        }
        let heap = c.address_field()?;
        let name_index = c.address_field()?;
        let order_index = if flags & 2 != 0 {
            c.address_field()?
        } else {
            None
        };
        Ok(AttributeInfo {
            track_order: flags & 1 != 0,
            heap,
            name_index,
            order_index,
        })
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
