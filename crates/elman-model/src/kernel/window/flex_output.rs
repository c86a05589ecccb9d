//! A window's output (`[h0 ; h_1 … h_T]`) allocated without zeroing and written once, a step
//! at a time, by the loops that compute it: zeroed first (`vec![0.0; len]`), it was a pass over
//! megabytes that the loops then wrote again (the Elman layer's inference at hidden 64 ran 15%
//! slower for it).
//!
//! Sound without trusting the loops: a step's room is handed out as [`Fresh`] parts, and a
//! part in disjoint rows, each written only in order from its start; a step counts as written
//! only when every row of every part was written to its end and the rows cover the parts;
//! else a panic (a loop's bug), and nothing unwritten is ever read.

use std::cell::Cell;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::flex_lanes::{LANES, LaneRow};

/// Values written in order: those written so far, readable, then room for the rest.
pub(super) struct StepRows {
    values: Box<[MaybeUninit<f32>]>,
    written: usize,
}

impl StepRows {
    /// Room for `len` values, none written.
    pub(super) fn new(len: usize) -> Self {
        Self {
            values: Box::new_uninit_slice(len),
            written: 0,
        }
    }

    /// Writes `values` next.
    pub(super) fn push(&mut self, values: &[f32]) {
        self.step(values.len(), values.len().max(1), |_, parts| {
            for mut part in parts {
                part.append(values);
            }
        });
    }

    /// Writes the next `n` values: `fill` gets the values written so far and the room for the
    /// next `n` in parts of `part` values (the last may be shorter), each to be filled to its end.
    pub(super) fn step(
        &mut self,
        n: usize,
        part: usize,
        fill: impl for<'a> FnOnce(&'a [f32], Vec<Fresh<'a>>),
    ) {
        assert!(
            self.written + n <= self.values.len(),
            "more values than room"
        );
        let filled = AtomicUsize::new(0);
        let (done, rest) = self.values.split_at_mut(self.written);
        // SAFETY: the first `written` values were written: `written` grows only below, by the
        // values of parts that were each filled to their end.
        #[allow(unsafe_code)]
        let done = unsafe { done.assume_init_ref() };
        let parts = rest[..n]
            .chunks_mut(part.max(1))
            .map(|values| Fresh {
                values,
                handed: 0,
                filled: Cell::new(0),
                step: &filled,
            })
            .collect();
        fill(done, parts);
        assert_eq!(filled.into_inner(), n, "a step's values left unwritten");
        self.written += n;
    }

    /// The values, every one written (else a panic: a loop's bug, not bad input).
    pub(super) fn into_vec(self) -> Vec<f32> {
        assert_eq!(self.written, self.values.len(), "values left unwritten");
        // SAFETY: every value was written (see `step`), and the count was checked above.
        #[allow(unsafe_code)]
        unsafe { self.values.assume_init() }.into_vec()
    }
}

/// A part of a step's room, handed out in rows, each written in order from its start; the
/// part counts as written when dropped with every row it holds written whole.
pub(super) struct Fresh<'a> {
    values: &'a mut [MaybeUninit<f32>],
    /// Values handed out in rows so far.
    handed: usize,
    /// Values in rows written whole.
    filled: Cell<usize>,
    step: &'a AtomicUsize,
}

impl Fresh<'_> {
    /// The next `len` values, as one row a [`lanes`](super::flex_lanes::lanes) loop writes.
    #[inline(always)]
    pub(super) fn row(&mut self, len: usize) -> FreshRow<'_> {
        let [row] = self.rows(len);
        row
    }

    /// The next `N` rows of `len` values.
    #[inline(always)]
    pub(super) fn rows<const N: usize>(&mut self, len: usize) -> [FreshRow<'_>; N] {
        let start = self.handed;
        assert!(start + N * len <= self.values.len(), "rows past the part");
        self.handed += N * len;
        let mut rest = &mut self.values[start..start + N * len];
        let filled = &self.filled;
        std::array::from_fn(|_| {
            let (values, tail) = std::mem::take(&mut rest).split_at_mut(len);
            rest = tail;
            FreshRow {
                values,
                next: 0,
                filled,
            }
        })
    }

    /// Writes `values` next.
    pub(super) fn append(&mut self, values: &[f32]) {
        let mut row = self.row(values.len());
        row.values.write_copy_of_slice(values);
        row.next = values.len();
    }
}

impl Drop for Fresh<'_> {
    fn drop(&mut self) {
        // Rows are disjoint and count only when written whole: all values are written when
        // their counts sum to the part's length.
        if self.filled.get() == self.values.len() {
            self.step.fetch_add(self.values.len(), Ordering::Relaxed);
        }
    }
}

/// A row of a [`Fresh`] part: a [`LaneRow`] never read (the cell is handed zeros), written in
/// order from its start.
pub(super) struct FreshRow<'p> {
    values: &'p mut [MaybeUninit<f32>],
    next: usize,
    filled: &'p Cell<usize>,
}

impl Drop for FreshRow<'_> {
    #[inline(always)]
    fn drop(&mut self) {
        if self.next == self.values.len() {
            self.filled.set(self.filled.get() + self.next);
        }
    }
}

impl LaneRow for FreshRow<'_> {
    #[inline(always)]
    fn len(&self) -> usize {
        self.values.len()
    }

    #[inline(always)]
    fn load(&self, _: usize) -> [f32; LANES] {
        [0.0; LANES]
    }

    #[inline(always)]
    fn get(&self, _: usize) -> f32 {
        0.0
    }

    #[inline(always)]
    fn store(&mut self, _: usize, values: &[f32; LANES]) {
        let next = self.next;
        for (out, &v) in self.values[next..next + LANES].iter_mut().zip(values) {
            out.write(v);
        }
        self.next = next + LANES;
    }

    #[inline(always)]
    fn set(&mut self, _: usize, value: f32) {
        self.values[self.next].write(value);
        self.next += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::super::flex_lanes::lanes;
    use super::*;

    /// Parts written whole, by `append` and by `lanes` rows of every length up to three blocks
    /// and a half, give back exactly the values written, in order.
    #[test]
    fn the_values_come_back_in_the_order_written() {
        for d in 1..56 {
            let mut rows = StepRows::new(d + 4 * d);
            let h0: Vec<f32> = (0..d).map(|j| j as f32).collect();
            rows.push(&h0);
            rows.step(4 * d, 2 * d, |done, parts| {
                assert_eq!(done, &h0[..]);
                for (k, mut part) in parts.into_iter().enumerate() {
                    for r in 0..2 {
                        let shift = (10 * (2 * k + r)) as f32;
                        lanes([done], [part.row(d)], |[h], [unread]| [unread + h + shift]);
                    }
                }
            });
            let expected: Vec<f32> = (0..5)
                .flat_map(|r| {
                    (0..d).map(move |j| j as f32 + if r == 0 { 0.0 } else { 10.0 * (r - 1) as f32 })
                })
                .collect();
            assert_eq!(rows.into_vec(), expected, "d = {d}");
        }
    }

    #[test]
    #[should_panic(expected = "a step's values left unwritten")]
    fn a_part_left_short_is_never_counted_written() {
        let mut rows = StepRows::new(4);
        rows.step(4, 2, |_, parts| {
            for mut part in parts {
                part.append(&[1.0]);
            }
        });
    }

    #[test]
    #[should_panic(expected = "values left unwritten")]
    fn values_never_written_are_never_handed_out() {
        let mut rows = StepRows::new(3);
        rows.push(&[1.0]);
        rows.into_vec();
    }
}
