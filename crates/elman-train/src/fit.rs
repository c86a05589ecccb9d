//! The training loop, written once for every backend: [`fit`] for mini-batches with truncated
//! BPTT and validation, [`train`] for the tutorial's run.

use burn::data::dataset::Dataset;
use burn::data::dataset::InMemDataset;
use burn::data::dataset::transform::ShuffledDataset;
use burn::prelude::*;
use elman_data::{SequenceDataset, SineDataset};
use elman_model::{Cell, Elman, ElmanWeights, kernel};

use crate::optim::Optimizer;
use crate::state::{EpochReport, Next, Snapshot, SnapshotModel, Start, TrainReport};
use crate::{
    GradientPath, Sequences, StopReason, TrainConfig, TrainError, autodiff, bptt, epochs,
    evaluate_on, fused,
};

/// Trains the tutorial's way: the network that starts from `weights`, on the one sine wave of
/// `data`, with `config` (the tutorial's is [`TrainConfig::default`]).
///
/// `on_epoch` is called after every epoch with that epoch's summed loss.
pub fn train(
    weights: &ElmanWeights,
    data: &SineDataset,
    config: &TrainConfig,
    device: &Device,
    mut on_epoch: impl FnMut(EpochReport),
) -> Result<TrainReport, TrainError> {
    let sequences = SequenceDataset::from_tutorial(data);
    let start = Start::Fresh(weights.clone());
    fit(start, &sequences, None, config, device, |report, _| {
        on_epoch(*report)
    })
}

/// Trains the network from `start` on `train`, reporting the mean squared error on `valid`
/// after every epoch when it holds sequences.
///
/// `on_epoch` is called after every epoch with its report and a [`Snapshot`] of the run; what it
/// returns says whether the run goes on ([`Next`]): a callback that returns nothing never stops
/// it.
pub fn fit<N: Next>(
    start: Start,
    train: &SequenceDataset,
    valid: Option<&SequenceDataset>,
    config: &TrainConfig,
    device: &Device,
    mut on_epoch: impl FnMut(&EpochReport, &Snapshot<'_>) -> N,
) -> Result<TrainReport, TrainError> {
    // Check the settings, the weights and the data before any work.
    check(&start, train, valid, config)?;
    let valid = valid.filter(|v| !v.is_empty());
    let model_config = start.weights().config();
    // The weights' shapes and kind, for weights that come back to the host.
    let like = start.weights().clone();
    let path = config.gradient_path_for(&model_config);
    // The device the networks of the report go to, and the one the run computes on.
    let (requested, device) = (
        device.clone().without_autodiff(),
        &run_device(path, model_config.cell, device),
    );

    // The validation sequences go to the device once, not at every epoch.
    let valid = valid.map(|valid| Sequences::new(valid, &device.clone().without_autodiff()));

    // The model and the optimizer, fresh or as the saved state left them.
    let device = device.clone().autodiff();
    let first_epoch = start.epoch();
    let (mut model, mut optim, mut losses, mut valid_losses, mut best) = match start {
        Start::Fresh(weights) => (
            weights.to_module(&device),
            Optimizer::new(config),
            Vec::new(),
            Vec::new(),
            None,
        ),
        Start::Resume(state) => (
            state.weights.to_module(&device),
            Optimizer::resume(config, &state.optimizer, &device),
            state.losses,
            state.valid_losses,
            state
                .best
                .map(|(epoch, w)| (epoch, w.to_module(&device).valid())),
        ),
    };

    let steps = match path {
        GradientPath::Fused => fused::steps(train, model_config.d_hidden, &device),
        GradientPath::HandBptt | GradientPath::Autodiff => Vec::new(),
    };

    // A resumed run that early stopping had ended stays ended.
    let mut stop = match config.early_stopping {
        Some(stopping) if first_epoch > 0 => stopping.stop(&valid_losses),
        _ => None,
    };
    let end = if stop.is_some() {
        first_epoch
    } else {
        config.n_epochs
    };
    let chunked = epochs::apply(
        path,
        config,
        train,
        valid.is_some(),
        &optim,
        &model_config,
        &device,
    );
    let mut epoch = first_epoch;
    'run: while epoch < end {
        // How many epochs this round runs: several in one kernel call where they can, else one.
        let count = if chunked {
            epochs::PER_CALL.min(end - epoch)
        } else {
            1
        };
        // The epochs' learning rates, from the schedule and the validation losses so far (a
        // round of several epochs validates none).
        let lrs: Vec<f64> = (epoch..epoch + count)
            .map(|e| {
                config
                    .schedule
                    .lr(config.lr, e, config.n_epochs, &valid_losses)
            })
            .collect();

        // Forward, backward and update over the round: each epoch's window losses and, from a
        // kernel call of several epochs, the weights after it.
        let round: Vec<(Vec<f32>, Option<ElmanWeights>)> = if chunked {
            let (weights, ran) = epochs::run(weights_of(&model), &steps[0], &lrs, config, &like);
            set_weights(&mut model, weights);
            ran.into_iter()
                .map(|e| (e.losses, Some(e.weights)))
                .collect()
        } else {
            optim.set_lr(lrs[0]);
            // This epoch's order of the sequences.
            let order = order(train.len(), config.shuffle_seed, epoch);
            // By the configuration's path.
            let window_losses = match path {
                GradientPath::Fused => {
                    let scale = config.loss.output_scale(model_config.d_output);
                    let (weights, residuals) = fused::epoch(
                        weights_of(&model),
                        &mut optim,
                        &order,
                        &steps,
                        scale,
                        config.kernels,
                    );
                    set_weights(&mut model, weights);
                    // Sync point: the epoch's residuals come to the host at once.
                    let residuals = read(Tensor::cat(residuals, 0));
                    residuals
                        .chunks(model_config.d_output)
                        .map(|r| {
                            let squares: f32 = r.iter().map(|r| r * r).sum();
                            config.loss.of_squares_host(squares, model_config.d_output)
                        })
                        .collect()
                }
                GradientPath::HandBptt => {
                    let plain = device.clone().without_autodiff();
                    let (weights, losses) = bptt::epoch(
                        weights_of(&model),
                        &mut optim,
                        &order,
                        train,
                        config,
                        model.cell,
                        &plain,
                    );
                    set_weights(&mut model, weights);
                    // Sync point: every update's loss at once.
                    update_losses(losses)
                }
                GradientPath::Autodiff => {
                    let losses =
                        autodiff::epoch(&mut model, &mut optim, &order, train, config, &device);
                    // Sync point: every update's loss at once.
                    update_losses(losses)
                }
            };
            vec![(window_losses, None)]
        };

        let first = epoch;
        for ((window_losses, after), (epoch, lr)) in round.into_iter().zip((first..).zip(lrs)) {
            if after.is_some() {
                optim.set_lr(lr);
                optim.count_steps(window_losses.len());
            }
            let updates = window_losses.len();
            if let Some((step, &loss)) = window_losses
                .iter()
                .enumerate()
                .find(|(_, loss)| !loss.is_finite())
            {
                return Err(TrainError::NonFiniteLoss { epoch, step, loss });
            }
            let loss = config.loss.epoch(&window_losses);
            losses.push(loss);

            // Validate, and keep the best network.
            let valid_loss = valid.as_ref().map(|valid| evaluate_on(&model, valid));
            if let Some(valid_loss) = valid_loss {
                valid_losses.push(valid_loss);
                if best
                    .as_ref()
                    .is_none_or(|(b, _)| valid_loss < valid_losses[*b])
                {
                    best = Some((epoch, model.valid()));
                }
            }

            // Stop early when the validation loss has stopped improving.
            stop = config
                .early_stopping
                .and_then(|stopping| stopping.stop(&valid_losses));

            // Report.
            let report = EpochReport {
                epoch,
                loss,
                valid_loss,
                updates,
                lr,
                last: stop.is_some() || epoch + 1 == config.n_epochs,
            };
            let snapshot = Snapshot {
                next_epoch: epoch + 1,
                model: match &after {
                    Some(weights) => SnapshotModel::Host(weights),
                    None => SnapshotModel::Device(&model),
                },
                optim: &optim,
                losses: &losses,
                valid_losses: &valid_losses,
                best: &best,
            };
            if on_epoch(&report, &snapshot).stops() && stop.is_none() && !report.last {
                stop = Some(StopReason::Stopped { epoch });
            }
            if stop.is_some() {
                // A run stopped within a round goes on from the epoch it stopped at.
                if let Some(weights) = after.filter(|_| epoch + 1 < first + count) {
                    set_weights(&mut model, on_device(&weights, &device));
                }
                break 'run;
            }
        }
        epoch += count;
    }

    Ok(TrainReport {
        losses,
        valid_losses,
        model: model.valid().to_device(&requested),
        best: best.map(|(epoch, best)| (epoch, best.to_device(&requested))),
        path,
        stop: stop.unwrap_or(StopReason::Completed),
    })
}

/// The device a run on `device` computes on: the host's Flex device for a gated cell's
/// hand-derived BPTT on a GPU (its loops run on the host, and its weights would go to the GPU
/// and back at every update: `configs/memory.toml`, 40 epochs on lavapipe, 9.2 ms an update
/// against 0.9 on Flex, release builds), `device` otherwise.
fn run_device(path: GradientPath, cell: Cell, device: &Device) -> Device {
    match (path, cell) {
        (GradientPath::HandBptt, Cell::Lstm | Cell::Gru) => {
            kernel::host_for_steps(device).unwrap_or_else(|| device.clone())
        }
        _ => device.clone(),
    }
}

/// The checks [`fit`] makes before it trains.
fn check(
    start: &Start,
    train: &SequenceDataset,
    valid: Option<&SequenceDataset>,
    config: &TrainConfig,
) -> Result<(), TrainError> {
    if !(config.lr.is_finite() && config.lr > 0.0) {
        return Err(TrainError::InvalidLearningRate(config.lr));
    }
    if let Some(clip) = config.grad_clip
        && !(clip.is_finite() && clip > 0.0)
    {
        return Err(TrainError::InvalidGradClip(clip));
    }
    for (name, value) in [
        ("the number of epochs", config.n_epochs),
        ("the batch size", config.batch_size),
        ("bptt", config.bptt),
    ] {
        if value == 0 {
            return Err(TrainError::Zero(name));
        }
    }
    if train.is_empty() {
        return Err(TrainError::NoData);
    }
    let validated = valid.is_some_and(|v| !v.is_empty());
    if config.schedule.needs_validation() && !validated {
        return Err(TrainError::NeedsValidation("the plateau schedule"));
    }
    if let Some(stopping) = config.early_stopping {
        if !validated {
            return Err(TrainError::NeedsValidation("early stopping"));
        }
        if stopping.patience == 0 || !(stopping.min_delta.is_finite() && stopping.min_delta >= 0.0)
        {
            return Err(TrainError::Schedule(format!(
                "early stopping needs a patience of at least 1 and a finite min_delta of at least 0, got {} and {}",
                stopping.patience, stopping.min_delta
            )));
        }
    }
    match config.schedule {
        crate::Schedule::Constant => {}
        crate::Schedule::Cosine { lr_min } | crate::Schedule::Plateau { lr_min, .. }
            if !(lr_min.is_finite() && lr_min >= 0.0 && lr_min <= config.lr) =>
        {
            return Err(TrainError::Schedule(format!(
                "the schedule's lr_min must be a finite number from 0 to the learning rate {}, got {lr_min}",
                config.lr
            )));
        }
        crate::Schedule::Plateau {
            factor, patience, ..
        } if !(factor > 0.0 && factor < 1.0) || patience == 0 => {
            return Err(TrainError::Schedule(format!(
                "the plateau schedule needs a factor above 0 and below 1 and a patience of at least 1, got {factor} and {patience}"
            )));
        }
        _ => {}
    }
    start.weights().validate()?;
    if let Start::Resume(state) = start {
        state.check(config.optimizer)?;
    }
    let model_config = start.weights().config();
    for data in std::iter::once(train).chain(valid) {
        if (data.d_input(), data.d_output()) != (model_config.d_input, model_config.d_output) {
            return Err(TrainError::DataShape {
                data_input: data.d_input(),
                data_output: data.d_output(),
                d_input: model_config.d_input,
                d_output: model_config.d_output,
            });
        }
    }
    Ok(())
}

/// The order of `len` sequences in `epoch`: as they are, or shuffled by Burn's
/// `ShuffledDataset` with a seed derived from `seed` and the epoch.
fn order(len: usize, seed: Option<u64>, epoch: usize) -> Vec<usize> {
    match seed {
        Some(seed) => {
            let indices = InMemDataset::new((0..len).collect::<Vec<usize>>());
            let shuffled = ShuffledDataset::new(indices, seed.wrapping_add(epoch as u64));
            (0..shuffled.len())
                .map(|i| shuffled.get(i).expect("in range"))
                .collect()
        }
        None => (0..len).collect(),
    }
}

/// Each update's loss from tensors whose values add up to it (one value each, or a window's
/// terms), read back in one go and added on the host in `f64`.
pub(crate) fn update_losses(losses: Vec<Tensor<1>>) -> Vec<f32> {
    let lengths: Vec<usize> = losses.iter().map(|l| l.dims()[0]).collect();
    let values = read(Tensor::cat(losses, 0));
    let mut rest = values.as_slice();
    lengths
        .into_iter()
        .map(|n| {
            let (terms, after) = rest.split_at(n);
            rest = after;
            terms.iter().map(|&v| f64::from(v)).sum::<f64>() as f32
        })
        .collect()
}

/// A float tensor's values on the host.
pub(crate) fn read<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    tensor
        .into_data()
        .try_into_vec_as::<f32>()
        .expect("float tensor data")
}

/// The model's weights as plain tensors (no autodiff), for the paths that compute gradients by
/// hand.
fn weights_of(model: &Elman) -> [Tensor<2>; 2] {
    [
        model.w1.val().without_autodiff(),
        model.w2.val().without_autodiff(),
    ]
}

/// Host weights as plain tensors on `device`'s backend, for [`set_weights`].
fn on_device(weights: &ElmanWeights, device: &Device) -> [Tensor<2>; 2] {
    let device = device.clone().without_autodiff();
    [
        Tensor::from_data(
            TensorData::new(weights.w1.clone(), weights.w1_shape),
            &device,
        ),
        Tensor::from_data(
            TensorData::new(weights.w2.clone(), weights.w2_shape),
            &device,
        ),
    ]
}

/// Puts the weights a hand-derived path computed back into the (autodiff) model, as tensors
/// that do not require gradients: a `require_grad` tensor registers a leaf with Burn's autodiff
/// that only a backward pass releases, and these paths never run one (that held about 6 KB per
/// epoch for good, and took almost half the tutorial's time on Flex).
fn set_weights(model: &mut Elman, [w1, w2]: [Tensor<2>; 2]) {
    model.w1 = model.w1.clone().map(|_| w1.autodiff());
    model.w2 = model.w2.clone().map(|_| w2.autodiff());
}

#[cfg(test)]
mod tests;
