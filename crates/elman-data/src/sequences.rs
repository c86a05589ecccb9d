//! Many equal-length sequences of `(inputs, targets)` steps, and their batcher.

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::{Dataset, DatasetError};
use burn::prelude::*;

use crate::SineDataset;

/// One sequence: `seq_len` steps of `d_input` inputs and `d_output` targets, step-major.
#[derive(Debug, Clone, PartialEq)]
pub struct SequenceItem {
    /// `[seq_len * d_input]`: step 0's inputs, then step 1's, ...
    pub inputs: Vec<f32>,
    /// `[seq_len * d_output]`: the targets, laid out like the inputs.
    pub targets: Vec<f32>,
}

/// Sequences that all have the same length and feature counts.
#[derive(Debug, Clone, PartialEq)]
pub struct SequenceDataset {
    items: Vec<SequenceItem>,
    seq_len: usize,
    d_input: usize,
    d_output: usize,
}

impl SequenceDataset {
    /// Wraps `items`.
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
        Self {
            items,
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
        self.items.len()
    }

    /// Whether there are no sequences.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The sequences.
    pub fn items(&self) -> &[SequenceItem] {
        &self.items
    }

    /// Splits off the last `ceil(fraction * len)` sequences as a validation set (none when
    /// `fraction` is 0). Sequences keep their order, so a time-ordered set splits in time.
    pub fn split(mut self, fraction: f64) -> (Self, Self) {
        let n_valid = ((self.items.len() as f64) * fraction.clamp(0.0, 1.0)).ceil() as usize;
        let valid = self.items.split_off(self.items.len() - n_valid);
        let valid = Self {
            items: valid,
            ..self.clone()
        };
        (self, valid)
    }
}

impl Dataset<SequenceItem> for SequenceDataset {
    fn get(&self, index: usize) -> Result<SequenceItem, DatasetError> {
        Ok(self.items[index].clone())
    }

    fn len(&self) -> usize {
        self.items.len()
    }
}

/// Sequences cut from one long series: `windows` of `window` steps, starting every `stride`
/// steps, where step `t` has inputs `inputs[t]` (`d_input` values) and targets `targets[t]`
/// (`d_output` values).
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
    assert!(
        window > 0 && stride > 0,
        "window and stride must be positive"
    );
    let steps = inputs.len() / d_input;
    assert_eq!(steps, targets.len() / d_output, "inputs and targets steps");
    let items = (0..)
        .map(|k| k * stride)
        .take_while(|start| start + window <= steps)
        .map(|start| SequenceItem {
            inputs: inputs[start * d_input..(start + window) * d_input].to_vec(),
            targets: targets[start * d_output..(start + window) * d_output].to_vec(),
        })
        .collect();
    SequenceDataset::new(items, window, d_input, d_output)
}

/// Sequences stacked into tensors.
#[derive(Debug, Clone)]
pub struct SequenceBatch {
    /// `[batch, seq_len, d_input]`.
    pub inputs: Tensor<3>,
    /// `[batch, seq_len, d_output]`.
    pub targets: Tensor<3>,
}

/// Stacks [`SequenceItem`]s of one shape into a [`SequenceBatch`].
#[derive(Debug, Clone, Copy)]
pub struct SequenceBatcher {
    /// Steps per sequence.
    pub seq_len: usize,
    /// Inputs per step.
    pub d_input: usize,
    /// Targets per step.
    pub d_output: usize,
}

impl SequenceBatcher {
    /// The batcher for `data`'s sequences.
    pub fn for_dataset(data: &SequenceDataset) -> Self {
        Self {
            seq_len: data.seq_len,
            d_input: data.d_input,
            d_output: data.d_output,
        }
    }

    /// `items` stacked time-major, `(inputs [seq_len · batch, d_input], targets [seq_len · batch,
    /// d_output])`: step `t` of every sequence in rows `t · batch .. (t + 1) · batch`, as the
    /// recurrence reads them. Laid out here, on the host, so that a device gets them in that
    /// order instead of transposing a batch-major stack (on a GPU a launch per tensor).
    pub fn time_major(&self, items: &[&SequenceItem], device: &Device) -> (Tensor<2>, Tensor<2>) {
        let rows = self.seq_len * items.len();
        let stack = |width: usize, values: fn(&SequenceItem) -> &[f32]| {
            let mut stacked = Vec::with_capacity(rows * width);
            for t in 0..self.seq_len {
                for item in items {
                    stacked.extend_from_slice(&values(item)[t * width..(t + 1) * width]);
                }
            }
            Tensor::from_data(TensorData::new(stacked, [rows, width]), device)
        };
        (
            stack(self.d_input, |item| &item.inputs),
            stack(self.d_output, |item| &item.targets),
        )
    }
}

impl Batcher<SequenceItem, SequenceBatch> for SequenceBatcher {
    fn batch(&self, items: Vec<SequenceItem>, device: &Device) -> SequenceBatch {
        let batch = items.len();
        let inputs: Vec<f32> = items
            .iter()
            .flat_map(|i| i.inputs.iter().copied())
            .collect();
        let targets: Vec<f32> = items
            .iter()
            .flat_map(|i| i.targets.iter().copied())
            .collect();
        SequenceBatch {
            inputs: Tensor::from_data(
                TensorData::new(inputs, [batch, self.seq_len, self.d_input]),
                device,
            ),
            targets: Tensor::from_data(
                TensorData::new(targets, [batch, self.seq_len, self.d_output]),
                device,
            ),
        }
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
        assert_eq!(data.items()[1].inputs, [3.0, 4.0, 5.0, 6.0]);
        assert_eq!(data.items()[1].targets, [4.0, 5.0, 6.0, 7.0]);
        assert_eq!(data.items()[2].inputs, [6.0, 7.0, 8.0, 9.0]);
    }

    #[test]
    fn split_keeps_order_and_takes_the_tail() {
        let inputs: Vec<f32> = (0..10).map(|v| v as f32).collect();
        let data = windows(&inputs, 1, &inputs, 1, 2, 2);
        let (train, valid) = data.split(0.3);
        assert_eq!((train.len(), valid.len()), (3, 2));
        assert_eq!(valid.items()[0].inputs, [6.0, 7.0]);
        let (train, valid) = train.split(0.0);
        assert_eq!((train.len(), valid.len()), (3, 0));
    }

    /// Two sequences of two steps, two inputs and one target a step, and their batcher.
    fn two_sequences() -> (Vec<SequenceItem>, SequenceBatcher) {
        let items = vec![
            SequenceItem {
                inputs: vec![1.0, 2.0, 3.0, 4.0],
                targets: vec![5.0, 6.0],
            },
            SequenceItem {
                inputs: vec![7.0, 8.0, 9.0, 10.0],
                targets: vec![11.0, 12.0],
            },
        ];
        let batcher = SequenceBatcher {
            seq_len: 2,
            d_input: 2,
            d_output: 1,
        };
        (items, batcher)
    }

    #[test]
    fn batcher_stacks_batch_step_feature() {
        let (items, batcher) = two_sequences();
        let batch = batcher.batch(items, &Device::flex());
        assert_eq!(batch.inputs.dims(), [2, 2, 2]);
        assert_eq!(batch.targets.dims(), [2, 2, 1]);
        // Sequence 1, step 0, feature 1.
        let value = batch.inputs.slice(s![1, 0, 1]).into_scalar::<f32>();
        assert_eq!(value, 8.0);
    }

    /// Time-major rows: step 0 of both sequences, then step 1 of both.
    #[test]
    fn time_major_batch_by_hand() {
        let (items, batcher) = two_sequences();
        let items: Vec<&SequenceItem> = items.iter().collect();
        let (inputs, targets) = batcher.time_major(&items, &Device::flex());
        let values = |t: Tensor<2>| t.into_data().try_into_vec_as::<f32>().unwrap();
        assert_eq!(inputs.dims(), [4, 2]);
        assert_eq!(values(inputs), [1.0, 2.0, 7.0, 8.0, 3.0, 4.0, 9.0, 10.0]);
        assert_eq!(values(targets), [5.0, 11.0, 6.0, 12.0]);
    }
}
