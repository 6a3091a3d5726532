//! A small per-thread pool of byte buffers for chunk decoding.
//!
//! Decoding a chunk needs one or two buffers of the chunk's size; taking
//! them fresh from the allocator for every chunk costs a page fault per
//! 4 KiB each time (large allocations are fresh mappings). Buffers are
//! returned after their chunk is copied out and reused by the next chunk
//! decoded on the same thread. The pool holds a few buffers per thread.

use std::cell::RefCell;

const KEEP: usize = 4;
const MIN_POOLED: usize = 16 << 10;
const MAX_POOLED: usize = 256 << 20;

thread_local! {
    static POOL: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

/// An empty buffer with room for at least `capacity` bytes.
pub fn take(capacity: usize) -> Vec<u8> {
    if capacity >= MIN_POOLED {
        let found = POOL.with(|p| {
            let mut p = p.borrow_mut();
            let i = p.iter().position(|b| b.capacity() >= capacity)?;
            Some(p.swap_remove(i))
        });
        if let Some(mut b) = found {
            b.clear();
            return b;
        }
    }
    Vec::with_capacity(capacity)
}

/// Returns a buffer to this thread's pool (dropped when the pool is full
/// or the buffer is very small or very large).
pub fn give(buf: Vec<u8>) {
    let cap = buf.capacity();
    if !(MIN_POOLED..=MAX_POOLED).contains(&cap) {
        return;
    }
    POOL.with(|p| {
        let mut p = p.borrow_mut();
        if p.len() < KEEP {
            p.push(buf);
        } else if let Some(smallest) = p.iter_mut().min_by_key(|b| b.capacity())
            && smallest.capacity() < cap
        {
            *smallest = buf;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reuses_returned_buffers() {
        let mut a = take(1 << 20);
        a.extend_from_slice(&[1, 2, 3]);
        let ptr = a.as_ptr();
        give(a);
        let b = take(1 << 19);
        assert_eq!(b.as_ptr(), ptr);
        assert!(b.is_empty());
    }
}
