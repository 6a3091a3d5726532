//! [`H5Type`]: the Rust types h5rs reads elements into.

use super::file::File;
use super::value::{Value, decode_value};
use crate::array::convert::{NativeNumber, convert_numbers, same_repr};
use crate::error::{Error, Result};
use crate::format::datatype::{Datatype, StringPad};

/// A Rust type that elements can be read into.
///
/// Implemented for the native numbers (`i8`..`u64`, `f32`, `f64`, with
/// libhdf5's numeric conversions), `bool`, `String` (fixed and
/// variable-length strings), `Vec<N>` for variable-length sequences of
/// numbers, and [`Value`] for anything.
pub trait H5Type: Sized + Send + 'static {
    /// Decodes `raw`, a buffer of whole elements of file type `dt`.
    ///
    /// # Errors
    /// `Usage` when the file type cannot be converted to `Self`.
    fn decode_all(file: &File, dt: &Datatype, raw: &[u8]) -> Result<Vec<Self>>;

    /// True when elements of `dt` can be copied byte for byte into `Self`
    /// (then reads go straight into the result's memory).
    fn is_plain(_dt: &Datatype) -> bool {
        false
    }

    /// For plain numbers only: the writable bytes of `v`, so a read can
    /// store file bytes straight into it when [`H5Type::is_plain`] holds.
    fn plain_bytes(_v: &mut [Self]) -> Option<&mut [u8]> {
        None
    }

    /// A zero value, for pre-sizing results of plain types.
    fn zero() -> Option<Self> {
        None
    }
}

macro_rules! numeric_h5type {
    ($($t:ty),*) => {$(
        impl H5Type for $t {
            fn decode_all(_file: &File, dt: &Datatype, raw: &[u8]) -> Result<Vec<Self>> {
                convert_numbers::<$t>(dt, raw)
            }
            fn is_plain(dt: &Datatype) -> bool {
                same_repr::<$t>(dt)
            }
            fn plain_bytes(v: &mut [Self]) -> Option<&mut [u8]> {
                Some(crate::bytes::as_bytes_mut(v))
            }
            fn zero() -> Option<Self> {
                Some(0 as $t)
            }
        }
    )*};
}

numeric_h5type!(i8, i16, i32, i64, u8, u16, u32, u64, f32, f64);

impl H5Type for bool {
    fn decode_all(_file: &File, dt: &Datatype, raw: &[u8]) -> Result<Vec<Self>> {
        Ok(convert_numbers::<u64>(dt, raw)?
            .into_iter()
            .map(|v| v != 0)
            .collect())
    }
}

/// Applies a fixed-length string's padding rule to its stored bytes.
pub fn unpad(bytes: &[u8], pad: StringPad) -> &[u8] {
    match pad {
        StringPad::NullTerm => {
            let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
            &bytes[..end]
        }
        StringPad::NullPad => {
            let end = bytes.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
            &bytes[..end]
        }
        StringPad::SpacePad => {
            let end = bytes
                .iter()
                .rposition(|&b| b != b' ' && b != 0)
                .map_or(0, |p| p + 1);
            &bytes[..end]
        }
    }
}

impl H5Type for String {
    fn decode_all(file: &File, dt: &Datatype, raw: &[u8]) -> Result<Vec<Self>> {
        let es = dt.size().max(1);
        match dt {
            Datatype::String { pad, .. } => Ok(raw
                .chunks_exact(es)
                .map(|e| String::from_utf8_lossy(unpad(e, *pad)).into_owned())
                .collect()),
            Datatype::VarLenString { .. } => raw
                .chunks_exact(es)
                .map(|e| match decode_value(file, dt, e)? {
                    Value::String(b) => Ok(String::from_utf8_lossy(&b).into_owned()),
                    _ => Err(Error::usage("not a string")),
                })
                .collect(),
            other => Err(Error::usage(format!(
                "cannot read {} as a String",
                crate::array::convert::describe(other)
            ))),
        }
    }
}

impl<N: NativeNumber + H5Type> H5Type for Vec<N> {
    fn decode_all(file: &File, dt: &Datatype, raw: &[u8]) -> Result<Vec<Self>> {
        let Datatype::VarLen { .. } = dt else {
            return Err(Error::usage(format!(
                "cannot read {} as a Vec (a variable-length sequence)",
                crate::array::convert::describe(dt)
            )));
        };
        let es = dt.size().max(1);
        raw.chunks_exact(es)
            .map(|e| match decode_value(file, dt, e)? {
                Value::Sequence(items) => items
                    .into_iter()
                    .map(|v| match v {
                        Value::Int(i) => Ok(N::from_i64(i)),
                        Value::UInt(u) => Ok(N::from_u64(u)),
                        Value::Float(f) => Ok(N::from_f64(f)),
                        _ => Err(Error::usage("sequence element is not a number")),
                    })
                    .collect(),
                _ => Err(Error::usage("not a sequence")),
            })
            .collect()
    }
}

impl H5Type for Value {
    fn decode_all(file: &File, dt: &Datatype, raw: &[u8]) -> Result<Vec<Self>> {
        let es = dt.size().max(1);
        raw.chunks_exact(es)
            .map(|e| decode_value(file, dt, e))
            .collect()
    }
}
