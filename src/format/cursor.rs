//! A bounds-checked reader over a byte slice that knows the file's widths.

use crate::error::{Error, Result};

/// The widths of addresses ("size of offsets") and lengths ("size of
/// lengths") in a file, fixed by its superblock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    /// Bytes in a file address: 2, 4 or 8.
    pub offset: u8,
    /// Bytes in a length field: 2, 4 or 8.
    pub length: u8,
}

impl Sizes {
    /// Eight-byte addresses and lengths, what libhdf5 writes by default.
    pub const DEFAULT: Sizes = Sizes {
        offset: 8,
        length: 8,
    };

    /// Validated widths.
    pub fn new(offset: u8, length: u8) -> Result<Self> {
        for (name, v) in [("size of offsets", offset), ("size of lengths", length)] {
            if !matches!(v, 2 | 4 | 8) {
                return Err(Error::format_noaddr(format!(
                    "superblock: {name} is {v}, must be 2, 4 or 8"
                )));
            }
        }
        Ok(Sizes { offset, length })
    }

    /// The all-ones value meaning "undefined address" at this width.
    pub fn undefined_address(&self) -> u64 {
        if self.offset == 8 {
            u64::MAX
        } else {
            (1u64 << (8 * self.offset as u32)) - 1
        }
    }
}

/// A reader over `buf`, which starts at file address `base`.
///
/// Every read checks the bytes that remain and reports a format error naming
/// the address it failed at.
#[derive(Debug, Clone)]
pub struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
    base: u64,
    sizes: Sizes,
}

impl<'a> Cursor<'a> {
    /// A cursor over `buf`, whose first byte is at file address `base`.
    pub fn new(buf: &'a [u8], base: u64, sizes: Sizes) -> Self {
        Cursor {
            buf,
            pos: 0,
            base,
            sizes,
        }
    }

    /// The file's widths.
    pub fn sizes(&self) -> Sizes {
        self.sizes
    }

    /// Bytes consumed so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// File address of the next byte.
    pub fn address(&self) -> u64 {
        self.base.saturating_add(self.pos as u64)
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// The unread bytes.
    pub fn rest(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }

    /// The whole underlying slice.
    pub fn buffer(&self) -> &'a [u8] {
        self.buf
    }

    fn short(&self, n: usize) -> Error {
        Error::format(
            format!(
                "needs {n} more bytes, only {} remain in the structure",
                self.remaining()
            ),
            self.address(),
        )
    }

    /// Moves to byte `pos` of the slice.
    pub fn seek(&mut self, pos: usize) -> Result<()> {
        if pos > self.buf.len() {
            return Err(self.short(pos - self.pos.min(pos)));
        }
        self.pos = pos;
        Ok(())
    }

    /// Skips `n` bytes.
    pub fn skip(&mut self, n: usize) -> Result<()> {
        self.bytes(n).map(|_| ())
    }

    /// The next `n` bytes.
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.remaining() {
            return Err(self.short(n));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// The next `N` bytes as an array.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let s = self.bytes(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    /// Expects the signature `sig`; `what` names the structure in the error.
    pub fn signature(&mut self, sig: &[u8], what: &str) -> Result<()> {
        let at = self.address();
        let got = self.bytes(sig.len()).map_err(|e| e.context(what))?;
        if got != sig {
            return Err(Error::format(
                format!(
                    "{what}: bad signature {:?}, expected {:?}",
                    String::from_utf8_lossy(got),
                    String::from_utf8_lossy(sig)
                ),
                at,
            ));
        }
        Ok(())
    }

    /// One byte.
    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }

    /// Little-endian u16.
    pub fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    /// Little-endian u32.
    pub fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    /// Little-endian u64.
    pub fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// A little-endian unsigned integer of `n` bytes (0 to 8).
    pub fn uint(&mut self, n: usize) -> Result<u64> {
        if n > 8 {
            return Err(Error::format(
                format!("integer field of {n} bytes is wider than 8"),
                self.address(),
            ));
        }
        let s = self.bytes(n)?;
        Ok(le_uint(s))
    }

    /// A file address; `None` for the undefined (all ones) address.
    pub fn address_field(&mut self) -> Result<Option<u64>> {
        let v = self.uint(self.sizes.offset as usize)?;
        Ok(if v == self.sizes.undefined_address() {
            None
        } else {
            Some(v)
        })
    }

    /// A file address that must be defined; `what` names it in the error.
    pub fn required_address(&mut self, what: &str) -> Result<u64> {
        let at = self.address();
        self.address_field()?
            .ok_or_else(|| Error::format(format!("{what}: address is undefined"), at))
    }

    /// A length field ("size of lengths" bytes).
    pub fn length(&mut self) -> Result<u64> {
        self.uint(self.sizes.length as usize)
    }

    /// A length that must fit in `usize` and in the bytes of the file.
    pub fn length_usize(&mut self) -> Result<usize> {
        let at = self.address();
        let v = self.length()?;
        usize::try_from(v).map_err(|_| Error::format(format!("length {v} does not fit"), at))
    }

    /// A NUL-terminated string (the NUL is consumed, not returned).
    pub fn cstr(&mut self) -> Result<&'a [u8]> {
        let rest = self.rest();
        match rest.iter().position(|&b| b == 0) {
            Some(n) => {
                let s = &rest[..n];
                self.pos += n + 1;
                Ok(s)
            }
            None => Err(Error::format(
                "string is not NUL-terminated within its structure",
                self.address(),
            )),
        }
    }

    /// Skips to the next multiple of `align` bytes from the start of the slice.
    pub fn align(&mut self, align: usize) -> Result<()> {
        let rem = self.pos % align;
        if rem != 0 {
            self.skip(align - rem)?;
        }
        Ok(())
    }

    /// A sub-cursor over the next `n` bytes (consumed from this one).
    pub fn sub(&mut self, n: usize) -> Result<Cursor<'a>> {
        let base = self.address();
        let b = self.bytes(n)?;
        Ok(Cursor::new(b, base, self.sizes))
    }
}

/// The write side of [`Cursor`]: appends fields with the file's widths to
/// a growing buffer. Lengths not known yet are written as placeholders and
/// back-patched with the `patch_*` methods.
#[derive(Debug, Clone)]
pub struct Encoder {
    buf: Vec<u8>,
    sizes: Sizes,
}

impl Encoder {
    /// An empty encoder for a file with these widths.
    pub fn new(sizes: Sizes) -> Self {
        Encoder {
            buf: Vec::new(),
            sizes,
        }
    }

    /// The file's widths.
    pub fn sizes(&self) -> Sizes {
        self.sizes
    }

    /// Bytes written so far.
    pub fn position(&self) -> usize {
        self.buf.len()
    }

    /// The bytes written.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// The bytes written, taken.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    /// One byte.
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.buf.push(v);
        self
    }

    /// Little-endian u16.
    pub fn u16(&mut self, v: u16) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// Little-endian u32.
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// Little-endian u64.
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// The low `n` bytes (0 to 8) of `v`, little-endian.
    pub fn uint(&mut self, v: u64, n: usize) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes()[..n.min(8)]);
        self
    }

    /// A file address; `None` writes the undefined (all ones) address.
    pub fn address(&mut self, a: Option<u64>) -> &mut Self {
        let v = a.unwrap_or(self.sizes.undefined_address());
        self.uint(v, self.sizes.offset as usize)
    }

    /// A length field ("size of lengths" bytes).
    pub fn length(&mut self, v: u64) -> &mut Self {
        self.uint(v, self.sizes.length as usize)
    }

    /// Raw bytes.
    pub fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(b);
        self
    }

    /// `n` zero bytes.
    pub fn zeros(&mut self, n: usize) -> &mut Self {
        self.buf.resize(self.buf.len() + n, 0);
        self
    }

    /// Zero bytes up to the next multiple of `align` from the start.
    pub fn pad_to(&mut self, align: usize) -> &mut Self {
        let rem = self.buf.len() % align;
        if rem != 0 {
            self.zeros(align - rem);
        }
        self
    }

    /// Overwrites the little-endian u16 at `pos` (written earlier).
    pub fn patch_u16(&mut self, pos: usize, v: u16) {
        if let Some(d) = self.buf.get_mut(pos..pos + 2) {
            d.copy_from_slice(&v.to_le_bytes());
        }
    }

    /// Overwrites the little-endian u32 at `pos` (written earlier).
    pub fn patch_u32(&mut self, pos: usize, v: u32) {
        if let Some(d) = self.buf.get_mut(pos..pos + 4) {
            d.copy_from_slice(&v.to_le_bytes());
        }
    }

    /// Overwrites the `n`-byte little-endian integer at `pos`.
    pub fn patch_uint(&mut self, pos: usize, v: u64, n: usize) {
        let n = n.min(8);
        if let Some(d) = self.buf.get_mut(pos..pos + n) {
            d.copy_from_slice(&v.to_le_bytes()[..n]);
        }
    }
}

/// A little-endian unsigned integer from up to 8 bytes.
pub fn le_uint(s: &[u8]) -> u64 {
    s.iter()
        .take(8)
        .rev()
        .fold(0u64, |acc, &b| (acc << 8) | b as u64)
}

/// Bytes needed to store values up to `max` (at least 1), as HDF5 sizes
/// variable-width fields in fractal heaps and B-tree records.
pub fn bytes_for(max: u64) -> usize {
    let bits = 64 - max.leading_zeros() as usize;
    bits.div_ceil(8).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fields_and_checks_bounds() {
        let b = [1u8, 2, 3, 4, 5, 6, 7, 8, 0xff, 0xff, 0xff, 0xff, b'a', 0];
        let s = Sizes::new(4, 2).unwrap();
        let mut c = Cursor::new(&b, 100, s);
        assert_eq!(c.u16().unwrap(), 0x0201);
        assert_eq!(c.length().unwrap(), 0x0403);
        assert_eq!(c.address_field().unwrap(), Some(0x08070605));
        assert_eq!(c.address_field().unwrap(), None);
        assert_eq!(c.cstr().unwrap(), b"a");
        let e = c.u8().unwrap_err();
        assert!(e.to_string().contains("0x72"), "{e}");
    }

    #[test]
    fn encoder_round_trips_through_cursor() {
        let s = Sizes::new(4, 2).unwrap();
        let mut e = Encoder::new(s);
        e.u16(0x0201)
            .length(0x0403)
            .address(Some(0x08070605))
            .address(None);
        let at = e.position();
        e.u32(0).bytes(b"a\0").pad_to(8);
        e.patch_u32(at, 0xdeadbeef);
        let b = e.into_bytes();
        assert_eq!(b.len(), 24);
        let mut c = Cursor::new(&b, 0, s);
        assert_eq!(c.u16().unwrap(), 0x0201);
        assert_eq!(c.length().unwrap(), 0x0403);
        assert_eq!(c.address_field().unwrap(), Some(0x08070605));
        assert_eq!(c.address_field().unwrap(), None);
        assert_eq!(c.u32().unwrap(), 0xdeadbeef);
        assert_eq!(c.cstr().unwrap(), b"a");
    }

    #[test]
    fn rejects_bad_widths() {
        assert!(Sizes::new(3, 8).is_err());
        assert!(Sizes::new(8, 16).is_err());
    }

    #[test]
    fn byte_widths() {
        assert_eq!(bytes_for(0), 1);
        assert_eq!(bytes_for(255), 1);
        assert_eq!(bytes_for(256), 2);
        assert_eq!(bytes_for(u64::MAX), 8);
    }
}
