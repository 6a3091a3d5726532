//! The data layout message (spec IV.A.2.i): where a dataset's elements are.
//!
//! ```text
//! v1/v2: version | rank' | class | reserved (5) | [address (O)]
//!        | dims (4 each; rank' includes the element size for chunked)
//!        | [compact size (4) | data]
//! v3:    version | class | compact: size (2) data
//!                         contiguous: address (O) size (L)
//!                         chunked: rank' (1) address (O) dims (4 each)
//! v4/v5: chunked: flags | rank' | dim width | dims | index type
//!        | index info | address (O); virtual: address (O) | index (4)
//! ```

use super::cursor::{Cursor, Encoder, bytes_for};
use crate::error::{Error, Result};

/// How a chunked dataset indexes its chunks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChunkIndexKind {
    /// Version 1 B-tree (layout v1 to v3).
    BTreeV1,
    /// One chunk, no index (v4 type 1).
    Single {
        /// Stored size and filter mask when the chunk is filtered.
        filtered: Option<(u64, u32)>,
    },
    /// Chunks at fixed places, no index (v4 type 2).
    Implicit,
    /// Fixed array (v4 type 3).
    FixedArray {
        /// log2 of the elements in a data block page.
        page_bits: u8,
    },
    /// Extensible array (v4 type 4).
    ExtensibleArray {
        /// Bits for the maximum number of elements.
        max_bits: u8,
        /// Elements stored in the index block.
        index_elements: u8,
        /// Minimum data block pointers for a super block.
        min_pointers: u8,
        /// Minimum elements per data block.
        min_elements: u8,
        /// log2 of the elements in a data block page.
        page_bits: u8,
    },
    /// Version 2 B-tree (v4 type 5).
    BTreeV2 {
        /// Node size in bytes.
        node_size: u32,
        /// Split percent.
        split: u8,
        /// Merge percent.
        merge: u8,
    },
}

/// Chunked layout details.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkedLayout {
    /// Layout message version (1 to 5): v5 changes filtered chunk records.
    pub version: u8,
    /// Chunk dimensions in elements (without the element-size dimension).
    pub dims: Vec<u64>,
    /// Element size stored with the chunk dimensions.
    pub element_size: u64,
    /// The index kind.
    pub index: ChunkIndexKind,
    /// Index (or single chunk) address; `None` when nothing is allocated.
    pub address: Option<u64>,
    /// Do not filter partial edge chunks (v4 flag bit 0).
    pub dont_filter_partial_edges: bool,
}

/// A decoded layout message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// Data stored in the message.
    Compact {
        /// The raw bytes.
        data: Vec<u8>,
    },
    /// One block of the file.
    Contiguous {
        /// Its address; `None` when not allocated.
        address: Option<u64>,
        /// Its size in bytes (for v1/v2 messages, computed by the caller
        /// from the dataspace: `None`).
        size: Option<u64>,
    },
    /// Chunked.
    Chunked(ChunkedLayout),
    /// Virtual (mapped from other datasets).
    Virtual {
        /// Global heap collection of the mapping.
        address: Option<u64>,
        /// Index in the collection.
        index: u32,
    },
}

impl Layout {
    /// The canonical name of the layout class.
    pub fn class_name(&self) -> &'static str {
        match self {
            Layout::Compact { .. } => "compact",
            Layout::Contiguous { .. } => "contiguous",
            Layout::Chunked(_) => "chunked",
            Layout::Virtual { .. } => "virtual",
        }
    }

    /// Decodes a layout message.
    pub fn decode(c: &mut Cursor) -> Result<Layout> {
        let at = c.address();
        let version = c.u8()?;
        let bad = |w: String| Error::format(format!("layout: {w}"), at);
        match version {
            1 | 2 => {
                let ndims = c.u8()? as usize;
                let class = c.u8()?;
                c.skip(5)?;
                let address = if class != 0 { c.address_field()? } else { None };
                let mut dims = Vec::with_capacity(ndims.min(33));
                for _ in 0..ndims {
                    dims.push(c.u32()? as u64);
                }
                match class {
                    0 => {
                        let n = c.u32()? as usize;
                        Ok(Layout::Compact {
                            data: c.bytes(n)?.to_vec(),
                        })
                    }
                    1 => Ok(Layout::Contiguous {
                        address,
                        size: None,
                    }),
                    2 => chunked(version, dims, ChunkIndexKind::BTreeV1, address, false, at),
                    c => Err(bad(format!("class {c}"))),
                }
            }
            3..=5 => {
                let class = c.u8()?;
                match class {
                    0 => {
                        let n = c.u16()? as usize;
                        Ok(Layout::Compact {
                            data: c.bytes(n)?.to_vec(),
                        })
                    }
                    1 => {
                        let address = c.address_field()?;
                        let size = c.length()?;
                        Ok(Layout::Contiguous {
                            address,
                            size: Some(size),
                        })
                    }
                    2 if version == 3 => {
                        let ndims = c.u8()? as usize;
                        let address = c.address_field()?;
                        let mut dims = Vec::with_capacity(ndims);
                        for _ in 0..ndims {
                            dims.push(c.u32()? as u64);
                        }
                        chunked(version, dims, ChunkIndexKind::BTreeV1, address, false, at)
                    }
                    2 => {
                        let flags = c.u8()?;
                        let ndims = c.u8()? as usize;
                        let width = c.u8()? as usize;
                        if !(1..=8).contains(&width) {
                            return Err(bad(format!("dimension width {width}")));
                        }
                        let mut dims = Vec::with_capacity(ndims);
                        for _ in 0..ndims {
                            dims.push(c.uint(width)?);
                        }
                        let index = match c.u8()? {
                            1 => ChunkIndexKind::Single {
                                filtered: if flags & 0x02 != 0 {
                                    Some((c.length()?, c.u32()?))
                                } else {
                                    None
                                },
                            },
                            2 => ChunkIndexKind::Implicit,
                            3 => ChunkIndexKind::FixedArray { page_bits: c.u8()? },
                            4 => ChunkIndexKind::ExtensibleArray {
                                max_bits: c.u8()?,
                                index_elements: c.u8()?,
                                min_pointers: c.u8()?,
                                min_elements: c.u8()?,
                                page_bits: c.u8()?,
                            },
                            5 => ChunkIndexKind::BTreeV2 {
                                node_size: c.u32()?,
                                split: c.u8()?,
                                merge: c.u8()?,
                            },
                            t => return Err(bad(format!("chunk index type {t}"))),
                        };
                        let address = c.address_field()?;
                        chunked(version, dims, index, address, flags & 1 != 0, at)
                    }
                    3 if version >= 4 => {
                        let address = c.address_field()?;
                        let index = c.u32()?;
                        Ok(Layout::Virtual { address, index })
                    }
                    c => Err(bad(format!("class {c}"))),
                }
            }
            v => Err(bad(format!("version {v}"))),
        }
    }

    /// Encodes the layout message in `version` 3 (what libhdf5 writes with
    /// the earliest format bounds: compact, contiguous, or chunked with a
    /// v1 B-tree), 4 (the latest bounds: chunked with any index, virtual)
    /// or 5 (libhdf5 2.0's chunked layout, same fields as 4). Versions 1
    /// and 2 are not written: they are raised to 3. A virtual layout needs
    /// at least version 4 and is raised to it.
    ///
    /// In v4/v5 the chunk dimensions (with the element size last) take the
    /// fewest bytes that hold the largest of them, as libhdf5 chooses.
    /// A contiguous layout with no known size writes 0.
    pub fn encode(&self, version: u8, sizes: super::Sizes) -> Vec<u8> {
        let mut e = Encoder::new(sizes);
        let v = version.clamp(3, 5);
        match self {
            Layout::Compact { data } => {
                e.u8(v).u8(0).u16(data.len() as u16).bytes(data);
            }
            Layout::Contiguous { address, size } => {
                e.u8(v).u8(1).address(*address).length(size.unwrap_or(0));
            }
            Layout::Chunked(ch) if v == 3 => {
                e.u8(3)
                    .u8(2)
                    .u8(ch.dims.len() as u8 + 1)
                    .address(ch.address);
                for &d in ch.dims.iter().chain([&ch.element_size]) {
                    e.u32(d as u32);
                }
            }
            Layout::Chunked(ch) => {
                let filtered = match ch.index {
                    ChunkIndexKind::Single { filtered } => filtered,
                    _ => None,
                };
                let flags =
                    u8::from(ch.dont_filter_partial_edges) | u8::from(filtered.is_some()) << 1;
                let all = || ch.dims.iter().chain([&ch.element_size]).copied();
                let width = bytes_for(all().max().unwrap_or(0));
                e.u8(v)
                    .u8(2)
                    .u8(flags)
                    .u8(ch.dims.len() as u8 + 1)
                    .u8(width as u8);
                for d in all() {
                    e.uint(d, width);
                }
                match ch.index {
                    // a v1 B-tree has no v4 index type: write it as the
                    // v2 B-tree libhdf5 would choose for the same dataset
                    ChunkIndexKind::BTreeV1 => {
                        e.u8(5).u32(4096).u8(100).u8(40);
                    }
                    ChunkIndexKind::Single { filtered } => {
                        e.u8(1);
                        if let Some((size, mask)) = filtered {
                            e.length(size).u32(mask);
                        }
                    }
                    ChunkIndexKind::Implicit => {
                        e.u8(2);
                    }
                    ChunkIndexKind::FixedArray { page_bits } => {
                        e.u8(3).u8(page_bits);
                    }
                    ChunkIndexKind::ExtensibleArray {
                        max_bits,
                        index_elements,
                        min_pointers,
                        min_elements,
                        page_bits,
                    } => {
                        e.u8(4)
                            .u8(max_bits)
                            .u8(index_elements)
                            .u8(min_pointers)
                            .u8(min_elements)
                            .u8(page_bits);
                    }
                    ChunkIndexKind::BTreeV2 {
                        node_size,
                        split,
                        merge,
                    } => {
                        e.u8(5).u32(node_size).u8(split).u8(merge);
                    }
                }
                e.address(ch.address);
            }
            Layout::Virtual { address, index } => {
                e.u8(v.max(4)).u8(3).address(*address).u32(*index);
            }
        }
        e.into_bytes()
    }

    /// Decodes a layout message held in `data` at `addr`.
    pub fn from_message(data: &[u8], addr: u64, sizes: super::Sizes) -> Result<Layout> {
        let mut c = Cursor::new(data, addr, sizes);
        Self::decode(&mut c).map_err(|e| e.context("layout message"))
    }
}

fn chunked(
    version: u8,
    mut dims: Vec<u64>,
    index: ChunkIndexKind,
    address: Option<u64>,
    dont_filter_partial_edges: bool,
    at: u64,
) -> Result<Layout> {
    let element_size = dims
        .pop()
        .ok_or_else(|| Error::format("layout: chunked with no dimensions", at))?;
    if dims.contains(&0) {
        return Err(Error::format("layout: chunk dimension of 0", at));
    }
    // libhdf5 keeps a chunk's size in 32 bits; the product at least must
    // be representable
    if dims
        .iter()
        .try_fold(element_size.max(1), |a, &d| a.checked_mul(d))
        .is_none()
    {
        return Err(Error::format("layout: chunk size overflows 64 bits", at));
    }
    Ok(Layout::Chunked(ChunkedLayout {
        version,
        dims,
        element_size,
        index,
        address,
        dont_filter_partial_edges,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::Sizes;
    use proptest::prelude::*;

    fn index() -> impl Strategy<Value = ChunkIndexKind> {
        prop_oneof![
            prop::option::of((0u64..1 << 40, any::<u32>()))
                .prop_map(|filtered| ChunkIndexKind::Single { filtered }),
            Just(ChunkIndexKind::Implicit),
            any::<u8>().prop_map(|page_bits| ChunkIndexKind::FixedArray { page_bits }),
            any::<[u8; 5]>().prop_map(|b| ChunkIndexKind::ExtensibleArray {
                max_bits: b[0],
                index_elements: b[1],
                min_pointers: b[2],
                min_elements: b[3],
                page_bits: b[4],
            }),
            (any::<u32>(), any::<u8>(), any::<u8>()).prop_map(|(node_size, split, merge)| {
                ChunkIndexKind::BTreeV2 {
                    node_size,
                    split,
                    merge,
                }
            }),
        ]
    }

    fn addr() -> impl Strategy<Value = Option<u64>> {
        prop::option::of(0u64..1 << 48)
    }

    proptest! {
        #[test]
        fn round_trip_simple(data in prop::collection::vec(any::<u8>(), 0..100),
                             a in addr(), size in 0u64..1 << 40, v in 3u8..=5) {
            for l in [Layout::Compact { data: data.clone() },
                      Layout::Contiguous { address: a, size: Some(size) }] {
                let b = l.encode(v, Sizes::DEFAULT);
                prop_assert_eq!(Layout::from_message(&b, 0, Sizes::DEFAULT).unwrap(), l);
            }
        }

        #[test]
        fn round_trip_chunked(dims in prop::collection::vec(1u64..1 << 31, 1..5),
                              element_size in 1u64..1 << 16, index in index(), a in addr(),
                              edges in any::<bool>(), v in 3u8..=5) {
            prop_assume!(dims.iter().try_fold(element_size, |a, &d| a.checked_mul(d)).is_some());
            let ch = ChunkedLayout {
                version: v,
                dims,
                element_size,
                index: if v == 3 { ChunkIndexKind::BTreeV1 } else { index },
                address: a,
                dont_filter_partial_edges: edges && v > 3,
            };
            let l = Layout::Chunked(ch);
            let b = l.encode(v, Sizes::DEFAULT);
            prop_assert_eq!(Layout::from_message(&b, 0, Sizes::DEFAULT).unwrap(), l);
        }

        #[test]
        fn round_trip_virtual(a in addr(), index in any::<u32>()) {
            let l = Layout::Virtual { address: a, index };
            let b = l.encode(4, Sizes::DEFAULT);
            prop_assert_eq!(Layout::from_message(&b, 0, Sizes::DEFAULT).unwrap(), l);
        }
    }

    #[test]
    fn encode_v4_fixed_array() {
        let l = Layout::Chunked(ChunkedLayout {
            version: 4,
            dims: vec![10, 300],
            element_size: 8,
            index: ChunkIndexKind::FixedArray { page_bits: 10 },
            address: Some(0x800),
            dont_filter_partial_edges: false,
        });
        let mut want = vec![4u8, 2, 0, 3, 2, 10, 0, 0x2c, 1, 8, 0, 3, 10];
        want.extend(0x800u64.to_le_bytes());
        assert_eq!(l.encode(4, Sizes::DEFAULT), want);
    }

    #[test]
    fn v3_contiguous() {
        let mut b = vec![3u8, 1];
        b.extend(2048u64.to_le_bytes());
        b.extend(800u64.to_le_bytes());
        let l = Layout::from_message(&b, 0, Sizes::DEFAULT).unwrap();
        assert_eq!(
            l,
            Layout::Contiguous {
                address: Some(2048),
                size: Some(800)
            }
        );
    }

    #[test]
    fn v4_fixed_array() {
        let mut b = vec![4u8, 2, 0, 3, 4];
        b.extend(10u32.to_le_bytes());
        b.extend(20u32.to_le_bytes());
        b.extend(8u32.to_le_bytes());
        b.extend([3, 10]);
        b.extend(4096u64.to_le_bytes());
        match Layout::from_message(&b, 0, Sizes::DEFAULT).unwrap() {
            Layout::Chunked(c) => {
                assert_eq!(c.dims, vec![10, 20]);
                assert_eq!(c.element_size, 8);
                assert_eq!(c.index, ChunkIndexKind::FixedArray { page_bits: 10 });
                assert_eq!(c.address, Some(4096));
            }
            l => panic!("{l:?}"),
        }
    }

    #[test]
    fn v4_extensible_array_written_by_libhdf5() {
        // Chunks (2, 4) of 2-byte elements; each extensible array parameter
        // is one byte: max bits 32, index block elements 4, min pointers 4,
        // min elements 16, page bits 10.
        let b = [
            0x04, 0x02, 0x00, 0x03, 0x01, 0x02, 0x04, 0x02, 0x04, 0x20, 0x04, 0x04, 0x10, 0x0a,
            0xbf, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        ];
        match Layout::from_message(&b, 0, Sizes::DEFAULT).unwrap() {
            Layout::Chunked(c) => {
                assert_eq!(
                    (c.version, c.dims.clone(), c.element_size),
                    (4, vec![2, 4], 2)
                );
                assert_eq!(
                    c.index,
                    ChunkIndexKind::ExtensibleArray {
                        max_bits: 32,
                        index_elements: 4,
                        min_pointers: 4,
                        min_elements: 16,
                        page_bits: 10,
                    }
                );
                assert_eq!(c.address, Some(0x1bf));
            }
            l => panic!("{l:?}"),
        }
    }

    #[test]
    fn zero_chunk_dim_is_rejected() {
        let mut b = vec![3u8, 2, 2];
        b.extend(4096u64.to_le_bytes());
        b.extend(0u32.to_le_bytes());
        b.extend(8u32.to_le_bytes());
        assert!(Layout::from_message(&b, 0, Sizes::DEFAULT).is_err());
    }
}
