//! The filter pipeline message (spec IV.A.2.l): how chunks are encoded.
//!
//! ```text
//! v1: version | count | reserved (6) | filters:
//!     id (2) | name length (2) | flags (2) | value count (2)
//!     | name (padded to 8) | values (4 each) | [pad 4 if count odd]
//! v2: version | count | filters: id (2) | [name length (2) if id >= 256]
//!     | flags (2) | value count (2) | [name] | values (4 each)
//! ```

use super::cursor::Cursor;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::Sizes;

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
