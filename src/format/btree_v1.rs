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

use std::collections::HashSet;

use crate::error::{Error, Result};
use crate::format::FileCtx;

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
        match self {
            NodeType::Group => ctx.sizes.length as usize,
            NodeType::Chunk { key_dims } => 8 + 8 * key_dims,
        }
    }
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
    if let Some(l) = expect_level
        && l != level
    {
        return Err(Error::format(
            format!("v1 B-tree node: level {level}, expected {l}"),
            addr,
        ));
    }
    let entries = c.u16()? as u64;
    let key = kind.key_size(ctx) as u64;
    let child = ctx.sizes.offset as u64;
    let body = entries * (key + child) + key;
    let mut c = ctx.cursor(addr + head, body, "v1 B-tree node entries")?;
    for _ in 0..entries {
        let k = c.bytes(key as usize)?;
        let ch = c.required_address("v1 B-tree child")?;
        if level == 0 {
            leaf(k, ch)?;
        } else {
            walk_node(ctx, ch, kind, Some(level - 1), depth + 1, seen, leaf)?;
        }
    }
    Ok(())
}
