//! The Elman network of the tutorial "Introduction to Recurrent Neural Networks in PyTorch",
//! as a Burn [`Module`] with the explicit context-state concatenation.
//!
//! One step, for a batch of `b` inputs (the tutorial has `b = 1`, `d_input = 1`,
//! `d_hidden = 6`, `d_output = 1`):
//!
//! ```text
//! xh        = [x_t ; h_{t-1}]     # [b, d_input + d_hidden]   the input layer: inputs, then context
//! h_t       = tanh(xh · W1)       # [b, d_hidden]             W1: [d_input + d_hidden, d_hidden]
//! y_t       = h_t · W2            # [b, d_output]             W2: [d_hidden, d_output]
//! ```
//!
//! There are no biases. `h_t` is the new context: it feeds the context neurons at the next step.
//!
//! [`ElmanLayer`] is the recurrent layer alone, for models of one's own: every step's context
//! over a window, the window's recurrence one differentiable operation where a device has it
//! ([`kernel::recurrence`], [`kernel::lstm_recurrence`], [`kernel::gru_recurrence`]).
//!
//! This crate does no IO. Initial weights are drawn on the host from a seeded generator
//! ([`ElmanWeights::init`]) so that the same seed gives the same network on every backend.

mod cells;
#[cfg(feature = "flex")]
pub mod kernel;
#[cfg(not(feature = "flex"))]
#[path = "kernel_stand_in.rs"]
pub mod kernel;
mod layer;
mod weights;

pub use cells::Cell;
pub use layer::{ElmanLayer, ElmanLayerConfig, LayerError};
pub use weights::{ElmanWeights, WeightsError};

use burn::module::Param;
use burn::prelude::*;

/// The sizes and the initial weight scales of an [`Elman`] network.
///
/// The defaults are the tutorial's: 1 input, 6 hidden (context) neurons, 1 output,
/// `W1 ~ N(0, 0.4)` and `W2 ~ N(0, 0.3)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ElmanConfig {
    /// Number of input features fed at each time step.
    pub d_input: usize,
    /// Number of hidden neurons, which is also the number of context neurons.
    pub d_hidden: usize,
    /// Number of outputs predicted at each time step.
    pub d_output: usize,
    /// Standard deviation of the normal draw of `W1`.
    pub w1_std: f64,
    /// Standard deviation of the normal draw of `W2`.
    pub w2_std: f64,
    /// The recurrent cell (the tutorial's: Elman).
    pub cell: Cell,
    /// A bias for the hidden layer and the output (the tutorial has none): a constant `1` in
    /// the input layer and after the hidden layer, its weights a row of `W1` and of `W2`.
    pub bias: bool,
}

impl Default for ElmanConfig {
    fn default() -> Self {
        Self {
            d_input: 1,
            d_hidden: 6,
            d_output: 1,
            w1_std: 0.4,
            w2_std: 0.3,
            cell: Cell::Elman,
            bias: false,
        }
    }
}

impl ElmanConfig {
    /// The shape of `W1`: `[d_input + d_hidden, d_hidden]` for the tutorial's cell; a row more
    /// with a bias, and a column block per gate.
    pub fn w1_shape(&self) -> [usize; 2] {
        [
            self.d_input + usize::from(self.bias) + self.d_hidden,
            self.cell.gates() * self.d_hidden,
        ]
    }

    /// The shape of `W2`: `[d_hidden, d_output]`, a row more with a bias.
    pub fn w2_shape(&self) -> [usize; 2] {
        [self.d_hidden + usize::from(self.bias), self.d_output]
    }

    /// Draws the initial weights from `seed` on the host and puts them on `device`.
    pub fn init(&self, seed: u64, device: &Device) -> Elman {
        ElmanWeights::init(self, seed).to_module(device)
    }
}

/// The Elman network: two weight matrices and nothing else (for the other cells of [`Cell`],
/// the same two matrices, wider).
#[derive(Module, Debug)]
pub struct Elman {
    /// Input layer (inputs, then context) to hidden layer: `[d_input + d_hidden, d_hidden]`.
    pub w1: Param<Tensor<2>>,
    /// Hidden layer to output: `[d_hidden, d_output]`.
    pub w2: Param<Tensor<2>>,
    /// The recurrent cell.
    #[module(skip)]
    pub cell: Cell,
    /// Whether the layers have a bias (a row of each matrix).
    #[module(skip)]
    pub bias: bool,
}

/// The recurrent state carried from one step to the next: the context neurons (and an LSTM's
/// memory cell).
#[derive(Debug, Clone)]
pub struct ElmanState {
    /// `h_{t}`: `[batch, d_hidden]`.
    pub context: Tensor<2>,
    /// An LSTM's memory `c_t`, `[batch, d_hidden]` (`None`: zeros, and for the other cells).
    pub memory: Option<Tensor<2>>,
}

impl ElmanState {
    /// The zero context each epoch and each prediction starts from: `[batch, d_hidden]`.
    pub fn zeros(batch: usize, d_hidden: usize, device: &Device) -> Self {
        Self::of(Tensor::zeros([batch, d_hidden], device))
    }

    /// The state of a context alone (no memory cell, or a zero one).
    pub fn of(context: Tensor<2>) -> Self {
        Self {
            context,
            memory: None,
        }
    }

    /// Cuts the context from the graph that produced it, as the tutorial does after each update.
    pub fn detach(self) -> Self {
        Self {
            context: self.context.detach(),
            memory: self.memory.map(Tensor::detach),
        }
    }
}

impl Elman {
    /// Number of input features.
    pub fn d_input(&self) -> usize {
        self.w1.dims()[0] - usize::from(self.bias) - self.d_hidden()
    }

    /// Number of hidden (and context) neurons.
    pub fn d_hidden(&self) -> usize {
        self.w1.dims()[1] / self.cell.gates()
    }

    /// Whether this is the tutorial's network: the Elman cell without biases, the one the
    /// hand-derived gradients and the kernels are written for.
    pub fn is_tutorial_cell(&self) -> bool {
        self.cell == Cell::Elman && !self.bias
    }

    /// Number of outputs.
    pub fn d_output(&self) -> usize {
        self.w2.dims()[1]
    }

    /// One time step: returns the output `[batch, d_output]` and the new context.
    ///
    /// # Panics
    ///
    /// If `input` is not `[batch, d_input]` or the context is not `[batch, d_hidden]`.
    pub fn step(&self, input: Tensor<2>, state: ElmanState) -> (Tensor<2>, ElmanState) {
        let [batch, d_input] = input.dims();
        assert_eq!(d_input, self.d_input(), "input features");
        assert_eq!(
            state.context.dims(),
            [batch, self.d_hidden()],
            "context shape"
        );
        if !self.is_tutorial_cell() {
            return self.gated_step(input, state);
        }
        // The input layer: the inputs, then the context neurons.
        let xh = Tensor::cat(vec![input, state.context], 1); // [batch, d_input + d_hidden]
        // tanh through the Flex kernel when it applies (not under autodiff), Burn's otherwise.
        let context = kernel::tanh(xh.matmul(self.w1.val())); // [batch, d_hidden]
        let output = context.clone().matmul(self.w2.val()); // [batch, d_output]
        (output, ElmanState::of(context))
    }

    /// The recurrent layer of this network (its `W1`, the same parameter: gradients through
    /// the layer are `W1`'s).
    pub fn layer(&self) -> ElmanLayer {
        ElmanLayer {
            w1: self.w1.clone(),
            cell: self.cell,
            bias: self.bias,
        }
    }

    /// The network over a window: [`ElmanLayer::forward`] (one differentiable operation where
    /// a device has it), then the read-out `[h ; 1] · W2` of
    /// every step at once. Returns the outputs `[batch, steps, d_output]` and the state after
    /// the last step, or the shapes that do not fit.
    pub fn forward(
        &self,
        inputs: Tensor<3>,
        state: Option<ElmanState>,
    ) -> Result<(Tensor<3>, ElmanState), LayerError> {
        let [batch, steps, _] = inputs.dims();
        let d_hidden = self.d_hidden();
        // Time-major contexts, read out as they are; the outputs, `d_output` wide, are what
        // changes order (the contexts batch-major would be a transposed copy of all of them,
        // and another of their gradient).
        let (h, state) = self.layer().forward_time_major(inputs, state)?;
        // `[h ; 1] · W2` as `h · W2h` plus the bias's row: no copy of every context beside a
        // column of ones.
        let w2 = self.w2.val();
        let outputs = if self.bias {
            let bias = w2.clone().slice(s![d_hidden.., ..]);
            h.matmul(w2.slice(s![..d_hidden, ..])) + bias
        } else {
            h.matmul(w2)
        };
        let outputs = outputs
            .reshape([steps, batch, self.d_output()])
            .swap_dims(0, 1);
        Ok((outputs, state))
    }

    /// A run of `steps` time steps: [`Elman::step`] repeated, the outputs stacked (the
    /// tutorial's way, and the reference [`Elman::forward`] is held to).
    ///
    /// Returns the outputs `[batch, steps, d_output]` and the context after the last step.
    ///
    /// # Panics
    ///
    /// If `inputs` is not `[batch, steps, d_input]` or the context is not `[batch, d_hidden]`.
    pub fn forward_steps(&self, inputs: Tensor<3>, state: ElmanState) -> (Tensor<3>, ElmanState) {
        let [batch, steps, d_input] = inputs.dims();
        let mut state = state;
        let mut outputs = Vec::with_capacity(steps);
        for t in 0..steps {
            let input = inputs
                .clone()
                .slice(s![.., t..t + 1, ..])
                .reshape([batch, d_input]);
            let (output, next) = self.step(input, state);
            outputs.push(output);
            state = next;
        }
        (Tensor::stack(outputs, 1), state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn to_vec(t: Tensor<2>) -> Vec<f32> {
        t.into_data().try_into_vec_as::<f32>().unwrap()
    }

    /// One input, one hidden neuron, one output: `W1 = [[1], [2]]`, `W2 = [[3]]`.
    /// With `x = 0.5` and context `0.2`: `h = tanh(0.5 * 1 + 0.2 * 2) = tanh(0.9) = 0.716_297_87`
    /// and `y = 3 * h = 2.148_893_6`.
    #[test]
    fn one_step_by_hand() {
        let device = Device::flex();
        let weights = ElmanWeights {
            w1: vec![1.0, 2.0],
            w1_shape: [2, 1],
            w2: vec![3.0],
            w2_shape: [1, 1],
            cell: Cell::Elman,
            bias: false,
        };
        let model = weights.to_module(&device);
        let input = Tensor::from_data(TensorData::new(vec![0.5f32], [1, 1]), &device);
        let state = ElmanState::of(Tensor::from_data(
            TensorData::new(vec![0.2f32], [1, 1]),
            &device,
        ));
        let (output, state) = model.step(input, state);
        let h = to_vec(state.context)[0];
        let y = to_vec(output)[0];
        assert!((h - 0.716_297_87).abs() < 1e-6, "{h}");
        assert!((y - 2.148_893_6).abs() < 1e-5, "{y}");
    }

    #[test]
    fn sizes_come_from_the_weights() {
        let config = ElmanConfig {
            d_input: 3,
            d_hidden: 4,
            d_output: 2,
            ..ElmanConfig::default()
        };
        let model = config.init(0, &Device::flex());
        assert_eq!(model.w1.dims(), [7, 4]);
        assert_eq!(model.w2.dims(), [4, 2]);
        assert_eq!(
            (model.d_input(), model.d_hidden(), model.d_output()),
            (3, 4, 2)
        );
        let device = Device::flex();
        let (out, state) = model.step(
            Tensor::ones([5, 3], &device),
            ElmanState::zeros(5, 4, &device),
        );
        assert_eq!(out.dims(), [5, 2]);
        assert_eq!(state.context.dims(), [5, 4]);
    }

    /// A run of steps at once gives what the steps one by one give.
    #[test]
    fn forward_over_steps_is_the_step_repeated() {
        let config = ElmanConfig {
            d_input: 2,
            d_hidden: 5,
            d_output: 3,
            ..ElmanConfig::default()
        };
        let device = Device::flex();
        let model = config.init(4, &device);
        let inputs = Tensor::<3>::random([3, 4, 2], burn::tensor::Distribution::Default, &device);
        let start = ElmanState::of(Tensor::random(
            [3, 5],
            burn::tensor::Distribution::Default,
            &device,
        ));
        let (outputs, end) = model.forward_steps(inputs.clone(), start.clone());
        assert_eq!(outputs.dims(), [3, 4, 3]);
        let mut state = start;
        for t in 0..4 {
            let x = inputs.clone().slice(s![.., t..t + 1, ..]).reshape([3, 2]);
            let (y, next) = model.step(x, state);
            state = next;
            let at_t = outputs.clone().slice(s![.., t..t + 1, ..]).reshape([3, 3]);
            for (a, b) in to_vec(y).iter().zip(to_vec(at_t)) {
                assert!((a - b).abs() < 1e-6, "step {t}: {a} vs {b}");
            }
        }
        for (a, b) in to_vec(state.context).iter().zip(to_vec(end.context)) {
            assert!((a - b).abs() < 1e-6);
        }
    }

    #[test]
    fn weights_survive_the_trip_to_a_device_and_back() {
        let weights = ElmanWeights::init(&ElmanConfig::default(), 9);
        let back = ElmanWeights::from_module(&weights.to_module(&Device::flex()));
        assert_eq!(back, weights);
    }

    /// The loss of three unrolled steps from a zero context, in f64 on the host: the reference
    /// for the finite differences.
    fn host_loss(w: &ElmanWeights, xs: &[f64], ys: &[f64]) -> f64 {
        let [rows, d_hidden] = w.w1_shape;
        let mut h = vec![0.0f64; d_hidden];
        let mut loss = 0.0;
        for (&x, &y) in xs.iter().zip(ys) {
            let xh: Vec<f64> = std::iter::once(x).chain(h.iter().copied()).collect();
            h = (0..d_hidden)
                .map(|j| {
                    (0..rows)
                        .map(|i| xh[i] * f64::from(w.w1[i * d_hidden + j]))
                        .sum::<f64>()
                        .tanh()
                })
                .collect();
            let pred: f64 = (0..d_hidden).map(|j| h[j] * f64::from(w.w2[j])).sum();
            loss += (pred - y).powi(2) / 2.0;
        }
        loss
    }

    /// Autodiff gradients of `W1` and `W2` through three unrolled steps (so through the
    /// concatenated context too) agree with central finite differences.
    #[test]
    fn autodiff_gradients_match_finite_differences() {
        let device = Device::flex().autodiff();
        let weights = ElmanWeights::init(&ElmanConfig::default(), 5);
        let xs = [0.9f64, 0.6, 0.1];
        let ys = [0.6f64, 0.1, -0.4];

        let model = weights.to_module(&device);
        let mut state = ElmanState::zeros(1, 6, &device);
        let mut loss = Tensor::<1>::zeros([1], &device);
        for (&x, &y) in xs.iter().zip(&ys) {
            let input = Tensor::from_data(TensorData::new(vec![x as f32], [1, 1]), &device);
            let (pred, next) = model.step(input, state);
            let target = Tensor::from_data(TensorData::new(vec![y as f32], [1, 1]), &device);
            loss = loss + (pred - target).square().sum().div_scalar(2.0);
            state = next;
        }
        let grads = loss.backward();
        let g1 = to_vec(model.w1.grad(&grads).unwrap());
        let g2 = to_vec(model.w2.grad(&grads).unwrap());

        let eps = 1e-3;
        let numeric = |which: usize, index: usize| {
            let mut plus = weights.clone();
            let mut minus = weights.clone();
            let (p, m) = if which == 1 {
                (&mut plus.w1[index], &mut minus.w1[index])
            } else {
                (&mut plus.w2[index], &mut minus.w2[index])
            };
            *p += eps as f32;
            *m -= eps as f32;
            let step = f64::from(*p) - f64::from(*m);
            (host_loss(&plus, &xs, &ys) - host_loss(&minus, &xs, &ys)) / step
        };
        let mut largest = 0.0f64;
        for (index, &g) in g1.iter().enumerate() {
            let fd = numeric(1, index);
            assert!(
                (f64::from(g) - fd).abs() < 1e-4,
                "dW1[{index}]: {g} vs {fd}"
            );
            largest = largest.max(fd.abs());
        }
        for (index, &g) in g2.iter().enumerate() {
            let fd = numeric(2, index);
            assert!(
                (f64::from(g) - fd).abs() < 1e-4,
                "dW2[{index}]: {g} vs {fd}"
            );
            largest = largest.max(fd.abs());
        }
        assert!(
            largest > 1e-2,
            "the check compared gradients that are all ~0"
        );
    }
}
