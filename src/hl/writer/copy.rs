//! Copying a whole file's contents into a file being written: every group,
//! dataset, committed datatype, link and attribute, as `h5py`'s
//! `Group.copy` / `h5repack` do.
//!
//! Chunked datasets whose elements hold no heap or file references are
//! copied chunk by chunk as stored (filtered bytes and filter masks as they
//! are, whatever the filter); contiguous and compact ones as raw bytes;
//! datasets and attributes with variable-length elements or references are
//! decoded and encoded again, their references pointing at the copies.

use std::collections::HashMap;

use super::model::{Attr, ChunkLoc, ChunkedM, DatasetM, IndexChoice, Kind, LayoutM};
use super::{State, Writer};
use crate::array::selection::Selection;
use crate::error::{Error, Result};
use crate::format::dataspace::{Dataspace, SpaceKind};
use crate::format::datatype::Datatype;
use crate::format::layout::ChunkIndexKind;
use crate::format::layout::Layout;
use crate::format::link::LinkTarget;
use crate::format::object_header::{HeaderPrefix, V2Prefix, msg};
use crate::format::shared::SharedRef;
use crate::hl::attribute::Attribute;
use crate::hl::dataset::{Dataset, LayoutClass};
use crate::hl::file::File;
use crate::hl::group::Group;
use crate::hl::object::Object;
use crate::hl::value::{Value, encode_value};

/// What a copy could not reproduce exactly.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyReport {
    /// (path, what was left out or changed).
    pub notes: Vec<(String, String)>,
}

/// True when elements of `dt` point into the file (heap IDs or object
/// addresses), so their bytes cannot be copied as they are.
fn points_into_file(dt: &Datatype) -> bool {
    match dt {
        Datatype::VarLen { .. } | Datatype::VarLenString { .. } | Datatype::Reference { .. } => {
            true
        }
        Datatype::Compound { members, .. } => members.iter().any(|m| points_into_file(&m.dtype)),
        Datatype::Array { base, .. } | Datatype::Enum { base, .. } => points_into_file(base),
        _ => false,
    }
}

/// Points object references at the copies; `false` when a value cannot be
/// carried over (a region reference, a reference to another file).
/// True when an attribute of `o` is too large for a header message.
fn obj_attrs_too_big(o: &Object) -> Result<bool> {
    Ok(o.attrs()?.iter().any(|a| a.raw().len() > 60 * 1024))
}

/// A reference to an address that holds no object (a dangling reference,
/// as files cut out of larger ones have) becomes a null reference: libhdf5
/// cannot follow either.
fn map_refs(v: &mut Value, map: &HashMap<u64, u64>, src: &File) -> bool {
    match v {
        Value::ObjectRef(r @ Some(_)) => {
            let a = r.unwrap_or(0);
            match map.get(&a) {
                Some(&n) => {
                    *r = Some(n);
                    true
                }
                None if src.object_at(a).is_err() => {
                    *r = None;
                    true
                }
                None => false,
            }
        }
        Value::RegionRef(Some(_)) | Value::Reference(_) => false,
        Value::Compound(m) => m.iter_mut().all(|(_, v)| map_refs(v, map, src)),
        Value::Array(items) | Value::Sequence(items) => {
            items.iter_mut().all(|v| map_refs(v, map, src))
        }
        _ => true,
    }
}

/// Region references (the old 12-byte kind) as elements of the copy: each
/// heap object (the dataset's address, then its selection) is stored again
/// in the new file's heap with the address of the dataset's copy.
fn copy_region_refs(
    src: &File,
    st: &mut State,
    raw: &[u8],
    map: &HashMap<u64, u64>,
) -> Result<Option<Vec<u8>>> {
    let sizes = st.opts.sizes();
    let o = sizes.offset as usize;
    let src_o = { src.inner.sb.sizes.offset as usize };
    let es = src_o + 4;
    let mut out = Vec::with_capacity(raw.len() / es.max(1) * (o + 4));
    for e in raw.chunks_exact(es) {
        let addr = crate::format::cursor::le_uint(&e[..src_o]);
        let index = u32::from_le_bytes([e[src_o], e[src_o + 1], e[src_o + 2], e[src_o + 3]]);
        if addr == 0 || addr == crate::format::Sizes::new(src_o as u8, 8)?.undefined_address() {
            out.extend(std::iter::repeat_n(0u8, o + 4));
            continue;
        }
        let obj = src.global_heap_object(addr, index)?;
        if obj.len() < src_o {
            return Ok(None);
        }
        let target = crate::format::cursor::le_uint(&obj[..src_o]);
        let Some(&new) = map.get(&target) else {
            if src.object_at(target).is_err() {
                // dangling: a null reference
                out.extend(std::iter::repeat_n(0u8, o + 4));
                continue;
            }
            return Ok(None);
        };
        let mut bytes = new.to_le_bytes()[..o].to_vec();
        bytes.extend_from_slice(&obj[src_o..]);
        let mut sink = st.vlen_sink();
        let id = crate::hl::types::VlenSink::put(&mut sink, bytes.len() as u32, &bytes)?;
        // the element is the heap ID without the sequence length
        out.extend_from_slice(&id[4..]);
    }
    Ok(Some(out))
}

fn is_region_ref(dt: &Datatype) -> bool {
    matches!(
        dt,
        Datatype::Reference {
            kind: crate::format::datatype::ReferenceKind::Region,
            ..
        }
    )
}

/// `dt` with the sizes this writer gives what holds file addresses
/// (8-byte offsets): variable-length elements 16 bytes, object references
/// 8, region references 12; compound members after a resized one move by
/// the difference.
fn with_writer_sizes(dt: &Datatype) -> Datatype {
    match dt {
        Datatype::VarLen { base, .. } => Datatype::VarLen {
            base: Box::new(with_writer_sizes(base)),
            size: 16,
        },
        Datatype::VarLenString { pad, cset, .. } => Datatype::VarLenString {
            pad: *pad,
            cset: *cset,
            size: 16,
        },
        Datatype::Reference { kind, .. } => Datatype::Reference {
            kind: *kind,
            size: match kind {
                crate::format::datatype::ReferenceKind::Object => 8,
                crate::format::datatype::ReferenceKind::Region => 12,
                crate::format::datatype::ReferenceKind::Revised => dt.size() as u32,
            },
        },
        Datatype::Array { dims, base } => Datatype::Array {
            dims: dims.clone(),
            base: Box::new(with_writer_sizes(base)),
        },
        Datatype::Compound { members, size } => {
            let mut order: Vec<usize> = (0..members.len()).collect();
            order.sort_by_key(|&i| members[i].offset);
            let mut out = members.clone();
            let mut shift: i64 = 0;
            for i in order {
                let m = &members[i];
                let t = with_writer_sizes(&m.dtype);
                out[i].offset = (i64::from(m.offset) + shift) as u32;
                shift += t.size() as i64 - m.dtype.size() as i64;
                out[i].dtype = t;
            }
            Datatype::Compound {
                members: out,
                size: (i64::from(*size) + shift) as u32,
            }
        }
        other => other.clone(),
    }
}

/// Changes a copy makes to every dataset (as `h5repack -f` and `-l`).
#[derive(Debug, Clone, Default)]
pub struct CopyOptions {
    /// The filter pipeline of every chunked dataset (`Some(vec![])`: no
    /// filters); datasets that are not chunked become chunked (h5py's
    /// automatic chunk shape) to take filters. `None` keeps each dataset's.
    pub filters: Option<Vec<crate::format::filter_pipeline::FilterInfo>>,
    /// The layout of every dataset. `None` keeps each dataset's.
    pub layout: Option<LayoutChoice>,
    /// Called with (datasets copied, datasets in all) after each dataset's
    /// data, for a progress display.
    pub progress: Option<fn(usize, usize)>,
}

/// A storage layout asked of a copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LayoutChoice {
    /// One block.
    Contiguous,
    /// In the object header (datasets under 64 KiB; larger ones keep
    /// theirs).
    Compact,
    /// Chunks of these dimensions (datasets of another rank keep theirs).
    Chunked(Vec<u64>),
}

struct Copier<'a> {
    src: &'a File,
    opts: CopyOptions,
    map: HashMap<u64, u64>,
    datasets: Vec<(Dataset, u64)>,
    attrs: Vec<(Vec<Attribute>, u64, String)>,
    report: CopyReport,
}

impl Copier<'_> {
    fn note(&mut self, path: &str, what: impl Into<String>) {
        self.report.notes.push((path.to_string(), what.into()));
    }

    /// Creates the structure below `src` in the group `dst`.
    fn group(&mut self, st: &mut State, src: &Group, dst: u64) -> Result<()> {
        for link in src.links()? {
            let path = if src.name().ends_with('/') {
                format!("{}{}", src.name(), link.name)
            } else {
                format!("{}/{}", src.name(), link.name)
            };
            match &link.target {
                LinkTarget::Hard(a) => {
                    if let Some(&n) = self.map.get(a) {
                        st.add_link(dst, &link.name, LinkTarget::Hard(n))?;
                        continue;
                    }
                    let obj = self.src.object_at_path(*a, &path)?;
                    let big_attrs = obj_attrs_too_big(&obj)?;
                    let new = match &obj {
                        Object::Group(g) => {
                            let track = g.tracks_order()?;
                            let n = st.add_group_tracked(dst, &link.name, track)?;
                            self.map.insert(*a, n);
                            self.attrs.push((g.attrs()?, n, path.clone()));
                            self.group(st, g, n)?;
                            n
                        }
                        Object::Dataset(d) => {
                            let n = self.dataset_shell(st, d, &path)?;
                            st.add_link(dst, &link.name, LinkTarget::Hard(n))?;
                            self.attrs.push((d.attrs()?, n, path.clone()));
                            self.datasets.push((d.clone(), n));
                            n
                        }
                        Object::Datatype(t) => {
                            let n = st.commit_datatype(dst, &link.name, &t.dtype()?)?;
                            self.attrs.push((t.attrs()?, n, path.clone()));
                            n
                        }
                    };
                    self.map.insert(*a, new);
                    if big_attrs && !st.opts.latest() {
                        // attributes over 64 KiB need dense storage, which
                        // only a version 2 header has
                        st.obj_mut(new)?.prefix = Some(HeaderPrefix::V2(V2Prefix::default()));
                    }
                }
                other => st.add_link(dst, &link.name, other.clone())?,
            }
        }
        Ok(())
    }

    /// A new dataset with `d`'s type, shape, layout, filters and fill
    /// value, not yet written.
    fn dataset_shell(&mut self, st: &mut State, d: &Dataset, path: &str) -> Result<u64> {
        let dtype = with_writer_sizes(d.dtype());
        let space = d.space();
        let latest = st.opts.latest();
        let mut fill = d.fill_value().clone();
        if points_into_file(&dtype) {
            fill.value = None;
        }
        let layout = match d.layout_message() {
            Layout::Compact { .. } => LayoutM::Compact(Vec::new()),
            Layout::Chunked(cl) => {
                let shape = space.dims.clone();
                let chosen = super::api::choose_index(latest, &shape, &space.max_dims, &cl.dims);
                // keep the original's kind of index where this format has it
                let index = match (&cl.index, latest) {
                    (_, false) => IndexChoice::BTreeV1,
                    (ChunkIndexKind::BTreeV1, true) => IndexChoice::BTreeV1,
                    (ChunkIndexKind::Single { .. }, true) if chosen == IndexChoice::Single => {
                        IndexChoice::Single
                    }
                    (ChunkIndexKind::Implicit, true)
                        if d.filters().is_empty() && space.max_dims.iter().all(Option::is_some) =>
                    {
                        IndexChoice::Implicit
                    }
                    (ChunkIndexKind::FixedArray { .. } | ChunkIndexKind::Implicit, true)
                        if space.max_dims.iter().all(Option::is_some) =>
                    {
                        IndexChoice::FixedArray
                    }
                    (ChunkIndexKind::ExtensibleArray { .. }, true)
                        if chosen == IndexChoice::ExtensibleArray =>
                    {
                        IndexChoice::ExtensibleArray
                    }
                    (ChunkIndexKind::BTreeV2 { .. }, true) => IndexChoice::BTreeV2,
                    _ => chosen,
                };
                LayoutM::Chunked(ChunkedM::new(cl.dims.clone(), index))
            }
            Layout::Virtual {
                address: Some(a),
                index,
            } => {
                // the mappings (source file and dataset names, selections)
                // hold no address: the heap object is copied as it is
                let block = self.src.global_heap_object(*a, *index)?.to_vec();
                let mut sink = st.vlen_sink();
                let id = crate::hl::types::VlenSink::put(&mut sink, block.len() as u32, &block)?;
                let o = st.opts.sizes().offset as usize;
                let address = crate::format::cursor::le_uint(&id[4..4 + o]);
                let index = u32::from_le_bytes([id[4 + o], id[5 + o], id[6 + o], id[7 + o]]);
                LayoutM::Virtual { address, index }
            }
            Layout::Contiguous { .. } | Layout::Virtual { .. } => {
                if d.layout() == LayoutClass::Virtual {
                    self.note(
                        path,
                        "virtual dataset without mappings: stored as contiguous",
                    );
                }
                LayoutM::Contiguous { addr: None }
            }
        };
        let n = space.element_count().unwrap_or(0) as usize;
        let layout = match layout {
            LayoutM::Compact(_) => {
                // a compact dataset holds under 64 KiB, whatever its
                // dataspace claims
                if n.checked_mul(dtype.size()).is_none_or(|b| b > 64 * 1024) {
                    return Err(Error::format(
                        "compact dataset: its dataspace needs more than 64 KiB",
                        d.addr(),
                    ));
                }
                let one = match &fill.value {
                    Some(v) if v.len() == dtype.size() => v.clone(),
                    _ => vec![0; dtype.size()],
                };
                LayoutM::Compact(one.repeat(n))
            }
            l => l,
        };
        let filters = if matches!(layout, LayoutM::Chunked(_)) {
            d.filters().to_vec()
        } else {
            Vec::new()
        };
        let (layout, filters) = self.override_layout(st, d, &space, &dtype, layout, filters, path);
        let model = DatasetM {
            dtype,
            dtype_ref: None,
            loaded: false,
            space,
            layout,
            filters,
            fill,
        };
        // attribute creation order tracked in the original's header
        let track = d.data.header.version == 2 && d.data.header.flags & 0x04 != 0;
        st.new_object(Kind::Dataset(model), track || st.opts.track_order)
    }

    /// The layout and filters the options ask for, where they fit the
    /// dataset.
    #[allow(clippy::too_many_arguments)]
    fn override_layout(
        &mut self,
        st: &State,
        d: &Dataset,
        space: &Dataspace,
        dtype: &Datatype,
        layout: LayoutM,
        filters: Vec<crate::format::filter_pipeline::FilterInfo>,
        path: &str,
    ) -> (LayoutM, Vec<crate::format::filter_pipeline::FilterInfo>) {
        let simple = space.kind == SpaceKind::Simple && !space.dims.is_empty();
        let resizable = space
            .max_dims
            .iter()
            .zip(&space.dims)
            .any(|(m, &n)| *m != Some(n));
        let n = space.element_count().unwrap_or(0) as usize;
        let latest = st.opts.latest();
        let chunked = |dims: Vec<u64>| {
            let index = super::api::choose_index(latest, &space.dims, &space.max_dims, &dims);
            LayoutM::Chunked(ChunkedM::new(dims, index))
        };
        let (mut layout, mut filters) = (layout, filters);
        if matches!(layout, LayoutM::Virtual { .. }) {
            return (layout, filters);
        }
        match &self.opts.layout {
            Some(LayoutChoice::Contiguous) if !resizable && d.layout() != LayoutClass::Virtual => {
                layout = LayoutM::Contiguous { addr: None };
                filters.clear();
            }
            Some(LayoutChoice::Compact) if !resizable && n * dtype.size() < 60 * 1024 => {
                layout = LayoutM::Compact(vec![0; n * dtype.size()]);
                filters.clear();
            }
            Some(LayoutChoice::Chunked(dims)) if simple && dims.len() == space.dims.len() => {
                layout = chunked(dims.clone());
            }
            Some(_) => self.note(path, "keeps its layout (the one asked for does not fit it)"),
            None => {}
        }
        if let Some(f) = &self.opts.filters {
            if !f.is_empty() && !matches!(layout, LayoutM::Chunked(_)) && simple {
                layout = chunked(super::api::guess_chunk(&space.dims, dtype.size()));
            }
            if matches!(layout, LayoutM::Chunked(_)) {
                filters = f
                    .iter()
                    .map(|fi| {
                        let mut fi = fi.clone();
                        // shuffle is told the element size
                        if fi.id == 2 {
                            fi.params = vec![dtype.size() as u32];
                        }
                        fi
                    })
                    .collect();
            }
        }
        (layout, filters)
    }

    /// Writes a dataset's elements into its copy at `dst`.
    fn dataset_data(&mut self, st: &mut State, d: &Dataset, dst: u64) -> Result<()> {
        let path = d.name().to_string();
        // a committed type is shared with the copy of the committed type
        if let Some(m) = d.data.header.find(msg::DATATYPE).filter(|m| m.is_shared()) {
            let mut c = crate::format::Cursor::new(&m.data, m.addr, self.src.inner.sb.sizes);
            if let Ok(SharedRef::Header(a)) = SharedRef::decode(&mut c) {
                // a committed type no link names (an anonymous one) is
                // copied unlinked too
                if !self.map.contains_key(&a)
                    && let Ok(Object::Datatype(t)) = self.src.object_at(a)
                {
                    let track = st.opts.track_order;
                    let n = st.new_object(Kind::Datatype(t.dtype()?), track)?;
                    self.map.insert(a, n);
                }
                match self.map.get(&a) {
                    Some(&t) => {
                        if let Kind::Dataset(dm) = &mut st.obj_mut(dst)?.kind {
                            dm.dtype_ref = Some(t);
                        }
                        let o = st.obj_mut(t)?;
                        o.refcount += 1;
                        o.dirty = true;
                    }
                    None => self.note(
                        &path,
                        "its committed datatype is not reachable; stored as a plain type",
                    ),
                }
            }
        }
        let space = d.space();
        if space.kind == SpaceKind::Null
            || space.element_count() == Some(0)
            || d.layout() == LayoutClass::Virtual
        {
            return Ok(());
        }
        let dtype = with_writer_sizes(d.dtype());
        if is_region_ref(&dtype) {
            let raw = d.read_raw()?;
            let Some(bytes) = copy_region_refs(self.src, st, &raw, &self.map)? else {
                self.note(
                    &path,
                    "a region reference names a dataset outside the copy: data left out",
                );
                return Ok(());
            };
            let sel = Selection::all(&space.dims);
            return st.write_elements(dst, &sel, &bytes);
        }
        if points_into_file(&dtype) {
            let mut values = d.read_raw_vec::<Value>()?;
            if !values.iter_mut().all(|v| map_refs(v, &self.map, self.src)) {
                self.note(
                    &path,
                    "holds region or external references, which are not written: data left out",
                );
                return Ok(());
            }
            let mut out = Vec::with_capacity(values.len() * dtype.size());
            let mut sink = st.vlen_sink();
            for v in &values {
                encode_value(&dtype, v, &mut sink, &mut out)?;
            }
            let sel = Selection::all(&space.dims);
            return st.write_elements(dst, &sel, &out);
        }
        let same_storage = match (d.layout_message(), &st.obj(dst)?.kind) {
            (Layout::Chunked(cl), Kind::Dataset(dm)) => match &dm.layout {
                LayoutM::Chunked(c) => c.dims == cl.dims && dm.filters == d.filters(),
                _ => false,
            },
            _ => true,
        };
        if !same_storage {
            // another layout or filters: elements decoded, then written
            // (and filtered in parallel) as any write is
            let raw = d.read_raw()?;
            let sel = Selection::all(&space.dims);
            return st.write_elements(dst, &sel, &raw);
        }
        if let (Kind::Dataset(dm), Layout::Contiguous { .. } | Layout::Compact { .. }) =
            (&st.obj(dst)?.kind, d.layout_message())
            && matches!(dm.layout, LayoutM::Chunked(_))
        {
            let raw = d.read_raw()?;
            let sel = Selection::all(&space.dims);
            return st.write_elements(dst, &sel, &raw);
        }
        match d.layout_message() {
            Layout::Chunked(_) => {
                // stored chunks as they are
                let chunks = d.stored_chunks()?;
                // partial edge chunks stored unfiltered ("do not filter
                // partial edge chunks"): the copy says so chunk by chunk, in
                // the filter mask, which every index can hold
                let edges_raw = match d.layout_message() {
                    Layout::Chunked(cl) if cl.dont_filter_partial_edges => Some(cl.dims.clone()),
                    _ => None,
                };
                let all_skipped = (1u32 << d.filters().len().min(31)) - 1;
                let mut placed = Vec::with_capacity(chunks.len());
                for (rec, bytes) in chunks {
                    let a = st.space.allocate(bytes.len() as u64);
                    st.space.write(a, bytes)?;
                    let mut mask = rec.filter_mask;
                    if let Some(cd) = &edges_raw {
                        let partial = rec
                            .coords
                            .iter()
                            .zip(cd)
                            .zip(&space.dims)
                            .any(|((&s, &c), &n)| (s + 1) * c > n);
                        if partial {
                            mask |= all_skipped;
                        }
                    }
                    placed.push((
                        rec.coords,
                        ChunkLoc {
                            addr: a,
                            size: bytes.len() as u64,
                            mask,
                        },
                    ));
                }
                let o = st.obj_mut(dst)?;
                o.dirty = true;
                if let Kind::Dataset(dm) = &mut o.kind
                    && let LayoutM::Chunked(c) = &mut dm.layout
                {
                    c.chunks.extend(placed);
                    c.index_dirty = true;
                }
                Ok(())
            }
            Layout::Contiguous { address: None, .. }
                if d.layout() != LayoutClass::Virtual && !d.is_external() =>
            {
                // never written: stays unallocated, reads as the fill value
                Ok(())
            }
            _ => {
                let raw = d.read_raw()?;
                let sel = Selection::all(&space.dims);
                st.write_elements(dst, &sel, &raw)
            }
        }
    }

    /// Copies attributes onto the object at `dst`.
    fn attributes(
        &mut self,
        st: &mut State,
        attrs: &[Attribute],
        dst: u64,
        path: &str,
    ) -> Result<()> {
        for a in attrs {
            let dtype = with_writer_sizes(a.dtype());
            let space: Dataspace = a.space().clone();
            let data = if is_region_ref(&dtype) && !a.is_null() {
                match copy_region_refs(self.src, st, a.raw(), &self.map)? {
                    Some(b) => b,
                    None => {
                        self.note(
                            path,
                            format!(
                                "attribute {:?}: a region reference outside the copy: left out",
                                a.name()
                            ),
                        );
                        continue;
                    }
                }
            } else if points_into_file(&dtype) && !a.is_null() {
                let mut values = a.read_raw::<Value>()?;
                if !values.iter_mut().all(|v| map_refs(v, &self.map, self.src)) {
                    self.note(
                        path,
                        format!(
                            "attribute {:?} holds region or external references: left out",
                            a.name()
                        ),
                    );
                    continue;
                }
                let mut out = Vec::new();
                let mut sink = st.vlen_sink();
                for v in &values {
                    encode_value(&dtype, v, &mut sink, &mut out)?;
                }
                out
            } else {
                a.raw().to_vec()
            };
            st.set_attr(
                dst,
                Attr {
                    name: a.name().to_string(),
                    dtype,
                    space,
                    data,
                    order: 0,
                },
            )?;
        }
        Ok(())
    }
}

impl Writer {
    /// Copies everything reachable from `src`'s root group into this
    /// file's root group.
    pub(crate) fn copy_from(&self, src: &File, opts: &CopyOptions) -> Result<CopyReport> {
        let root = src.root()?;
        self.modify(|st| {
            let dst_root = st.root;
            let mut c = Copier {
                src,
                opts: opts.clone(),
                map: HashMap::from([(root.addr(), dst_root)]),
                datasets: Vec::new(),
                attrs: vec![(root.attrs()?, dst_root, "/".to_string())],
                report: CopyReport::default(),
            };
            c.group(st, &root, dst_root)?;
            let datasets = std::mem::take(&mut c.datasets);
            let total = datasets.len();
            for (i, (d, dst)) in datasets.into_iter().enumerate() {
                if let Some(p) = c.opts.progress {
                    p(i, total);
                }
                c.dataset_data(st, &d, dst)
                    .map_err(|e| e.context(&format!("copying {}", d.name())))?;
            }
            for (attrs, dst, path) in std::mem::take(&mut c.attrs) {
                c.attributes(st, &attrs, dst, &path)
                    .map_err(|e| e.context(&format!("copying the attributes of {path}")))?;
            }
            Ok(c.report)
        })
    }
}

impl File {
    /// Copies every group, dataset, committed datatype, link and attribute
    /// of `src` into this file's root group (which should be empty), as
    /// `h5repack` does: chunked data is copied as stored, whatever its
    /// filters. Returns what could not be reproduced (region references,
    /// user-defined links; virtual datasets become contiguous copies).
    ///
    /// # Errors
    /// `Usage` when this file is read-only or a name already exists;
    /// errors reading `src`.
    pub fn copy_from(&self, src: &File) -> Result<CopyReport> {
        self.copy_from_with(src, &CopyOptions::default())
    }

    /// As [`File::copy_from`], changing every dataset's layout or filters
    /// as `opts` asks (what `h5repack -l` and `-f` do).
    ///
    /// # Errors
    /// As [`File::copy_from`]; filters h5rs cannot write.
    pub fn copy_from_with(&self, src: &File, opts: &CopyOptions) -> Result<CopyReport> {
        let w = self
            .writer
            .as_ref()
            .ok_or_else(|| Error::usage("the file is open read-only"))?;
        w.copy_from(src, opts)
    }
}
