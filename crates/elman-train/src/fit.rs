//! The training loop, written once for every backend: [`fit`] for mini-batches with truncated
//! BPTT and validation, [`train`] for the tutorial's run. How an epoch's windows are computed
//! is `paths.rs`', chosen once before the loop.

use burn::data::dataset::Dataset;
use burn::data::dataset::InMemDataset;
use burn::data::dataset::transform::ShuffledDataset;
use burn::prelude::*;
use elman_data::{SequenceDataset, SineDataset};
use elman_model::{Cell, ElmanWeights, kernel};

use crate::checks::check;
use crate::paths::Path;
use crate::state::{EpochReport, Next, Progress, Snapshot, Start, TrainReport};
use crate::{GradientPath, Sequences, StopReason, TrainConfig, TrainError, evaluate_on};

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
    let like = start.weights().clone();
    let path = config.gradient_path_for(&like.config());
    // The device the networks of the report go to, and the one the run computes on.
    let requested = device.clone().without_autodiff();
    let device = run_device(path, like.cell, like.config().d_hidden, device).autodiff();
    // The validation sequences go to the device once, not at every epoch.
    let valid = valid
        .filter(|v| !v.is_empty())
        .map(|v| Sequences::new(v, &device.clone().without_autodiff()));

    let first = start.epoch();
    let mut run = Progress::new(start, config, &device);
    let mut epochs = Path::choose(
        path,
        config,
        train,
        valid.is_some(),
        &run.optim,
        &like,
        &device,
    );
    // A resumed run that early stopping had ended stays ended.
    let mut stop = (first > 0)
        .then_some(config.early_stopping)
        .flatten()
        .and_then(|stopping| stopping.stop(&run.valid_losses));
    for epoch in first..config.n_epochs {
        if stop.is_some() {
            break;
        }
        let lr = config
            .schedule
            .lr(config.lr, epoch, config.n_epochs, &run.valid_losses);
        // Every window: forward, loss, backward, update; the window losses on the host.
        let order = order(train.len(), config.shuffle_seed, epoch);
        let ran = epochs.epoch(
            &mut run.model,
            &mut run.optim,
            train,
            config,
            &order,
            epoch,
            lr,
        );
        if let Some((step, &loss)) = ran.losses.iter().enumerate().find(|(_, l)| !l.is_finite()) {
            return Err(TrainError::NonFiniteLoss { epoch, step, loss });
        }

        // Validate, and keep the best network.
        let loss = config.loss.epoch(&ran.losses);
        let valid_loss = valid.as_ref().map(|valid| evaluate_on(&run.model, valid));
        run.record(epoch, loss, valid_loss);

        // Stop early when the validation loss has stopped improving.
        stop = config
            .early_stopping
            .and_then(|stopping| stopping.stop(&run.valid_losses));

        // Report; the callback may stop the run.
        let last = stop.is_some() || epoch + 1 == config.n_epochs;
        let report = EpochReport {
            epoch,
            loss,
            valid_loss,
            updates: ran.losses.len(),
            lr,
            last,
        };
        if on_epoch(&report, &run.snapshot(epoch + 1, ran.weights.as_ref())).stops() && !last {
            stop = Some(StopReason::Stopped { epoch });
        }
    }
    epochs.settle(&mut run.model);
    Ok(run.report(path, stop.unwrap_or(StopReason::Completed), &requested))
}

/// The device a run on `device` computes on: the host's Flex device for a gated cell's layer on
/// a GPU whose kernels do not serve its width (its window there is a dozen launches a step,
/// where Flex fuses a step's gates into one loop), `device` otherwise.
fn run_device(path: GradientPath, cell: Cell, d_hidden: usize, device: &Device) -> Device {
    match (path, cell) {
        (GradientPath::Layer, Cell::Lstm | Cell::Gru)
            if !kernel::gated_kernels_available(device, d_hidden) =>
        {
            kernel::host_for_steps(device).unwrap_or_else(|| device.clone())
        }
        _ => device.clone(),
    }
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

#[cfg(test)]
mod tests;
