//! The superblock (spec II.A): format signature, widths, root group.
//!
//! ```text
//! v0/1: sig(8) ver free_ver root_ver 0 shared_ver sizeof_off sizeof_len 0
//!       leaf_k(2) internal_k(2) flags(4) [v1: indexed_k(2) 0(2)]
//!       base eof_ext_addr(free-space) eoa driver_info root_symbol_table_entry
//! v2/3: sig(8) ver sizeof_off sizeof_len flags base ext eoa root_ohdr checksum
//! ```
//!
//! Writing: [`Superblock::encode`] writes what libhdf5 writes. In v0/v1 the
//! spec's free-space info address is always undefined, the driver
//! information address is undefined for the default driver, and the root
//! symbol table entry caches the root group's B-tree and local heap (cache
//! type 1). Checked byte for byte against the fixtures (v0, v1, v2, v3).

use super::checksum;
use super::cursor::{Cursor, Encoder, Sizes};
use super::symbol_table::{Scratch, SymbolTableEntry};
use crate::error::{Error, Result};

/// The eight-byte format signature.
pub const SIGNATURE: [u8; 8] = *b"\x89HDF\r\n\x1a\n";

/// A decoded superblock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Superblock {
    /// Version 0 to 3.
    pub version: u8,
    /// Absolute position of the signature in the file (the user block size).
    pub position: u64,
    /// Widths of addresses and lengths.
    pub sizes: Sizes,
    /// Group leaf node K (v0/1).
    pub group_leaf_k: u16,
    /// Group internal node K (v0/1).
    pub group_internal_k: u16,
    /// Chunked-storage internal node K (v1; 32 when absent).
    pub indexed_storage_k: u16,
    /// File consistency flags.
    pub flags: u32,
    /// Base address: absolute position of address 0.
    pub base_address: u64,
    /// Superblock extension object header (v2/3).
    pub extension: Option<u64>,
    /// End-of-file address stored in the superblock.
    pub eof: u64,
    /// Address of the root group's object header.
    pub root: u64,
    /// Driver information block (v0/1): present for the family, multi
    /// and split file drivers.
    pub driver_info: Option<u64>,
    /// The root symbol table entry (v0/1), which may cache the root group's
    /// B-tree and heap addresses.
    pub root_entry: Option<SymbolTableEntry>,
}

/// Finds the signature at 0, 512, 1024, 2048, ... and returns its position.
pub fn find_signature(data: &[u8]) -> Result<u64> {
    let mut pos: u64 = 0;
    loop {
        let p = pos as usize;
        if p.checked_add(8).is_none_or(|e| e > data.len()) {
            return Err(Error::format_noaddr(
                "not an HDF5 file: no format signature at 0, 512, 1024, 2048, ...",
            ));
        }
        if data[p..p + 8] == SIGNATURE {
            return Ok(pos);
        }
        pos = if pos == 0 { 512 } else { pos * 2 };
    }
}

/// The file driver named by a driver information block (spec II.B):
/// version 0, 3 reserved bytes, info size (4), an 8-byte driver id such as
/// `NCSAfami` (family) or `NCSAmult` (multi/split).
pub fn driver_id(data: &[u8], at: usize) -> Option<String> {
    let b = data.get(at..at.checked_add(16)?)?;
    if b[0] != 0 {
        return None;
    }
    Some(String::from_utf8_lossy(&b[8..16]).into_owned())
}

impl Superblock {
    /// Finds and decodes the superblock of a whole file's bytes.
    pub fn read(data: &[u8]) -> Result<Superblock> {
        let position = find_signature(data)?;
        let buf = &data[position as usize..];
        Self::decode(buf, position).map_err(|e| e.context("superblock"))
    }

    /// Decodes a superblock from `buf` (starting at its signature), which
    /// sits at absolute `position`.
    pub fn decode(buf: &[u8], position: u64) -> Result<Superblock> {
        let mut c = Cursor::new(buf, position, Sizes::DEFAULT);
        c.signature(&SIGNATURE, "superblock")?;
        let version = c.u8()?;
        match version {
            0 | 1 => Self::decode_v01(buf, c, version, position),
            2 | 3 => Self::decode_v23(buf, c, version, position),
            v => Err(Error::unsupported(format!("superblock version {v}"))),
        }
    }

    fn decode_v01(buf: &[u8], mut c: Cursor, version: u8, position: u64) -> Result<Superblock> {
        let _free_space_version = c.u8()?;
        let _root_group_version = c.u8()?;
        c.u8()?;
        let _shared_header_version = c.u8()?;
        let sizes = Sizes::new(c.u8()?, c.u8()?)?;
        c.u8()?;
        let group_leaf_k = c.u16()?;
        let group_internal_k = c.u16()?;
        let flags = c.u32()?;
        let mut indexed_storage_k = 32;
        if version == 1 {
            indexed_storage_k = c.u16()?;
            c.u16()?;
        }
        if group_leaf_k == 0 || group_internal_k == 0 {
            return Err(Error::format("B-tree K of 0", position));
        }
        let mut c = Cursor::new(&buf[c.position()..], position + c.position() as u64, sizes);
        let base_address = c.uint(sizes.offset as usize)?;
        let _free_space = c.address_field()?;
        let eof = c.uint(sizes.offset as usize)?;
        let driver_info = c.address_field()?;
        let root_entry = SymbolTableEntry::decode(&mut c)?;
        Ok(Superblock {
            version,
            position,
            sizes,
            group_leaf_k,
            group_internal_k,
            indexed_storage_k,
            flags,
            base_address,
            extension: None,
            eof,
            root: root_entry.header,
            driver_info,
            root_entry: Some(root_entry),
        })
    }

    fn decode_v23(buf: &[u8], mut c: Cursor, version: u8, position: u64) -> Result<Superblock> {
        let sizes = Sizes::new(c.u8()?, c.u8()?)?;
        let flags = c.u8()? as u32;
        let mut c = Cursor::new(&buf[c.position()..], position + c.position() as u64, sizes);
        let base_address = c.uint(sizes.offset as usize)?;
        let extension = c.address_field()?;
        let eof = c.uint(sizes.offset as usize)?;
        let root = c.required_address("root group object header")?;
        let len = 8 + 4 + 4 * sizes.offset as usize;
        let block = buf
            .get(..len + 4)
            .ok_or_else(|| Error::format("truncated", position))?;
        checksum::verify(block, "superblock", position)?;
        Ok(Superblock {
            version,
            position,
            sizes,
            group_leaf_k: 4,
            group_internal_k: 16,
            indexed_storage_k: 32,
            flags,
            base_address,
            extension,
            eof,
            root,
            driver_info: None,
            root_entry: None,
        })
    }

    /// Encodes the superblock as libhdf5 writes it, starting at its
    /// signature.
    ///
    /// Versions 0 and 1 write the free-space address as undefined, the
    /// driver information address as given (undefined for the default
    /// driver) and the root symbol table entry (one naming `root` with
    /// nothing cached when `root_entry` is `None`). Versions 2 and 3 end
    /// with the lookup3 checksum. Other versions are unsupported.
    pub fn encode(&self) -> Result<Vec<u8>> {
        let mut e = Encoder::new(Sizes::DEFAULT);
        e.bytes(&SIGNATURE).u8(self.version);
        match self.version {
            0 | 1 => {
                // free-space, root group and shared header versions 0
                e.u8(0).u8(0).u8(0).u8(0);
                e.u8(self.sizes.offset).u8(self.sizes.length).u8(0);
                e.u16(self.group_leaf_k)
                    .u16(self.group_internal_k)
                    .u32(self.flags);
                if self.version == 1 {
                    e.u16(self.indexed_storage_k).u16(0);
                }
                let mut rest = Encoder::new(self.sizes);
                let n = self.sizes.offset as usize;
                rest.uint(self.base_address, n)
                    .address(None)
                    .uint(self.eof, n)
                    .address(self.driver_info);
                let entry = self.root_entry.unwrap_or(SymbolTableEntry {
                    name_offset: 0,
                    header: self.root,
                    scratch: Scratch::None,
                });
                entry.encode(&mut rest);
                e.bytes(rest.as_bytes());
                Ok(e.into_bytes())
            }
            2 | 3 => {
                e.u8(self.sizes.offset).u8(self.sizes.length);
                let flags = u8::try_from(self.flags).map_err(|_| {
                    Error::format_noaddr(format!(
                        "superblock: flags {:#x} do not fit in one byte",
                        self.flags
                    ))
                })?;
                e.u8(flags);
                let mut rest = Encoder::new(self.sizes);
                let n = self.sizes.offset as usize;
                rest.uint(self.base_address, n)
                    .address(self.extension)
                    .uint(self.eof, n)
                    .address(Some(self.root));
                e.bytes(rest.as_bytes());
                let sum = checksum::lookup3(e.as_bytes(), 0);
                e.u32(sum);
                Ok(e.into_bytes())
            }
            v => Err(Error::unsupported(format!("superblock version {v}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn v2_bytes() -> Vec<u8> {
        let mut b = SIGNATURE.to_vec();
        b.extend([2, 8, 8, 0]);
        b.extend(0u64.to_le_bytes()); // base
        b.extend(u64::MAX.to_le_bytes()); // extension
        b.extend(4096u64.to_le_bytes()); // eof
        b.extend(48u64.to_le_bytes()); // root
        let sum = checksum::lookup3(&b, 0);
        b.extend(sum.to_le_bytes());
        b
    }

    #[test]
    fn decodes_v2() {
        let sb = Superblock::read(&v2_bytes()).unwrap();
        assert_eq!(sb.version, 2);
        assert_eq!(sb.root, 48);
        assert_eq!(sb.extension, None);
        assert_eq!(sb.eof, 4096);
    }

    #[test]
    fn detects_bad_checksum() {
        let mut b = v2_bytes();
        b[20] ^= 1;
        let e = Superblock::read(&b).unwrap_err();
        assert!(e.to_string().contains("checksum"), "{e}");
    }

    #[test]
    fn finds_signature_after_user_block() {
        let mut b = vec![0u8; 512];
        b.extend(v2_bytes());
        let sb = Superblock::read(&b).unwrap();
        assert_eq!(sb.position, 512);
    }

    #[test]
    fn encodes_v2_byte_exactly() {
        let sb = Superblock::read(&v2_bytes()).unwrap();
        assert_eq!(sb.encode().unwrap(), v2_bytes());
    }

    fn arb_sizes() -> impl Strategy<Value = Sizes> {
        (0usize..3, 0usize..3).prop_map(|(o, l)| Sizes::new([2, 4, 8][o], [2, 4, 8][l]).unwrap())
    }

    proptest! {
        #[test]
        fn v0_v1_round_trip(version in 0u8..2, sizes in arb_sizes(), leaf in 1u16..100,
                            internal in 1u16..100, ik in 1u16..100, eof in 0u64..0x7fff,
                            root in 0u64..0x7fff, cache in proptest::option::of((0u64..0x7fff, 0u64..0x7fff))) {
            let scratch = match cache { Some((btree, heap)) => Scratch::Group { btree, heap }, None => Scratch::None };
            let sb = Superblock {
                version, position: 0, sizes, group_leaf_k: leaf, group_internal_k: internal,
                indexed_storage_k: if version == 1 { ik } else { 32 }, flags: 0, base_address: 0,
                extension: None, eof, root, driver_info: None,
                root_entry: Some(SymbolTableEntry { name_offset: 0, header: root, scratch }),
            };
            prop_assert_eq!(Superblock::decode(&sb.encode().unwrap(), 0).unwrap(), sb);
        }

        #[test]
        fn v2_v3_round_trip(version in 2u8..4, sizes in arb_sizes(), flags in 0u32..8,
                            eof in 0u64..0x7fff, root in 0u64..0x7fff, ext in proptest::option::of(0u64..0x7fff)) {
            let sb = Superblock {
                version, position: 0, sizes, group_leaf_k: 4, group_internal_k: 16,
                indexed_storage_k: 32, flags, base_address: 0, extension: ext, eof, root,
                driver_info: None, root_entry: None,
            };
            prop_assert_eq!(Superblock::decode(&sb.encode().unwrap(), 0).unwrap(), sb);
        }
    }

    #[test]
    fn rejects_non_hdf5() {
        assert!(Superblock::read(b"CDF\x01 not hdf5 at all").is_err());
    }
}
