//! Opening files.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use super::group::Group;
use super::object::{Object, ObjectData};
use crate::error::{Error, Result};
use crate::format::FileCtx;
use crate::format::heap::global::GlobalHeapCollection;
use crate::format::object_header::{ObjectHeader, msg};
use crate::format::shared::{SharedIndex, read_table};
use crate::format::superblock::Superblock;
use crate::io::Source;
use crate::limits::Limits;

/// An open HDF5 file. Cheap to clone; `Send + Sync`: many threads may read
/// through clones of one `File` at once, without a global lock.
#[derive(Clone)]
pub struct File {
    pub(crate) inner: Arc<FileInner>,
    /// Set when the file is open for writing.
    pub(crate) writer: Option<Arc<super::writer::Writer>>,
}

impl std::fmt::Debug for File {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("File")
            .field("path", &self.inner.path)
            .field("superblock_version", &self.inner.sb.version)
            .finish()
    }
}

/// How [`File::open_with`] opens a file for reading.
#[derive(Clone, Copy, Debug)]
pub struct OpenOptions {
    mmap: bool,
    limits: Limits,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            mmap: true,
            limits: Limits::default(),
        }
    }
}

impl OpenOptions {
    /// Memory-mapped, default limits (what [`File::open`] does).
    pub fn new() -> Self {
        Self::default()
    }

    /// `true` (the default): map the file and read on demand. `false`:
    /// read the whole file into memory at open (as h5py's `core` driver
    /// does), so that another process truncating or rewriting it later
    /// cannot change what is read or kill the reader with SIGBUS.
    pub fn mmap(mut self, on: bool) -> Self {
        self.mmap = on;
        self
    }

    /// The [`Limits`] that bound what the file can make h5rs allocate.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }
}

/// Objects of one global heap collection: index -> (start, len) in the file.
type HeapIndex = HashMap<u32, (usize, usize)>;

pub(crate) struct FileInner {
    source: Source,
    pub(crate) sb: Superblock,
    limits: Limits,
    path: Option<PathBuf>,
    sohm: OnceLock<std::result::Result<Vec<SharedIndex>, String>>,
    global_heaps: Mutex<HashMap<u64, Arc<HeapIndex>>>,
}

impl FileInner {
    pub(crate) fn source(&self) -> &Source {
        &self.source
    }

    pub(crate) fn ctx(&self) -> FileCtx<'_> {
        FileCtx {
            data: self.source.bytes(),
            // libhdf5 takes the superblock's position as the base address
            // whenever the stored base differs from it
            base: self.sb.position,
            sizes: self.sb.sizes,
            limits: self.limits,
        }
    }
}

impl File {
    /// Opens the file at `path` for reading. The file is memory-mapped and
    /// only its superblock is read; everything else is read on demand.
    ///
    /// The file should not be truncated or rewritten by another process
    /// while it is open. Reads and object lookups check the file's length
    /// first (at most once a millisecond) and fail with an `Io` error once
    /// it has shrunk; a truncation in the middle of a read can still end
    /// the process with SIGBUS, as with any memory-mapped reader. For files
    /// that others may change, open with [`OpenOptions::mmap`]`(false)`.
    ///
    /// # Errors
    /// `Io` when the file cannot be opened, `Format` when it is not HDF5.
    pub fn open(path: impl AsRef<Path>) -> Result<File> {
        Self::open_with_limits(path, Limits::default())
    }

    /// Opens with explicit [`Limits`].
    ///
    /// # Errors
    /// As [`File::open`].
    pub fn open_with_limits(path: impl AsRef<Path>, limits: Limits) -> Result<File> {
        let path = path.as_ref();
        let source = Source::map(path)?;
        Self::from_source(source, Some(path.to_path_buf()), limits)
    }

    /// Opens `path` for reading as `options` say: with or without a
    /// memory map, and with which [`Limits`].
    ///
    /// ```no_run
    /// # fn main() -> h5rs::Result<()> {
    /// use h5rs::{File, Limits, OpenOptions};
    /// // an untrusted upload: read into memory, tight limits
    /// let f = File::open_with("upload.h5", &OpenOptions::new().mmap(false).limits(Limits::default()))?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`File::open`].
    pub fn open_with(path: impl AsRef<Path>, options: &OpenOptions) -> Result<File> {
        let path = path.as_ref();
        let source = if options.mmap {
            Source::map(path)?
        } else {
            Source::read(path)?
        };
        Self::from_source(source, Some(path.to_path_buf()), options.limits)
    }

    /// Opens a file held in memory.
    ///
    /// # Errors
    /// `Format` when the bytes are not HDF5.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<File> {
        Self::from_bytes_with_limits(bytes, Limits::default())
    }

    /// Opens a file held in memory with explicit [`Limits`].
    ///
    /// # Errors
    /// `Format` when the bytes are not HDF5.
    pub fn from_bytes_with_limits(bytes: Vec<u8>, limits: Limits) -> Result<File> {
        Self::from_source(Source::memory(bytes), None, limits)
    }

    /// Reads a whole file from `reader` into memory and opens it.
    ///
    /// # Errors
    /// `Io` on read failure, `Format` when the bytes are not HDF5.
    pub fn from_reader(mut reader: impl std::io::Read) -> Result<File> {
        let mut v = Vec::new();
        reader.read_to_end(&mut v)?;
        Self::from_bytes(v)
    }

    fn from_source(source: Source, path: Option<PathBuf>, limits: Limits) -> Result<File> {
        let sb = Superblock::read(source.bytes())?;
        if let Some(d) = sb.driver_info {
            let at = sb.position.saturating_add(d) as usize;
            if let Some(id) = crate::format::superblock::driver_id(source.bytes(), at) {
                return Err(Error::unsupported(format!(
                    "files of the {id:?} driver ({}): h5rs reads single-file HDF5 only",
                    match id.as_str() {
                        "NCSAfami" => "family: data split over numbered member files",
                        "NCSAmult" => "multi/split: metadata and raw data in separate files",
                        _ => "a driver h5rs does not know",
                    }
                )));
            }
        }
        Ok(File {
            inner: Self::inner_from_source(source, sb, path, limits),
            writer: None,
        })
    }

    fn inner_from_source(
        source: Source,
        sb: Superblock,
        path: Option<PathBuf>,
        limits: Limits,
    ) -> Arc<FileInner> {
        Arc::new(FileInner {
            source,
            sb,
            limits,
            path,
            sohm: OnceLock::new(),
            global_heaps: Mutex::new(HashMap::new()),
        })
    }

    /// A read view of a file being written, as it is on disk now.
    pub(crate) fn open_view(path: &Path, limits: Limits) -> Result<Arc<FileInner>> {
        let source = Source::map(path)?;
        let sb = Superblock::read(source.bytes())?;
        Ok(Self::inner_from_source(
            source,
            sb,
            Some(path.to_path_buf()),
            limits,
        ))
    }

    /// This handle with the file's current contents: for a file being
    /// written, a fresh view (after a flush); otherwise itself.
    pub(crate) fn current(&self) -> Result<File> {
        match &self.writer {
            Some(w) => w.view(),
            None => Ok(self.clone()),
        }
    }

    /// True when this view of a file being written is out of date.
    pub(crate) fn is_stale(&self) -> bool {
        match &self.writer {
            Some(w) => !w.is_current(&self.inner),
            None => false,
        }
    }

    /// The [`Limits`] this file was opened with.
    pub fn limits(&self) -> Limits {
        self.inner.limits
    }

    /// The path the file was opened from.
    pub fn path(&self) -> Option<&Path> {
        self.inner.path.as_deref()
    }

    /// The superblock version (0 to 3).
    pub fn superblock_version(&self) -> u8 {
        self.inner.sb.version
    }

    /// Bytes before the superblock (the user block).
    pub fn userblock_size(&self) -> u64 {
        self.inner.sb.position
    }

    /// The root group.
    ///
    /// # Errors
    /// `Format` when the root group's header is malformed.
    pub fn root(&self) -> Result<Group> {
        let data = ObjectData::load(self, self.inner.sb.root, "/".to_string())?;
        Group::from_data(data)
    }

    /// The group at `path` (absolute or relative to the root).
    ///
    /// # Errors
    /// `Usage` when there is no such object or it is not a group.
    pub fn group(&self, path: &str) -> Result<Group> {
        self.root()?.group(path)
    }

    /// The dataset at `path`.
    ///
    /// # Errors
    /// `Usage` when there is no such object or it is not a dataset.
    pub fn dataset(&self, path: &str) -> Result<super::dataset::Dataset> {
        self.root()?.dataset(path)
    }

    /// The object at `path`, whatever its kind.
    ///
    /// # Errors
    /// `Usage` when there is no such object.
    pub fn object(&self, path: &str) -> Result<Object> {
        self.root()?.object(path)
    }

    /// The attributes of the root group (h5py's `f.attrs`).
    ///
    /// # Errors
    /// `Format` on malformed attribute storage.
    pub fn attrs(&self) -> Result<Vec<super::attribute::Attribute>> {
        self.root()?.attrs()
    }

    /// The root group's attribute called `name`, as in
    /// `file.attr("FileInfo")?.read_scalar::<String>()`.
    ///
    /// # Errors
    /// `Usage` when there is none.
    pub fn attr(&self, name: &str) -> Result<super::attribute::Attribute> {
        self.root()?.attr(name)
    }

    /// Names of the root group's attributes.
    ///
    /// # Errors
    /// As [`File::attrs`].
    pub fn attr_names(&self) -> Result<Vec<String>> {
        self.root()?.attr_names()
    }

    /// Names of the root group's members, in iteration order.
    ///
    /// # Errors
    /// `Format` when the root group is malformed.
    pub fn member_names(&self) -> Result<Vec<String>> {
        self.root()?.member_names()
    }

    /// The object whose header is at `addr` (as an object reference holds).
    ///
    /// # Errors
    /// `Format` when no valid object header is there.
    pub fn object_at(&self, addr: u64) -> Result<Object> {
        Object::from_data(ObjectData::load(self, addr, String::new())?)
    }

    /// The object whose header is at `addr`, known under `path` (the name
    /// its handle reports, as when a link to it was followed).
    ///
    /// # Errors
    /// `Format` when no valid object header is there.
    pub fn object_at_path(&self, addr: u64, path: &str) -> Result<Object> {
        Object::from_data(ObjectData::load(self, addr, path.to_string())?)
    }

    /// The shared message indexes (empty when the file has none).
    pub(crate) fn shared_indexes(&self) -> Result<&[SharedIndex]> {
        let r = self
            .inner
            .sohm
            .get_or_init(|| self.load_sohm().map_err(|e| e.to_string()));
        match r {
            Ok(v) => Ok(v),
            Err(e) => Err(Error::format_noaddr(format!("shared message table: {e}"))),
        }
    }

    fn load_sohm(&self) -> Result<Vec<SharedIndex>> {
        let Some(ext) = self.inner.sb.extension else {
            return Ok(Vec::new());
        };
        let ctx = self.inner.ctx();
        let h = ObjectHeader::read(&ctx, ext)?;
        let Some(m) = h.find(msg::SHARED_TABLE) else {
            return Ok(Vec::new());
        };
        let mut c = crate::format::Cursor::new(&m.data, m.addr, ctx.sizes);
        let _version = c.u8()?;
        let addr = c.required_address("shared message table")?;
        let n = c.u8()? as usize;
        read_table(&ctx, addr, n)
    }

    /// The bytes of global heap object `index` of the collection at `addr`.
    pub(crate) fn global_heap_object(&self, addr: u64, index: u32) -> Result<&[u8]> {
        let idx = {
            let cached = self
                .inner
                .global_heaps
                .lock()
                .map_err(|_| Error::usage("global heap cache poisoned"))?
                .get(&addr)
                .cloned();
            match cached {
                Some(i) => i,
                None => {
                    let ctx = self.inner.ctx();
                    let col = GlobalHeapCollection::read(&ctx, addr)?;
                    let base = ctx.data.as_ptr() as usize;
                    let map: HeapIndex = col
                        .objects
                        .iter()
                        .map(|(i, d)| (*i as u32, (d.as_ptr() as usize - base, d.len())))
                        .collect();
                    let map = Arc::new(map);
                    if let Ok(mut g) = self.inner.global_heaps.lock() {
                        if g.len() > 4096 {
                            g.clear();
                        }
                        g.insert(addr, map.clone());
                    }
                    map
                }
            }
        };
        let (start, len) = idx.get(&index).copied().ok_or_else(|| {
            Error::format(
                format!("global heap collection has no object {index}"),
                addr,
            )
        })?;
        self.inner
            .source
            .bytes()
            .get(start..start + len)
            .ok_or_else(|| Error::format("global heap object out of range", addr))
    }
}
