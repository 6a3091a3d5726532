//! Byte sources: what a file's bytes are read from.

use std::fs;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use crate::error::Result;

/// The bytes of an open file, shared by every handle.
#[derive(Clone)]
pub struct Source {
    inner: Arc<Shared>,
}

struct Shared {
    backing: Backing,
    opened: Instant,
    /// Microseconds after `opened` of the last length check (`u64::MAX`:
    /// none yet).
    checked_us: AtomicU64,
}

enum Backing {
    /// A read-only mapping, with the file it maps (kept to notice a
    /// truncation by another process before mapped pages are touched).
    Map(memmap2::Mmap, fs::File),
    Memory(Vec<u8>),
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Source({} bytes)", self.bytes().len())
    }
}

impl Source {
    fn new(backing: Backing) -> Source {
        Source {
            inner: Arc::new(Shared {
                backing,
                opened: Instant::now(),
                checked_us: AtomicU64::new(u64::MAX),
            }),
        }
    }

    /// Maps the file at `path` read-only.
    pub fn map(path: &Path) -> Result<Source> {
        let file = fs::File::open(path)?;
        let len = file.metadata()?.len();
        if len == 0 {
            return Ok(Source::memory(Vec::new()));
        }
        // SAFETY: the mapping is read-only and private to this process. Like
        // every memory-mapped reader, h5rs assumes no other process truncates
        // or rewrites the file while it is open; such a change is outside
        // what Rust can guard against and would make reads see new bytes or
        // fault (documented on `File::open`).
        let map = unsafe { memmap2::Mmap::map(&file)? };
        Ok(Source::new(Backing::Map(map, file)))
    }

    /// Reads the whole file at `path` into memory with `read` calls: no
    /// mapping, so a later truncation or rewrite by another process cannot
    /// affect (or fault) the reader. Costs memory for the whole file.
    pub fn read(path: &Path) -> Result<Source> {
        Ok(Source::memory(fs::read(path)?))
    }

    /// Fails with an `Io` error when the mapped file has become shorter
    /// than the mapping: touching the lost pages would kill the process
    /// with SIGBUS. One `fstat`; sources in memory always pass.
    ///
    /// A truncation between this check and the reads that follow it is
    /// still fatal; [`Source::read`] is immune.
    pub fn check_intact(&self) -> Result<()> {
        if let Backing::Map(m, file) = &self.inner.backing {
            // at most one fstat a millisecond: many small reads in a row
            // share the last check
            let now_us = u64::try_from(self.inner.opened.elapsed().as_micros()).unwrap_or(u64::MAX);
            let last = self.inner.checked_us.load(Ordering::Relaxed);
            if last != u64::MAX && now_us.saturating_sub(last) < 1000 {
                return Ok(());
            }
            let now = file.metadata()?.len();
            if now < m.len() as u64 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    format!(
                        "the file was truncated while open ({now} bytes now, {} when opened)",
                        m.len()
                    ),
                )
                .into());
            }
            self.inner.checked_us.store(now_us, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Bytes already in memory.
    pub fn memory(bytes: Vec<u8>) -> Source {
        Source::new(Backing::Memory(bytes))
    }

    /// Maps the pages of `len` bytes at `start` into the process ahead of
    /// a large sequential copy, so the copy does not fault page by page.
    /// A hint only: errors (old kernels, memory sources) are ignored.
    pub fn populate(&self, start: usize, len: usize) {
        #[cfg(target_os = "linux")]
        if let Backing::Map(m, _) = &self.inner.backing {
            let start = start.min(m.len());
            let len = len.min(m.len() - start);
            // page-align the start as madvise requires
            let aligned = start & !4095;
            let _ = m.advise_range(
                memmap2::Advice::PopulateRead,
                aligned,
                len + (start - aligned),
            );
        }
        #[cfg(not(target_os = "linux"))]
        let _ = (start, len);
    }

    /// All the bytes.
    pub fn bytes(&self) -> &[u8] {
        match &self.inner.backing {
            Backing::Map(m, _) => m,
            Backing::Memory(v) => v,
        }
    }
}
