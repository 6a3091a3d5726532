//! Writing files: the state behind a `File` created or opened for writing.
//!
//! Objects live in memory as a model of what their object headers will
//! hold ([`model`]); raw data goes to the file as soon as it is written.
//! Metadata (headers, group B-trees and heaps, chunk indexes, the global
//! heap, the superblock) is laid out and written on flush ([`flush`]), and
//! again only for what changed. Reading through a writable file first
//! flushes, then reads a fresh memory map of the file as any reader would,
//! so what h5rs reads back is exactly what another process would see.

pub(crate) mod api;
pub(crate) mod chunks;
pub(crate) mod copy;
pub(crate) mod flush;
pub(crate) mod gheap;
pub(crate) mod model;
pub(crate) mod open;
pub(crate) mod space;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use self::gheap::GlobalHeapWriter;
use self::model::{Attr, GroupM, GroupStyle, HeaderSpace, Kind, LinkM, Obj};
use self::space::Space;
use super::file::File;
use crate::error::{Error, Result};
use crate::format::Sizes;
use crate::format::datatype::Datatype;
use crate::format::link::LinkTarget;
use crate::format::object_header::{HeaderPrefix, V2Prefix};
use crate::limits::Limits;

/// Which structures a new file is written with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// What h5py writes by default (`libver='earliest'`): superblock 0,
    /// version 1 object headers, symbol-table groups, version 1 B-tree
    /// chunk indexes. Readable by every libhdf5 since 1.8.
    #[default]
    Earliest,
    /// `libver='latest'`: superblock 3, version 2 object headers, link
    /// messages, the newer chunk indexes.
    Latest,
}

/// How a file is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Options {
    pub(crate) format: Format,
    /// Bytes before the superblock (0 or a power of two from 512).
    pub(crate) userblock: u64,
    /// Track link and attribute creation order in new groups.
    pub(crate) track_order: bool,
    /// Widths of addresses and lengths.
    pub(crate) sizes: Sizes,
    /// v1 B-tree K values: symbol table node (leaf) K, group node K, chunk
    /// node K (libhdf5's defaults 4, 16 and 32, or a file's own).
    pub(crate) ks: (u16, u16, u16),
}

impl Options {
    pub(crate) fn latest(&self) -> bool {
        self.format == Format::Latest
    }

    pub(crate) fn sizes(&self) -> Sizes {
        self.sizes
    }

    /// The header prefix of new objects: version 2 for the latest format
    /// and, as libhdf5 does, for any object that tracks attribute creation
    /// order.
    pub(crate) fn prefix(&self, track_attr_order: bool) -> HeaderPrefix {
        if self.latest() || track_attr_order {
            HeaderPrefix::V2(V2Prefix {
                times: None,
                attr_phase_change: None,
                track_creation_order: track_attr_order,
                index_creation_order: track_attr_order,
            })
        } else {
            HeaderPrefix::V1 { refcount: 1 }
        }
    }
}

/// Bytes of free room new object headers get in chunk 0 beyond the
/// messages they start with, so a few attributes fit without a
/// continuation chunk.
const HEADER_SLACK: usize = 96;

/// The mutable state of a file being written.
pub(crate) struct State {
    pub(crate) space: Space,
    pub(crate) opts: Options,
    pub(crate) objects: BTreeMap<u64, Obj>,
    pub(crate) root: u64,
    pub(crate) gheap: GlobalHeapWriter,
    /// Something changed since the last flush.
    pub(crate) dirty: bool,
    pub(crate) closed: bool,
    /// The space held by the objects loaded from the file so far (start →
    /// end): header chunks and the structures freed on rewrite. A hostile
    /// file's structures may overlap; rewriting or freeing one would then
    /// corrupt another.
    pub(crate) loaded_headers: BTreeMap<u64, u64>,
    /// The raw data of the datasets loaded from the file (start → end),
    /// until freed: see [`State::raw_in_place`].
    pub(crate) raw_claims: BTreeMap<u64, u64>,
    /// The dataset (its address) each range of `raw_claims` belongs to.
    pub(crate) raw_owners: std::collections::HashMap<u64, u64>,
    /// The last read view and the generation it shows.
    pub(crate) view: Option<(u64, std::sync::Arc<super::file::FileInner>)>,
    /// For a file opened for writing: a view of it as it was opened, from
    /// which objects are loaded.
    pub(crate) base: Option<File>,
    /// For a file opened for writing: its superblock, rewritten on flush.
    pub(crate) superblock: Option<crate::format::superblock::Superblock>,
    /// Objects deleted in this session.
    pub(crate) deleted: std::collections::HashSet<u64>,
    /// Objects of the file that could not be loaded for changes, with the
    /// error: loading one again (a large chunk index, say) would take as
    /// long and fail the same way.
    pub(crate) refused: std::collections::HashMap<u64, Error>,
}

/// A file open for writing, shared by every handle of it.
pub(crate) struct Writer {
    state: Mutex<State>,
    /// Bumped on every change; views of older generations are stale.
    generation: AtomicU64,
    path: PathBuf,
    limits: Limits,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Writer({:?})", self.path)
    }
}

impl Writer {
    /// Creates the file at `path` (failing if it exists when `excl`) with
    /// an empty root group, writes it, and returns a handle to it.
    pub(crate) fn create(path: &Path, opts: Options, excl: bool, limits: Limits) -> Result<File> {
        if opts.userblock != 0 && (opts.userblock < 512 || !opts.userblock.is_power_of_two()) {
            return Err(Error::usage(format!(
                "user block size {} must be 0 or a power of two of at least 512",
                opts.userblock
            )));
        }
        let mut oo = std::fs::OpenOptions::new();
        oo.read(true).write(true);
        if excl {
            oo.create_new(true);
        } else {
            oo.create(true).truncate(true);
        }
        let file = oo.open(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                Error::usage(format!(
                    "unable to create {}: the file exists",
                    path.display()
                ))
            } else {
                e.into()
            }
        })?;
        if opts.userblock > 0 {
            file.set_len(opts.userblock)?;
        }
        let sb_len = flush::superblock_len(&opts);
        let space = Space::new(file, opts.userblock, sb_len, sb_len);
        let mut state = State {
            space,
            opts,
            objects: BTreeMap::new(),
            root: 0,
            gheap: GlobalHeapWriter::default(),
            dirty: true,
            closed: false,
            loaded_headers: BTreeMap::new(),
            raw_claims: BTreeMap::new(),
            raw_owners: Default::default(),
            view: None,
            base: None,
            superblock: None,
            deleted: Default::default(),
            refused: Default::default(),
        };
        let style = if opts.latest() || opts.track_order {
            GroupStyle::Links
        } else {
            GroupStyle::SymbolTable
        };
        let root = state.new_object(
            Kind::Group(GroupM::new(style, opts.track_order)),
            opts.track_order,
        )?;
        state.root = root;
        let writer = std::sync::Arc::new(Writer {
            state: Mutex::new(state),
            generation: AtomicU64::new(1),
            path: path.to_path_buf(),
            limits,
        });
        writer.view()
    }

    pub(crate) fn lock(&self) -> Result<MutexGuard<'_, State>> {
        let g = self.state.lock().map_err(|_| {
            Error::usage("the file's writer failed earlier (a panic while writing)")
        })?;
        if g.closed {
            return Err(Error::usage("the file is closed"));
        }
        Ok(g)
    }

    /// Runs `f` on the state and marks the file changed.
    pub(crate) fn modify<R>(&self, f: impl FnOnce(&mut State) -> Result<R>) -> Result<R> {
        let mut g = self.lock()?;
        g.dirty = true;
        self.generation.fetch_add(1, Ordering::SeqCst);
        f(&mut g)
    }

    /// Runs `f` on the state without changing the file (objects may be
    /// loaded into the model).
    pub(crate) fn access<R>(&self, f: impl FnOnce(&mut State) -> Result<R>) -> Result<R> {
        let mut g = self.lock()?;
        f(&mut g)
    }

    /// Runs `f` on the state without changing anything.
    pub(crate) fn inspect<R>(&self, f: impl FnOnce(&State) -> Result<R>) -> Result<R> {
        let g = self.lock()?;
        f(&g)
    }

    /// The current generation: views of an older one are stale.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Writes every change to the file.
    pub(crate) fn flush(&self) -> Result<()> {
        let mut g = self.lock()?;
        g.flush()
    }

    /// A read view of the file as it is now: flushes, then maps the file.
    pub(crate) fn view(self: &std::sync::Arc<Self>) -> Result<File> {
        let mut g = self.lock()?;
        let gen_now = self.generation();
        if let Some((gen_seen, inner)) = &g.view
            && *gen_seen == gen_now
        {
            return Ok(File {
                inner: inner.clone(),
                writer: Some(self.clone()),
            });
        }
        g.flush()?;
        let inner = File::open_view(&self.path, self.limits)?;
        g.view = Some((gen_now, inner.clone()));
        Ok(File {
            inner,
            writer: Some(self.clone()),
        })
    }

    /// The current dataspace of the dataset at `addr`, if it is one.
    pub(crate) fn dataset_space(
        &self,
        addr: u64,
    ) -> Result<Option<crate::format::dataspace::Dataspace>> {
        self.inspect(|st| {
            Ok(match st.objects.get(&addr).map(|o| &o.kind) {
                Some(Kind::Dataset(d)) => Some(d.space.clone()),
                _ => None,
            })
        })
    }

    /// True when `inner` is the view of the current generation.
    pub(crate) fn is_current(&self, inner: &std::sync::Arc<super::file::FileInner>) -> bool {
        let Ok(g) = self.state.lock() else {
            return false;
        };
        matches!(&g.view, Some((gen_seen, v))
            if *gen_seen == self.generation() && std::sync::Arc::ptr_eq(v, inner))
    }

    /// Flushes, trims the file to its allocated end and stops all writing
    /// through any handle.
    pub(crate) fn close(&self) -> Result<()> {
        let mut g = match self.state.lock() {
            Ok(g) => g,
            Err(_) => return Err(Error::usage("the file's writer failed earlier")),
        };
        if g.closed {
            return Ok(());
        }
        let r = g
            .flush()
            .and_then(|()| g.compact())
            .and_then(|()| g.space.set_len())
            .and_then(|()| g.superblock_flags(0));
        g.closed = true;
        g.view = None;
        r
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // errors surface through `File::close`; a drop cannot report them
        let _ = self.close();
    }
}

/// Splits a path into its non-empty components.
pub(crate) fn components(path: &str) -> Vec<&str> {
    path.split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect()
}

impl State {
    /// Allocates a header for a new object of `kind` and adds it to the
    /// model (not linked anywhere yet).
    pub(crate) fn new_object(&mut self, kind: Kind, track_attr_order: bool) -> Result<u64> {
        let prefix = self.opts.prefix(track_attr_order);
        let mut obj = Obj {
            header: HeaderSpace {
                addr: 0,
                chunk0: 0,
                conts: Vec::new(),
            },
            kind,
            attrs: Vec::new(),
            track_attr_order,
            next_attr_order: 0,
            attr_space: Vec::new(),
            prefix: None,
            kept: Vec::new(),
            attrs_loaded: true,
            refcount: 0,
            dirty: true,
            written: false,
        };
        let messages = flush::initial_messages(&self.opts, &obj)?;
        let needed: usize = messages.iter().map(|m| prefix.message_size(m)).sum();
        let chunk0 = (needed + HEADER_SLACK).div_ceil(8) * 8;
        let prefix_len = flush::prefix_len(&prefix, chunk0);
        let addr = self.space.allocate((prefix_len + chunk0) as u64);
        obj.header = HeaderSpace {
            addr,
            chunk0,
            conts: Vec::new(),
        };
        self.objects.insert(addr, obj);
        Ok(addr)
    }

    pub(crate) fn obj(&self, addr: u64) -> Result<&Obj> {
        self.objects
            .get(&addr)
            .ok_or_else(|| Error::usage(format!("no object at address {addr} in this file")))
    }

    pub(crate) fn obj_mut(&mut self, addr: u64) -> Result<&mut Obj> {
        self.objects
            .get_mut(&addr)
            .ok_or_else(|| Error::usage(format!("no object at address {addr} in this file")))
    }

    fn group(&self, addr: u64) -> Result<&GroupM> {
        match &self.obj(addr)?.kind {
            Kind::Group(g) => Ok(g),
            _ => Err(Error::usage("not a group")),
        }
    }

    /// The target of link `name` in group `parent`.
    pub(crate) fn link(&mut self, parent: u64, name: &str) -> Result<Option<&LinkTarget>> {
        self.ensure(parent)?;
        let g = self.group(parent)?;
        Ok(g.index
            .get(name)
            .and_then(|&i| g.links.get(i))
            .map(|l| &l.target))
    }

    /// Follows `path` from `start` through hard links to groups; returns
    /// the object the whole path names, if any.
    pub(crate) fn resolve(&mut self, start: u64, path: &str) -> Result<Option<u64>> {
        let mut at = if path.starts_with('/') {
            self.root
        } else {
            start
        };
        for c in components(path) {
            self.ensure(at)?;
            if !matches!(self.obj(at)?.kind, Kind::Group(_)) {
                return Ok(None);
            }
            match self.link(at, c)? {
                Some(LinkTarget::Hard(a)) => at = *a,
                Some(_) => {
                    return Err(Error::unsupported(format!(
                        "path {path:?} goes through a soft or external link; \
                         h5rs creates objects through hard links only"
                    )));
                }
                None => return Ok(None),
            }
        }
        Ok(Some(at))
    }

    /// The group that will hold `path` (created with its intermediate
    /// groups when missing) and the last component's name.
    pub(crate) fn parent_for<'p>(&mut self, start: u64, path: &'p str) -> Result<(u64, &'p str)> {
        let comps = components(path);
        let Some((last, dirs)) = comps.split_last() else {
            return Err(Error::usage(format!("{path:?} names no object")));
        };
        let mut at = if path.starts_with('/') {
            self.root
        } else {
            start
        };
        for c in dirs {
            at = match self.link(at, c)? {
                Some(LinkTarget::Hard(a)) => {
                    let a = *a;
                    self.ensure(a)?;
                    if !matches!(self.obj(a)?.kind, Kind::Group(_)) {
                        return Err(Error::usage(format!("{c:?} in {path:?} is not a group")));
                    }
                    a
                }
                Some(_) => {
                    return Err(Error::unsupported(format!(
                        "{c:?} in {path:?} is a soft or external link"
                    )));
                }
                None => self.add_group(at, c)?,
            };
        }
        Ok((at, last))
    }

    /// Creates an empty group called `name` in `parent`.
    pub(crate) fn add_group(&mut self, parent: u64, name: &str) -> Result<u64> {
        self.add_group_tracked(parent, name, self.opts.track_order)
    }

    /// As [`State::add_group`], tracking creation order or not.
    pub(crate) fn add_group_tracked(
        &mut self,
        parent: u64,
        name: &str,
        track: bool,
    ) -> Result<u64> {
        let style = if self.opts.latest() || track {
            GroupStyle::Links
        } else {
            GroupStyle::SymbolTable
        };
        let addr = self.new_object(Kind::Group(GroupM::new(style, track)), track)?;
        self.add_link(parent, name, LinkTarget::Hard(addr))?;
        Ok(addr)
    }

    /// Adds link `name` to `parent`; an existing name is an error.
    pub(crate) fn add_link(&mut self, parent: u64, name: &str, target: LinkTarget) -> Result<()> {
        if name.is_empty() || name.contains('/') || name == "." {
            return Err(Error::usage(format!("{name:?} is not a valid link name")));
        }
        if self.link(parent, name)?.is_some() {
            return Err(Error::usage(format!(
                "unable to create {name:?}: the name already exists"
            )));
        }
        if let LinkTarget::Hard(a) = &target {
            let a = *a;
            self.ensure(a)?;
            let o = self.obj_mut(a)?;
            o.refcount += 1;
            o.dirty = true;
        }
        let external = matches!(
            target,
            LinkTarget::External { .. } | LinkTarget::UserDefined { .. }
        );
        let pobj = self.obj_mut(parent)?;
        pobj.dirty = true;
        let Kind::Group(g) = &mut pobj.kind else {
            return Err(Error::usage("links can only be added to groups"));
        };
        if external && g.style == GroupStyle::SymbolTable {
            // as libhdf5 does: a symbol table cannot hold external or
            // user-defined links, so the group moves to link messages
            g.style = GroupStyle::Links;
        }
        let order = g.next_order;
        g.next_order += 1;
        g.index.insert(name.to_string(), g.links.len());
        g.links.push(LinkM {
            name: name.to_string(),
            target,
            order,
        });
        Ok(())
    }

    /// Adds or replaces attribute `attr.name` of the object at `addr`.
    /// An attribute that exists is replaced by a new one (with a new
    /// creation index, as h5py's overwrite does).
    pub(crate) fn set_attr(&mut self, addr: u64, mut attr: Attr) -> Result<()> {
        self.ensure_attrs(addr)?;
        let o = self.obj_mut(addr)?;
        o.dirty = true;
        o.attrs.retain(|a| a.name != attr.name);
        attr.order = o.next_attr_order;
        o.next_attr_order = o
            .next_attr_order
            .checked_add(1)
            .ok_or_else(|| Error::usage("more than 65535 attributes created on one object"))?;
        o.attrs.push(attr);
        Ok(())
    }

    /// Removes link `name` from group `parent` (h5py's `del group[name]`).
    /// An object whose last hard link goes is deleted with its storage,
    /// which later allocations reuse (and which shortens the file when it
    /// lies at its end); a group's members go with it the same way.
    pub(crate) fn unlink(&mut self, parent: u64, name: &str) -> Result<()> {
        let link = self.remove_link(parent, name, "delete")?;
        if let LinkTarget::Hard(a) = link.target {
            self.release(a)?;
        }
        Ok(())
    }

    /// Takes link `name` out of group `parent`; `what` names the operation
    /// for the error when there is none.
    fn remove_link(&mut self, parent: u64, name: &str, what: &str) -> Result<LinkM> {
        self.ensure(parent)?;
        let pobj = self.obj_mut(parent)?;
        let Kind::Group(g) = &mut pobj.kind else {
            return Err(Error::usage(format!(
                "unable to {what} {name:?}: not in a group"
            )));
        };
        let Some(i) = g.index.remove(name) else {
            return Err(Error::not_found(format!(
                "unable to {what} {name:?}: no such link"
            )));
        };
        let link = g.links.remove(i);
        for (j, l) in g.links.iter().enumerate().skip(i) {
            g.index.insert(l.name.clone(), j);
        }
        pobj.dirty = true;
        Ok(link)
    }

    /// Drops one hard link to the object at `addr`, deleting it when it
    /// was the last.
    fn release(&mut self, addr: u64) -> Result<()> {
        self.ensure(addr)?;
        let o = self.obj_mut(addr)?;
        o.refcount = o.refcount.saturating_sub(1);
        o.dirty = true;
        if o.refcount > 0 {
            return Ok(());
        }
        // a deleted group's links go too
        let members: Vec<LinkTarget> = match &o.kind {
            Kind::Group(g) => g.links.iter().map(|l| l.target.clone()).collect(),
            _ => Vec::new(),
        };
        for t in members {
            if let LinkTarget::Hard(a) = t
                && a != addr
                && !self.deleted.contains(&a)
            {
                self.release(a)?;
            }
        }
        let Some(o) = self.objects.remove(&addr) else {
            return Ok(());
        };
        self.deleted.insert(addr);
        self.free_object(addr, o);
        Ok(())
    }

    /// Gives back the space of a deleted object: its header chunks, raw
    /// data and its structures (for a loaded object, those read at load:
    /// symbol table, dense links and attributes, chunk index).
    fn free_object(&mut self, addr: u64, o: Obj) {
        let prefix = o
            .prefix
            .unwrap_or_else(|| self.opts.prefix(o.track_attr_order));
        let head = flush::prefix_len(&prefix, o.header.chunk0) + o.header.chunk0;
        let mut extents = vec![(o.header.addr, head as u64)];
        extents.extend(o.header.conts.iter().copied());
        extents.extend(o.attr_space.iter().copied());
        // raw data goes back only where it is the dataset's own (see
        // `raw_in_place`): in a damaged file it may lie elsewhere
        let mut raw = Vec::new();
        match &o.kind {
            Kind::Group(g) => {
                extents.extend(g.stab_space.iter().copied());
                extents.extend(g.dense_space.iter().copied());
                if let Some(h) = g.heap_header {
                    let len = crate::format::heap::local::LocalHeapHeader::size(self.opts.sizes());
                    extents.push((h, len as u64));
                }
            }
            Kind::Dataset(d) => match &d.layout {
                // a size that overflows (a hostile file) is left allocated
                model::LayoutM::Contiguous { addr: Some(a) } => {
                    raw.extend(d.data_bytes().ok().map(|n| (*a, n)))
                }
                model::LayoutM::Chunked(c) => {
                    raw.extend(c.chunks.values().map(|l| (l.addr, l.size)));
                    if c.index != model::IndexChoice::Single {
                        extents.extend(c.index_space.iter().copied());
                    }
                }
                _ => {}
            },
            Kind::Datatype(_) => {}
        }
        for (a, l) in extents {
            self.space.free(a, l);
        }
        for (a, l) in raw {
            self.free_raw(addr, a, l);
        }
    }

    /// Whether raw data of the dataset at address `owner`, at `addr`
    /// (`len` bytes), may be overwritten or freed: space allocated in this
    /// session, or the dataset's own storage as loaded from the file (the
    /// storage of every dataset loaded was checked then to lie over no
    /// header, structure or other data, nor in the superblock or past the
    /// end: in a damaged file it may, and writing there would destroy
    /// what is there).
    pub(crate) fn raw_in_place(&mut self, owner: u64, addr: u64, len: u64) -> bool {
        self.space.allocated_here(addr)
            || (self.raw_claims.get(&addr).copied() == addr.checked_add(len)
                && self.raw_owners.get(&addr) == Some(&owner))
    }

    /// Frees raw data of `owner` read from the file, unless
    /// [`State::raw_in_place`] refuses it (then its space stays allocated).
    pub(crate) fn free_raw(&mut self, owner: u64, addr: u64, len: u64) {
        if self.raw_in_place(owner, addr, len) {
            // free space now: whatever is allocated there next is new
            self.raw_claims.remove(&addr);
            self.raw_owners.remove(&addr);
            self.space.free(addr, len);
        }
    }

    /// Adds a committed datatype at `path` (relative to `start`).
    pub(crate) fn commit_datatype(&mut self, start: u64, path: &str, dt: &Datatype) -> Result<u64> {
        let (parent, name) = self.parent_for(start, path)?;
        if self.link(parent, name)?.is_some() {
            return Err(Error::usage(format!(
                "unable to commit datatype {path:?}: the name already exists"
            )));
        }
        let track = self.opts.track_order;
        let addr = self.new_object(Kind::Datatype(dt.clone()), track)?;
        self.add_link(parent, name, LinkTarget::Hard(addr))?;
        Ok(addr)
    }

    /// The committed datatype at `path` (relative to `start`): its address
    /// and type.
    pub(crate) fn committed(&mut self, start: u64, path: &str) -> Result<(u64, Datatype)> {
        let a = self
            .resolve(start, path)?
            .ok_or_else(|| Error::usage(format!("no committed datatype {path:?}")))?;
        match &self.obj(a)?.kind {
            Kind::Datatype(t) => Ok((a, t.clone())),
            _ => Err(Error::usage(format!(
                "{path:?} is not a committed datatype"
            ))),
        }
    }

    /// Deletes attribute `name` of the object at `addr`.
    pub(crate) fn delete_attr(&mut self, addr: u64, name: &str) -> Result<()> {
        self.ensure_attrs(addr)?;
        let o = self.obj_mut(addr)?;
        let before = o.attrs.len();
        o.attrs.retain(|a| a.name != name);
        if o.attrs.len() == before {
            return Err(Error::not_found(format!("no attribute {name:?}")));
        }
        o.dirty = true;
        Ok(())
    }

    /// Renames attribute `old` of the object at `addr` to `new`.
    pub(crate) fn rename_attr(&mut self, addr: u64, old: &str, new: &str) -> Result<()> {
        self.ensure_attrs(addr)?;
        let o = self.obj_mut(addr)?;
        if o.attrs.iter().any(|a| a.name == new) {
            return Err(Error::usage(format!("attribute {new:?} already exists")));
        }
        let a = o
            .attrs
            .iter_mut()
            .find(|a| a.name == old)
            .ok_or_else(|| Error::not_found(format!("no attribute {old:?}")))?;
        a.name = new.to_string();
        o.dirty = true;
        Ok(())
    }

    /// Moves link `name` of group `from` to group `to` as `new_name`
    /// (h5py's `move`): the object keeps its address and link count.
    pub(crate) fn move_link(
        &mut self,
        from: u64,
        name: &str,
        to: u64,
        new_name: &str,
    ) -> Result<()> {
        if self.link(to, new_name)?.is_some() {
            return Err(Error::usage(format!(
                "unable to move to {new_name:?}: the name already exists"
            )));
        }
        let link = self.remove_link(from, name, "move")?;
        // the target keeps its count: add the link without counting it
        let target = link.target;
        if let LinkTarget::Hard(a) = &target {
            let a = *a;
            self.ensure(a)?;
            let o = self.obj_mut(a)?;
            o.refcount = o.refcount.saturating_sub(1);
        }
        self.add_link(to, new_name, target)
    }

    /// Is `addr` a group of this file?
    pub(crate) fn is_group(&self, addr: u64) -> bool {
        matches!(
            self.objects.get(&addr).map(|o| &o.kind),
            Some(Kind::Group(_))
        )
    }

    /// The global heap sink for variable-length data.
    pub(crate) fn vlen_sink(&mut self) -> gheap::Sink<'_> {
        let sizes = self.opts.sizes();
        gheap::Sink {
            heap: &mut self.gheap,
            space: &mut self.space,
            sizes,
        }
    }

    /// On close, when holes in the file (space freed by deletes and by
    /// rewritten structures) can take every movable structure that lies
    /// above the lowest hole, writes those structures again, into the
    /// holes, so the space they took at the end of the file can be given
    /// back: deleting what was written last then shrinks the file, and a
    /// file changed once per session does not grow by a chunk index or
    /// dense storage each time. Movable: symbol tables, dense link storage,
    /// dense attribute storage (of objects whose attributes are loaded) and
    /// the chunk indexes that have blocks of their own (not single-chunk or
    /// implicit). Headers and raw data do not move.
    pub(crate) fn compact(&mut self) -> Result<()> {
        let (free, Some(lowest)) = self.space.holes() else {
            return Ok(());
        };
        let above = |v: &[model::Extent]| v.iter().any(|&(s, _)| s > lowest);
        let mut movable = Vec::new();
        let mut lens: Vec<u64> = Vec::new();
        // structures other than symbol tables
        let mut other = false;
        for (&a, o) in &self.objects {
            let mut take = |v: &[model::Extent]| {
                let moved = above(v);
                if moved {
                    lens.extend(v.iter().map(|&(_, l)| l));
                }
                moved
            };
            let mut moves = false;
            let mut index = false;
            match &o.kind {
                Kind::Group(g) if g.style == GroupStyle::SymbolTable => {
                    moves |= take(&g.stab_space);
                }
                Kind::Group(g) => {
                    let m = take(&g.dense_space);
                    other |= m;
                    moves |= m;
                }
                Kind::Dataset(d) => {
                    if let model::LayoutM::Chunked(c) = &d.layout
                        && !matches!(
                            c.index,
                            model::IndexChoice::Single | model::IndexChoice::Implicit
                        )
                    {
                        index = take(&c.index_space);
                        other |= index;
                        moves |= index;
                    }
                }
                Kind::Datatype(_) => {}
            }
            if o.attrs_loaded {
                let m = take(&o.attr_space);
                other |= m;
                moves |= m;
            }
            if moves {
                movable.push((a, index));
            }
        }
        let need: u64 = lens.iter().map(|l| l.div_ceil(8) * 8).sum();
        // symbol tables alone (small blocks, and their heap header moves
        // too) need twice their size free, as first fit leaves slivers;
        // with other structures (large blocks) every block must fit a
        // hole, in the order the flush asks for them
        let room = if other {
            self.space.fits(&lens)
        } else {
            need * 2 <= free
        };
        if movable.is_empty() || !room {
            return Ok(());
        }
        for (a, index) in movable {
            if let Some(o) = self.objects.get_mut(&a) {
                o.dirty = true;
                if index
                    && let Kind::Dataset(d) = &mut o.kind
                    && let model::LayoutM::Chunked(c) = &mut d.layout
                {
                    c.index_dirty = true;
                }
            }
        }
        self.dirty = true;
        self.flush()
    }

    /// Writes everything that changed.
    pub(crate) fn flush(&mut self) -> Result<()> {
        if !self.dirty {
            return Ok(());
        }
        flush::flush(self)?;
        self.dirty = false;
        Ok(())
    }
}
