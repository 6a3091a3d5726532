//! Byte views of plain numeric slices, so reads can land directly in a
//! typed result without a second copy. The only `unsafe` outside the memory
//! map.

mod sealed {
    pub trait Sealed {}
}

/// Plain numbers: every bit pattern is a valid value and there is no
/// padding. Sealed: implemented only for the primitive integers and floats.
pub trait Pod: sealed::Sealed + Copy + 'static {}

macro_rules! pod {
    ($($t:ty),*) => {$(
        impl sealed::Sealed for $t {}
        impl Pod for $t {}
    )*};
}

pod!(i8, i16, i32, i64, u8, u16, u32, u64, f32, f64);

/// The bytes of a slice of plain numbers, writable.
pub fn as_bytes_mut<T: Pod>(v: &mut [T]) -> &mut [u8] {
    let len = std::mem::size_of_val(v);
    // SAFETY: `T: Pod` is sealed to primitive integers and floats, which
    // have no padding and accept every bit pattern, so viewing their
    // storage as `len` initialised bytes and writing any bytes there keeps
    // every element valid. The pointer and length come from a live
    // exclusive slice, `u8` has alignment 1, and the returned borrow has
    // the lifetime of `v`, so no aliasing is possible.
    unsafe { std::slice::from_raw_parts_mut(v.as_mut_ptr().cast::<u8>(), len) }
}

/// The bytes of a slice of plain numbers.
pub fn as_bytes<T: Pod>(v: &[T]) -> &[u8] {
    let len = std::mem::size_of_val(v);
    // SAFETY: `T: Pod` is sealed to primitive integers and floats, which
    // have no padding, so their storage is `len` initialised bytes. The
    // pointer and length come from a live shared slice, `u8` has alignment
    // 1, and the returned borrow has the lifetime of `v`.
    unsafe { std::slice::from_raw_parts(v.as_ptr().cast::<u8>(), len) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_through_bytes() {
        let mut v = [0u32; 2];
        as_bytes_mut(&mut v).copy_from_slice(&[1, 0, 0, 0, 0, 1, 0, 0]);
        assert_eq!(
            v,
            [
                u32::from_le_bytes([1, 0, 0, 0]),
                u32::from_le_bytes([0, 1, 0, 0])
            ]
        );
    }
}
