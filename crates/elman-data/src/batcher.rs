//! Sequences stacked into tensors: batch-major for Burn's `Batcher`, time-major for the
//! recurrence, gathered from the sequences' views.

use burn::data::dataloader::batcher::Batcher;
use burn::prelude::*;

use crate::{SequenceDataset, SequenceItem, SequenceRef};

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
            seq_len: data.seq_len(),
            d_input: data.d_input(),
            d_output: data.d_output(),
        }
    }

    /// `items` stacked time-major, `(inputs [seq_len · batch, d_input], targets [seq_len · batch,
    /// d_output])`: step `t` of every sequence in rows `t · batch .. (t + 1) · batch`, as the
    /// recurrence reads them. Laid out here, on the host, so that a device gets them in that
    /// order instead of transposing a batch-major stack (on a GPU a launch per tensor).
    pub fn time_major(&self, items: &[SequenceRef<'_>], device: &Device) -> (Tensor<2>, Tensor<2>) {
        let rows = self.seq_len * items.len();
        let stack = |width: usize, inputs: bool| {
            let mut stacked = Vec::with_capacity(rows * width);
            for t in 0..self.seq_len {
                for item in items {
                    let values = if inputs { item.inputs } else { item.targets };
                    stacked.extend_from_slice(&values[t * width..(t + 1) * width]);
                }
            }
            Tensor::from_data(TensorData::new(stacked, [rows, width]), device)
        };
        (stack(self.d_input, true), stack(self.d_output, false))
    }

    /// `items` stacked batch-major, as [`Batcher::batch`] stacks owned sequences.
    pub fn stack(&self, items: &[SequenceRef<'_>], device: &Device) -> SequenceBatch {
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

impl Batcher<SequenceItem, SequenceBatch> for SequenceBatcher {
    fn batch(&self, items: Vec<SequenceItem>, device: &Device) -> SequenceBatch {
        let refs: Vec<SequenceRef<'_>> = items
            .iter()
            .map(|i| SequenceRef {
                inputs: &i.inputs,
                targets: &i.targets,
            })
            .collect();
        self.stack(&refs, device)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let items: Vec<SequenceRef<'_>> = items
            .iter()
            .map(|i| SequenceRef {
                inputs: &i.inputs,
                targets: &i.targets,
            })
            .collect();
        let (inputs, targets) = batcher.time_major(&items, &Device::flex());
        let values = |t: Tensor<2>| t.into_data().try_into_vec_as::<f32>().unwrap();
        assert_eq!(inputs.dims(), [4, 2]);
        assert_eq!(values(inputs), [1.0, 2.0, 7.0, 8.0, 3.0, 4.0, 9.0, 10.0]);
        assert_eq!(values(targets), [5.0, 11.0, 6.0, 12.0]);
    }
}
