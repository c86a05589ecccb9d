//! The gradients through Burn's autodiff: per window the network's forward pass, the loss,
//! `loss.backward()` and an update from the recorded gradients. The forward pass is the layer's
//! one differentiable operation per window ([`Elman::forward`], whose backward pass is written
//! by hand in `elman-model`), or, as the tutorial teaches, the steps one by one
//! ([`Elman::forward_steps`], every operation recorded).

use burn::prelude::*;
use elman_data::{SequenceBatcher, SequenceDataset};
use elman_model::{Elman, ElmanState};

use crate::TrainConfig;
use crate::optim::Optimizer;

/// How a window's forward pass runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Forward {
    /// The layer: the window's recurrence in one operation.
    Layer,
    /// [`Elman::step`] a step at a time.
    Steps,
}

/// One epoch through Burn's autodiff: mini-batches of the sequences `order`, each cut into
/// truncated-BPTT windows. Returns each window's loss, still on the device.
pub(crate) fn epoch(
    model: &mut Elman,
    optim: &mut Optimizer,
    order: &[usize],
    train: &SequenceDataset,
    config: &TrainConfig,
    forward: Forward,
) -> Vec<Tensor<1>> {
    let device = model.w1.device();
    let batcher = SequenceBatcher::for_dataset(train);
    let seq_len = train.seq_len();
    let d_output = train.d_output();
    let d_hidden = model.d_hidden();
    let mut window_losses = Vec::new();
    for indices in order.chunks(config.batch_size) {
        let items: Vec<_> = indices.iter().map(|&i| train.get_ref(i)).collect();
        let batch = batcher.stack(&items, &device);
        let size = indices.len();
        let mut state = ElmanState::zeros(size, d_hidden, &device);
        for window in (0..seq_len).step_by(config.bptt) {
            let end = (window + config.bptt).min(seq_len);

            // Forward through the window.
            let inputs = batch.inputs.clone().slice(s![.., window..end, ..]);
            let targets = batch.targets.clone().slice(s![.., window..end, ..]);
            let (outputs, next) = match forward {
                Forward::Layer => model
                    .forward(inputs, Some(state))
                    .expect("fit checked the data's widths against the network's"),
                Forward::Steps => model.forward_steps(inputs, state),
            };
            let squares = (outputs - targets).square().sum();
            let loss = config
                .loss
                .of_squares(squares, (end - window) * size * d_output);
            window_losses.push(loss.clone().detach());

            // Backward.
            let grads = loss.backward();

            // Update; the gradients are dropped with `grads`.
            *model = optim.step(model.clone(), &grads);

            // The context carries on into the next window without its history.
            state = next.detach();
        }
    }
    window_losses
}

#[cfg(test)]
mod tests;
