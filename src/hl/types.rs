//! [`H5Type`]: the Rust types h5rs reads elements into and writes elements
//! from.
//!
//! Reading converts from the file's type as libhdf5 does; writing encodes
//! each value as one element of a given file datatype (the spec's element
//! layouts, IV.A.2.d, and variable-length data in the global heap, III.E):
//!
//! ```text
//! integer / float   size bytes, in the type's byte order
//! fixed string      the bytes, then padding (NUL or space) to the size
//! vlen / vlen str   length (4) | global heap collection address (O) | index (4)
//! array             the base elements, C order
//! compound          each member at its offset, gaps zero
//! object reference  header address (8) | revised: 2, 0, O, address (O), zeros
//! ```
//!
//! Numbers written to a file type other than their own are converted as
//! libhdf5 converts them: integers saturate at the target's range (its
//! precision, for types narrower than their size), floats written to
//! integers truncate toward zero and saturate (infinities too), values
//! written to floats round to the nearest representable value (ties to
//! even), and a value beyond the largest finite float of the target is
//! infinite (libhdf5 checks the range before rounding, so 65505 is an
//! infinite half float). NaN written to an integer gives 0; libhdf5's
//! compiled conversions leave that to C's undefined float-to-integer cast
//! (on x86, the most negative value for signed targets, 0 for `u8` and
//! `u16`), its generic one gives 0.
//!
//! The default file types ([`H5Type::file_type`]) are what h5py writes for
//! the same data: `i64` → `<i8`, `f32` → `<f4`, `bool` → enumeration of
//! `int8` with `FALSE = 0`, `TRUE = 1`, `String` → variable-length UTF-8
//! string, [`FixedBytes`] → fixed-length NUL-padded ASCII string as long
//! as the longest value, `Vec<T>` → variable-length sequence, `[T; N]` →
//! array, [`ObjectRef`] → 8-byte object reference, [`F16`] → IEEE
//! binary16. Variable-length types assume 8-byte file offsets (16-byte
//! elements); a writer with other widths adjusts their size.

use super::file::File;
use super::value::{Value, decode_value, encode_value, vlen_bytes};
use crate::array::convert::{NativeNumber, Number, convert_numbers, describe, same_repr};
use crate::error::{Error, Result};
use crate::format::datatype::{
    ByteOrder, CharSet, Datatype, EnumMember, FloatLayout, ReferenceKind, StringPad,
};

/// A Rust type that elements can be read into and written from.
///
/// Implemented for the native numbers (`i8`..`u64`, `f32`, `f64`, with
/// libhdf5's numeric conversions both ways), [`F16`], `bool`, `String`
/// (fixed and variable-length strings), [`FixedBytes`] (byte strings),
/// `Vec<T>` (variable-length sequences), `[T; N]` (array types),
/// [`ObjectRef`], [`Value`] for anything, and, through
/// `#[derive(H5Type)]`, structs (compound types) and field-less enums
/// (enumeration types).
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
    fn file_type(values: &[Self]) -> Result<Datatype> {
        let refs: Vec<&Self> = values.iter().collect();
        Self::file_type_of(&refs)
    }

    /// [`H5Type::file_type`] of values given by reference (how a compound
    /// asks for the type of one of its fields over all its elements).
    /// Implementations define this one; `file_type` calls it.
    ///
    /// # Errors
    /// As [`H5Type::file_type`].
    fn file_type_of(_values: &[&Self]) -> Result<Datatype> {
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
        Err(cannot_write::<Self>(dt))
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
    /// Encoders call it for every string, the empty one too (libhdf5
    /// stores an empty heap object for it), and for every sequence but the
    /// empty ones, which they write as all zeros (a null heap ID), as
    /// libhdf5 does.
    ///
    /// # Errors
    /// `Io` when the heap cannot be written.
    fn put(&mut self, len: u32, bytes: &[u8]) -> Result<Vec<u8>>;
}

/// The error for a value that cannot be stored as `dt`.
fn cannot_write<T>(dt: &Datatype) -> Error {
    Error::usage(format!(
        "cannot write {} as {}",
        std::any::type_name::<T>(),
        describe(dt)
    ))
}

/// Stores a variable-length part through `heap` and appends the element
/// it returns, checking that it is `dt.size()` bytes.
pub(crate) fn put_vlen(
    heap: &mut dyn VlenSink,
    dt: &Datatype,
    len: usize,
    bytes: &[u8],
    out: &mut Vec<u8>,
) -> Result<()> {
    let len = u32::try_from(len).map_err(|_| {
        Error::usage(format!(
            "a variable-length value of {len} elements (at most {} fit)",
            u32::MAX
        ))
    })?;
    let elem = heap.put(len, bytes)?;
    if elem.len() != dt.size() {
        return Err(Error::usage(format!(
            "the heap returned a {}-byte element for a {}-byte variable-length type",
            elem.len(),
            dt.size()
        )));
    }
    out.extend_from_slice(&elem);
    Ok(())
}

fn mask(bits: u32) -> u128 {
    if bits >= 128 {
        u128::MAX
    } else {
        (1u128 << bits) - 1
    }
}

/// Appends the low `size` bytes of `bits` in `order`.
fn put_bits(bits: u128, size: u32, order: ByteOrder, out: &mut Vec<u8>) -> Result<()> {
    let n = size as usize;
    if n > 16 {
        return Err(Error::unsupported(format!("{size}-byte numbers")));
    }
    let le = bits.to_le_bytes();
    match order {
        ByteOrder::Little => out.extend_from_slice(&le[..n]),
        ByteOrder::Big => out.extend(le[..n].iter().rev()),
    }
    Ok(())
}

/// A number as sign and magnitude, truncated toward zero for floats (NaN
/// 0): how it enters an integer conversion.
fn sign_magnitude(n: Number) -> (bool, u128) {
    match n {
        Number::Int(v) => (v < 0, v.unsigned_abs() as u128),
        Number::UInt(v) => (false, v as u128),
        Number::Float(f) if f.is_nan() => (false, 0),
        // `as` saturates (infinities included) and truncates toward zero
        Number::Float(f) => (f < 0.0, f.abs() as u128),
    }
}

/// The bits of `n` as an integer of `precision` bits, saturated to its
/// range.
fn integer_bits(n: Number, signed: bool, precision: u32) -> u128 {
    let (neg, mag) = sign_magnitude(n);
    let p = precision.clamp(1, 128);
    if signed {
        let max_pos = mask(p - 1);
        if neg {
            // -(2^(p-1)) is the most negative value
            let m = mag.min(max_pos + 1);
            (!m).wrapping_add(1) & mask(p)
        } else {
            mag.min(max_pos)
        }
    } else if neg {
        0
    } else {
        mag.min(mask(p))
    }
}

/// `m * 2^s` rounded to the nearest integer, ties to even.
fn shift_round(m: u128, s: i64) -> u128 {
    if s >= 0 {
        if s >= 128 { u128::MAX } else { m << s }
    } else {
        let r = -s;
        if r > 128 {
            return 0;
        }
        if r == 128 {
            // m / 2^128 < 1: rounds to 1 only above one half
            return u128::from(m > (1u128 << 127));
        }
        let q = m >> r;
        let rem = m & mask(r as u32);
        let half = 1u128 << (r - 1);
        if rem > half || (rem == half && q & 1 == 1) {
            q + 1
        } else {
            q
        }
    }
}

/// The bits of `n` in the float layout `l`: round to nearest (ties to
/// even); a value above the largest finite one is infinite (libhdf5 checks
/// the range before rounding: 65505 becomes infinity as a half float, not
/// 65504); NaN gives a quiet NaN of the same sign.
fn float_bits(n: Number, l: &FloatLayout) -> Result<u128> {
    if let Number::Float(f) = n {
        if *l == FloatLayout::F64 {
            return Ok(f.to_bits() as u128);
        }
        if *l == FloatLayout::F32 {
            // beyond the largest finite value is infinity, before rounding
            if f.is_finite() && f.abs() > f32::MAX as f64 {
                return Ok(f32::INFINITY.copysign(f as f32).to_bits() as u128);
            }
            return Ok((f as f32).to_bits() as u128);
        }
    }
    let ms = l.mant_size as u32;
    let es = l.exp_size as u32;
    let implied = l.normalization == 2;
    let fits = |loc: u8, bits: u32| loc as u32 + bits <= 128;
    if ms == 0
        || !(1..=32).contains(&es)
        || ms > 120
        || !fits(l.mant_location, ms)
        || !fits(l.exp_location, es)
        || l.sign_location > 127
    {
        return Err(Error::unsupported("writing floats of this bit layout"));
    }
    let frac = if implied { ms } else { ms - 1 };
    if frac == 0 {
        return Err(Error::unsupported("writing floats without fraction bits"));
    }
    let exp_max = mask(es);
    let bias = l.exp_bias as i64;
    // the integer bit of an explicit-mantissa layout
    let lead = if implied { 0 } else { 1u128 << frac };
    let (neg, m, e): (bool, u128, i64) = match n {
        Number::Int(v) => (v < 0, v.unsigned_abs() as u128, 0),
        Number::UInt(v) => (false, v as u128, 0),
        Number::Float(f) => {
            let neg = f.is_sign_negative();
            if f.is_nan() {
                return Ok(assemble(neg, exp_max, lead | 1u128 << (frac - 1), l));
            }
            if f.is_infinite() {
                return Ok(assemble(neg, exp_max, lead, l));
            }
            let b = f.to_bits();
            let ef = ((b >> 52) & 0x7ff) as i64;
            let mf = (b & ((1u64 << 52) - 1)) as u128;
            if ef == 0 {
                (neg, mf, -1074)
            } else {
                (neg, mf | 1u128 << 52, ef - 1075)
            }
        }
    };
    if m == 0 {
        return Ok(assemble(neg, 0, 0, l));
    }
    let len = 128 - m.leading_zeros() as i64;
    let mut biased = e + len - 1 + bias;
    let (exp, mant) = if biased >= 1 {
        let s = frac as i64 - (len - 1);
        // libhdf5 checks the range before rounding: a value above the
        // largest finite one is infinite even when it would round down
        let above_max = biased == exp_max as i64 - 1
            && s < 0
            && m >> (-s).min(127) == mask(frac + 1)
            && m & mask((-s).min(128) as u32) != 0;
        if biased >= exp_max as i64 || above_max {
            return Ok(assemble(neg, exp_max, lead, l));
        }
        let mut q = shift_round(m, s);
        if q >> (frac + 1) != 0 {
            q >>= 1;
            biased += 1;
        }
        if biased >= exp_max as i64 {
            return Ok(assemble(neg, exp_max, lead, l));
        }
        (biased as u128, if implied { q & mask(frac) } else { q })
    } else {
        // subnormal: q units of 2^(1 - bias - frac)
        let q = shift_round(m, e - (1 - bias - frac as i64));
        if q >> frac != 0 {
            (1, if implied { q & mask(frac) } else { q })
        } else {
            (0, q)
        }
    };
    Ok(assemble(neg, exp, mant, l))
}

fn assemble(neg: bool, exp: u128, mant: u128, l: &FloatLayout) -> u128 {
    (u128::from(neg) << l.sign_location) | (exp << l.exp_location) | (mant << l.mant_location)
}

/// Appends `n` as one element of the integer or float type `dt`, converted
/// as libhdf5 converts numbers: integers saturate at the target's range,
/// floats written to integers truncate toward zero and saturate (NaN
/// gives 0), values written to floats round to nearest (ties to even) and
/// are infinite beyond the largest finite value (see the module notes).
///
/// # Errors
/// `Usage` when `dt` is not an integer or float type; `Unsupported` for
/// integers wider than 16 bytes or unusual float layouts.
pub fn encode_number(dt: &Datatype, n: Number, out: &mut Vec<u8>) -> Result<()> {
    match dt {
        Datatype::Integer {
            size,
            order,
            signed,
            bit_offset,
            precision,
        } => {
            let p = *precision as u32;
            if *size > 16 || p == 0 || *bit_offset as u32 + p > size * 8 {
                return Err(Error::unsupported(format!(
                    "writing {size}-byte integers of precision {p} at bit {bit_offset}"
                )));
            }
            let bits = integer_bits(n, *signed, p) << *bit_offset;
            put_bits(bits, *size, *order, out)
        }
        Datatype::Float {
            size,
            order,
            layout,
        } => {
            let bits = float_bits(n, layout)?;
            put_bits(bits, *size, *order, out)
        }
        other => Err(Error::usage(format!(
            "cannot write a number as {}",
            describe(other)
        ))),
    }
}

/// The number a native value stands for.
trait AsNumber {
    fn number(self) -> Number;
}

macro_rules! as_number {
    ($variant:ident: $($t:ty),*) => {$(
        impl AsNumber for $t {
            fn number(self) -> Number {
                Number::$variant(self.into())
            }
        }
    )*};
}

as_number!(Int: i8, i16, i32, i64);
as_number!(UInt: u8, u16, u32, u64);
as_number!(Float: f32, f64);

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
            fn file_type_of(_values: &[&Self]) -> Result<Datatype> {
                Ok(<$t as NativeNumber>::native_datatype())
            }
            fn encode(&self, dt: &Datatype, _heap: &mut dyn VlenSink, out: &mut Vec<u8>) -> Result<()> {
                encode_number(dt, self.number(), out)
                    .map_err(|e| if matches!(e, Error::Usage(_)) { cannot_write::<$t>(dt) } else { e })
            }
            fn encode_all(
                values: &[Self],
                dt: &Datatype,
                heap: &mut dyn VlenSink,
                out: &mut Vec<u8>,
            ) -> Result<()> {
                if same_repr::<$t>(dt) {
                    out.extend_from_slice(crate::bytes::as_bytes(values));
                    return Ok(());
                }
                out.reserve(values.len().saturating_mul(dt.size()));
                for v in values {
                    v.encode(dt, heap, out)?;
                }
                Ok(())
            }
        }
    )*};
}

numeric_h5type!(i8, i16, i32, i64, u8, u16, u32, u64, f32, f64);

/// An IEEE 754 binary16 ("half") float, as its bits. Written as h5py writes
/// `float16` (`<f2`); reads convert from any numeric type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct F16(pub u16);

impl F16 {
    /// The half float nearest `v` (ties to even; overflow to infinity).
    pub fn from_f32(v: f32) -> F16 {
        F16::from_f64(v as f64)
    }

    /// The half float nearest `v` (ties to even; overflow to infinity).
    pub fn from_f64(v: f64) -> F16 {
        F16(float_bits(Number::Float(v), &FloatLayout::F16).map_or(0, |b| b as u16))
    }

    /// The value, exactly.
    pub fn to_f32(self) -> f32 {
        crate::array::convert::float_to_f64(self.0 as u128, &FloatLayout::F16) as f32
    }
}

impl NativeNumber for F16 {
    fn native_datatype() -> Datatype {
        Datatype::float(2, ByteOrder::NATIVE)
    }
    fn from_i64(v: i64) -> Self {
        F16(float_bits(Number::Int(v), &FloatLayout::F16).map_or(0, |b| b as u16))
    }
    fn from_u64(v: u64) -> Self {
        F16(float_bits(Number::UInt(v), &FloatLayout::F16).map_or(0, |b| b as u16))
    }
    fn from_f64(v: f64) -> Self {
        F16::from_f64(v)
    }
}

impl H5Type for F16 {
    fn decode_all(_file: &File, dt: &Datatype, raw: &[u8]) -> Result<Vec<Self>> {
        if same_repr::<F16>(dt) {
            return Ok(raw
                .chunks_exact(2)
                .map(|c| {
                    F16(match ByteOrder::NATIVE {
                        ByteOrder::Little => u16::from_le_bytes([c[0], c[1]]),
                        ByteOrder::Big => u16::from_be_bytes([c[0], c[1]]),
                    })
                })
                .collect());
        }
        convert_numbers::<F16>(dt, raw)
    }
    fn zero() -> Option<Self> {
        Some(F16(0))
    }
    fn file_type_of(_values: &[&Self]) -> Result<Datatype> {
        Ok(F16::native_datatype())
    }
    fn encode(&self, dt: &Datatype, _heap: &mut dyn VlenSink, out: &mut Vec<u8>) -> Result<()> {
        if let Datatype::Float {
            size: 2,
            order,
            layout,
        } = dt
            && *layout == FloatLayout::F16
        {
            return put_bits(self.0 as u128, 2, *order, out);
        }
        encode_number(dt, Number::Float(self.to_f32() as f64), out)
    }
}

/// h5py's boolean type: an enumeration of `int8` with `FALSE = 0` and
/// `TRUE = 1`.
pub fn bool_datatype() -> Datatype {
    Datatype::Enum {
        base: Box::new(Datatype::int(1, true, ByteOrder::Little)),
        members: vec![
            EnumMember {
                name: "FALSE".into(),
                value: vec![0],
            },
            EnumMember {
                name: "TRUE".into(),
                value: vec![1],
            },
        ],
    }
}

impl H5Type for bool {
    fn decode_all(_file: &File, dt: &Datatype, raw: &[u8]) -> Result<Vec<Self>> {
        Ok(convert_numbers::<u64>(dt, raw)?
            .into_iter()
            .map(|v| v != 0)
            .collect())
    }
    fn file_type_of(_values: &[&Self]) -> Result<Datatype> {
        Ok(bool_datatype())
    }
    /// Into an enumeration or integer type: 0 or 1 in the (base) integer.
    fn encode(&self, dt: &Datatype, _heap: &mut dyn VlenSink, out: &mut Vec<u8>) -> Result<()> {
        let n = Number::UInt(u64::from(*self));
        match dt {
            Datatype::Enum { base, .. } => encode_number(base, n, out),
            Datatype::Integer { .. } => encode_number(dt, n, out),
            other => Err(cannot_write::<bool>(other)),
        }
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

/// Appends `bytes` as one fixed-length string element of `size` bytes
/// padded per `pad`.
///
/// # Errors
/// `Usage` when the bytes do not fit (a NUL-terminated string needs one
/// byte for its NUL) or hold a NUL a NUL-terminated string would end at.
pub fn encode_fixed_string(
    bytes: &[u8],
    size: u32,
    pad: StringPad,
    out: &mut Vec<u8>,
) -> Result<()> {
    let size = size as usize;
    let room = if pad == StringPad::NullTerm {
        size.saturating_sub(1)
    } else {
        size
    };
    if bytes.len() > room {
        return Err(Error::usage(format!(
            "a string of {} bytes does not fit a {size}-byte {} string type",
            bytes.len(),
            pad.name()
        )));
    }
    if pad == StringPad::NullTerm && bytes.contains(&0) {
        return Err(Error::usage(
            "a string holding a NUL byte cannot be stored NUL-terminated",
        ));
    }
    out.extend_from_slice(bytes);
    let fill = if pad == StringPad::SpacePad { b' ' } else { 0 };
    out.resize(out.len() + (size - bytes.len()), fill);
    Ok(())
}

/// Encodes string bytes into a fixed or variable-length string type;
/// `text` refuses non-ASCII bytes for ASCII types.
fn encode_string_bytes<T>(
    bytes: &[u8],
    text: bool,
    dt: &Datatype,
    heap: &mut dyn VlenSink,
    out: &mut Vec<u8>,
) -> Result<()> {
    let check_cset = |cset: CharSet| {
        if text && cset == CharSet::Ascii && !bytes.is_ascii() {
            Err(Error::usage(
                "non-ASCII text cannot be written to an ASCII string type",
            ))
        } else {
            Ok(())
        }
    };
    match dt {
        Datatype::String { size, pad, cset } => {
            check_cset(*cset)?;
            encode_fixed_string(bytes, *size, *pad, out)
        }
        Datatype::VarLenString { cset, .. } => {
            check_cset(*cset)?;
            put_vlen(heap, dt, bytes.len(), bytes, out)
        }
        other => Err(cannot_write::<T>(other)),
    }
}

/// The bytes of each string element of `dt` (padding removed from fixed
/// strings; variable-length strings fetched from the global heap).
fn string_elements<'a>(
    file: &'a File,
    dt: &Datatype,
    raw: &'a [u8],
    what: &str,
) -> Result<Vec<&'a [u8]>> {
    let es = dt.size().max(1);
    match dt {
        Datatype::String { pad, .. } => Ok(raw.chunks_exact(es).map(|e| unpad(e, *pad)).collect()),
        Datatype::VarLenString { .. } => raw
            .chunks_exact(es)
            .map(|e| vlen_bytes(file, e, 1))
            .collect(),
        other => Err(Error::usage(format!(
            "cannot read {} as {what}",
            describe(other)
        ))),
    }
}

/// h5py's type for `str` data: a variable-length, NUL-terminated UTF-8
/// string (16-byte elements with 8-byte file offsets).
pub fn vlen_string_datatype() -> Datatype {
    Datatype::VarLenString {
        pad: StringPad::NullTerm,
        cset: CharSet::Utf8,
        size: 16,
    }
}

impl H5Type for String {
    fn decode_all(file: &File, dt: &Datatype, raw: &[u8]) -> Result<Vec<Self>> {
        Ok(string_elements(file, dt, raw, "a String")?
            .into_iter()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .collect())
    }
    fn file_type_of(_values: &[&Self]) -> Result<Datatype> {
        Ok(vlen_string_datatype())
    }
    /// Into a variable-length string (through the heap) or a fixed-length
    /// one of any padding and character set (ASCII types take ASCII text
    /// only).
    fn encode(&self, dt: &Datatype, heap: &mut dyn VlenSink, out: &mut Vec<u8>) -> Result<()> {
        encode_string_bytes::<String>(self.as_bytes(), true, dt, heap, out)
    }
}

/// A byte string: h5py's `np.bytes_` (`'S'`) data. Written as a
/// fixed-length, NUL-padded ASCII string as long as the longest value (at
/// least 1 byte); reads from any string type (padding removed).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct FixedBytes(pub Vec<u8>);

impl From<&[u8]> for FixedBytes {
    fn from(b: &[u8]) -> Self {
        FixedBytes(b.to_vec())
    }
}

impl From<&str> for FixedBytes {
    fn from(s: &str) -> Self {
        FixedBytes(s.as_bytes().to_vec())
    }
}

impl H5Type for FixedBytes {
    fn decode_all(file: &File, dt: &Datatype, raw: &[u8]) -> Result<Vec<Self>> {
        Ok(string_elements(file, dt, raw, "FixedBytes")?
            .into_iter()
            .map(|b| FixedBytes(b.to_vec()))
            .collect())
    }
    fn file_type_of(values: &[&Self]) -> Result<Datatype> {
        let longest = values.iter().map(|v| v.0.len()).max().unwrap_or(0).max(1);
        let size = u32::try_from(longest)
            .map_err(|_| Error::usage(format!("a {longest}-byte fixed-length string")))?;
        Ok(Datatype::String {
            size,
            pad: StringPad::NullPad,
            cset: CharSet::Ascii,
        })
    }
    /// Into a fixed-length string of any padding (an error when too long)
    /// or a variable-length string.
    fn encode(&self, dt: &Datatype, heap: &mut dyn VlenSink, out: &mut Vec<u8>) -> Result<()> {
        encode_string_bytes::<FixedBytes>(&self.0, false, dt, heap, out)
    }
}

/// The variable-length sequence type h5py writes for sequences of `base`
/// (16-byte elements with 8-byte file offsets).
pub fn vlen_datatype(base: Datatype) -> Datatype {
    Datatype::VarLen {
        base: Box::new(base),
        size: 16,
    }
}

impl<T: H5Type> H5Type for Vec<T> {
    /// From a variable-length sequence whose base type `T` reads.
    fn decode_all(file: &File, dt: &Datatype, raw: &[u8]) -> Result<Vec<Self>> {
        let Datatype::VarLen { base, .. } = dt else {
            return Err(Error::usage(format!(
                "cannot read {} as a Vec (a variable-length sequence)",
                describe(dt)
            )));
        };
        let es = dt.size().max(1);
        raw.chunks_exact(es)
            .map(|e| {
                let data = vlen_bytes(file, e, base.size())?;
                T::decode_all(file, base, data)
            })
            .collect()
    }
    fn file_type_of(values: &[&Self]) -> Result<Datatype> {
        let all: Vec<&T> = values.iter().flat_map(|v| v.iter()).collect();
        Ok(vlen_datatype(T::file_type_of(&all)?))
    }
    /// Into a variable-length sequence: the elements encoded as its base
    /// type, stored through the heap (an empty one as a null heap ID).
    fn encode(&self, dt: &Datatype, heap: &mut dyn VlenSink, out: &mut Vec<u8>) -> Result<()> {
        let Datatype::VarLen { base, .. } = dt else {
            return Err(cannot_write::<Self>(dt));
        };
        if self.is_empty() {
            out.resize(out.len() + dt.size(), 0);
            return Ok(());
        }
        let mut data = Vec::new();
        T::encode_all(self, base, heap, &mut data)?;
        put_vlen(heap, dt, self.len(), &data, out)
    }
}

impl<T: H5Type, const N: usize> H5Type for [T; N] {
    /// From an array type of `N` elements in all (any dimensions, C order).
    fn decode_all(file: &File, dt: &Datatype, raw: &[u8]) -> Result<Vec<Self>> {
        let base = array_base::<Self>(dt, N)?;
        let flat = T::decode_all(file, base, raw)?;
        let mut out = Vec::with_capacity(flat.len() / N.max(1));
        let mut it = flat.into_iter();
        loop {
            let chunk: Vec<T> = it.by_ref().take(N).collect();
            if chunk.len() < N || N == 0 {
                break;
            }
            match <[T; N]>::try_from(chunk) {
                Ok(a) => out.push(a),
                Err(_) => return Err(Error::usage("array element count")),
            }
        }
        Ok(out)
    }
    fn file_type_of(values: &[&Self]) -> Result<Datatype> {
        let n = u32::try_from(N)
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| Error::usage(format!("an array type of {N} elements")))?;
        let all: Vec<&T> = values.iter().flat_map(|v| v.iter()).collect();
        Ok(Datatype::Array {
            dims: vec![n],
            base: Box::new(T::file_type_of(&all)?),
        })
    }
    fn encode(&self, dt: &Datatype, heap: &mut dyn VlenSink, out: &mut Vec<u8>) -> Result<()> {
        let base = array_base::<Self>(dt, N)?;
        T::encode_all(self, base, heap, out)
    }
    fn encode_all(
        values: &[Self],
        dt: &Datatype,
        heap: &mut dyn VlenSink,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        let base = array_base::<Self>(dt, N)?;
        T::encode_all(values.as_flattened(), base, heap, out)
    }
}

/// The base type of `dt` when it is an array type of `n` elements in all.
fn array_base<T>(dt: &Datatype, n: usize) -> Result<&Datatype> {
    match dt {
        Datatype::Array { dims, base }
            if dims
                .iter()
                .try_fold(1usize, |a, &d| a.checked_mul(d as usize))
                == Some(n) =>
        {
            Ok(base)
        }
        Datatype::Array { dims, .. } => Err(Error::usage(format!(
            "an array type of dimensions {dims:?} does not hold {n} elements ({})",
            std::any::type_name::<T>()
        ))),
        other => Err(Error::usage(format!(
            "{} is {}, not an array type",
            std::any::type_name::<T>(),
            describe(other)
        ))),
    }
}

/// An object reference: the address of the referenced object's header
/// (0 for a null reference). Written as h5py writes `h5py.ref_dtype` data:
/// the 8-byte object reference type; reads from those and from revised
/// references naming an object of the same file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ObjectRef(pub u64);

impl ObjectRef {
    /// The null reference.
    pub const NULL: ObjectRef = ObjectRef(0);

    /// True for the null reference.
    pub fn is_null(self) -> bool {
        self.0 == 0
    }
}

/// The 8-byte object reference type (`H5T_STD_REF_OBJ`).
pub fn object_ref_datatype() -> Datatype {
    Datatype::Reference {
        size: 8,
        kind: ReferenceKind::Object,
    }
}

/// Appends an object reference to the header at `addr` (`None`: null) as
/// one element of the reference type `dt`: the address itself for the old
/// object references; for revised ones, an inline reference (type 2, no
/// flags, token size O = element size - 10, the address in O bytes, zeros
/// up to the element size) or all zeros when null.
///
/// # Errors
/// `Usage` when `dt` is not an object or revised reference type or the
/// address does not fit it.
pub fn encode_object_ref(dt: &Datatype, addr: Option<u64>, out: &mut Vec<u8>) -> Result<()> {
    let fits = |w: usize, a: u64| w >= 8 || a >> (8 * w) == 0;
    match dt {
        Datatype::Reference {
            size,
            kind: ReferenceKind::Object,
        } => {
            let w = *size as usize;
            let a = addr.unwrap_or(0);
            if !fits(w, a) {
                return Err(Error::usage(format!(
                    "address {a:#x} does not fit a {w}-byte object reference"
                )));
            }
            let le = a.to_le_bytes();
            out.extend_from_slice(&le[..w.min(8)]);
            out.resize(out.len() + w.saturating_sub(8), 0);
            Ok(())
        }
        Datatype::Reference {
            size,
            kind: ReferenceKind::Revised,
        } => {
            let w = *size as usize;
            let Some(a) = addr else {
                out.resize(out.len() + w, 0);
                return Ok(());
            };
            let o = w
                .checked_sub(10)
                .filter(|o| (1..=8).contains(o))
                .ok_or_else(|| Error::usage(format!("a {w}-byte revised reference type")))?;
            if !fits(o, a) {
                return Err(Error::usage(format!(
                    "address {a:#x} does not fit a {o}-byte token"
                )));
            }
            out.extend_from_slice(&[2, 0, o as u8]);
            out.extend_from_slice(&a.to_le_bytes()[..o]);
            out.resize(out.len() + (w - 3 - o), 0);
            Ok(())
        }
        other => Err(Error::usage(format!(
            "cannot write an object reference as {}",
            match other {
                Datatype::Reference { .. } => "a region reference",
                o => describe(o),
            }
        ))),
    }
}

impl H5Type for ObjectRef {
    fn decode_all(file: &File, dt: &Datatype, raw: &[u8]) -> Result<Vec<Self>> {
        if !matches!(dt, Datatype::Reference { .. }) {
            return Err(Error::usage(format!(
                "cannot read {} as an object reference",
                describe(dt)
            )));
        }
        let es = dt.size().max(1);
        raw.chunks_exact(es)
            .map(|e| match decode_value(file, dt, e)? {
                Value::ObjectRef(a) => Ok(ObjectRef(a.unwrap_or(0))),
                _ => Err(Error::usage(
                    "not a reference to an object of this file (a region, attribute or external reference)",
                )),
            })
            .collect()
    }
    fn file_type_of(_values: &[&Self]) -> Result<Datatype> {
        Ok(object_ref_datatype())
    }
    fn encode(&self, dt: &Datatype, _heap: &mut dyn VlenSink, out: &mut Vec<u8>) -> Result<()> {
        encode_object_ref(dt, (!self.is_null()).then_some(self.0), out)
    }
}

impl H5Type for Value {
    fn decode_all(file: &File, dt: &Datatype, raw: &[u8]) -> Result<Vec<Self>> {
        let es = dt.size().max(1);
        raw.chunks_exact(es)
            .map(|e| decode_value(file, dt, e))
            .collect()
    }
    /// Any value as any type it matches: see [`encode_value`].
    fn encode(&self, dt: &Datatype, heap: &mut dyn VlenSink, out: &mut Vec<u8>) -> Result<()> {
        encode_value(dt, self, heap, out)
    }
}

/// What `#[derive(H5Type)]` expands to calls: the compound and
/// enumeration logic shared by every derived type. Not meant to be called
/// directly; its items may change.
#[doc(hidden)]
pub mod derive_support {
    use super::{H5Type, VlenSink, describe, encode_number};
    use crate::array::convert::{Number, number};
    pub use crate::error::{Error, Result};
    pub use crate::format::datatype::Datatype;
    use crate::format::datatype::{CompoundMember, EnumMember};
    pub use crate::hl::file::File;

    /// A member of a compound file type: its offset and type.
    pub type Member<'a> = (usize, &'a Datatype);

    /// The packed compound type of `members` in order, as numpy lays out
    /// a structured dtype without alignment: each member right after the
    /// previous one, the size their sum.
    ///
    /// # Errors
    /// `Usage` when the members take more than 4 GiB.
    pub fn compound(members: Vec<(&str, Datatype)>) -> Result<Datatype> {
        let mut offset = 0u32;
        let mut out = Vec::with_capacity(members.len());
        for (name, dtype) in members {
            let size = u32::try_from(dtype.size())
                .ok()
                .and_then(|s| offset.checked_add(s).map(|end| (s, end)));
            let Some((_, end)) = size else {
                return Err(Error::usage("a compound type larger than 4 GiB"));
            };
            out.push(CompoundMember {
                name: name.to_string(),
                offset,
                dtype,
            });
            offset = end;
        }
        Ok(Datatype::Compound {
            size: offset,
            members: out,
        })
    }

    /// The members of the compound type `dt` named `names` (in the order
    /// of `names`; the file may store them in any order).
    ///
    /// # Errors
    /// `Usage` when `dt` is not a compound type or lacks one of the names.
    pub fn members<'a, const N: usize>(
        dt: &'a Datatype,
        names: [&str; N],
        ty: &str,
    ) -> Result<[Member<'a>; N]> {
        let Datatype::Compound { members, .. } = dt else {
            return Err(Error::usage(format!(
                "cannot use {} as {ty} (a compound type)",
                describe(dt)
            )));
        };
        let mut out = [(0usize, dt); N];
        for (slot, name) in out.iter_mut().zip(names) {
            let m = members.iter().find(|m| m.name == name).ok_or_else(|| {
                Error::usage(format!(
                    "the compound type has no member {name:?} (a field of {ty}); it has {:?}",
                    members.iter().map(|m| m.name.as_str()).collect::<Vec<_>>()
                ))
            })?;
            *slot = (m.offset as usize, &m.dtype);
        }
        Ok(out)
    }

    /// Number of whole elements of `dt` in `raw`.
    pub fn count(dt: &Datatype, raw: &[u8]) -> usize {
        raw.len() / dt.size().max(1)
    }

    /// Decodes member `m` of every element of the compound `dt` in `raw`.
    ///
    /// # Errors
    /// As the member type's `decode_all`; `Format` when the member runs
    /// past its element.
    pub fn column<T: H5Type>(
        file: &File,
        dt: &Datatype,
        raw: &[u8],
        m: Member,
    ) -> Result<std::vec::IntoIter<T>> {
        let es = dt.size().max(1);
        let (off, mdt) = m;
        let ms = mdt.size();
        if off.checked_add(ms).is_none_or(|e| e > es) {
            return Err(Error::format_noaddr(
                "compound member runs past its element",
            ));
        }
        let mut bytes = Vec::with_capacity(count(dt, raw).saturating_mul(ms));
        for e in raw.chunks_exact(es) {
            bytes.extend_from_slice(&e[off..off + ms]);
        }
        let values = T::decode_all(file, mdt, &bytes)?;
        if values.len() != count(dt, raw) {
            return Err(Error::usage(format!(
                "a compound member gave {} values for {} elements",
                values.len(),
                count(dt, raw)
            )));
        }
        Ok(values.into_iter())
    }

    /// The next value of a member column.
    ///
    /// # Errors
    /// `Usage` when the column ran out.
    pub fn next<T>(it: &mut std::vec::IntoIter<T>) -> Result<T> {
        it.next()
            .ok_or_else(|| Error::usage("a compound member ran out of values"))
    }

    /// Appends a zeroed element of `dt` to `out` and returns where it
    /// starts.
    pub fn begin_element(dt: &Datatype, out: &mut Vec<u8>) -> usize {
        let start = out.len();
        out.resize(start + dt.size(), 0);
        start
    }

    /// Encodes `v` as member `m` of the element of `out` starting at
    /// `start` (`scratch`: a reusable buffer).
    ///
    /// # Errors
    /// As `v`'s `encode`; `Usage` when the encoding is not the member's
    /// size.
    pub fn encode_member<T: H5Type>(
        v: &T,
        m: Member,
        heap: &mut dyn VlenSink,
        out: &mut [u8],
        start: usize,
        scratch: &mut Vec<u8>,
    ) -> Result<()> {
        let (off, mdt) = m;
        scratch.clear();
        v.encode(mdt, heap, scratch)?;
        let dst = start
            .checked_add(off)
            .and_then(|s| s.checked_add(scratch.len()).map(|e| (s, e)))
            .and_then(|(s, e)| out.get_mut(s..e))
            .filter(|_| scratch.len() == mdt.size())
            .ok_or_else(|| {
                Error::usage(format!(
                    "a {}-byte encoding for a {}-byte compound member",
                    scratch.len(),
                    mdt.size()
                ))
            })?;
        dst.copy_from_slice(scratch);
        Ok(())
    }

    fn as_number(v: i128) -> Number {
        match i64::try_from(v) {
            Ok(i) => Number::Int(i),
            Err(_) => Number::UInt(v.clamp(0, u64::MAX as i128) as u64),
        }
    }

    /// The enumeration type over `base` with the variants' names and
    /// values, members sorted by name (bytewise) as in the enumerations
    /// h5py writes (the order is not significant: reading and writing
    /// match members by name).
    ///
    /// # Errors
    /// `Usage` when `base` is not an integer type.
    pub fn enum_type(base: Datatype, variants: &[(&str, i128)]) -> Result<Datatype> {
        if !matches!(base, Datatype::Integer { .. }) {
            return Err(Error::usage("an enumeration over a non-integer type"));
        }
        let mut members = Vec::with_capacity(variants.len());
        for (name, v) in variants {
            let mut value = Vec::new();
            encode_number(&base, as_number(*v), &mut value)?;
            members.push(EnumMember {
                name: name.to_string(),
                value,
            });
        }
        members.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
        Ok(Datatype::Enum {
            base: Box::new(base),
            members,
        })
    }

    /// The variant index of each element of `raw`: enumeration members are
    /// matched by name (as libhdf5 converts enumerations), plain integers by
    /// value.
    ///
    /// # Errors
    /// `Usage` for a value with no variant, or a type that is neither.
    pub fn enum_decode(
        dt: &Datatype,
        raw: &[u8],
        variants: &[(&str, i128)],
        ty: &str,
    ) -> Result<Vec<usize>> {
        let es = dt.size().max(1);
        match dt {
            Datatype::Enum { members, base } => {
                // (stored value, variant) of every member
                let table: Vec<(&[u8], Option<usize>)> = members
                    .iter()
                    .map(|m| {
                        (
                            m.value.as_slice(),
                            variants.iter().position(|(n, _)| *n == m.name),
                        )
                    })
                    .collect();
                raw.chunks_exact(es)
                    .map(|e| match table.iter().find(|(v, _)| *v == e) {
                        Some((_, Some(i))) => Ok(*i),
                        Some((_, None)) | None => {
                            let name = members
                                .iter()
                                .find(|m| m.value.as_slice() == e)
                                .map(|m| m.name.as_str());
                            Err(Error::usage(match name {
                                Some(n) => format!("{ty} has no variant {n:?}"),
                                None => format!(
                                    "value {} is no member of the enumeration",
                                    base.integer_text(e)
                                ),
                            }))
                        }
                    })
                    .collect()
            }
            Datatype::Integer { .. } => {
                raw.chunks_exact(es)
                    .map(|e| {
                        let v: i128 = match number(dt, e)? {
                            Number::Int(i) => i.into(),
                            Number::UInt(u) => u.into(),
                            Number::Float(_) => return Err(Error::usage("not an integer")),
                        };
                        variants.iter().position(|(_, d)| *d == v).ok_or_else(|| {
                            Error::usage(format!("{ty} has no variant of value {v}"))
                        })
                    })
                    .collect()
            }
            other => Err(Error::usage(format!(
                "cannot read {} as {ty} (an enumeration)",
                describe(other)
            ))),
        }
    }

    /// Appends variant `i` of `variants` as one element of `dt`: the value
    /// of the member of the same name for an enumeration type, the
    /// variant's value for an integer type.
    ///
    /// # Errors
    /// `Usage` when the enumeration has no such member or `dt` is neither.
    pub fn enum_encode(
        dt: &Datatype,
        i: usize,
        variants: &[(&str, i128)],
        out: &mut Vec<u8>,
    ) -> Result<()> {
        let (name, v) = variants
            .get(i)
            .copied()
            .ok_or_else(|| Error::usage("variant index out of range"))?;
        match dt {
            Datatype::Enum { members, .. } => {
                let m = members.iter().find(|m| m.name == name).ok_or_else(|| {
                    Error::usage(format!("the enumeration type has no member {name:?}"))
                })?;
                out.extend_from_slice(&m.value);
                Ok(())
            }
            Datatype::Integer { .. } => encode_number(dt, as_number(v), out),
            other => Err(Error::usage(format!(
                "cannot write an enumeration as {}",
                describe(other)
            ))),
        }
    }
}

/// A sink for tests: stores objects in one global heap collection placed
/// after an existing file image, then opens the image with it.
#[cfg(test)]
pub(crate) mod test_heap {
    use super::VlenSink;
    use crate::error::Result;
    use crate::format::Sizes;
    use crate::format::heap::global::{GlobalHeapObject, encode_collection};
    use crate::hl::file::File;

    pub(crate) struct HeapImage {
        base: Vec<u8>,
        addr: u64,
        sizes: Sizes,
        pub(crate) objects: Vec<GlobalHeapObject>,
    }

    impl HeapImage {
        pub(crate) fn new(base: Vec<u8>, sizes: Sizes) -> HeapImage {
            let addr = base.len().div_ceil(8) as u64 * 8;
            HeapImage {
                base,
                addr,
                sizes,
                objects: Vec::new(),
            }
        }

        pub(crate) fn finish(self) -> File {
            let mut img = self.base;
            img.resize(self.addr as usize, 0);
            img.extend(encode_collection(&self.objects, 4096, self.sizes));
            File::from_bytes(img).unwrap()
        }
    }

    impl VlenSink for HeapImage {
        fn put(&mut self, len: u32, bytes: &[u8]) -> Result<Vec<u8>> {
            let index = self.objects.len() as u16 + 1;
            self.objects.push(GlobalHeapObject {
                index,
                refcount: 0,
                data: bytes.to_vec(),
            });
            let mut e = len.to_le_bytes().to_vec();
            e.extend_from_slice(&self.addr.to_le_bytes()[..self.sizes.offset as usize]);
            e.extend_from_slice(&u32::from(index).to_le_bytes());
            Ok(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_heap::HeapImage;
    use super::*;
    use crate::format::Sizes;
    use proptest::prelude::*;

    fn fixture() -> Vec<u8> {
        std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/dtypes_latest.h5"
        ))
        .unwrap()
    }

    fn file() -> File {
        File::from_bytes(fixture()).unwrap()
    }

    fn num(dt: &Datatype, n: Number) -> Vec<u8> {
        let mut out = Vec::new();
        encode_number(dt, n, &mut out).unwrap();
        out
    }

    /// Encodes with a heap after the fixture, then decodes with it.
    fn round_trip<T: H5Type>(values: &[T], dt: &Datatype) -> Vec<T> {
        let mut heap = HeapImage::new(fixture(), Sizes::DEFAULT);
        let mut out = Vec::new();
        T::encode_all(values, dt, &mut heap, &mut out).unwrap();
        assert_eq!(out.len(), values.len() * dt.size());
        let f = heap.finish();
        T::decode_all(&f, dt, &out).unwrap()
    }

    #[test]
    fn integers_saturate() {
        let i1 = Datatype::int(1, true, ByteOrder::Little);
        let u1 = Datatype::int(1, false, ByteOrder::Little);
        assert_eq!(num(&i1, Number::Int(300)), [0x7f]);
        assert_eq!(num(&i1, Number::Int(-300)), [0x80]);
        assert_eq!(num(&i1, Number::UInt(u64::MAX)), [0x7f]);
        assert_eq!(num(&u1, Number::Int(-1)), [0]);
        assert_eq!(num(&u1, Number::Int(300)), [0xff]);
        let i2be = Datatype::int(2, true, ByteOrder::Big);
        assert_eq!(num(&i2be, Number::Int(-2)), [0xff, 0xfe]);
        let u8le = Datatype::int(8, false, ByteOrder::Little);
        assert_eq!(num(&u8le, Number::UInt(u64::MAX)), [0xff; 8]);
        let i8le = Datatype::int(8, true, ByteOrder::Little);
        assert_eq!(num(&i8le, Number::UInt(u64::MAX)), i64::MAX.to_le_bytes());
        // 12 bits of precision at bit 2 of a 16-bit element
        let narrow = Datatype::Integer {
            size: 2,
            order: ByteOrder::Little,
            signed: true,
            bit_offset: 2,
            precision: 12,
        };
        assert_eq!(
            num(&narrow, Number::Int(5000)),
            (2047u16 << 2).to_le_bytes()
        );
        assert_eq!(num(&narrow, Number::Int(-1)), (0xfffu16 << 2).to_le_bytes());
        assert_eq!(
            convert_numbers::<i64>(&narrow, &num(&narrow, Number::Int(-2048))).unwrap(),
            [-2048]
        );
    }

    #[test]
    fn floats_to_integers_truncate_and_saturate() {
        let i4 = Datatype::int(4, true, ByteOrder::Little);
        let u4 = Datatype::int(4, false, ByteOrder::Little);
        let f = |dt: &Datatype, x: f64| num(dt, Number::Float(x));
        assert_eq!(f(&i4, 2.7), 2i32.to_le_bytes());
        assert_eq!(f(&i4, -2.7), (-2i32).to_le_bytes());
        assert_eq!(f(&i4, 1e20), i32::MAX.to_le_bytes());
        assert_eq!(f(&i4, -1e20), i32::MIN.to_le_bytes());
        assert_eq!(f(&i4, f64::INFINITY), i32::MAX.to_le_bytes());
        assert_eq!(f(&i4, f64::NAN), [0; 4]);
        assert_eq!(f(&u4, -2.7), [0; 4]);
        assert_eq!(f(&u4, 1e20), u32::MAX.to_le_bytes());
    }

    /// What libhdf5 (through h5py) writes for these conversions.
    #[test]
    fn floats_as_libhdf5_writes_them() {
        let f2 = Datatype::float(2, ByteOrder::Little);
        let f4 = Datatype::float(4, ByteOrder::Little);
        let h = |n: Number| u16::from_le_bytes(num(&f2, n).try_into().unwrap());
        let s = |n: Number| u32::from_le_bytes(num(&f4, n).try_into().unwrap());
        for (i, bits) in [
            (65519, 0x7c00),
            (65505, 0x7c00),
            (65504, 0x7bff),
            (2049, 0x6800),
            (2051, 0x6802),
            (-70000, 0xfc00),
        ] {
            assert_eq!(h(Number::Int(i)), bits, "{i}");
        }
        for (x, bits) in [
            (70000.0, 0x7c00),
            (65505.0, 0x7c00),
            (1e-8, 0),
            (3e-8, 1),
            (2f64.powi(-25), 0),
            (2f64.powi(-25) * 1.0000001, 1),
            (-0.0, 0x8000),
            (f64::NEG_INFINITY, 0xfc00),
        ] {
            assert_eq!(h(Number::Float(x)), bits, "{x}");
        }
        assert_eq!(h(Number::Float(f64::NAN)), 0x7e00);
        assert_eq!(s(Number::Float(1e300)), 0x7f80_0000);
        assert_eq!(s(Number::Float(-1e300)), 0xff80_0000);
        assert_eq!(s(Number::Float(1e-300)), 0);
        assert_eq!(s(Number::Float(0.1)), 0x3dcc_cccd);
        // just above f32::MAX: infinite, though it would round down
        assert_eq!(
            s(Number::Float(f32::MAX as f64 * (1.0 + 2f64.powi(-30)))),
            0x7f80_0000
        );
        assert_eq!(s(Number::UInt((1 << 24) + 1)), 0x4b80_0000);
        assert_eq!(s(Number::UInt((1 << 24) + 3)), 0x4b80_0002);
        assert_eq!(s(Number::UInt(u64::MAX)), 0x5f80_0000);
        // big-endian f8
        let f8be = Datatype::float(8, ByteOrder::Big);
        assert_eq!(num(&f8be, Number::Int(-3)), (-3f64).to_be_bytes());
    }

    /// The generic encoder (forced with a layout that differs from
    /// `FloatLayout::F32` in its ignored bit offset) agrees with Rust's
    /// own f64 -> f32 rounding below the overflow threshold.
    #[test]
    fn generic_float_encoder_matches_native_f32() {
        let l = FloatLayout {
            bit_offset: 1,
            ..FloatLayout::F32
        };
        let check = |x: f64| {
            let got = float_bits(Number::Float(x), &l).unwrap() as u32;
            let want = if x.abs() > f32::MAX as f64 && x.is_finite() {
                f32::INFINITY.copysign(x as f32).to_bits()
            } else {
                (x as f32).to_bits()
            };
            if x.is_nan() {
                assert!(f32::from_bits(got).is_nan());
            } else {
                assert_eq!(got, want, "{x:e}");
            }
        };
        proptest!(|(bits in any::<u64>())| check(f64::from_bits(bits)));
        proptest!(|(x in -1e40f64..1e40)| check(x));
        proptest!(|(i in any::<i64>())| {
            let got = float_bits(Number::Int(i), &l).unwrap() as u32;
            prop_assert_eq!(got, (i as f32).to_bits());
        });
        for x in [
            0.0,
            1.0,
            f32::MIN_POSITIVE as f64,
            f32::MIN_POSITIVE as f64 / 3.0,
            1.401298464324817e-45,
            7.006492321624085e-46,
            7.006492321624087e-46,
        ] {
            check(x);
            check(-x);
        }
    }

    /// x87 extended precision (explicit integer bit) in 16 bytes, and
    /// layouts the encoder refuses instead of panicking on.
    #[test]
    fn explicit_mantissa_layouts() {
        let x87 = FloatLayout {
            bit_offset: 0,
            precision: 80,
            sign_location: 79,
            exp_location: 64,
            exp_size: 15,
            mant_location: 0,
            mant_size: 64,
            exp_bias: 16383,
            normalization: 1,
        };
        let dt = Datatype::Float {
            size: 16,
            order: ByteOrder::Little,
            layout: x87,
        };
        for x in [1.0, -2.5, 1.1, 1e-300, 1e300, 0.0] {
            let b = num(&dt, Number::Float(x));
            assert_eq!(convert_numbers::<f64>(&dt, &b).unwrap(), [x]);
        }
        // 1.0: exponent 16383, integer bit set
        let b = num(&dt, Number::Float(1.0));
        assert_eq!(&b[..10], [0, 0, 0, 0, 0, 0, 0, 0x80, 0xff, 0x3f]);
        for bad in [
            FloatLayout {
                mant_size: 1,
                normalization: 1,
                ..x87
            },
            FloatLayout { exp_size: 0, ..x87 },
            FloatLayout {
                mant_location: 100,
                ..x87
            },
        ] {
            let dt = Datatype::Float {
                size: 16,
                order: ByteOrder::Little,
                layout: bad,
            };
            assert!(encode_number(&dt, Number::Float(1.0), &mut Vec::new()).is_err());
        }
    }

    #[test]
    fn half_floats_round_trip_every_bit_pattern() {
        for b in 0..=u16::MAX {
            let h = F16(b);
            let back = F16::from_f32(h.to_f32());
            if h.to_f32().is_nan() {
                assert!(back.to_f32().is_nan());
            } else {
                assert_eq!(back, h, "{b:#x}");
            }
        }
        let dt = Datatype::float(2, ByteOrder::Big);
        let v = [F16::from_f32(1.5), F16::from_f32(-0.25)];
        assert_eq!(round_trip(&v, &dt), v);
        assert_eq!(
            F16::file_type(&v).unwrap(),
            Datatype::float(2, ByteOrder::NATIVE)
        );
        // into an f4 type and back
        assert_eq!(round_trip(&v, &Datatype::float(4, ByteOrder::Little)), v);
    }

    #[test]
    fn numbers_into_other_types_round_trip() {
        let v: Vec<i64> = vec![-5, 0, 7, 1 << 40];
        let dt = Datatype::int(8, true, ByteOrder::Big);
        assert_eq!(round_trip(&v, &dt), v);
        let dt = Datatype::float(8, ByteOrder::Little);
        assert_eq!(round_trip(&v, &dt), v);
        let v: Vec<f32> = vec![1.5, -2.25, f32::INFINITY];
        assert_eq!(round_trip(&v, &Datatype::float(4, ByteOrder::Big)), v);
        assert_eq!(round_trip(&v, &Datatype::float(2, ByteOrder::Big)), v);
        // strings are no numbers
        let s = Datatype::String {
            size: 4,
            pad: StringPad::NullPad,
            cset: CharSet::Ascii,
        };
        assert!(matches!(
            1i32.encode(&s, &mut HeapImage::new(vec![], Sizes::DEFAULT), &mut vec![]),
            Err(Error::Usage(_))
        ));
    }

    #[test]
    fn bools_are_h5pys_enum() {
        let f = file();
        let ds = f.dataset("bool").unwrap();
        assert_eq!(bool::file_type(&[true]).unwrap(), *ds.dtype());
        let v = [true, false, true];
        assert_eq!(round_trip(&v, &bool_datatype()), v);
        let mut out = Vec::new();
        bool::encode_all(
            &v,
            &bool_datatype(),
            &mut HeapImage::new(vec![], Sizes::DEFAULT),
            &mut out,
        )
        .unwrap();
        assert_eq!(out, [1, 0, 1]);
        let read: Vec<bool> = ds.read_raw_vec().unwrap();
        let raw = ds.read_raw().unwrap();
        let mut out = Vec::new();
        bool::encode_all(
            &read,
            ds.dtype(),
            &mut HeapImage::new(vec![], Sizes::DEFAULT),
            &mut out,
        )
        .unwrap();
        assert_eq!(out, raw);
    }

    #[test]
    fn fixed_strings() {
        let mut out = Vec::new();
        encode_fixed_string(b"ab", 4, StringPad::NullTerm, &mut out).unwrap();
        encode_fixed_string(b"ab", 4, StringPad::NullPad, &mut out).unwrap();
        encode_fixed_string(b"ab", 4, StringPad::SpacePad, &mut out).unwrap();
        encode_fixed_string(b"abcd", 4, StringPad::NullPad, &mut out).unwrap();
        assert_eq!(out, b"ab\0\0ab\0\0ab  abcd");
        // a NUL-terminated string needs room for its NUL
        assert!(encode_fixed_string(b"abcd", 4, StringPad::NullTerm, &mut out).is_err());
        assert!(encode_fixed_string(b"abcde", 4, StringPad::SpacePad, &mut out).is_err());
        assert!(encode_fixed_string(b"a\0b", 4, StringPad::NullTerm, &mut out).is_err());
        for pad in [StringPad::NullTerm, StringPad::NullPad, StringPad::SpacePad] {
            for cset in [CharSet::Ascii, CharSet::Utf8] {
                let dt = Datatype::String { size: 6, pad, cset };
                let v = vec!["".to_string(), "abc".into(), "hello".into()];
                assert_eq!(round_trip(&v, &dt), v);
                let b: Vec<FixedBytes> = v.iter().map(|s| FixedBytes::from(s.as_str())).collect();
                assert_eq!(round_trip(&b, &dt), b);
            }
        }
        // text must be ASCII for an ASCII type; UTF-8 fits a UTF-8 type
        let ascii = Datatype::String {
            size: 8,
            pad: StringPad::NullPad,
            cset: CharSet::Ascii,
        };
        let utf8 = Datatype::String {
            size: 8,
            pad: StringPad::NullPad,
            cset: CharSet::Utf8,
        };
        let v = vec!["héllo".to_string()];
        assert!(
            String::encode_all(
                &v,
                &ascii,
                &mut HeapImage::new(vec![], Sizes::DEFAULT),
                &mut out
            )
            .is_err()
        );
        assert_eq!(round_trip(&v, &utf8), v);
    }

    #[test]
    fn variable_length_strings_and_sequences() {
        let dt = String::file_type(&[]).unwrap();
        let v = vec!["".to_string(), "a".into(), "ünïcode".into()];
        assert_eq!(round_trip(&v, &dt), v);
        let b = vec![FixedBytes::from("xyz"), FixedBytes(vec![])];
        assert_eq!(round_trip(&b, &dt), b);
        let s = vec![vec![1i32, -2, 3], vec![], vec![i32::MAX]];
        let dt = Vec::<i32>::file_type(&s).unwrap();
        assert_eq!(dt, vlen_datatype(Datatype::int(4, true, ByteOrder::Little)));
        assert_eq!(round_trip(&s, &dt), s);
        // converted into another base type
        let dt16 = vlen_datatype(Datatype::int(2, true, ByteOrder::Big));
        assert_eq!(
            round_trip(&s, &dt16),
            vec![vec![1i32, -2, 3], vec![], vec![i16::MAX as i32]]
        );
        // sequences of strings, sequences of sequences
        let ss = vec![vec!["a".to_string(), "bc".into()], vec![]];
        let dt = Vec::<String>::file_type(&ss).unwrap();
        assert_eq!(round_trip(&ss, &dt), ss);
        let nested = vec![vec![vec![1u8], vec![2, 3]], vec![vec![]]];
        let dt = Vec::<Vec<u8>>::file_type(&nested).unwrap();
        assert_eq!(round_trip(&nested, &dt), nested);
    }

    #[test]
    fn fixed_bytes_type_is_sized_to_the_longest() {
        let v = [FixedBytes::from("ab"), FixedBytes::from("abcde")];
        assert_eq!(
            FixedBytes::file_type(&v).unwrap(),
            Datatype::String {
                size: 5,
                pad: StringPad::NullPad,
                cset: CharSet::Ascii
            }
        );
        assert_eq!(
            FixedBytes::file_type(&[FixedBytes::default()])
                .unwrap()
                .size(),
            1
        );
        assert_eq!(FixedBytes::file_type(&[]).unwrap().size(), 1);
        let f = file();
        let ds = f.dataset("bytes_s6").unwrap();
        let read: Vec<FixedBytes> = ds.read_raw_vec().unwrap();
        assert_eq!(FixedBytes::file_type(&read).unwrap(), *ds.dtype());
        let mut out = Vec::new();
        FixedBytes::encode_all(
            &read,
            ds.dtype(),
            &mut HeapImage::new(vec![], Sizes::DEFAULT),
            &mut out,
        )
        .unwrap();
        assert_eq!(out, ds.read_raw().unwrap());
    }

    #[test]
    fn arrays() {
        let v = [[1i32, 2, 3], [4, 5, 6]];
        let dt = <[i32; 3]>::file_type(&v).unwrap();
        assert_eq!(
            dt,
            Datatype::Array {
                dims: vec![3],
                base: Box::new(Datatype::int(4, true, ByteOrder::Little))
            }
        );
        assert_eq!(round_trip(&v, &dt), v);
        // a 2x3 array type holds 6 elements
        let f = file();
        let ds = f.dataset("array_f8be_2x3").unwrap();
        let read: Vec<[f64; 6]> = ds.read_raw_vec().unwrap();
        let mut out = Vec::new();
        <[f64; 6]>::encode_all(
            &read,
            ds.dtype(),
            &mut HeapImage::new(vec![], Sizes::DEFAULT),
            &mut out,
        )
        .unwrap();
        assert_eq!(out, ds.read_raw().unwrap());
        assert!(ds.read_raw_vec::<[f64; 5]>().is_err());
        // arrays of strings go through the heap
        let s = [["a".to_string(), "".into()], ["bcd".into(), "e".into()]];
        let dt = <[String; 2]>::file_type(&s).unwrap();
        assert_eq!(round_trip(&s, &dt), s);
    }

    #[test]
    fn object_references() {
        let old = object_ref_datatype();
        let mut out = Vec::new();
        let mut heap = HeapImage::new(vec![], Sizes::DEFAULT);
        ObjectRef(0x728).encode(&old, &mut heap, &mut out).unwrap();
        assert_eq!(out, 0x728u64.to_le_bytes());
        let rev = Datatype::Reference {
            size: 18,
            kind: ReferenceKind::Revised,
        };
        out.clear();
        ObjectRef(0x728).encode(&rev, &mut heap, &mut out).unwrap();
        assert_eq!(
            out,
            [2, 0, 8, 0x28, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        );
        out.clear();
        ObjectRef::NULL.encode(&rev, &mut heap, &mut out).unwrap();
        assert_eq!(out, [0; 18]);
        let rev4 = Datatype::Reference {
            size: 14,
            kind: ReferenceKind::Revised,
        };
        out.clear();
        ObjectRef(0x9b).encode(&rev4, &mut heap, &mut out).unwrap();
        assert_eq!(out, [2, 0, 4, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert!(
            ObjectRef(1 << 40)
                .encode(&rev4, &mut heap, &mut out)
                .is_err()
        );
        let region = Datatype::Reference {
            size: 12,
            kind: ReferenceKind::Region,
        };
        assert!(ObjectRef(8).encode(&region, &mut heap, &mut out).is_err());
        // read back through a file whose addresses use 8 bytes
        let v = [ObjectRef(0x60), ObjectRef::NULL];
        assert_eq!(round_trip(&v, &old), v);
        assert_eq!(round_trip(&v, &rev), v);
    }

    #[test]
    fn values_have_no_default_type() {
        assert!(matches!(
            Value::file_type(&[Value::Int(1)]),
            Err(Error::Usage(_))
        ));
    }
}
