//! The attribute message (spec IV.A.2.m): a small named value on an object.
//!
//! ```text
//! v1: version | reserved | name size (2) | type size (2) | space size (2)
//!     | name, type, space each padded to 8 | data
//! v2: version | flags | sizes as v1 | name | type | space | data
//! v3: v2 plus a charset byte after the sizes
//! ```
//! Flags bit 0 / 1: the datatype / dataspace is a shared-message reference.

use super::cursor::{Cursor, Encoder};
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

/// An attribute message with its parts owned: what a writer builds and
/// [`AttributeMessage::encode`] turns into bytes.
///
/// `dtype` and `space` hold the encoded datatype and dataspace messages
/// (or shared-message references), without the v1 padding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeMessage {
    /// The name (without its NUL).
    pub name: String,
    /// Name character set: 0 ASCII, 1 UTF-8 (stored only from v3 on).
    pub charset: u8,
    /// Encoded datatype message, or a shared reference if `shared_type`.
    pub dtype: Vec<u8>,
    /// The datatype is a shared message.
    pub shared_type: bool,
    /// Encoded dataspace message, or a shared reference if `shared_space`.
    pub space: Vec<u8>,
    /// The dataspace is a shared message.
    pub shared_space: bool,
    /// The value bytes.
    pub data: Vec<u8>,
}

impl AttributeMessage {
    /// Decodes an attribute message into owned parts.
    pub fn decode(c: &mut Cursor) -> Result<AttributeMessage> {
        let at = c.address();
        let version = c.u8()?;
        if !(1..=3).contains(&version) {
            return Err(Error::format(format!("attribute: version {version}"), at));
        }
        let flags = c.u8()?;
        let name_size = c.u16()? as usize;
        let type_size = c.u16()? as usize;
        let space_size = c.u16()? as usize;
        let charset = if version == 3 { c.u8()? } else { 0 };
        let pad = |n: usize| if version == 1 { n.div_ceil(8) * 8 } else { n };
        let mut part = |n: usize| -> Result<Vec<u8>> {
            let raw = c.bytes(pad(n))?;
            Ok(raw[..n].to_vec())
        };
        let mut name = part(name_size)?;
        if let Some(end) = name.iter().position(|&b| b == 0) {
            name.truncate(end);
        }
        let dtype = part(type_size)?;
        let space = part(space_size)?;
        Ok(AttributeMessage {
            name: String::from_utf8_lossy(&name).into_owned(),
            charset,
            dtype,
            shared_type: flags & 1 != 0,
            space,
            shared_space: flags & 2 != 0,
            data: c.rest().to_vec(),
        })
    }

    /// Encodes the message in `version` 1 (what libhdf5 writes with the
    /// earliest format bounds: name, datatype and dataspace each padded to
    /// 8 bytes, no flags or charset), 2 (unpadded, with flags) or 3 (as 2
    /// plus the name's charset: the latest bounds). The name size counts
    /// its NUL; the datatype and dataspace sizes do not count padding.
    pub fn encode(&self, version: u8) -> Vec<u8> {
        let v = version.clamp(1, 3);
        let mut e = Encoder::new(super::Sizes::DEFAULT);
        let flags = if v == 1 {
            0
        } else {
            u8::from(self.shared_type) | u8::from(self.shared_space) << 1
        };
        e.u8(v)
            .u8(flags)
            .u16(self.name.len() as u16 + 1)
            .u16(self.dtype.len() as u16)
            .u16(self.space.len() as u16);
        if v == 3 {
            e.u8(self.charset);
        }
        let mut part = |b: &[u8], nul: bool| {
            e.bytes(b);
            if nul {
                e.u8(0);
            }
            if v == 1 {
                e.pad_to(8);
            }
        };
        part(self.name.as_bytes(), true);
        part(&self.dtype, false);
        part(&self.space, false);
        e.bytes(&self.data);
        e.into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::Sizes;
    use proptest::prelude::*;

    fn attr() -> impl Strategy<Value = AttributeMessage> {
        (
            "[a-zA-Z0-9_ ]{1,40}",
            0u8..2,
            prop::collection::vec(any::<u8>(), 8..40),
            prop::collection::vec(any::<u8>(), 4..40),
            prop::collection::vec(any::<u8>(), 0..40),
            any::<(bool, bool)>(),
        )
            .prop_map(|(name, charset, dtype, space, data, sh)| AttributeMessage {
                name,
                charset,
                dtype,
                shared_type: sh.0,
                space,
                shared_space: sh.1,
                data,
            })
    }

    proptest! {
        #[test]
        fn round_trip(a in attr(), v in 1u8..=3) {
            let b = a.encode(v);
            let mut want = a.clone();
            if v == 1 {
                want.shared_type = false;
                want.shared_space = false;
            }
            if v != 3 {
                want.charset = 0;
            }
            let back = AttributeMessage::decode(&mut Cursor::new(&b, 0, Sizes::DEFAULT)).unwrap();
            prop_assert_eq!(back, want);
        }
    }

    #[test]
    fn encode_v1_pads_to_8() {
        let a = AttributeMessage {
            name: "ab".into(),
            charset: 0,
            dtype: vec![0x10, 0, 0, 0, 1, 0, 0, 0, 0, 0, 8, 0],
            shared_type: false,
            space: vec![1, 0, 0, 0, 0, 0, 0, 0],
            shared_space: false,
            data: vec![7],
        };
        let b = a.encode(1);
        assert_eq!(&b[..8], &[1, 0, 3, 0, 12, 0, 8, 0]);
        assert_eq!(&b[8..16], b"ab\0\0\0\0\0\0");
        assert_eq!(b.len(), 8 + 8 + 16 + 8 + 1);
        let c = a.encode(3);
        assert_eq!(&c[..9], &[3, 0, 3, 0, 12, 0, 8, 0, 0]);
        assert_eq!(&c[9..12], b"ab\0");
    }
}
