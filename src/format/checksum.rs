//! Jenkins' lookup3 `hashlittle`, the checksum of HDF5's newer metadata
//! (superblock v2/v3, v2 object headers, v2 B-trees, fractal heaps, fixed and
//! extensible arrays), with initial value 0.

use crate::error::{Error, Result};

#[inline]
fn rot(x: u32, k: u32) -> u32 {
    x.rotate_left(k)
}

/// lookup3 `hashlittle(key, initval)`.
pub fn lookup3(key: &[u8], initval: u32) -> u32 {
    let mut a: u32 = 0xdeadbeefu32
        .wrapping_add(key.len() as u32)
        .wrapping_add(initval);
    let mut b = a;
    let mut c = a;
    let mut k = key;
    while k.len() > 12 {
        a = a.wrapping_add(u32::from_le_bytes([k[0], k[1], k[2], k[3]]));
        b = b.wrapping_add(u32::from_le_bytes([k[4], k[5], k[6], k[7]]));
        c = c.wrapping_add(u32::from_le_bytes([k[8], k[9], k[10], k[11]]));
        // mix
        a = a.wrapping_sub(c);
        a ^= rot(c, 4);
        c = c.wrapping_add(b);
        b = b.wrapping_sub(a);
        b ^= rot(a, 6);
        a = a.wrapping_add(c);
        c = c.wrapping_sub(b);
        c ^= rot(b, 8);
        b = b.wrapping_add(a);
        a = a.wrapping_sub(c);
        a ^= rot(c, 16);
        c = c.wrapping_add(b);
        b = b.wrapping_sub(a);
        b ^= rot(a, 19);
        a = a.wrapping_add(c);
        c = c.wrapping_sub(b);
        c ^= rot(b, 4);
        b = b.wrapping_add(a);
        k = &k[12..];
    }
    if k.is_empty() {
        return c;
    }
    let mut tail = [0u8; 12];
    tail[..k.len()].copy_from_slice(k);
    a = a.wrapping_add(u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]));
    b = b.wrapping_add(u32::from_le_bytes([tail[4], tail[5], tail[6], tail[7]]));
    c = c.wrapping_add(u32::from_le_bytes([tail[8], tail[9], tail[10], tail[11]]));
    // final
    c ^= b;
    c = c.wrapping_sub(rot(b, 14));
    a ^= c;
    a = a.wrapping_sub(rot(c, 11));
    b ^= a;
    b = b.wrapping_sub(rot(a, 25));
    c ^= b;
    c = c.wrapping_sub(rot(b, 16));
    a ^= c;
    a = a.wrapping_sub(rot(c, 4));
    b ^= a;
    b = b.wrapping_sub(rot(a, 14));
    c ^= b;
    c = c.wrapping_sub(rot(b, 24));
    c
}

/// Checks that the 4 bytes after `data` hold its lookup3 checksum.
static ACCEPT_BAD: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// From now on, in the whole process, accept metadata whose checksum does
/// not match, as fuzzing builds do: inputs found by fuzzing replay in
/// ordinary builds without their checksums being mended. For tests; a
/// reader of untrusted files should leave checksums checked.
#[doc(hidden)]
pub fn accept_bad_checksums() {
    ACCEPT_BAD.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// `block` is the structure including the trailing checksum.
///
/// Fuzzing builds (`cargo fuzz` compiles with `--cfg fuzzing`) accept any
/// stored checksum, so that mutated inputs reach the decoding behind it;
/// so does a process that called [`accept_bad_checksums`].
#[allow(unexpected_cfgs)]
pub fn verify(block: &[u8], what: &str, addr: u64) -> Result<()> {
    if block.len() < 4 {
        return Err(Error::format(
            format!("{what}: too short for a checksum"),
            addr,
        ));
    }
    if cfg!(fuzzing) || ACCEPT_BAD.load(std::sync::atomic::Ordering::Relaxed) {
        return Ok(());
    }
    let (data, sum) = block.split_at(block.len() - 4);
    let stored = u32::from_le_bytes([sum[0], sum[1], sum[2], sum[3]]);
    let computed = lookup3(data, 0);
    if stored != computed {
        return Err(Error::format(
            format!("{what}: bad checksum (stored {stored:#010x}, computed {computed:#010x})"),
            addr,
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        // From lookup3.c's self test.
        assert_eq!(lookup3(b"", 0), 0xdeadbeef);
        assert_eq!(lookup3(b"", 0xdeadbeef), 0xbd5b7dde);
        assert_eq!(lookup3(b"Four score and seven years ago", 0), 0x17770551);
        assert_eq!(lookup3(b"Four score and seven years ago", 1), 0xcd628161);
    }
}
