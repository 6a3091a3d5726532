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
//!
//! Writing, as libhdf5 does (checked byte for byte against the fixtures):
//! the v1 prefix is 12 bytes padded to 16, and its message count counts
//! every message of every chunk, NIL and continuation messages included;
//! v1 message data is padded to 8 and the padded size is stored. The space
//! left at the end of a chunk is one NIL message, or in v2 a gap of zero
//! bytes when less than a message header remains. The v2 chunk 0 size
//! takes the fewest of 1, 2, 4 or 8 bytes that hold it. [`RawHeader`]
//! keeps what a re-encode needs (chunks, NIL and continuation messages,
//! the prefix fields); [`HeaderPrefix`] encodes.

use std::collections::{HashSet, VecDeque};

use super::FileCtx;
use super::checksum;
use super::cursor::{Cursor, Encoder, Sizes};
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
        let raw = RawHeader::read(ctx, addr)?;
        let (version, flags) = match &raw.prefix {
            HeaderPrefix::V1 { .. } => (1, 0),
            HeaderPrefix::V2(p) => (2, raw.v2_flags.unwrap_or_else(|| p.flags(0))),
        };
        let messages = raw
            .chunks
            .into_iter()
            .flat_map(|c| c.messages)
            .filter(|m| m.kind != msg::NIL && m.kind != msg::CONTINUATION)
            .collect();
        Ok(ObjectHeader {
            addr,
            version,
            flags,
            messages,
        })
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

/// What a v2 header's prefix holds besides its chunk 0 size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct V2Prefix {
    /// Access, modification, change and birth times (flag bit 5).
    pub times: Option<[u32; 4]>,
    /// Maximum compact and minimum dense attribute counts, when not the
    /// defaults 8 and 6 (flag bit 4).
    pub attr_phase_change: Option<(u16, u16)>,
    /// Attribute creation order is tracked: every message carries a
    /// 2-byte creation order (flag bit 2).
    pub track_creation_order: bool,
    /// Attribute creation order is indexed (flag bit 3).
    pub index_creation_order: bool,
}

impl V2Prefix {
    /// The header flags, with `width_code` (0 to 3: 1, 2, 4 or 8 bytes) for
    /// the chunk 0 size.
    pub fn flags(&self, width_code: u8) -> u8 {
        let mut f = width_code & 0x03;
        if self.track_creation_order {
            f |= 0x04;
        }
        if self.index_creation_order {
            f |= 0x08;
        }
        if self.attr_phase_change.is_some() {
            f |= 0x10;
        }
        if self.times.is_some() {
            f |= 0x20;
        }
        f
    }

    fn from_flags(flags: u8) -> Self {
        V2Prefix {
            times: None,
            attr_phase_change: None,
            track_creation_order: flags & 0x04 != 0,
            index_creation_order: flags & 0x08 != 0,
        }
    }
}

/// The version and prefix fields of a header, for encoding (and as read by
/// [`RawHeader::read`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderPrefix {
    /// Version 1: the object's reference count lives in the prefix.
    V1 {
        /// Hard links to the object.
        refcount: u32,
    },
    /// Version 2 (`OHDR`).
    V2(V2Prefix),
}

impl HeaderPrefix {
    /// True when messages carry a creation order.
    pub fn tracked(&self) -> bool {
        matches!(self, HeaderPrefix::V2(p) if p.track_creation_order)
    }

    /// Bytes of a message's header in a chunk: 8 in v1, 4 or 6 in v2.
    pub fn message_header_size(&self) -> usize {
        match self {
            HeaderPrefix::V1 { .. } => 8,
            HeaderPrefix::V2(p) if p.track_creation_order => 6,
            HeaderPrefix::V2(_) => 4,
        }
    }

    /// Bytes `m` takes in a chunk: header plus data (padded to 8 in v1).
    pub fn message_size(&self, m: &Message) -> usize {
        match self {
            HeaderPrefix::V1 { .. } => 8 + m.data.len().div_ceil(8) * 8,
            HeaderPrefix::V2(_) => self.message_header_size() + m.data.len(),
        }
    }

    /// Bytes of a continuation chunk's own framing: 8 in v2 (`OCHK` and
    /// the checksum), none in v1.
    pub fn continuation_overhead(&self) -> usize {
        match self {
            HeaderPrefix::V1 { .. } => 0,
            HeaderPrefix::V2(_) => 8,
        }
    }

    fn encode_message(&self, e: &mut Encoder, m: &Message) -> Result<()> {
        match self {
            HeaderPrefix::V1 { .. } => {
                let padded = m.data.len().div_ceil(8) * 8;
                let size = u16::try_from(padded).map_err(|_| too_big(m))?;
                e.u16(m.kind).u16(size).u8(m.flags).zeros(3);
                e.bytes(&m.data).zeros(padded - m.data.len());
            }
            HeaderPrefix::V2(p) => {
                let kind = u8::try_from(m.kind).map_err(|_| {
                    Error::format_noaddr(format!(
                        "object header: message type {:#x} does not fit a v2 header",
                        m.kind
                    ))
                })?;
                let size = u16::try_from(m.data.len()).map_err(|_| too_big(m))?;
                e.u8(kind).u16(size).u8(m.flags);
                if p.track_creation_order {
                    e.u16(m.creation_order.unwrap_or(0));
                }
                e.bytes(&m.data);
            }
        }
        Ok(())
    }

    /// Writes `messages` then fills the chunk up to `len` bytes of
    /// messages: with a NIL message when at least a message header
    /// remains, else (v2 only, or an unaligned v1 tail) with zero bytes, a
    /// gap.
    fn encode_messages(&self, e: &mut Encoder, messages: &[Message], len: usize) -> Result<()> {
        let start = e.position();
        for m in messages {
            self.encode_message(e, m)?;
        }
        let used = e.position() - start;
        if used > len {
            return Err(Error::format_noaddr(format!(
                "object header: {used} bytes of messages exceed the chunk's {len}"
            )));
        }
        let left = len - used;
        let head = self.message_header_size();
        if left >= head && left - head <= u16::MAX as usize {
            let nil = Message {
                kind: msg::NIL,
                flags: 0,
                creation_order: self.tracked().then_some(0),
                addr: 0,
                data: vec![0; left - head],
            };
            self.encode_message(e, &nil)?;
        } else {
            e.zeros(left);
        }
        Ok(())
    }

    /// Encodes the prefix and chunk 0, `chunk0_size` bytes of messages:
    /// `messages` in order, then NIL padding (or a gap) to the end.
    ///
    /// v1: the 16-byte prefix (version, reserved, `message_count`, the
    /// reference count, chunk 0 size, 4 reserved bytes). `message_count`
    /// counts every message of every chunk, NIL and continuation messages
    /// included (the padding NIL of this chunk too). libhdf5 keeps v1
    /// messages and chunk sizes multiples of 8.
    ///
    /// v2: `OHDR`, version 2, flags, the optional times and phase change
    /// values, chunk 0 size in the width libhdf5 picks (the smallest of 1,
    /// 2, 4 and 8 bytes that holds it), messages, then the checksum.
    /// `message_count` is not stored.
    pub fn encode_first_chunk(
        &self,
        messages: &[Message],
        chunk0_size: usize,
        message_count: u16,
        sizes: Sizes,
    ) -> Result<Vec<u8>> {
        let mut e = Encoder::new(sizes);
        match self {
            HeaderPrefix::V1 { refcount } => {
                let size = u32::try_from(chunk0_size).map_err(|_| {
                    Error::format_noaddr("object header: chunk 0 is too large for v1")
                })?;
                e.u8(1)
                    .u8(0)
                    .u16(message_count)
                    .u32(*refcount)
                    .u32(size)
                    .zeros(4);
                self.encode_messages(&mut e, messages, chunk0_size)?;
            }
            HeaderPrefix::V2(p) => {
                let n = chunk0_size as u64;
                let code = if n <= 0xff {
                    0
                } else if n <= 0xffff {
                    1
                } else if n <= 0xffff_ffff {
                    2
                } else {
                    3
                };
                e.bytes(b"OHDR").u8(2).u8(p.flags(code));
                if let Some(t) = p.times {
                    for v in t {
                        e.u32(v);
                    }
                }
                if let Some((max_compact, min_dense)) = p.attr_phase_change {
                    e.u16(max_compact).u16(min_dense);
                }
                e.uint(n, 1 << code);
                self.encode_messages(&mut e, messages, chunk0_size)?;
                let sum = checksum::lookup3(e.as_bytes(), 0);
                e.u32(sum);
            }
        }
        Ok(e.into_bytes())
    }

    /// Encodes a continuation chunk of `len` bytes, the length its
    /// continuation message gives: v1 bare messages; v2 `OCHK`, messages
    /// and the checksum. The messages are NIL-padded (or followed by a
    /// gap) to fill the chunk.
    pub fn encode_continuation_chunk(
        &self,
        messages: &[Message],
        len: usize,
        sizes: Sizes,
    ) -> Result<Vec<u8>> {
        let body = len
            .checked_sub(self.continuation_overhead())
            .ok_or_else(|| Error::format_noaddr("object header: continuation chunk too small"))?;
        let mut e = Encoder::new(sizes);
        match self {
            HeaderPrefix::V1 { .. } => self.encode_messages(&mut e, messages, body)?,
            HeaderPrefix::V2(_) => {
                e.bytes(b"OCHK");
                self.encode_messages(&mut e, messages, body)?;
                let sum = checksum::lookup3(e.as_bytes(), 0);
                e.u32(sum);
            }
        }
        Ok(e.into_bytes())
    }

    /// Splits `messages` greedily over chunk 0 (`chunk0_size` bytes of
    /// messages) and the continuation chunks `continuations` (address and
    /// length, as reserved by the caller), in order: a chunk takes
    /// messages while the next one still fits together with the room for
    /// a continuation message when more messages follow; a continuation
    /// message to the next chunk ends every chunk but the last one used.
    /// Returns the message lists, one per chunk used (continuation messages
    /// included, padding not).
    pub fn lay_out(
        &self,
        messages: &[Message],
        chunk0_size: usize,
        continuations: &[(u64, u64)],
        sizes: Sizes,
    ) -> Result<Vec<Vec<Message>>> {
        let cont_size = self.message_size(&continuation_message(0, 0, sizes));
        let mut bodies = vec![chunk0_size];
        for &(_, len) in continuations {
            let body = usize::try_from(len)
                .ok()
                .and_then(|l| l.checked_sub(self.continuation_overhead()))
                .ok_or_else(|| {
                    Error::format_noaddr("object header: continuation chunk too small")
                })?;
            bodies.push(body);
        }
        let mut out: Vec<Vec<Message>> = vec![Vec::new()];
        let mut left = bodies[0];
        let mut chunk = 0;
        for (j, m) in messages.iter().enumerate() {
            let size = self.message_size(m);
            let reserve = if j + 1 < messages.len() && chunk + 1 < bodies.len() {
                cont_size
            } else {
                0
            };
            if size + reserve > left {
                let Some(&(addr, len)) = continuations.get(chunk) else {
                    return Err(Error::format_noaddr(format!(
                        "object header: {} messages do not fit the chunks given",
                        messages.len()
                    )));
                };
                if cont_size > left {
                    return Err(Error::format_noaddr(
                        "object header: no room for a continuation message",
                    ));
                }
                let mut c = continuation_message(addr, len, sizes);
                if self.tracked() {
                    c.creation_order = Some(0);
                }
                out[chunk].push(c);
                chunk += 1;
                left = bodies[chunk];
                out.push(Vec::new());
                let reserve = if j + 1 < messages.len() && chunk + 1 < bodies.len() {
                    cont_size
                } else {
                    0
                };
                if size + reserve > left {
                    return Err(Error::format_noaddr(format!(
                        "object header: a {size}-byte message does not fit continuation chunk {chunk}"
                    )));
                }
            }
            left -= size;
            out[chunk].push(m.clone());
        }
        Ok(out)
    }

    /// Encodes a whole header: lays `messages` out with [`Self::lay_out`]
    /// and encodes chunk 0 (with the prefix) and each continuation chunk
    /// used. Returns the chunks' bytes, chunk 0 first; the caller writes
    /// chunk `i` at the address it reserved for it.
    pub fn encode(
        &self,
        messages: &[Message],
        chunk0_size: usize,
        continuations: &[(u64, u64)],
        sizes: Sizes,
    ) -> Result<Vec<Vec<u8>>> {
        let chunks = self.lay_out(messages, chunk0_size, continuations, sizes)?;
        let mut count = 0usize;
        let mut lens = vec![chunk0_size];
        for (i, c) in chunks.iter().enumerate() {
            let body = if i == 0 {
                chunk0_size
            } else {
                continuations[i - 1].1 as usize - self.continuation_overhead()
            };
            if i > 0 {
                lens.push(continuations[i - 1].1 as usize);
            }
            let used: usize = c.iter().map(|m| self.message_size(m)).sum();
            count += c.len() + usize::from(body - used >= self.message_header_size());
        }
        let count = u16::try_from(count)
            .map_err(|_| Error::format_noaddr("object header: more than 65535 messages"))?;
        let mut out = Vec::with_capacity(chunks.len());
        for (i, c) in chunks.iter().enumerate() {
            out.push(if i == 0 {
                self.encode_first_chunk(c, chunk0_size, count, sizes)?
            } else {
                self.encode_continuation_chunk(c, lens[i], sizes)?
            });
        }
        Ok(out)
    }
}

fn too_big(m: &Message) -> Error {
    Error::format_noaddr(format!(
        "object header: message of type {:#x} has {} bytes, more than a message can hold",
        m.kind,
        m.data.len()
    ))
}

/// A continuation message pointing at the chunk at `addr`, `len` bytes.
pub fn continuation_message(addr: u64, len: u64, sizes: Sizes) -> Message {
    let mut e = Encoder::new(sizes);
    e.address(Some(addr)).length(len);
    Message {
        kind: msg::CONTINUATION,
        flags: 0,
        creation_order: None,
        addr: 0,
        data: e.into_bytes(),
    }
}

/// One chunk of a header as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawChunk {
    /// Address of the chunk's first message (v1 chunk 0: the header
    /// address plus 16; v2 continuation chunks: after `OCHK`).
    pub addr: u64,
    /// Bytes of messages (gap included, signature and checksum excluded).
    pub len: u64,
    /// Every message in stored order, NIL and continuation ones included.
    pub messages: Vec<Message>,
}

/// A header as stored, chunk by chunk: what a byte-exact re-encode needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawHeader {
    /// Version and prefix fields.
    pub prefix: HeaderPrefix,
    /// v1: the message count stored in the prefix.
    pub message_count: u16,
    /// v2: the flags as stored.
    pub v2_flags: Option<u8>,
    /// The chunks, chunk 0 first, in the order the chain reaches them.
    pub chunks: Vec<RawChunk>,
}

impl RawHeader {
    /// Reads the header at `addr` and its continuation chunks, keeping
    /// every message where it is.
    pub fn read(ctx: &FileCtx, addr: u64) -> Result<RawHeader> {
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
}

struct Chain {
    pending: VecDeque<(u64, u64)>,
    seen: HashSet<u64>,
    chunks: usize,
    messages: usize,
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
            if chain.messages >= ctx.limits.max_header_messages {
                return Err(Error::limit(format!(
                    "object header has more than {} messages",
                    ctx.limits.max_header_messages
                )));
            }
            chain.messages += 1;
        }
    }
    // NIL messages cost no allocation beyond their data, which is bounded
    // by the chunk; the limit on chunks bounds their number
    out.push(m);
    Ok(())
}

fn read_v1(ctx: &FileCtx, addr: u64) -> Result<RawHeader> {
    let mut c = ctx.cursor(addr, 16, "object header prefix")?;
    let _version = c.u8()?;
    c.u8()?;
    let message_count = c.u16()?;
    let refcount = c.u32()?;
    let size = c.u32()? as u64;
    let mut chain = Chain {
        pending: VecDeque::from([(addr + 16, size)]),
        seen: HashSet::from([addr]),
        chunks: 0,
        messages: 0,
    };
    let mut chunks = Vec::new();
    while let Some((a, len)) = chain.pending.pop_front() {
        let mut c = ctx.cursor(a, len, "object header chunk")?;
        let mut messages = Vec::new();
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
        chunks.push(RawChunk {
            addr: a,
            len,
            messages,
        });
    }
    Ok(RawHeader {
        prefix: HeaderPrefix::V1 { refcount },
        message_count,
        v2_flags: None,
        chunks,
    })
}

fn read_v2(ctx: &FileCtx, addr: u64) -> Result<RawHeader> {
    let mut c = ctx.cursor_at(addr, "object header")?;
    c.signature(b"OHDR", "object header")?;
    let version = c.u8()?;
    if version != 2 {
        return Err(Error::format(format!("version {version} after OHDR"), addr));
    }
    let flags = c.u8()?;
    let mut prefix = V2Prefix::from_flags(flags);
    if flags & 0x20 != 0 {
        prefix.times = Some([c.u32()?, c.u32()?, c.u32()?, c.u32()?]);
    }
    if flags & 0x10 != 0 {
        prefix.attr_phase_change = Some((c.u16()?, c.u16()?));
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
        messages: 0,
    };
    let mut chunks = Vec::new();
    chunks.push(read_v2_messages(
        ctx,
        addr + start,
        chunk0,
        tracked,
        &mut chain,
    )?);
    while let Some((a, len)) = chain.pending.pop_front() {
        let block = ctx.slice(a, len, "object header continuation chunk")?;
        checksum::verify(block, "object header continuation chunk", a)?;
        let mut c = Cursor::new(block, a, ctx.sizes);
        c.signature(b"OCHK", "object header continuation chunk")?;
        let body = len
            .checked_sub(8)
            .ok_or_else(|| Error::format("continuation chunk too small", a))?;
        chunks.push(read_v2_messages(ctx, a + 4, body, tracked, &mut chain)?);
    }
    Ok(RawHeader {
        prefix: HeaderPrefix::V2(prefix),
        message_count: 0,
        v2_flags: Some(flags),
        chunks,
    })
}

fn read_v2_messages(
    ctx: &FileCtx,
    addr: u64,
    len: u64,
    tracked: bool,
    chain: &mut Chain,
) -> Result<RawChunk> {
    let mut c = ctx.cursor(addr, len, "object header chunk")?;
    let head = if tracked { 6 } else { 4 };
    let mut messages = Vec::new();
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
        push_message(ctx, &mut messages, chain, m)?;
    }
    Ok(RawChunk {
        addr,
        len,
        messages,
    })
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

    fn arb_messages(v1: bool) -> impl proptest::strategy::Strategy<Value = Vec<Message>> {
        use proptest::prelude::*;
        let m = (
            1u16..0x18,
            0u8..4,
            proptest::collection::vec(any::<u8>(), 0..40),
        )
            .prop_map(move |(kind, flags, mut data)| {
                let kind = if kind == msg::CONTINUATION {
                    msg::COMMENT
                } else {
                    kind
                };
                if v1 {
                    data.resize(data.len().div_ceil(8) * 8, 0);
                }
                Message {
                    kind,
                    flags,
                    creation_order: None,
                    addr: 0,
                    data,
                }
            });
        proptest::collection::vec(m, 0..12)
    }

    fn strip(ms: &[Message]) -> Vec<(u16, u8, Option<u16>, Vec<u8>)> {
        ms.iter()
            .map(|m| (m.kind, m.flags, m.creation_order, m.data.clone()))
            .collect()
    }

    /// Encodes over chunk 0 at 0 and continuation chunks at 1024, 2048, ...
    fn encode_and_read(p: HeaderPrefix, ms: &[Message], chunk0: usize) -> ObjectHeader {
        let conts: Vec<(u64, u64)> = (1..4).map(|i| (i * 1024, 400)).collect();
        let chunks = p.encode(ms, chunk0, &conts, Sizes::DEFAULT).unwrap();
        let mut file = vec![0u8; 4096];
        for (i, c) in chunks.iter().enumerate() {
            file[i * 1024..i * 1024 + c.len()].copy_from_slice(c);
        }
        ObjectHeader::read(&ctx(&file), 0).unwrap()
    }

    proptest::proptest! {
        #[test]
        fn v1_round_trips(ms in arb_messages(true), chunk0 in 3usize..20) {
            let h = encode_and_read(HeaderPrefix::V1 { refcount: 1 }, &ms, chunk0 * 8);
            proptest::prop_assert_eq!(h.version, 1);
            proptest::prop_assert_eq!(strip(&h.messages), strip(&ms));
        }

        #[test]
        fn v2_round_trips(ms in arb_messages(false), chunk0 in 24usize..160, tracked in proptest::prelude::any::<bool>(),
                          times in proptest::option::of(proptest::prelude::any::<[u32; 4]>())) {
            let ms: Vec<Message> = ms.into_iter().enumerate()
                .map(|(i, mut m)| { m.creation_order = tracked.then_some(i as u16); m }).collect();
            let p = V2Prefix { times, attr_phase_change: None, track_creation_order: tracked, index_creation_order: false };
            let h = encode_and_read(HeaderPrefix::V2(p), &ms, chunk0);
            proptest::prop_assert_eq!(h.version, 2);
            proptest::prop_assert_eq!(strip(&h.messages), strip(&ms));
        }
    }

    #[test]
    fn v2_chunk0_width_and_gap() {
        let p = HeaderPrefix::V2(V2Prefix::default());
        let m = Message {
            kind: msg::COMMENT,
            flags: 0,
            creation_order: None,
            addr: 0,
            data: b"ab\0".to_vec(),
        };
        // 7 bytes of message, 2 left: a gap, not a NIL
        let b = p
            .encode_first_chunk(std::slice::from_ref(&m), 9, 0, Sizes::DEFAULT)
            .unwrap();
        assert_eq!(&b[..7], b"OHDR\x02\x00\x09");
        assert_eq!(&b[7..16], b"\x0d\x03\x00\x00ab\0\0\0");
        assert_eq!(b.len(), 7 + 9 + 4);
        checksum::verify(&b, "test", 0).unwrap();
        let b = p.encode_first_chunk(&[m], 300, 0, Sizes::DEFAULT).unwrap();
        assert_eq!(b[5], 0x01);
        assert_eq!(&b[6..8], &300u16.to_le_bytes());
        // the rest is one NIL message
        assert_eq!(&b[15..19], &[0, (300 - 7 - 4) as u8, 1, 0]);
    }

    #[test]
    fn too_many_messages_for_the_chunks_is_an_error() {
        let p = HeaderPrefix::V1 { refcount: 1 };
        let m = Message {
            kind: msg::COMMENT,
            flags: 0,
            creation_order: None,
            addr: 0,
            data: vec![1; 32],
        };
        assert!(p.encode(&vec![m; 4], 64, &[], Sizes::DEFAULT).is_err());
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
