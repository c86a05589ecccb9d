//! Tests of the loop: the first case by hand, then errors, windows, batches, resume and shuffling.

use burn::prelude::*;
use elman_data::{SequenceDataset, SineDataset};
use elman_model::{ElmanConfig, ElmanState, ElmanWeights};

use crate::testing::{fit_plain, sines, small_adam_run, to_vec};
use crate::{
    EarlyStopping, LossKind, OptimizerKind, Schedule, Start, StopReason, TrainConfig, TrainError,
    evaluate, fit, train,
};

/// With `W2 = 0` the prediction is 0 at every step, so the first epoch's loss is
/// `sum(y^2) / 2` before `W2` has moved; with lr tiny the whole epoch stays at that value.
#[test]
fn first_epoch_loss_with_zero_output_weights_is_half_the_sum_of_squares() {
    let data = SineDataset::tutorial();
    let mut weights = ElmanWeights::init(&ElmanConfig::default(), 0);
    weights.w2.iter_mut().for_each(|w| *w = 0.0);
    let config = TrainConfig {
        n_epochs: 1,
        lr: 1e-9,
        ..TrainConfig::default()
    };
    let report = train(&weights, &data, &config, &Device::flex(), |_| {}).unwrap();
    let expected: f64 = data
        .targets()
        .iter()
        .map(|&y| f64::from(y).powi(2))
        .sum::<f64>()
        / 2.0;
    assert!(
        (report.losses[0] - expected).abs() < 1e-5,
        "{} vs {expected}",
        report.losses[0]
    );
}

#[test]
fn divergence_names_the_epoch_and_step() {
    let data = SineDataset::tutorial();
    let weights = ElmanWeights::init(&ElmanConfig::default(), 1);
    let config = TrainConfig {
        n_epochs: 50,
        lr: 100.0,
        ..TrainConfig::default()
    };
    let mut epochs = 0;
    let err = train(&weights, &data, &config, &Device::flex(), |_| epochs += 1).unwrap_err();
    let TrainError::NonFiniteLoss { epoch, step, .. } = err else {
        panic!("expected a divergence, got {err}");
    };
    assert_eq!(
        epoch, epochs,
        "the diverging epoch is not reported as a loss"
    );
    assert!(step < data.seq_len());
    assert!(
        err.to_string()
            .contains(&format!("epoch {epoch}, step {step}"))
    );
}

#[test]
fn bad_learning_rate_is_refused_before_training() {
    let data = SineDataset::tutorial();
    let weights = ElmanWeights::init(&ElmanConfig::default(), 1);
    let config = TrainConfig {
        n_epochs: 1,
        lr: 0.0,
        ..TrainConfig::default()
    };
    let err = train(&weights, &data, &config, &Device::flex(), |_| {}).unwrap_err();
    assert_eq!(err, TrainError::InvalidLearningRate(0.0));
}

/// With a learning rate too small to move the weights, each window's loss is the MSE of
/// its steps, continuing from the context the previous window left: the mean over three
/// equal windows is then the MSE of the whole sequence run in one go. Resetting the context
/// at a border would change it.
#[test]
fn context_carries_across_window_borders() {
    let data = sines(4, 9, 3);
    let weights = ElmanWeights::init(&ElmanConfig::default(), 3);
    let config = TrainConfig {
        n_epochs: 1,
        lr: 1e-12,
        batch_size: 4,
        bptt: 3,
        loss: LossKind::Mse,
        ..TrainConfig::default()
    };
    let report = fit(
        Start::Fresh(weights.clone()),
        &data,
        None,
        &config,
        &Device::flex(),
        |r, _| assert_eq!(r.updates, 3),
    )
    .unwrap();
    let whole = evaluate(&weights.to_module(&Device::flex()), &data);
    assert!(
        (report.losses[0] - whole).abs() < 1e-6 * whole,
        "{} vs {whole}",
        report.losses[0]
    );
}

/// One window over the whole sequence is full backpropagation through time: the update
/// equals `w - lr * grad` of the summed loss of all steps, gradients flowing back through
/// every step's context. Windows of one step update differently.
#[test]
fn one_window_is_full_bptt() {
    let data = sines(1, 6, 8);
    let weights = ElmanWeights::init(&ElmanConfig::default(), 8);
    let device = Device::flex();
    let full = TrainConfig {
        n_epochs: 1,
        bptt: 6,
        ..TrainConfig::default()
    };
    let report = fit_plain(Start::Fresh(weights.clone()), &data, &full, &device);
    let trained = ElmanWeights::from_module(&report.model);

    // The same gradient, by hand: six steps, no detach, one backward.
    let ad = device.clone().autodiff();
    let model = weights.to_module(&ad);
    let item = data.get_ref(0);
    let mut state = ElmanState::zeros(1, 6, &ad);
    let mut loss = Tensor::<1>::zeros([1], &ad);
    for t in 0..6 {
        let x = Tensor::from_data(TensorData::new(vec![item.inputs[t]], [1, 1]), &ad);
        let y = Tensor::from_data(TensorData::new(vec![item.targets[t]], [1, 1]), &ad);
        let (pred, next) = model.step(x, state);
        state = next;
        loss = loss + (pred - y).square().sum().div_scalar(2.0);
    }
    let grads = loss.backward();
    let g1 = to_vec(model.w1.grad(&grads).unwrap());
    for (i, ((w, g), after)) in weights.w1.iter().zip(&g1).zip(&trained.w1).enumerate() {
        let expected = w - 0.1 * g;
        assert!(
            (expected - after).abs() < 1e-6,
            "w1[{i}]: {after} vs {expected}"
        );
    }

    let one_step = TrainConfig { bptt: 1, ..full };
    let report = fit_plain(Start::Fresh(weights.clone()), &data, &one_step, &device);
    assert_ne!(ElmanWeights::from_module(&report.model).w1, trained.w1);
}

#[test]
fn adam_in_batches_learns_many_sines_and_keeps_the_best() {
    let (train_set, valid) = sines(64, 16, 5).split(0.25);
    let weights = ElmanWeights::init(&ElmanConfig::default(), 5);
    let config = TrainConfig {
        n_epochs: 15,
        lr: 0.02,
        batch_size: 16,
        bptt: 8,
        optimizer: OptimizerKind::Adam,
        loss: LossKind::Mse,
        grad_clip: Some(1.0),
        shuffle_seed: Some(7),
        fused: true,
        ..TrainConfig::default()
    };
    let report = fit(
        Start::Fresh(weights.clone()),
        &train_set,
        Some(&valid),
        &config,
        &Device::flex(),
        |_, _| {},
    )
    .unwrap();
    let first = report.valid_losses[0];
    let last = *report.valid_losses.last().unwrap();
    assert!(last < first / 4.0, "validation MSE {first} -> {last}");
    let (best_epoch, best) = report.best.unwrap();
    let lowest = report.valid_losses.iter().cloned().fold(f64::MAX, f64::min);
    assert_eq!(report.valid_losses[best_epoch], lowest);
    assert!((evaluate(&best, &valid) - lowest).abs() < 1e-6);
}

/// Stopping after two epochs and resuming from the snapshot gives the same losses as the
/// uninterrupted run: the optimizer state, the shuffling and the history all carry over.
#[test]
fn resume_continues_exactly() {
    let (train_set, valid) = sines(24, 8, 6).split(0.25);
    let weights = ElmanWeights::init(&ElmanConfig::default(), 6);
    let config = small_adam_run(4);
    let device = Device::flex();
    let mut saved = None;
    let whole = fit(
        Start::Fresh(weights.clone()),
        &train_set,
        Some(&valid),
        &config,
        &device,
        |r, snap| {
            if r.epoch == 1 {
                saved = Some(snap.state());
            }
        },
    )
    .unwrap();
    let state = saved.unwrap();
    assert_eq!(state.next_epoch, 2);
    let resumed = fit(
        Start::Resume(state),
        &train_set,
        Some(&valid),
        &config,
        &device,
        |_, _| {},
    )
    .unwrap();
    assert_eq!(resumed.losses, whole.losses);
    assert_eq!(resumed.valid_losses, whole.valid_losses);
    assert_eq!(
        ElmanWeights::from_module(&resumed.model),
        ElmanWeights::from_module(&whole.model)
    );
}

/// An LSTM's run on a GPU computes on the host, where its windows run: the same losses,
/// validation losses and weights as on Flex to the last bit, and the networks it reports are on
/// the GPU. (Computed on the GPU, Adam's updates there differ from Flex's in the last bits.)
#[test]
fn an_lstm_on_a_gpu_runs_on_the_host() {
    let (train_set, valid) = sines(24, 8, 6).split(0.25);
    let model = ElmanConfig {
        cell: elman_model::Cell::Lstm,
        d_hidden: 5,
        ..ElmanConfig::default()
    };
    let weights = ElmanWeights::init(&model, 6);
    let config = small_adam_run(3);
    let gpu = Device::wgpu(DeviceKind::DefaultDevice);
    let run = |device: &Device| {
        let start = Start::Fresh(weights.clone());
        fit(start, &train_set, Some(&valid), &config, device, |_, _| {}).unwrap()
    };
    let (on_gpu, on_cpu) = (run(&gpu), run(&Device::flex()));
    assert_eq!(on_gpu.path, crate::GradientPath::Layer);
    assert_eq!(on_gpu.losses, on_cpu.losses);
    assert_eq!(on_gpu.valid_losses, on_cpu.valid_losses);
    assert_eq!(on_gpu.model.w1.device(), gpu);
    assert_eq!(on_gpu.best.as_ref().unwrap().1.w1.device(), gpu);
    assert_eq!(
        ElmanWeights::from_module(&on_gpu.model),
        ElmanWeights::from_module(&on_cpu.model)
    );
}

#[test]
fn the_same_shuffle_seed_gives_the_same_run() {
    let data = sines(12, 5, 2);
    let weights = ElmanWeights::init(&ElmanConfig::default(), 2);
    let config = TrainConfig {
        n_epochs: 2,
        batch_size: 3,
        shuffle_seed: Some(1),
        loss: LossKind::Mse,
        ..TrainConfig::default()
    };
    let run = |config: &TrainConfig| {
        fit_plain(
            Start::Fresh(weights.clone()),
            &data,
            config,
            &Device::flex(),
        )
        .losses
    };
    assert_eq!(run(&config), run(&config));
    let other = TrainConfig {
        shuffle_seed: Some(2),
        ..config
    };
    assert_ne!(run(&config), run(&other));
}

#[test]
fn data_of_the_wrong_width_is_refused() {
    let data = SequenceDataset::new(
        vec![elman_data::SequenceItem {
            inputs: vec![0.0; 4],
            targets: vec![0.0; 2],
        }],
        2,
        2,
        1,
    );
    let weights = ElmanWeights::init(&ElmanConfig::default(), 0);
    let err = fit(
        Start::Fresh(weights.clone()),
        &data,
        None,
        &TrainConfig::default(),
        &Device::flex(),
        |_, _| {},
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "the data has 2 inputs and 1 outputs per step, the network has 1 and 1"
    );
}

/// Early stopping with a `min_delta` no epoch can reach stops after `patience` epochs past
/// epoch 0, says so, marks that epoch the last, and a run resumed from it stays stopped.
/// The cosine schedule's rates are the ones reported.
#[test]
fn early_stopping_ends_the_run_and_stays_ended() {
    let (train_set, valid) = sines(24, 8, 6).split(0.25);
    let weights = ElmanWeights::init(&ElmanConfig::default(), 6);
    let config = TrainConfig {
        n_epochs: 10,
        lr: 0.01,
        batch_size: 6,
        bptt: 4,
        optimizer: OptimizerKind::Adam,
        loss: LossKind::Mse,
        schedule: Schedule::Cosine { lr_min: 0.001 },
        early_stopping: Some(EarlyStopping {
            patience: 3,
            min_delta: 1e9,
        }),
        ..TrainConfig::default()
    };
    let device = Device::flex();
    let mut reports = Vec::new();
    let mut saved = None;
    let report = fit(
        Start::Fresh(weights),
        &train_set,
        Some(&valid),
        &config,
        &device,
        |r, snapshot| {
            reports.push(*r);
            saved = Some(snapshot.state());
        },
    )
    .unwrap();
    let stop = StopReason::EarlyStopping {
        epoch: 3,
        best_epoch: 0,
        patience: 3,
    };
    assert_eq!(report.stop, stop);
    assert_eq!(report.losses.len(), 4);
    assert_eq!(
        reports.iter().map(|r| r.last).collect::<Vec<_>>(),
        [false, false, false, true]
    );
    assert!(stop.to_string().starts_with("stopped early after epoch 3"));
    for r in &reports {
        let expected = config.schedule.lr(0.01, r.epoch, 10, &[]);
        assert_eq!(r.lr, expected);
    }
    assert!(reports[3].lr < reports[0].lr);

    let resumed = fit(
        Start::Resume(saved.unwrap()),
        &train_set,
        Some(&valid),
        &config,
        &device,
        |_, _| -> () { panic!("a stopped run trained again") },
    )
    .unwrap();
    assert_eq!((resumed.stop, resumed.losses.len()), (stop, 4));

    let err = fit(
        Start::Fresh(ElmanWeights::init(&ElmanConfig::default(), 6)),
        &train_set,
        None,
        &config,
        &device,
        |_, _| {},
    )
    .unwrap_err();
    assert_eq!(err, TrainError::NeedsValidation("early stopping"));
}

/// A callback that breaks stops the run after that epoch, says so, and its losses are the
/// uninterrupted run's first ones; a callback that breaks on the last epoch changes nothing.
#[test]
fn the_callback_can_stop_the_run() {
    let data = sines(4, 6, 2);
    let weights = ElmanWeights::init(&ElmanConfig::default(), 2);
    let config = TrainConfig {
        n_epochs: 5,
        ..TrainConfig::default()
    };
    let device = Device::flex();
    let run = |stop_after: usize| {
        fit(
            Start::Fresh(weights.clone()),
            &data,
            None,
            &config,
            &device,
            |r, _| {
                if r.epoch == stop_after {
                    std::ops::ControlFlow::Break(())
                } else {
                    std::ops::ControlFlow::Continue(())
                }
            },
        )
        .unwrap()
    };
    let whole = run(usize::MAX);
    assert_eq!(whole.stop, StopReason::Completed);
    let stopped = run(1);
    assert_eq!(stopped.stop, StopReason::Stopped { epoch: 1 });
    assert_eq!(stopped.losses, whole.losses[..2]);
    assert_eq!(run(4).stop, StopReason::Completed);
}
