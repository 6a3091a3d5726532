//! On-disk structures: decode (and later encode) of every HDF5 structure.
//!
//! This layer knows the bytes and nothing else: no files, no ndarray. It
//! reads through a [`FileCtx`], a view of the whole file's bytes together with
//! the widths and base address fixed by the superblock.
#![forbid(unsafe_code)]

pub mod alloc;
pub mod attribute;
pub mod btree_v1;
pub mod btree_v2;
pub mod checksum;
pub mod chunk_index;
pub mod cursor;
pub mod dataspace;
pub mod datatype;
pub mod fill_value;
pub mod filter_pipeline;
pub mod heap;
pub mod layout;
pub mod link;
pub mod messages;
pub mod object_header;
pub mod reference;
pub mod shared;
pub mod superblock;
pub mod symbol_table;
pub mod vds;

use crate::error::{Error, Result};
use crate::limits::Limits;
pub use cursor::{Cursor, Sizes};

/// The bytes of a file and what the superblock says about reading them.
///
/// All addresses given to its methods are relative to the superblock's base
/// address, as every address stored in HDF5 is.
#[derive(Debug, Clone, Copy)]
pub struct FileCtx<'a> {
    /// The whole file, from byte 0 (user block included).
    pub data: &'a [u8],
    /// Absolute position of address 0 (the superblock's base address).
    pub base: u64,
    /// Widths of addresses and lengths.
    pub sizes: Sizes,
    /// Bounds on what the file may make the reader do.
    pub limits: Limits,
}

impl<'a> FileCtx<'a> {
    /// Size of the file in address space (bytes after the base).
    pub fn end(&self) -> u64 {
        (self.data.len() as u64).saturating_sub(self.base)
    }

    fn start(&self, addr: u64, what: &str) -> Result<usize> {
        let abs = self
            .base
            .checked_add(addr)
            .filter(|&a| a <= self.data.len() as u64)
            .ok_or_else(|| {
                Error::format(
                    format!(
                        "{what}: address is past the end of the file ({} bytes)",
                        self.data.len()
                    ),
                    addr,
                )
            })?;
        Ok(abs as usize)
    }

    /// The `len` bytes at `addr`, checked against the end of the file.
    pub fn slice(&self, addr: u64, len: u64, what: &str) -> Result<&'a [u8]> {
        let start = self.start(addr, what)?;
        let avail = self.data.len() - start;
        if len > avail as u64 {
            return Err(Error::format(
                format!("{what}: {len} bytes run past the end of the file"),
                addr,
            ));
        }
        Ok(&self.data[start..start + len as usize])
    }

    /// A cursor over the `len` bytes at `addr`.
    pub fn cursor(&self, addr: u64, len: u64, what: &str) -> Result<Cursor<'a>> {
        Ok(Cursor::new(self.slice(addr, len, what)?, addr, self.sizes))
    }

    /// The `len` bytes at `addr` as a checksummed block of the newer
    /// structures: its signature, a version byte that must be 0, and a
    /// lookup3 checksum in its last 4 bytes are checked, in that order. The
    /// cursor is left just after the version byte.
    pub fn checksummed_block(
        &self,
        addr: u64,
        len: u64,
        signature: &[u8],
        what: &str,
    ) -> Result<Cursor<'a>> {
        let block = self.slice(addr, len, what)?;
        let mut c = Cursor::new(block, addr, self.sizes);
        c.signature(signature, what)?;
        let version = c.u8()?;
        if version != 0 {
            return Err(Error::format(format!("{what}: version {version}"), addr));
        }
        checksum::verify(block, what, addr)?;
        Ok(c)
    }

    /// A cursor from `addr` to the end of the file.
    pub fn cursor_at(&self, addr: u64, what: &str) -> Result<Cursor<'a>> {
        let start = self.start(addr, what)?;
        Ok(Cursor::new(&self.data[start..], addr, self.sizes))
    }
}
