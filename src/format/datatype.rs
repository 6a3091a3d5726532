//! The datatype message (spec IV.A.2.d): what one element is.
//!
//! ```text
//! class (low 4 bits) and version (high 4 bits) | class bit field (3)
//!   | size (4) | properties (per class)
//! ```

use super::cursor::{Cursor, Encoder, bytes_for};
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

fn pad_code(p: StringPad) -> u32 {
    match p {
        StringPad::NullTerm => 0,
        StringPad::NullPad => 1,
        StringPad::SpacePad => 2,
    }
}

fn cset_code(c: CharSet) -> u32 {
    match c {
        CharSet::Ascii => 0,
        CharSet::Utf8 => 1,
    }
}

fn order_bit(o: ByteOrder) -> u32 {
    u32::from(o == ByteOrder::Big)
}

/// NUL-terminated name padded with zeros to a multiple of 8.
fn padded_name(e: &mut Encoder, name: &str) {
    let start = e.position();
    e.bytes(name.as_bytes()).u8(0);
    let used = e.position() - start;
    e.zeros((8 - used % 8) % 8);
}

impl Datatype {
    /// The message version libhdf5 writes for this type when asked for
    /// `version` (1 with the earliest format bounds, 5 with the latest
    /// bounds of libhdf5 2.0, 3 with those of 1.8 to 1.14).
    ///
    /// Only compound, enumeration and array types follow the bounds;
    /// other classes keep the lowest version that can hold them: 1, but 2
    /// for arrays, 4 for revised references and 5 for complex numbers. A
    /// compound holding an array (or any type needing more) is raised to
    /// that, as are an enumeration's, array's and sequence's base types.
    /// A compound's or enumeration's nested compound, enumeration and array
    /// types take its version (libhdf5 raises them with it); an array's
    /// base does not follow the array's own raise to 2; atomic types keep
    /// their version.
    pub fn encoded_version(&self, version: u8) -> u8 {
        let v = version.clamp(1, 5);
        match self {
            Datatype::Compound { members, .. } => members
                .iter()
                .map(|m| m.dtype.encoded_version(v))
                .max()
                .unwrap_or(1)
                .max(v),
            Datatype::Enum { base, .. } => base.encoded_version(v).max(v),
            Datatype::Array { base, .. } => base.encoded_version(v).max(v).max(2),
            Datatype::VarLen { base, .. } => base.encoded_version(v),
            Datatype::Reference {
                kind: ReferenceKind::Revised,
                ..
            } => 4,
            Datatype::Complex { .. } => 5,
            _ => 1,
        }
    }

    /// Encodes the datatype message as libhdf5 writes it, `version` being
    /// what the format bounds ask for (see [`Datatype::encoded_version`]:
    /// 1 for the earliest bounds, 5 for the latest).
    ///
    /// Properties the decoded form does not keep are written as libhdf5
    /// writes them for the types it creates: a bit field and a time type
    /// cover their whole size, a revised reference is an object reference
    /// (type 2, encoding 1), a sequence has no pad or charset, and a
    /// variable-length string's base is an unsigned byte.
    pub fn encode(&self, version: u8) -> Vec<u8> {
        let mut e = Encoder::new(super::Sizes::DEFAULT);
        self.encode_into(&mut e, version.clamp(1, 5));
        e.into_bytes()
    }

    fn encode_into(&self, e: &mut Encoder, req: u8) {
        let v = self.encoded_version(req);
        let header = |e: &mut Encoder, class: u8, bits: u32, size: u32| {
            e.u8(v << 4 | class)
                .u8(bits as u8)
                .u8((bits >> 8) as u8)
                .u8((bits >> 16) as u8)
                .u32(size);
        };
        match self {
            Datatype::Integer {
                size,
                order,
                signed,
                bit_offset,
                precision,
            } => {
                header(e, 0, order_bit(*order) | u32::from(*signed) << 3, *size);
                e.u16(*bit_offset).u16(*precision);
            }
            Datatype::Float {
                size,
                order,
                layout: l,
            } => {
                let bits = order_bit(*order)
                    | (l.normalization as u32 & 3) << 4
                    | (l.sign_location as u32) << 8;
                header(e, 1, bits, *size);
                e.u16(l.bit_offset)
                    .u16(l.precision)
                    .u8(l.exp_location)
                    .u8(l.exp_size)
                    .u8(l.mant_location)
                    .u8(l.mant_size)
                    .u32(l.exp_bias);
            }
            Datatype::Time { size, order } => {
                header(e, 2, order_bit(*order), *size);
                e.u16((*size as u16).saturating_mul(8));
            }
            Datatype::String { size, pad, cset } => {
                header(e, 3, pad_code(*pad) | cset_code(*cset) << 4, *size);
            }
            Datatype::Bitfield { size, order } => {
                header(e, 4, order_bit(*order), *size);
                e.u16(0).u16((*size as u16).saturating_mul(8));
            }
            Datatype::Opaque { size, tag } => {
                let aligned = tag.len().div_ceil(8) * 8;
                header(e, 5, aligned as u32 & 0xff, *size);
                e.bytes(tag.as_bytes()).zeros(aligned - tag.len());
            }
            Datatype::Compound { size, members } => {
                header(e, 6, members.len() as u32 & 0xffff, *size);
                for m in members {
                    if v >= 3 {
                        e.bytes(m.name.as_bytes()).u8(0);
                        e.uint(m.offset as u64, bytes_for(*size as u64));
                    } else {
                        padded_name(e, &m.name);
                        e.u32(m.offset);
                        if v == 1 {
                            // dimensionality, reserved, permutation,
                            // reserved, four dimension sizes: all unused
                            e.zeros(28);
                        }
                    }
                    m.dtype.encode_into(e, v);
                }
            }
            Datatype::Reference { size, kind } => {
                let bits = match kind {
                    ReferenceKind::Object => 0,
                    ReferenceKind::Region => 1,
                    ReferenceKind::Revised => 2 | 1 << 4,
                };
                header(e, 7, bits, *size);
            }
            Datatype::Enum { base, members } => {
                header(e, 8, members.len() as u32 & 0xffff, base.size() as u32);
                base.encode_into(e, v);
                for m in members {
                    if v >= 3 {
                        e.bytes(m.name.as_bytes()).u8(0);
                    } else {
                        padded_name(e, &m.name);
                    }
                }
                for m in members {
                    e.bytes(&m.value);
                }
            }
            Datatype::VarLen { base, size } => {
                header(e, 9, 0, *size);
                base.encode_into(e, v);
            }
            Datatype::VarLenString { pad, cset, size } => {
                header(e, 9, 1 | pad_code(*pad) << 4 | cset_code(*cset) << 8, *size);
                Datatype::Integer {
                    size: 1,
                    order: ByteOrder::Little,
                    signed: false,
                    bit_offset: 0,
                    precision: 8,
                }
                .encode_into(e, v);
            }
            Datatype::Array { dims, base } => {
                header(e, 10, 0, self.size() as u32);
                e.u8(dims.len() as u8);
                if v < 3 {
                    e.zeros(3);
                }
                for &d in dims {
                    e.u32(d);
                }
                if v < 3 {
                    for i in 0..dims.len() {
                        e.u32(i as u32);
                    }
                }
                // an array raised to v2 for itself leaves its base alone
                base.encode_into(e, req);
            }
            Datatype::Complex { size, base } => {
                // bit 0: both parts have the same type (always, so far)
                header(e, 11, 1, *size);
                base.encode_into(e, v);
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
    use proptest::prelude::*;

    fn order() -> impl Strategy<Value = ByteOrder> {
        prop_oneof![Just(ByteOrder::Little), Just(ByteOrder::Big)]
    }

    fn int() -> impl Strategy<Value = Datatype> {
        (
            prop_oneof![Just(1u32), Just(2), Just(4), Just(8)],
            order(),
            any::<bool>(),
        )
            .prop_map(|(size, order, signed)| Datatype::int(size, signed, order))
    }

    fn leaf() -> impl Strategy<Value = Datatype> {
        let pad = prop_oneof![
            Just(StringPad::NullTerm),
            Just(StringPad::NullPad),
            Just(StringPad::SpacePad)
        ];
        let cset = prop_oneof![Just(CharSet::Ascii), Just(CharSet::Utf8)];
        prop_oneof![
            int(),
            (prop_oneof![Just(2u32), Just(4), Just(8)], order()).prop_map(|(s, o)| {
                Datatype::Float {
                    size: s,
                    order: o,
                    layout: match s {
                        2 => FloatLayout::F16,
                        4 => FloatLayout::F32,
                        _ => FloatLayout::F64,
                    },
                }
            }),
            (1u32..100, pad.clone(), cset.clone()).prop_map(|(size, pad, cset)| Datatype::String {
                size,
                pad,
                cset
            }),
            (1u32..9, order()).prop_map(|(size, order)| Datatype::Bitfield { size, order }),
            (1u32..9, order()).prop_map(|(size, order)| Datatype::Time { size, order }),
            (1u32..64, "[a-z]{0,20}").prop_map(|(size, tag)| Datatype::Opaque { size, tag }),
            prop_oneof![
                Just((8u32, ReferenceKind::Object)),
                Just((12, ReferenceKind::Region)),
                Just((64, ReferenceKind::Revised))
            ]
            .prop_map(|(size, kind)| Datatype::Reference { size, kind }),
            (pad, cset).prop_map(|(pad, cset)| Datatype::VarLenString {
                pad,
                cset,
                size: 16
            }),
        ]
    }

    fn dtype() -> impl Strategy<Value = Datatype> {
        leaf().prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(("[a-z]{1,12}", inner.clone()), 1..5).prop_map(|ms| {
                    let mut offset = 0u32;
                    let mut members = Vec::new();
                    for (i, (name, dtype)) in ms.into_iter().enumerate() {
                        let size = dtype.size() as u32;
                        members.push(CompoundMember {
                            name: format!("{name}{i}"),
                            offset,
                            dtype,
                        });
                        offset += size;
                    }
                    Datatype::Compound {
                        size: offset.max(1),
                        members,
                    }
                }),
                (prop::collection::vec(1u32..5, 1..4), inner.clone()).prop_map(|(dims, b)| {
                    Datatype::Array {
                        dims,
                        base: Box::new(b),
                    }
                }),
                inner.prop_map(|b| Datatype::VarLen {
                    base: Box::new(b),
                    size: 16
                }),
                (int(), prop::collection::vec("[A-Z]{1,10}", 1..6)).prop_map(|(base, names)| {
                    let n = base.size();
                    Datatype::Enum {
                        members: names
                            .into_iter()
                            .enumerate()
                            .map(|(i, name)| EnumMember {
                                name: format!("{name}{i}"),
                                value: (i as u64).to_le_bytes()[..n].to_vec(),
                            })
                            .collect(),
                        base: Box::new(base),
                    }
                }),
            ]
        })
    }

    proptest! {
        #[test]
        fn round_trip(dt in dtype(), req in prop_oneof![Just(1u8), Just(3), Just(5)]) {
            let b = dt.encode(req);
            prop_assert_eq!(dec(&b).unwrap(), dt);
        }
    }

    #[test]
    fn encode_ieee_f64_le() {
        let dt = Datatype::float(8, ByteOrder::Little);
        assert_eq!(
            dt.encode(1),
            [
                0x11, 0x20, 0x3f, 0, 8, 0, 0, 0, 0, 0, 0x40, 0, 0x34, 0x0b, 0, 0x34, 0xff, 3, 0, 0
            ]
        );
    }

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
