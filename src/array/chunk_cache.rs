//! A small cache of decoded chunks, per dataset handle.
//!
//! Reading a few elements of a compressed dataset decodes a whole chunk;
//! loops of small reads (row by row, random points) would decode the same
//! chunk again and again. Like libhdf5's chunk cache, h5rs keeps the most
//! recently used decoded chunks of a dataset, up to a byte budget. Large
//! reads bypass it (they decode each chunk once anyway).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Decoded chunks keyed by chunk coordinates, least recently used evicted.
#[derive(Debug)]
pub struct ChunkCache {
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    map: HashMap<Vec<u64>, (Arc<Vec<u8>>, u64)>,
    bytes: usize,
    tick: u64,
}

/// The default budget: 16 MiB per dataset handle.
pub const DEFAULT_CAPACITY: usize = 16 << 20;

impl ChunkCache {
    /// A cache holding at most `capacity` bytes of decoded chunks.
    pub fn new(capacity: usize) -> Self {
        ChunkCache {
            capacity,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// The cached chunk at `coords`, if any.
    pub fn get(&self, coords: &[u64]) -> Option<Arc<Vec<u8>>> {
        let mut g = self.inner.lock().ok()?;
        g.tick += 1;
        let tick = g.tick;
        let e = g.map.get_mut(coords)?;
        e.1 = tick;
        Some(e.0.clone())
    }

    /// Keeps `data` as the chunk at `coords`, evicting the least recently
    /// used chunks to stay within the budget. Chunks larger than the whole
    /// budget are not kept.
    pub fn put(&self, coords: &[u64], data: Arc<Vec<u8>>) {
        let size = data.len();
        if size > self.capacity {
            return;
        }
        let Ok(mut g) = self.inner.lock() else {
            return;
        };
        g.tick += 1;
        let tick = g.tick;
        if let Some((old, _)) = g.map.insert(coords.to_vec(), (data, tick)) {
            g.bytes -= old.len();
        }
        g.bytes += size;
        while g.bytes > self.capacity {
            let Some(oldest) = g
                .map
                .iter()
                .min_by_key(|(_, (_, t))| *t)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            if let Some((old, _)) = g.map.remove(&oldest) {
                g.bytes -= old.len();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_least_recently_used() {
        let c = ChunkCache::new(30);
        c.put(&[0], Arc::new(vec![0; 10]));
        c.put(&[1], Arc::new(vec![1; 10]));
        c.put(&[2], Arc::new(vec![2; 10]));
        assert!(c.get(&[0]).is_some()); // 0 is now the most recent
        c.put(&[3], Arc::new(vec![3; 10]));
        assert!(c.get(&[1]).is_none());
        assert_eq!(c.get(&[0]).unwrap()[0], 0);
        assert_eq!(c.get(&[3]).unwrap()[0], 3);
        c.put(&[4], Arc::new(vec![4; 31]));
        assert!(c.get(&[4]).is_none());
    }
}
