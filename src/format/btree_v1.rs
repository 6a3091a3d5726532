//! Version 1 B-trees (spec III.A.1): the index of symbol-table groups (node
//! type 0) and of chunked datasets (node type 1).
//!
//! ```text
//! "TREE" | node type (1) | level (1) | entries used (2)
//!        | left sibling (O) | right sibling (O)
//!        | key 0 | child 0 | key 1 | child 1 | ... | key N
//! ```
//! Group keys are a heap offset (L); chunk keys are chunk size (4), filter
//! mask (4) and one 8-byte offset per dimension plus one.
//!
//! libhdf5 allocates every node, leaf or not, with room for `2K` children
//! and zero-fills the unused key and child slots ([`NodeImage::encode`]
//! does the same). For group trees K is the superblock's group internal K
//! at every level (the group leaf K sizes symbol table nodes instead); for
//! chunk trees it is the indexed storage K.

use std::collections::HashSet;

use crate::error::{Error, Result};
use crate::format::FileCtx;
use crate::format::cursor::{Encoder, Sizes};

/// A v1 B-tree node kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeType {
    /// Symbol-table group nodes: children of leaves are `SNOD` addresses.
    Group,
    /// Raw-data chunk nodes: children of leaves are chunk addresses.
    Chunk {
        /// Dimensionality of the chunk keys (dataset rank plus one).
        key_dims: usize,
    },
}

impl NodeType {
    fn code(&self) -> u8 {
        match self {
            NodeType::Group => 0,
            NodeType::Chunk { .. } => 1,
        }
    }

    fn key_size(&self, ctx: &FileCtx) -> usize {
        self.key_size_for(ctx.sizes)
    }

    /// Bytes in one key of this node type.
    pub fn key_size_for(&self, sizes: Sizes) -> usize {
        match self {
            NodeType::Group => sizes.length as usize,
            NodeType::Chunk { key_dims } => 8 + 8 * key_dims,
        }
    }
}

/// One decoded node: its level, its keys (one more than its children) and
/// its children's addresses.
#[derive(Debug, Clone)]
pub struct Node<'a> {
    /// 0 for leaves.
    pub level: u8,
    /// The keys, `children.len() + 1` of them (key `i` is left of child
    /// `i`).
    pub keys: Vec<&'a [u8]>,
    /// Child addresses.
    pub children: Vec<u64>,
}

impl<'a> Node<'a> {
    /// Reads the node at `addr`, checking its signature and type.
    pub fn read(ctx: &FileCtx<'a>, addr: u64, kind: NodeType) -> Result<Node<'a>> {
        let head = 8 + 2 * ctx.sizes.offset as u64;
        let mut c = ctx.cursor(addr, head, "v1 B-tree node")?;
        c.signature(b"TREE", "v1 B-tree node")?;
        let node_type = c.u8()?;
        if node_type != kind.code() {
            return Err(Error::format(
                format!("v1 B-tree node: type {node_type}, expected {}", kind.code()),
                addr,
            ));
        }
        let level = c.u8()?;
        let entries = c.u16()? as usize;
        let key_size = kind.key_size(ctx);
        let child = ctx.sizes.offset as usize;
        let body = entries * (key_size + child) + key_size;
        let mut c = ctx.cursor(addr + head, body as u64, "v1 B-tree node entries")?;
        let mut children = Vec::with_capacity(entries);
        let mut keys = Vec::with_capacity(entries + 1);
        for _ in 0..entries {
            keys.push(c.bytes(key_size)?);
            children.push(c.required_address("v1 B-tree child")?);
        }
        keys.push(c.bytes(key_size)?);
        Ok(Node {
            level,
            keys,
            children,
        })
    }

    /// Key `i` (0 to `children.len()`).
    pub fn key(&self, i: usize) -> &'a [u8] {
        self.keys.get(i).copied().unwrap_or(&[])
    }
}

/// A node to encode: the owned counterpart of [`Node`], with its siblings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeImage {
    /// 0 for leaves.
    pub level: u8,
    /// The keys, `children.len() + 1` of them, each of the node type's key
    /// size.
    pub keys: Vec<Vec<u8>>,
    /// Child addresses.
    pub children: Vec<u64>,
    /// Left sibling (undefined for the leftmost node of a level).
    pub left: Option<u64>,
    /// Right sibling (undefined for the rightmost node of a level).
    pub right: Option<u64>,
}

impl NodeImage {
    /// Encodes the node with room for `2 * k` children, as libhdf5
    /// allocates every node: the unused key and child slots are
    /// zero-filled, so a node is always
    /// `8 + 2 * O + 2k * (key + O) + key` bytes. `k` is the superblock's
    /// group internal node K for group nodes (libhdf5 uses it for their
    /// leaves too) and the indexed storage K for chunk nodes. Fails when
    /// the children exceed the capacity or a key has the wrong size.
    pub fn encode(&self, kind: NodeType, k: u16, sizes: Sizes) -> Result<Vec<u8>> {
        let capacity = 2 * k as usize;
        let key_size = kind.key_size_for(sizes);
        if self.children.len() > capacity || self.keys.len() != self.children.len() + 1 {
            return Err(Error::format_noaddr(format!(
                "v1 B-tree node: {} children and {} keys for a capacity of {capacity}",
                self.children.len(),
                self.keys.len()
            )));
        }
        if let Some(bad) = self.keys.iter().find(|key| key.len() != key_size) {
            return Err(Error::format_noaddr(format!(
                "v1 B-tree node: key of {} bytes, expected {key_size}",
                bad.len()
            )));
        }
        let mut e = Encoder::new(sizes);
        e.bytes(b"TREE")
            .u8(kind.code())
            .u8(self.level)
            .u16(self.children.len() as u16)
            .address(self.left)
            .address(self.right);
        for (key, &child) in self.keys.iter().zip(&self.children) {
            e.bytes(key).address(Some(child));
        }
        if let Some(last) = self.keys.last() {
            e.bytes(last);
        }
        let full = 8
            + 2 * sizes.offset as usize
            + capacity * (key_size + sizes.offset as usize)
            + key_size;
        e.zeros(full - e.position());
        Ok(e.into_bytes())
    }
}

/// Finds the leaf child of a group B-tree whose names may include `name`:
/// descends choosing, at each node, the first child `i` whose right key
/// (the greatest name below it) is not less than `name`. `key_name` turns a
/// key into the name it stands for (a local heap lookup). `None` when
/// `name` is greater than every key.
pub fn find_group_leaf(
    ctx: &FileCtx,
    root: u64,
    name: &[u8],
    key_name: &dyn Fn(&[u8]) -> Result<Vec<u8>>,
) -> Result<Option<u64>> {
    let mut addr = root;
    let mut seen = HashSet::new();
    for _ in 0..=ctx.limits.max_tree_depth {
        if !seen.insert(addr) {
            return Err(Error::format("v1 B-tree: node reached twice (cycle)", addr));
        }
        let node = Node::read(ctx, addr, NodeType::Group)?;
        let mut next = None;
        for (i, &ch) in node.children.iter().enumerate() {
            if key_name(node.key(i + 1))?.as_slice() >= name {
                next = Some(ch);
                break;
            }
        }
        let Some(ch) = next else {
            return Ok(None);
        };
        if node.level == 0 {
            return Ok(Some(ch));
        }
        addr = ch;
    }
    Err(Error::limit(format!(
        "v1 B-tree at {root:#x} is deeper than {}",
        ctx.limits.max_tree_depth
    )))
}

/// Calls `leaf(key, child)` for every child of every leaf node, in key
/// order. `key` is the key bytes to the left of the child.
pub fn walk(
    ctx: &FileCtx,
    root: u64,
    kind: NodeType,
    leaf: &mut dyn FnMut(&[u8], u64) -> Result<()>,
) -> Result<()> {
    let mut seen = HashSet::new();
    walk_node(ctx, root, kind, None, 0, &mut seen, leaf)
}

/// The address of every node of the tree at `root` (each node once), for a
/// writer that replaces the tree and gives its space back. Cycles and
/// depth are checked as in [`walk`].
pub fn node_addresses(ctx: &FileCtx, root: u64, kind: NodeType) -> Result<Vec<u64>> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    let mut level = vec![root];
    for _ in 0..=ctx.limits.max_tree_depth {
        let mut next = Vec::new();
        for addr in level {
            if !seen.insert(addr) {
                return Err(Error::format("v1 B-tree: node reached twice (cycle)", addr));
            }
            let node = Node::read(ctx, addr, kind)?;
            out.push(addr);
            if node.level > 0 {
                next.extend(node.children.iter().copied());
            }
        }
        if next.is_empty() {
            return Ok(out);
        }
        level = next;
    }
    Err(Error::limit(format!(
        "v1 B-tree at {root:#x} is deeper than {}",
        ctx.limits.max_tree_depth
    )))
}

/// Bytes of one node of `kind` with room for `2k` children, as libhdf5
/// allocates every node (see [`NodeImage::encode`]).
pub fn node_len(kind: NodeType, k: u16, sizes: Sizes) -> u64 {
    let key = kind.key_size_for(sizes) as u64;
    let o = u64::from(sizes.offset);
    8 + 2 * o + 2 * u64::from(k) * (key + o) + key
}

fn walk_node(
    ctx: &FileCtx,
    addr: u64,
    kind: NodeType,
    expect_level: Option<u8>,
    depth: u32,
    seen: &mut HashSet<u64>,
    leaf: &mut dyn FnMut(&[u8], u64) -> Result<()>,
) -> Result<()> {
    if depth > ctx.limits.max_tree_depth {
        return Err(Error::limit(format!(
            "v1 B-tree at {addr:#x} is deeper than {}",
            ctx.limits.max_tree_depth
        )));
    }
    if !seen.insert(addr) {
        return Err(Error::format("v1 B-tree: node reached twice (cycle)", addr));
    }
    let node = Node::read(ctx, addr, kind)?;
    if let Some(l) = expect_level
        && l != node.level
    {
        return Err(Error::format(
            format!("v1 B-tree node: level {}, expected {l}", node.level),
            addr,
        ));
    }
    for (i, &ch) in node.children.iter().enumerate() {
        if node.level == 0 {
            leaf(node.key(i), ch)?;
        } else {
            walk_node(ctx, ch, kind, Some(node.level - 1), depth + 1, seen, leaf)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::Limits;
    use proptest::prelude::*;

    #[test]
    fn empty_group_node_is_full_size() {
        let n = NodeImage {
            level: 0,
            keys: vec![vec![0u8; 8]],
            children: vec![],
            left: None,
            right: None,
        };
        let b = n.encode(NodeType::Group, 16, Sizes::DEFAULT).unwrap();
        assert_eq!(b.len(), 544);
        assert_eq!(&b[..8], b"TREE\0\0\0\0");
        assert_eq!(&b[8..24], &[0xff; 16]);
        assert!(b[24..].iter().all(|&x| x == 0));
    }

    proptest! {
        #[test]
        fn round_trips(n in 0usize..10, level in 0u8..3, chunk in any::<bool>(), seed in any::<u64>()) {
            let kind = if chunk { NodeType::Chunk { key_dims: 3 } } else { NodeType::Group };
            let sizes = Sizes::DEFAULT;
            let ks = kind.key_size_for(sizes);
            let keys: Vec<Vec<u8>> = (0..=n).map(|i| (0..ks).map(|j| (seed as usize + i * 7 + j) as u8).collect()).collect();
            let children: Vec<u64> = (0..n as u64).map(|i| 1000 + i * 64).collect();
            let img = NodeImage { level, keys: keys.clone(), children: children.clone(), left: None, right: None };
            let b = img.encode(kind, 8, sizes).unwrap();
            let ctx = FileCtx { data: &b, base: 0, sizes, limits: Limits::default() };
            let node = Node::read(&ctx, 0, kind).unwrap();
            prop_assert_eq!(node.level, level);
            prop_assert_eq!(node.children, children);
            let got: Vec<Vec<u8>> = node.keys.iter().map(|k| k.to_vec()).collect();
            prop_assert_eq!(got, keys);
        }
    }
}
