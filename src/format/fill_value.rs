//! Fill value messages (spec IV.A.2.e old, IV.A.2.f new): what unwritten
//! elements read as.
//!
//! ```text
//! old (0x04): size (4) | value
//! new (0x05) v1/v2: version | alloc time | write time | defined
//!                   | [size (4) | value]   (v2: only when defined)
//!            v3:    version | flags | [size (4) | value] (flag bit 5)
//! ```

use super::cursor::{Cursor, Encoder};
use crate::error::{Error, Result};

/// When storage is allocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllocTime {
    /// Library default for the layout.
    Default,
    /// At creation.
    Early,
    /// At first write.
    Late,
    /// Chunk by chunk as written.
    Incremental,
}

/// A decoded fill value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FillValue {
    /// The fill value bytes in the dataset's type; `None` when the library
    /// default (all zero bytes) applies.
    pub value: Option<Vec<u8>>,
    /// Storage allocation time.
    pub alloc_time: AllocTime,
    /// Fill write time: 0 on allocation, 1 never, 2 if set.
    pub write_time: u8,
    /// The message says the value is undefined (v3 flag bit 4; in v1/v2 a
    /// "defined" byte of 0).
    pub undefined: bool,
}

impl Default for FillValue {
    fn default() -> Self {
        FillValue {
            value: None,
            alloc_time: AllocTime::Default,
            write_time: 2,
            undefined: false,
        }
    }
}

fn alloc(code: u8) -> AllocTime {
    match code {
        1 => AllocTime::Early,
        2 => AllocTime::Late,
        3 => AllocTime::Incremental,
        _ => AllocTime::Default,
    }
}

fn sized_value(c: &mut Cursor) -> Result<Option<Vec<u8>>> {
    let n = c.u32()? as usize;
    if n == 0 {
        return Ok(None);
    }
    Ok(Some(c.bytes(n)?.to_vec()))
}

impl FillValue {
    /// Decodes the old fill value message (0x04).
    pub fn decode_old(c: &mut Cursor) -> Result<FillValue> {
        Ok(FillValue {
            value: sized_value(c)?,
            ..FillValue::default()
        })
    }

    /// Decodes the fill value message (0x05).
    pub fn decode(c: &mut Cursor) -> Result<FillValue> {
        let at = c.address();
        let version = c.u8()?;
        match version {
            1 | 2 => {
                let alloc_time = alloc(c.u8()?);
                let write_time = c.u8()?;
                let defined = c.u8()?;
                let value = if version == 1 || defined != 0 {
                    if c.remaining() >= 4 {
                        sized_value(c)?
                    } else {
                        None
                    }
                } else {
                    None
                };
                Ok(FillValue {
                    value,
                    alloc_time,
                    write_time,
                    undefined: defined == 0,
                })
            }
            3 => {
                let flags = c.u8()?;
                let value = if flags & 0x20 != 0 {
                    sized_value(c)?
                } else {
                    None
                };
                Ok(FillValue {
                    value,
                    alloc_time: alloc(flags & 0x03),
                    write_time: (flags >> 2) & 0x03,
                    undefined: flags & 0x10 != 0,
                })
            }
            v => Err(Error::format(format!("fill value: version {v}"), at)),
        }
    }

    /// Encodes the fill value message (0x05) in `version` 2 (what libhdf5
    /// writes with the earliest format bounds) or 3 (the latest).
    ///
    /// v2 writes the "defined" byte as the negation of `undefined` and,
    /// when defined, the size then the value: libhdf5 writes a size of 0
    /// for the library default. v3 packs allocation time, write time,
    /// "undefined" (bit 4) and "value present" (bit 5) into one flags byte.
    pub fn encode(&self, version: u8) -> Vec<u8> {
        let mut e = Encoder::new(super::Sizes::DEFAULT);
        let alloc = match self.alloc_time {
            AllocTime::Default => 0u8,
            AllocTime::Early => 1,
            AllocTime::Late => 2,
            AllocTime::Incremental => 3,
        };
        let value = self.value.as_deref().unwrap_or(&[]);
        if version <= 2 {
            e.u8(2)
                .u8(alloc)
                .u8(self.write_time)
                .u8(u8::from(!self.undefined));
            if !self.undefined {
                e.u32(value.len() as u32).bytes(value);
            }
        } else {
            let has_value = !value.is_empty();
            e.u8(3).u8(alloc
                | (self.write_time & 3) << 2
                | u8::from(self.undefined) << 4
                | u8::from(has_value) << 5);
            if has_value {
                e.u32(value.len() as u32).bytes(value);
            }
        }
        e.into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::Sizes;
    use proptest::prelude::*;

    fn fill() -> impl Strategy<Value = FillValue> {
        (
            prop::option::of(prop::collection::vec(any::<u8>(), 1..20)),
            0u8..4,
            0u8..3,
            any::<bool>(),
        )
            .prop_map(|(value, a, write_time, undefined)| FillValue {
                value: if undefined { None } else { value },
                alloc_time: alloc(a),
                write_time,
                undefined,
            })
    }

    proptest! {
        #[test]
        fn round_trip(f in fill(), v in 2u8..=3) {
            let b = f.encode(v);
            prop_assert_eq!(FillValue::decode(&mut Cursor::new(&b, 0, Sizes::DEFAULT)).unwrap(), f);
        }
    }

    #[test]
    fn encode_bytes() {
        let f = FillValue {
            value: None,
            alloc_time: AllocTime::Late,
            write_time: 2,
            undefined: false,
        };
        assert_eq!(f.encode(2), [2, 2, 2, 1, 0, 0, 0, 0]);
        assert_eq!(f.encode(3), [3, 0x0a]);
        let f = FillValue {
            value: Some(vec![0xff, 0x9c]),
            ..f
        };
        assert_eq!(f.encode(3), [3, 0x2a, 2, 0, 0, 0, 0xff, 0x9c]);
    }

    #[test]
    fn v3_with_value() {
        let b = [3u8, 0x20 | 0x02, 4, 0, 0, 0, 1, 2, 3, 4];
        let f = FillValue::decode(&mut Cursor::new(&b, 0, Sizes::DEFAULT)).unwrap();
        assert_eq!(f.value, Some(vec![1, 2, 3, 4]));
        assert_eq!(f.alloc_time, AllocTime::Late);
    }

    #[test]
    fn v2_undefined_value_has_none() {
        let b = [2u8, 2, 2, 0];
        let f = FillValue::decode(&mut Cursor::new(&b, 0, Sizes::DEFAULT)).unwrap();
        assert_eq!(f.value, None);
    }
}
