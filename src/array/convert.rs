//! Element conversion: from the file's numeric types to native numbers, as
//! libhdf5 converts them (integers clamp to the target's range, floats to
//! integers truncate toward zero and clamp, NaN to integer gives 0, wider
//! floats round to the nearest narrower one).

use crate::error::{Error, Result};
use crate::format::datatype::{ByteOrder, Datatype, FloatLayout};

/// A native number type h5rs reads into directly.
pub trait NativeNumber: Copy + Send + Sync + Default + 'static {
    /// The matching file datatype in native byte order.
    fn native_datatype() -> Datatype;
    /// From a signed integer, clamped to the range.
    fn from_i64(v: i64) -> Self;
    /// From an unsigned integer, clamped to the range.
    fn from_u64(v: u64) -> Self;
    /// From a float: truncated toward zero and clamped for integers, NaN 0.
    fn from_f64(v: f64) -> Self;
}

macro_rules! native_int {
    ($t:ty, $signed:expr) => {
        impl NativeNumber for $t {
            fn native_datatype() -> Datatype {
                Datatype::int(std::mem::size_of::<$t>() as u32, $signed, ByteOrder::NATIVE)
            }
            fn from_i64(v: i64) -> Self {
                if (v as i128) < <$t>::MIN as i128 {
                    <$t>::MIN
                } else if (v as i128) > <$t>::MAX as i128 {
                    <$t>::MAX
                } else {
                    v as $t
                }
            }
            fn from_u64(v: u64) -> Self {
                if (v as u128) > <$t>::MAX as u128 {
                    <$t>::MAX
                } else {
                    v as $t
                }
            }
            fn from_f64(v: f64) -> Self {
                v as $t
            }
        }
    };
}

native_int!(i8, true);
native_int!(i16, true);
native_int!(i32, true);
native_int!(i64, true);
native_int!(u8, false);
native_int!(u16, false);
native_int!(u32, false);
native_int!(u64, false);

impl NativeNumber for f32 {
    fn native_datatype() -> Datatype {
        Datatype::float(4, ByteOrder::NATIVE)
    }
    fn from_i64(v: i64) -> Self {
        v as f32
    }
    fn from_u64(v: u64) -> Self {
        v as f32
    }
    fn from_f64(v: f64) -> Self {
        v as f32
    }
}

impl NativeNumber for f64 {
    fn native_datatype() -> Datatype {
        Datatype::float(8, ByteOrder::NATIVE)
    }
    fn from_i64(v: i64) -> Self {
        v as f64
    }
    fn from_u64(v: u64) -> Self {
        v as f64
    }
    fn from_f64(v: f64) -> Self {
        v
    }
}

/// One element's bits as a little-endian u128 (elements up to 16 bytes).
fn bits_of(bytes: &[u8], order: ByteOrder) -> u128 {
    let mut v: u128 = 0;
    match order {
        ByteOrder::Little => {
            for &b in bytes.iter().take(16).rev() {
                v = (v << 8) | b as u128;
            }
        }
        ByteOrder::Big => {
            for &b in bytes.iter().take(16) {
                v = (v << 8) | b as u128;
            }
        }
    }
    v
}

fn mask(bits: u32) -> u128 {
    if bits >= 128 {
        u128::MAX
    } else {
        (1u128 << bits) - 1
    }
}

/// A scalar numeric value read from the file.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    /// A signed integer.
    Int(i64),
    /// An unsigned integer.
    UInt(u64),
    /// A floating-point value widened to f64.
    Float(f64),
}

/// Decodes a float of any HDF5 bit layout into the nearest f64.
pub fn float_to_f64(bits: u128, l: &FloatLayout) -> f64 {
    let sign = (bits >> l.sign_location.min(127)) & 1 == 1;
    let exp = (bits >> l.exp_location.min(127)) & mask(l.exp_size as u32);
    let mant = (bits >> l.mant_location.min(127)) & mask(l.mant_size as u32);
    let exp_max = mask(l.exp_size as u32);
    let bias = l.exp_bias as i64;
    let msize = l.mant_size as i64;
    let v = if exp == exp_max && l.normalization == 2 {
        if mant == 0 { f64::INFINITY } else { f64::NAN }
    } else if exp == exp_max && l.normalization == 1 {
        // explicit integer bit (x87 extended): fraction bits below it
        if mant & mask((msize - 1) as u32) == 0 {
            f64::INFINITY
        } else {
            f64::NAN
        }
    } else {
        // a damaged type may declare an exponent of up to 255 bits: it
        // saturates (the value is then infinite or zero anyway)
        let exp = i64::try_from(exp).unwrap_or(i64::MAX);
        let (m, e) = match l.normalization {
            2 if exp == 0 => (mant as f64, 1 - bias - msize),
            2 => (
                (mant | (1u128 << msize.min(127))) as f64,
                exp.saturating_sub(bias + msize),
            ),
            1 if exp == 0 => (mant as f64, 1 - bias - (msize - 1)),
            _ => (mant as f64, exp.saturating_sub(bias + msize - 1)),
        };
        scale(m, e)
    };
    if sign { -v } else { v }
}

fn scale(mut m: f64, e: i64) -> f64 {
    if m == 0.0 {
        return m;
    }
    // beyond these exponents every f64 result is infinite or zero
    let mut e = e.clamp(-4000, 4000);
    while e > 1000 {
        m *= 2f64.powi(1000);
        e -= 1000;
        if m.is_infinite() {
            return m;
        }
    }
    while e < -1000 {
        m *= 2f64.powi(-1000);
        e += 1000;
        if m == 0.0 {
            return m;
        }
    }
    m * 2f64.powi(e as i32)
}

/// Reads one numeric element (integer, float, enum, bitfield) of type `dt`.
pub fn number(dt: &Datatype, bytes: &[u8]) -> Result<Number> {
    match dt {
        Datatype::Integer {
            size,
            order,
            signed,
            bit_offset,
            precision,
        } => {
            if *size > 16 {
                return Err(Error::unsupported(format!("{size}-byte integers")));
            }
            let raw = bits_of(bytes, *order);
            let prec = (*precision as u32).clamp(1, 128);
            let v = (raw >> (*bit_offset as u32).min(127)) & mask(prec);
            if *signed {
                let shift = 128 - prec;
                let s = ((v << shift) as i128) >> shift;
                Ok(Number::Int(
                    s.clamp(i64::MIN as i128, i64::MAX as i128) as i64
                ))
            } else {
                Ok(Number::UInt(v.min(u64::MAX as u128) as u64))
            }
        }
        Datatype::Bitfield { order, .. } => Ok(Number::UInt(bits_of(bytes, *order) as u64)),
        Datatype::Float { order, layout, .. } => {
            Ok(Number::Float(float_to_f64(bits_of(bytes, *order), layout)))
        }
        Datatype::Enum { base, .. } => number(base, bytes),
        other => Err(Error::usage(format!(
            "cannot convert {} to a number",
            describe(other)
        ))),
    }
}

/// A short description of a datatype class for error messages.
pub fn describe(dt: &Datatype) -> &'static str {
    match dt {
        Datatype::Integer { .. } => "an integer",
        Datatype::Float { .. } => "a float",
        Datatype::Time { .. } => "a time value",
        Datatype::String { .. } => "a fixed-length string",
        Datatype::Bitfield { .. } => "a bitfield",
        Datatype::Opaque { .. } => "an opaque value",
        Datatype::Compound { .. } => "a compound value",
        Datatype::Reference { .. } => "a reference",
        Datatype::Enum { .. } => "an enumeration",
        Datatype::VarLen { .. } => "a variable-length sequence",
        Datatype::VarLenString { .. } => "a variable-length string",
        Datatype::Array { .. } => "an array",
        Datatype::Complex { .. } => "a complex number",
    }
}

/// True when elements of `dt` have exactly the in-memory representation
/// of `T`, so bytes can be copied without conversion.
pub fn same_repr<T: NativeNumber>(dt: &Datatype) -> bool {
    let native = T::native_datatype();
    match (dt, &native) {
        (
            Datatype::Integer {
                size,
                order,
                signed,
                bit_offset: 0,
                precision,
            },
            Datatype::Integer {
                size: s2,
                order: o2,
                signed: g2,
                ..
            },
        ) => size == s2 && order == o2 && signed == g2 && *precision as u32 == size * 8,
        (
            Datatype::Float {
                size,
                order,
                layout,
            },
            Datatype::Float {
                size: s2,
                order: o2,
                layout: l2,
            },
        ) => size == s2 && order == o2 && layout == l2,
        _ => false,
    }
}

/// Converts elements of file type `dt` in `raw` to `T`.
///
/// # Errors
/// `Usage` when `dt` is not numeric (HDF5 has no conversion either).
pub fn convert_numbers<T: NativeNumber>(dt: &Datatype, raw: &[u8]) -> Result<Vec<T>> {
    let es = dt.size();
    if es == 0 {
        return Err(Error::format_noaddr("element size 0"));
    }
    // fast paths: plain integers and IEEE floats
    match dt {
        Datatype::Float {
            size: 8,
            order,
            layout,
        } if *layout == FloatLayout::F64 => {
            return Ok(raw
                .chunks_exact(8)
                .map(|c| {
                    let a = [c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]];
                    T::from_f64(match order {
                        ByteOrder::Little => f64::from_le_bytes(a),
                        ByteOrder::Big => f64::from_be_bytes(a),
                    })
                })
                .collect());
        }
        Datatype::Float {
            size: 4,
            order,
            layout,
        } if *layout == FloatLayout::F32 => {
            return Ok(raw
                .chunks_exact(4)
                .map(|c| {
                    let a = [c[0], c[1], c[2], c[3]];
                    T::from_f64(match order {
                        ByteOrder::Little => f32::from_le_bytes(a),
                        ByteOrder::Big => f32::from_be_bytes(a),
                    } as f64)
                })
                .collect());
        }
        _ => {}
    }
    let mut out = Vec::with_capacity(raw.len() / es);
    for e in raw.chunks_exact(es) {
        out.push(match number(dt, e)? {
            Number::Int(v) => T::from_i64(v),
            Number::UInt(v) => T::from_u64(v),
            Number::Float(v) => T::from_f64(v),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_endian_ints_clamp() {
        let dt = Datatype::int(2, true, ByteOrder::Big);
        let raw = [0x01, 0x2c, 0xff, 0x38]; // 300, -200
        assert_eq!(convert_numbers::<i8>(&dt, &raw).unwrap(), vec![127, -128]);
        assert_eq!(convert_numbers::<u8>(&dt, &raw).unwrap(), vec![255, 0]);
        assert_eq!(
            convert_numbers::<f64>(&dt, &raw).unwrap(),
            vec![300.0, -200.0]
        );
    }

    #[test]
    fn half_floats() {
        let dt = Datatype::float(2, ByteOrder::Little);
        let raw = [0x00, 0x3c, 0x00, 0xc0, 0x00, 0x7c, 0x01, 0x00];
        let v = convert_numbers::<f64>(&dt, &raw).unwrap();
        assert_eq!(v[0], 1.0);
        assert_eq!(v[1], -2.0);
        assert_eq!(v[2], f64::INFINITY);
        assert_eq!(v[3], 2f64.powi(-24));
    }

    #[test]
    fn generic_float_matches_native() {
        for x in [
            0.0f64,
            -1.5,
            3.25e-300,
            1e300,
            123456.789,
            f64::MIN_POSITIVE / 8.0,
        ] {
            let bits = x.to_bits() as u128;
            assert_eq!(float_to_f64(bits, &FloatLayout::F64), x);
        }
    }

    #[test]
    fn hostile_float_layouts_terminate() {
        let l = FloatLayout {
            bit_offset: 0,
            precision: 128,
            sign_location: 127,
            exp_location: 0,
            exp_size: 64,
            mant_location: 64,
            mant_size: 0,
            exp_bias: 0,
            normalization: 0,
        };
        // a zero mantissa with an enormous exponent is zero, at once
        assert_eq!(float_to_f64(u64::MAX as u128 - 1, &l), 0.0);
        // an exponent of 100 bits, normalised (implied leading bit): the
        // largest exponents, not all ones, are past any f64
        let wide = FloatLayout {
            exp_size: 100,
            mant_location: 100,
            mant_size: 20,
            normalization: 2,
            ..l
        };
        assert_eq!(float_to_f64((1u128 << 99) + 5, &wide), f64::INFINITY);
        assert_eq!(float_to_f64(1u128 << 70, &wide), f64::INFINITY);
        assert_eq!(
            float_to_f64(
                (1 << 127) | (1 << 63),
                &FloatLayout {
                    exp_bias: 7,
                    ..wide
                }
            ),
            f64::NEG_INFINITY
        );
    }

    #[test]
    fn float_to_int_truncates() {
        let dt = Datatype::float(8, ByteOrder::Little);
        let mut raw = Vec::new();
        for x in [2.7f64, -2.7, 1e20, f64::NAN] {
            raw.extend(x.to_le_bytes());
        }
        assert_eq!(
            convert_numbers::<i32>(&dt, &raw).unwrap(),
            vec![2, -2, i32::MAX, 0]
        );
    }

    #[test]
    fn strings_do_not_convert() {
        let dt = Datatype::String {
            size: 4,
            pad: crate::format::datatype::StringPad::NullPad,
            cset: crate::format::datatype::CharSet::Ascii,
        };
        assert!(convert_numbers::<i32>(&dt, b"abcd").is_err());
    }
}
