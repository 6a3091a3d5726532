//! Bounds on what a file may make h5rs do.

/// Bounds applied while reading a file. Every value read from a file that
/// sizes an allocation or a loop is checked against these.
///
/// The defaults are generous for real data and safe for hostile files;
/// [`Limits::unlimited`] removes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest decoded chunk, in bytes.
    pub max_chunk_bytes: u64,
    /// Largest single in-memory result of a read, in bytes.
    pub max_read_bytes: u64,
    /// Most messages in one object header (all its chunks).
    pub max_header_messages: usize,
    /// Most continuation chunks in one object header.
    pub max_header_chunks: usize,
    /// Deepest B-tree (v1 or v2) or fractal-heap indirect-block nesting.
    pub max_tree_depth: u32,
    /// Most soft links followed while resolving one path.
    pub max_link_depth: u32,
    /// Deepest datatype nesting (compound in array in vlen ...).
    pub max_type_depth: u32,
    /// Most bytes of variable-length data (strings, sequences) one read
    /// of a dataset or attribute may produce. Elements may all point at
    /// one large heap object, so this is not bounded by the file's size.
    pub max_vlen_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_chunk_bytes: 1 << 32,
            max_read_bytes: 64 << 30,
            max_header_messages: 1 << 16,
            max_header_chunks: 1 << 12,
            max_tree_depth: 64,
            max_link_depth: 64,
            max_type_depth: 32,
            max_vlen_bytes: 4 << 30,
        }
    }
}

impl Limits {
    /// No practical bounds (still no unchecked arithmetic).
    pub fn unlimited() -> Self {
        Limits {
            max_chunk_bytes: u64::MAX,
            max_read_bytes: u64::MAX,
            max_header_messages: usize::MAX,
            max_header_chunks: usize::MAX,
            max_tree_depth: u32::MAX,
            max_link_depth: u32::MAX,
            max_type_depth: u32::MAX,
            max_vlen_bytes: u64::MAX,
        }
    }
}
