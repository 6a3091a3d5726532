//! The writing API: creating files, groups, datasets and attributes, and
//! writing data, with h5py's names and defaults.

use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;

use ndarray::{ArrayBase, Data, Dimension, SliceInfoElem};

use super::model::{Attr, ChunkedM, DatasetM, IndexChoice, Kind, LayoutM};
use super::{Format, Options, State, Writer};
use crate::array::selection::Selection;
use crate::error::{Error, Result};
use crate::format::dataspace::{Dataspace, SpaceKind};
use crate::format::datatype::Datatype;
use crate::format::fill_value::FillValue;
use crate::format::filter_pipeline::FilterInfo;
use crate::format::layout::{ChunkIndexKind, ChunkedLayout, Layout};
use crate::format::link::LinkTarget;
use crate::hl::dataset::Dataset;
use crate::hl::file::File;
use crate::hl::group::Group;
use crate::hl::object::ObjectData;
use crate::hl::types::H5Type;
use crate::limits::Limits;

/// Data that can be written: its elements in row-major order and its
/// shape (`[]` for a single value, stored as a scalar).
///
/// Implemented for slices, `Vec`s and arrays (1-D), ndarray arrays of any
/// dimension, and single numbers, `bool`s and strings (scalars).
pub trait WriteData {
    /// The element type.
    type Elem: H5Type + Clone;
    /// The shape.
    fn data_shape(&self) -> Vec<usize>;
    /// The elements, row-major.
    fn elements(&self) -> Cow<'_, [Self::Elem]>;
}

impl<T: H5Type + Clone> WriteData for [T] {
    type Elem = T;
    fn data_shape(&self) -> Vec<usize> {
        vec![self.len()]
    }
    fn elements(&self) -> Cow<'_, [T]> {
        Cow::Borrowed(self)
    }
}

impl<T: H5Type + Clone> WriteData for Vec<T> {
    type Elem = T;
    fn data_shape(&self) -> Vec<usize> {
        vec![self.len()]
    }
    fn elements(&self) -> Cow<'_, [T]> {
        Cow::Borrowed(self)
    }
}

impl<T: H5Type + Clone, const N: usize> WriteData for [T; N] {
    type Elem = T;
    fn data_shape(&self) -> Vec<usize> {
        vec![N]
    }
    fn elements(&self) -> Cow<'_, [T]> {
        Cow::Borrowed(self)
    }
}

impl<A: H5Type + Clone, S: Data<Elem = A>, D: Dimension> WriteData for ArrayBase<S, D> {
    type Elem = A;
    fn data_shape(&self) -> Vec<usize> {
        self.shape().to_vec()
    }
    fn elements(&self) -> Cow<'_, [A]> {
        match self.as_slice() {
            Some(s) => Cow::Borrowed(s),
            None => Cow::Owned(self.iter().cloned().collect()),
        }
    }
}

impl<W: WriteData + ?Sized> WriteData for &W {
    type Elem = W::Elem;
    fn data_shape(&self) -> Vec<usize> {
        (**self).data_shape()
    }
    fn elements(&self) -> Cow<'_, [W::Elem]> {
        (**self).elements()
    }
}

macro_rules! scalar_data {
    ($($t:ty),*) => {$(
        impl WriteData for $t {
            type Elem = $t;
            fn data_shape(&self) -> Vec<usize> {
                Vec::new()
            }
            fn elements(&self) -> Cow<'_, [$t]> {
                Cow::Borrowed(std::slice::from_ref(self))
            }
        }
    )*};
}

scalar_data!(i8, i16, i32, i64, u8, u16, u32, u64, f32, f64, bool, String);

impl WriteData for str {
    type Elem = String;
    fn data_shape(&self) -> Vec<usize> {
        Vec::new()
    }
    fn elements(&self) -> Cow<'_, [String]> {
        Cow::Owned(vec![self.to_string()])
    }
}

/// One value of any [`H5Type`] written as a scalar (for types that have
/// no scalar [`WriteData`] of their own, such as derived compounds).
#[derive(Debug, Clone, PartialEq)]
pub struct Scalar<T>(pub T);

impl<T: H5Type + Clone> WriteData for Scalar<T> {
    type Elem = T;
    fn data_shape(&self) -> Vec<usize> {
        Vec::new()
    }
    fn elements(&self) -> Cow<'_, [T]> {
        Cow::Borrowed(std::slice::from_ref(&self.0))
    }
}

/// Things that give a dataset shape: a number (1-D), tuples and arrays of
/// numbers, `Vec<usize>` and slices.
pub trait IntoShape {
    /// The dimensions.
    fn into_dims(self) -> Vec<u64>;
}

impl IntoShape for usize {
    fn into_dims(self) -> Vec<u64> {
        vec![self as u64]
    }
}
impl IntoShape for () {
    fn into_dims(self) -> Vec<u64> {
        Vec::new()
    }
}
impl IntoShape for Vec<usize> {
    fn into_dims(self) -> Vec<u64> {
        self.into_iter().map(|d| d as u64).collect()
    }
}
impl IntoShape for &[usize] {
    fn into_dims(self) -> Vec<u64> {
        self.iter().map(|&d| d as u64).collect()
    }
}
impl<const N: usize> IntoShape for [usize; N] {
    fn into_dims(self) -> Vec<u64> {
        self.iter().map(|&d| d as u64).collect()
    }
}

/// One dimension of a maximum shape: a number or `None` (unlimited).
pub trait MaxDim {
    /// `None` when unlimited.
    fn max_dim(self) -> Option<u64>;
}
impl MaxDim for usize {
    fn max_dim(self) -> Option<u64> {
        Some(self as u64)
    }
}
impl MaxDim for Option<usize> {
    fn max_dim(self) -> Option<u64> {
        self.map(|d| d as u64)
    }
}

/// Things that give a maximum shape: `(None, 10)`, `[None]`,
/// `vec![Some(5), None]`, `None` (1-D unlimited), a number.
pub trait IntoMaxShape {
    /// The maximum dimensions, `None` for unlimited.
    fn into_max_dims(self) -> Vec<Option<u64>>;
}
impl<M: MaxDim> IntoMaxShape for M {
    fn into_max_dims(self) -> Vec<Option<u64>> {
        vec![self.max_dim()]
    }
}
impl<M: MaxDim> IntoMaxShape for Vec<M> {
    fn into_max_dims(self) -> Vec<Option<u64>> {
        self.into_iter().map(MaxDim::max_dim).collect()
    }
}
impl<M: MaxDim, const N: usize> IntoMaxShape for [M; N] {
    fn into_max_dims(self) -> Vec<Option<u64>> {
        self.into_iter().map(MaxDim::max_dim).collect()
    }
}

macro_rules! tuple_max {
    ($($n:ident),+) => {
        #[allow(non_snake_case)]
        impl<$($n: MaxDim),+> IntoMaxShape for ($($n,)+) {
            fn into_max_dims(self) -> Vec<Option<u64>> {
                let ($($n,)+) = self;
                vec![$($n.max_dim()),+]
            }
        }
    };
}

/// Tuples of `usize` shapes (the `Into<u64>` bound needs a concrete type).
macro_rules! usize_tuple_shape {
    ($($n:ident),+) => {
        #[allow(non_snake_case, unused_parens)]
        impl IntoShape for ($(usize_alias!($n),)+) {
            fn into_dims(self) -> Vec<u64> {
                let ($($n,)+) = self;
                vec![$($n as u64),+]
            }
        }
    };
}
macro_rules! usize_alias {
    ($n:ident) => {
        usize
    };
}
usize_tuple_shape!(A);
usize_tuple_shape!(A, B);
usize_tuple_shape!(A, B, C);
usize_tuple_shape!(A, B, C, D);
usize_tuple_shape!(A, B, C, D, E);
usize_tuple_shape!(A, B, C, D, E, F);
tuple_max!(A, B);
tuple_max!(A, B, C);
tuple_max!(A, B, C, D);
tuple_max!(A, B, C, D, E);
tuple_max!(A, B, C, D, E, F);

/// h5py's automatic chunk shape (`guess_chunk`): starting from the
/// dataset's shape (unlimited or zero-length dimensions counted as 1024),
/// halve each dimension in turn until a chunk is near a target size that
/// grows with the dataset, between 8 KiB and 1 MiB.
pub fn guess_chunk(shape: &[u64], typesize: usize) -> Vec<u64> {
    const BASE: f64 = 16.0 * 1024.0;
    const MIN: f64 = 8.0 * 1024.0;
    const MAX: f64 = 1024.0 * 1024.0;
    if shape.is_empty() {
        return Vec::new();
    }
    let mut chunks: Vec<f64> = shape
        .iter()
        .map(|&d| if d == 0 { 1024.0 } else { d as f64 })
        .collect();
    let ts = typesize.max(1) as f64;
    let dset = chunks.iter().product::<f64>() * ts;
    let target = (BASE * 2f64.powf((dset / (1024.0 * 1024.0)).log10())).clamp(MIN, MAX);
    let n = chunks.len();
    let mut idx = 0usize;
    loop {
        let elems: f64 = chunks.iter().product();
        let bytes = elems * ts;
        if (bytes < target || (bytes - target).abs() / target < 0.5) && bytes < MAX {
            break;
        }
        if elems <= 1.0 {
            break;
        }
        let i = idx % n;
        chunks[i] = (chunks[i] / 2.0).ceil();
        idx += 1;
    }
    chunks.into_iter().map(|c| c as u64).collect()
}

/// The chunk index libhdf5 gives a new chunked dataset: a version 1
/// B-tree in the earliest format; in the latest, no index for a single
/// chunk of fixed size, a fixed array when no dimension is unlimited, an
/// extensible array for one unlimited dimension, else a version 2 B-tree.
pub(crate) fn choose_index(
    latest: bool,
    shape: &[u64],
    max: &[Option<u64>],
    chunks: &[u64],
) -> IndexChoice {
    let unlimited = max.iter().filter(|d| d.is_none()).count();
    let fixed = max.iter().zip(shape).all(|(m, &d)| *m == Some(d));
    if !latest {
        IndexChoice::BTreeV1
    } else if fixed && chunks == shape {
        IndexChoice::Single
    } else if unlimited == 0 {
        IndexChoice::FixedArray
    } else if unlimited == 1 {
        IndexChoice::ExtensibleArray
    } else {
        IndexChoice::BTreeV2
    }
}

/// The bytes numpy gives one element of `dt` (h5py sizes automatic chunks
/// with it): variable-length data and references are 8-byte Python object
/// pointers there.
fn numpy_itemsize(dt: &Datatype) -> usize {
    match dt {
        Datatype::VarLen { .. } | Datatype::VarLenString { .. } => 8,
        Datatype::Compound { members, size } => {
            let shrink: usize = members
                .iter()
                .map(|m| m.dtype.size().saturating_sub(numpy_itemsize(&m.dtype)))
                .sum();
            (*size as usize).saturating_sub(shrink).max(1)
        }
        Datatype::Array { dims, base } => dims
            .iter()
            .fold(numpy_itemsize(base), |a, &d| a.saturating_mul(d as usize)),
        other => other.size(),
    }
}

/// How a new file is created: format, user block, creation order.
#[derive(Debug, Clone)]
pub struct FileBuilder {
    opts: Options,
    limits: Limits,
}

impl Default for FileBuilder {
    fn default() -> Self {
        FileBuilder {
            opts: Options {
                format: Format::Earliest,
                userblock: 0,
                track_order: false,
                sizes: crate::format::Sizes::DEFAULT,
                ks: (
                    super::flush::GROUP_LEAF_K,
                    super::flush::GROUP_INTERNAL_K,
                    super::flush::CHUNK_K,
                ),
            },
            limits: Limits::default(),
        }
    }
}

impl FileBuilder {
    /// The structures to write with ([`Format::Earliest`] by default, as
    /// h5py).
    pub fn format(mut self, format: Format) -> Self {
        self.opts.format = format;
        self
    }

    /// h5py's `libver='latest'`.
    pub fn libver_latest(self) -> Self {
        self.format(Format::Latest)
    }

    /// h5py's `libver='earliest'` (the default).
    pub fn libver_earliest(self) -> Self {
        self.format(Format::Earliest)
    }

    /// Bytes reserved before the HDF5 data (h5py's `userblock_size`): 0 or
    /// a power of two of at least 512.
    pub fn userblock(mut self, size: u64) -> Self {
        self.opts.userblock = size;
        self
    }

    /// Keep links and attributes in creation order (h5py's
    /// `track_order=True`).
    pub fn track_order(mut self, on: bool) -> Self {
        self.opts.track_order = on;
        self
    }

    /// Limits for reading the file back.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Creates the file, replacing any file at `path` (h5py's `'w'`).
    ///
    /// # Errors
    /// `Io` when the file cannot be created.
    pub fn create(&self, path: impl AsRef<Path>) -> Result<File> {
        Writer::create(path.as_ref(), self.opts, false, self.limits)
    }

    /// Creates the file, failing if it exists (h5py's `'w-'` / `'x'`).
    ///
    /// # Errors
    /// `Usage` when the file exists, `Io` when it cannot be created.
    pub fn create_excl(&self, path: impl AsRef<Path>) -> Result<File> {
        Writer::create(path.as_ref(), self.opts, true, self.limits)
    }
}

fn join(base: &str, name: &str) -> String {
    if name.starts_with('/') {
        name.to_string()
    } else if base.ends_with('/') {
        format!("{base}{name}")
    } else {
        format!("{base}/{name}")
    }
}

/// `path` split into the path of its group (absolute when `path` is) and
/// its last name; `what` names the operation for the error.
fn split_parent<'p>(path: &'p str, what: &str) -> Result<(String, &'p str)> {
    let comps = super::components(path);
    let Some((last, dirs)) = comps.split_last() else {
        return Err(Error::usage(format!("{path:?} names no link to {what}")));
    };
    let dir = if path.starts_with('/') {
        format!("/{}", dirs.join("/"))
    } else {
        dirs.join("/")
    };
    Ok((dir, last))
}

fn writer_of(file: &File) -> Result<&Arc<Writer>> {
    file.writer
        .as_ref()
        .ok_or_else(|| Error::usage("the file is open read-only"))
}

/// Encodes `values` as elements of `dt`, variable-length parts into the
/// file's global heap. Plain numbers in their own type are not copied.
fn encode_values<'v, T: H5Type>(
    st: &mut State,
    values: &'v [T],
    dt: &Datatype,
) -> Result<Cow<'v, [u8]>> {
    if T::is_plain(dt)
        && let Some(b) = T::plain_slice(values)
    {
        return Ok(Cow::Borrowed(b));
    }
    let mut out = Vec::with_capacity(values.len() * dt.size());
    let mut sink = st.vlen_sink();
    T::encode_all(values, dt, &mut sink, &mut out)?;
    Ok(Cow::Owned(out))
}

fn space_of(shape: &[u64], max: Option<&[Option<u64>]>) -> Dataspace {
    if shape.is_empty() {
        return Dataspace::scalar();
    }
    Dataspace {
        kind: SpaceKind::Simple,
        dims: shape.to_vec(),
        max_dims: match max {
            Some(m) => m.to_vec(),
            None => shape.iter().map(|&d| Some(d)).collect(),
        },
    }
}

/// A live handle to the group at `addr` of a file being written.
fn live_group(file: &File, addr: u64, path: String) -> Group {
    Group {
        data: ObjectData::placeholder(file, addr, path),
    }
}

impl File {
    /// Creates a new file at `path`, replacing any file there (h5py's
    /// `h5py.File(path, 'w')`), with h5py's defaults: the earliest format.
    /// Use [`File::builder`] for other options.
    ///
    /// Everything is written by [`File::flush`], [`File::close`], or when
    /// the last handle of the file is dropped; a drop cannot report an
    /// error, so call `close` to see one.
    ///
    /// # Errors
    /// `Io` when the file cannot be created.
    pub fn create(path: impl AsRef<Path>) -> Result<File> {
        FileBuilder::default().create(path)
    }

    /// Creates a new file, failing if `path` exists (h5py's `'w-'`).
    ///
    /// # Errors
    /// `Usage` when the file exists.
    pub fn create_excl(path: impl AsRef<Path>) -> Result<File> {
        FileBuilder::default().create_excl(path)
    }

    /// Options for a new file.
    pub fn builder() -> FileBuilder {
        FileBuilder::default()
    }

    /// True when the file is open for writing.
    pub fn is_writable(&self) -> bool {
        self.writer.is_some()
    }

    /// Writes everything so far to the file, so that another process can
    /// open it and see it.
    ///
    /// # Errors
    /// `Io` on a write failure; `Usage` for a read-only file.
    pub fn flush(&self) -> Result<()> {
        writer_of(self)?.flush()
    }

    /// Writes everything and closes the file: later writes through any
    /// handle of it fail. Reports the errors a drop would swallow.
    ///
    /// # Errors
    /// `Io` on a write failure.
    pub fn close(self) -> Result<()> {
        match &self.writer {
            Some(w) => w.close(),
            None => Ok(()),
        }
    }

    /// The root group as a handle for writing.
    fn root_live(&self) -> Result<Group> {
        let w = writer_of(self)?;
        let root = w.inspect(|st| Ok(st.root))?;
        Ok(live_group(self, root, "/".to_string()))
    }

    /// Creates the group at `path` and any missing groups above it (h5py's
    /// `create_group('a/b/c')`).
    ///
    /// # Errors
    /// `Usage` when the name exists or the file is read-only.
    pub fn create_group(&self, path: &str) -> Result<Group> {
        self.root_live()?.create_group(path)
    }

    /// The group at `path`, created if missing (h5py's `require_group`).
    ///
    /// # Errors
    /// `Usage` when `path` names something that is not a group.
    pub fn require_group(&self, path: &str) -> Result<Group> {
        self.root_live()?.require_group(path)
    }

    /// A builder for a new dataset of elements `T` (h5py's
    /// `create_dataset`).
    ///
    /// # Errors
    /// `Usage` for a read-only file.
    pub fn new_dataset<'d, T: H5Type + Clone>(&self) -> Result<DatasetBuilder<'d, T>> {
        self.root_live()?.new_dataset::<T>()
    }

    /// Writes `data` as a new dataset at `path`, creating missing groups
    /// (h5py's `f[path] = data`).
    ///
    /// # Errors
    /// `Usage` when the name exists or the data cannot be stored.
    pub fn write_dataset<W: WriteData + ?Sized>(&self, path: &str, data: &W) -> Result<Dataset> {
        self.root_live()?.write_dataset(path, data)
    }

    /// Creates or replaces an attribute of the root group (h5py's
    /// `f.attrs[name] = value`).
    ///
    /// # Errors
    /// `Usage` when the value cannot be stored.
    pub fn write_attr<W: WriteData + ?Sized>(&self, name: &str, value: &W) -> Result<()> {
        self.root_live()?.write_attr(name, value)
    }

    /// As [`File::write_attr`] with an explicit datatype.
    ///
    /// # Errors
    /// `Usage` when the value cannot be stored as `dtype`.
    pub fn write_attr_as<W: WriteData + ?Sized>(
        &self,
        name: &str,
        value: &W,
        dtype: &Datatype,
    ) -> Result<()> {
        self.root_live()?.write_attr_as(name, value, dtype)
    }

    /// Creates a soft link at `path` to `target` (h5py's
    /// `f[path] = h5py.SoftLink(target)`).
    ///
    /// # Errors
    /// `Usage` when the name exists.
    pub fn link_soft(&self, target: &str, path: &str) -> Result<()> {
        self.root_live()?.link_soft(target, path)
    }

    /// Creates an external link at `path` to object `target` of file
    /// `file_name` (h5py's `h5py.ExternalLink`).
    ///
    /// # Errors
    /// `Usage` when the name exists.
    pub fn link_external(&self, file_name: &str, target: &str, path: &str) -> Result<()> {
        self.root_live()?.link_external(file_name, target, path)
    }

    /// Creates a hard link at `path` to the object at `target`.
    ///
    /// # Errors
    /// `Usage` when the name exists or `target` does not.
    pub fn link_hard(&self, target: &str, path: &str) -> Result<()> {
        self.root_live()?.link_hard(target, path)
    }

    /// Deletes attribute `name` of the root group.
    ///
    /// # Errors
    /// `NotFound` when there is no such attribute.
    pub fn delete_attr(&self, name: &str) -> Result<()> {
        self.root_live()?.delete_attr(name)
    }

    /// Moves (renames) the link at `source` to `dest` (h5py's
    /// `f.move(source, dest)`); missing groups above `dest` are created.
    ///
    /// # Errors
    /// `NotFound` when `source` does not exist, `Usage` when `dest` does.
    pub fn move_link(&self, source: &str, dest: &str) -> Result<()> {
        self.root_live()?.move_link(source, dest)
    }

    /// Deletes the link at `path` (h5py's `del f[path]`); an object whose
    /// last link goes is deleted and its space reused.
    ///
    /// # Errors
    /// `NotFound` when there is no such link.
    pub fn unlink(&self, path: &str) -> Result<()> {
        self.root_live()?.unlink(path)
    }

    /// Stores `dtype` as a committed (named) datatype at `path` (h5py's
    /// `f[path] = np.dtype(...)`); datasets can then share it with
    /// [`DatasetBuilder::committed_dtype`].
    ///
    /// # Errors
    /// `Usage` when the name exists.
    pub fn commit_datatype(&self, path: &str, dtype: &Datatype) -> Result<()> {
        self.root_live()?.commit_datatype(path, dtype)
    }
}

impl Group {
    fn writer(&self) -> Result<&Arc<Writer>> {
        writer_of(&self.data.file)
    }

    /// Creates the group at `path` (relative to this group, or absolute)
    /// and any missing groups above it.
    ///
    /// # Errors
    /// `Usage` when the name exists or the file is read-only.
    pub fn create_group(&self, path: &str) -> Result<Group> {
        let w = self.writer()?;
        let here = self.data.addr;
        let addr = w.modify(|st| {
            let (parent, name) = st.parent_for(here, path)?;
            st.add_group(parent, name)
        })?;
        Ok(live_group(&self.data.file, addr, join(self.name(), path)))
    }

    /// The group at `path`, created (with missing groups above it) if
    /// there is none.
    ///
    /// # Errors
    /// `Usage` when `path` names something that is not a group.
    pub fn require_group(&self, path: &str) -> Result<Group> {
        let w = self.writer()?;
        let here = self.data.addr;
        let found = w.access(|st| st.resolve(here, path))?;
        match found {
            Some(a) => {
                if w.access(|st| Ok(st.is_group(a)))? {
                    Ok(live_group(&self.data.file, a, join(self.name(), path)))
                } else {
                    Err(Error::usage(format!("{path:?} exists and is not a group")))
                }
            }
            None => self.create_group(path),
        }
    }

    /// A builder for a new dataset in this group.
    ///
    /// # Errors
    /// `Usage` for a read-only file.
    pub fn new_dataset<'d, T: H5Type + Clone>(&self) -> Result<DatasetBuilder<'d, T>> {
        self.writer()?;
        Ok(DatasetBuilder::new(self.clone()))
    }

    /// Writes `data` as a new dataset at `path` (h5py's
    /// `group[path] = data`): contiguous, h5py's type for the elements.
    ///
    /// # Errors
    /// `Usage` when the name exists or the data cannot be stored.
    pub fn write_dataset<W: WriteData + ?Sized>(&self, path: &str, data: &W) -> Result<Dataset> {
        self.new_dataset::<W::Elem>()?.with_data(data).create(path)
    }

    fn add_link(&self, path: &str, target: LinkTarget) -> Result<()> {
        let w = self.writer()?;
        let here = self.data.addr;
        w.modify(|st| {
            let (parent, name) = st.parent_for(here, path)?;
            st.add_link(parent, name, target)
        })
    }

    /// Creates a soft link at `path` to `target`.
    ///
    /// # Errors
    /// `Usage` when the name exists.
    pub fn link_soft(&self, target: &str, path: &str) -> Result<()> {
        self.add_link(path, LinkTarget::Soft(target.to_string()))
    }

    /// Creates an external link at `path` to `target` in `file_name`.
    ///
    /// # Errors
    /// `Usage` when the name exists.
    pub fn link_external(&self, file_name: &str, target: &str, path: &str) -> Result<()> {
        self.add_link(
            path,
            LinkTarget::External {
                file: file_name.to_string(),
                path: target.to_string(),
            },
        )
    }

    /// Deletes the link at `path` (relative to this group, or absolute;
    /// h5py's `del group[path]`). An object whose last hard link goes is
    /// deleted with its storage, which later writes reuse; space freed at
    /// the end of the file is given back when the file is closed.
    ///
    /// # Errors
    /// `NotFound` when there is no such link, `Usage` for a read-only file.
    pub fn unlink(&self, path: &str) -> Result<()> {
        let w = self.writer()?;
        let here = self.data.addr;
        let (dir, last) = split_parent(path, "delete")?;
        w.modify(|st| {
            let parent = st.resolve(here, &dir)?.ok_or_else(|| {
                Error::not_found(format!("unable to delete {path:?}: no such link"))
            })?;
            st.unlink(parent, last)
        })
    }

    /// Moves (renames) the link at `source` to `dest`, both relative to
    /// this group or absolute (h5py's `group.move`).
    ///
    /// # Errors
    /// `NotFound` when `source` does not exist, `Usage` when `dest` does.
    pub fn move_link(&self, source: &str, dest: &str) -> Result<()> {
        let w = self.writer()?;
        let here = self.data.addr;
        let (dir, last) = split_parent(source, "move")?;
        w.modify(|st| {
            let from = st.resolve(here, &dir)?.ok_or_else(|| {
                Error::not_found(format!("unable to move {source:?}: no such link"))
            })?;
            let (to, new_name) = st.parent_for(here, dest)?;
            st.move_link(from, last, to, new_name)
        })
    }

    /// Stores `dtype` as a committed datatype at `path`.
    ///
    /// # Errors
    /// `Usage` when the name exists.
    pub fn commit_datatype(&self, path: &str, dtype: &Datatype) -> Result<()> {
        let w = self.writer()?;
        let here = self.data.addr;
        w.modify(|st| st.commit_datatype(here, path, dtype).map(|_| ()))
    }

    /// Creates a hard link at `path` to the object at `target`.
    ///
    /// # Errors
    /// `Usage` when the name exists or `target` does not.
    pub fn link_hard(&self, target: &str, path: &str) -> Result<()> {
        let w = self.writer()?;
        let here = self.data.addr;
        let t = w
            .access(|st| st.resolve(here, target))?
            .ok_or_else(|| Error::usage(format!("no object {target:?} to link to")))?;
        self.add_link(path, LinkTarget::Hard(t))
    }
}

/// `write_attr`, `write_attr_as`, `delete_attr` and `rename_attr` for a
/// handle type with `data`.
macro_rules! attr_writers {
    ($t:ty) => {
        impl $t {
            /// Deletes attribute `name` (h5py's `del obj.attrs[name]`).
            ///
            /// # Errors
            /// `NotFound` when there is no such attribute.
            pub fn delete_attr(&self, name: &str) -> Result<()> {
                let addr = self.data.addr;
                writer_of(&self.data.file)?.modify(|st| st.delete_attr(addr, name))
            }

            /// Renames attribute `old` to `new`.
            ///
            /// # Errors
            /// `NotFound` when there is no attribute `old`, `Usage` when
            /// `new` exists.
            pub fn rename_attr(&self, old: &str, new: &str) -> Result<()> {
                let addr = self.data.addr;
                writer_of(&self.data.file)?.modify(|st| st.rename_attr(addr, old, new))
            }

            /// Creates or replaces attribute `name` (h5py's
            /// `obj.attrs[name] = value`), with h5py's type for the value.
            ///
            /// # Errors
            /// `Usage` when the value cannot be stored.
            pub fn write_attr<W: WriteData + ?Sized>(&self, name: &str, value: &W) -> Result<()> {
                write_attr_at(&self.data.file, self.data.addr, name, value, None)
            }

            /// As `write_attr`, with an explicit datatype.
            ///
            /// # Errors
            /// `Usage` when the value cannot be stored as `dtype`.
            pub fn write_attr_as<W: WriteData + ?Sized>(
                &self,
                name: &str,
                value: &W,
                dtype: &Datatype,
            ) -> Result<()> {
                write_attr_at(&self.data.file, self.data.addr, name, value, Some(dtype))
            }
        }
    };
}

attr_writers!(Group);
attr_writers!(Dataset);

fn write_attr_at<W: WriteData + ?Sized>(
    file: &File,
    addr: u64,
    name: &str,
    value: &W,
    dtype: Option<&Datatype>,
) -> Result<()> {
    let w = writer_of(file)?;
    let values = value.elements();
    let dt = match dtype {
        Some(d) => d.clone(),
        None => W::Elem::file_type(&values)?,
    };
    let shape: Vec<u64> = value.data_shape().iter().map(|&d| d as u64).collect();
    if name.is_empty() {
        return Err(Error::usage("an attribute needs a name"));
    }
    w.modify(|st| {
        let data = encode_values(st, &values, &dt)?.into_owned();
        st.set_attr(
            addr,
            Attr {
                name: name.to_string(),
                dtype: dt,
                space: space_of(&shape, None),
                data,
                order: 0,
            },
        )
    })
}

/// The storage layout asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LayoutAsk {
    Compact,
    Contiguous,
    Chunked,
}

/// Builds a dataset, as h5py's `create_dataset` keywords do:
/// `group.new_dataset::<f32>()?.shape((100, 10)).chunk((10, 10)).deflate(4).create("x")`.
#[derive(Debug)]
pub struct DatasetBuilder<'d, T: H5Type + Clone> {
    parent: Group,
    shape: Option<Vec<u64>>,
    maxshape: Option<Vec<Option<u64>>>,
    chunks: Option<Vec<u64>>,
    layout: Option<LayoutAsk>,
    shuffle: bool,
    deflate: Option<u32>,
    fletcher32: bool,
    fill: Option<T>,
    dtype: Option<Datatype>,
    committed: Option<String>,
    data: Option<(Vec<u64>, Cow<'d, [T]>)>,
}

impl<'d, T: H5Type + Clone> DatasetBuilder<'d, T> {
    fn new(parent: Group) -> Self {
        DatasetBuilder {
            parent,
            shape: None,
            maxshape: None,
            chunks: None,
            layout: None,
            shuffle: false,
            deflate: None,
            fletcher32: false,
            fill: None,
            dtype: None,
            committed: None,
            data: None,
        }
    }

    /// The dataset's shape (`()` for a scalar).
    pub fn shape(mut self, shape: impl IntoShape) -> Self {
        self.shape = Some(shape.into_dims());
        self
    }

    /// Maximum dimensions, `None` for unlimited (h5py's `maxshape`):
    /// makes the dataset chunked and resizable.
    pub fn maxshape(mut self, max: impl IntoMaxShape) -> Self {
        self.maxshape = Some(max.into_max_dims());
        self
    }

    /// Chunk dimensions (chunked layout).
    pub fn chunk(mut self, chunks: impl IntoShape) -> Self {
        self.chunks = Some(chunks.into_dims());
        self.layout = Some(LayoutAsk::Chunked);
        self
    }

    /// Chunked, with h5py's automatic chunk shape.
    pub fn chunked(mut self) -> Self {
        self.layout = Some(LayoutAsk::Chunked);
        self
    }

    /// Gzip (deflate) compression at `level` 0-9 (h5py's
    /// `compression='gzip', compression_opts=level`).
    pub fn deflate(mut self, level: u32) -> Self {
        self.deflate = Some(level.min(9));
        self
    }

    /// The shuffle filter, before compression.
    pub fn shuffle(mut self) -> Self {
        self.shuffle = true;
        self
    }

    /// Fletcher-32 checksums of each chunk.
    pub fn fletcher32(mut self) -> Self {
        self.fletcher32 = true;
        self
    }

    /// Data kept in the object header (small datasets, under 64 KiB).
    pub fn compact(mut self) -> Self {
        self.layout = Some(LayoutAsk::Compact);
        self
    }

    /// One contiguous block (the default when nothing needs chunks).
    pub fn contiguous(mut self) -> Self {
        self.layout = Some(LayoutAsk::Contiguous);
        self
    }

    /// The value unwritten elements read as (h5py's `fillvalue`).
    pub fn fill_value(mut self, v: T) -> Self {
        self.fill = Some(v);
        self
    }

    /// The file datatype, instead of h5py's choice for `T`.
    pub fn dtype(mut self, dt: Datatype) -> Self {
        self.dtype = Some(dt);
        self
    }

    /// The committed datatype at `path` (see [`File::commit_datatype`]):
    /// the dataset's type, shared with it in the file.
    pub fn committed_dtype(mut self, path: &str) -> Self {
        self.committed = Some(path.to_string());
        self
    }

    /// The initial contents; the shape defaults to the data's.
    pub fn with_data<W: WriteData<Elem = T> + ?Sized>(mut self, data: &'d W) -> Self {
        let shape = data.data_shape().iter().map(|&d| d as u64).collect();
        self.data = Some((shape, data.elements()));
        self
    }

    fn filters(&self, dt: &Datatype) -> Vec<FilterInfo> {
        let mut out = Vec::new();
        if self.shuffle {
            out.push(FilterInfo {
                id: 2,
                name: "shuffle".into(),
                flags: 1,
                params: vec![dt.size() as u32],
            });
        }
        if let Some(level) = self.deflate {
            out.push(FilterInfo {
                id: 1,
                name: "deflate".into(),
                flags: 1,
                params: vec![level],
            });
        }
        if self.fletcher32 {
            out.push(FilterInfo {
                id: 3,
                name: "fletcher32".into(),
                flags: 0,
                params: vec![],
            });
        }
        out
    }

    /// Creates the dataset at `path` (missing groups above it are
    /// created) and writes the data given with [`Self::with_data`].
    ///
    /// # Errors
    /// `Usage` when the name exists, the shape, chunks or maxshape
    /// disagree, or the data cannot be stored as the datatype.
    pub fn create(self, path: &str) -> Result<Dataset> {
        let shape = match (&self.shape, &self.data) {
            (Some(s), Some((ds, _))) => {
                let n: u64 = s.iter().product();
                let m: u64 = ds.iter().product();
                if n != m {
                    return Err(Error::usage(format!(
                        "shape {s:?} does not match the data's shape {ds:?}"
                    )));
                }
                s.clone()
            }
            (Some(s), None) => s.clone(),
            (None, Some((ds, _))) => ds.clone(),
            (None, None) => {
                return Err(Error::usage(
                    "a new dataset needs a shape or data (shape(..) or with_data(..))",
                ));
            }
        };
        let file = self.parent.data.file.clone();
        let w = writer_of(&file)?.clone();
        let here = self.parent.data.addr;
        let committed = match &self.committed {
            Some(p) => Some(w.access(|st| st.committed(here, p))?),
            None => None,
        };
        let dt = match (&committed, &self.dtype, &self.data) {
            (Some((_, t)), _, _) => t.clone(),
            (None, Some(d), _) => d.clone(),
            (None, None, Some((_, v))) => T::file_type(v)?,
            (None, None, None) => T::file_type(&[])?,
        };
        if dt.size() == 0 {
            return Err(Error::usage("a datatype of size 0 cannot be stored"));
        }
        let filters = self.filters(&dt);
        if self.fletcher32 && dt.has_vlen() {
            return Err(Error::usage(
                "fletcher32 cannot be applied to a variable-length type (libhdf5 refuses it too)",
            ));
        }
        if let Some(m) = &self.maxshape {
            if m.len() != shape.len() {
                return Err(Error::usage(format!(
                    "maxshape {m:?} has {} dimensions, the shape {:?} has {}",
                    m.len(),
                    shape,
                    shape.len()
                )));
            }
            for (i, (&d, md)) in shape.iter().zip(m).enumerate() {
                if md.is_some_and(|md| d > md) {
                    return Err(Error::usage(format!(
                        "dimension {i}: size {d} is past its maximum {md:?}"
                    )));
                }
            }
        }
        let needs_chunks = !filters.is_empty() || self.maxshape.is_some();
        let layout = match self.layout {
            Some(LayoutAsk::Chunked) => LayoutAsk::Chunked,
            Some(l) if needs_chunks => {
                return Err(Error::usage(format!(
                    "{} layout cannot have filters or a maxshape: they need chunks",
                    if l == LayoutAsk::Compact {
                        "compact"
                    } else {
                        "contiguous"
                    }
                )));
            }
            Some(l) => l,
            None if needs_chunks => LayoutAsk::Chunked,
            None => LayoutAsk::Contiguous,
        };
        if shape.is_empty() && layout == LayoutAsk::Chunked {
            return Err(Error::usage("a scalar dataset cannot be chunked"));
        }
        let latest = w.inspect(|st| Ok(st.opts.latest()))?;
        let layout_m = match layout {
            LayoutAsk::Compact => LayoutM::Compact(Vec::new()),
            LayoutAsk::Contiguous => LayoutM::Contiguous { addr: None },
            LayoutAsk::Chunked => {
                let chunks = match &self.chunks {
                    Some(c) => {
                        if c.len() != shape.len() || c.contains(&0) {
                            return Err(Error::usage(format!(
                                "chunk shape {c:?} must have one non-zero size per dimension of {shape:?}"
                            )));
                        }
                        if let Some(m) = &self.maxshape {
                            for (&cd, md) in c.iter().zip(m) {
                                if md.is_some_and(|md| cd > md) {
                                    return Err(Error::usage(format!(
                                        "chunk shape {c:?} is larger than maxshape {m:?}"
                                    )));
                                }
                            }
                        }
                        c.clone()
                    }
                    None => guess_chunk(&shape, numpy_itemsize(&dt)),
                };
                let chunk_bytes = chunks.iter().product::<u64>() * dt.size() as u64;
                if chunk_bytes >= 1 << 32 {
                    return Err(Error::usage(format!(
                        "chunk of {chunk_bytes} bytes: chunks must be under 4 GiB"
                    )));
                }
                let max: Vec<Option<u64>> = match &self.maxshape {
                    Some(m) => m.clone(),
                    None => shape.iter().map(|&d| Some(d)).collect(),
                };
                let index = choose_index(latest, &shape, &max, &chunks);
                LayoutM::Chunked(ChunkedM::new(chunks, index))
            }
        };
        let fill_bytes =
            match &self.fill {
                Some(v) => Some(w.modify(|st| {
                    Ok(encode_values(st, std::slice::from_ref(v), &dt)?.into_owned())
                })?),
                None => None,
            };
        let space = space_of(&shape, self.maxshape.as_deref());
        let model = DatasetM {
            dtype: dt.clone(),
            dtype_ref: committed.as_ref().map(|c| c.0),
            loaded: false,
            space: space.clone(),
            layout: layout_m,
            filters: filters.clone(),
            fill: FillValue {
                value: fill_bytes,
                ..FillValue::default()
            },
        };
        let layout_msg = match &model.layout {
            LayoutM::Kept | LayoutM::Virtual { .. } => Layout::Contiguous {
                address: None,
                size: None,
            },
            LayoutM::Compact(_) => Layout::Compact { data: Vec::new() },
            LayoutM::Contiguous { .. } => Layout::Contiguous {
                address: None,
                size: Some(model.data_bytes()?),
            },
            LayoutM::Chunked(c) => Layout::Chunked(ChunkedLayout {
                version: 3,
                dims: c.dims.clone(),
                element_size: dt.size() as u64,
                index: ChunkIndexKind::BTreeV1,
                address: None,
                dont_filter_partial_edges: false,
            }),
        };
        let fill_msg = model.fill.clone();
        let data = self.data;
        let addr = w.modify(|st| {
            let (parent, name) = st.parent_for(here, path)?;
            if st.link(parent, name)?.is_some() {
                return Err(Error::usage(format!(
                    "unable to create dataset {path:?}: the name already exists"
                )));
            }
            let mut model = model;
            let n = model.space.element_count().unwrap_or(0) as usize;
            let fill = model.fill_element();
            if let LayoutM::Compact(buf) = &mut model.layout {
                buf.clear();
                for _ in 0..n {
                    buf.extend_from_slice(&fill);
                }
            }
            let track = st.opts.track_order;
            if let Some(t) = model.dtype_ref {
                // each dataset using a committed type holds a reference to it
                let o = st.obj_mut(t)?;
                o.refcount += 1;
                o.dirty = true;
            }
            let addr = st.new_object(Kind::Dataset(model), track)?;
            st.add_link(parent, name, LinkTarget::Hard(addr))?;
            if let Some((_, values)) = &data {
                let bytes = encode_values(st, values, &dt)?;
                let sel = Selection::all(&shape);
                st.write_elements(addr, &sel, &bytes)?;
            }
            Ok(addr)
        })?;
        let name = join(self.parent.name(), path);
        Ok(Dataset::live(
            ObjectData::placeholder(&file, addr, name),
            space,
            dt,
            layout_msg,
            filters,
            fill_msg,
        ))
    }
}

impl Dataset {
    fn writer(&self) -> Result<&Arc<Writer>> {
        writer_of(&self.data.file)
    }

    /// Writes elements selected by `sel` from `data` (as many elements as
    /// the selection holds, row-major).
    ///
    /// # Errors
    /// `Usage` when the counts differ, the selection is out of range, or
    /// the file is read-only.
    pub fn write_selection<W: WriteData + ?Sized>(&self, data: &W, sel: &Selection) -> Result<()> {
        let w = self.writer()?;
        let values = data.elements();
        if values.len() as u64 != sel.count() {
            return Err(Error::usage(format!(
                "{} elements of data (shape {:?}) for a selection of {} elements (shape {:?})",
                values.len(),
                data.data_shape(),
                sel.count(),
                sel.out_shape()
            )));
        }
        let dt = self.dtype().clone();
        let addr = self.data.addr;
        w.modify(|st| {
            let bytes = encode_values(st, &values, &dt)?;
            st.write_elements(addr, sel, &bytes)
        })
    }

    /// Writes the whole dataset (h5py's `dset[...] = data`).
    ///
    /// # Errors
    /// As [`Dataset::write_selection`].
    pub fn write<W: WriteData + ?Sized>(&self, data: &W) -> Result<()> {
        let shape: Vec<u64> = self.shape().iter().map(|&d| d as u64).collect();
        self.write_selection(data, &Selection::all(&shape))
    }

    /// Writes `data` into the region `slice` selects (h5py's
    /// `dset[:5, 2:] = data`), e.g. `ds.write_slice(&a, s![..5, 2..])`.
    ///
    /// # Errors
    /// As [`Dataset::write_selection`].
    pub fn write_slice<W: WriteData + ?Sized, S: AsRef<[SliceInfoElem]>>(
        &self,
        data: &W,
        slice: S,
    ) -> Result<()> {
        let shape: Vec<u64> = self.shape().iter().map(|&d| d as u64).collect();
        let sel = Selection::from_slice_elems(slice.as_ref(), &shape)?;
        self.write_selection(data, &sel)
    }

    /// Appends rows along the first axis: grows the dataset by the rows
    /// given (an array of the dataset's rank, or one row of rank one less)
    /// and writes them at the end.
    ///
    /// # Errors
    /// `Usage` when the rows do not match the other dimensions, or the
    /// first axis would pass its maximum.
    pub fn append<W: WriteData + ?Sized>(&self, rows: &W) -> Result<()> {
        let shape: Vec<u64> = self.shape().iter().map(|&d| d as u64).collect();
        let Some((&n0, rest)) = shape.split_first() else {
            return Err(Error::usage("cannot append to a scalar dataset"));
        };
        let ds: Vec<u64> = rows.data_shape().iter().map(|&d| d as u64).collect();
        let k = if ds.len() == shape.len() && ds[1..] == *rest {
            ds[0]
        } else if ds == rest {
            1
        } else {
            return Err(Error::usage(format!(
                "rows of shape {ds:?} do not fit a dataset of shape {shape:?}"
            )));
        };
        let mut grown = shape.clone();
        grown[0] = n0 + k;
        let w = self.writer()?;
        let addr = self.data.addr;
        w.modify(|st| st.resize(addr, &grown))?;
        let mut sel = Selection::all(&grown);
        sel.dims[0].start = n0;
        sel.dims[0].count = k;
        self.write_selection(rows, &sel)
    }

    /// Changes the dataset's shape within its maxshape (h5py's
    /// `dset.resize(..)`): growing reads the new part as the fill value,
    /// shrinking drops what falls outside.
    ///
    /// # Errors
    /// `Usage` past maxshape, for a dataset that is not chunked, or a
    /// read-only file.
    pub fn resize(&self, shape: impl IntoShape) -> Result<()> {
        let dims = shape.into_dims();
        let w = self.writer()?;
        let addr = self.data.addr;
        w.modify(|st| st.resize(addr, &dims))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guess_chunk_matches_h5py() {
        // values h5py 3 gives for the same shapes and element sizes
        assert_eq!(guess_chunk(&[1000], 8), vec![1000]);
        assert_eq!(guess_chunk(&[100, 10], 8), vec![100, 10]);
        assert_eq!(guess_chunk(&[10000, 10], 8), vec![1250, 2]);
        assert_eq!(guess_chunk(&[0], 8), vec![1024]);
        assert_eq!(guess_chunk(&[1_000_000], 4), vec![7813]);
        assert_eq!(guess_chunk(&[200, 50], 4), vec![100, 25]);
        assert_eq!(guess_chunk(&[10, 20, 5], 8), vec![10, 20, 5]);
    }
}
