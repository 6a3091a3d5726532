//! Fill value messages (spec IV.A.2.e old, IV.A.2.f new): what unwritten
//! elements read as.
//!
//! ```text
//! old (0x04): size (4) | value
//! new (0x05) v1/v2: version | alloc time | write time | defined
//!                   | [size (4) | value]   (v2: only when defined)
//!            v3:    version | flags | [size (4) | value] (flag bit 5)
//! ```

use super::cursor::Cursor;
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
    /// The message says the value is undefined.
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
                    undefined: false,
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::Sizes;

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
