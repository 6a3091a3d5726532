//! The link message (spec IV.A.2.g): one named link of a new-style group.
//!
//! ```text
//! version 1 | flags | [type (1)] | [creation order (8)] | [charset (1)]
//!   | name length (1/2/4/8) | name | hard: address (O)
//!   | soft: length (2) path | external/user: length (2) data
//! ```

use super::cursor::{Cursor, Encoder};
use crate::error::{Error, Result};

/// Where a link points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkTarget {
    /// An object header address.
    Hard(u64),
    /// A path in the same file.
    Soft(String),
    /// A path in another file.
    External {
        /// The file name as stored.
        file: String,
        /// The object path in that file.
        path: String,
    },
    /// A user-defined link class (64 to 255) and its data.
    UserDefined {
        /// The link class.
        class: u8,
        /// Its stored data.
        data: Vec<u8>,
    },
}

/// A named link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The link name (UTF-8 or ASCII bytes, lossily decoded).
    pub name: String,
    /// The target.
    pub target: LinkTarget,
    /// Creation order, when tracked.
    pub creation_order: Option<u64>,
}

/// Splits external link data: flags byte, then file name and object path,
/// each NUL-terminated.
pub fn decode_external(data: &[u8], at: u64) -> Result<LinkTarget> {
    let bad = || Error::format("external link: malformed value", at);
    let (_, rest) = data.split_first().ok_or_else(bad)?;
    let mut parts = rest.splitn(3, |&b| b == 0);
    let file = parts.next().ok_or_else(bad)?;
    let path = parts.next().ok_or_else(bad)?;
    Ok(LinkTarget::External {
        file: String::from_utf8_lossy(file).into_owned(),
        path: String::from_utf8_lossy(path).into_owned(),
    })
}

impl Link {
    /// Decodes a link message.
    pub fn decode(c: &mut Cursor) -> Result<Link> {
        let at = c.address();
        let version = c.u8()?;
        if version != 1 {
            return Err(Error::format(format!("link: version {version}"), at));
        }
        let flags = c.u8()?;
        let ltype = if flags & 0x08 != 0 { c.u8()? } else { 0 };
        let creation_order = if flags & 0x04 != 0 {
            Some(c.u64()?)
        } else {
            None
        };
        if flags & 0x10 != 0 {
            c.u8()?;
        }
        let name_len = c.uint(1 << (flags & 0x03))? as usize;
        if name_len == 0 {
            return Err(Error::format("link: empty name", at));
        }
        let name = String::from_utf8_lossy(c.bytes(name_len)?).into_owned();
        let target = match ltype {
            0 => LinkTarget::Hard(c.required_address("hard link")?),
            1 => {
                let n = c.u16()? as usize;
                LinkTarget::Soft(String::from_utf8_lossy(c.bytes(n)?).into_owned())
            }
            64 => {
                let n = c.u16()? as usize;
                decode_external(c.bytes(n)?, at)?
            }
            t if t >= 65 => {
                let n = c.u16()? as usize;
                LinkTarget::UserDefined {
                    class: t,
                    data: c.bytes(n)?.to_vec(),
                }
            }
            t => return Err(Error::format(format!("link: type {t}"), at)),
        };
        Ok(Link {
            name,
            target,
            creation_order,
        })
    }

    /// Encodes the link message (version 1) as libhdf5 writes it: the type
    /// only for links that are not hard, the creation order when tracked,
    /// a charset byte (UTF-8) only for a name that is not ASCII (h5py asks
    /// for UTF-8 exactly then), and the name length in the fewest bytes.
    pub fn encode(&self, sizes: super::Sizes) -> Vec<u8> {
        let mut e = Encoder::new(sizes);
        let name = self.name.as_bytes();
        let width_code: u8 = match name.len() {
            n if n <= 0xff => 0,
            n if n <= 0xffff => 1,
            n if n <= 0xffff_ffff => 2,
            _ => 3,
        };
        let ltype = match &self.target {
            LinkTarget::Hard(_) => 0u8,
            LinkTarget::Soft(_) => 1,
            LinkTarget::External { .. } => 64,
            LinkTarget::UserDefined { class, .. } => *class,
        };
        let utf8 = !self.name.is_ascii();
        let flags = width_code
            | u8::from(self.creation_order.is_some()) << 2
            | u8::from(ltype != 0) << 3
            | u8::from(utf8) << 4;
        e.u8(1).u8(flags);
        if ltype != 0 {
            e.u8(ltype);
        }
        if let Some(o) = self.creation_order {
            e.u64(o);
        }
        if utf8 {
            e.u8(1);
        }
        e.uint(name.len() as u64, 1 << width_code).bytes(name);
        match &self.target {
            LinkTarget::Hard(a) => {
                e.address(Some(*a));
            }
            LinkTarget::Soft(p) => {
                e.u16(p.len() as u16).bytes(p.as_bytes());
            }
            LinkTarget::External { file, path } => {
                e.u16((file.len() + path.len() + 3) as u16)
                    .u8(0)
                    .bytes(file.as_bytes())
                    .u8(0)
                    .bytes(path.as_bytes())
                    .u8(0);
            }
            LinkTarget::UserDefined { data, .. } => {
                e.u16(data.len() as u16).bytes(data);
            }
        }
        e.into_bytes()
    }

    /// Decodes a link message held in `data` at `addr`.
    pub fn from_message(data: &[u8], addr: u64, sizes: super::Sizes) -> Result<Link> {
        let mut c = Cursor::new(data, addr, sizes);
        Self::decode(&mut c).map_err(|e| e.context("link message"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::Sizes;
    use proptest::prelude::*;

    fn target() -> impl Strategy<Value = LinkTarget> {
        prop_oneof![
            (0u64..1 << 48).prop_map(LinkTarget::Hard),
            "[a-z/]{0,40}".prop_map(LinkTarget::Soft),
            ("[a-z.]{0,20}", "[a-z/]{0,20}")
                .prop_map(|(file, path)| LinkTarget::External { file, path }),
            (65u8..=255, prop::collection::vec(any::<u8>(), 0..30))
                .prop_map(|(class, data)| LinkTarget::UserDefined { class, data }),
        ]
    }

    proptest! {
        #[test]
        fn round_trip(name in "[a-zA-Z0-9_\u{e9}\u{3bc}]{1,300}", target in target(),
                      creation_order in prop::option::of(any::<u64>())) {
            let l = Link { name, target, creation_order };
            let b = l.encode(Sizes::DEFAULT);
            prop_assert_eq!(Link::from_message(&b, 0, Sizes::DEFAULT).unwrap(), l);
        }
    }

    #[test]
    fn encode_hard_with_order() {
        let l = Link {
            name: "Mu".into(),
            target: LinkTarget::Hard(0x7d03),
            creation_order: Some(2),
        };
        let mut want = vec![1u8, 4, 2, 0, 0, 0, 0, 0, 0, 0, 2, b'M', b'u'];
        want.extend(0x7d03u64.to_le_bytes());
        assert_eq!(l.encode(Sizes::DEFAULT), want);
    }

    #[test]
    fn hard_link() {
        let mut b = vec![1u8, 0, 3];
        b.extend(b"abc");
        b.extend(1234u64.to_le_bytes());
        let l = Link::from_message(&b, 0, Sizes::DEFAULT).unwrap();
        assert_eq!(l.name, "abc");
        assert_eq!(l.target, LinkTarget::Hard(1234));
    }

    #[test]
    fn soft_link_with_order() {
        let mut b = vec![1u8, 0x0c, 1];
        b.extend(7u64.to_le_bytes());
        b.push(1);
        b.push(b'x');
        b.extend(2u16.to_le_bytes());
        b.extend(b"/y");
        let l = Link::from_message(&b, 0, Sizes::DEFAULT).unwrap();
        assert_eq!(l.creation_order, Some(7));
        assert_eq!(l.target, LinkTarget::Soft("/y".into()));
    }

    #[test]
    fn external_link() {
        let mut b = vec![1u8, 0x08, 64, 1, b'e'];
        let v = b"\0f.h5\0/a/b\0";
        b.extend((v.len() as u16).to_le_bytes());
        b.extend(v);
        let l = Link::from_message(&b, 0, Sizes::DEFAULT).unwrap();
        assert_eq!(
            l.target,
            LinkTarget::External {
                file: "f.h5".into(),
                path: "/a/b".into()
            }
        );
    }
}
