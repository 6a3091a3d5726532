//! Groups: links by name, path lookup, iteration and visiting.

use std::collections::HashSet;
use std::sync::Arc;

use super::attribute::Attribute;
use super::dataset::Dataset;
use super::object::{Object, ObjectData};
use crate::error::{Error, Result};
use crate::format::btree_v1::{self, NodeType};
use crate::format::btree_v2::BTreeV2;
use crate::format::cursor::Cursor;
use crate::format::heap::fractal::FractalHeap;
use crate::format::heap::local::LocalHeap;
pub use crate::format::link::{Link, LinkTarget};
use crate::format::messages::{LinkInfo, SymbolTableMessage};
use crate::format::object_header::msg;
use crate::format::symbol_table::{self, Scratch};

/// A group: a set of named links to other objects.
#[derive(Clone)]
pub struct Group {
    pub(crate) data: Arc<ObjectData>,
}

impl std::fmt::Debug for Group {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Group({:?})", self.data.path)
    }
}

fn join(base: &str, name: &str) -> String {
    if base.is_empty() {
        name.to_string()
    } else if base.ends_with('/') {
        format!("{base}{name}")
    } else {
        format!("{base}/{name}")
    }
}

impl Group {
    pub(crate) fn from_data(data: Arc<ObjectData>) -> Result<Group> {
        Ok(Group { data })
    }

    /// For a group of a file being written: the group as the file holds
    /// it now, when this handle is out of date.
    fn refreshed(&self) -> Result<Option<Group>> {
        if self.data.needs_refresh() {
            Ok(Some(Group::from_data(self.data.reload()?)?))
        } else {
            Ok(None)
        }
    }

    /// The group's path as it was reached ("/" for the root).
    pub fn name(&self) -> &str {
        &self.data.path
    }

    /// The address of the group's object header.
    pub fn addr(&self) -> u64 {
        self.data.addr
    }

    /// The file this group belongs to.
    pub fn file(&self) -> &super::file::File {
        &self.data.file
    }

    /// True when the group keeps links in creation order (h5py's
    /// `track_order=True`).
    pub fn tracks_order(&self) -> Result<bool> {
        if let Some(g) = self.refreshed()? {
            return g.tracks_order();
        }
        let ctx = self.data.file.inner.ctx();
        Ok(match self.data.message(msg::LINK_INFO)? {
            Some((b, a)) => LinkInfo::decode(&mut Cursor::new(&b, a, ctx.sizes))?.track_order,
            None => false,
        })
    }

    /// Every link of the group, in h5py's iteration order: by name (byte
    /// order), or by creation order when the group tracks it.
    ///
    /// # Errors
    /// `Format` when the group's link storage is malformed.
    pub fn links(&self) -> Result<Vec<Link>> {
        if let Some(g) = self.refreshed()? {
            return g.links();
        }
        let file = &self.data.file;
        let ctx = file.inner.ctx();
        let mut links = Vec::new();
        let mut by_order = false;
        if let Some((b, a)) = self.data.message(msg::SYMBOL_TABLE)? {
            let st = SymbolTableMessage::decode(&mut Cursor::new(&b, a, ctx.sizes))?;
            let heap = LocalHeap::read(&ctx, st.heap)?;
            let leaf_k = file.inner.sb.group_leaf_k;
            btree_v1::walk(&ctx, st.btree, NodeType::Group, &mut |_, snod| {
                for e in symbol_table::read_node(&ctx, snod, leaf_k)? {
                    let name = String::from_utf8_lossy(heap.string(e.name_offset)?).into_owned();
                    let target = match e.scratch {
                        Scratch::SoftLink { offset } => LinkTarget::Soft(
                            String::from_utf8_lossy(heap.string(offset as u64)?).into_owned(),
                        ),
                        _ => LinkTarget::Hard(e.header),
                    };
                    links.push(Link {
                        name,
                        target,
                        creation_order: None,
                    });
                    if links.len() > 1 << 28 {
                        return Err(Error::limit("more than 2^28 links in one group"));
                    }
                }
                Ok(())
            })?;
        } else {
            for m in self.data.header.all(msg::LINK) {
                let (b, a) = super::object::resolve(file, m)?;
                links.push(Link::from_message(&b, a, ctx.sizes)?);
            }
            if let Some((b, a)) = self.data.message(msg::LINK_INFO)? {
                let info = LinkInfo::decode(&mut Cursor::new(&b, a, ctx.sizes))?;
                by_order = info.track_order;
                if let (Some(h), Some(index)) = (info.heap, info.name_index) {
                    let heap = FractalHeap::read(&ctx, h)?;
                    let tree = BTreeV2::read(&ctx, index)?;
                    tree.for_each_record(&ctx, &mut |rec| {
                        let id = rec
                            .get(4..)
                            .ok_or_else(|| Error::format("link name record too short", index))?;
                        let bytes = heap.object(&ctx, id)?;
                        links.push(Link::from_message(&bytes, heap.addr, ctx.sizes)?);
                        Ok(())
                    })?;
                }
            }
        }
        if by_order && links.iter().all(|l| l.creation_order.is_some()) {
            links.sort_by_key(|l| l.creation_order);
        } else {
            links.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
        }
        Ok(links)
    }

    /// The names of the group's members, in iteration order.
    ///
    /// # Errors
    /// As [`Group::links`].
    pub fn member_names(&self) -> Result<Vec<String>> {
        Ok(self.links()?.into_iter().map(|l| l.name).collect())
    }

    /// The members in iteration order with the objects their hard links
    /// point at (soft, external and user-defined links are left out, as
    /// iterating `group.items()` in h5py opens only what resolves).
    ///
    /// # Errors
    /// As [`Group::links`], and `Format` when a member's header is malformed.
    pub fn members(&self) -> Result<Vec<(String, Object)>> {
        if let Some(g) = self.refreshed()? {
            return g.members();
        }
        let mut out = Vec::new();
        for link in self.links()? {
            if let LinkTarget::Hard(addr) = link.target {
                let path = join(self.name(), &link.name);
                let obj = Object::from_data(ObjectData::load(&self.data.file, addr, path)?)?;
                out.push((link.name, obj));
            }
        }
        Ok(out)
    }

    /// Number of links.
    ///
    /// # Errors
    /// As [`Group::links`].
    pub fn len(&self) -> Result<usize> {
        Ok(self.links()?.len())
    }

    /// True when the group has no links.
    ///
    /// # Errors
    /// As [`Group::links`].
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }

    /// The link called `name` (one path component), if any.
    ///
    /// # Errors
    /// As [`Group::links`].
    pub fn link(&self, name: &str) -> Result<Option<Link>> {
        if let Some(g) = self.refreshed()? {
            return g.link(name);
        }
        if let Some(found) = self.indexed_link(name)? {
            return Ok(found);
        }
        Ok(self.links()?.into_iter().find(|l| l.name == name))
    }

    /// Looks `name` up through the group's index, reading only the nodes
    /// on one path: the name-hash v2 B-tree of dense groups, the v1 B-tree
    /// of symbol-table groups. `None` when the index cannot decide (compact
    /// groups, a hash shared by two names): the caller then scans.
    fn indexed_link(&self, name: &str) -> Result<Option<Option<Link>>> {
        let file = &self.data.file;
        let ctx = file.inner.ctx();
        if let Some((b, a)) = self.data.message(msg::SYMBOL_TABLE)? {
            let st = SymbolTableMessage::decode(&mut Cursor::new(&b, a, ctx.sizes))?;
            let heap = LocalHeap::read(&ctx, st.heap)?;
            let key_name = |k: &[u8]| -> Result<Vec<u8>> {
                let off = crate::format::cursor::le_uint(k);
                Ok(heap.string(off)?.to_vec())
            };
            let Some(snod) = btree_v1::find_group_leaf(&ctx, st.btree, name.as_bytes(), &key_name)?
            else {
                return Ok(Some(None));
            };
            for e in symbol_table::read_node(&ctx, snod, file.inner.sb.group_leaf_k)? {
                if heap.string(e.name_offset)? == name.as_bytes() {
                    let target = match e.scratch {
                        Scratch::SoftLink { offset } => LinkTarget::Soft(
                            String::from_utf8_lossy(heap.string(offset as u64)?).into_owned(),
                        ),
                        _ => LinkTarget::Hard(e.header),
                    };
                    return Ok(Some(Some(Link {
                        name: name.to_string(),
                        target,
                        creation_order: None,
                    })));
                }
            }
            return Ok(Some(None));
        }
        let Some((b, a)) = self.data.message(msg::LINK_INFO)? else {
            return Ok(None);
        };
        let info = LinkInfo::decode(&mut Cursor::new(&b, a, ctx.sizes))?;
        let (Some(h), Some(index)) = (info.heap, info.name_index) else {
            return Ok(None);
        };
        let hash = crate::format::checksum::lookup3(name.as_bytes(), 0);
        let tree = BTreeV2::read(&ctx, index)?;
        let rec = tree.find(&ctx, &mut |rec| {
            let h = rec
                .get(..4)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .ok_or_else(|| Error::format("link name record too short", index))?;
            Ok(h.cmp(&hash))
        })?;
        let Some(rec) = rec else {
            return Ok(Some(None));
        };
        let heap = FractalHeap::read(&ctx, h)?;
        let id = rec
            .get(4..)
            .ok_or_else(|| Error::format("link name record too short", index))?;
        let link = Link::from_message(&heap.object(&ctx, id)?, heap.addr, ctx.sizes)?;
        Ok(if link.name == name {
            Some(Some(link))
        } else {
            None
        })
    }

    /// True when `path` names an object reachable from this group.
    pub fn contains(&self, path: &str) -> bool {
        self.object(path).is_ok()
    }

    /// The object at `path`: relative to this group, or absolute.
    /// Soft links are followed; external links are not (an error says so).
    ///
    /// # Errors
    /// `Usage` when a component is missing or an external link is met.
    pub fn object(&self, path: &str) -> Result<Object> {
        self.resolve(path, 0)
    }

    fn resolve(&self, path: &str, depth: u32) -> Result<Object> {
        if let Some(g) = self.refreshed()? {
            return g.resolve(path, depth);
        }
        let limit = self.data.file.inner.ctx().limits.max_link_depth;
        if depth > limit {
            return Err(Error::limit(format!(
                "more than {limit} soft links followed resolving {path:?}"
            )));
        }
        let mut cur = if path.starts_with('/') {
            self.data.file.root()?
        } else {
            self.clone()
        };
        let parts: Vec<&str> = path
            .split('/')
            .filter(|p| !p.is_empty() && *p != ".")
            .collect();
        if parts.is_empty() {
            return Ok(Object::Group(cur));
        }
        for (i, part) in parts.iter().enumerate() {
            let link = cur.link(part)?.ok_or_else(|| {
                Error::not_found(format!("no object {:?} in group {:?}", part, cur.name()))
            })?;
            let child_path = join(cur.name(), part);
            let obj = match &link.target {
                LinkTarget::Hard(addr) => {
                    Object::from_data(ObjectData::load(&cur.data.file, *addr, child_path.clone())?)?
                }
                LinkTarget::Soft(target) => {
                    cur.resolve(target, depth + 1).map_err(|e| match e {
                        Error::Usage(m) => {
                            Error::usage(format!("soft link {child_path:?} -> {target:?}: {m}"))
                        }
                        Error::NotFound(m) => {
                            Error::not_found(format!("soft link {child_path:?} -> {target:?}: {m}"))
                        }
                        e => e,
                    })?
                }
                LinkTarget::External { file, path } => {
                    return Err(Error::usage(format!(
                        "{child_path:?} is an external link to {path:?} in file {file:?}; external links are not followed"
                    )));
                }
                LinkTarget::UserDefined { class, .. } => {
                    return Err(Error::usage(format!(
                        "{child_path:?} is a user-defined link (class {class})"
                    )));
                }
            };
            if i + 1 == parts.len() {
                return Ok(obj);
            }
            cur = match obj {
                Object::Group(g) => g,
                _ => {
                    return Err(Error::usage(format!("{child_path:?} is not a group")));
                }
            };
        }
        Ok(Object::Group(cur))
    }

    /// The group at `path`.
    ///
    /// # Errors
    /// `Usage` when missing or not a group.
    pub fn group(&self, path: &str) -> Result<Group> {
        match self.object(path)? {
            Object::Group(g) => Ok(g),
            _ => Err(Error::usage(format!("{path:?} is not a group"))),
        }
    }

    /// The dataset at `path`.
    ///
    /// # Errors
    /// `Usage` when missing or not a dataset.
    pub fn dataset(&self, path: &str) -> Result<Dataset> {
        match self.object(path)? {
            Object::Dataset(d) => Ok(d),
            _ => Err(Error::usage(format!("{path:?} is not a dataset"))),
        }
    }

    /// The group's attributes, in h5py's order (by name, or creation order
    /// when tracked).
    ///
    /// # Errors
    /// `Format` on malformed attribute storage.
    pub fn attrs(&self) -> Result<Vec<Attribute>> {
        if let Some(g) = self.refreshed()? {
            return g.attrs();
        }
        self.data.attributes()
    }

    /// Names of the group's attributes.
    ///
    /// # Errors
    /// As [`Group::attrs`].
    pub fn attr_names(&self) -> Result<Vec<String>> {
        Ok(self
            .attrs()?
            .into_iter()
            .map(|a| a.name().to_string())
            .collect())
    }

    /// The attribute called `name`.
    ///
    /// # Errors
    /// `Usage` when there is none.
    pub fn attr(&self, name: &str) -> Result<Attribute> {
        super::attribute::find(self.attrs()?, name)
    }

    /// Calls `f` with the path (relative to this group) of every object
    /// below it, each object once, depth first in iteration order, as
    /// h5py's `visit`. Returning `Some` stops the walk with that value.
    ///
    /// # Errors
    /// `Format` on a malformed group below.
    pub fn visit<R>(&self, mut f: impl FnMut(&str) -> Option<R>) -> Result<Option<R>> {
        self.visit_items(|p, _| f(p))
    }

    /// As [`Group::visit`], also handing over each object.
    ///
    /// # Errors
    /// `Format` on a malformed group below.
    pub fn visit_items<R>(
        &self,
        mut f: impl FnMut(&str, &Object) -> Option<R>,
    ) -> Result<Option<R>> {
        let mut seen = HashSet::from([self.addr()]);
        self.visit_rec("", &mut seen, &mut f, 0)
    }

    fn visit_rec<R>(
        &self,
        prefix: &str,
        seen: &mut HashSet<u64>,
        f: &mut impl FnMut(&str, &Object) -> Option<R>,
        depth: u32,
    ) -> Result<Option<R>> {
        if let Some(g) = self.refreshed()? {
            return g.visit_rec(prefix, seen, f, depth);
        }
        if depth > 4096 {
            return Err(Error::limit("group nesting deeper than 4096"));
        }
        for link in self.links()? {
            let LinkTarget::Hard(addr) = link.target else {
                continue;
            };
            if !seen.insert(addr) {
                continue;
            }
            let rel = join(prefix, &link.name);
            let obj = Object::from_data(ObjectData::load(
                &self.data.file,
                addr,
                join(self.name(), &link.name),
            )?)?;
            if let Some(r) = f(&rel, &obj) {
                return Ok(Some(r));
            }
            if let Object::Group(g) = &obj
                && let Some(r) = g.visit_rec(&rel, seen, f, depth + 1)?
            {
                return Ok(Some(r));
            }
        }
        Ok(None)
    }
}
