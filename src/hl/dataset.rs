//! Datasets: lazy handles to N-dimensional arrays in the file.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use ndarray::{ArrayD, IxDyn, SliceInfoElem};

use super::attribute::Attribute;
use super::object::ObjectData;
use super::types::H5Type;
use super::virtual_ds::VirtualDataset;
use crate::array::chunk_cache::{self, ChunkCache};
use crate::array::read::{ChunkedStorage, ReadRequest, Storage, read};
use crate::array::selection::Selection;
use crate::error::{Error, Result};
use crate::format::chunk_index::{self, ChunkRecord, IndexParams};
use crate::format::cursor::Cursor;
use crate::format::dataspace::{Dataspace, SpaceKind};
use crate::format::datatype::Datatype;
use crate::format::fill_value::FillValue;
use crate::format::filter_pipeline::{self, FilterInfo};
use crate::format::layout::Layout;
use crate::format::messages::ExternalFiles;
use crate::format::object_header::msg;

/// A dataset. Opening one reads its metadata only; data is read on request.
#[derive(Clone)]
pub struct Dataset {
    pub(crate) data: Arc<ObjectData>,
    meta: Arc<Meta>,
}

struct Meta {
    space: Dataspace,
    dtype: Datatype,
    layout: Layout,
    filters: Vec<FilterInfo>,
    fill: FillValue,
    external: Option<ExternalFiles>,
    chunks: OnceLock<Result<HashMap<Vec<u64>, ChunkRecord>>>,
    cache: ChunkCache,
    virt: Option<VirtualDataset>,
}

impl Meta {
    fn new(
        space: Dataspace,
        dtype: Datatype,
        layout: Layout,
        filters: Vec<FilterInfo>,
        fill: FillValue,
        external: Option<ExternalFiles>,
        virt: Option<VirtualDataset>,
    ) -> Meta {
        Meta {
            space,
            dtype,
            layout,
            filters,
            fill,
            external,
            chunks: OnceLock::new(),
            cache: ChunkCache::new(chunk_cache::DEFAULT_CAPACITY),
            virt,
        }
    }
}

impl std::fmt::Debug for Dataset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "<HDF5 dataset {:?}: shape {:?}, type {}, {}>",
            self.data.path,
            self.meta.space.dims,
            self.meta.dtype.canonical(),
            self.layout().name()
        )
    }
}

/// How a dataset stores its elements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayoutClass {
    /// Inside the object header.
    Compact,
    /// One block.
    Contiguous,
    /// In chunks.
    Chunked,
    /// Mapped from other datasets.
    Virtual,
}

impl LayoutClass {
    /// The name h5py's property lists use.
    pub fn name(self) -> &'static str {
        match self {
            LayoutClass::Compact => "compact",
            LayoutClass::Contiguous => "contiguous",
            LayoutClass::Chunked => "chunked",
            LayoutClass::Virtual => "virtual",
        }
    }
}

impl Dataset {
    pub(crate) fn from_data(data: Arc<ObjectData>) -> Result<Dataset> {
        let sizes = data.file.inner.ctx().sizes;
        let need = |kind: u16, what: &str| -> Result<(Vec<u8>, u64)> {
            data.message(kind)?
                .ok_or_else(|| Error::format(format!("dataset has no {what} message"), data.addr))
        };
        let (b, a) = need(msg::DATASPACE, "dataspace")?;
        let mut space = Dataspace::from_message(&b, a, sizes)?;
        let (b, a) = need(msg::DATATYPE, "datatype")?;
        let dtype = Datatype::from_message(&b, a, sizes)?;
        let (b, a) = need(msg::LAYOUT, "layout")?;
        let layout = Layout::from_message(&b, a, sizes)?;
        let virt = match &layout {
            Layout::Virtual { address, index } => {
                Some(VirtualDataset::open(&data, *address, *index, &mut space)?)
            }
            _ => None,
        };
        let filters = match data.message(msg::FILTER_PIPELINE)? {
            Some((b, a)) => filter_pipeline::decode(&mut Cursor::new(&b, a, sizes))
                .map_err(|e| e.context("filter pipeline"))?,
            None => Vec::new(),
        };
        let fill = if let Some((b, a)) = data.message(msg::FILL)? {
            FillValue::decode(&mut Cursor::new(&b, a, sizes))?
        } else if let Some((b, a)) = data.message(msg::FILL_OLD)? {
            FillValue::decode_old(&mut Cursor::new(&b, a, sizes))?
        } else {
            FillValue::default()
        };
        let external = match data.message(msg::EXTERNAL)? {
            Some((b, a)) => Some(
                ExternalFiles::decode(&mut Cursor::new(&b, a, sizes))
                    .map_err(|e| e.context("external files message"))?,
            ),
            None => None,
        };
        Ok(Dataset {
            data,
            meta: Arc::new(Meta::new(
                space, dtype, layout, filters, fill, external, virt,
            )),
        })
    }

    /// A handle to a dataset of a file being written, made from what the
    /// writer knows: nothing is read until data is.
    pub(crate) fn live(
        data: Arc<ObjectData>,
        space: Dataspace,
        dtype: Datatype,
        layout: Layout,
        filters: Vec<FilterInfo>,
        fill: FillValue,
    ) -> Dataset {
        Dataset {
            data,
            meta: Arc::new(Meta::new(space, dtype, layout, filters, fill, None, None)),
        }
    }

    /// True when the elements live in external raw data files.
    pub(crate) fn is_external(&self) -> bool {
        self.meta.external.is_some()
    }

    /// For a dataset of a file being written: the dataset as the file
    /// holds it now, when this handle is out of date.
    fn refreshed(&self) -> Result<Option<Dataset>> {
        if self.data.needs_refresh() {
            Ok(Some(Dataset::from_data(self.data.reload()?)?))
        } else {
            Ok(None)
        }
    }

    /// The dataset's path as it was reached.
    pub fn name(&self) -> &str {
        &self.data.path
    }

    /// The address of its object header.
    pub fn addr(&self) -> u64 {
        self.data.addr
    }

    /// The file it belongs to.
    pub fn file(&self) -> &super::file::File {
        &self.data.file
    }

    /// The dataspace (for a file being written, as it is now: a resize
    /// shows at once).
    pub fn space(&self) -> Dataspace {
        if let Some(w) = &self.data.file.writer
            && let Ok(Some(s)) = w.dataset_space(self.data.addr)
        {
            return s;
        }
        self.meta.space.clone()
    }

    /// Current dimensions (`[]` for scalar and null dataspaces).
    pub fn shape(&self) -> Vec<usize> {
        self.space().dims.iter().map(|&d| d as usize).collect()
    }

    /// Number of dimensions.
    pub fn ndim(&self) -> usize {
        self.meta.space.dims.len()
    }

    /// Number of elements.
    pub fn size(&self) -> usize {
        self.space().element_count().unwrap_or(u64::MAX) as usize
    }

    /// True for a null dataspace (h5py's `Empty`).
    pub fn is_null(&self) -> bool {
        self.meta.space.kind == SpaceKind::Null
    }

    /// True for a scalar dataspace.
    pub fn is_scalar(&self) -> bool {
        self.meta.space.kind == SpaceKind::Scalar
    }

    /// Maximum dimensions; `None` entries are unlimited.
    pub fn maxshape(&self) -> Vec<Option<usize>> {
        self.meta
            .space
            .max_dims
            .iter()
            .map(|m| m.map(|v| v as usize))
            .collect()
    }

    /// The element type.
    pub fn dtype(&self) -> &Datatype {
        &self.meta.dtype
    }

    /// The storage layout class.
    pub fn layout(&self) -> LayoutClass {
        match &self.meta.layout {
            Layout::Compact { .. } => LayoutClass::Compact,
            Layout::Contiguous { .. } => LayoutClass::Contiguous,
            Layout::Chunked(_) => LayoutClass::Chunked,
            Layout::Virtual { .. } => LayoutClass::Virtual,
        }
    }

    /// The decoded layout message.
    pub fn layout_message(&self) -> &Layout {
        &self.meta.layout
    }

    /// Chunk dimensions when chunked.
    pub fn chunks(&self) -> Option<Vec<usize>> {
        match &self.meta.layout {
            Layout::Chunked(c) => Some(c.dims.iter().map(|&d| d as usize).collect()),
            _ => None,
        }
    }

    /// The filter pipeline, in order.
    pub fn filters(&self) -> &[FilterInfo] {
        &self.meta.filters
    }

    /// How many chunks a read of `sel` decodes (0 when not chunked): only
    /// the chunks holding selected elements are read.
    pub fn chunks_touched(&self, sel: &Selection) -> u64 {
        match &self.meta.layout {
            Layout::Chunked(c) => crate::array::read::chunks_touched(sel, &c.dims),
            _ => 0,
        }
    }

    /// The fill value message.
    pub fn fill_value(&self) -> &FillValue {
        &self.meta.fill
    }

    /// The mappings of a virtual dataset.
    pub(crate) fn virtual_dataset(&self) -> Option<&VirtualDataset> {
        self.meta.virt.as_ref()
    }

    /// Bytes of storage allocated in the file (as h5py's
    /// `id.get_storage_size()`).
    ///
    /// # Errors
    /// `Format` when the chunk index is malformed.
    pub fn storage_size(&self) -> Result<u64> {
        if let Some(d) = self.refreshed()? {
            return d.storage_size();
        }
        Ok(match &self.meta.layout {
            Layout::Compact { data } => data.len() as u64,
            Layout::Contiguous { address: None, .. } => 0,
            Layout::Contiguous { size, .. } => match size {
                Some(s) => *s,
                None => self.byte_size()?,
            },
            Layout::Chunked(_) => self
                .chunk_map()?
                .values()
                .try_fold(0u64, |t, c| t.checked_add(c.size))
                .ok_or_else(|| Error::format("chunk sizes add up past 2^64", self.data.addr))?,
            Layout::Virtual { .. } => 0,
        })
    }

    fn byte_size(&self) -> Result<u64> {
        self.meta
            .space
            .element_count()
            .and_then(|n| n.checked_mul(self.meta.dtype.size() as u64))
            .ok_or_else(|| Error::format("dataset size overflows", self.data.addr))
    }

    /// The dataset's attributes.
    ///
    /// # Errors
    /// `Format` on malformed attribute storage.
    pub fn attrs(&self) -> Result<Vec<Attribute>> {
        if let Some(d) = self.refreshed()? {
            return d.attrs();
        }
        self.data.attributes()
    }

    /// Names of the dataset's attributes.
    ///
    /// # Errors
    /// As [`Dataset::attrs`].
    pub fn attr_names(&self) -> Result<Vec<String>> {
        Ok(self
            .attrs()?
            .into_iter()
            .map(|a| a.name().to_string())
            .collect())
    }

    /// The attribute called `name`.
    ///
    /// # Errors
    /// `Usage` when there is none.
    pub fn attr(&self, name: &str) -> Result<Attribute> {
        super::attribute::find(self.attrs()?, name)
    }

    /// Every stored chunk with its bytes as stored (filtered), in chunk
    /// order.
    pub(crate) fn stored_chunks(&self) -> Result<Vec<(ChunkRecord, &[u8])>> {
        let map = self.chunk_map()?;
        let mut recs: Vec<&ChunkRecord> = map.values().collect();
        recs.sort_by(|a, b| a.coords.cmp(&b.coords));
        let ctx = self.data.file.inner.ctx();
        recs.into_iter()
            .map(|r| {
                let bytes = ctx.slice(r.addr, r.size, "chunk")?;
                Ok((r.clone(), bytes))
            })
            .collect()
    }

    fn chunk_map(&self) -> Result<&HashMap<Vec<u64>, ChunkRecord>> {
        let Layout::Chunked(cl) = &self.meta.layout else {
            return Err(Error::usage("dataset is not chunked"));
        };
        let r = self.meta.chunks.get_or_init(|| {
            let ctx = self.data.file.inner.ctx();
            let p = IndexParams {
                layout: cl,
                dims: &self.meta.space.dims,
                max_dims: &self.meta.space.max_dims,
                filtered: !self.meta.filters.is_empty(),
            };
            chunk_index::all_chunks(&ctx, &p)
                .map(|v| v.into_iter().map(|c| (c.coords.clone(), c)).collect())
                .map_err(|e| e.context("chunk index"))
        });
        r.as_ref().map_err(|e| e.duplicate())
    }

    /// Maps the span of the stored chunks into memory ahead of a large
    /// read of unfiltered chunks, when the span is not much larger than
    /// what is read.
    fn populate_chunks(&self, map: &HashMap<Vec<u64>, ChunkRecord>, read_bytes: u64) {
        let lo = map.values().map(|c| c.addr).min();
        let hi = map.values().map(|c| c.addr.saturating_add(c.size)).max();
        if let (Some(lo), Some(hi)) = (lo, hi) {
            let span = hi - lo;
            if span <= read_bytes.saturating_mul(2) {
                let base = self.data.file.inner.ctx().base;
                self.data
                    .file
                    .inner
                    .source()
                    .populate((base.saturating_add(lo)) as usize, span as usize);
            }
        }
    }

    /// One element of the fill value; a limit error when an element is
    /// larger than the read limit (a damaged type may declare gigabytes).
    pub(crate) fn fill_bytes(&self) -> Result<Vec<u8>> {
        let es = self.meta.dtype.size();
        let limit = self.data.file.inner.ctx().limits.max_read_bytes;
        if es as u64 > limit {
            return Err(Error::limit(format!(
                "dataset {:?}: an element of {es} bytes is larger than the read limit ({limit} bytes)",
                self.name()
            )));
        }
        Ok(match &self.meta.fill.value {
            Some(v) if v.len() == es => v.clone(),
            _ => vec![0; es],
        })
    }

    /// Reads the selected elements' stored bytes into `out`.
    fn read_sel_into(&self, sel: &Selection, out: &mut [u8]) -> Result<()> {
        if self.is_null() {
            return Err(Error::usage(format!(
                "dataset {:?} is empty (null dataspace)",
                self.name()
            )));
        }
        self.data.file.inner.source().check_intact()?;
        if out.is_empty() {
            // no element selected (the type may still be huge)
            return Ok(());
        }
        let ctx = self.data.file.inner.ctx();
        let es = self.meta.dtype.size();
        let fill = self.fill_bytes()?;
        let dims = &self.meta.space.dims;
        let external_bytes;
        let storage = match &self.meta.layout {
            _ if self.meta.external.is_some() => {
                external_bytes = self.read_external()?;
                Storage::Dense(&external_bytes)
            }
            Layout::Compact { data } => Storage::Dense(data),
            Layout::Contiguous { address: None, .. } => Storage::Unallocated,
            Layout::Contiguous {
                address: Some(a), ..
            } => {
                let need = self.byte_size()?;
                let bytes = ctx.slice(*a, need, "contiguous dataset storage")?;
                if out.len() >= 4 << 20 {
                    let start = bytes.as_ptr() as usize - ctx.data.as_ptr() as usize;
                    self.data.file.inner.source().populate(start, bytes.len());
                }
                Storage::Dense(bytes)
            }
            Layout::Chunked(cl) => Storage::Chunked(ChunkedStorage {
                chunk_dims: &cl.dims,
                chunks: {
                    let map = self.chunk_map()?;
                    if self.meta.filters.is_empty() && out.len() >= 4 << 20 {
                        self.populate_chunks(map, out.len() as u64);
                    }
                    map
                },
                pipeline: &self.meta.filters,
                dtype: &self.meta.dtype,
                dont_filter_partial_edges: cl.dont_filter_partial_edges,
                cache: Some(&self.meta.cache),
            }),
            Layout::Virtual { .. } => {
                return match &self.meta.virt {
                    Some(v) => v.read(dims, &self.meta.dtype, &fill, sel, out),
                    None => Err(Error::format(
                        "virtual layout without mappings",
                        self.data.addr,
                    )),
                };
            }
        };
        let req = ReadRequest {
            ctx,
            dims,
            esize: es,
            fill: &fill,
            storage,
        };
        read(&req, sel, out).map_err(|e| e.at(self.data.addr))
    }

    /// The whole dataset's bytes from its external raw data files, which
    /// are read in slot order; relative names are found beside the HDF5
    /// file (as libhdf5 does with `HDF5_EXTFILE_PREFIX=${ORIGIN}`), and
    /// bytes past the end of an external file read as zeros.
    fn read_external(&self) -> Result<Vec<u8>> {
        use std::io::{Read, Seek, SeekFrom};
        let Some(ext) = &self.meta.external else {
            return Ok(Vec::new());
        };
        let ctx = self.data.file.inner.ctx();
        let total = usize::try_from(self.byte_size()?)
            .map_err(|_| Error::limit("external dataset does not fit in memory"))?;
        if total as u64 > ctx.limits.max_read_bytes {
            return Err(Error::limit("external dataset larger than the read limit"));
        }
        let heap = crate::format::heap::local::LocalHeap::read(&ctx, ext.heap)?;
        let dir = self
            .data
            .file
            .path()
            .and_then(|p| p.parent())
            .map(|p| p.to_path_buf())
            .unwrap_or_default();
        let mut out = vec![0u8; total];
        let mut pos = 0usize;
        for slot in &ext.slots {
            if pos >= total {
                break;
            }
            let name = String::from_utf8_lossy(heap.string(slot.name_offset)?).into_owned();
            let want = (total - pos).min(usize::try_from(slot.size).unwrap_or(usize::MAX));
            let path = dir.join(&name);
            let mut f = std::fs::File::open(&path).map_err(|e| {
                Error::Io(std::io::Error::new(
                    e.kind(),
                    format!("external raw data file {}: {e}", path.display()),
                ))
            })?;
            f.seek(SeekFrom::Start(slot.offset))?;
            let buf = &mut out[pos..pos + want];
            let mut got = 0;
            while got < want {
                let n = f.read(&mut buf[got..])?;
                if n == 0 {
                    break; // past the end: zeros
                }
                got += n;
            }
            pos += want;
        }
        Ok(out)
    }

    /// Checks that the stored bytes of a compact or contiguous dataset
    /// are all there, so that a read fails before it allocates its output
    /// when the dataspace claims more than the file holds. Before a large
    /// read (`read_bytes` of 4 MiB or more) of a chunked dataset, checks
    /// the same of every stored chunk: within the file, and (unfiltered)
    /// holding a whole chunk.
    fn check_storage(&self, read_bytes: usize) -> Result<()> {
        if self.meta.external.is_some() {
            return Ok(());
        }
        match &self.meta.layout {
            Layout::Compact { data } => {
                let need = self.byte_size()?;
                if (data.len() as u64) < need {
                    return Err(Error::format(
                        format!(
                            "compact dataset storage holds {} bytes, the dataspace needs {need}",
                            data.len()
                        ),
                        self.data.addr,
                    ));
                }
                Ok(())
            }
            Layout::Contiguous {
                address: Some(a), ..
            } => {
                let ctx = self.data.file.inner.ctx();
                ctx.slice(*a, self.byte_size()?, "contiguous dataset storage")?;
                Ok(())
            }
            Layout::Chunked(cl) if read_bytes >= 4 << 20 => {
                let ctx = self.data.file.inner.ctx();
                let whole = cl
                    .dims
                    .iter()
                    .try_fold(self.meta.dtype.size() as u64, |a, &d| a.checked_mul(d))
                    .filter(|_| self.meta.filters.is_empty());
                // the first bad chunk in C order, whatever the map's order
                let bad = self
                    .chunk_map()?
                    .iter()
                    .filter(|(_, c)| {
                        ctx.slice(c.addr, c.size, "chunk").is_err()
                            || whole.is_some_and(|need| c.size < need)
                    })
                    .min_by(|a, b| a.0.cmp(b.0));
                match bad {
                    None => Ok(()),
                    Some((coords, c)) => {
                        let what = format!("chunk {coords:?}");
                        ctx.slice(c.addr, c.size, &what)?;
                        Err(Error::format(
                            format!(
                                "{what}: {} bytes stored, {} expected",
                                c.size,
                                whole.unwrap_or(0)
                            ),
                            c.addr,
                        ))
                    }
                }
            }
            _ => Ok(()),
        }
    }

    /// The bytes a read of `sel` produces, checked against the read limit
    /// and (before anything is allocated for them) against the storage.
    fn sel_bytes(&self, sel: &Selection) -> Result<usize> {
        let limit = self.data.file.inner.ctx().limits.max_read_bytes;
        let n = sel
            .count()
            .checked_mul(self.meta.dtype.size() as u64)
            .filter(|&b| b <= limit)
            .ok_or_else(|| {
                Error::limit(format!(
                    "reading {} elements of {} bytes from {} is over the read limit \
                     of {limit} bytes (Limits::max_read_bytes)",
                    sel.count(),
                    self.meta.dtype.size(),
                    self.name()
                ))
            })?;
        let n = usize::try_from(n).map_err(|_| Error::limit("read does not fit in memory"))?;
        self.check_storage(n)?;
        Ok(n)
    }

    /// The stored bytes of the selection, in C order.
    ///
    /// # Errors
    /// `Format` on malformed storage, `Unsupported` for unknown filters.
    pub fn read_raw_selection(&self, sel: &Selection) -> Result<Vec<u8>> {
        if let Some(d) = self.refreshed()? {
            return d.read_raw_selection(sel);
        }
        sel.check(&self.meta.space.dims)?;
        let n = self.sel_bytes(sel)?;
        let mut out = Vec::new();
        out.try_reserve_exact(n)
            .map_err(|_| Error::limit(format!("cannot allocate {n} bytes for the read")))?;
        out.resize(n, 0);
        self.read_sel_into(sel, &mut out)?;
        Ok(out)
    }

    /// Every element's stored bytes, in C order.
    ///
    /// # Errors
    /// As [`Dataset::read_raw_selection`].
    pub fn read_raw(&self) -> Result<Vec<u8>> {
        if let Some(d) = self.refreshed()? {
            return d.read_raw();
        }
        self.read_raw_selection(&Selection::all(&self.meta.space.dims))
    }

    /// Reads a selection as a flat vector of `T`.
    ///
    /// # Errors
    /// As [`Dataset::read_raw_selection`], and `Usage` when the type does
    /// not convert to `T`.
    pub fn read_selection_vec<T: H5Type + Clone>(&self, sel: &Selection) -> Result<Vec<T>> {
        if let Some(d) = self.refreshed()? {
            return d.read_selection_vec(sel);
        }
        sel.check(&self.meta.space.dims)?;
        let dt = &self.meta.dtype;
        if T::is_plain(dt)
            && let Some(z) = T::zero()
        {
            let n = sel.count() as usize;
            self.sel_bytes(sel)?;
            // `vec!` of a zero number allocates zeroed pages lazily, so
            // the pages are first touched by the (parallel) copy; it aborts
            // when the memory cannot be had, so a fallible reservation of
            // the same size is tried first to turn that into an error
            {
                let mut probe: Vec<T> = Vec::new();
                probe.try_reserve_exact(n).map_err(|_| {
                    Error::limit(format!("cannot allocate {n} elements for the read"))
                })?;
            }
            let mut v: Vec<T> = vec![z; n];
            if let Some(bytes) = T::plain_bytes(&mut v) {
                self.read_sel_into(sel, bytes)?;
                return Ok(v);
            }
        }
        let raw = self.read_raw_selection(sel)?;
        let file = &self.data.file;
        crate::hl::value::with_vlen_budget(file.limits().max_vlen_bytes, || {
            T::decode_all(file, dt, &raw)
        })
    }

    /// Every element as an N-d array of `T`.
    ///
    /// # Errors
    /// As [`Dataset::read_selection_vec`].
    pub fn read_dyn<T: H5Type + Clone>(&self) -> Result<ArrayD<T>> {
        if let Some(d) = self.refreshed()? {
            return d.read_dyn();
        }
        let sel = Selection::all(&self.meta.space.dims);
        let v = self.read_selection_vec::<T>(&sel)?;
        ArrayD::from_shape_vec(IxDyn(&sel.out_shape()), v).map_err(|e| Error::usage(e.to_string()))
    }

    /// Every element as an array of dimension `D` (`Ix1`, `Ix2`, ...).
    ///
    /// # Errors
    /// `Usage` on a dimension mismatch, else as [`Dataset::read_dyn`].
    pub fn read<T: H5Type + Clone, D: ndarray::Dimension>(&self) -> Result<ndarray::Array<T, D>> {
        self.read_dyn::<T>()?
            .into_dimensionality::<D>()
            .map_err(|e| Error::usage(format!("dataset {:?}: {e}", self.name())))
    }

    /// Every element, flattened, as a vector.
    ///
    /// # Errors
    /// As [`Dataset::read_dyn`].
    pub fn read_raw_vec<T: H5Type + Clone>(&self) -> Result<Vec<T>> {
        if let Some(d) = self.refreshed()? {
            return d.read_raw_vec();
        }
        self.read_selection_vec(&Selection::all(&self.meta.space.dims))
    }

    /// A one-dimensional dataset as an `Array1`.
    ///
    /// # Errors
    /// As [`Dataset::read`].
    pub fn read_1d<T: H5Type + Clone>(&self) -> Result<ndarray::Array1<T>> {
        self.read()
    }

    /// A two-dimensional dataset as an `Array2`.
    ///
    /// # Errors
    /// As [`Dataset::read`].
    pub fn read_2d<T: H5Type + Clone>(&self) -> Result<ndarray::Array2<T>> {
        self.read()
    }

    /// The single element of a scalar dataset.
    ///
    /// # Errors
    /// `Usage` when the dataset holds other than one element.
    pub fn read_scalar<T: H5Type + Clone>(&self) -> Result<T> {
        let mut v = self.read_raw_vec::<T>()?;
        if v.len() != 1 {
            return Err(Error::usage(format!(
                "dataset {:?} holds {} elements, not one",
                self.name(),
                v.len()
            )));
        }
        v.pop().ok_or_else(|| Error::usage("empty dataset"))
    }

    /// Reads a slice given as ndarray's `s![..]`: ranges with steps and
    /// single indices (which drop their axis, as in h5py). Only the chunks
    /// the selection touches are read.
    ///
    /// ```no_run
    /// use ndarray::s;
    /// let f = h5rs::File::open("data.h5")?;
    /// let a = f.dataset("x")?.read_slice::<f64, _, ndarray::Ix2>(s![705..716, 400..411])?;
    /// # Ok::<(), h5rs::Error>(())
    /// ```
    ///
    /// # Errors
    /// `Usage` when the slice is out of range, else as [`Dataset::read`].
    pub fn read_slice<T: H5Type + Clone, S: AsRef<[SliceInfoElem]>, D: ndarray::Dimension>(
        &self,
        slice: S,
    ) -> Result<ndarray::Array<T, D>> {
        self.read_slice_dyn::<T, S>(slice)?
            .into_dimensionality::<D>()
            .map_err(|e| Error::usage(format!("dataset {:?}: {e}", self.name())))
    }

    /// As [`Dataset::read_slice`] with a dynamic dimension.
    ///
    /// # Errors
    /// As [`Dataset::read_slice`].
    pub fn read_slice_dyn<T: H5Type + Clone, S: AsRef<[SliceInfoElem]>>(
        &self,
        slice: S,
    ) -> Result<ArrayD<T>> {
        if let Some(d) = self.refreshed()? {
            return d.read_slice_dyn(slice);
        }
        let sel = Selection::from_slice_elems(slice.as_ref(), &self.meta.space.dims)?;
        let v = self.read_selection_vec::<T>(&sel)?;
        ArrayD::from_shape_vec(IxDyn(&sel.out_shape()), v).map_err(|e| Error::usage(e.to_string()))
    }

    /// Iterates over the first axis, as iterating an h5py dataset does,
    /// reading a block of rows (a row of chunks) at a time.
    ///
    /// # Errors
    /// `Usage` on a scalar or null dataset.
    pub fn iter_rows<T: H5Type + Clone>(&self) -> Result<RowIter<T>> {
        if let Some(d) = self.refreshed()? {
            return d.iter_rows();
        }
        if self.ndim() == 0 {
            return Err(Error::usage("cannot iterate over a scalar dataset"));
        }
        let block = match &self.meta.layout {
            Layout::Chunked(c) => c.dims.first().copied().unwrap_or(1).max(1),
            _ => {
                let row: u64 = self.meta.space.dims[1..]
                    .iter()
                    .fold(1u64, |a, &d| a.saturating_mul(d))
                    .max(1)
                    .saturating_mul(self.meta.dtype.size() as u64);
                ((4u64 << 20) / row.max(1)).max(1)
            }
        };
        Ok(RowIter {
            ds: self.clone(),
            next: 0,
            block,
            buf: Vec::new(),
            buf_start: 0,
        })
    }
}

/// Iterator over the rows (first-axis slices) of a dataset.
pub struct RowIter<T> {
    ds: Dataset,
    next: u64,
    block: u64,
    buf: Vec<ArrayD<T>>,
    buf_start: u64,
}

impl<T: H5Type + Clone> Iterator for RowIter<T> {
    type Item = Result<ArrayD<T>>;

    fn next(&mut self) -> Option<Self::Item> {
        let n = *self.ds.meta.space.dims.first()?;
        if self.next >= n {
            return None;
        }
        let idx = (self.next - self.buf_start) as usize;
        if idx >= self.buf.len() {
            // load the block of rows containing `next`
            let start = self.next;
            let end = (start - start % self.block + self.block).min(n);
            let mut sel = Selection::all(&self.ds.meta.space.dims);
            sel.dims[0].start = start;
            sel.dims[0].count = end - start;
            let rows = match self.ds.read_selection_vec::<T>(&sel) {
                Ok(v) => v,
                Err(e) => {
                    self.next = n;
                    return Some(Err(e));
                }
            };
            let row_shape: Vec<usize> = self.ds.shape()[1..].to_vec();
            let per: usize = row_shape.iter().product::<usize>().max(1);
            let mut out = Vec::with_capacity((end - start) as usize);
            for r in rows.chunks(per) {
                match ArrayD::from_shape_vec(IxDyn(&row_shape), r.to_vec()) {
                    Ok(a) => out.push(a),
                    Err(e) => return Some(Err(Error::usage(e.to_string()))),
                }
            }
            self.buf = out;
            self.buf_start = start;
        }
        let idx = (self.next - self.buf_start) as usize;
        self.next += 1;
        self.buf.get(idx).cloned().map(Ok)
    }
}
