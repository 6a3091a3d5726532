//! Generic element values: any HDF5 element decoded into a tree of
//! [`Value`]s, variable-length data and references fetched from the global
//! heap.

use super::file::File;
use crate::array::convert::{Number, number};
use crate::error::{Error, Result};
use crate::format::cursor::{Cursor, le_uint};
use crate::format::datatype::{Datatype, ReferenceKind};
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
    decode(file, dt, bytes, 0)
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

/// The heap bytes of a variable-length element (length, collection
/// address, object index); `elem` is the base element size.
fn vlen_bytes<'f>(file: &'f File, bytes: &[u8], elem: usize) -> Result<&'f [u8]> {
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
