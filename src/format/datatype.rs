//! The datatype message (spec IV.A.2.d): what one element is.
//!
//! ```text
//! class (low 4 bits) and version (high 4 bits) | class bit field (3)
//!   | size (4) | properties (per class)
//! ```

use super::cursor::Cursor;
use crate::error::{Error, Result};

/// Byte order of a numeric type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ByteOrder {
    /// Least significant byte first.
    Little,
    /// Most significant byte first.
    Big,
}

impl ByteOrder {
    /// The canonical prefix: `<` or `>`.
    pub fn symbol(self) -> char {
        match self {
            ByteOrder::Little => '<',
            ByteOrder::Big => '>',
        }
    }

    /// The byte order of the machine running this code.
    pub const NATIVE: ByteOrder = if cfg!(target_endian = "little") {
        ByteOrder::Little
    } else {
        ByteOrder::Big
    };
}

/// Padding of a fixed-length string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StringPad {
    /// NUL-terminated (C style).
    NullTerm,
    /// Padded with NULs.
    NullPad,
    /// Padded with spaces (Fortran style).
    SpacePad,
}

impl StringPad {
    fn from_code(code: u32) -> Self {
        match code {
            1 => StringPad::NullPad,
            2 => StringPad::SpacePad,
            _ => StringPad::NullTerm,
        }
    }

    /// The canonical name.
    pub fn name(self) -> &'static str {
        match self {
            StringPad::NullTerm => "nullterm",
            StringPad::NullPad => "nullpad",
            StringPad::SpacePad => "spacepad",
        }
    }
}

/// Character set of a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CharSet {
    /// US-ASCII.
    Ascii,
    /// UTF-8.
    Utf8,
}

impl CharSet {
    fn from_code(code: u32) -> Self {
        if code == 1 {
            CharSet::Utf8
        } else {
            CharSet::Ascii
        }
    }

    /// The canonical name.
    pub fn name(self) -> &'static str {
        match self {
            CharSet::Ascii => "ascii",
            CharSet::Utf8 => "utf8",
        }
    }
}

/// The bit layout of a floating-point type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FloatLayout {
    /// Bit offset of the value in the element.
    pub bit_offset: u16,
    /// Bits of precision.
    pub precision: u16,
    /// Bit position of the sign.
    pub sign_location: u8,
    /// Bit position of the exponent.
    pub exp_location: u8,
    /// Exponent bits.
    pub exp_size: u8,
    /// Bit position of the mantissa.
    pub mant_location: u8,
    /// Mantissa bits.
    pub mant_size: u8,
    /// Exponent bias.
    pub exp_bias: u32,
    /// Mantissa normalization: 0 none, 1 MSB set, 2 MSB implied.
    pub normalization: u8,
}

impl FloatLayout {
    /// IEEE 754 binary16.
    pub const F16: FloatLayout = FloatLayout::ieee(16, 10, 5, 15);
    /// IEEE 754 binary32.
    pub const F32: FloatLayout = FloatLayout::ieee(32, 23, 8, 127);
    /// IEEE 754 binary64.
    pub const F64: FloatLayout = FloatLayout::ieee(64, 52, 11, 1023);

    const fn ieee(bits: u16, mant: u8, exp: u8, bias: u32) -> FloatLayout {
        FloatLayout {
            bit_offset: 0,
            precision: bits,
            sign_location: (bits - 1) as u8,
            exp_location: mant,
            exp_size: exp,
            mant_location: 0,
            mant_size: mant,
            exp_bias: bias,
            normalization: 2,
        }
    }
}

/// A member of a compound type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CompoundMember {
    /// Member name.
    pub name: String,
    /// Byte offset in the compound element.
    pub offset: u32,
    /// Member type.
    pub dtype: Datatype,
}

/// A member of an enumeration.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EnumMember {
    /// Member name.
    pub name: String,
    /// Its value, in the base type's encoding.
    pub value: Vec<u8>,
}

/// What kind of reference a reference type holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReferenceKind {
    /// Object reference: an object header address.
    Object,
    /// Dataset region reference: a global heap object naming a dataset
    /// and a selection.
    Region,
    /// The revised (HDF5 1.12) reference encoding (type bits 2, 3 or 4):
    /// each element's header tells what it names (see
    /// [`crate::format::reference`]). libhdf5 sets the type bits to 2
    /// (object) for every `H5T_STD_REF`, whatever the elements hold.
    Revised,
}

/// An HDF5 datatype.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Datatype {
    /// Fixed-point integer.
    Integer {
        /// Bytes per element.
        size: u32,
        /// Byte order.
        order: ByteOrder,
        /// Two's complement signed.
        signed: bool,
        /// Bit offset of the value.
        bit_offset: u16,
        /// Bits of precision.
        precision: u16,
    },
    /// Floating point.
    Float {
        /// Bytes per element.
        size: u32,
        /// Byte order.
        order: ByteOrder,
        /// Bit layout.
        layout: FloatLayout,
    },
    /// Time (obsolete class).
    Time {
        /// Bytes per element.
        size: u32,
        /// Byte order.
        order: ByteOrder,
    },
    /// Fixed-length string.
    String {
        /// Bytes per element.
        size: u32,
        /// Padding.
        pad: StringPad,
        /// Character set.
        cset: CharSet,
    },
    /// Bit field.
    Bitfield {
        /// Bytes per element.
        size: u32,
        /// Byte order.
        order: ByteOrder,
    },
    /// Opaque bytes with a tag.
    Opaque {
        /// Bytes per element.
        size: u32,
        /// The tag.
        tag: String,
    },
    /// Compound (a record).
    Compound {
        /// Bytes per element.
        size: u32,
        /// Members in stored order.
        members: Vec<CompoundMember>,
    },
    /// Reference.
    Reference {
        /// Bytes per element.
        size: u32,
        /// Kind of reference.
        kind: ReferenceKind,
    },
    /// Enumeration over an integer base type.
    Enum {
        /// The base type.
        base: Box<Datatype>,
        /// Members in stored order.
        members: Vec<EnumMember>,
    },
    /// Variable-length sequence of `base`.
    VarLen {
        /// Element type of the sequences.
        base: Box<Datatype>,
        /// Bytes per element in the file (length, heap address, index).
        size: u32,
    },
    /// Variable-length string.
    VarLenString {
        /// Padding.
        pad: StringPad,
        /// Character set.
        cset: CharSet,
        /// Bytes per element in the file.
        size: u32,
    },
    /// Fixed-size array of `base`.
    Array {
        /// Dimensions.
        dims: Vec<u32>,
        /// Element type.
        base: Box<Datatype>,
    },
    /// Complex number of two floats (HDF5 2.0).
    Complex {
        /// Bytes per element.
        size: u32,
        /// The float type of each part.
        base: Box<Datatype>,
    },
}

impl Datatype {
    /// Bytes one element takes in the file.
    pub fn size(&self) -> usize {
        match self {
            Datatype::Integer { size, .. }
            | Datatype::Float { size, .. }
            | Datatype::Time { size, .. }
            | Datatype::String { size, .. }
            | Datatype::Bitfield { size, .. }
            | Datatype::Opaque { size, .. }
            | Datatype::Compound { size, .. }
            | Datatype::Reference { size, .. }
            | Datatype::VarLen { size, .. }
            | Datatype::VarLenString { size, .. }
            | Datatype::Complex { size, .. } => *size as usize,
            Datatype::Enum { base, .. } => base.size(),
            Datatype::Array { dims, base } => dims
                .iter()
                .fold(base.size(), |acc, &d| acc.saturating_mul(d as usize)),
        }
    }

    /// A little-endian integer type of `size` bytes.
    pub fn int(size: u32, signed: bool, order: ByteOrder) -> Datatype {
        Datatype::Integer {
            size,
            order,
            signed,
            bit_offset: 0,
            precision: (size * 8) as u16,
        }
    }

    /// An IEEE float of `size` bytes (2, 4 or 8).
    pub fn float(size: u32, order: ByteOrder) -> Datatype {
        let layout = match size {
            2 => FloatLayout::F16,
            4 => FloatLayout::F32,
            _ => FloatLayout::F64,
        };
        Datatype::Float {
            size,
            order,
            layout,
        }
    }

    /// True when an element holds variable-length data (directly or in a
    /// member), which lives in the global heap.
    pub fn has_vlen(&self) -> bool {
        match self {
            Datatype::VarLen { .. } | Datatype::VarLenString { .. } => true,
            Datatype::Compound { members, .. } => members.iter().any(|m| m.dtype.has_vlen()),
            Datatype::Array { base, .. } | Datatype::Enum { base, .. } => base.has_vlen(),
            _ => false,
        }
    }

    /// Decodes a datatype message.
    pub fn decode(c: &mut Cursor) -> Result<Datatype> {
        decode(c, 0)
    }

    /// Decodes a datatype message held in `data` at file address `addr`.
    pub fn from_message(data: &[u8], addr: u64, sizes: super::Sizes) -> Result<Datatype> {
        let mut c = Cursor::new(data, addr, sizes);
        decode(&mut c, 0).map_err(|e| e.context("datatype message"))
    }
}

impl Datatype {
    /// The decimal text of an integer value stored in this (integer) type.
    pub fn integer_text(&self, bytes: &[u8]) -> String {
        let Datatype::Integer {
            order,
            signed,
            size,
            ..
        } = self
        else {
            return "?".into();
        };
        let n = (*size as usize).min(bytes.len()).min(16);
        let mut v: u128 = 0;
        let it: Vec<u8> = match order {
            ByteOrder::Little => bytes[..n].iter().rev().copied().collect(),
            ByteOrder::Big => bytes[..n].to_vec(),
        };
        for b in it {
            v = (v << 8) | b as u128;
        }
        if *signed && n > 0 && n < 16 && v >> (8 * n - 1) & 1 == 1 {
            let s = (v as i128) - (1i128 << (8 * n));
            s.to_string()
        } else {
            v.to_string()
        }
    }

    /// The type as libhdf5 describes it in memory (what `H5Dget_type` and
    /// `H5Aget_type` return): variable-length sequences take 16 bytes
    /// (`hvl_t`), variable-length strings 8 (a pointer), and compounds that
    /// hold them have their members sorted by offset and shifted by the
    /// accumulated size change. Other types are unchanged.
    pub fn memory_layout(&self) -> Datatype {
        match self {
            Datatype::VarLen { base, .. } => Datatype::VarLen {
                base: Box::new(base.memory_layout()),
                size: 16,
            },
            Datatype::VarLenString { pad, cset, .. } => Datatype::VarLenString {
                pad: *pad,
                cset: *cset,
                size: 8,
            },
            Datatype::Array { dims, base } if base.has_vlen() => Datatype::Array {
                dims: dims.clone(),
                base: Box::new(base.memory_layout()),
            },
            Datatype::Compound { size, members } if self.has_vlen() => {
                let mut members = members.clone();
                members.sort_by_key(|m| m.offset);
                let mut change: i64 = 0;
                for m in &mut members {
                    m.offset = (m.offset as i64 + change).max(0) as u32;
                    if m.dtype.has_vlen() {
                        let old = m.dtype.size() as i64;
                        m.dtype = m.dtype.memory_layout();
                        change += m.dtype.size() as i64 - old;
                    }
                }
                Datatype::Compound {
                    size: (*size as i64 + change).max(0) as u32,
                    members,
                }
            }
            other => other.clone(),
        }
    }

    /// The canonical text of the type: `<i4`, `S10/nullterm/ascii`,
    /// `compound{a:<i2@0,b:>f8@2}10`, ... (no spaces).
    pub fn canonical(&self) -> String {
        match self {
            Datatype::Integer {
                size,
                order,
                signed,
                ..
            } => format!(
                "{}{}{size}",
                order.symbol(),
                if *signed { 'i' } else { 'u' }
            ),
            Datatype::Float { size, order, .. } => format!("{}f{size}", order.symbol()),
            Datatype::Time { size, .. } => format!("time{size}"),
            Datatype::String { size, pad, cset } => {
                format!("S{size}/{}/{}", pad.name(), cset.name())
            }
            Datatype::Bitfield { size, order } => format!("{}b{size}", order.symbol()),
            Datatype::Opaque { size, tag } => format!("opaque{size}({tag})"),
            Datatype::Compound { size, members } => {
                let parts: Vec<String> = members
                    .iter()
                    .map(|m| format!("{}:{}@{}", m.name, m.dtype.canonical(), m.offset))
                    .collect();
                format!("compound{{{}}}{size}", parts.join(","))
            }
            Datatype::Reference { kind, .. } => match kind {
                ReferenceKind::Object => "ref-object".into(),
                ReferenceKind::Region => "ref-region".into(),
                ReferenceKind::Revised => "ref".into(),
            },
            Datatype::Enum { base, members } => {
                let parts: Vec<String> = members
                    .iter()
                    .map(|m| format!("{}={}", m.name, base.integer_text(&m.value)))
                    .collect();
                format!("enum({};{})", base.canonical(), parts.join(","))
            }
            Datatype::VarLen { base, .. } => format!("vlen({})", base.canonical()),
            Datatype::VarLenString { cset, .. } => format!("vstr/{}", cset.name()),
            Datatype::Array { dims, base } => {
                let d: Vec<String> = dims.iter().map(|d| d.to_string()).collect();
                format!("array({};[{}])", base.canonical(), d.join(","))
            }
            Datatype::Complex { size, base } => {
                let order = match **base {
                    Datatype::Float { order, .. } => order,
                    _ => ByteOrder::Little,
                };
                format!("{}c{size}", order.symbol())
            }
        }
    }
}

const MAX_DEPTH: u32 = 32;

fn order_of(bits: u32) -> ByteOrder {
    if bits & 1 != 0 {
        ByteOrder::Big
    } else {
        ByteOrder::Little
    }
}

fn decode(c: &mut Cursor, depth: u32) -> Result<Datatype> {
    let at = c.address();
    if depth > MAX_DEPTH {
        return Err(Error::limit(format!(
            "datatype nested deeper than {MAX_DEPTH} at {at:#x}"
        )));
    }
    let cv = c.u8()?;
    let class = cv & 0x0f;
    let version = cv >> 4;
    let b = c.array::<3>()?;
    let bits = b[0] as u32 | (b[1] as u32) << 8 | (b[2] as u32) << 16;
    let size = c.u32()?;
    let bad = |what: String| Error::format(format!("datatype: {what}"), at);
    if !(1..=5).contains(&version) {
        return Err(bad(format!("version {version}")));
    }
    let dt = match class {
        0 => {
            let bit_offset = c.u16()?;
            let precision = c.u16()?;
            Datatype::Integer {
                size,
                order: order_of(bits),
                signed: bits & 0x08 != 0,
                bit_offset,
                precision,
            }
        }
        1 => {
            let order = match (bits & 1, bits & 0x40) {
                (0, 0) => ByteOrder::Little,
                (1, 0) => ByteOrder::Big,
                _ => return Err(Error::unsupported("VAX-order floating point")),
            };
            let layout = FloatLayout {
                bit_offset: c.u16()?,
                precision: c.u16()?,
                exp_location: c.u8()?,
                exp_size: c.u8()?,
                mant_location: c.u8()?,
                mant_size: c.u8()?,
                exp_bias: c.u32()?,
                sign_location: ((bits >> 8) & 0xff) as u8,
                normalization: ((bits >> 4) & 0x03) as u8,
            };
            Datatype::Float {
                size,
                order,
                layout,
            }
        }
        2 => {
            c.u16()?;
            Datatype::Time {
                size,
                order: order_of(bits),
            }
        }
        3 => Datatype::String {
            size,
            pad: StringPad::from_code(bits & 0x0f),
            cset: CharSet::from_code((bits >> 4) & 0x0f),
        },
        4 => {
            c.u16()?;
            c.u16()?;
            Datatype::Bitfield {
                size,
                order: order_of(bits),
            }
        }
        5 => {
            let n = (bits & 0xff) as usize;
            let raw = c.bytes(n)?;
            let end = raw.iter().position(|&x| x == 0).unwrap_or(raw.len());
            Datatype::Opaque {
                size,
                tag: String::from_utf8_lossy(&raw[..end]).into_owned(),
            }
        }
        6 => {
            let n = (bits & 0xffff) as usize;
            if n == 0 {
                return Err(bad("compound with no members".into()));
            }
            let mut members = Vec::with_capacity(n.min(c.remaining()));
            for _ in 0..n {
                let name_start = c.position();
                let name = String::from_utf8_lossy(c.cstr()?).into_owned();
                let offset = if version < 3 {
                    // name padded to a multiple of 8 (counting the NUL)
                    let used = c.position() - name_start;
                    c.skip((8 - used % 8) % 8)?;
                    c.u32()?
                } else {
                    c.uint(crate::format::cursor::bytes_for(size as u64))? as u32
                };
                let dtype = if version == 1 {
                    let ndims = c.u8()? as usize;
                    c.skip(3)?;
                    c.u32()?; // permutation
                    c.u32()?;
                    let mut dims = Vec::new();
                    for i in 0..4 {
                        let d = c.u32()?;
                        if i < ndims {
                            dims.push(d);
                        }
                    }
                    let base = decode(c, depth + 1)?;
                    if ndims == 0 {
                        base
                    } else {
                        Datatype::Array {
                            dims,
                            base: Box::new(base),
                        }
                    }
                } else {
                    decode(c, depth + 1)?
                };
                let end = (offset as usize).checked_add(dtype.size());
                if end.is_none_or(|e| e > size as usize) {
                    return Err(bad(format!(
                        "compound member {name:?} at offset {offset} overruns the {size}-byte element"
                    )));
                }
                members.push(CompoundMember {
                    name,
                    offset,
                    dtype,
                });
            }
            Datatype::Compound { size, members }
        }
        7 => {
            // no properties follow for any reference type
            let kind = match bits & 0x0f {
                0 => ReferenceKind::Object,
                1 => ReferenceKind::Region,
                2..=4 => {
                    // bits 4-7: version of the revised encoding (libhdf5
                    // writes 1; 0 is "unused")
                    let encoding = (bits >> 4) & 0x0f;
                    if encoding > 1 {
                        return Err(Error::unsupported(format!(
                            "revised reference encoding version {encoding}"
                        )));
                    }
                    ReferenceKind::Revised
                }
                t => return Err(bad(format!("reference type {t}"))),
            };
            Datatype::Reference { size, kind }
        }
        8 => {
            let n = (bits & 0xffff) as usize;
            let base = decode(c, depth + 1)?;
            if !matches!(base, Datatype::Integer { .. }) {
                return Err(bad("enumeration base is not an integer type".into()));
            }
            let mut names = Vec::with_capacity(n.min(c.remaining()));
            for _ in 0..n {
                let start = c.position();
                names.push(String::from_utf8_lossy(c.cstr()?).into_owned());
                if version < 3 {
                    let used = c.position() - start;
                    c.skip((8 - used % 8) % 8)?;
                }
            }
            let bsize = base.size();
            let mut members = Vec::with_capacity(names.len());
            for name in names {
                members.push(EnumMember {
                    name,
                    value: c.bytes(bsize)?.to_vec(),
                });
            }
            Datatype::Enum {
                base: Box::new(base),
                members,
            }
        }
        9 => {
            let kind = bits & 0x0f;
            let pad = StringPad::from_code((bits >> 4) & 0x0f);
            let cset = CharSet::from_code((bits >> 8) & 0x0f);
            let base = decode(c, depth + 1)?;
            if kind == 1 {
                Datatype::VarLenString { pad, cset, size }
            } else {
                Datatype::VarLen {
                    base: Box::new(base),
                    size,
                }
            }
        }
        10 => {
            let ndims = c.u8()? as usize;
            if version < 3 {
                c.skip(3)?;
            }
            let mut dims = Vec::with_capacity(ndims);
            for _ in 0..ndims {
                dims.push(c.u32()?);
            }
            if version < 3 {
                c.skip(4 * ndims)?;
            }
            let base = decode(c, depth + 1)?;
            let dt = Datatype::Array {
                dims,
                base: Box::new(base),
            };
            if dt.size() != size as usize {
                return Err(bad(format!(
                    "array of {} bytes in a {size}-byte element",
                    dt.size()
                )));
            }
            dt
        }
        11 => {
            let base = decode(c, depth + 1)?;
            Datatype::Complex {
                size,
                base: Box::new(base),
            }
        }
        other => return Err(Error::unsupported(format!("datatype class {other}"))),
    };
    if size == 0 && !matches!(dt, Datatype::Enum { .. } | Datatype::Array { .. }) {
        return Err(bad("element size 0".into()));
    }
    Ok(dt)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::Sizes;

    fn dec(b: &[u8]) -> Result<Datatype> {
        Datatype::from_message(b, 0, Sizes::DEFAULT)
    }

    #[test]
    fn little_endian_i32() {
        let b = [0x10, 0x08, 0, 0, 4, 0, 0, 0, 0, 0, 32, 0];
        assert_eq!(dec(&b).unwrap(), Datatype::int(4, true, ByteOrder::Little));
    }

    #[test]
    fn big_endian_f64() {
        let b = [
            0x11, 0x21, 0x3f, 0, 8, 0, 0, 0, 0, 0, 64, 0, 52, 11, 0, 52, 0xff, 3, 0, 0,
        ];
        assert_eq!(dec(&b).unwrap(), Datatype::float(8, ByteOrder::Big));
    }

    #[test]
    fn fixed_string() {
        let b = [0x13, 0x11, 0, 0, 10, 0, 0, 0];
        assert_eq!(
            dec(&b).unwrap(),
            Datatype::String {
                size: 10,
                pad: StringPad::NullPad,
                cset: CharSet::Utf8
            }
        );
    }

    #[test]
    fn compound_v1_with_padded_names() {
        let mut b = vec![0x16, 2, 0, 0, 16, 0, 0, 0];
        for (name, off) in [(&b"a"[..], 0u32), (&b"bb"[..], 8)] {
            let mut n = name.to_vec();
            n.resize(8, 0);
            b.extend(n);
            b.extend(off.to_le_bytes());
            b.extend([0u8; 4 + 4 + 4 + 16]);
            b.extend([0x10, 0x08, 0, 0, 8, 0, 0, 0, 0, 0, 64, 0]);
        }
        match dec(&b).unwrap() {
            Datatype::Compound { size, members } => {
                assert_eq!(size, 16);
                assert_eq!(members[1].name, "bb");
                assert_eq!(members[1].offset, 8);
            }
            d => panic!("{d:?}"),
        }
    }

    #[test]
    fn member_past_the_end_is_an_error() {
        let mut b = vec![0x36, 1, 0, 0, 4, 0, 0, 0];
        b.extend(b"a\0");
        b.push(0); // offset 0 (1 byte)
        b.extend([0x10, 0x08, 0, 0, 8, 0, 0, 0, 0, 0, 64, 0]);
        assert!(dec(&b).is_err());
    }

    #[test]
    fn references() {
        // old object (8 bytes), old region (12 bytes)
        let b = [0x17, 0, 0, 0, 8, 0, 0, 0];
        assert_eq!(
            dec(&b).unwrap(),
            Datatype::Reference {
                size: 8,
                kind: ReferenceKind::Object
            }
        );
        let b = [0x17, 1, 0, 0, 12, 0, 0, 0];
        assert!(matches!(
            dec(&b).unwrap(),
            Datatype::Reference {
                kind: ReferenceKind::Region,
                ..
            }
        ));
        // H5T_STD_REF as libhdf5 2.0 writes it: version 4, type 2,
        // encoding version 1, 18 bytes
        let b = [0x47, 0x12, 0, 0, 18, 0, 0, 0];
        assert_eq!(
            dec(&b).unwrap(),
            Datatype::Reference {
                size: 18,
                kind: ReferenceKind::Revised
            }
        );
        assert_eq!(dec(&b).unwrap().canonical(), "ref");
        // attribute type, then an unknown encoding version and type
        assert!(dec(&[0x47, 0x14, 0, 0, 18, 0, 0, 0]).is_ok());
        assert!(matches!(
            dec(&[0x47, 0x22, 0, 0, 18, 0, 0, 0]),
            Err(Error::Unsupported(_))
        ));
        assert!(dec(&[0x47, 0x15, 0, 0, 18, 0, 0, 0]).is_err());
    }

    #[test]
    fn truncated_is_an_error() {
        assert!(dec(&[0x10, 0x08]).is_err());
    }
}
