//! Byte sources: what a file's bytes are read from.

use std::fs;
use std::path::Path;
use std::sync::Arc;

use crate::error::Result;

/// The bytes of an open file, shared by every handle.
#[derive(Clone)]
pub struct Source {
    inner: Arc<Backing>,
}

enum Backing {
    Map(memmap2::Mmap),
    Memory(Vec<u8>),
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Source({} bytes)", self.bytes().len())
    }
}

impl Source {
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
        Ok(Source {
            inner: Arc::new(Backing::Map(map)),
        })
    }

    /// Bytes already in memory.
    pub fn memory(bytes: Vec<u8>) -> Source {
        Source {
            inner: Arc::new(Backing::Memory(bytes)),
        }
    }

    /// Maps the pages of `len` bytes at `start` into the process ahead of
    /// a large sequential copy, so the copy does not fault page by page.
    /// A hint only: errors (old kernels, memory sources) are ignored.
    pub fn populate(&self, start: usize, len: usize) {
        #[cfg(target_os = "linux")]
        if let Backing::Map(m) = &*self.inner {
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
        match &*self.inner {
            Backing::Map(m) => m,
            Backing::Memory(v) => v,
        }
    }
}
