//! Version 2 B-trees (spec III.A.2): indexes of dense links (record types
//! 5, 6), dense attributes (8, 9), shared messages (7) and chunks (10, 11).
//!
//! (Being implemented; the interface below is fixed.)

use crate::error::{Error, Result};
use crate::format::FileCtx;

/// A v2 B-tree header (`BTHD`), decoded.
#[derive(Debug, Clone)]
pub struct BTreeV2 {
    /// Address of the header.
    pub addr: u64,
    /// Record type.
    pub record_type: u8,
    /// Bytes per record.
    pub record_size: u16,
    /// Total records in the tree.
    pub total_records: u64,
}

impl BTreeV2 {
    /// Reads the header at `addr`, checksum verified.
    pub fn read(_ctx: &FileCtx, addr: u64) -> Result<BTreeV2> {
        Err(Error::unsupported(format!("v2 B-tree at {addr:#x}")))
    }

    /// Calls `f` with every record's bytes, in key order (an in-order walk).
    pub fn for_each_record(
        &self,
        _ctx: &FileCtx,
        _f: &mut dyn FnMut(&[u8]) -> Result<()>,
    ) -> Result<()> {
        Err(Error::unsupported("v2 B-tree records"))
    }
}
