//! The `layer-*` workloads: what a Burn user gets from a recurrent layer in a model of their
//! own, a layer and a `burn::nn::Linear` head trained by Burn's autodiff and
//! `burn::optim::Adam` (`GradientsParams::from_grads`, `ModuleOptimizer::step`), full BPTT over
//! 1,024 waves of 64 steps in batches of 256, the MSE of the next point: training sequences per
//! second, the best of at least five epochs after one to warm up, timed alike for elman's
//! `ElmanLayer` (path `elman`) and `burn::nn`'s `Rnn`, `Lstm` and `Gru` (path `burn-nn`); and
//! the same model's inference over the waves (workload `layer-*-inference`).

use std::time::Instant;

use burn::nn::loss::{MseLoss, Reduction};
use burn::nn::{GruConfig, Linear, LinearConfig, LstmConfig, RnnConfig};
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use elman_data::{SequenceBatcher, SineWaves};
use elman_model::{Cell, ElmanLayer, ElmanLayerConfig};

/// A recurrent layer of either library (one per run, so the variants' sizes do not matter, and
/// Burn's `Module` derive takes no boxed layer).
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
enum Recurrent {
    Elman(ElmanLayer),
    Rnn(burn::nn::Rnn),
    Lstm(burn::nn::Lstm),
    Gru(burn::nn::Gru),
}

/// The user's model: the layer, then the head on every step's context.
#[derive(Module, Debug)]
struct Model {
    layer: Recurrent,
    head: Linear,
}

impl Model {
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let contexts = match &self.layer {
            Recurrent::Elman(layer) => layer.forward(x, None).expect("the batch fits").0,
            Recurrent::Rnn(layer) => layer.forward(x, None).0,
            Recurrent::Lstm(layer) => layer.forward(x, None).0,
            Recurrent::Gru(layer) => layer.forward(x, None),
        };
        self.head.forward(contexts)
    }
}

/// The cell and the width a `layer-*` workload names: `layer-elman`, `layer-lstm`,
/// `layer-gru` at hidden 64, the same with `-256` at hidden 256.
pub fn workload(name: &str) -> Option<(Cell, usize)> {
    let (cell, hidden) = match name.strip_suffix("-256") {
        Some(cell) => (cell, 256),
        None => (name, 64),
    };
    let cell = match cell {
        "layer-elman" => Cell::Elman,
        "layer-lstm" => Cell::Lstm,
        "layer-gru" => Cell::Gru,
        _ => return None,
    };
    Some((cell, hidden))
}

/// The 1,024 waves of 64 steps in batches of 256 (inputs, next points), put on `device` once.
fn batches(device: &Device) -> (usize, Vec<(Tensor<3>, Tensor<3>)>) {
    let waves = SineWaves {
        n_series: 1024,
        seq_len: 64,
        ..SineWaves::default()
    }
    .generate();
    let batcher = SequenceBatcher::for_dataset(&waves);
    let all: Vec<_> = waves.iter().collect();
    let batches = all
        .chunks(256)
        .map(|chunk| {
            let batch = batcher.stack(chunk, device);
            (batch.inputs, batch.targets)
        })
        .collect();
    (waves.len(), batches)
}

/// `cell`'s layer, elman's (`burn_nn = false`) or `burn::nn`'s, with biases (as `burn::nn`'s
/// layers have), and the head, on `device`.
fn model(device: &Device, cell: Cell, d_hidden: usize, burn_nn: bool) -> Model {
    let layer = match (cell, burn_nn) {
        (_, false) => Recurrent::Elman(
            ElmanLayerConfig::new(1, d_hidden)
                .with_cell(cell)
                .with_bias(true)
                .init(1, device),
        ),
        (Cell::Elman, true) => Recurrent::Rnn(RnnConfig::new(1, d_hidden, true).init(device)),
        (Cell::Lstm, true) => Recurrent::Lstm(LstmConfig::new(1, d_hidden, true).init(device)),
        (Cell::Gru, true) => Recurrent::Gru(GruConfig::new(1, d_hidden, true).init(device)),
    };
    Model {
        layer,
        head: LinearConfig::new(d_hidden, 1).init(device),
    }
}

/// The shortest time of `pass` (a pass over the waves, giving its summed loss, read here: the
/// end of the pass's work), the best of at least five after one to warm up.
fn best_seconds(mut pass: impl FnMut() -> Tensor<1>) -> f64 {
    let all = Instant::now();
    let (mut best, mut passes) = (f64::MAX, 0);
    while passes == 0 || super::another(passes - 1, all) {
        let started = Instant::now();
        let total: f32 = pass().into_scalar();
        assert!(total.is_finite(), "the loss is not finite");
        if passes > 0 {
            best = best.min(started.elapsed().as_secs_f64());
        }
        passes += 1;
    }
    best
}

/// Training sequences per second of `cell`'s layer, elman's or `burn::nn`'s (see [`model`]),
/// on `device` under autodiff: epochs timed by [`best_seconds`].
pub fn train(device: &Device, cell: Cell, d_hidden: usize, burn_nn: bool) -> f64 {
    let device = device.clone().autodiff();
    let (waves, batches) = batches(&device);
    // Held in an `Option` so that each step takes the model whole: a clone would share its
    // tensors, and Adam would copy them where it updates them in place.
    let mut model = Some(model(&device, cell, d_hidden, burn_nn));
    let mut optim = AdamConfig::new().init();
    let mse = MseLoss::new();
    let best = best_seconds(|| {
        let mut total = Tensor::<1>::zeros([1], &device);
        for (x, y) in &batches {
            let current = model.take().expect("each step puts the model back");
            let loss = mse.forward(current.forward(x.clone()), y.clone(), Reduction::Mean);
            total = total + loss.clone().detach();
            let grads = GradientsParams::from_grads(loss.backward(), &current);
            model = Some(optim.step(1e-3, current, grads));
        }
        total
    });
    waves as f64 / best
}

/// Inference sequences per second of the same model on `device` without autodiff: the forward
/// and the MSE of every batch, summed and read once at the end of a pass (as the PyTorch and JAX
/// scripts read theirs), passes timed by [`best_seconds`].
pub fn infer(device: &Device, cell: Cell, d_hidden: usize, burn_nn: bool) -> f64 {
    let (waves, batches) = batches(device);
    let model = model(device, cell, d_hidden, burn_nn);
    let mse = MseLoss::new();
    let best = best_seconds(|| {
        let mut total = Tensor::<1>::zeros([1], device);
        for (x, y) in &batches {
            total = total + mse.forward(model.forward(x.clone()), y.clone(), Reduction::Mean);
        }
        total
    });
    waves as f64 / best
}
