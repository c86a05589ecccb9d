//! [`evaluate`]: the mean squared error of a network's one-step-ahead predictions over many
//! sequences, and [`Sequences`], a dataset put on a device once so that a run's validation
//! (every epoch) or a caller's repeated evaluation does not copy it there each time.

use burn::prelude::*;
use elman_data::{SequenceBatcher, SequenceDataset};
use elman_model::{Elman, ElmanState, kernel};

/// Sequences per batch of the ways that keep every step's context (the recurrence kernel's
/// states and `Elman::forward`'s outputs), and per slab on a device that is no GPU card (where
/// the batches run on the threads of the pool at once).
const BATCH: usize = 256;

/// Sequences per slab on a GPU card: the most workgroups of one launch's dimension that every
/// wgpu adapter allows, a workgroup per sequence. The one-launch way runs a slab as one launch,
/// so that the card runs all of them at once: a launch's time is mostly its steps one after the
/// other, not its number of sequences (on an H100, hidden 64, 64 steps: 319 µs for 256
/// sequences a workgroup each, 385 for the same sequences four a workgroup).
const CARD_SLAB: usize = 65_535;

/// The most context values (sequences × steps × neurons) of one batch of the ways that keep
/// every step's context on a GPU card: 64 MiB of `f32` (at hidden 256 and 64 steps, 1,024
/// sequences), so that the card runs many sequences at once and its memory holds a batch.
const CARD_CONTEXT_VALUES: usize = 1 << 24;

/// Sequences per batch for `way` on a device that is a GPU card or not, with `steps` steps and
/// `d_hidden` neurons: a whole slab for [`Way::OneLaunch`] (its kernel keeps no context but the
/// last), [`BATCH`] off a card, and on a card as many as [`CARD_CONTEXT_VALUES`] allow, at least
/// [`BATCH`].
fn batch_size(way: Way, on_card: bool, steps: usize, d_hidden: usize) -> usize {
    match way {
        Way::OneLaunch => usize::MAX,
        _ if on_card => (CARD_CONTEXT_VALUES / (steps * d_hidden).max(1)).max(BATCH),
        _ => BATCH,
    }
}

/// A dataset's sequences on a device, in slabs of 65,535 sequences on a GPU card and of 256
/// elsewhere (`[n, T, d]` inputs and targets), for [`evaluate_on`].
#[derive(Debug, Clone)]
pub struct Sequences {
    slabs: Vec<(Tensor<3>, Tensor<3>)>,
    /// Values predicted in all: sequences × steps × outputs.
    values: usize,
}

impl Sequences {
    /// `data` on `device` (a network's device without autodiff, as
    /// `Elman::valid` gives it).
    pub fn new(data: &SequenceDataset, device: &Device) -> Self {
        let slab = if kernel::on_card(device) {
            CARD_SLAB
        } else {
            BATCH
        };
        Self::in_slabs(data, device, slab)
    }

    /// `data` on `device` in slabs of `slab` sequences.
    fn in_slabs(data: &SequenceDataset, device: &Device, slab: usize) -> Self {
        let batcher = SequenceBatcher::for_dataset(data);
        Self {
            slabs: (0..data.len())
                .step_by(slab)
                .map(|first| {
                    let items: Vec<_> = (first..(first + slab).min(data.len()))
                        .map(|i| data.get_ref(i))
                        .collect();
                    let batch = batcher.stack(&items, device);
                    (batch.inputs, batch.targets)
                })
                .collect(),
            values: data.len() * data.seq_len() * data.d_output(),
        }
    }

    /// Each slab whole if `size` is at least its length, otherwise its slices of `size`
    /// sequences and the rest.
    fn batches(&self, size: usize) -> Vec<(Tensor<3>, Tensor<3>)> {
        let mut batches = Vec::new();
        for (inputs, targets) in &self.slabs {
            let n = inputs.dims()[0];
            for start in (0..n).step_by(size) {
                let end = start.saturating_add(size).min(n);
                batches.push((
                    inputs.clone().slice(start..end),
                    targets.clone().slice(start..end),
                ));
            }
        }
        batches
    }
}

/// The mean squared error of one-step-ahead predictions over every step, sequence and output of
/// `data`, each sequence run from a zero context, in batches of 256 sequences (on a plain Flex
/// device the batches run on the threads of the pool at once; on a GPU card the forward pass
/// and squared errors of up to 65,535 sequences are one launch).
pub fn evaluate(model: &Elman, data: &SequenceDataset) -> f64 {
    evaluate_on(model, &Sequences::new(data, &model.valid().w1.device()))
}

/// [`evaluate`] over sequences already on a device (moved to the network's, where they are
/// elsewhere).
pub fn evaluate_on(model: &Elman, data: &Sequences) -> f64 {
    let model = model.valid();
    let device = model.w1.device();
    let (d_hidden, d_output) = (model.d_hidden(), model.d_output());
    let way = if !model.is_tutorial_cell() && kernel::recurrence_differentiable(&device) {
        Way::Layer
    } else if !model.is_tutorial_cell() {
        Way::Steps
    } else if kernel::forward_squares_available(&device, d_hidden, d_output) {
        Way::OneLaunch
    } else if kernel::recurrence_available(&device, d_hidden) {
        Way::Recurrence
    } else {
        Way::Steps
    };
    let steps = data.slabs.first().map_or(1, |(inputs, _)| inputs.dims()[1]);
    let size = batch_size(way, kernel::on_card(&device), steps, d_hidden);
    evaluate_by(&model, data, way, size)
}

/// How [`evaluate`] runs a batch.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Way {
    /// The whole forward pass and the squared errors of a slab in one launch
    /// ([`kernel::forward_squares`], on a GPU card).
    OneLaunch,
    /// The recurrence in one launch, the projections as products over every step.
    Recurrence,
    /// The layer's window in one operation, then the read-out ([`Elman::forward`]: a gated
    /// cell's window fused on Flex).
    Layer,
    /// [`Elman::forward_steps`], step by step.
    Steps,
}

/// [`evaluate_on`] with the network `model` (without autodiff) run the given way on batches of
/// at most `size` sequences.
fn evaluate_by(model: &Elman, data: &Sequences, way: Way, size: usize) -> f64 {
    use rayon::prelude::*;

    let device = model.w1.device();
    let d_hidden = model.d_hidden();
    let squares = |(inputs, targets): &(Tensor<3>, Tensor<3>)| -> Tensor<1> {
        let (inputs, targets) = (
            inputs.clone().to_device(&device),
            targets.clone().to_device(&device),
        );
        let [n, steps, _] = inputs.dims();
        let zeros = || ElmanState::zeros(n, d_hidden, &device);
        match way {
            Way::Recurrence => {
                let (x, targets) = (
                    crate::layout::time_major(inputs),
                    crate::layout::time_major(targets),
                );
                let states = kernel::recurrence_forward(x, model.w1.val(), zeros().context);
                // (The contexts after the zero one the sequences start from.)
                let h = states.slice(s![n..(steps + 1) * n, ..]);
                (h.matmul(model.w2.val()) - targets).square().sum()
            }
            Way::OneLaunch => {
                // Batch-major rows, as the batcher stacks them: no copy.
                let rows = |t: Tensor<3>| {
                    let [_, _, d] = t.dims();
                    t.reshape([n * steps, d])
                };
                let (x, targets) = (rows(inputs), rows(targets));
                let squares =
                    kernel::forward_squares(x, targets, model.w1.val(), model.w2.val(), n);
                // Each sequence's sums, added up on the host: no launch to sum them.
                squares.reshape([-1])
            }
            Way::Layer => {
                let (outputs, _) = model
                    .forward(inputs, None)
                    .expect("the sequences were made for the network's widths");
                (outputs - targets).square().sum()
            }
            Way::Steps => {
                let (outputs, _) = model.forward_steps(inputs, zeros());
                (outputs - targets).square().sum()
            }
        }
    };
    let batches = data.batches(size);
    let mut sums: Vec<Tensor<1>> = if kernel::available(&device) && rayon::current_num_threads() > 1
    {
        batches.par_iter().map(squares).collect()
    } else {
        batches.iter().map(squares).collect()
    };
    // One read-back for the whole set, not one per batch, and the sums added on the host (on a
    // card each launch costs tens of microseconds, more than reading a few thousand values).
    let sums = match sums.len() {
        0 => return 0.0,
        1 => sums.remove(0),
        _ => Tensor::cat(sums, 0),
    };
    let total = host_sum(sums);
    crate::loss::mean_squares(total, data.values)
}

/// The sum of a tensor's values, read back once and added on the host in `f64`.
fn host_sum(values: Tensor<1>) -> f64 {
    let data = values.into_data();
    match data.as_slice::<f32>() {
        Ok(values) => values.iter().map(|v| f64::from(*v)).sum(),
        Err(_) => data.iter::<f64>().sum(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use elman_model::{ElmanConfig, ElmanWeights};

    /// On two threads the batches of 256 run at once and give the MSE of one thread, for the
    /// Elman cell (the recurrence kernel) and the LSTM (its tensor operations).
    #[test]
    fn evaluate_on_two_threads_is_evaluate_on_one() {
        let data = crate::testing::sines(600, 10, 3);
        for cell in [elman_model::Cell::Elman, elman_model::Cell::Lstm] {
            let config = ElmanConfig {
                cell,
                ..ElmanConfig::default()
            };
            let model = ElmanWeights::init(&config, 5).to_module(&Device::flex());
            let on = |threads| {
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap()
                    .install(|| evaluate(&model, &data))
            };
            let (one, two) = (on(1), on(2));
            assert!(one > 1e-3, "{cell:?}: {one}");
            assert!((one - two).abs() <= 1e-6 * one, "{cell:?}: {one} vs {two}");
        }
    }

    /// Sequences put on a device once give `evaluate`'s MSE at every call, also for a network
    /// on another device (there they are moved to it).
    #[test]
    fn sequences_on_a_device_give_evaluate_s_mse() {
        let data = crate::testing::sines(300, 7, 2);
        let weights = ElmanWeights::init(&ElmanConfig::default(), 3);
        let (flex, gpu) = (
            Device::flex(),
            Device::wgpu(burn::prelude::DeviceKind::DefaultDevice),
        );
        let expected = evaluate(&weights.to_module(&flex), &data);
        let on_flex = Sequences::new(&data, &flex);
        for _ in 0..2 {
            let got = evaluate_on(&weights.to_module(&flex), &on_flex);
            assert_eq!(got, expected);
        }
        let elsewhere = evaluate_on(&weights.to_module(&gpu), &on_flex);
        assert!(
            (elsewhere - expected).abs() < 1e-6 * expected,
            "{elsewhere} vs {expected}"
        );
    }

    /// With `W2 = 0` every prediction is 0, so the MSE is the mean of the squared targets:
    /// targets 1, 2 (one sequence) and 3, 4 give (1 + 4 + 9 + 16) / 4 = 7.5.
    #[test]
    fn evaluate_by_hand() {
        let mut weights = ElmanWeights::init(&ElmanConfig::default(), 0);
        weights.w2.iter_mut().for_each(|w| *w = 0.0);
        let model = weights.to_module(&Device::flex());
        let item = |targets: Vec<f32>| elman_data::SequenceItem {
            inputs: vec![0.5, -0.5],
            targets,
        };
        let data = SequenceDataset::new(vec![item(vec![1.0, 2.0]), item(vec![3.0, 4.0])], 2, 1, 1);
        assert!((evaluate(&model, &data) - 7.5).abs() < 1e-9);
    }

    /// The MSE over many waves on wgpu, where the recurrence runs in the GPU kernel, equals
    /// Flex's, where it runs as tensor operations.
    #[test]
    fn evaluate_on_the_gpu_is_evaluate_on_the_cpu() {
        let data = crate::testing::sines(300, 9, 4);
        let weights = ElmanWeights::init(&ElmanConfig::default(), 6);
        let gpu = Device::wgpu(burn::prelude::DeviceKind::DefaultDevice);
        assert!(elman_model::kernel::recurrence_available(&gpu, 6));
        let on = |device: &Device| evaluate(&weights.to_module(device), &data);
        let (a, b) = (on(&gpu), on(&Device::flex()));
        assert!((a - b).abs() < 1e-6 * b.max(1.0), "{a} vs {b}");
    }

    /// Each way of running a batch gives the same MSE: on wgpu (lavapipe here) the whole
    /// forward pass in one launch, which `evaluate` takes on a GPU card, the recurrence in one
    /// launch and the steps, against Flex's steps; for the tutorial's sizes and a wider network,
    /// over more than one batch of 256, with the sequences in slabs of 256 (a device that is no
    /// card) and of 280 (as a card's slabs of 65,535) run in batches of 256 and the rest or
    /// whole (as on a card).
    #[test]
    fn every_way_of_evaluating_gives_the_same_mse() {
        let data = crate::testing::sines(300, 9, 4);
        let gpu = Device::wgpu(burn::prelude::DeviceKind::DefaultDevice);
        for config in [
            ElmanConfig::default(),
            ElmanConfig {
                d_hidden: 40,
                ..ElmanConfig::default()
            },
        ] {
            let weights = ElmanWeights::init(&config, 6);
            let on = |device: &Device, slab, way, size| {
                let model = weights.to_module(device);
                evaluate_by(&model, &Sequences::in_slabs(&data, device, slab), way, size)
            };
            let cpu = on(&Device::flex(), BATCH, Way::Steps, BATCH);
            assert!(cpu > 0.0);
            for way in [Way::OneLaunch, Way::Recurrence, Way::Steps] {
                for (slab, size) in [(BATCH, BATCH), (280, BATCH), (280, usize::MAX)] {
                    let gpu = on(&gpu, slab, way, size);
                    assert!(
                        (gpu - cpu).abs() < 1e-6 * cpu.max(1.0),
                        "{way:?}, slabs of {slab}, batches of {size}: {gpu} vs {cpu}"
                    );
                }
            }
        }
    }

    /// A gated cell evaluates through the layer's window (fused on Flex) as through its steps:
    /// the same MSE within float error, with and without biases, over more than one batch.
    #[test]
    fn a_gated_cell_evaluates_through_the_layer_as_through_its_steps() {
        let data = crate::testing::sines(300, 9, 4);
        let device = Device::flex();
        for cell in [elman_model::Cell::Lstm, elman_model::Cell::Gru] {
            for bias in [false, true] {
                let config = ElmanConfig {
                    cell,
                    bias,
                    d_hidden: 7,
                    ..ElmanConfig::default()
                };
                let model = ElmanWeights::init(&config, 3).to_module(&device);
                let sequences = Sequences::new(&data, &device);
                let layer = evaluate_by(&model, &sequences, Way::Layer, BATCH);
                let steps = evaluate_by(&model, &sequences, Way::Steps, BATCH);
                assert!(steps > 1e-3, "{cell:?} {bias}: {steps}");
                assert!(
                    (layer - steps).abs() < 1e-5 * steps,
                    "{cell:?} {bias}: layer {layer} vs steps {steps}"
                );
                assert_eq!(evaluate(&model, &data), layer, "{cell:?} {bias}");
            }
        }
    }

    /// A slab is cut into batches of the size asked for: 600 sequences in 256, 256 and 88, a
    /// slab of 256 whole, and each whole for a size beyond them.
    #[test]
    fn slabs_are_cut_into_batches() {
        let data = crate::testing::sines(856, 5, 1);
        let sequences = Sequences::in_slabs(&data, &Device::flex(), 600);
        let sizes = |size| -> Vec<usize> {
            sequences
                .batches(size)
                .iter()
                .map(|(inputs, targets)| {
                    assert_eq!(inputs.dims()[0], targets.dims()[0]);
                    inputs.dims()[0]
                })
                .collect()
        };
        assert_eq!(sizes(256), [256, 256, 88, 256]);
        assert_eq!(sizes(usize::MAX), [600, 256]);
    }

    /// The batch sizes: a whole slab in one launch; 256 sequences off a card; on a card the
    /// bench's 1,024 waves of 64 steps at hidden 256 in one batch, 4,096 at hidden 64, and
    /// never fewer than 256 (hidden 256, 1,000 steps).
    #[test]
    fn batch_sizes() {
        assert_eq!(batch_size(Way::OneLaunch, true, 64, 64), usize::MAX);
        assert_eq!(batch_size(Way::OneLaunch, false, 64, 64), usize::MAX);
        assert_eq!(batch_size(Way::Recurrence, false, 64, 256), 256);
        assert_eq!(batch_size(Way::Steps, false, 64, 6), 256);
        assert_eq!(batch_size(Way::Recurrence, true, 64, 256), 1024);
        assert_eq!(batch_size(Way::Steps, true, 64, 64), 4096);
        assert_eq!(batch_size(Way::Recurrence, true, 1000, 256), 256);
    }
}
