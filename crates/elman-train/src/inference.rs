//! Using a trained network, without autodiff: [`predict`] (one step ahead), [`trace`] (the
//! same, keeping the context) and [`generate`] (warm-up, then closed loop); the MSE over many
//! sequences is `evaluate.rs`'.
//!
//! An Elman network (with or without biases) whose width the recurrence kernel serves on its
//! device ([`kernel::recurrence_available`]) runs a whole sequence in one call of
//! [`kernel::recurrence_forward`] (one launch on a GPU, one loop on Flex), its outputs in one
//! product after; the closed loop too, through weights that fold the fed-back output into the
//! recurrence ([`closed_loop_weights`]). Other cells and devices go step by step through
//! [`Elman::step`], the reference the tests hold the kernel's way to, on the host's CPU where
//! the network lives on a GPU ([`kernel::host_for_steps`]: a launch a tensor operation costs
//! more there than the step).

use burn::prelude::*;
use elman_model::{Cell, Elman, ElmanState, kernel};

use crate::layout::{outputs, readout, split};

/// Why a network cannot run on the values it was handed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InferenceError {
    /// The inputs do not fill whole steps.
    #[error("{values} input values do not make whole steps of the network's {d_input} inputs")]
    PartialStep {
        /// Values handed in.
        values: usize,
        /// The network's inputs per step.
        d_input: usize,
    },
    /// Closed-loop generation feeds the output back as the input, so both must be one value.
    #[error(
        "a closed-loop forecast feeds each prediction back as the next input: the network has {d_input} inputs and {d_output} outputs, it needs 1 and 1"
    )]
    NotOneToOne {
        /// The network's inputs.
        d_input: usize,
        /// The network's outputs.
        d_output: usize,
    },
}

/// One-step-ahead predictions: from a zero context, feeds `inputs` one step at a time
/// (`d_input` values per step, step-major), carrying the context along, and returns the
/// `d_output` values predicted at each step.
pub fn predict(model: &Elman, inputs: &[f32]) -> Result<Vec<f32>, InferenceError> {
    Ok(run(model, inputs, false)?.outputs)
}

/// What the network did at each step of [`trace`].
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    /// The `d_output` values predicted at each step, step-major (as [`predict`] returns them).
    pub outputs: Vec<f32>,
    /// The context neurons after each step, `d_hidden` values per step, step-major.
    pub contexts: Vec<f32>,
}

/// [`predict`], also keeping the context neurons' activations after every step: what a reader
/// wants to see the network carry from step to step.
pub fn trace(model: &Elman, inputs: &[f32]) -> Result<Trace, InferenceError> {
    run(model, inputs, true)
}

/// Whether `model` (without autodiff) runs a sequence in one call of the recurrence kernel on
/// its device: the Elman cell, with or without biases, where the kernel serves its width.
fn in_kernel(model: &Elman) -> bool {
    model.cell == Cell::Elman && kernel::recurrence_available(&model.w1.device(), model.d_hidden())
}

/// The contexts `[h_1 … h_T]` (`[T, d_hidden]`) of the Elman network `model` over the inputs `x`
/// (`[T, d_input]`) from the context `h0` (`[1, d_hidden]`), with the input layer's weights `w1`
/// (`model`'s, or the closed loop's): one call of the recurrence kernel. With biases a constant 1
/// joins each step's inputs, as `W1`'s bias row expects.
fn contexts_in_kernel(model: &Elman, x: Tensor<2>, w1: Tensor<2>, h0: Tensor<2>) -> Tensor<2> {
    let steps = x.dims()[0];
    let x = if model.bias {
        let ones = Tensor::<2>::ones([steps, 1], &x.device());
        Tensor::cat(vec![x, ones], 1)
    } else {
        x
    };
    kernel::recurrence_forward(x, w1, h0).slice(s![1..steps + 1, ..])
}

/// The outputs `h · W2h (+ b2)` of the contexts `h`.
fn outputs_of(model: &Elman, h: Tensor<2>) -> Tensor<2> {
    let (w2h, b2) = readout(&model.w2.val(), model.d_hidden());
    outputs(h, &w2h, &b2)
}

/// The input layer's weights of the closed loop, in which each step's input is the previous
/// step's output, `x_t = y_{t-1} = h_{t-1} · W2h (+ b2)`: put into `x_t · W1x (+ W1b) + h_{t-1} ·
/// W1h`, a step is `h_t = tanh(h_{t-1} · (W1h + W2h · W1x) (+ b2 · W1x + W1b))`, the recurrence
/// of a network whose input is 0 (and with biases its constant 1), whose bias row is
/// `W1b + b2 · W1x` and whose recurrent weights are `W1h + W2h · W1x`. For a network of one
/// input and one output.
fn closed_loop_weights(model: &Elman) -> Tensor<2> {
    let (d_input, d_hidden) = (model.d_input(), model.d_hidden());
    let w1 = model.w1.val();
    let (w1_in, w1h) = split(&w1, d_input + usize::from(model.bias));
    let w1x = w1_in.clone().slice(s![0..d_input, ..]);
    let (w2h, b2) = readout(&model.w2.val(), d_hidden);
    let w1h = w1h + w2h.matmul(w1x.clone());
    match b2 {
        Some(b2) => {
            let w1b = w1_in.slice(s![d_input..d_input + 1, ..]) + b2.matmul(w1x.clone());
            Tensor::cat(vec![w1x, w1b, w1h], 0)
        }
        None => Tensor::cat(vec![w1x, w1h], 0),
    }
}

/// The forward pass from a zero context over `inputs`, the contexts kept when `keep` says.
fn run(model: &Elman, inputs: &[f32], keep: bool) -> Result<Trace, InferenceError> {
    let d_input = model.d_input();
    if !inputs.len().is_multiple_of(d_input) {
        return Err(InferenceError::PartialStep {
            values: inputs.len(),
            d_input,
        });
    }
    let steps = inputs.len() / d_input;
    let model = model.valid();
    let device = model.w1.device();
    let tensor = |device: &Device| {
        Tensor::<2>::from_data(TensorData::new(inputs.to_vec(), [steps, d_input]), device)
    };
    if steps > 0 && in_kernel(&model) {
        let zeros = Tensor::zeros([1, model.d_hidden()], &device);
        let h = contexts_in_kernel(&model, tensor(&device), model.w1.val(), zeros);
        return Ok(Trace {
            outputs: read_rows(vec![outputs_of(&model, h.clone())]),
            contexts: if keep { read_rows(vec![h]) } else { Vec::new() },
        });
    }
    let model = for_steps(model);
    let inputs = tensor(&model.w1.device());
    Ok(run_steps(&model, inputs, keep))
}

/// `model` where its steps run one by one: moved to the host if it lives on a GPU
/// ([`kernel::host_for_steps`]).
fn for_steps(model: Elman) -> Elman {
    match kernel::host_for_steps(&model.w1.device()) {
        Some(host) => model.to_device(&host),
        None => model,
    }
}

/// [`run`] step by step through [`Elman::step`], on `inputs` `[T, d_input]` on the device of
/// `model` (without autodiff).
fn run_steps(model: &Elman, inputs: Tensor<2>, keep: bool) -> Trace {
    let (steps, device) = (inputs.dims()[0], inputs.device());
    let mut state = ElmanState::zeros(1, model.d_hidden(), &device);
    let mut outputs = Vec::with_capacity(steps);
    let mut contexts = Vec::with_capacity(if keep { steps } else { 0 });
    for step in 0..steps {
        let (output, next) = model.step(inputs.clone().slice(s![step..step + 1, ..]), state);
        outputs.push(output);
        if keep {
            contexts.push(next.context.clone());
        }
        state = next;
    }
    Trace {
        outputs: read_rows(outputs),
        contexts: read_rows(contexts),
    }
}

/// Sync point: rows of outputs come to the host at once.
fn read_rows(mut rows: Vec<Tensor<2>>) -> Vec<f32> {
    let rows = match rows.len() {
        0 => return Vec::new(),
        1 => rows.remove(0),
        _ => Tensor::cat(rows, 0),
    };
    rows.into_data()
        .try_into_vec_as::<f32>()
        .expect("float outputs")
}

/// Closed-loop forecasting: warms the context up on `prefix` (from a zero context, one value per
/// step), then feeds each prediction back as the next input for `horizon` steps.
///
/// Returns the one-step-ahead predictions made during the warm-up (one per prefix value) and the
/// `horizon` forecast values. The first forecast value is the prediction after the last prefix
/// value, so it is also the warm-up's last prediction.
pub fn generate(
    model: &Elman,
    prefix: &[f32],
    horizon: usize,
) -> Result<(Vec<f32>, Vec<f32>), InferenceError> {
    let (d_input, d_output) = (model.d_input(), model.d_output());
    if (d_input, d_output) != (1, 1) {
        return Err(InferenceError::NotOneToOne { d_input, d_output });
    }
    let model = model.valid();
    let tensor = |device: &Device| {
        Tensor::<2>::from_data(TensorData::new(prefix.to_vec(), [prefix.len(), 1]), device)
    };
    if !prefix.is_empty() && in_kernel(&model) {
        let inputs = tensor(&model.w1.device());
        return Ok(generate_in_kernel(&model, inputs, horizon));
    }
    let model = for_steps(model);
    let inputs = tensor(&model.w1.device());
    Ok(generate_steps(&model, inputs, horizon))
}

/// [`generate`] in two calls of the recurrence kernel: the warm-up over the prefix `inputs`
/// (`[P, 1]`, at least one step) from a zero context, then the closed loop's `horizon - 1` steps
/// after the first forecast value from the warm-up's last context, through
/// [`closed_loop_weights`]; their outputs read back at once.
fn generate_in_kernel(model: &Elman, inputs: Tensor<2>, horizon: usize) -> (Vec<f32>, Vec<f32>) {
    let (prefix, device) = (inputs.dims()[0], inputs.device());
    let zeros = Tensor::zeros([1, model.d_hidden()], &device);
    let h = contexts_in_kernel(model, inputs, model.w1.val(), zeros);
    let mut rows = vec![outputs_of(model, h.clone())];
    if horizon > 1 {
        let last = h.slice(s![prefix - 1..prefix, ..]);
        let fed = Tensor::zeros([horizon - 1, 1], &device);
        let h = contexts_in_kernel(model, fed, closed_loop_weights(model), last);
        rows.push(outputs_of(model, h));
    }
    let mut values = read_rows(rows);
    let mut forecast = values.split_off(prefix);
    if horizon > 0 {
        // The first forecast value is the warm-up's last prediction.
        forecast.insert(0, values[prefix - 1]);
    }
    (values, forecast)
}

/// [`generate`] step by step through [`Elman::step`], on the prefix `inputs` `[P, 1]` on the
/// device of `model` (without autodiff).
fn generate_steps(model: &Elman, inputs: Tensor<2>, horizon: usize) -> (Vec<f32>, Vec<f32>) {
    let (prefix, device) = (inputs.dims()[0], inputs.device());
    let mut state = ElmanState::zeros(1, model.d_hidden(), &device);
    let mut warmup = Vec::with_capacity(prefix);
    for step in 0..prefix {
        let (output, next) = model.step(inputs.clone().slice(s![step..step + 1, ..]), state);
        warmup.push(output);
        state = next;
    }
    let mut forecast = Vec::with_capacity(horizon);
    if horizon > 0 {
        let mut last = match warmup.last() {
            Some(last) => last.clone(),
            None => Tensor::zeros([1, 1], &device),
        };
        forecast.push(last.clone());
        for _ in 1..horizon {
            let (output, next) = model.step(last, state);
            state = next;
            last = output;
            forecast.push(last.clone());
        }
    }
    (read_rows(warmup), read_rows(forecast))
}

#[cfg(test)]
mod tests;
