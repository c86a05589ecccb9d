//! Many equal-length sequences of `(inputs, targets)` steps (`batcher.rs` stacks them).
//!
//! A dataset stores each series' (or wave's) values once, step-major, and a sequence is a view
//! into them: the store and the step it starts at. A window of a series is then 8 bytes, not
//! a copy of its values; a batch gathers its sequences' steps from the stores when it is made,
//! straight into the layout it is used in ([`SequenceBatcher::time_major`]).

use std::sync::Arc;

use burn::data::dataset::{Dataset, DatasetError};

use crate::SineDataset;

/// One sequence: `seq_len` steps of `d_input` inputs and `d_output` targets, step-major.
#[derive(Debug, Clone, PartialEq)]
pub struct SequenceItem {
    /// `[seq_len * d_input]`: step 0's inputs, then step 1's, ...
    pub inputs: Vec<f32>,
    /// `[seq_len * d_output]`: the targets, laid out like the inputs.
    pub targets: Vec<f32>,
}

/// One sequence read in place from its dataset's store.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SequenceRef<'a> {
    /// `[seq_len * d_input]`, step-major.
    pub inputs: &'a [f32],
    /// `[seq_len * d_output]`, step-major.
    pub targets: &'a [f32],
}

impl SequenceRef<'_> {
    /// The sequence as owned values.
    pub fn to_item(&self) -> SequenceItem {
        SequenceItem {
            inputs: self.inputs.to_vec(),
            targets: self.targets.to_vec(),
        }
    }
}

/// The values sequences are read from.
#[derive(Debug, Clone, PartialEq)]
enum Store {
    /// A series that is its own only input and target: step `t` feeds `values[t]` and
    /// predicts `values[t + 1]` (one input and one target a step), stored once.
    Ahead(Vec<f32>),
    /// Inputs and targets apart, step-major.
    Apart {
        /// `d_input` values a step.
        inputs: Vec<f32>,
        /// `d_output` values a step.
        targets: Vec<f32>,
    },
}

/// A sequence: the store it reads and the step it starts at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct View {
    store: u32,
    start: u32,
}

/// Sequences that all have the same length and feature counts.
#[derive(Debug, Clone, PartialEq)]
pub struct SequenceDataset {
    stores: Vec<Arc<Store>>,
    views: Vec<View>,
    seq_len: usize,
    d_input: usize,
    d_output: usize,
}

impl SequenceDataset {
    /// Wraps `items`, each its own store.
    ///
    /// # Panics
    ///
    /// If an item's inputs or targets do not hold `seq_len` steps of `d_input` and `d_output`
    /// values.
    pub fn new(items: Vec<SequenceItem>, seq_len: usize, d_input: usize, d_output: usize) -> Self {
        for (i, item) in items.iter().enumerate() {
            assert_eq!(item.inputs.len(), seq_len * d_input, "item {i}: inputs");
            assert_eq!(item.targets.len(), seq_len * d_output, "item {i}: targets");
        }
        let views = (0..items.len())
            .map(|i| View {
                store: index(i),
                start: 0,
            })
            .collect();
        Self {
            stores: items
                .into_iter()
                .map(|item| {
                    Arc::new(Store::Apart {
                        inputs: item.inputs,
                        targets: item.targets,
                    })
                })
                .collect(),
            views,
            seq_len,
            d_input,
            d_output,
        }
    }

    /// The tutorial's wave as one sequence of 20 steps.
    pub fn from_tutorial(data: &SineDataset) -> Self {
        let item = SequenceItem {
            inputs: data.inputs(),
            targets: data.targets(),
        };
        Self::new(vec![item], data.seq_len(), 1, 1)
    }

    /// Steps per sequence.
    pub fn seq_len(&self) -> usize {
        self.seq_len
    }

    /// Inputs per step.
    pub fn d_input(&self) -> usize {
        self.d_input
    }

    /// Targets per step.
    pub fn d_output(&self) -> usize {
        self.d_output
    }

    /// The number of sequences.
    pub fn len(&self) -> usize {
        self.views.len()
    }

    /// Whether there are no sequences.
    pub fn is_empty(&self) -> bool {
        self.views.is_empty()
    }

    /// Sequence `i`, read in place.
    ///
    /// # Panics
    ///
    /// If `i` is out of range.
    pub fn get_ref(&self, i: usize) -> SequenceRef<'_> {
        let View { store, start } = self.views[i];
        let start = start as usize;
        let steps = start..start + self.seq_len;
        match &*self.stores[store as usize] {
            Store::Ahead(values) => SequenceRef {
                inputs: &values[steps.clone()],
                targets: &values[steps.start + 1..steps.end + 1],
            },
            Store::Apart { inputs, targets } => SequenceRef {
                inputs: &inputs[steps.start * self.d_input..steps.end * self.d_input],
                targets: &targets[steps.start * self.d_output..steps.end * self.d_output],
            },
        }
    }

    /// Every sequence in order, read in place.
    pub fn iter(&self) -> impl Iterator<Item = SequenceRef<'_>> {
        (0..self.len()).map(|i| self.get_ref(i))
    }

    /// Splits off the last `ceil(fraction * len)` sequences as a validation set (none when
    /// `fraction` is 0). Sequences keep their order, so a time-ordered set splits in time; both
    /// halves read the same stores.
    pub fn split(mut self, fraction: f64) -> (Self, Self) {
        let n_valid = ((self.views.len() as f64) * fraction.clamp(0.0, 1.0)).ceil() as usize;
        let valid = self.views.split_off(self.views.len() - n_valid);
        let valid = Self {
            views: valid,
            ..self.clone()
        };
        (self, valid)
    }

    /// The sequences of `parts` (of one feature layout) together, each cut into consecutive
    /// pieces of `steps` steps (the rest of a sequence dropped); the stores are shared, not
    /// copied.
    ///
    /// # Panics
    ///
    /// If `parts` is empty, their feature counts differ, or a part's sequences are shorter
    /// than `steps`.
    pub fn join(parts: &[&SequenceDataset], steps: usize) -> Self {
        let (d_input, d_output) = (parts[0].d_input, parts[0].d_output);
        let mut stores = Vec::new();
        let mut views = Vec::new();
        for part in parts {
            assert_eq!((part.d_input, part.d_output), (d_input, d_output));
            assert!(part.seq_len >= steps, "pieces of at most a sequence");
            let offset = stores.len();
            stores.extend(part.stores.iter().cloned());
            let pieces = part.seq_len / steps;
            for view in &part.views {
                for p in 0..pieces {
                    views.push(View {
                        store: index(offset + view.store as usize),
                        start: view.start + index(p * steps),
                    });
                }
            }
        }
        Self {
            stores,
            views,
            seq_len: steps,
            d_input,
            d_output,
        }
    }
}

/// An index or a step as a view stores it.
///
/// # Panics
///
/// Past `u32::MAX` (four billion sequences or steps of one series).
fn index(i: usize) -> u32 {
    u32::try_from(i).expect("at most u32::MAX stores and steps")
}

impl Dataset<SequenceItem> for SequenceDataset {
    fn get(&self, index: usize) -> Result<SequenceItem, DatasetError> {
        Ok(self.get_ref(index).to_item())
    }

    fn len(&self) -> usize {
        self.views.len()
    }
}

/// Sequences cut from one long series: `windows` of `window` steps, starting every `stride`
/// steps, where step `t` has inputs `inputs[t]` (`d_input` values) and targets `targets[t]`
/// (`d_output` values). The series is stored once; each window is a view into it.
///
/// # Panics
///
/// If `window` or `stride` is 0, or the two series have different numbers of steps.
pub fn windows(
    inputs: &[f32],
    d_input: usize,
    targets: &[f32],
    d_output: usize,
    window: usize,
    stride: usize,
) -> SequenceDataset {
    let steps = inputs.len() / d_input;
    assert_eq!(steps, targets.len() / d_output, "inputs and targets steps");
    let store = Store::Apart {
        inputs: inputs.to_vec(),
        targets: targets.to_vec(),
    };
    cut(store, steps, d_input, d_output, window, stride)
}

/// [`windows`] of a series that predicts its own next value: step `t` feeds `values[t]` and
/// predicts `values[t + 1]`, for the `values.len() - 1` steps that have a next value; stored
/// once, inputs and targets alike.
///
/// # Panics
///
/// If `window` or `stride` is 0, or `values` holds fewer than two values.
pub fn windows_ahead(values: Vec<f32>, window: usize, stride: usize) -> SequenceDataset {
    assert!(values.len() >= 2, "a step needs a value and the next");
    let steps = values.len() - 1;
    cut(Store::Ahead(values), steps, 1, 1, window, stride)
}

/// The windows of `window` steps every `stride` steps over a store of `steps` steps.
fn cut(
    store: Store,
    steps: usize,
    d_input: usize,
    d_output: usize,
    window: usize,
    stride: usize,
) -> SequenceDataset {
    assert!(
        window > 0 && stride > 0,
        "window and stride must be positive"
    );
    let views = (0..)
        .map(|k| k * stride)
        .take_while(|start| start + window <= steps)
        .map(|start| View {
            store: 0,
            start: index(start),
        })
        .collect();
    SequenceDataset {
        stores: vec![Arc::new(store)],
        views,
        seq_len: window,
        d_input,
        d_output,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A series 0, 1, ..., 9 predicting itself one step ahead (targets 1, ..., 10), cut into
    /// windows of 4 every 3 steps: they start at 0, 3 and 6, the last ending exactly at step 9.
    #[test]
    fn windows_by_hand() {
        let inputs: Vec<f32> = (0..10).map(|v| v as f32).collect();
        let targets: Vec<f32> = (1..11).map(|v| v as f32).collect();
        let data = windows(&inputs, 1, &targets, 1, 4, 3);
        assert_eq!(data.len(), 3);
        assert_eq!(data.get_ref(1).inputs, [3.0, 4.0, 5.0, 6.0]);
        assert_eq!(data.get_ref(1).targets, [4.0, 5.0, 6.0, 7.0]);
        assert_eq!(data.get_ref(2).inputs, [6.0, 7.0, 8.0, 9.0]);
        // The same windows of the series 0..=10 predicting itself, stored once.
        let ahead = windows_ahead((0..11).map(|v| v as f32).collect(), 4, 3);
        assert_eq!(ahead.len(), 3);
        for i in 0..3 {
            assert_eq!(ahead.get_ref(i), data.get_ref(i));
        }
    }

    /// Views read the same values as copies would: every window of a two-input series at
    /// every window and stride, and pieces of joined datasets.
    #[test]
    fn views_read_what_copies_held() {
        let inputs: Vec<f32> = (0..40).map(|v| v as f32 * 0.5).collect();
        let targets: Vec<f32> = (0..20).map(|v| -(v as f32)).collect();
        for window in 1..=20 {
            for stride in 1..=7 {
                let data = windows(&inputs, 2, &targets, 1, window, stride);
                let starts: Vec<usize> = (0..)
                    .map(|k| k * stride)
                    .take_while(|s| s + window <= 20)
                    .collect();
                assert_eq!(data.len(), starts.len());
                for (i, &s) in starts.iter().enumerate() {
                    let view = data.get_ref(i);
                    assert_eq!(view.inputs, &inputs[2 * s..2 * (s + window)]);
                    assert_eq!(view.targets, &targets[s..s + window]);
                }
            }
        }
        let a = windows(&inputs, 2, &targets, 1, 6, 6);
        let b = windows(&inputs[..20], 2, &targets[..10], 1, 4, 2);
        let joined = SequenceDataset::join(&[&a, &b], 3);
        // a: 3 windows of 6, 2 pieces each; b: 4 windows of 4, 1 piece each.
        assert_eq!(joined.len(), 3 * 2 + 4);
        assert_eq!(joined.get_ref(1).inputs, &inputs[6..12]);
        assert_eq!(joined.get_ref(7).targets, &targets[2..5]);
    }

    #[test]
    fn split_keeps_order_and_takes_the_tail() {
        let inputs: Vec<f32> = (0..10).map(|v| v as f32).collect();
        let data = windows(&inputs, 1, &inputs, 1, 2, 2);
        let (train, valid) = data.split(0.3);
        assert_eq!((train.len(), valid.len()), (3, 2));
        assert_eq!(valid.get_ref(0).inputs, [6.0, 7.0]);
        let (train, valid) = train.split(0.0);
        assert_eq!((train.len(), valid.len()), (3, 0));
    }
}
