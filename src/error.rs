//! One error type for the whole crate, split by who is at fault.

use std::fmt;

/// Result alias used throughout h5rs.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong, split by fault: the file, the library, the
/// operating system, a configured limit, or the caller.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file is malformed: `what` names the structure, `addr` its file
    /// address when known.
    #[error("{}", format_fault(what, *addr))]
    Format {
        /// The structure and the problem, e.g. "local heap: bad signature".
        what: String,
        /// The file address of the structure, relative to the superblock base.
        addr: Option<u64>,
    },
    /// The file is valid HDF5 but uses a feature h5rs does not implement.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// An operating-system I/O error.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// A value in the file exceeds a configured [`Limits`](crate::Limits) bound.
    #[error("limit exceeded: {0}")]
    LimitsExceeded(String),
    /// The caller asked for something that does not make sense (wrong type,
    /// out-of-range selection, a write to a read-only file).
    #[error("{0}")]
    Usage(String),
    /// A path or name the caller gave names nothing: a missing object,
    /// link or attribute (h5py's `KeyError`).
    #[error("not found: {0}")]
    NotFound(String),
}

fn format_fault(what: &str, addr: Option<u64>) -> String {
    match addr {
        Some(a) => format!("malformed file: {what} (at address {a:#x})"),
        None => format!("malformed file: {what}"),
    }
}

impl Error {
    /// A copy of an error that the file's contents caused (format, limit,
    /// unsupported): the same file gives the same error again. `None` for
    /// the others, which may pass.
    pub(crate) fn of_the_file(&self) -> Option<Error> {
        match self {
            Error::Format { what, addr } => Some(Error::Format {
                what: what.clone(),
                addr: *addr,
            }),
            Error::LimitsExceeded(m) => Some(Error::LimitsExceeded(m.clone())),
            Error::Unsupported(m) => Some(Error::Unsupported(m.clone())),
            _ => None,
        }
    }

    /// A format error about the structure at `addr`.
    pub fn format(what: impl Into<String>, addr: u64) -> Self {
        Error::Format {
            what: what.into(),
            addr: Some(addr),
        }
    }

    /// A format error with no address.
    pub fn format_noaddr(what: impl Into<String>) -> Self {
        Error::Format {
            what: what.into(),
            addr: None,
        }
    }

    /// An unsupported-feature error.
    pub fn unsupported(what: impl fmt::Display) -> Self {
        Error::Unsupported(what.to_string())
    }

    /// A caller error.
    pub fn usage(what: impl fmt::Display) -> Self {
        Error::Usage(what.to_string())
    }

    /// A name that names nothing.
    pub fn not_found(what: impl fmt::Display) -> Self {
        Error::NotFound(what.to_string())
    }

    /// A limit error.
    pub fn limit(what: impl fmt::Display) -> Self {
        Error::LimitsExceeded(what.to_string())
    }

    /// Adds context to a format error that has no address yet.
    pub fn at(self, addr: u64) -> Self {
        match self {
            Error::Format { what, addr: None } => Error::Format {
                what,
                addr: Some(addr),
            },
            e => e,
        }
    }

    /// A copy of the error (I/O errors keep their kind and message).
    pub fn duplicate(&self) -> Self {
        match self {
            Error::Format { what, addr } => Error::Format {
                what: what.clone(),
                addr: *addr,
            },
            Error::Unsupported(s) => Error::Unsupported(s.clone()),
            Error::Io(e) => Error::Io(std::io::Error::new(e.kind(), e.to_string())),
            Error::LimitsExceeded(s) => Error::LimitsExceeded(s.clone()),
            Error::Usage(s) => Error::Usage(s.clone()),
            Error::NotFound(s) => Error::NotFound(s.clone()),
        }
    }

    /// Prefixes a format error's text with the structure that was being
    /// read, unless the text already starts with it.
    pub fn context(self, structure: &str) -> Self {
        match self {
            Error::Format { what, addr }
                if !what
                    .strip_prefix(structure)
                    .is_some_and(|rest| rest.starts_with(": ")) =>
            {
                Error::Format {
                    what: format!("{structure}: {what}"),
                    addr,
                }
            }
            e => e,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_names_each_structure_once() {
        let e = Error::format("bad checksum", 0x30).context("object header");
        let e = e.context("object header").context("dataset /x");
        assert_eq!(
            e.to_string(),
            "malformed file: dataset /x: object header: bad checksum (at address 0x30)"
        );
        // a longer name that starts with the same word is still added
        let e = Error::format("address past the end", 8).context("chunk");
        assert_eq!(
            e.context("chunk [0]").to_string(),
            "malformed file: chunk [0]: chunk: address past the end (at address 0x8)"
        );
    }
}
