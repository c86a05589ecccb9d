//! The layer against its reference: on every backend, for every cell with and
//! without a bias, the one-operation window ([`ElmanLayer::forward`]) gives the contexts, the last state
//! and the gradients (of `W1`, the inputs and the starting context) of the step-by-step path
//! under Burn's autodiff ([`ElmanLayer::forward_steps`]), over several windows with the context
//! carried and detached; and its gradients equal central finite differences in f64 on the host.

use burn::prelude::*;
use burn::tensor::Distribution;

use crate::{Cell, ElmanConfig, ElmanLayer, ElmanLayerConfig, ElmanState, LayerError, kernel};

fn host<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_into_vec_as::<f32>().unwrap()
}

fn close(a: &[f32], b: &[f32], tolerance: f32, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= tolerance * (1.0 + y.abs()),
            "{what}[{i}]: {x} vs {y}"
        );
    }
}

/// The devices the layer runs its one operation on here: Flex, NdArray and, with the `wgpu`
/// feature, wgpu (lavapipe where there is no GPU).
fn devices() -> Vec<(&'static str, Device)> {
    #[allow(deprecated)] // NdArray stays one of the project's backends
    let mut devices = vec![("flex", Device::flex()), ("ndarray", Device::ndarray())];
    #[cfg(feature = "wgpu")]
    devices.push(("wgpu", Device::wgpu(DeviceKind::DefaultDevice)));
    devices
}

/// A standard normal `[batch, t, width]` tensor for each length `t` of `lengths`: windows of
/// inputs, or the weighting of their contexts.
fn normal(lengths: &[usize], batch: usize, width: usize, device: &Device) -> Vec<Tensor<3>> {
    lengths
        .iter()
        .map(|&t| Tensor::random([batch, t, width], Distribution::Normal(0.0, 1.0), device))
        .collect()
}

/// What one pass over `windows` gives: every window's contexts, the last state, and the
/// gradients of `Σ coef ⊙ contexts` (a fixed random weighting, so that every step's context
/// matters) with respect to `W1`, each window's input and the first context.
struct Pass {
    contexts: Vec<f32>,
    last: Vec<f32>,
    grad_w1: Vec<f32>,
    grad_inputs: Vec<f32>,
    grad_h0: Vec<f32>,
    /// An LSTM's first memory's gradient (empty for the other cells).
    grad_c0: Vec<f32>,
}

fn pass(
    layer: &ElmanLayer,
    windows: &[Tensor<3>],
    coef: &[Tensor<3>],
    h0: &Tensor<2>,
    detach: bool,
    fused: bool,
) -> Pass {
    let device = h0.device().autodiff();
    let layer = ElmanLayer {
        w1: burn::module::Param::from_tensor(layer.w1.val().autodiff()),
        cell: layer.cell,
        bias: layer.bias,
    };
    let inputs: Vec<Tensor<3>> = windows
        .iter()
        .map(|w| w.clone().autodiff().require_grad())
        .collect();
    // An LSTM starts from a memory of its own too: the context's values halved.
    let c0 =
        (layer.cell == Cell::Lstm).then(|| h0.clone().mul_scalar(0.5).autodiff().require_grad());
    let h0 = h0.clone().autodiff().require_grad();
    let mut state = Some(ElmanState {
        context: h0.clone(),
        memory: c0.clone(),
    });
    let mut loss = Tensor::<1>::zeros([1], &device);
    let mut contexts = Vec::new();
    for (input, coef) in inputs.iter().zip(coef) {
        let (h, next) = if fused {
            layer.forward(input.clone(), state).unwrap()
        } else {
            layer.forward_steps(input.clone(), state).unwrap()
        };
        loss = loss + (h.clone() * coef.clone().autodiff()).sum();
        contexts.extend(host(h.clone()));
        state = Some(if detach { next.detach() } else { next });
    }
    let state = state.expect("a state");
    let last = state.context;
    loss = loss + last.clone().sum().mul_scalar(0.5);
    if let Some(memory) = state.memory {
        loss = loss + memory.sum().mul_scalar(0.25);
    }
    let grads = loss.backward();
    Pass {
        contexts,
        last: host(last.clone()),
        grad_w1: host(layer.w1.grad(&grads).unwrap()),
        grad_inputs: inputs
            .iter()
            .flat_map(|x| host(x.grad(&grads).unwrap()))
            .collect(),
        grad_h0: host(h0.grad(&grads).unwrap()),
        grad_c0: c0.map_or_else(Vec::new, |c0| host(c0.grad(&grads).unwrap())),
    }
}

/// On every backend, for every cell with and without a bias, at a width the Flex loops take
/// and one they leave to a product a step (40 > 32), over three windows of unequal length with
/// the context carried through the graph and detached between them.
#[test]
fn the_one_operation_window_gives_the_steps_values_and_gradients() {
    for (name, device) in devices() {
        assert!(kernel::recurrence_differentiable(&device), "{name}");
        assert!(
            kernel::recurrence_differentiable(&device.clone().autodiff()),
            "{name}"
        );
        // Width, bias, inputs: Flex's Elman loop adds 1 or 2 inputs' products itself, not 3.
        let cases = [(6, 0, 2), (6, 1, 2), (40, 0, 1), (40, 1, 1), (40, 1, 2)];
        for (cell, (d_hidden, bias, d_input)) in [Cell::Elman, Cell::Lstm, Cell::Gru]
            .into_iter()
            .flat_map(|cell| cases.map(|case| (cell, case)))
        {
            // W1h's spectral radius below 1 at either width (about 0.4·√6 and 0.1·√40), so
            // that the two paths' rounding is not amplified step after step.
            let w1_std = if d_hidden > 6 { 0.1 } else { 0.4 };
            let layer = ElmanLayerConfig {
                w1_std,
                ..ElmanLayerConfig::new(d_input, d_hidden)
                    .with_bias(bias == 1)
                    .with_cell(cell)
            }
            .init(7, &device);
            let lengths = [5, 1, 4];
            let windows = normal(&lengths, 3, d_input, &device);
            let coef = normal(&lengths, 3, d_hidden, &device);
            let h0 = Tensor::random([3, d_hidden], Distribution::Normal(0.0, 0.5), &device);
            for detach in [false, true] {
                let what = format!("{name} {cell:?} {d_hidden} {bias} {d_input} detach {detach}");
                let fused = pass(&layer, &windows, &coef, &h0, detach, true);
                let steps = pass(&layer, &windows, &coef, &h0, detach, false);
                close(
                    &fused.contexts,
                    &steps.contexts,
                    1e-5,
                    &format!("{what}: contexts"),
                );
                close(&fused.last, &steps.last, 1e-5, &format!("{what}: last"));
                close(
                    &fused.grad_w1,
                    &steps.grad_w1,
                    1e-4,
                    &format!("{what}: dW1"),
                );
                close(
                    &fused.grad_inputs,
                    &steps.grad_inputs,
                    1e-4,
                    &format!("{what}: dx"),
                );
                close(
                    &fused.grad_h0,
                    &steps.grad_h0,
                    1e-4,
                    &format!("{what}: dh0"),
                );
                close(
                    &fused.grad_c0,
                    &steps.grad_c0,
                    1e-4,
                    &format!("{what}: dc0"),
                );
                assert_eq!(fused.grad_c0.is_empty(), cell != Cell::Lstm, "{what}: dc0");
                let largest = fused.grad_w1.iter().fold(0.0f32, |m, g| m.max(g.abs()));
                assert!(largest > 1e-2, "{what}: the gradients compared are all ~0");
            }
        }
    }
}

/// On Flex the gated cells' windows, and the Elman cell's above the loops' width, split a batch
/// between the pool's threads: a batch of 100 on two (parts of 50, a step's products in blocks
/// of 48 rows and 2, the weight gradients' sums split) gives the one-thread values and gradients
/// within float error (`gemm` may sum in another order), and both give the steps' (so a part's
/// and a block's rows are the right sequences, forward and back).
#[test]
fn a_window_split_between_threads_is_the_whole_batch() {
    let device = Device::flex();
    let on = |threads: usize, work: &(dyn Fn() -> Pass + Sync)| -> Pass {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(work)
    };
    let wide = kernel::FLEX_RECURRENCE_MAX + 8;
    for (cell, d_hidden) in [(Cell::Lstm, 5), (Cell::Gru, 5), (Cell::Elman, wide)] {
        let (batch, d_input) = (100, 2);
        // Weights scaled to the width (the tutorial's 0.4 at its 6 neurons), so that the
        // recurrence does not amplify float error past the tolerance over the seven steps: at
        // 40 neurons and 0.4 it grew by about 2.5 a step, and random data sometimes took the
        // difference from the steps past 1e-4.
        let mut config = ElmanLayerConfig::new(d_input, d_hidden)
            .with_bias(true)
            .with_cell(cell);
        config.w1_std = 0.4 * (6.0 / d_hidden as f64).sqrt();
        let layer = config.init(5, &device);
        let lengths = [4, 3];
        let windows = normal(&lengths, batch, d_input, &device);
        let coef = normal(&lengths, batch, d_hidden, &device);
        let h0 = Tensor::random([batch, d_hidden], Distribution::Normal(0.0, 0.5), &device);
        let run = |fused| pass(&layer, &windows, &coef, &h0, false, fused);
        let (one, two, steps) = (
            on(1, &|| run(true)),
            on(2, &|| run(true)),
            on(1, &|| run(false)),
        );
        for (what, a, b, c) in [
            ("contexts", &one.contexts, &two.contexts, &steps.contexts),
            ("last", &one.last, &two.last, &steps.last),
            ("dW1", &one.grad_w1, &two.grad_w1, &steps.grad_w1),
            ("dx", &one.grad_inputs, &two.grad_inputs, &steps.grad_inputs),
            ("dh0", &one.grad_h0, &two.grad_h0, &steps.grad_h0),
            ("dc0", &one.grad_c0, &two.grad_c0, &steps.grad_c0),
        ] {
            let what = format!("{cell:?}: {what}");
            close(b, a, 2e-5, &format!("{what}, two threads against one"));
            close(a, c, 1e-4, &format!("{what}, against the steps"));
        }
    }
}

/// Outside autodiff the gated cells' windows on Flex take their inference passes (nothing kept
/// for a backward pass, the activations over one denominator): from a carried state, on one
/// thread and on two (a batch of 10 in parts of 5), with and without a bias, their contexts and
/// final state are the training forward pass's (under autodiff) and the steps', within float
/// error.
#[test]
fn inference_is_the_training_forward() {
    let device = Device::flex();
    for (cell, bias) in [Cell::Lstm, Cell::Gru]
        .into_iter()
        .flat_map(|c| [(c, false), (c, true)])
    {
        let (batch, d_input, d_hidden) = (10, 3, 7);
        let mut config = ElmanLayerConfig::new(d_input, d_hidden)
            .with_bias(bias)
            .with_cell(cell);
        config.w1_std = 0.4 * (6.0 / d_hidden as f64).sqrt();
        let layer = config.init(7, &device);
        let input =
            Tensor::<3>::random([batch, 9, d_input], Distribution::Normal(0.0, 1.0), &device);
        let h0 = Tensor::random([batch, d_hidden], Distribution::Normal(0.0, 0.5), &device);
        let state = ElmanState {
            context: h0.clone(),
            memory: (cell == Cell::Lstm).then(|| h0.clone().mul_scalar(-0.7)),
        };
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| layer.forward(input.clone(), Some(state.clone())).unwrap())
        };
        let trained = {
            let on = |t: Tensor<2>| t.autodiff();
            let layer = ElmanLayer {
                w1: burn::module::Param::from_tensor(layer.w1.val().autodiff()),
                ..layer.clone()
            };
            let state = ElmanState {
                context: on(state.context.clone()),
                memory: state.memory.clone().map(on),
            };
            layer
                .forward(input.clone().autodiff(), Some(state))
                .unwrap()
        };
        let (steps, end) = layer
            .forward_steps(input.clone(), Some(state.clone()))
            .unwrap();
        for threads in [1, 2] {
            let (contexts, last) = run(threads);
            let what = format!("{cell:?} bias {bias}, {threads} thread(s)");
            let inner = |t: Tensor<3>| t.inner();
            close(
                &host(contexts.clone()),
                &host(inner(trained.0.clone())),
                1e-5,
                &what,
            );
            close(&host(contexts), &host(steps.clone()), 1e-5, &what);
            close(
                &host(last.context.clone()),
                &host(end.context.clone()),
                1e-5,
                &what,
            );
            if let (Some(a), Some(b)) = (last.memory, end.memory.clone()) {
                close(&host(a), &host(b), 1e-5, &format!("{what}: memory"));
            }
        }
    }
}

/// Detaching between windows changes the gradients (so the carried case above tests the
/// gradient through the context, not two copies of one window).
#[test]
fn a_carried_context_carries_the_gradient() {
    let device = Device::flex();
    let layer = ElmanLayerConfig::new(1, 5).init(3, &device);
    let windows = vec![Tensor::random([2, 4, 1], Distribution::Normal(0.0, 1.0), &device); 2];
    let coef = vec![Tensor::ones([2, 4, 5], &device); 2];
    let h0 = Tensor::zeros([2, 5], &device);
    let carried = pass(&layer, &windows, &coef, &h0, false, true);
    let detached = pass(&layer, &windows, &coef, &h0, true, true);
    let differ = carried
        .grad_inputs
        .iter()
        .zip(&detached.grad_inputs)
        .take(8) // the first window's inputs
        .any(|(a, b)| (a - b).abs() > 1e-4);
    assert!(
        differ,
        "the second window's loss did not reach the first window's inputs"
    );
}

/// The layer's contexts `h_t` over a window from `h0`, in f64 on the host, and the loss
/// `Σ_t Σ_j coef_tj · h_tj` the finite differences are taken of.
fn host_loss(
    w1: &[f64],
    [d_input, d_hidden]: [usize; 2],
    bias: bool,
    xs: &[f64],
    h0: &[f64],
    coef: &[f64],
) -> f64 {
    let mut h = h0.to_vec();
    let mut loss = 0.0;
    for (t, x) in xs.chunks(d_input).enumerate() {
        let layer: Vec<f64> = x
            .iter()
            .copied()
            .chain(bias.then_some(1.0))
            .chain(h.iter().copied())
            .collect();
        h = (0..d_hidden)
            .map(|j| {
                layer
                    .iter()
                    .enumerate()
                    .map(|(i, v)| v * w1[i * d_hidden + j])
                    .sum::<f64>()
                    .tanh()
            })
            .collect();
        loss += (0..d_hidden)
            .map(|j| coef[t * d_hidden + j] * h[j])
            .sum::<f64>();
    }
    loss
}

/// The one operation's gradients of `W1`, the inputs and `h0` equal central finite differences
/// of the host's f64 loss, with and without a bias.
#[test]
fn the_gradients_are_finite_differences() {
    let device = Device::flex();
    let (d_input, d_hidden, steps) = (2, 3, 4);
    for bias in [false, true] {
        let layer = ElmanLayerConfig::new(d_input, d_hidden)
            .with_bias(bias)
            .init(11, &device);
        let x = Tensor::<3>::random([1, steps, d_input], Distribution::Normal(0.0, 1.0), &device);
        let coef = Tensor::<3>::random(
            [1, steps, d_hidden],
            Distribution::Normal(0.0, 1.0),
            &device,
        );
        let h0 = Tensor::<2>::random([1, d_hidden], Distribution::Normal(0.0, 0.5), &device);
        let got = pass(
            &layer,
            std::slice::from_ref(&x),
            std::slice::from_ref(&coef),
            &h0,
            false,
            true,
        );
        let f64s = |v: Vec<f32>| v.into_iter().map(f64::from).collect::<Vec<f64>>();
        let (w1, xs, h0v, c) = (
            f64s(host(layer.w1.val())),
            f64s(host(x)),
            f64s(host(h0)),
            f64s(host(coef)),
        );
        // The pass adds half the last context's sum to the loss.
        let loss = |w1: &[f64], xs: &[f64], h0: &[f64]| {
            let mut c_last = c.clone();
            for j in 0..d_hidden {
                c_last[(steps - 1) * d_hidden + j] += 0.5;
            }
            host_loss(w1, [d_input, d_hidden], bias, xs, h0, &c_last)
        };
        let eps = 1e-4;
        let numeric = |which: usize, i: usize| {
            let (mut a, mut b) = (
                [w1.clone(), xs.clone(), h0v.clone()],
                [w1.clone(), xs.clone(), h0v.clone()],
            );
            a[which][i] += eps;
            b[which][i] -= eps;
            (loss(&a[0], &a[1], &a[2]) - loss(&b[0], &b[1], &b[2])) / (2.0 * eps)
        };
        for (which, grads, what) in [
            (0, &got.grad_w1, "dW1"),
            (1, &got.grad_inputs, "dx"),
            (2, &got.grad_h0, "dh0"),
        ] {
            for (i, &g) in grads.iter().enumerate() {
                let fd = numeric(which, i);
                assert!(
                    (f64::from(g) - fd).abs() < 1e-3 * (1.0 + fd.abs()),
                    "bias {bias} {what}[{i}]: {g} vs {fd}"
                );
            }
        }
    }
}

/// The network's window through the layer equals its steps one by one, for every cell, with
/// and without biases; the gated cells' layer is their step repeated.
#[test]
fn the_network_over_a_window_is_its_steps() {
    let device = Device::flex();
    for cell in [Cell::Elman, Cell::Lstm, Cell::Gru] {
        for bias in [false, true] {
            let config = ElmanConfig {
                d_input: 2,
                d_hidden: 4,
                d_output: 3,
                cell,
                bias,
                ..ElmanConfig::default()
            };
            let model = config.init(5, &device);
            let inputs = Tensor::<3>::random([3, 6, 2], Distribution::Normal(0.0, 1.0), &device);
            let (outputs, last) = model.forward(inputs.clone(), None).unwrap();
            let (reference, end) = model.forward_steps(inputs, ElmanState::zeros(3, 4, &device));
            let what = format!("{cell:?} bias {bias}");
            close(&host(outputs), &host(reference), 1e-5, &what);
            close(&host(last.context), &host(end.context), 1e-5, &what);
            assert_eq!(last.memory.is_some(), cell == Cell::Lstm, "{what}: memory");
        }
    }
}

/// Shapes that do not fit are errors that name them.
#[test]
fn shapes_that_do_not_fit_are_errors_naming_them() {
    let device = Device::flex();
    let layer = ElmanLayerConfig::new(2, 4)
        .with_cell(Cell::Lstm)
        .init(1, &device);
    let input = |dims: [usize; 3]| Tensor::<3>::zeros(dims, &device);
    let error = |input: Tensor<3>, state: Option<ElmanState>| {
        layer.forward(input, state).unwrap_err().to_string()
    };
    assert_eq!(
        error(input([3, 5, 1]), None),
        "the layer's input is [3, 5, 1], but it takes [batch, time, 2] with at least one sequence and one step"
    );
    assert!(error(input([3, 0, 2]), None).contains("[3, 0, 2]"));
    let context = ElmanState::zeros(2, 4, &device);
    assert_eq!(
        error(input([3, 5, 2]), Some(context)),
        "the state's context is [2, 4], but a batch of 3 takes [3, 4]"
    );
    let memory = ElmanState {
        context: Tensor::zeros([3, 4], &device),
        memory: Some(Tensor::zeros([3, 5], &device)),
    };
    assert_eq!(
        error(input([3, 5, 2]), Some(memory)),
        "the state's memory is [3, 5], but a batch of 3 takes [3, 4]"
    );
    assert!(matches!(
        layer.forward_steps(input([1, 1, 3]), None),
        Err(LayerError::Input { .. })
    ));
}
