//! Attributes: small named values attached to groups, datasets and
//! committed datatypes.

use ndarray::{ArrayD, IxDyn};

use super::file::File;
use super::types::H5Type;
use crate::error::{Error, Result};
use crate::format::attribute::RawAttribute;
use crate::format::cursor::Cursor;
use crate::format::dataspace::{Dataspace, SpaceKind};
use crate::format::datatype::Datatype;
use crate::format::object_header::{Message, msg};

/// An attribute, its value held in memory (attributes are small).
#[derive(Clone)]
pub struct Attribute {
    file: File,
    name: String,
    dtype: Datatype,
    space: Dataspace,
    data: Vec<u8>,
    pub(crate) creation_order: Option<u64>,
}

impl std::fmt::Debug for Attribute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attribute")
            .field("name", &self.name)
            .field("dtype", &self.dtype)
            .field("shape", &self.space.dims)
            .finish()
    }
}

fn shared_part(
    file: &File,
    kind: u16,
    bytes: &[u8],
    addr: u64,
    shared: bool,
) -> Result<(Vec<u8>, u64)> {
    if !shared {
        return Ok((bytes.to_vec(), addr));
    }
    let m = Message {
        kind,
        flags: crate::format::object_header::FLAG_SHARED,
        creation_order: None,
        addr,
        data: bytes.to_vec(),
    };
    super::object::resolve(file, &m)
}

impl Attribute {
    pub(crate) fn decode(
        file: &File,
        data: &[u8],
        addr: u64,
        order: Option<u64>,
    ) -> Result<Attribute> {
        let sizes = file.inner.ctx().sizes;
        let raw = RawAttribute::decode(&mut Cursor::new(data, addr, sizes))
            .map_err(|e| e.context("attribute message"))?;
        let (tb, ta) = shared_part(
            file,
            msg::DATATYPE,
            raw.dtype,
            raw.dtype_addr,
            raw.shared_type,
        )?;
        let dtype = Datatype::from_message(&tb, ta, sizes)?;
        let (sb, sa) = shared_part(
            file,
            msg::DATASPACE,
            raw.space,
            raw.space_addr,
            raw.shared_space,
        )?;
        let space = Dataspace::from_message(&sb, sa, sizes)?;
        let n = space
            .element_count()
            .and_then(|n| n.checked_mul(dtype.size() as u64))
            .ok_or_else(|| {
                Error::format(format!("attribute {:?}: size overflows", raw.name), addr)
            })?;
        if n > raw.data.len() as u64 {
            return Err(Error::format(
                format!(
                    "attribute {:?}: {} bytes of data, its dataspace needs {n}",
                    raw.name,
                    raw.data.len()
                ),
                addr,
            ));
        }
        Ok(Attribute {
            file: file.clone(),
            name: raw.name,
            dtype,
            space,
            data: raw.data[..n as usize].to_vec(),
            creation_order: order,
        })
    }

    /// The attribute's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The element type.
    pub fn dtype(&self) -> &Datatype {
        &self.dtype
    }

    /// The dataspace.
    pub fn space(&self) -> &Dataspace {
        &self.space
    }

    /// The shape (`[]` for scalar and null).
    pub fn shape(&self) -> Vec<usize> {
        self.space.dims.iter().map(|&d| d as usize).collect()
    }

    /// True for a null dataspace (no value at all, h5py's `Empty`).
    pub fn is_null(&self) -> bool {
        self.space.kind == SpaceKind::Null
    }

    /// The stored bytes of every element.
    pub fn raw(&self) -> &[u8] {
        &self.data
    }

    /// The file the attribute belongs to.
    pub fn file(&self) -> &File {
        &self.file
    }

    /// Every element as `T`, flattened in C order.
    ///
    /// # Errors
    /// `Usage` when the type does not convert to `T`.
    pub fn read_raw<T: H5Type>(&self) -> Result<Vec<T>> {
        crate::hl::value::with_vlen_budget(self.file.limits().max_vlen_bytes, || {
            T::decode_all(&self.file, &self.dtype, &self.data)
        })
    }

    /// The value as an N-d array.
    ///
    /// # Errors
    /// `Usage` when the type does not convert to `T` or the space is null.
    pub fn read_dyn<T: H5Type>(&self) -> Result<ArrayD<T>> {
        if self.is_null() {
            return Err(Error::usage(format!(
                "attribute {:?} is empty (null dataspace)",
                self.name
            )));
        }
        let v = self.read_raw::<T>()?;
        ArrayD::from_shape_vec(IxDyn(&self.shape()), v).map_err(|e| Error::usage(e.to_string()))
    }

    /// The value as an array of dimension `D`.
    ///
    /// # Errors
    /// `Usage` on a dimension mismatch or a type that does not convert.
    pub fn read<T: H5Type, D: ndarray::Dimension>(&self) -> Result<ndarray::Array<T, D>> {
        self.read_dyn::<T>()?
            .into_dimensionality::<D>()
            .map_err(|e| Error::usage(format!("attribute {:?}: {e}", self.name)))
    }

    /// The single value of a scalar (or one-element) attribute.
    ///
    /// # Errors
    /// `Usage` when the attribute holds other than one element.
    pub fn read_scalar<T: H5Type>(&self) -> Result<T> {
        let mut v = self.read_raw::<T>()?;
        if v.len() != 1 {
            return Err(Error::usage(format!(
                "attribute {:?} holds {} elements, not one",
                self.name,
                v.len()
            )));
        }
        v.pop().ok_or_else(|| Error::usage("empty attribute"))
    }
}

pub(crate) fn find(attrs: Vec<Attribute>, name: &str) -> Result<Attribute> {
    attrs
        .into_iter()
        .find(|a| a.name == name)
        .ok_or_else(|| Error::not_found(format!("no attribute {name:?}")))
}
