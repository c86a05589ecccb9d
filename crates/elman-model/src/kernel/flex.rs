//! [`ElmanKernels`] on Flex: the step, the sequence and the window's recurrence in plain loops
//! over the tensors' memory.

use std::borrow::Cow;

use burn::backend::Flex;
use burn::backend::flex::FlexTensor;
use burn::prelude::*;

use super::{AdamStep, ElmanKernels, recurrence, tanh_f32};

/// The sizes of the step, read from the weights: `W1` is `[d_input + d_hidden, d_hidden]`,
/// `W2` is `[d_hidden, d_output]`.
#[derive(Clone, Copy)]
struct Dims {
    d_input: usize,
    d_hidden: usize,
    d_output: usize,
}

impl Dims {
    fn of(w1: &FlexTensor, w2: &FlexTensor) -> Self {
        let (rows, d_hidden) = (w1.layout().shape()[0], w1.layout().shape()[1]);
        Self {
            d_input: rows - d_hidden,
            d_hidden,
            d_output: w2.layout().shape()[1],
        }
    }
}

/// One step's forward and backward pass down to the pre-activation, in plain loops, into
/// buffers that a sequence of steps reuses.
struct Step {
    d: Dims,
    /// The input layer `[x ; h]`, `[d_input + d_hidden]`: its context part is the previous
    /// step's `h'` (zero before the first step).
    xh: Vec<f32>,
    /// `h'`, `[d_hidden]`.
    context: Vec<f32>,
    /// `y - target`, `[d_output]`.
    residual: Vec<f32>,
    /// `dL/dy` times the caller's scale, `[d_output]`.
    d_out: Vec<f32>,
    /// `dL/da` at the same scale, `[d_hidden]`.
    d_a: Vec<f32>,
}

impl Step {
    /// Buffers for steps of the network `d`, from a zero context.
    fn new(d: Dims) -> Self {
        Self {
            d,
            xh: vec![0.0; d.d_input + d.d_hidden],
            context: vec![0.0; d.d_hidden],
            residual: vec![0.0; d.d_output],
            d_out: vec![0.0; d.d_output],
            d_a: vec![0.0; d.d_hidden],
        }
    }

    /// Sets the context part of the input layer.
    fn set_context(&mut self, h: &[f32]) {
        self.xh[self.d.d_input..].copy_from_slice(h);
    }

    /// The new context feeds the context neurons at the next step (detached: only the values
    /// carry on).
    fn carry_context(&mut self) {
        self.xh[self.d.d_input..].copy_from_slice(&self.context);
    }

    /// Starts a sequence: the context part of the input layer is zero.
    fn zero_context(&mut self) {
        self.xh[self.d.d_input..].fill(0.0);
    }

    /// The step's forward pass for input `x` from the context in the input layer: `h'` into
    /// `context`, `y - target` into `residual`.
    fn forward(&mut self, w1: &[f32], w2: &[f32], x: &[f32], target: &[f32]) {
        let d = self.d;
        // The input layer: the inputs, then the context neurons.
        self.xh[..d.d_input].copy_from_slice(x);
        // a = xh · W1, h' = tanh(a), y = h' · W2.
        self.context.fill(0.0);
        for (v, row) in self.xh.iter().zip(w1.chunks_exact(d.d_hidden)) {
            for (c, w) in self.context.iter_mut().zip(row) {
                *c += v * w;
            }
        }
        for c in &mut self.context {
            *c = tanh_f32(*c);
        }
        for (r, t) in self.residual.iter_mut().zip(target) {
            *r = -t;
        }
        for (c, row) in self.context.iter().zip(w2.chunks_exact(d.d_output)) {
            for (r, w) in self.residual.iter_mut().zip(row) {
                *r += c * w;
            }
        }
    }

    /// The step's formulas (see `elman-train`'s `fused.rs`) for input `x` from the context in
    /// the input layer, with `scale` folded into `dL/dy`.
    fn run(&mut self, w1: &[f32], w2: &[f32], x: &[f32], target: &[f32], scale: f32) {
        self.forward(w1, w2, x, target);
        let d = self.d;
        // Backward: dL/dy = scale · r, dL/da = (dL/dy · W2ᵀ) ⊙ (1 - h'²).
        for (g, r) in self.d_out.iter_mut().zip(&self.residual) {
            *g = scale * r;
        }
        for ((g, c), row) in self
            .d_a
            .iter_mut()
            .zip(&self.context)
            .zip(w2.chunks_exact(d.d_output))
        {
            let d_h: f32 = row.iter().zip(&self.d_out).map(|(w, g)| w * g).sum();
            *g = d_h * (1.0 - c * c);
        }
    }

    /// Online SGD over one sequence from a zero context: each step's forward pass, gradients
    /// and in-place update, the context carried on; the residuals appended to `residuals`.
    fn sgd_epoch(
        &mut self,
        [w1, w2]: [&mut [f32]; 2],
        inputs: &[f32],
        targets: &[f32],
        lr_scale: f32,
        residuals: &mut Vec<f32>,
    ) {
        self.zero_context();
        for (x, target) in inputs
            .chunks_exact(self.d.d_input)
            .zip(targets.chunks_exact(self.d.d_output))
        {
            self.run(w1, w2, x, target, lr_scale);
            self.update(w1, w2);
            residuals.extend_from_slice(&self.residual);
            self.carry_context();
        }
    }

    /// `W2 -= h'ᵀ · dL/dy` and `W1 -= xhᵀ · dL/da`, in place (the learning rate is in the
    /// scale the step ran with).
    fn update(&self, w1: &mut [f32], w2: &mut [f32]) {
        for (row, c) in w2.chunks_exact_mut(self.d.d_output).zip(&self.context) {
            for (w, g) in row.iter_mut().zip(&self.d_out) {
                *w -= c * g;
            }
        }
        for (row, v) in w1.chunks_exact_mut(self.d.d_hidden).zip(&self.xh) {
            for (w, g) in row.iter_mut().zip(&self.d_a) {
                *w -= v * g;
            }
        }
    }
}

/// The tensor's values in row-major order, borrowed when it is contiguous.
///
/// # Panics
/// When the tensor does not hold `f32`.
pub(super) fn values(t: &FlexTensor) -> Cow<'_, [f32]> {
    match t.as_slice::<f32>() {
        Some(values) => Cow::Borrowed(values),
        None => Cow::Owned(
            t.to_contiguous()
                .as_slice::<f32>()
                .expect("the Elman kernels work on f32 tensors")
                .to_vec(),
        ),
    }
}

/// One Adam update of the matrix `w` and its moments in one loop (see
/// [`ElmanKernels::elman_adam`]), in place when nothing else holds them.
fn adam_update(
    w: FlexTensor,
    g: FlexTensor,
    m: FlexTensor,
    v: FlexTensor,
    adam: AdamStep,
) -> (FlexTensor, FlexTensor, FlexTensor) {
    let g = values(&g);
    let (mut w, mut m, mut v) = (writable(w), writable(m), writable(v));
    let n = g.len();
    let f = |x: f64| x as f32;
    let (lr, c1, c2, epsilon) = (f(adam.lr), f(adam.c1), f(adam.c2), f(adam.epsilon));
    let (b1, nb1) = (f(adam.beta_1), f(1.0 - adam.beta_1));
    let (b2, nb2) = (f(adam.beta_2), f(1.0 - adam.beta_2));
    let (ws, ms, vs) = (
        &mut w.storage_mut::<f32>()[..n],
        &mut m.storage_mut::<f32>()[..n],
        &mut v.storage_mut::<f32>()[..n],
    );
    for i in 0..n {
        let gi = g[i];
        let mi = ms[i] * b1 + gi * nb1;
        let vi = vs[i] * b2 + gi * gi * nb2;
        ms[i] = mi;
        vs[i] = vi;
        ws[i] -= mi / c1 * lr / ((vi / c2).sqrt() + epsilon);
    }
    (w, m, v)
}

/// A new `[rows, cols]` tensor holding `values`.
pub(super) fn tensor(values: Vec<f32>, rows: usize, cols: usize) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, [rows, cols]))
}

/// `t` laid out contiguously from offset 0 (a copy when it is a view), ready for
/// `storage_mut`, which writes in place when nothing else holds the memory and copies it first
/// otherwise.
pub(super) fn writable(t: FlexTensor) -> FlexTensor {
    if t.is_contiguous() && t.layout().start_offset() == 0 {
        t
    } else {
        t.to_contiguous()
    }
}

/// Online SGD over one sequence, an epoch for each of `lr_scales` at that scale, the weights
/// updated in place: `(W1', W2', residuals)` of every epoch's steps and, when `keep`, both
/// matrices after each epoch (`[epochs, |W1| + |W2|]`).
fn sgd_epochs(
    w1: FlexTensor,
    w2: FlexTensor,
    inputs: &FlexTensor,
    targets: &FlexTensor,
    lr_scales: &[f32],
    keep: bool,
) -> (FlexTensor, FlexTensor, FlexTensor, Option<FlexTensor>) {
    let d = Dims::of(&w1, &w2);
    let (inputs, targets) = (values(inputs), values(targets));
    let steps = inputs.len() / d.d_input;
    let (mut w1, mut w2) = (writable(w1), writable(w2));
    let (n1, n2) = (w1.layout().num_elements(), w2.layout().num_elements());
    let (w1s, w2s) = (
        &mut w1.storage_mut::<f32>()[..n1],
        &mut w2.storage_mut::<f32>()[..n2],
    );
    let epochs = lr_scales.len();
    let mut residuals = Vec::with_capacity(epochs * steps * d.d_output);
    let mut after = Vec::with_capacity(if keep { epochs * (n1 + n2) } else { 0 });
    let mut step = Step::new(d);
    for &lr_scale in lr_scales {
        step.sgd_epoch([w1s, w2s], &inputs, &targets, lr_scale, &mut residuals);
        if keep {
            after.extend_from_slice(w1s);
            after.extend_from_slice(w2s);
        }
    }
    let residuals = tensor(residuals, epochs * steps, d.d_output);
    let after = keep.then(|| tensor(after, epochs, n1 + n2));
    (w1, w2, residuals, after)
}

impl ElmanKernels for Flex {
    fn elman_tanh(x: FlexTensor) -> FlexTensor {
        let mut x = writable(x);
        let n = x.layout().num_elements();
        let values = &mut x.storage_mut::<f32>()[..n];
        pulp::Arch::new().dispatch(|| {
            for v in values {
                *v = tanh_f32(*v);
            }
        });
        x
    }

    fn elman_sgd_sequence(
        w1: FlexTensor,
        w2: FlexTensor,
        inputs: FlexTensor,
        targets: FlexTensor,
        lr_scale: f32,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        let (w1, w2, residuals, _) = sgd_epochs(w1, w2, &inputs, &targets, &[lr_scale], false);
        (w1, w2, residuals)
    }

    fn elman_sgd_epochs(
        w1: FlexTensor,
        w2: FlexTensor,
        inputs: FlexTensor,
        targets: FlexTensor,
        lr_scales: Vec<f32>,
    ) -> (FlexTensor, FlexTensor, FlexTensor, FlexTensor) {
        let (w1, w2, residuals, after) = sgd_epochs(w1, w2, &inputs, &targets, &lr_scales, true);
        (w1, w2, residuals, after.expect("kept"))
    }

    fn elman_adam(
        w1: FlexTensor,
        g1: FlexTensor,
        m1: FlexTensor,
        v1: FlexTensor,
        w2: FlexTensor,
        g2: FlexTensor,
        m2: FlexTensor,
        v2: FlexTensor,
        adam: AdamStep,
    ) -> (
        FlexTensor,
        FlexTensor,
        FlexTensor,
        FlexTensor,
        FlexTensor,
        FlexTensor,
    ) {
        let (w1, m1, v1) = adam_update(w1, g1, m1, v1, adam);
        let (w2, m2, v2) = adam_update(w2, g2, m2, v2, adam);
        (w1, m1, v1, w2, m2, v2)
    }

    fn elman_forward_squares(
        x: FlexTensor,
        targets: FlexTensor,
        w1: FlexTensor,
        w2: FlexTensor,
        batch: usize,
        _parts: Option<usize>,
    ) -> FlexTensor {
        let d = Dims::of(&w1, &w2);
        let (x, targets, w1, w2) = (values(&x), values(&targets), values(&w1), values(&w2));
        let steps = x.len() / d.d_input / batch.max(1);
        let mut squares = vec![0.0f32; batch * d.d_output];
        let mut step = Step::new(d);
        // (`max(1)`: a batch of no steps has nothing to sum, and its sums stay 0.)
        let sequences = x
            .chunks_exact((steps * d.d_input).max(1))
            .zip(targets.chunks_exact((steps * d.d_output).max(1)));
        for ((x, targets), sums) in sequences.zip(squares.chunks_exact_mut(d.d_output)) {
            step.zero_context();
            for (x, target) in x
                .chunks_exact(d.d_input)
                .zip(targets.chunks_exact(d.d_output))
            {
                step.forward(&w1, &w2, x, target);
                for (sum, r) in sums.iter_mut().zip(&step.residual) {
                    *sum += r * r;
                }
                step.carry_context();
            }
        }
        tensor(squares, batch, d.d_output)
    }

    // The GPU kernel's reference on the CPU (`kernel::readout` itself takes the tensor
    // operations there, whose matrix products are vectorized).
    fn elman_readout(
        h: FlexTensor,
        targets: FlexTensor,
        w2: FlexTensor,
        scale: f32,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        let (rows, d_hidden) = (h.layout().shape()[0], h.layout().shape()[1]);
        let d_output = targets.layout().shape()[1];
        let bias = w2.layout().shape()[0] > d_hidden;
        let (h, targets, w2) = (values(&h), values(&targets), values(&w2));
        let mut d_y = vec![0.0f32; rows * d_output];
        let mut g = vec![0.0f32; rows * d_hidden];
        let mut terms = vec![0.0f32; rows * d_output];
        for r in 0..rows {
            let context = &h[r * d_hidden..(r + 1) * d_hidden];
            for o in 0..d_output {
                let mut y = if bias {
                    w2[d_hidden * d_output + o]
                } else {
                    0.0
                };
                for (k, c) in context.iter().enumerate() {
                    y += c * w2[k * d_output + o];
                }
                let residual = y - targets[r * d_output + o];
                d_y[r * d_output + o] = scale * residual;
                terms[r * d_output + o] = scale * residual * residual / 2.0;
            }
            let d_y = &d_y[r * d_output..(r + 1) * d_output];
            for (k, g) in g[r * d_hidden..(r + 1) * d_hidden].iter_mut().enumerate() {
                *g = d_y
                    .iter()
                    .zip(&w2[k * d_output..(k + 1) * d_output])
                    .map(|(d, w)| d * w)
                    .sum();
            }
        }
        (
            tensor(d_y, rows, d_output),
            tensor(g, rows, d_hidden),
            tensor(terms, rows, d_output),
        )
    }

    fn elman_recurrence_forward(x: FlexTensor, w1: FlexTensor, h0: FlexTensor) -> FlexTensor {
        let (batch, d_hidden) = (h0.layout().shape()[0], h0.layout().shape()[1]);
        let d_input = w1.layout().shape()[0] - d_hidden;
        let w1 = values(&w1);
        let (w1x, w1h) = w1.split_at(d_input * d_hidden);
        let states = recurrence::forward(&values(&x), w1x, w1h, &values(&h0), batch, d_hidden);
        let rows = states.len() / d_hidden.max(1);
        tensor(states, rows, d_hidden)
    }

    fn elman_recurrence_backward(
        h: FlexTensor,
        g: FlexTensor,
        w1h: FlexTensor,
        batch: usize,
    ) -> FlexTensor {
        let d_hidden = w1h.layout().shape()[0];
        let d_a = recurrence::backward(&values(&h), &values(&g), &values(&w1h), batch, d_hidden);
        let rows = d_a.len() / d_hidden;
        tensor(d_a, rows, d_hidden)
    }

    fn elman_step_gradients(
        w1: FlexTensor,
        w2: FlexTensor,
        x: FlexTensor,
        h: FlexTensor,
        target: FlexTensor,
        scale: f32,
    ) -> (FlexTensor, FlexTensor, FlexTensor, FlexTensor) {
        let d = Dims::of(&w1, &w2);
        let mut p = Step::new(d);
        p.set_context(&values(&h));
        p.run(
            &values(&w1),
            &values(&w2),
            &values(&x),
            &values(&target),
            scale,
        );
        // The outer products dL/dW1 = xhᵀ · dL/da and dL/dW2 = h'ᵀ · dL/dy.
        let rows = d.d_input + d.d_hidden;
        let g1 =
            p.xh.iter()
                .flat_map(|v| p.d_a.iter().map(move |g| v * g))
                .collect();
        let g2 = p
            .context
            .iter()
            .flat_map(|c| p.d_out.iter().map(move |g| c * g))
            .collect();
        (
            tensor(p.context, 1, d.d_hidden),
            tensor(p.residual, 1, d.d_output),
            tensor(g1, rows, d.d_hidden),
            tensor(g2, d.d_hidden, d.d_output),
        )
    }
}
