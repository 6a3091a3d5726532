//! The link message (spec IV.A.2.g): one named link of a new-style group.
//!
//! ```text
//! version 1 | flags | [type (1)] | [creation order (8)] | [charset (1)]
//!   | name length (1/2/4/8) | name | hard: address (O)
//!   | soft: length (2) path | external/user: length (2) data
//! ```

use super::cursor::Cursor;
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
