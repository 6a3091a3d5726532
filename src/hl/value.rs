//! Generic element values: any HDF5 element decoded into a tree of
//! [`Value`]s, variable-length data and references fetched from the global
//! heap ([`decode_value`]), and encoded back from one ([`encode_value`]).
//!
//! Element layouts (spec IV.A.2.d; variable-length data III.E; references
//! VIII.B, VIII.C), as [`encode_value`] writes them:
//!
//! ```text
//! integer, float, enum   size bytes in the (base) type's byte order
//! bitfield               the value's low size bytes, in the type's order
//! fixed string           size bytes (padding included)
//! opaque, time           the bytes as they are
//! compound               each member at its offset; bytes between them zero
//! array                  base elements in C order
//! vlen, vlen string      length (4) | heap collection address (O) | index (4)
//! object reference (old) header address (8)
//! revised reference      type (1) | flags (1) | inline block, zero-padded,
//!                        or block size (4) | heap address (O) | index (4)
//! complex                real part | imaginary part
//! ```

use std::cell::Cell;

use super::file::File;
use super::types::{VlenSink, encode_fixed_string, encode_number, encode_object_ref, put_vlen};
use crate::array::convert::{Number, describe, number};
use crate::error::{Error, Result};
use crate::format::cursor::{Cursor, le_uint};
use crate::format::datatype::{ByteOrder, Datatype, ReferenceKind};
use crate::format::reference::StoredReference;
pub use crate::format::reference::{Reference, ReferenceType, RegionSelection};

/// One decoded element of any type.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A signed integer (also enumeration values of a signed base).
    Int(i64),
    /// An unsigned integer (also bitfields and unsigned enumerations).
    UInt(u64),
    /// A float widened to f64.
    Float(f64),
    /// A fixed-length string: the stored bytes, padding included.
    FixedString(Vec<u8>),
    /// A variable-length string.
    String(Vec<u8>),
    /// Opaque bytes.
    Opaque(Vec<u8>),
    /// A compound record: (member name, value) in stored order.
    Compound(Vec<(String, Value)>),
    /// A fixed-size array's elements in C order.
    Array(Vec<Value>),
    /// A variable-length sequence.
    Sequence(Vec<Value>),
    /// An object reference: the referenced header's address (`None` null).
    ObjectRef(Option<u64>),
    /// A region reference: the referenced dataset's header address.
    RegionRef(Option<u64>),
    /// A revised reference that the two variants above cannot hold: one
    /// naming an attribute, or an object in another file. (Revised object
    /// and region references to this file read as [`Value::ObjectRef`] and
    /// [`Value::RegionRef`], null ones as `ObjectRef(None)`;
    /// [`decode_reference`] gives any reference in full.)
    Reference(Reference),
    /// A complex number (real, imaginary).
    Complex(f64, f64),
}

impl Value {
    /// The value as text when it is a string (padding removed for fixed
    /// strings per NUL termination).
    pub fn as_str(&self) -> Option<String> {
        match self {
            Value::String(b) => Some(String::from_utf8_lossy(b).into_owned()),
            Value::FixedString(b) => {
                let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
                Some(String::from_utf8_lossy(&b[..end]).into_owned())
            }
            _ => None,
        }
    }
}

/// Decodes one element of type `dt` from `bytes` (exactly `dt.size()`).
///
/// # Errors
/// `Format` when variable-length data cannot be found.
pub fn decode_value(file: &File, dt: &Datatype, bytes: &[u8]) -> Result<Value> {
    with_vlen_budget(file.limits().max_vlen_bytes, || decode(file, dt, bytes, 0))
}

fn decode(file: &File, dt: &Datatype, bytes: &[u8], depth: u32) -> Result<Value> {
    if depth > 32 {
        return Err(Error::limit("values nested deeper than 32"));
    }
    if bytes.len() < dt.size() {
        return Err(Error::format_noaddr("element shorter than its datatype"));
    }
    Ok(match dt {
        Datatype::Integer { .. }
        | Datatype::Float { .. }
        | Datatype::Enum { .. }
        | Datatype::Bitfield { .. } => match number(dt, bytes)? {
            Number::Int(v) => Value::Int(v),
            Number::UInt(v) => Value::UInt(v),
            Number::Float(v) => Value::Float(v),
        },
        Datatype::Time { .. } | Datatype::Opaque { .. } => {
            Value::Opaque(bytes[..dt.size()].to_vec())
        }
        Datatype::String { size, .. } => Value::FixedString(bytes[..*size as usize].to_vec()),
        Datatype::Compound { members, .. } => {
            let mut out = Vec::with_capacity(members.len());
            for m in members {
                let s = m.offset as usize;
                let part = s
                    .checked_add(m.dtype.size())
                    .and_then(|e| bytes.get(s..e))
                    .ok_or_else(|| Error::format_noaddr("compound member out of range"))?;
                out.push((m.name.clone(), decode(file, &m.dtype, part, depth + 1)?));
            }
            Value::Compound(out)
        }
        Datatype::Array { base, .. } => {
            let es = base.size().max(1);
            let n = dt.size() / es;
            let mut out = Vec::with_capacity(n);
            for e in bytes[..n * es].chunks_exact(es) {
                out.push(decode(file, base, e, depth + 1)?);
            }
            Value::Array(out)
        }
        Datatype::VarLenString { .. } => Value::String(vlen_bytes(file, bytes, 1)?.to_vec()),
        Datatype::VarLen { base, .. } => {
            let es = base.size();
            let data = vlen_bytes(file, bytes, es)?;
            // each element becomes a `Value`, larger than its bytes
            if let Some(n) = data.len().checked_div(es) {
                charge_vlen((n * std::mem::size_of::<Value>()) as u64, 0)?;
            }
            let mut out = Vec::new();
            if es > 0 {
                for e in data.chunks_exact(es) {
                    out.push(decode(file, base, e, depth + 1)?);
                }
            }
            Value::Sequence(out)
        }
        Datatype::Reference { kind, .. } => {
            let sizes = file.inner.ctx().sizes;
            match kind {
                ReferenceKind::Object => {
                    let a = le_uint(&bytes[..(sizes.offset as usize).min(bytes.len())]);
                    Value::ObjectRef(if a == 0 || a == sizes.undefined_address() {
                        None
                    } else {
                        Some(a)
                    })
                }
                ReferenceKind::Region => {
                    let mut c = Cursor::new(bytes, 0, sizes);
                    let heap = c.address_field()?;
                    let index = c.u32()?;
                    match heap {
                        Some(h) if h != 0 => {
                            let obj = file.global_heap_object(h, index)?;
                            let a = le_uint(obj.get(..sizes.offset as usize).unwrap_or(&[]));
                            Value::RegionRef(Some(a))
                        }
                        _ => Value::RegionRef(None),
                    }
                }
                ReferenceKind::Revised => match revised(file, &bytes[..dt.size()])? {
                    None => Value::ObjectRef(None),
                    Some(r) if r.external_file.is_none() && r.kind == ReferenceType::Object => {
                        Value::ObjectRef(r.address())
                    }
                    Some(r) if r.external_file.is_none() && r.kind == ReferenceType::Region => {
                        Value::RegionRef(r.address())
                    }
                    Some(r) => Value::Reference(r),
                },
            }
        }
        Datatype::Complex { base, .. } => {
            let h = base.size();
            let (Some(re), Some(im)) = (
                bytes.get(..h),
                h.checked_mul(2).and_then(|e| bytes.get(h..e)),
            ) else {
                return Err(Error::format_noaddr(
                    "complex element shorter than its two parts",
                ));
            };
            let re = number(base, re)?;
            let im = number(base, im)?;
            let f = |n: Number| match n {
                Number::Float(v) => v,
                Number::Int(v) => v as f64,
                Number::UInt(v) => v as f64,
            };
            Value::Complex(f(re), f(im))
        }
    })
}

/// Appends `v` encoded as one element of `dt` (`dt.size()` bytes) to
/// `out`, variable-length parts stored through `heap`: the inverse of
/// [`decode_value`] (decoding the result gives `v` back, and for values
/// [`decode_value`] made, the bytes it read).
///
/// Numbers go into integer, float and enumeration types (converted as
/// libhdf5 converts: see [`super::types`]); compound members are matched by
/// name, every member of `dt` must be present; a fixed-length string takes
/// its stored bytes ([`Value::FixedString`], exactly its size) or text
/// ([`Value::String`], padded). Object references go into both reference
/// encodings; revised references to attributes or other files into
/// revised types through the heap.
///
/// # Errors
/// `Usage` when `v` does not match `dt` (kind, member names, array length,
/// string length); `Unsupported` for region references (their selections
/// are not written) and float layouts the encoder does not know.
pub fn encode_value(
    dt: &Datatype,
    v: &Value,
    heap: &mut dyn VlenSink,
    out: &mut Vec<u8>,
) -> Result<()> {
    encode(dt, v, heap, out, 0)
}

fn mismatch(dt: &Datatype, v: &Value) -> Error {
    Error::usage(format!(
        "cannot write {} as {}",
        value_kind(v),
        describe(dt)
    ))
}

fn value_kind(v: &Value) -> &'static str {
    match v {
        Value::Int(_) | Value::UInt(_) | Value::Float(_) => "a number",
        Value::FixedString(_) => "a fixed-length string value",
        Value::String(_) => "a string value",
        Value::Opaque(_) => "opaque bytes",
        Value::Compound(_) => "a compound value",
        Value::Array(_) => "an array value",
        Value::Sequence(_) => "a sequence value",
        Value::ObjectRef(_) => "an object reference",
        Value::RegionRef(_) => "a region reference",
        Value::Reference(_) => "a reference",
        Value::Complex(..) => "a complex value",
    }
}

fn as_number(v: &Value) -> Option<Number> {
    match v {
        Value::Int(i) => Some(Number::Int(*i)),
        Value::UInt(u) => Some(Number::UInt(*u)),
        Value::Float(f) => Some(Number::Float(*f)),
        _ => None,
    }
}

fn encode(
    dt: &Datatype,
    v: &Value,
    heap: &mut dyn VlenSink,
    out: &mut Vec<u8>,
    depth: u32,
) -> Result<()> {
    if depth > 32 {
        return Err(Error::limit("values nested deeper than 32"));
    }
    let start = out.len();
    match (dt, v) {
        (Datatype::Integer { .. } | Datatype::Float { .. }, _) => {
            let n = as_number(v).ok_or_else(|| mismatch(dt, v))?;
            encode_number(dt, n, out)?;
        }
        (Datatype::Enum { base, .. }, _) => {
            let n = as_number(v).ok_or_else(|| mismatch(dt, v))?;
            encode_number(base, n, out)?;
        }
        (Datatype::Bitfield { size, order }, Value::UInt(u)) => {
            let n = *size as usize;
            let le = u.to_le_bytes();
            let mut b: Vec<u8> = le
                .iter()
                .copied()
                .chain(std::iter::repeat(0))
                .take(n)
                .collect();
            if *order == ByteOrder::Big {
                b.reverse();
            }
            out.extend_from_slice(&b);
        }
        (Datatype::Time { .. } | Datatype::Opaque { .. }, Value::Opaque(b))
        | (Datatype::String { .. }, Value::FixedString(b)) => {
            if b.len() != dt.size() {
                return Err(Error::usage(format!(
                    "{} bytes for a {}-byte {}",
                    b.len(),
                    dt.size(),
                    describe(dt)
                )));
            }
            out.extend_from_slice(b);
        }
        (Datatype::String { size, pad, .. }, Value::String(b)) => {
            encode_fixed_string(b, *size, *pad, out)?;
        }
        (Datatype::Compound { size, members }, Value::Compound(fields)) => {
            if let Some((name, _)) = fields
                .iter()
                .find(|(n, _)| !members.iter().any(|m| &m.name == n))
            {
                return Err(Error::usage(format!(
                    "the compound type has no member {name:?}"
                )));
            }
            out.resize(start + *size as usize, 0);
            let mut part = Vec::new();
            for m in members {
                let (_, fv) = fields.iter().find(|(n, _)| *n == m.name).ok_or_else(|| {
                    Error::usage(format!("the compound value has no member {:?}", m.name))
                })?;
                part.clear();
                encode(&m.dtype, fv, heap, &mut part, depth + 1)?;
                let dst = (start + m.offset as usize)
                    .checked_add(part.len())
                    .and_then(|e| out.get_mut(start + m.offset as usize..e))
                    .ok_or_else(|| Error::usage("compound member past its element"))?;
                dst.copy_from_slice(&part);
            }
        }
        (Datatype::Array { base, .. }, Value::Array(items)) => {
            let n = dt.size() / base.size().max(1);
            if items.len() != n {
                return Err(Error::usage(format!(
                    "{} values for an array type of {n} elements",
                    items.len()
                )));
            }
            for it in items {
                encode(base, it, heap, out, depth + 1)?;
            }
        }
        (Datatype::VarLenString { .. }, Value::String(b)) => {
            put_vlen(heap, dt, b.len(), b, out)?;
        }
        (Datatype::VarLen { .. }, Value::Sequence(items)) if items.is_empty() => {
            // a null heap ID, as libhdf5 writes empty sequences
            out.resize(start + dt.size(), 0);
        }
        (Datatype::VarLen { base, .. }, Value::Sequence(items)) => {
            let mut data = Vec::with_capacity(items.len().saturating_mul(base.size()));
            for it in items {
                encode(base, it, heap, &mut data, depth + 1)?;
            }
            put_vlen(heap, dt, items.len(), &data, out)?;
        }
        (
            Datatype::Reference {
                kind: ReferenceKind::Object | ReferenceKind::Revised,
                ..
            },
            Value::ObjectRef(a),
        ) => encode_object_ref(dt, *a, out)?,
        (Datatype::Reference { size, .. }, Value::RegionRef(None)) => {
            out.resize(start + *size as usize, 0);
        }
        (
            Datatype::Reference {
                kind: ReferenceKind::Revised,
                ..
            },
            Value::Reference(r),
        ) => encode_revised_in_heap(dt, r, heap, out)?,
        (Datatype::Reference { .. }, Value::RegionRef(Some(_)) | Value::Reference(_)) => {
            return Err(Error::unsupported(
                "writing region references (or references not held in a revised reference type)",
            ));
        }
        (Datatype::Complex { base, .. }, Value::Complex(re, im)) => {
            encode_number(base, Number::Float(*re), out)?;
            encode_number(base, Number::Float(*im), out)?;
        }
        _ => return Err(mismatch(dt, v)),
    }
    if out.len() - start != dt.size() {
        return Err(Error::usage(format!(
            "a {}-byte encoding for a {}-byte {}",
            out.len() - start,
            dt.size(),
            describe(dt)
        )));
    }
    Ok(())
}

/// A revised reference stored in the global heap: the header in the
/// element, then the block's size and heap ID (the same layout as a
/// variable-length element, so the sink stores it), zeros to the element
/// size. Region references are refused: their selections are not encoded.
fn encode_revised_in_heap(
    dt: &Datatype,
    r: &Reference,
    heap: &mut dyn VlenSink,
    out: &mut Vec<u8>,
) -> Result<()> {
    let code = match r.kind {
        ReferenceType::Object => 2u8,
        ReferenceType::Attribute => 4,
        ReferenceType::Region => {
            return Err(Error::unsupported("writing region references"));
        }
    };
    let name = |s: &str, block: &mut Vec<u8>| -> Result<()> {
        let n = u16::try_from(s.len())
            .map_err(|_| Error::usage("a reference name longer than 65535 bytes"))?;
        block.extend_from_slice(&n.to_le_bytes());
        block.extend_from_slice(s.as_bytes());
        Ok(())
    };
    let tn = u8::try_from(r.token.len()).map_err(|_| Error::usage("a token over 255 bytes"))?;
    let mut block = vec![tn];
    block.extend_from_slice(&r.token);
    if let Some(f) = &r.external_file {
        name(f, &mut block)?;
    }
    if r.kind == ReferenceType::Attribute {
        name(r.attribute.as_deref().unwrap_or(""), &mut block)?;
    }
    if r.kind == ReferenceType::Object && r.external_file.is_none() {
        // an object of this file is stored inline
        return encode_object_ref(dt, r.address(), out);
    }
    let start = out.len();
    out.push(code);
    out.push(u8::from(r.external_file.is_some()));
    let len =
        u32::try_from(block.len()).map_err(|_| Error::usage("a reference block over 4 GiB"))?;
    let elem = heap.put(len, &block)?;
    out.extend_from_slice(&elem);
    if out.len() - start > dt.size() {
        return Err(Error::usage(format!(
            "a {}-byte reference for a {}-byte reference type",
            out.len() - start,
            dt.size()
        )));
    }
    out.resize(start + dt.size(), 0);
    Ok(())
}

/// Decodes one element of the reference type `dt` in full: what it names,
/// the object's address, and for the revised forms the external file, the
/// region's selection or the attribute's name. `None` for a null reference.
///
/// # Errors
/// `Usage` when `dt` is not a reference type; `Format` when the element or
/// the global heap object it points at is malformed.
pub fn decode_reference(file: &File, dt: &Datatype, bytes: &[u8]) -> Result<Option<Reference>> {
    let Datatype::Reference { kind, size } = dt else {
        return Err(Error::usage(format!(
            "decode_reference on a {} element",
            dt.canonical()
        )));
    };
    let bytes = bytes
        .get(..*size as usize)
        .ok_or_else(|| Error::format_noaddr("element shorter than its datatype"))?;
    let sizes = file.inner.ctx().sizes;
    match kind {
        ReferenceKind::Object => {
            let a = le_uint(bytes.get(..sizes.offset as usize).unwrap_or(bytes));
            Ok((a != 0 && a != sizes.undefined_address()).then(|| Reference::object_v1(a, sizes)))
        }
        ReferenceKind::Region => {
            let mut c = Cursor::new(bytes, 0, sizes);
            let heap = c.address_field()?;
            let index = c.u32()?;
            match heap {
                Some(h) if h != 0 => {
                    let obj = file.global_heap_object(h, index)?;
                    Reference::decode_region_v1(obj, h, sizes).map(Some)
                }
                _ => Ok(None),
            }
        }
        ReferenceKind::Revised => revised(file, bytes),
    }
}

/// A revised reference element, its block fetched from the global heap
/// when it is not inline.
fn revised(file: &File, bytes: &[u8]) -> Result<Option<Reference>> {
    let sizes = file.inner.ctx().sizes;
    match StoredReference::decode(bytes, 0, sizes)? {
        StoredReference::Null => Ok(None),
        StoredReference::Inline(r) => Ok(Some(r)),
        StoredReference::InHeap {
            kind,
            external,
            size,
            heap,
            index,
        } => {
            let obj = file.global_heap_object(heap, index)?;
            let block = obj.get(..size as usize).ok_or_else(|| {
                Error::format(
                    format!(
                        "reference block of {size} bytes in a {}-byte global heap object {index}",
                        obj.len()
                    ),
                    heap,
                )
            })?;
            // the object's own address, for errors (it lies inside the file)
            let ctx = file.inner.ctx();
            let at = (obj.as_ptr() as usize)
                .checked_sub(ctx.data.as_ptr() as usize)
                .and_then(|p| (p as u64).checked_sub(ctx.base))
                .unwrap_or(heap);
            Reference::decode_block(kind, external, block, at, sizes).map(Some)
        }
    }
}

thread_local! {
    /// Bytes the variable-length data of the decode running on this
    /// thread may still produce (`None`: no decode is being counted).
    static VLEN_LEFT: Cell<Option<u64>> = const { Cell::new(None) };
}

/// Runs `f` with the variable-length data it decodes on this thread
/// bounded to `limit` bytes in all ([`Limits::max_vlen_bytes`]): many
/// elements pointing at one large heap object would otherwise let a small
/// file expand without bound. Nested calls share the outermost budget.
///
/// [`Limits::max_vlen_bytes`]: crate::Limits::max_vlen_bytes
pub fn with_vlen_budget<R>(limit: u64, f: impl FnOnce() -> R) -> R {
    struct Reset(bool);
    impl Drop for Reset {
        fn drop(&mut self) {
            if self.0 {
                VLEN_LEFT.with(|b| b.set(None));
            }
        }
    }
    let outer = VLEN_LEFT.with(|b| {
        if b.get().is_some() {
            false
        } else {
            b.set(Some(limit));
            true
        }
    });
    let _reset = Reset(outer);
    f()
}

/// Takes `n` bytes from the running decode's budget.
fn charge_vlen(n: u64, addr: u64) -> Result<()> {
    VLEN_LEFT.with(|b| match b.get() {
        Some(left) if n > left => Err(Error::limit(format!(
            "variable-length data at {addr:#x} would take the values read past the \
             limit of their total size (Limits::max_vlen_bytes)"
        ))),
        Some(left) => {
            b.set(Some(left - n));
            Ok(())
        }
        None => Ok(()),
    })
}

/// The heap bytes of a variable-length element (length, collection
/// address, object index); `elem` is the base element size. Counted
/// against the running [`with_vlen_budget`].
pub(crate) fn vlen_bytes<'f>(file: &'f File, bytes: &[u8], elem: usize) -> Result<&'f [u8]> {
    let sizes = file.inner.ctx().sizes;
    let mut c = Cursor::new(bytes, 0, sizes);
    let len = c.u32()? as usize;
    let addr = c.address_field()?;
    let index = c.u32()?;
    if len == 0 {
        return Ok(&[]);
    }
    let Some(addr) = addr.filter(|&a| a != 0) else {
        return Ok(&[]);
    };
    let obj = file.global_heap_object(addr, index)?;
    let need = len
        .checked_mul(elem)
        .ok_or_else(|| Error::format("variable-length size overflows", addr))?;
    charge_vlen(need as u64, addr)?;
    obj.get(..need).ok_or_else(|| {
        Error::format(
            format!(
                "variable-length element of {need} bytes in a {}-byte heap object",
                obj.len()
            ),
            addr,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::datatype::{CharSet, CompoundMember, StringPad};
    use crate::hl::object::Object;
    use crate::hl::types::test_heap::HeapImage;
    use std::collections::VecDeque;

    /// One variable-length part of an element as the file stores it: the
    /// length, the heap object's bytes, and the element bytes naming it.
    struct Stored {
        len: u32,
        data: Vec<u8>,
        elem: Vec<u8>,
    }

    /// A sink that hands back the original element bytes of each part, in
    /// the order the encoder stores them, after checking it stores the
    /// same length and bytes.
    struct Replay(VecDeque<Stored>);

    impl VlenSink for Replay {
        fn put(&mut self, len: u32, bytes: &[u8]) -> Result<Vec<u8>> {
            let s = self.0.pop_front().expect("an unexpected heap object");
            assert_eq!(len, s.len);
            assert_eq!(bytes, s.data.as_slice());
            Ok(s.elem)
        }
    }

    /// The variable-length parts of an element of `dt`, in the encoder's
    /// order: members, then array elements in order, a sequence's elements
    /// before the sequence.
    fn parts(file: &File, dt: &Datatype, bytes: &[u8], acc: &mut VecDeque<Stored>) {
        let sizes = file.inner.ctx().sizes;
        let id = 4 + sizes.offset as usize + 4;
        match dt {
            Datatype::Compound { members, .. } => {
                for m in members {
                    let o = m.offset as usize;
                    parts(file, &m.dtype, &bytes[o..o + m.dtype.size()], acc);
                }
            }
            Datatype::Array { base, .. } => {
                for e in bytes[..dt.size()].chunks_exact(base.size()) {
                    parts(file, base, e, acc);
                }
            }
            Datatype::VarLenString { .. } => {
                let data = vlen_bytes(file, bytes, 1).unwrap().to_vec();
                acc.push_back(Stored {
                    len: data.len() as u32,
                    data,
                    elem: bytes[..id].to_vec(),
                });
            }
            Datatype::VarLen { base, .. } => {
                let data = vlen_bytes(file, bytes, base.size()).unwrap().to_vec();
                for e in data.chunks_exact(base.size()) {
                    parts(file, base, e, acc);
                }
                // empty sequences are written as null heap IDs, not stored
                if data.is_empty() {
                    return;
                }
                acc.push_back(Stored {
                    len: u32::from_le_bytes(bytes[..4].try_into().unwrap()),
                    data,
                    elem: bytes[..id].to_vec(),
                });
            }
            Datatype::Reference {
                kind: ReferenceKind::Revised,
                ..
            } => {
                if let StoredReference::InHeap {
                    size, heap, index, ..
                } = StoredReference::decode(bytes, 0, sizes).unwrap()
                {
                    let data =
                        file.global_heap_object(heap, index).unwrap()[..size as usize].to_vec();
                    acc.push_back(Stored {
                        len: size,
                        data,
                        elem: bytes[2..2 + id].to_vec(),
                    });
                }
            }
            _ => {}
        }
    }

    /// Marks the bytes of an element `e` of `dt` (at `at` in `used`) that
    /// belong to a member; for inline revised references, only header and
    /// block (libhdf5 leaves the bytes after them as its buffer held them).
    fn covered(dt: &Datatype, e: &[u8], at: usize, used: &mut [bool]) {
        match dt {
            Datatype::Compound { members, .. } => {
                for m in members {
                    covered(&m.dtype, e, at + m.offset as usize, used);
                }
            }
            Datatype::Array { base, .. } => {
                for i in 0..dt.size() / base.size().max(1) {
                    covered(base, e, at + i * base.size(), used);
                }
            }
            Datatype::Reference {
                kind: ReferenceKind::Revised,
                size,
            } if e[at] == 2 && e[at + 1] & 1 == 0 => {
                let n = (3 + e[at + 2] as usize).min(*size as usize);
                used[at..at + n].fill(true);
            }
            _ => used[at..at + dt.size()].fill(true),
        }
    }

    /// True when `dt` holds floats more precise than f64 (long doubles),
    /// whose values [`Value::Float`] rounds.
    fn finer_than_f64(dt: &Datatype) -> bool {
        match dt {
            Datatype::Float { layout, .. } => layout.mant_size > 52,
            Datatype::Compound { members, .. } => members.iter().any(|m| finer_than_f64(&m.dtype)),
            Datatype::Array { base, .. }
            | Datatype::VarLen { base, .. }
            | Datatype::Complex { base, .. } => finer_than_f64(base),
            _ => false,
        }
    }

    /// decode_value then encode_value gives back each element's bytes;
    /// returns how many elements were checked and the region references
    /// (which are not written) met.
    fn check(file: &File, what: &str, dt: &Datatype, raw: &[u8]) -> (usize, usize) {
        let es = dt.size();
        let (mut n, mut regions) = (0, 0);
        if finer_than_f64(dt) {
            return (0, 0);
        }
        // the first elements of each: enough for every kind of value
        for e in raw.chunks_exact(es.max(1)).take(4096) {
            let v = decode_value(file, dt, e).unwrap();
            let mut acc = VecDeque::new();
            parts(file, dt, e, &mut acc);
            let mut sink = Replay(acc);
            let mut out = Vec::new();
            match encode_value(dt, &v, &mut sink, &mut out) {
                Err(Error::Unsupported(m)) if m.contains("region") => {
                    regions += 1;
                    continue;
                }
                r => r.unwrap_or_else(|err| panic!("{what}: {err} ({v:?})")),
            }
            // bytes between compound members hold whatever the writer's
            // memory held (C programs leave them uninitialised): compare
            // the members' bytes, and expect zeros between them
            let mut used = vec![false; es];
            covered(dt, e, 0, &mut used);
            let pick = |b: &[u8], keep: bool| -> Vec<u8> {
                b.iter()
                    .zip(&used)
                    .map(|(&x, &u)| if u == keep { x } else { 0 })
                    .collect()
            };
            assert_eq!(
                pick(&out, true),
                pick(e, true),
                "{what} {}: {v:?}",
                dt.canonical()
            );
            assert!(pick(&out, false).iter().all(|&b| b == 0));
            assert!(sink.0.is_empty(), "{what}: heap objects left over");
            n += 1;
        }
        (n, regions)
    }

    /// The fixtures and test data files, then the readable files of the shared corpus when it
    /// is there (`$H5RS_SHARED/corpus`, by default next to the crate).
    fn sample_files() -> Vec<std::path::PathBuf> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut names = Vec::new();
        for dir in ["fixtures", "tests/data"] {
            let mut here: Vec<_> = std::fs::read_dir(root.join(dir))
                .unwrap()
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "h5"))
                .collect();
            here.sort();
            names.extend(here);
        }
        let shared = std::env::var_os("H5RS_SHARED")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| root.join("../shared"));
        let corpus = shared.join("corpus");
        if let Ok(m) = std::fs::read_to_string(corpus.join("MANIFEST.tsv")) {
            for line in m.lines().skip(1) {
                let cols: Vec<&str> = line.split('\t').collect();
                if cols.len() > 5 && cols[5] == "yes" && !cols[0].starts_with("_bad") {
                    names.push(corpus.join(cols[0]));
                }
            }
        }
        names
    }

    /// Every dataset and attribute of the sample files re-encodes to its
    /// bytes (datasets up to 8 MiB), but for region references, which are
    /// not written, and long doubles, which decode to the nearest f64.
    #[test]
    fn decode_then_encode_gives_the_same_bytes() {
        let (mut total, mut regions) = (0, 0);
        let mut types = std::collections::HashSet::new();
        for path in sample_files() {
            let Ok(file) = File::open(&path) else {
                continue;
            };
            let Ok(root) = file.root() else { continue };
            let mut objects = vec![("/".to_string(), Object::Group(root.clone()))];
            let _ = root.visit_items(|p, o| {
                objects.push((p.to_string(), o.clone()));
                None::<()>
            });
            for (p, o) in objects {
                let what = format!("{}:{p}", path.display());
                let attrs = match &o {
                    Object::Group(g) => g.attrs(),
                    Object::Dataset(d) => d.attrs(),
                    Object::Datatype(t) => t.attrs(),
                };
                for a in attrs.unwrap_or_default() {
                    let (n, r) = check(&file, &format!("{what}@{}", a.name()), a.dtype(), a.raw());
                    total += n;
                    regions += r;
                    types.insert(a.dtype().canonical());
                }
                if let Object::Dataset(d) = &o {
                    if d.size().saturating_mul(d.dtype().size()) > 8 << 20 {
                        continue;
                    }
                    let Ok(raw) = d.read_raw() else { continue };
                    let (n, r) = check(&file, &what, d.dtype(), &raw);
                    total += n;
                    regions += r;
                    types.insert(d.dtype().canonical());
                }
            }
        }
        eprintln!(
            "{total} elements, {regions} region references, {} types",
            types.len()
        );
        assert!(total > 1000, "{total} elements");
        assert!(types.len() > 40, "{} types", types.len());
    }

    fn heap() -> HeapImage {
        HeapImage::new(Vec::new(), crate::format::Sizes::DEFAULT)
    }

    #[test]
    fn compound_members_by_name() {
        let dt = Datatype::Compound {
            size: 12,
            members: vec![
                CompoundMember {
                    name: "a".into(),
                    offset: 0,
                    dtype: Datatype::int(2, true, crate::format::datatype::ByteOrder::Big),
                },
                CompoundMember {
                    name: "b".into(),
                    offset: 4,
                    dtype: Datatype::float(8, crate::format::datatype::ByteOrder::Little),
                },
            ],
        };
        let v = Value::Compound(vec![
            ("b".into(), Value::Float(1.5)),
            ("a".into(), Value::Int(-2)),
        ]);
        let mut out = Vec::new();
        encode_value(&dt, &v, &mut heap(), &mut out).unwrap();
        let mut want = vec![0xff, 0xfe, 0, 0];
        want.extend(1.5f64.to_le_bytes());
        assert_eq!(out, want);
        let missing = Value::Compound(vec![("a".into(), Value::Int(1))]);
        assert!(encode_value(&dt, &missing, &mut heap(), &mut out).is_err());
        let extra = Value::Compound(vec![
            ("a".into(), Value::Int(1)),
            ("b".into(), Value::Float(1.0)),
            ("c".into(), Value::Int(1)),
        ]);
        assert!(encode_value(&dt, &extra, &mut heap(), &mut out).is_err());
    }

    #[test]
    fn mismatches_are_usage_errors() {
        let s = Datatype::String {
            size: 3,
            pad: StringPad::NullPad,
            cset: CharSet::Ascii,
        };
        let mut out = Vec::new();
        // stored bytes must be the exact size; text is padded
        assert!(
            encode_value(
                &s,
                &Value::FixedString(b"ab".to_vec()),
                &mut heap(),
                &mut out
            )
            .is_err()
        );
        encode_value(&s, &Value::String(b"ab".to_vec()), &mut heap(), &mut out).unwrap();
        assert_eq!(out, b"ab\0");
        assert!(matches!(
            encode_value(&s, &Value::Int(1), &mut heap(), &mut out),
            Err(Error::Usage(_))
        ));
        let arr = Datatype::Array {
            dims: vec![2],
            base: Box::new(Datatype::int(
                1,
                false,
                crate::format::datatype::ByteOrder::Little,
            )),
        };
        assert!(
            encode_value(
                &arr,
                &Value::Array(vec![Value::UInt(1)]),
                &mut heap(),
                &mut out
            )
            .is_err()
        );
        let region = Datatype::Reference {
            size: 12,
            kind: ReferenceKind::Region,
        };
        assert!(matches!(
            encode_value(&region, &Value::RegionRef(Some(8)), &mut heap(), &mut out),
            Err(Error::Unsupported(_))
        ));
        out.clear();
        encode_value(&region, &Value::RegionRef(None), &mut heap(), &mut out).unwrap();
        assert_eq!(out, [0; 12]);
    }
}
