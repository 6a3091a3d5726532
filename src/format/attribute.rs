//! The attribute message (spec IV.A.2.m): a small named value on an object.
//!
//! ```text
//! v1: version | reserved | name size (2) | type size (2) | space size (2)
//!     | name, type, space each padded to 8 | data
//! v2: version | flags | sizes as v1 | name | type | space | data
//! v3: v2 plus a charset byte after the sizes
//! ```
//! Flags bit 0 / 1: the datatype / dataspace is a shared-message reference.

use super::cursor::Cursor;
use crate::error::{Error, Result};

/// An attribute message, its parts still encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawAttribute<'a> {
    /// The name.
    pub name: String,
    /// Datatype message bytes (or a shared reference if `shared_type`).
    pub dtype: &'a [u8],
    /// File address of the datatype bytes.
    pub dtype_addr: u64,
    /// The datatype is a shared message.
    pub shared_type: bool,
    /// Dataspace message bytes (or a shared reference if `shared_space`).
    pub space: &'a [u8],
    /// File address of the dataspace bytes.
    pub space_addr: u64,
    /// The dataspace is a shared message.
    pub shared_space: bool,
    /// The raw value bytes (what follows the dataspace).
    pub data: &'a [u8],
}

impl<'a> RawAttribute<'a> {
    /// Splits an attribute message into its parts.
    pub fn decode(c: &mut Cursor<'a>) -> Result<RawAttribute<'a>> {
        let at = c.address();
        let version = c.u8()?;
        let flags = c.u8()?;
        let name_size = c.u16()? as usize;
        let type_size = c.u16()? as usize;
        let space_size = c.u16()? as usize;
        if version == 3 {
            c.u8()?;
        } else if !(1..=3).contains(&version) {
            return Err(Error::format(format!("attribute: version {version}"), at));
        }
        let pad = |n: usize| if version == 1 { n.div_ceil(8) * 8 } else { n };
        let raw_name = c.bytes(pad(name_size))?;
        let end = raw_name
            .iter()
            .take(name_size)
            .position(|&b| b == 0)
            .unwrap_or(name_size.min(raw_name.len()));
        let name = String::from_utf8_lossy(&raw_name[..end]).into_owned();
        let dtype_addr = c.address();
        let dtype = c.bytes(pad(type_size))?;
        let space_addr = c.address();
        let space = c.bytes(pad(space_size))?;
        Ok(RawAttribute {
            name,
            dtype,
            dtype_addr,
            shared_type: flags & 1 != 0,
            space,
            space_addr,
            shared_space: flags & 2 != 0,
            data: c.rest(),
        })
    }
}
