//! The in-memory state of a file being written: every object created, with
//! what its object header will hold. Structures are laid out and written
//! on flush.

use std::collections::{BTreeMap, HashMap};

use crate::error::{Error, Result};
use crate::format::dataspace::Dataspace;
use crate::format::datatype::Datatype;
use crate::format::fill_value::FillValue;
use crate::format::filter_pipeline::FilterInfo;
use crate::format::link::LinkTarget;

/// File space a structure occupies, to free when it is rewritten.
pub(crate) type Extent = (u64, u64);

/// Where an object header lives: chunk 0 (its address is the object's
/// identity) and any continuation chunks.
#[derive(Debug, Clone)]
pub(crate) struct HeaderSpace {
    pub(crate) addr: u64,
    /// Bytes of messages in chunk 0 (the prefix not counted).
    pub(crate) chunk0: usize,
    /// Continuation chunks (address, length).
    pub(crate) conts: Vec<Extent>,
}

/// An attribute as it will be stored.
#[derive(Debug, Clone)]
pub(crate) struct Attr {
    pub(crate) name: String,
    pub(crate) dtype: Datatype,
    pub(crate) space: Dataspace,
    pub(crate) data: Vec<u8>,
    /// Creation index.
    pub(crate) order: u16,
}

/// One link of a group.
#[derive(Debug, Clone)]
pub(crate) struct LinkM {
    pub(crate) name: String,
    pub(crate) target: LinkTarget,
    pub(crate) order: u64,
}

/// How a group stores its links.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GroupStyle {
    /// Symbol table: v1 B-tree, symbol table nodes and a local heap.
    SymbolTable,
    /// Link messages in the header (link info and group info messages).
    Links,
}

/// A group.
#[derive(Debug, Clone)]
pub(crate) struct GroupM {
    pub(crate) style: GroupStyle,
    /// Links in creation order.
    pub(crate) links: Vec<LinkM>,
    /// Name → position in `links`.
    pub(crate) index: HashMap<String, usize>,
    pub(crate) track_order: bool,
    pub(crate) next_order: u64,
    /// Local heap header address (symbol-table groups; stays put).
    pub(crate) heap_header: Option<u64>,
    /// Space of the current B-tree nodes, symbol table nodes and heap data.
    pub(crate) stab_space: Vec<Extent>,
    /// B-tree root and local heap header of the last layout.
    pub(crate) stab: Option<(u64, u64)>,
    /// Space of the dense link storage last written (heap and indexes).
    pub(crate) dense_space: Vec<Extent>,
}

impl GroupM {
    pub(crate) fn new(style: GroupStyle, track_order: bool) -> GroupM {
        GroupM {
            style,
            links: Vec::new(),
            index: HashMap::new(),
            track_order,
            next_order: 0,
            heap_header: None,
            stab_space: Vec::new(),
            stab: None,
            dense_space: Vec::new(),
        }
    }
}

/// A stored chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ChunkLoc {
    pub(crate) addr: u64,
    pub(crate) size: u64,
    pub(crate) mask: u32,
}

/// The chunk index a chunked dataset is written with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IndexChoice {
    /// Version 1 B-tree (layout message v3).
    BTreeV1,
    /// A single chunk, no index (layout v4).
    Single,
    /// Implicit (layout v4): every chunk of the maximum grid allocated in
    /// one block, unfiltered (libhdf5's choice with early allocation).
    Implicit,
    /// Version 2 B-tree (layout v4): more than one unlimited dimension.
    BTreeV2,
    /// Fixed array (layout v4): no unlimited dimension.
    FixedArray,
    /// Extensible array (layout v4): exactly one unlimited dimension.
    ExtensibleArray,
}

/// Chunked storage.
#[derive(Debug, Clone)]
pub(crate) struct ChunkedM {
    pub(crate) dims: Vec<u64>,
    pub(crate) chunks: BTreeMap<Vec<u64>, ChunkLoc>,
    pub(crate) index: IndexChoice,
    /// Space of the index structure last written.
    pub(crate) index_space: Vec<Extent>,
    /// Index address last written.
    pub(crate) index_addr: Option<u64>,
    pub(crate) index_dirty: bool,
    /// The layout message of a loaded dataset (its version and index
    /// parameters are kept).
    pub(crate) layout: Option<crate::format::layout::ChunkedLayout>,
}

impl ChunkedM {
    /// New chunked storage with chunk shape `dims`, nothing written yet.
    pub(crate) fn new(dims: Vec<u64>, index: IndexChoice) -> ChunkedM {
        ChunkedM {
            dims,
            chunks: BTreeMap::new(),
            index,
            index_space: Vec::new(),
            index_addr: None,
            index_dirty: true,
            layout: None,
        }
    }
}

/// Dataset storage.
#[derive(Debug, Clone)]
pub(crate) enum LayoutM {
    Compact(Vec<u8>),
    Contiguous {
        addr: Option<u64>,
    },
    Chunked(ChunkedM),
    /// A loaded dataset whose storage h5rs does not write (external raw
    /// data, virtual): its layout is kept as it is.
    Kept,
    /// A virtual dataset: its mappings are global heap object `index` of
    /// the collection at `address`.
    Virtual {
        address: u64,
        index: u32,
    },
}

/// A dataset.
#[derive(Debug, Clone)]
pub(crate) struct DatasetM {
    pub(crate) dtype: Datatype,
    /// The committed datatype the dataset's type refers to.
    pub(crate) dtype_ref: Option<u64>,
    pub(crate) space: Dataspace,
    pub(crate) layout: LayoutM,
    pub(crate) filters: Vec<FilterInfo>,
    pub(crate) fill: FillValue,
    /// Loaded from the file: its datatype, fill value and filter messages
    /// are kept as they were.
    pub(crate) loaded: bool,
}

impl DatasetM {
    /// One element of the fill value (zeros when none is set).
    pub(crate) fn fill_element(&self) -> Vec<u8> {
        match &self.fill.value {
            Some(v) if v.len() == self.dtype.size() => v.clone(),
            _ => vec![0; self.dtype.size()],
        }
    }

    /// Bytes of storage the dataset's current extent needs, uncompressed.
    pub(crate) fn data_bytes(&self) -> Result<u64> {
        self.space
            .element_count()
            .unwrap_or(0)
            .checked_mul(self.dtype.size() as u64)
            .ok_or_else(|| Error::format_noaddr("dataset: element count × element size overflows"))
    }
}

/// What an object is.
#[derive(Debug, Clone)]
pub(crate) enum Kind {
    Group(GroupM),
    Dataset(DatasetM),
    /// A committed (named) datatype.
    Datatype(Datatype),
}

/// An object being written.
#[derive(Debug, Clone)]
pub(crate) struct Obj {
    pub(crate) header: HeaderSpace,
    pub(crate) kind: Kind,
    /// Attributes in creation order.
    pub(crate) attrs: Vec<Attr>,
    pub(crate) track_attr_order: bool,
    /// The creation index the next attribute gets.
    pub(crate) next_attr_order: u16,
    /// Space of the dense attribute storage last written.
    pub(crate) attr_space: Vec<Extent>,
    /// The header prefix of an object loaded from the file (new objects
    /// take the format's).
    pub(crate) prefix: Option<crate::format::object_header::HeaderPrefix>,
    /// Messages of a loaded object kept as they are.
    pub(crate) kept: Vec<crate::format::object_header::Message>,
    /// The attributes are in `attrs` (always, for new objects); until a
    /// loaded object's attributes change they stay in `kept`.
    pub(crate) attrs_loaded: bool,
    /// Hard links to the object.
    pub(crate) refcount: u32,
    /// The header must be rewritten on the next flush.
    pub(crate) dirty: bool,
    /// The header is on disk (a flush wrote it, or it was loaded).
    pub(crate) written: bool,
}
