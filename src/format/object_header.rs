//! Object headers (spec IV.A): the messages that describe an object.
//!
//! ```text
//! v1: version 1 | reserved | message count (2) | ref count (4) | size (4)
//!     | pad to 8 | messages: type (2) size (2) flags (1) reserved (3) data
//! v2: "OHDR" | version 2 | flags | [times 4x4] | [attr phase change 2x2]
//!     | chunk 0 size (1/2/4/8) | messages: type (1) size (2) flags (1)
//!     [creation order (2)] data | gap | checksum (4)
//! continuation chunks: v1 bare messages; v2 "OCHK" | messages | checksum
//! ```
//! Continuation messages (type 0x10) chain further chunks; the chain is
//! followed with cycle detection and the limits on chunks and messages.

use std::collections::{HashSet, VecDeque};

use super::FileCtx;
use super::checksum;
use super::cursor::Cursor;
use crate::error::{Error, Result};

/// Header message type codes (spec IV.A.2).
pub mod msg {
    /// NIL (padding).
    pub const NIL: u16 = 0x00;
    /// Dataspace.
    pub const DATASPACE: u16 = 0x01;
    /// Link info.
    pub const LINK_INFO: u16 = 0x02;
    /// Datatype.
    pub const DATATYPE: u16 = 0x03;
    /// Fill value (old).
    pub const FILL_OLD: u16 = 0x04;
    /// Fill value.
    pub const FILL: u16 = 0x05;
    /// Link.
    pub const LINK: u16 = 0x06;
    /// External data files.
    pub const EXTERNAL: u16 = 0x07;
    /// Data layout.
    pub const LAYOUT: u16 = 0x08;
    /// Bogus (testing).
    pub const BOGUS: u16 = 0x09;
    /// Group info.
    pub const GROUP_INFO: u16 = 0x0a;
    /// Filter pipeline.
    pub const FILTER_PIPELINE: u16 = 0x0b;
    /// Attribute.
    pub const ATTRIBUTE: u16 = 0x0c;
    /// Object comment.
    pub const COMMENT: u16 = 0x0d;
    /// Modification time (old).
    pub const MTIME_OLD: u16 = 0x0e;
    /// Shared message table.
    pub const SHARED_TABLE: u16 = 0x0f;
    /// Header continuation.
    pub const CONTINUATION: u16 = 0x10;
    /// Symbol table.
    pub const SYMBOL_TABLE: u16 = 0x11;
    /// Modification time.
    pub const MTIME: u16 = 0x12;
    /// B-tree 'K' values.
    pub const BTREE_K: u16 = 0x13;
    /// Driver info.
    pub const DRIVER_INFO: u16 = 0x14;
    /// Attribute info.
    pub const ATTRIBUTE_INFO: u16 = 0x15;
    /// Object reference count.
    pub const REFCOUNT: u16 = 0x16;
    /// File space info.
    pub const FSINFO: u16 = 0x17;
}

/// Message flag: the message data is a shared-message reference.
pub const FLAG_SHARED: u8 = 0x02;

/// One header message, its data copied out of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The message type (see [`msg`]); unknown types are kept as they are.
    pub kind: u16,
    /// Message flags.
    pub flags: u8,
    /// Creation order (v2 headers that track it).
    pub creation_order: Option<u16>,
    /// File address of the message data.
    pub addr: u64,
    /// The message data.
    pub data: Vec<u8>,
}

impl Message {
    /// True when the data is a reference to a shared message.
    pub fn is_shared(&self) -> bool {
        self.flags & FLAG_SHARED != 0
    }
}

/// A decoded object header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectHeader {
    /// Address of the header.
    pub addr: u64,
    /// Version 1 or 2.
    pub version: u8,
    /// v2 header flags.
    pub flags: u8,
    /// Every message except NIL and continuation messages, in order.
    pub messages: Vec<Message>,
}

impl ObjectHeader {
    /// Reads the header at `addr` and every continuation chunk.
    pub fn read(ctx: &FileCtx, addr: u64) -> Result<ObjectHeader> {
        let first = ctx.slice(addr, 4.min(ctx.end().saturating_sub(addr)), "object header")?;
        let r = if first == b"OHDR" {
            read_v2(ctx, addr)
        } else if first.first() == Some(&1) {
            read_v1(ctx, addr)
        } else {
            Err(Error::format(
                "object header: neither version 1 nor an OHDR signature",
                addr,
            ))
        };
        r.map_err(|e| e.context("object header").at(addr))
    }

    /// The first message of type `kind`.
    pub fn find(&self, kind: u16) -> Option<&Message> {
        self.messages.iter().find(|m| m.kind == kind)
    }

    /// Every message of type `kind`.
    pub fn all(&self, kind: u16) -> impl Iterator<Item = &Message> {
        self.messages.iter().filter(move |m| m.kind == kind)
    }
}

struct Chain {
    pending: VecDeque<(u64, u64)>,
    seen: HashSet<u64>,
    chunks: usize,
}

impl Chain {
    fn push_continuation(&mut self, ctx: &FileCtx, m: &Message) -> Result<()> {
        let mut c = Cursor::new(&m.data, m.addr, ctx.sizes);
        let a = c.required_address("continuation")?;
        let len = c.length()?;
        if !self.seen.insert(a) {
            return Err(Error::format("continuation chunk reached twice (cycle)", a));
        }
        self.chunks += 1;
        if self.chunks > ctx.limits.max_header_chunks {
            return Err(Error::limit(format!(
                "object header has more than {} continuation chunks",
                ctx.limits.max_header_chunks
            )));
        }
        self.pending.push_back((a, len));
        Ok(())
    }
}

/// Message flag: fail to open the object when the message type is unknown.
pub const FLAG_FAIL_IF_UNKNOWN: u8 = 0x80;

/// The highest message type the format defines.
pub const LAST_KNOWN_TYPE: u16 = msg::FSINFO;

fn push_message(
    ctx: &FileCtx,
    out: &mut Vec<Message>,
    chain: &mut Chain,
    m: Message,
) -> Result<()> {
    if m.kind > LAST_KNOWN_TYPE && m.flags & FLAG_FAIL_IF_UNKNOWN != 0 {
        return Err(Error::unsupported(format!(
            "object header message of unknown type {:#x} marked \"fail if unknown\" (at address {:#x})",
            m.kind, m.addr
        )));
    }
    match m.kind {
        msg::NIL => {}
        msg::CONTINUATION => chain.push_continuation(ctx, &m)?,
        _ => {
            if out.len() >= ctx.limits.max_header_messages {
                return Err(Error::limit(format!(
                    "object header has more than {} messages",
                    ctx.limits.max_header_messages
                )));
            }
            out.push(m)
        }
    }
    Ok(())
}

fn read_v1(ctx: &FileCtx, addr: u64) -> Result<ObjectHeader> {
    let mut c = ctx.cursor(addr, 16, "object header prefix")?;
    let version = c.u8()?;
    c.u8()?;
    let _nmesgs = c.u16()?;
    let _refcount = c.u32()?;
    let size = c.u32()? as u64;
    let mut chain = Chain {
        pending: VecDeque::from([(addr + 16, size)]),
        seen: HashSet::from([addr]),
        chunks: 0,
    };
    let mut messages = Vec::new();
    while let Some((a, len)) = chain.pending.pop_front() {
        let mut c = ctx.cursor(a, len, "object header chunk")?;
        while c.remaining() >= 8 {
            let kind = c.u16()?;
            let size = c.u16()? as usize;
            let flags = c.u8()?;
            c.skip(3)?;
            let maddr = c.address();
            let data = c.bytes(size).map_err(|e| e.context("message data"))?;
            let m = Message {
                kind,
                flags,
                creation_order: None,
                addr: maddr,
                data: data.to_vec(),
            };
            push_message(ctx, &mut messages, &mut chain, m)?;
        }
    }
    Ok(ObjectHeader {
        addr,
        version,
        flags: 0,
        messages,
    })
}

fn read_v2(ctx: &FileCtx, addr: u64) -> Result<ObjectHeader> {
    let mut c = ctx.cursor_at(addr, "object header")?;
    c.signature(b"OHDR", "object header")?;
    let version = c.u8()?;
    if version != 2 {
        return Err(Error::format(format!("version {version} after OHDR"), addr));
    }
    let flags = c.u8()?;
    if flags & 0x20 != 0 {
        c.skip(16)?;
    }
    if flags & 0x10 != 0 {
        c.skip(4)?;
    }
    let size_width = 1usize << (flags & 0x03);
    let chunk0 = c.uint(size_width)?;
    let start = c.position() as u64;
    // the checksum covers the prefix and chunk 0
    let total = start
        .checked_add(chunk0)
        .and_then(|t| t.checked_add(4))
        .ok_or_else(|| Error::format("chunk 0 size overflows", addr))?;
    let block = ctx.slice(addr, total, "object header chunk 0")?;
    checksum::verify(block, "object header", addr)?;
    let tracked = flags & 0x04 != 0;
    let mut chain = Chain {
        pending: VecDeque::new(),
        seen: HashSet::from([addr]),
        chunks: 0,
    };
    let mut messages = Vec::new();
    read_v2_messages(
        ctx,
        addr + start,
        chunk0,
        tracked,
        &mut messages,
        &mut chain,
    )?;
    while let Some((a, len)) = chain.pending.pop_front() {
        let block = ctx.slice(a, len, "object header continuation chunk")?;
        checksum::verify(block, "object header continuation chunk", a)?;
        let mut c = Cursor::new(block, a, ctx.sizes);
        c.signature(b"OCHK", "object header continuation chunk")?;
        let body = len
            .checked_sub(8)
            .ok_or_else(|| Error::format("continuation chunk too small", a))?;
        read_v2_messages(ctx, a + 4, body, tracked, &mut messages, &mut chain)?;
    }
    Ok(ObjectHeader {
        addr,
        version,
        flags,
        messages,
    })
}

fn read_v2_messages(
    ctx: &FileCtx,
    addr: u64,
    len: u64,
    tracked: bool,
    out: &mut Vec<Message>,
    chain: &mut Chain,
) -> Result<()> {
    let mut c = ctx.cursor(addr, len, "object header chunk")?;
    let head = if tracked { 6 } else { 4 };
    while c.remaining() >= head {
        let kind = c.u8()? as u16;
        let size = c.u16()? as usize;
        let flags = c.u8()?;
        let creation_order = if tracked { Some(c.u16()?) } else { None };
        let maddr = c.address();
        let data = c.bytes(size).map_err(|e| e.context("message data"))?;
        let m = Message {
            kind,
            flags,
            creation_order,
            addr: maddr,
            data: data.to_vec(),
        };
        push_message(ctx, out, chain, m)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::Sizes;
    use crate::limits::Limits;

    fn ctx(data: &[u8]) -> FileCtx<'_> {
        FileCtx {
            data,
            base: 0,
            sizes: Sizes::DEFAULT,
            limits: Limits::default(),
        }
    }

    #[test]
    fn v1_header_with_continuation() {
        // header at 0: one NIL-padded dataspace-ish message and a continuation
        let mut b = vec![1u8, 0, 2, 0, 1, 0, 0, 0];
        b.extend(48u32.to_le_bytes()); // size of chunk
        b.extend([0u8; 4]);
        // message 1: type 0x0d (comment) "hi\0" padded to 8
        b.extend(0x0du16.to_le_bytes());
        b.extend(8u16.to_le_bytes());
        b.extend([0u8; 4]);
        b.extend(b"hi\0\0\0\0\0\0");
        // message 2: continuation to 80, length 16
        b.extend(0x10u16.to_le_bytes());
        b.extend(16u16.to_le_bytes());
        b.extend([0u8; 4]);
        b.extend(80u64.to_le_bytes());
        b.extend(16u64.to_le_bytes());
        b.resize(80, 0);
        // continuation chunk: comment "yo"
        b.extend(0x0du16.to_le_bytes());
        b.extend(8u16.to_le_bytes());
        b.extend([0u8; 4]);
        b.extend(b"yo\0\0\0\0\0\0");
        let h = ObjectHeader::read(&ctx(&b), 0).unwrap();
        assert_eq!(h.messages.len(), 2);
        assert_eq!(&h.messages[1].data[..2], b"yo");
    }

    #[test]
    fn unknown_messages_are_kept_unless_marked_fail() {
        let mut b = vec![1u8, 0, 1, 0, 1, 0, 0, 0];
        b.extend(16u32.to_le_bytes());
        b.extend([0u8; 4]);
        b.extend(0x42u16.to_le_bytes());
        b.extend(8u16.to_le_bytes());
        b.extend([0u8; 4]);
        b.extend([7u8; 8]);
        let h = ObjectHeader::read(&ctx(&b), 0).unwrap();
        assert_eq!(h.messages[0].kind, 0x42);
        assert_eq!(h.messages[0].data, vec![7u8; 8]);
        b[16 + 4] = FLAG_FAIL_IF_UNKNOWN;
        let e = ObjectHeader::read(&ctx(&b), 0).unwrap_err();
        assert!(e.to_string().contains("fail if unknown"), "{e}");
    }

    #[test]
    fn continuation_cycle_is_detected() {
        let mut b = vec![1u8, 0, 1, 0, 1, 0, 0, 0];
        b.extend(24u32.to_le_bytes());
        b.extend([0u8; 4]);
        b.extend(0x10u16.to_le_bytes());
        b.extend(16u16.to_le_bytes());
        b.extend([0u8; 4]);
        b.extend(16u64.to_le_bytes()); // points at itself
        b.extend(24u64.to_le_bytes());
        let e = ObjectHeader::read(&ctx(&b), 0).unwrap_err();
        assert!(e.to_string().contains("cycle"), "{e}");
    }
}
