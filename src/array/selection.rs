//! Selections: which elements of a dataset a read touches.
//!
//! A selection is one [`DimSelection`] per dimension: a regular run
//! (`start`, `step`, `count`) that either keeps its axis in the result or,
//! for a single index, drops it (as `ds[3]` does in h5py and `s![3, ..]`
//! in ndarray).

use crate::error::{Error, Result};

/// The selection along one dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DimSelection {
    /// First index.
    pub start: u64,
    /// Distance between selected indices (at least 1).
    pub step: u64,
    /// Number of indices selected.
    pub count: u64,
    /// The axis stays in the result's shape (false for a single index).
    pub keep: bool,
}

impl DimSelection {
    /// Everything along a dimension of length `n`.
    pub fn all(n: u64) -> Self {
        DimSelection {
            start: 0,
            step: 1,
            count: n,
            keep: true,
        }
    }

    /// The last selected index plus one (0 when empty).
    pub fn end(&self) -> u64 {
        if self.count == 0 {
            self.start
        } else {
            self.start + (self.count - 1) * self.step + 1
        }
    }

    /// Positions (in the result) of the selected indices in `[lo, hi)`,
    /// as (first result position, first index, how many).
    pub fn within(&self, lo: u64, hi: u64) -> Option<(u64, u64, u64)> {
        if self.count == 0 || hi <= self.start || lo >= self.end() {
            return None;
        }
        let first = if lo <= self.start {
            0
        } else {
            (lo - self.start).div_ceil(self.step)
        };
        let last_excl = ((hi - 1 - self.start.min(hi - 1)) / self.step + 1).min(self.count);
        if hi - 1 < self.start || first >= last_excl {
            return None;
        }
        Some((first, self.start + first * self.step, last_excl - first))
    }
}

/// A selection over every dimension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// One entry per dataset dimension.
    pub dims: Vec<DimSelection>,
}

impl Selection {
    /// Everything in a dataset of shape `shape`.
    pub fn all(shape: &[u64]) -> Self {
        Selection {
            dims: shape.iter().map(|&n| DimSelection::all(n)).collect(),
        }
    }

    /// Number of selected elements; `u64::MAX` when the product
    /// overflows (dimensions read from a file can claim that many), which
    /// every read limit then refuses.
    pub fn count(&self) -> u64 {
        self.dims
            .iter()
            .try_fold(1u64, |a, d| a.checked_mul(d.count))
            .unwrap_or(u64::MAX)
    }

    /// Shape of the result (axes selected by a single index dropped).
    pub fn out_shape(&self) -> Vec<usize> {
        self.dims
            .iter()
            .filter(|d| d.keep)
            .map(|d| d.count as usize)
            .collect()
    }

    /// True when the selection is the whole of `shape`.
    pub fn is_all(&self, shape: &[u64]) -> bool {
        self.dims
            .iter()
            .zip(shape)
            .all(|(d, &n)| d.start == 0 && d.count == n && (d.step == 1 || n <= 1))
    }

    /// Checks the selection lies inside `shape`.
    pub fn check(&self, shape: &[u64]) -> Result<()> {
        if self.dims.len() != shape.len() {
            return Err(Error::usage(format!(
                "selection has {} dimensions, the dataset {}",
                self.dims.len(),
                shape.len()
            )));
        }
        for (i, (d, &n)) in self.dims.iter().zip(shape).enumerate() {
            if d.step == 0 {
                return Err(Error::usage("selection step of 0"));
            }
            if d.count > 0 && d.end() > n {
                return Err(Error::usage(format!(
                    "selection {}..{} (step {}) is out of range for dimension {i} of length {n}",
                    d.start,
                    d.end(),
                    d.step
                )));
            }
        }
        Ok(())
    }

    /// Converts an ndarray slice description (`s![..]`) for a dataset of
    /// `shape`. Negative indices count from the end; negative steps are not
    /// supported (as in h5py).
    pub fn from_slice_elems(elems: &[ndarray::SliceInfoElem], shape: &[u64]) -> Result<Selection> {
        use ndarray::SliceInfoElem as E;
        let real: Vec<&E> = elems.iter().filter(|e| !matches!(e, E::NewAxis)).collect();
        if real.len() > shape.len() {
            return Err(Error::usage(format!(
                "slice has {} axes, the dataset {}",
                real.len(),
                shape.len()
            )));
        }
        let resolve = |i: isize, n: u64| -> u64 {
            if i < 0 {
                n.saturating_sub(i.unsigned_abs() as u64)
            } else {
                (i as u64).min(n)
            }
        };
        let mut dims = Vec::with_capacity(shape.len());
        for (axis, &n) in shape.iter().enumerate() {
            let d = match real.get(axis) {
                None => DimSelection::all(n),
                Some(E::Index(i)) => {
                    let idx = if *i < 0 {
                        n as i128 + *i as i128
                    } else {
                        *i as i128
                    };
                    if idx < 0 || idx >= n as i128 {
                        return Err(Error::usage(format!(
                            "index {i} is out of range for dimension {axis} of length {n}"
                        )));
                    }
                    DimSelection {
                        start: idx as u64,
                        step: 1,
                        count: 1,
                        keep: false,
                    }
                }
                Some(E::Slice { start, end, step }) => {
                    if *step <= 0 {
                        return Err(Error::usage(
                            "negative or zero slice steps are not supported",
                        ));
                    }
                    let s = resolve(*start, n);
                    let e = end.map_or(n, |e| resolve(e, n));
                    let step = *step as u64;
                    let count = if e > s { (e - s).div_ceil(step) } else { 0 };
                    DimSelection {
                        start: s,
                        step,
                        count,
                        keep: true,
                    }
                }
                Some(E::NewAxis) => DimSelection::all(n),
            };
            dims.push(d);
        }
        Ok(Selection { dims })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::s;

    #[test]
    fn count_saturates_instead_of_overflowing() {
        let sel = Selection::all(&[1 << 40, 1 << 40]);
        assert_eq!(sel.count(), u64::MAX);
        assert_eq!(Selection::all(&[3, 4]).count(), 12);
        assert_eq!(Selection::all(&[]).count(), 1);
    }

    #[test]
    fn within_ranges() {
        let d = DimSelection {
            start: 3,
            step: 4,
            count: 5,
            keep: true,
        }; // 3 7 11 15 19
        assert_eq!(d.within(0, 8), Some((0, 3, 2)));
        assert_eq!(d.within(8, 16), Some((2, 11, 2)));
        assert_eq!(d.within(16, 19), None);
        assert_eq!(d.within(16, 20), Some((4, 19, 1)));
        assert_eq!(d.within(20, 30), None);
        assert_eq!(d.within(4, 7), None);
    }

    #[test]
    fn ndarray_slices() {
        let info = s![705..716, 400..411;2];
        let sel = Selection::from_slice_elems(info.as_ref(), &[1000, 1000]).unwrap();
        assert_eq!(sel.dims[0].count, 11);
        assert_eq!(sel.dims[1].count, 6);
        assert_eq!(sel.out_shape(), vec![11, 6]);
        let info = s![-1, ..];
        let sel = Selection::from_slice_elems(info.as_ref(), &[10, 4]).unwrap();
        assert_eq!(sel.dims[0].start, 9);
        assert_eq!(sel.out_shape(), vec![4]);
        assert!(Selection::from_slice_elems(s![10, ..].as_ref(), &[10, 4]).is_err());
    }
}
