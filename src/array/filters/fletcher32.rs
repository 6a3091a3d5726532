//! Filter 3, fletcher32: a 4-byte checksum appended to the chunk.
//!
//! Client data: none.
//!
//! ```text
//! stored chunk: data (n bytes) | checksum (4, little-endian)
//! ```
//!
//! The checksum is libhdf5's Fletcher-32 variant:
//!
//! - the data is read as 16-bit words, **big-endian** (first byte high);
//! - both sums start at 0 (not 0xffff as in the textbook algorithm);
//! - the sums are folded (`s = (s & 0xffff) + (s >> 16)`) after every 360
//!   words and after an odd last byte, which counts as a word whose low byte
//!   is 0; then both are folded once more, and the result is
//!   `sum2 << 16 | sum1`. Folding rather than reducing modulo 65535 means a
//!   sum may end as 0xffff where a textbook checksum has 0, so the folds must
//!   happen exactly where libhdf5 does them.
//!
//! Before libhdf5 1.6.3 the checksum was computed with the bytes of each
//! word swapped on little-endian machines; libhdf5 still accepts a stored
//! value equal to the correct checksum with the bytes of each 16-bit half
//! swapped, and so does h5rs.

use super::{Filter, FilterCtx};
use crate::error::{Error, Result};

/// The filter identifier.
pub const ID: u16 = 3;

/// The fletcher32 filter.
#[derive(Debug, Clone, Copy, Default)]
pub struct Fletcher32;

fn fold(s: u32) -> u32 {
    (s & 0xffff) + (s >> 16)
}

/// libhdf5's Fletcher-32 checksum of `data`.
pub fn checksum(data: &[u8]) -> u32 {
    let mut sum1: u32 = 0;
    let mut sum2: u32 = 0;
    let words = data.chunks_exact(2);
    let odd = words.remainder().first().copied();
    // Sums are folded every 360 words, as libhdf5 does; its 32-bit sums wrap
    // (they can, slightly, after a fold left sum1 above 0xffff), so these do
    // too.
    for block in data[..data.len() & !1].chunks(720) {
        for w in block.chunks_exact(2) {
            sum1 = sum1.wrapping_add(u32::from(u16::from_be_bytes([w[0], w[1]])));
            sum2 = sum2.wrapping_add(sum1);
        }
        sum1 = fold(sum1);
        sum2 = fold(sum2);
    }
    if let Some(last) = odd {
        sum1 = sum1.wrapping_add(u32::from(last) << 8);
        sum2 = sum2.wrapping_add(sum1);
        sum1 = fold(sum1);
        sum2 = fold(sum2);
    }
    sum1 = fold(sum1);
    sum2 = fold(sum2);
    (sum2 << 16) | sum1
}

/// The checksum as libhdf5 before 1.6.3 computed it on little-endian
/// machines: the bytes of each 16-bit half swapped.
fn legacy(sum: u32) -> u32 {
    ((sum & 0x00ff_00ff) << 8) | ((sum >> 8) & 0x00ff_00ff)
}

/// Splits a stored chunk into its data and checks the checksum.
fn verified(input: &[u8]) -> Result<usize> {
    let Some(n) = input.len().checked_sub(4) else {
        return Err(Error::format_noaddr(format!(
            "fletcher32 filter: chunk of {} bytes has no room for its checksum",
            input.len()
        )));
    };
    let stored = u32::from_le_bytes([input[n], input[n + 1], input[n + 2], input[n + 3]]);
    let computed = checksum(&input[..n]);
    if stored != computed && stored != legacy(computed) {
        return Err(Error::format_noaddr(format!(
            "fletcher32 checksum mismatch: stored {stored:#010x}, computed {computed:#010x}"
        )));
    }
    Ok(n)
}

impl Filter for Fletcher32 {
    fn id(&self) -> u16 {
        ID
    }

    fn name(&self) -> &'static str {
        "fletcher32"
    }

    fn decode(&self, mut input: Vec<u8>, _ctx: &FilterCtx) -> Result<Vec<u8>> {
        let n = verified(&input)?;
        input.truncate(n);
        Ok(input)
    }

    fn decode_slice(&self, input: &[u8], _ctx: &FilterCtx) -> Result<Vec<u8>> {
        let n = verified(input)?;
        Ok(input[..n].to_vec())
    }

    fn encode(&self, mut input: Vec<u8>, _ctx: &FilterCtx) -> Result<Vec<u8>> {
        let sum = checksum(&input);
        input.extend_from_slice(&sum.to_le_bytes());
        Ok(input)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::datatype::{ByteOrder, Datatype};
    use proptest::prelude::*;

    /// A sum that is not folded every 360 words, to compare with.
    fn reference(data: &[u8]) -> u32 {
        let mut s1: u64 = 0;
        let mut s2: u64 = 0;
        let mut words: Vec<u64> = data
            .chunks_exact(2)
            .map(|w| u64::from(w[0]) << 8 | u64::from(w[1]))
            .collect();
        if data.len() % 2 == 1 {
            words.push(u64::from(data[data.len() - 1]) << 8);
        }
        for w in words {
            s1 += w;
            s2 += s1;
        }
        ((s2 % 65535) << 16 | (s1 % 65535)) as u32
    }

    #[test]
    fn known_values() {
        // Worked by hand: words 0x0102, 0x0304.
        assert_eq!(checksum(&[1, 2, 3, 4]), (0x0102 + 0x0406) << 16 | 0x0406);
        // Odd tail: 0x0102 then 0x0300.
        assert_eq!(checksum(&[1, 2, 3]), (0x0102 + 0x0402) << 16 | 0x0402);
        assert_eq!(checksum(&[]), 0);
        assert_eq!(checksum(&[0xff]), 0xff00_ff00);
    }

    #[test]
    fn folds_leave_0xffff_where_a_modulus_gives_0() {
        // One word 0xffff: sum1 = sum2 = 0xffff, folding keeps it.
        assert_eq!(checksum(&[0xff, 0xff]), 0xffff_ffff);
        assert_eq!(reference(&[0xff, 0xff]), 0);
    }

    #[test]
    fn agrees_with_the_textbook_sum_modulo_65535() {
        let data: Vec<u8> = (0..5001u32).map(|i| (i * 37 % 251) as u8).collect();
        let c = checksum(&data);
        let r = reference(&data);
        assert_eq!((c >> 16) % 65535, r >> 16);
        assert_eq!((c & 0xffff) % 65535, r & 0xffff);
    }

    #[test]
    fn decode_checks_and_strips() {
        let dt = Datatype::int(1, false, ByteOrder::Little);
        let ctx = FilterCtx {
            element_size: 1,
            chunk_bytes: 3,
            max_output: 3,
            params: &[],
            dtype: &dt,
        };
        let stored = Fletcher32.encode(vec![1, 2, 3], &ctx).unwrap();
        assert_eq!(stored, [1, 2, 3, 0x02, 0x04, 0x04, 0x05]);
        assert_eq!(Fletcher32.decode(stored.clone(), &ctx).unwrap(), [1, 2, 3]);
        // The pre-1.6.3 byte order is accepted too.
        let mut old = stored.clone();
        old[3..].copy_from_slice(&legacy(checksum(&[1, 2, 3])).to_le_bytes());
        assert_eq!(old[3..], [0x04, 0x02, 0x05, 0x04]);
        assert_eq!(Fletcher32.decode_slice(&old, &ctx).unwrap(), [1, 2, 3]);
        let mut bad = stored;
        bad[0] ^= 1;
        let e = Fletcher32.decode(bad, &ctx).unwrap_err();
        assert!(
            e.to_string().contains("fletcher32 checksum mismatch"),
            "{e}"
        );
        assert!(Fletcher32.decode(vec![1, 2, 3], &ctx).is_err());
    }

    proptest! {
        #[test]
        fn round_trip(data in proptest::collection::vec(any::<u8>(), 0..3000)) {
            let n = verified(&[data.as_slice(), &checksum(&data).to_le_bytes()].concat()).unwrap();
            prop_assert_eq!(n, data.len());
            let c = checksum(&data);
            let r = reference(&data);
            prop_assert_eq!((c >> 16) % 65535, r >> 16);
            prop_assert_eq!((c & 0xffff) % 65535, r & 0xffff);
        }
    }
}
