//! A Burn user's own model with an elman layer: `ElmanLayer` (the tutorial's cell with a bias)
//! under a `burn::nn::Linear` head, trained with `burn::optim::AdamConfig` and
//! `GradientsParams::from_grads` to predict the next point of 32 sine waves.
//!
//! `cargo run -p elman-model --example burn_layer -- [flex|ndarray|wgpu]` (default `flex`). It
//! first holds the layer's gradients to the step-by-step reference (`ElmanLayer::forward_steps`
//! under autodiff), then trains and checks that the loss falls; either failing is an `error:`
//! line and exit code 2.

use std::process::ExitCode;

use burn::nn::loss::{MseLoss, Reduction};
use burn::nn::{Linear, LinearConfig};
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use elman_model::{ElmanLayer, ElmanLayerConfig, LayerError};

/// The user's model: a recurrent layer and a linear read-out of every step's context.
#[derive(Module, Debug)]
struct Forecaster {
    rnn: ElmanLayer,
    head: Linear,
}

impl Forecaster {
    fn new(d_hidden: usize, device: &Device) -> Self {
        Self {
            // W1's scale for 16 neurons: the tutorial's 0.4 suits its 6 (a recurrent weight
            // matrix's spectral radius about 0.4·√d_hidden, kept below 1).
            rnn: ElmanLayerConfig {
                w1_std: 0.2,
                ..ElmanLayerConfig::new(1, d_hidden).with_bias(true)
            }
            .init(42, device),
            head: LinearConfig::new(d_hidden, 1).init(device),
        }
    }

    /// The next point's prediction at every step, through the layer's one-operation window
    /// (`steps = false`) or its steps one by one.
    fn forward(&self, x: Tensor<3>, steps: bool) -> Result<Tensor<3>, LayerError> {
        let (contexts, _) = if steps {
            self.rnn.forward_steps(x, None)?
        } else {
            self.rnn.forward(x, None)?
        };
        Ok(self.head.forward(contexts))
    }
}

/// 32 waves of 48 steps, `sin(ω t + φ)` with their own frequency and phase: inputs and the
/// next points, `[32, 48, 1]` each.
fn waves(device: &Device) -> (Tensor<3>, Tensor<3>) {
    let (batch, steps) = (32, 48);
    let point = |b: usize, t: usize| {
        let (omega, phase) = (0.15 + 0.01 * b as f32, 0.4 * b as f32);
        (omega * t as f32 + phase).sin()
    };
    let series = |shift: usize| {
        let values: Vec<f32> = (0..batch)
            .flat_map(|b| (0..steps).map(move |t| point(b, t + shift)))
            .collect();
        Tensor::from_data(TensorData::new(values, [batch, steps, 1]), device)
    };
    (series(0), series(1))
}

fn device(name: &str) -> Result<Device, String> {
    match name {
        "flex" => Ok(Device::flex()),
        #[allow(deprecated)] // NdArray stays one of elman's backends
        "ndarray" => Ok(Device::ndarray()),
        "wgpu" => Ok(Device::wgpu(DeviceKind::DefaultDevice)),
        other => Err(format!(
            "unknown backend `{other}` (use flex, ndarray or wgpu)"
        )),
    }
}

/// The largest difference between `a` and `b` relative to `b`'s largest value.
fn relative_difference(a: Tensor<2>, b: Tensor<2>) -> f32 {
    let scale: f32 = b.clone().abs().max().into_scalar();
    let difference: f32 = (a - b).abs().max().into_scalar();
    difference / scale.max(f32::MIN_POSITIVE)
}

fn run(backend: &str) -> Result<(), String> {
    let device = device(backend)?.autodiff();
    device.seed(42);
    let (x, y) = waves(&device);
    let mut model = Forecaster::new(16, &device);
    let mse = MseLoss::new();
    let loss_of = |model: &Forecaster, steps: bool| -> Result<Tensor<1>, String> {
        let predicted = model.forward(x.clone(), steps).map_err(|e| e.to_string())?;
        Ok(mse.forward(predicted, y.clone(), Reduction::Mean))
    };

    // The layer's hand-written backward pass against autodiff through its steps.
    let fused = GradientsParams::from_grads(loss_of(&model, false)?.backward(), &model);
    let steps = GradientsParams::from_grads(loss_of(&model, true)?.backward(), &model);
    for (what, id) in [
        ("rnn.w1", model.rnn.w1.id),
        ("head.weight", model.head.weight.id),
    ] {
        let (a, b) = (fused.get::<2>(id), steps.get::<2>(id));
        let (Some(a), Some(b)) = (a, b) else {
            return Err(format!("no gradient for {what}"));
        };
        // The Flex loops' tanh is a vectorized approximation (within 1e-6), Burn's under
        // autodiff the library's.
        let difference = relative_difference(a, b);
        println!(
            "gradient of {what}: one operation and steps differ by at most {difference:.1e} of its largest value"
        );
        if difference > 1e-4 {
            return Err(format!("the gradients of {what} differ by {difference}"));
        }
    }

    let mut optim = AdamConfig::new().init();
    let mut first = None;
    let mut last = f32::NAN;
    for step in 0..=150 {
        let loss = loss_of(&model, false)?;
        last = loss.clone().into_scalar();
        if !last.is_finite() {
            return Err(format!("the loss diverged at step {step}"));
        }
        first.get_or_insert(last);
        if step % 25 == 0 {
            println!("step {step:>3}  mse {last:.6}");
        }
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(1e-2, model, grads);
    }
    let first = first.expect("a first step");
    println!("{backend}: mse {first:.4} -> {last:.6}");
    if last > first / 20.0 {
        return Err(format!(
            "the loss fell only from {first} to {last} (less than 20 times)"
        ));
    }
    Ok(())
}

fn main() -> ExitCode {
    let backend = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "flex".to_string());
    match run(&backend) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::from(2)
        }
    }
}
