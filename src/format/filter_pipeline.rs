//! The filter pipeline message (spec IV.A.2.l): how chunks are encoded.
//!
//! ```text
//! v1: version | count | reserved (6) | filters:
//!     id (2) | name length (2) | flags (2) | value count (2)
//!     | name (padded to 8) | values (4 each) | [pad 4 if count odd]
//! v2: version | count | filters: id (2) | [name length (2) if id >= 256]
//!     | flags (2) | value count (2) | [name] | values (4 each)
//! ```

use super::cursor::{Cursor, Encoder};
use crate::error::{Error, Result};

/// Filter identifiers of the filters libhdf5 ships.
pub mod id {
    /// gzip / deflate.
    pub const DEFLATE: u16 = 1;
    /// Byte shuffle.
    pub const SHUFFLE: u16 = 2;
    /// Fletcher-32 checksum.
    pub const FLETCHER32: u16 = 3;
    /// SZIP.
    pub const SZIP: u16 = 4;
    /// N-bit.
    pub const NBIT: u16 = 5;
    /// Scale + offset.
    pub const SCALEOFFSET: u16 = 6;
}

/// One filter of a pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterInfo {
    /// Filter identifier.
    pub id: u16,
    /// Optional name.
    pub name: String,
    /// Flags: bit 0 means the filter is optional.
    pub flags: u16,
    /// Client data values.
    pub params: Vec<u32>,
}

impl FilterInfo {
    /// True when a failure of this filter may be ignored.
    pub fn optional(&self) -> bool {
        self.flags & 1 != 0
    }
}

/// Decodes a filter pipeline message into its filters, in order.
pub fn decode(c: &mut Cursor) -> Result<Vec<FilterInfo>> {
    let at = c.address();
    let version = c.u8()?;
    let n = c.u8()? as usize;
    if version == 1 {
        c.skip(6)?;
    } else if version != 2 {
        return Err(Error::format(
            format!("filter pipeline: version {version}"),
            at,
        ));
    }
    if n > 32 {
        return Err(Error::format(format!("filter pipeline: {n} filters"), at));
    }
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let id = c.u16()?;
        let name_len = if version == 1 || id >= 256 {
            c.u16()? as usize
        } else {
            0
        };
        let flags = c.u16()?;
        let nvalues = c.u16()? as usize;
        let name = if name_len > 0 {
            let raw = c.bytes(if version == 1 {
                name_len.div_ceil(8) * 8
            } else {
                name_len
            })?;
            let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
            String::from_utf8_lossy(&raw[..end]).into_owned()
        } else {
            String::new()
        };
        let mut params = Vec::with_capacity(nvalues.min(c.remaining() / 4));
        for _ in 0..nvalues {
            params.push(c.u32()?);
        }
        if version == 1 && nvalues % 2 == 1 {
            c.skip(4.min(c.remaining()))?;
        }
        out.push(FilterInfo {
            id,
            name,
            flags,
            params,
        });
    }
    Ok(out)
}

/// Encodes a filter pipeline message in `version` 1 (what libhdf5 writes
/// with the earliest format bounds) or 2 (the latest).
///
/// v1 stores every name with its NUL, padded to 8 bytes (the name length
/// field holds the padded length) and pads an odd number of values with 4
/// zero bytes. v2 stores a name (with its NUL, unpadded) only for filter
/// identifiers 256 and up, and no value padding.
pub fn encode(filters: &[FilterInfo], version: u8) -> Vec<u8> {
    let mut e = Encoder::new(super::Sizes::DEFAULT);
    let v1 = version <= 1;
    e.u8(if v1 { 1 } else { 2 }).u8(filters.len() as u8);
    if v1 {
        e.zeros(6);
    }
    for f in filters {
        let name_len = if f.name.is_empty() {
            0
        } else if v1 {
            (f.name.len() + 1).div_ceil(8) * 8
        } else {
            f.name.len() + 1
        };
        e.u16(f.id);
        let has_name = v1 || f.id >= 256;
        if has_name {
            e.u16(name_len as u16);
        }
        e.u16(f.flags).u16(f.params.len() as u16);
        if has_name && name_len > 0 {
            e.bytes(f.name.as_bytes()).zeros(name_len - f.name.len());
        }
        for &p in &f.params {
            e.u32(p);
        }
        if v1 && f.params.len() % 2 == 1 {
            e.zeros(4);
        }
    }
    e.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::Sizes;
    use proptest::prelude::*;

    fn filter(v1: bool) -> impl Strategy<Value = FilterInfo> {
        (
            any::<u16>(),
            "[a-z0-9]{0,20}",
            0u16..2,
            prop::collection::vec(any::<u32>(), 0..8),
        )
            .prop_map(move |(id, name, flags, params)| FilterInfo {
                name: if v1 || id >= 256 { name } else { String::new() },
                id,
                flags,
                params,
            })
    }

    proptest! {
        #[test]
        fn round_trip_v1(fs in prop::collection::vec(filter(true), 0..5)) {
            let b = encode(&fs, 1);
            prop_assert_eq!(decode(&mut Cursor::new(&b, 0, Sizes::DEFAULT)).unwrap(), fs);
        }

        #[test]
        fn round_trip_v2(fs in prop::collection::vec(filter(false), 0..5)) {
            let b = encode(&fs, 2);
            prop_assert_eq!(decode(&mut Cursor::new(&b, 0, Sizes::DEFAULT)).unwrap(), fs);
        }
    }

    #[test]
    fn encode_v2_lzf() {
        let f = FilterInfo {
            id: 32000,
            name: "lzf".into(),
            flags: 1,
            params: vec![4, 261, 200],
        };
        let mut want = vec![2u8, 1, 0x00, 0x7d, 4, 0, 1, 0, 3, 0, b'l', b'z', b'f', 0];
        for p in [4u32, 261, 200] {
            want.extend(p.to_le_bytes());
        }
        assert_eq!(encode(&[f], 2), want);
    }

    #[test]
    fn v1_shuffle_deflate() {
        let mut b = vec![1u8, 2, 0, 0, 0, 0, 0, 0];
        // shuffle, name "shuffle" (8 with NUL), 1 value, padded
        b.extend(2u16.to_le_bytes());
        b.extend(8u16.to_le_bytes());
        b.extend(1u16.to_le_bytes());
        b.extend(1u16.to_le_bytes());
        b.extend(b"shuffle\0");
        b.extend(4u32.to_le_bytes());
        b.extend([0u8; 4]);
        // deflate, no name, 1 value
        b.extend(1u16.to_le_bytes());
        b.extend(0u16.to_le_bytes());
        b.extend(1u16.to_le_bytes());
        b.extend(1u16.to_le_bytes());
        b.extend(6u32.to_le_bytes());
        b.extend([0u8; 4]);
        let f = decode(&mut Cursor::new(&b, 0, Sizes::DEFAULT)).unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].name, "shuffle");
        assert_eq!(f[0].params, vec![4]);
        assert_eq!(f[1].id, 1);
        assert_eq!(f[1].params, vec![6]);
    }

    #[test]
    fn v2_compact() {
        let mut b = vec![2u8, 1];
        b.extend(1u16.to_le_bytes());
        b.extend(1u16.to_le_bytes());
        b.extend(1u16.to_le_bytes());
        b.extend(4u32.to_le_bytes());
        let f = decode(&mut Cursor::new(&b, 0, Sizes::DEFAULT)).unwrap();
        assert_eq!(f[0].params, vec![4]);
        assert!(f[0].optional());
    }
}
