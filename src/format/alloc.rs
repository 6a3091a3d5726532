//! File space for the encode side: what a structure needs from the writer
//! when it is laid out.
//!
//! Encoders of multi-block structures (B-trees, heaps, chunk arrays) ask an
//! [`Allocator`] for the address of each block they emit and return the
//! blocks with their addresses; the writer owns the file and writes them.
//! Addresses are relative to the base address, as every stored address is.

/// Hands out file space.
pub trait Allocator {
    /// Reserves `len` bytes and returns their address. Successive calls
    /// return disjoint ranges.
    fn alloc(&mut self, len: u64) -> u64;
}

/// Encoded blocks, each to be written at its address.
pub type Blocks = Vec<(u64, Vec<u8>)>;

/// An allocator that hands out space from a growing end of file, for tests
/// and for laying out a whole new file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bump {
    /// The next free address.
    pub next: u64,
}

impl Allocator for Bump {
    fn alloc(&mut self, len: u64) -> u64 {
        let at = self.next;
        self.next = self.next.saturating_add(len);
        at
    }
}

/// Writes `blocks` into a byte image of a file (grown with zeros as
/// needed), for tests that read encoded structures back.
pub fn apply(image: &mut Vec<u8>, blocks: &[(u64, Vec<u8>)]) {
    for (addr, bytes) in blocks {
        let start = *addr as usize;
        let end = start + bytes.len();
        if image.len() < end {
            image.resize(end, 0);
        }
        image[start..end].copy_from_slice(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bump_hands_out_disjoint_ranges_and_apply_places_blocks() {
        let mut b = Bump { next: 100 };
        assert_eq!(b.alloc(10), 100);
        assert_eq!(b.alloc(5), 110);
        assert_eq!(b.next, 115);
        let mut img = vec![1u8; 4];
        apply(&mut img, &[(6, vec![7, 8]), (2, vec![9])]);
        assert_eq!(img, vec![1, 1, 9, 1, 0, 0, 7, 8]);
    }
}
