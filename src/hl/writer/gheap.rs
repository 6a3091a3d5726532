//! The global heap of a file being written: variable-length strings and
//! sequences are appended to an open collection, which is written on flush
//! and replaced by a new one when full.

use super::space::Space;
use crate::error::{Error, Result};
use crate::format::Sizes;
use crate::format::cursor::Encoder;
use crate::format::heap::global::{GlobalHeapObject, MIN_COLLECTION_SIZE, encode_collection};
use crate::hl::types::VlenSink;

/// The collection being filled.
#[derive(Debug)]
struct Open {
    addr: u64,
    size: usize,
    used: usize,
    objects: Vec<GlobalHeapObject>,
    dirty: bool,
}

/// Global heap state.
#[derive(Debug, Default)]
pub(crate) struct GlobalHeapWriter {
    open: Option<Open>,
}

fn align8(n: usize) -> usize {
    n.div_ceil(8) * 8
}

impl GlobalHeapWriter {
    /// Writes the open collection if it changed.
    pub(crate) fn flush(&mut self, space: &mut Space, sizes: Sizes) -> Result<()> {
        if let Some(o) = &mut self.open
            && o.dirty
        {
            let bytes = encode_collection(&o.objects, o.size, sizes);
            space.write(o.addr, &bytes)?;
            o.dirty = false;
        }
        Ok(())
    }
}

/// The [`VlenSink`] of a file being written.
pub(crate) struct Sink<'a> {
    pub(crate) heap: &'a mut GlobalHeapWriter,
    pub(crate) space: &'a mut Space,
    pub(crate) sizes: Sizes,
}

impl VlenSink for Sink<'_> {
    fn put(&mut self, len: u32, bytes: &[u8]) -> Result<Vec<u8>> {
        let head = align8(8 + self.sizes.length as usize);
        let need = head + align8(bytes.len());
        let fits = self
            .heap
            .open
            .as_ref()
            .is_some_and(|o| o.used + need <= o.size && o.objects.len() < u16::MAX as usize);
        if !fits {
            self.heap.flush(self.space, self.sizes)?;
            let size = MIN_COLLECTION_SIZE.max(align8(head + need));
            let addr = self.space.allocate(size as u64);
            self.heap.open = Some(Open {
                addr,
                size,
                used: head,
                objects: Vec::new(),
                dirty: true,
            });
        }
        let o = self
            .heap
            .open
            .as_mut()
            .ok_or_else(|| Error::usage("internal: no open global heap collection"))?;
        let index = o.objects.len() as u16 + 1;
        o.objects.push(GlobalHeapObject {
            index,
            refcount: 0,
            data: bytes.to_vec(),
        });
        o.used += need;
        o.dirty = true;
        let mut e = Encoder::new(self.sizes);
        e.u32(len).address(Some(o.addr)).u32(u32::from(index));
        Ok(e.into_bytes())
    }
}
