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

    /// For plain numbers only: the bytes of `v`, so a write of elements
    /// whose file type [`H5Type::is_plain`] accepts needs no copy.
    fn plain_slice(_v: &[Self]) -> Option<&[u8]> {
        None
    }

    /// The file datatype `values` are written as when the caller names
    /// none: h5py's choice for the same data (`i64` → little-endian 64-bit
    /// integer, `bool` → h5py's `FALSE`/`TRUE` enumeration, `String` →
    /// variable-length UTF-8 string, ...). It may depend on the values
    /// (a fixed-length byte string is as long as the longest one).
    ///
    /// # Errors
    /// `Usage` when the type cannot be written without an explicit
    /// datatype.
    fn file_type(_values: &[Self]) -> Result<Datatype> {
        Err(Error::usage(format!(
            "{} has no default HDF5 type: give the dataset or attribute a datatype",
            std::any::type_name::<Self>()
        )))
    }

    /// Appends the encoding of `self` as one element of `dt` (of
    /// `dt.size()` bytes) to `out`; variable-length parts go to `heap`.
    ///
    /// # Errors
    /// `Usage` when `self` cannot be stored as `dt` (or does not fit it).
    fn encode(&self, dt: &Datatype, heap: &mut dyn VlenSink, out: &mut Vec<u8>) -> Result<()> {
        let _ = (heap, out);
        Err(Error::usage(format!(
            "cannot write {} as {}",
            std::any::type_name::<Self>(),
            crate::array::convert::describe(dt)
        )))
    }

    /// Appends the encoding of every value of `values` as elements of `dt`.
    /// The default encodes one element at a time; plain numbers copy.
    ///
    /// # Errors
    /// As [`H5Type::encode`].
    fn encode_all(
        values: &[Self],
        dt: &Datatype,
        heap: &mut dyn VlenSink,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        out.reserve(values.len().saturating_mul(dt.size()));
        for v in values {
            v.encode(dt, heap, out)?;
        }
        Ok(())
    }
}

/// Where the variable-length parts of elements go when they are written:
/// the global heap of the file being written.
pub trait VlenSink {
    /// Stores `bytes` (a string's bytes, or a sequence's encoded elements)
    /// as one global heap object and returns the element encoding that
    /// refers to it: the sequence length `len` (elements, or bytes for a
    /// string), the collection address and the object index, in the file's
    /// widths (4 + size of offsets + 4 bytes).
    ///
    /// # Errors
    /// `Io` when the heap cannot be written.
    fn put(&mut self, len: u32, bytes: &[u8]) -> Result<Vec<u8>>;
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
            fn plain_slice(v: &[Self]) -> Option<&[u8]> {
                Some(crate::bytes::as_bytes(v))
            }
            fn file_type(_values: &[Self]) -> Result<Datatype> {
                Ok(<$t as NativeNumber>::native_datatype())
            }
            fn encode(&self, dt: &Datatype, heap: &mut dyn VlenSink, out: &mut Vec<u8>) -> Result<()> {
                Self::encode_all(std::slice::from_ref(self), dt, heap, out)
            }
            fn encode_all(
                values: &[Self],
                dt: &Datatype,
                _heap: &mut dyn VlenSink,
                out: &mut Vec<u8>,
            ) -> Result<()> {
                if same_repr::<$t>(dt) {
                    out.extend_from_slice(crate::bytes::as_bytes(values));
                    Ok(())
                } else {
                    Err(Error::usage(format!(
                        "cannot write {} as {}",
                        stringify!($t),
                        crate::array::convert::describe(dt)
                    )))
                }
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
