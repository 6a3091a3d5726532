//! What every object (group, dataset, committed datatype) shares: its
//! header, its messages with shared ones resolved, and its attributes.

use std::sync::Arc;

use super::attribute::Attribute;
use super::dataset::Dataset;
use super::file::File;
use super::group::Group;
use crate::error::{Error, Result};
use crate::format::btree_v2::BTreeV2;
use crate::format::cursor::Cursor;
use crate::format::datatype::Datatype;
use crate::format::heap::fractal::FractalHeap;
use crate::format::messages::AttributeInfo;
use crate::format::object_header::{Message, ObjectHeader, msg};
use crate::format::shared::SharedRef;

/// A loaded object header with the file it belongs to.
pub(crate) struct ObjectData {
    pub(crate) file: File,
    pub(crate) addr: u64,
    pub(crate) path: String,
    pub(crate) header: ObjectHeader,
    /// A handle to an object of a file being written whose header is not
    /// loaded: every read goes through a fresh view.
    pub(crate) placeholder: bool,
}

impl ObjectData {
    pub(crate) fn load(file: &File, addr: u64, path: String) -> Result<Arc<ObjectData>> {
        file.inner.source().check_intact()?;
        let header = ObjectHeader::read(&file.inner.ctx(), addr)?;
        Ok(Arc::new(ObjectData {
            file: file.clone(),
            addr,
            path,
            header,
            placeholder: false,
        }))
    }

    /// A handle to an object of a file being written, not loaded.
    pub(crate) fn placeholder(file: &File, addr: u64, path: String) -> Arc<ObjectData> {
        Arc::new(ObjectData {
            file: file.clone(),
            addr,
            path,
            header: ObjectHeader {
                addr,
                version: 1,
                flags: 0,
                messages: Vec::new(),
            },
            placeholder: true,
        })
    }

    /// True when reads must go through a fresh view of the file.
    pub(crate) fn needs_refresh(&self) -> bool {
        self.placeholder || self.file.is_stale()
    }

    /// The object loaded from the file's current contents.
    pub(crate) fn reload(&self) -> Result<Arc<ObjectData>> {
        let f = self.file.current()?;
        ObjectData::load(&f, self.addr, self.path.clone())
    }

    /// The bytes of the first message of `kind`, shared ones resolved.
    pub(crate) fn message(&self, kind: u16) -> Result<Option<(Vec<u8>, u64)>> {
        match self.header.find(kind) {
            Some(m) => resolve(&self.file, m).map(Some),
            None => Ok(None),
        }
    }

    /// The object comment (header message 0x0d), if any.
    pub(crate) fn comment(&self) -> Result<Option<String>> {
        Ok(self.message(msg::COMMENT)?.map(|(b, _)| {
            let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
            String::from_utf8_lossy(&b[..end]).into_owned()
        }))
    }

    pub(crate) fn attributes(&self) -> Result<Vec<Attribute>> {
        let file = &self.file;
        let ctx = file.inner.ctx();
        let mut out = Vec::new();
        for m in self.header.all(msg::ATTRIBUTE) {
            let (data, addr) = resolve(file, m)?;
            out.push(Attribute::decode(
                file,
                &data,
                addr,
                m.creation_order.map(u64::from),
            )?);
        }
        let mut by_order = false;
        if let Some((info, iaddr)) = self.message(msg::ATTRIBUTE_INFO)? {
            let info = AttributeInfo::decode(&mut Cursor::new(&info, iaddr, ctx.sizes))?;
            if let (Some(heap), Some(index)) = (info.heap, info.name_index) {
                let heap = FractalHeap::read(&ctx, heap)?;
                let tree = BTreeV2::read(&ctx, index)?;
                tree.for_each_record(&ctx, &mut |rec| {
                    let mut c = Cursor::new(rec, index, ctx.sizes);
                    let id = c.bytes(8)?;
                    let flags = c.u8()?;
                    let order = c.u32()?;
                    let data = if flags & crate::format::object_header::FLAG_SHARED != 0 {
                        shared_heap_message(file, msg::ATTRIBUTE, id)?
                    } else {
                        heap.object(&ctx, id)?.into_owned()
                    };
                    out.push(Attribute::decode(
                        file,
                        &data,
                        heap.addr,
                        Some(order as u64),
                    )?);
                    Ok(())
                })?;
            }
            by_order = info.track_order;
        }
        // h5py's order: creation order when the object tracks it, else by name
        if by_order && out.iter().all(|a| a.creation_order.is_some()) {
            out.sort_by_key(|a| a.creation_order);
        } else {
            out.sort_by(|a, b| a.name().as_bytes().cmp(b.name().as_bytes()));
        }
        Ok(out)
    }
}

/// The real bytes (and address) of a message, following a shared reference.
pub(crate) fn resolve(file: &File, m: &Message) -> Result<(Vec<u8>, u64)> {
    if !m.is_shared() {
        return Ok((m.data.clone(), m.addr));
    }
    let ctx = file.inner.ctx();
    let r = SharedRef::decode(&mut Cursor::new(&m.data, m.addr, ctx.sizes))?;
    match r {
        SharedRef::Header(addr) => {
            let h = ObjectHeader::read(&ctx, addr)?;
            let t = h.find(m.kind).ok_or_else(|| {
                Error::format(
                    format!(
                        "shared message of type {:#x} not found in its header",
                        m.kind
                    ),
                    addr,
                )
            })?;
            if t.is_shared() {
                return Err(Error::format(
                    "shared message refers to another shared message",
                    addr,
                ));
            }
            Ok((t.data.clone(), t.addr))
        }
        SharedRef::Heap(id) => Ok((shared_heap_message(file, m.kind, &id)?, m.addr)),
    }
}

fn shared_heap_message(file: &File, kind: u16, id: &[u8]) -> Result<Vec<u8>> {
    let ctx = file.inner.ctx();
    let indexes = file.shared_indexes()?;
    let idx = indexes
        .iter()
        .find(|i| kind < 16 && i.types & (1 << kind) != 0)
        .or(indexes.first())
        .ok_or_else(|| {
            Error::format_noaddr("shared message in a file without a shared message table")
        })?;
    let heap = FractalHeap::read(&ctx, idx.heap)?;
    Ok(heap.object(&ctx, id)?.into_owned())
}

/// Any object a path can name.
#[derive(Clone, Debug)]
pub enum Object {
    /// A group.
    Group(Group),
    /// A dataset.
    Dataset(Dataset),
    /// A committed (named) datatype.
    Datatype(NamedDatatype),
}

impl Object {
    pub(crate) fn from_data(d: Arc<ObjectData>) -> Result<Object> {
        let h = &d.header;
        if h.find(msg::LAYOUT).is_some() || h.find(msg::DATASPACE).is_some() {
            Ok(Object::Dataset(Dataset::from_data(d)?))
        } else if h.find(msg::SYMBOL_TABLE).is_some()
            || h.find(msg::LINK_INFO).is_some()
            || h.find(msg::LINK).is_some()
            || h.find(msg::GROUP_INFO).is_some()
        {
            Ok(Object::Group(Group::from_data(d)?))
        } else if h.find(msg::DATATYPE).is_some() {
            Ok(Object::Datatype(NamedDatatype { data: d }))
        } else {
            // an object with no identifying message: libhdf5 treats a header
            // with no messages of its kinds as a group only if it has group
            // messages, so report it as malformed
            Err(Error::format(
                "object header is not a group, dataset or datatype",
                d.addr,
            ))
        }
    }

    /// The object's path as it was reached.
    pub fn name(&self) -> &str {
        &self.data().path
    }

    /// The address of the object's header (its identity in the file).
    pub fn addr(&self) -> u64 {
        self.data().addr
    }

    pub(crate) fn data(&self) -> &Arc<ObjectData> {
        match self {
            Object::Group(g) => &g.data,
            Object::Dataset(d) => &d.data,
            Object::Datatype(t) => &t.data,
        }
    }

    /// The object's attributes.
    ///
    /// # Errors
    /// `Format` on malformed attribute storage.
    pub fn attrs(&self) -> Result<Vec<Attribute>> {
        self.data().attributes()
    }

    /// The object's comment (`H5Oset_comment`), if it has one.
    ///
    /// # Errors
    /// `Format` when the comment message is malformed.
    pub fn comment(&self) -> Result<Option<String>> {
        self.data().comment()
    }
}

/// A committed (named) datatype stored in the file.
#[derive(Clone)]
pub struct NamedDatatype {
    pub(crate) data: Arc<ObjectData>,
}

impl std::fmt::Debug for NamedDatatype {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NamedDatatype({:?})", self.data.path)
    }
}

impl NamedDatatype {
    /// The datatype.
    ///
    /// # Errors
    /// `Format` when the datatype message is malformed.
    pub fn dtype(&self) -> Result<Datatype> {
        let (b, a) = self.data.message(msg::DATATYPE)?.ok_or_else(|| {
            Error::format(
                "committed datatype without a datatype message",
                self.data.addr,
            )
        })?;
        Datatype::from_message(&b, a, self.data.file.inner.ctx().sizes)
    }

    /// Attributes of the datatype.
    ///
    /// # Errors
    /// `Format` on malformed attribute storage.
    pub fn attrs(&self) -> Result<Vec<Attribute>> {
        self.data.attributes()
    }

    /// The address of its header.
    pub fn addr(&self) -> u64 {
        self.data.addr
    }
}
