//! File space of a file being written: the OS file, the end of allocated
//! space, and a list of freed ranges that later allocations reuse.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::FileExt;

use crate::error::{Error, Result};
use crate::format::alloc::Allocator;

/// The file and its allocated space. Addresses are relative to the base
/// address (the end of the user block).
#[derive(Debug)]
pub(crate) struct Space {
    file: fs::File,
    /// Absolute position of address 0.
    base: u64,
    /// End of allocated space (the superblock's end-of-file address).
    pub(crate) eof: u64,
    /// Freed ranges (address, length), sorted by address, disjoint and
    /// never touching each other.
    free: Vec<(u64, u64)>,
    /// Ranges freed since the last flush: the file on disk may still use
    /// them (the flushed headers point there), so they are reused only
    /// once the next flush is complete ([`Space::commit_frees`]).
    pending: Vec<(u64, u64)>,
    /// Allocations of this session: address → bytes taken (rounding
    /// included), freed whole.
    session: BTreeMap<u64, u64>,
    /// Ranges of structures read from the file that were freed (disjoint).
    /// With `session` and `floor`, they keep a damaged file's structures
    /// from freeing space twice, or space in use.
    file_freed: BTreeMap<u64, u64>,
    /// Addresses below this (the superblock) are never freed.
    floor: u64,
}

/// Whether `[start, end)` overlaps a range of `ranges` (disjoint ranges,
/// address → length).
fn overlaps(ranges: &BTreeMap<u64, u64>, start: u64, end: u64) -> bool {
    ranges
        .range(..end)
        .next_back()
        .is_some_and(|(&a, &l)| a.saturating_add(l) > start)
}

/// Allocations are rounded up to this many bytes so that structures stay
/// 8-byte aligned, as libhdf5's are in practice.
const ALIGN: u64 = 8;

fn round(len: u64) -> u64 {
    len.div_ceil(ALIGN) * ALIGN
}

/// Takes `len` bytes (rounded up to [`ALIGN`], or the whole range when
/// it holds `len` but not the rounded length) from the first range of
/// `free` that holds them: their address and the bytes taken; `None` when
/// no range holds them.
fn take_first_fit(free: &mut Vec<(u64, u64)>, len: u64) -> Option<(u64, u64)> {
    let len = len.max(1);
    let i = free.iter().position(|&(_, l)| l >= len)?;
    let (addr, l) = free[i];
    let take = round(len).min(l);
    if l == take {
        free.remove(i);
    } else {
        free[i] = (addr + take, l - take);
    }
    Some((addr, take))
}

impl Space {
    /// The space of `file` from `base`, allocated up to `eof`; the first
    /// `floor` bytes (the superblock) are never freed.
    pub(crate) fn new(file: fs::File, base: u64, eof: u64, floor: u64) -> Space {
        Space {
            file,
            base,
            eof,
            free: Vec::new(),
            pending: Vec::new(),
            session: BTreeMap::new(),
            file_freed: BTreeMap::new(),
            floor,
        }
    }

    /// Reserves `len` bytes: the first freed range that holds them, else
    /// the end of the file.
    ///
    /// A freed range at least `len` bytes long but shorter than `len`
    /// rounded up is taken whole: structures are freed with their exact
    /// lengths, and one rewritten at the same size must fit where it was.
    pub(crate) fn allocate(&mut self, len: u64) -> u64 {
        let (at, taken) = match take_first_fit(&mut self.free, len) {
            Some(t) => t,
            None => {
                let at = self.eof;
                let taken = round(len.max(1));
                self.eof += taken;
                (at, taken)
            }
        };
        // the padding goes back with the allocation
        self.session.insert(at, taken);
        at
    }

    /// Gives `len` bytes at `addr` back, for reuse after the next flush.
    /// (No rounding: structures libhdf5 wrote are packed without gaps; an
    /// allocation of this session goes back whole, padding included.)
    ///
    /// A range that is not an allocation of this session comes from the
    /// file's structures; it is kept (leaked) when it reaches into the
    /// superblock or past the end of file, or overlaps space allocated in
    /// this session or freed before: in a damaged file two structures may
    /// claim the same bytes, and freeing them twice would hand out space
    /// in use.
    pub(crate) fn free(&mut self, addr: u64, len: u64) {
        let len = match self.session.remove(&addr) {
            Some(taken) => taken.max(len),
            None => {
                let Some(end) = addr.checked_add(len) else {
                    return;
                };
                if len == 0
                    || addr < self.floor
                    || end > self.eof
                    || overlaps(&self.session, addr, end)
                    || overlaps(&self.file_freed, addr, end)
                {
                    return;
                }
                self.file_freed.insert(addr, len);
                len
            }
        };
        if len > 0 {
            self.pending.push((addr, len));
        }
    }

    /// The first of `spans` (start, end) that overlaps space allocated or
    /// freed in this session, or reaches past the end, described; `None`
    /// when none does. Structures read from the file must not.
    pub(crate) fn in_use(&self, spans: &[(u64, u64)]) -> Option<String> {
        let in_free = |s: u64, e: u64| {
            let i = self.free.partition_point(|&(a, _)| a < e);
            i > 0 && self.free[i - 1].0 + self.free[i - 1].1 > s
        };
        let in_pending = |s: u64, e: u64| {
            self.pending
                .iter()
                .any(|&(a, l)| a < e && a.saturating_add(l) > s)
        };
        spans.iter().find_map(|&(s, e)| {
            (e > self.eof
                || overlaps(&self.session, s, e)
                || overlaps(&self.file_freed, s, e)
                || in_free(s, e)
                || in_pending(s, e))
            .then(|| format!("{s:#x}..{e:#x} and space used in this session"))
        })
    }

    /// Addresses below this (the superblock) are never freed.
    pub(crate) fn floor(&self) -> u64 {
        self.floor
    }

    /// Whether `addr` is the start of an allocation of this session.
    pub(crate) fn allocated_here(&self, addr: u64) -> bool {
        self.session.contains_key(&addr)
    }

    /// Bytes of free ranges inside the file, and the lowest one's address.
    pub(crate) fn holes(&self) -> (u64, Option<u64>) {
        (
            self.free.iter().map(|&(_, l)| l).sum(),
            self.free.first().map(|&(a, _)| a),
        )
    }

    /// Whether allocations of `lens`, asked for in this order, would all
    /// be taken from freed ranges (first fit), none from the end of file.
    pub(crate) fn fits(&self, lens: &[u64]) -> bool {
        let mut free = self.free.clone();
        lens.iter()
            .all(|&len| take_first_fit(&mut free, len).is_some())
    }

    /// Makes the ranges freed before a completed flush reusable.
    pub(crate) fn commit_frees(&mut self) {
        for (a, l) in std::mem::take(&mut self.pending) {
            self.release(a, l);
        }
    }

    /// Returns a range to the free list at once. Ranges at the end of the
    /// file shorten it; others join the free list, merged with their
    /// neighbours.
    fn release(&mut self, addr: u64, len: u64) {
        if len == 0 {
            return;
        }
        let i = self.free.partition_point(|&(a, _)| a < addr);
        self.free.insert(i, (addr, len));
        // merge with the next range, then with the previous one
        if i + 1 < self.free.len() && self.free[i].0 + self.free[i].1 >= self.free[i + 1].0 {
            let (na, nl) = self.free.remove(i + 1);
            let end = (na + nl).max(self.free[i].0 + self.free[i].1);
            self.free[i].1 = end - self.free[i].0;
        }
        if i > 0 && self.free[i - 1].0 + self.free[i - 1].1 >= self.free[i].0 {
            let (ca, cl) = self.free.remove(i);
            let end = (ca + cl).max(self.free[i - 1].0 + self.free[i - 1].1);
            self.free[i - 1].1 = end - self.free[i - 1].0;
        }
        // free ranges that reach the end shorten the file, repeatedly (a
        // range freed earlier may reach the new end)
        while let Some(&(a, l)) = self.free.last() {
            if a + l < self.eof {
                break;
            }
            self.free.pop();
            self.eof = a;
        }
    }

    /// Writes `bytes` at address `addr`.
    pub(crate) fn write(&self, addr: u64, bytes: &[u8]) -> Result<()> {
        let end = addr.checked_add(bytes.len() as u64);
        if end.is_none_or(|e| e > self.eof) {
            return Err(Error::usage(format!(
                "internal: write of {} bytes at {addr} past the allocated end {}",
                bytes.len(),
                self.eof
            )));
        }
        self.file.write_all_at(bytes, self.base + addr)?;
        Ok(())
    }

    /// Makes the file at least as long as the allocated space (holes read
    /// as zeros), so a superblock never claims more than the file holds;
    /// fails as a write past the end would (a full disk, a size limit).
    pub(crate) fn cover_eof(&self) -> Result<()> {
        let end = self.base + self.eof;
        if self.file.metadata()?.len() < end {
            self.file.set_len(end)?;
        }
        Ok(())
    }

    /// Writes at an absolute position (the superblock, the user block).
    pub(crate) fn write_absolute(&self, pos: u64, bytes: &[u8]) -> Result<()> {
        self.file.write_all_at(bytes, pos)?;
        Ok(())
    }

    /// Reads `len` bytes at `addr`.
    pub(crate) fn read(&self, addr: u64, len: usize) -> Result<Vec<u8>> {
        let mut buf = vec![0u8; len];
        self.file.read_exact_at(&mut buf, self.base + addr)?;
        Ok(buf)
    }

    /// Makes the file exactly as long as the allocated space and syncs
    /// nothing (the caller decides).
    pub(crate) fn set_len(&self) -> Result<()> {
        self.file.set_len(self.base + self.eof)?;
        Ok(())
    }
}

impl Allocator for Space {
    fn alloc(&mut self, len: u64) -> u64 {
        self.allocate(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn space() -> Space {
        let f = tempfile_in_target();
        Space::new(f, 0, 96, 96)
    }

    fn tempfile_in_target() -> fs::File {
        let dir = std::env::temp_dir().join(format!("h5rs-space-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let p = dir.join(format!("{:?}", std::thread::current().id()));
        fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(p)
            .unwrap()
    }

    #[test]
    fn allocates_from_the_end_then_reuses_freed_ranges() {
        let mut s = space();
        let a = s.allocate(10);
        let b = s.allocate(16);
        let c = s.allocate(8);
        assert_eq!((a, b, c, s.eof), (96, 112, 128, 136));
        s.free(a, 16);
        // not reused before a flush completes
        assert_eq!(s.allocate(8), 136);
        s.commit_frees();
        s.free(136, 8);
        s.commit_frees();
        assert_eq!(s.allocate(8), 96);
        assert_eq!(s.allocate(8), 104);
        assert_eq!(s.allocate(8), 136);
        // freeing the last range shortens the file
        s.free(136, 8);
        s.commit_frees();
        assert_eq!(s.eof, 136);
        s.free(c, 8);
        s.free(b, 16);
        s.commit_frees();
        assert_eq!(s.eof, 112);
        // a hole stays on the list until its neighbour goes
        s.free(96, 8);
        s.commit_frees();
        assert_eq!((s.eof, s.free.clone()), (112, vec![(96, 8)]));
        s.free(104, 8);
        s.commit_frees();
        assert_eq!(s.eof, 96);
        assert!(s.free.is_empty());
    }

    #[test]
    fn fits_simulates_first_fit() {
        let mut s = space();
        let a = s.allocate(40);
        let _b = s.allocate(8);
        let c = s.allocate(24);
        let _d = s.allocate(8);
        s.free(a, 40);
        s.free(c, 24);
        s.commit_frees();
        assert!(s.fits(&[]));
        assert!(s.fits(&[40, 24]));
        assert!(s.fits(&[16, 17, 24]));
        // the 40-byte hole is taken first: 24 then 24 leave no room for 17
        assert!(!s.fits(&[24, 24, 17]));
        assert!(!s.fits(&[48]));
        // nothing was taken
        assert_eq!(s.holes(), (64, Some(a)));
    }

    #[test]
    fn ranges_a_damaged_file_claims_twice_are_freed_once() {
        let mut t = Space::new(tempfile_in_target(), 0, 200, 48);
        let mine = t.allocate(16);
        assert_eq!(mine, 200);
        // into the superblock, past the end, over this session's space
        t.free(40, 16);
        t.free(190, 16);
        t.free(196, 8);
        t.free(u64::MAX - 4, 8);
        // freed twice, or overlapping a range freed before
        t.free(64, 16);
        t.free(64, 16);
        t.free(72, 16);
        t.commit_frees();
        assert_eq!(t.holes(), (16, Some(64)));
        assert_eq!(t.eof, 216);
        // this session's allocations go back as often as they are made
        t.free(mine, 16);
        t.commit_frees();
        assert_eq!(t.eof, 200);
    }

    #[test]
    fn exact_holes_and_padding() {
        // a range of the file freed at its exact length takes the same
        // length again
        let mut t = Space::new(tempfile_in_target(), 0, 96, 48);
        t.free(48, 13);
        t.commit_frees();
        assert!(t.fits(&[13]) && !t.fits(&[14]));
        assert_eq!(t.allocate(13), 48);
        assert_eq!(t.holes().0, 0);
        // an allocation goes back whole, its padding included
        let z = t.allocate(5);
        let _w = t.allocate(8);
        t.free(z, 5);
        t.commit_frees();
        assert_eq!(t.holes(), (8, Some(z)));
    }
}
