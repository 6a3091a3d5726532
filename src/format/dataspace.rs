//! The dataspace message (spec IV.A.2.b): the shape of a dataset or
//! attribute.
//!
//! ```text
//! v1: version | rank | flags | reserved (5) | dims (L each)
//!     | [max dims (L each)] | [permutation (L each)]
//! v2: version | rank | flags | type (0 scalar, 1 simple, 2 null)
//!     | dims | [max dims]
//! ```
//! A max dimension of all ones (`H5S_UNLIMITED`) means unlimited.

use super::cursor::{Cursor, Encoder};
use crate::error::{Error, Result};

/// Kind of dataspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpaceKind {
    /// One element, no dimensions.
    Scalar,
    /// An N-dimensional array.
    Simple,
    /// No elements at all.
    Null,
}

/// A decoded dataspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dataspace {
    /// Scalar, simple or null.
    pub kind: SpaceKind,
    /// Current dimensions (empty for scalar and null).
    pub dims: Vec<u64>,
    /// Maximum dimensions; `None` entries are unlimited. Equal to `dims`
    /// when the message stores none.
    pub max_dims: Vec<Option<u64>>,
}

/// Largest rank HDF5 allows.
pub const MAX_RANK: usize = 32;

impl Dataspace {
    /// A scalar dataspace.
    pub fn scalar() -> Self {
        Dataspace {
            kind: SpaceKind::Scalar,
            dims: vec![],
            max_dims: vec![],
        }
    }

    /// Number of elements (0 for null), or `None` on overflow.
    pub fn element_count(&self) -> Option<u64> {
        match self.kind {
            SpaceKind::Null => Some(0),
            SpaceKind::Scalar => Some(1),
            SpaceKind::Simple => self.dims.iter().try_fold(1u64, |a, &d| a.checked_mul(d)),
        }
    }

    /// Decodes a dataspace message.
    pub fn decode(c: &mut Cursor) -> Result<Dataspace> {
        let at = c.address();
        let version = c.u8()?;
        let rank = c.u8()? as usize;
        let flags = c.u8()?;
        if rank > MAX_RANK {
            return Err(Error::format(
                format!("dataspace: rank {rank} exceeds {MAX_RANK}"),
                at,
            ));
        }
        let kind = match version {
            1 => {
                c.skip(5)?;
                if rank == 0 {
                    SpaceKind::Scalar
                } else {
                    SpaceKind::Simple
                }
            }
            2 => match c.u8()? {
                0 => SpaceKind::Scalar,
                1 => SpaceKind::Simple,
                2 => SpaceKind::Null,
                t => {
                    return Err(Error::format(format!("dataspace: type {t}"), at));
                }
            },
            v => return Err(Error::format(format!("dataspace: version {v}"), at)),
        };
        let mut dims = Vec::with_capacity(rank);
        for _ in 0..rank {
            dims.push(c.length()?);
        }
        let mut max_dims = Vec::with_capacity(rank);
        if flags & 1 != 0 {
            let unlimited = if c.sizes().length == 8 {
                u64::MAX
            } else {
                (1u64 << (8 * c.sizes().length as u32)) - 1
            };
            for _ in 0..rank {
                let m = c.length()?;
                max_dims.push(if m == unlimited { None } else { Some(m) });
            }
        } else {
            max_dims.extend(dims.iter().map(|&d| Some(d)));
        }
        if kind != SpaceKind::Simple {
            dims.clear();
            max_dims.clear();
        }
        let space = Dataspace {
            kind,
            dims,
            max_dims,
        };
        if space.element_count().is_none() {
            return Err(Error::format(
                "dataspace: the element count overflows 64 bits",
                at,
            ));
        }
        Ok(space)
    }

    /// Encodes the message in `version` 1 (what libhdf5 writes with the
    /// earliest format bounds: no permutation, scalar as rank 0, a null
    /// space is not representable and is written as scalar) or 2 (the
    /// latest bounds). A simple space always carries its maximum
    /// dimensions, as libhdf5 writes them; unlimited ones are all ones.
    pub fn encode(&self, version: u8, sizes: super::Sizes) -> Vec<u8> {
        let mut e = Encoder::new(sizes);
        let simple = self.kind == SpaceKind::Simple;
        let rank = if simple { self.dims.len() } else { 0 };
        let flags = u8::from(simple && rank > 0);
        e.u8(if version <= 1 { 1 } else { 2 })
            .u8(rank as u8)
            .u8(flags);
        if version <= 1 {
            e.zeros(5);
        } else {
            e.u8(match self.kind {
                SpaceKind::Scalar => 0,
                SpaceKind::Simple => 1,
                SpaceKind::Null => 2,
            });
        }
        if simple {
            for &d in &self.dims {
                e.length(d);
            }
            if flags & 1 != 0 {
                let unlimited = if sizes.length >= 8 {
                    u64::MAX
                } else {
                    (1u64 << (8 * sizes.length as u32)) - 1
                };
                for i in 0..rank {
                    let m = self.max_dims.get(i).copied().flatten();
                    e.length(m.unwrap_or(unlimited));
                }
            }
        }
        e.into_bytes()
    }

    /// Decodes a dataspace message held in `data` at `addr`.
    pub fn from_message(data: &[u8], addr: u64, sizes: super::Sizes) -> Result<Dataspace> {
        let mut c = Cursor::new(data, addr, sizes);
        Self::decode(&mut c).map_err(|e| e.context("dataspace message"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::Sizes;
    use proptest::prelude::*;

    fn space() -> impl Strategy<Value = Dataspace> {
        prop_oneof![
            Just(Dataspace::scalar()),
            Just(Dataspace {
                kind: SpaceKind::Null,
                dims: vec![],
                max_dims: vec![],
            }),
            prop::collection::vec((0u64..1 << 40, prop::option::of(0u64..1 << 40)), 1..6).prop_map(
                |v| Dataspace {
                    kind: SpaceKind::Simple,
                    dims: v.iter().map(|x| x.0).collect(),
                    max_dims: v.iter().map(|x| x.1).collect(),
                }
            ),
        ]
    }

    proptest! {
        #[test]
        fn round_trip(s in space(), v in 1u8..=2) {
            prop_assume!(s.element_count().is_some());
            let b = s.encode(v, Sizes::DEFAULT);
            let back = Dataspace::from_message(&b, 0, Sizes::DEFAULT).unwrap();
            if v == 1 && s.kind == SpaceKind::Null {
                prop_assert_eq!(back, Dataspace::scalar());
            } else {
                prop_assert_eq!(back, s);
            }
        }
    }

    #[test]
    fn encode_v1_v2_bytes() {
        let s = Dataspace {
            kind: SpaceKind::Simple,
            dims: vec![3],
            max_dims: vec![None],
        };
        let mut want = vec![1u8, 1, 1, 0, 0, 0, 0, 0];
        want.extend(3u64.to_le_bytes());
        want.extend(u64::MAX.to_le_bytes());
        assert_eq!(s.encode(1, Sizes::DEFAULT), want);
        assert_eq!(Dataspace::scalar().encode(2, Sizes::DEFAULT), [2, 0, 0, 0]);
    }

    #[test]
    fn v1_simple_with_unlimited() {
        let mut b = vec![1u8, 2, 1, 0, 0, 0, 0, 0];
        b.extend(10u64.to_le_bytes());
        b.extend(20u64.to_le_bytes());
        b.extend(u64::MAX.to_le_bytes());
        b.extend(20u64.to_le_bytes());
        let s = Dataspace::from_message(&b, 0, Sizes::DEFAULT).unwrap();
        assert_eq!(s.dims, vec![10, 20]);
        assert_eq!(s.max_dims, vec![None, Some(20)]);
        assert_eq!(s.element_count(), Some(200));
    }

    #[test]
    fn v2_null_and_scalar() {
        let s = Dataspace::from_message(&[2, 0, 0, 2], 0, Sizes::DEFAULT).unwrap();
        assert_eq!(s.kind, SpaceKind::Null);
        assert_eq!(s.element_count(), Some(0));
        let s = Dataspace::from_message(&[2, 0, 0, 0], 0, Sizes::DEFAULT).unwrap();
        assert_eq!(s.kind, SpaceKind::Scalar);
    }

    #[test]
    fn overflowing_count_is_an_error() {
        let mut b = vec![2u8, 2, 0, 1];
        b.extend(u64::MAX.to_le_bytes());
        b.extend(4u64.to_le_bytes());
        let e = Dataspace::from_message(&b, 0, Sizes::DEFAULT).unwrap_err();
        assert!(e.to_string().contains("overflows"), "{e}");
        // zero elements in one dimension: any size in the others is fine
        let mut b = vec![2u8, 2, 0, 1];
        b.extend(u64::MAX.to_le_bytes());
        b.extend(0u64.to_le_bytes());
        let s = Dataspace::from_message(&b, 0, Sizes::DEFAULT).unwrap();
        assert_eq!(s.element_count(), Some(0));
    }
}
