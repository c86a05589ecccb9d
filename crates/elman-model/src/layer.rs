//! The recurrent layer as a Burn user builds models from it, in the shape of `burn::nn`'s
//! `Rnn`/`Lstm`/`Gru`: [`ElmanLayer::forward`] takes `[batch, time, d_input]` and an optional
//! state and gives every step's context, `[batch, time, d_hidden]`, and the state after the
//! last step, so that a head of the user's own (a `burn::nn::Linear`) reads the contexts and
//! `loss.backward()` reaches the layer's `W1`, its inputs and the state it started from.
//!
//! The tutorial's explicit input layer stays: `W1` is `[d_input (+ 1) + d_hidden, gates ·
//! d_hidden]` over `[x ; 1 ; h]` (see [`Cell`]). For every cell, with or without a bias, the
//! window's recurrence is one differentiable operation ([`kernel::recurrence`],
//! [`kernel::lstm_recurrence`], [`kernel::gru_recurrence`]) on Flex, CubeCL and NdArray
//! devices; elsewhere the layer takes its steps one by one through the same arithmetic as
//! [`Elman::step`](crate::Elman::step) ([`ElmanLayer::forward_steps`], the reference the tests
//! hold the one operation to).
//!
//! Invariant: a shape that does not fit is a [`LayerError`] naming the shapes, never a panic.

use burn::module::Param;
use burn::prelude::*;

use crate::cells::recurrent_step;
use crate::{Cell, ElmanConfig, ElmanState, ElmanWeights, kernel};

/// The sizes, the cell and the initial weight scale of an [`ElmanLayer`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ElmanLayerConfig {
    /// Input features at each time step.
    pub d_input: usize,
    /// Hidden (and context) neurons.
    pub d_hidden: usize,
    /// The recurrent cell.
    pub cell: Cell,
    /// A bias: a constant `1` in the input layer, its weights a row of `W1`.
    pub bias: bool,
    /// Standard deviation of the normal draw of `W1` (the tutorial's 0.4).
    pub w1_std: f64,
}

impl ElmanLayerConfig {
    /// The tutorial's cell, without a bias, `W1 ~ N(0, 0.4)`.
    pub fn new(d_input: usize, d_hidden: usize) -> Self {
        Self {
            d_input,
            d_hidden,
            cell: Cell::Elman,
            bias: false,
            w1_std: ElmanConfig::default().w1_std,
        }
    }

    /// The same with another cell.
    pub fn with_cell(self, cell: Cell) -> Self {
        Self { cell, ..self }
    }

    /// The same with or without a bias.
    pub fn with_bias(self, bias: bool) -> Self {
        Self { bias, ..self }
    }

    /// Draws `W1` from `seed` on the host (the same draw as [`ElmanConfig::init`]'s `W1` for
    /// these sizes) and puts the layer on `device`.
    pub fn init(&self, seed: u64, device: &Device) -> ElmanLayer {
        let network = ElmanConfig {
            d_input: self.d_input,
            d_hidden: self.d_hidden,
            d_output: 1,
            w1_std: self.w1_std,
            cell: self.cell,
            bias: self.bias,
            ..ElmanConfig::default()
        };
        let weights = ElmanWeights::init(&network, seed);
        let w1 = Tensor::from_data(TensorData::new(weights.w1, weights.w1_shape), device);
        ElmanLayer {
            w1: Param::from_tensor(w1),
            cell: self.cell,
            bias: self.bias,
        }
    }
}

/// A recurrent layer: the input layer `[x ; 1 ; h]` times `W1`, and the cell's activations.
#[derive(Module, Debug)]
pub struct ElmanLayer {
    /// Input layer (inputs, the bias's `1`, then context) to the gates: `[d_input (+ 1) +
    /// d_hidden, gates · d_hidden]`.
    pub w1: Param<Tensor<2>>,
    /// The recurrent cell.
    #[module(skip)]
    pub cell: Cell,
    /// Whether the input layer has a bias's constant.
    #[module(skip)]
    pub bias: bool,
}

/// A shape that the layer cannot take, with the shapes it got and takes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LayerError {
    /// The input is not `[batch, time, d_input]` with a batch and a step.
    #[error(
        "the layer's input is {input:?}, but it takes [batch, time, {d_input}] with at least one sequence and one step"
    )]
    Input {
        /// The input's shape.
        input: Vec<usize>,
        /// The features the layer takes.
        d_input: usize,
    },
    /// The state's context or memory is not `[batch, d_hidden]`.
    #[error("the state's {part} is {got:?}, but a batch of {batch} takes [{batch}, {d_hidden}]")]
    State {
        /// `context` or `memory`.
        part: &'static str,
        /// Its shape.
        got: [usize; 2],
        /// The input's batch.
        batch: usize,
        /// The layer's neurons.
        d_hidden: usize,
    },
}

/// The `count` context rows of a window's `rows` from row `first` on: the rows themselves
/// where they are only the contexts, else a slice.
fn contexts_of(rows: Tensor<2>, first: usize, count: usize) -> Tensor<2> {
    if first == 0 && rows.dims()[0] == count {
        rows
    } else {
        rows.slice(s![first..first + count, ..])
    }
}

impl ElmanLayer {
    /// Input features.
    pub fn d_input(&self) -> usize {
        self.w1.dims()[0] - usize::from(self.bias) - self.d_hidden()
    }

    /// Hidden (and context) neurons.
    pub fn d_hidden(&self) -> usize {
        self.w1.dims()[1] / self.cell.gates()
    }

    /// Every step's context for `input` (`[batch, time, d_input]`) from `state` (zeros when
    /// `None`): `([batch, time, d_hidden], the state after the last step)`. On a device
    /// [`kernel::recurrence_differentiable`] names, the window is one operation with a
    /// hand-written backward pass, for every cell; otherwise [`ElmanLayer::forward_steps`].
    pub fn forward(
        &self,
        input: Tensor<3>,
        state: Option<ElmanState>,
    ) -> Result<(Tensor<3>, ElmanState), LayerError> {
        let [batch, time, _] = input.dims();
        let device = input.device();
        let (rows, first, state) = self.window(input, state)?;
        let contexts = if kernel::recurrence_differentiable(&device) {
            // A view whose gradient's rows go back to time-major order in one operation.
            kernel::batch_major(rows, batch, first, time)
        } else {
            let contexts = contexts_of(rows, first, time * batch);
            let d = contexts.dims()[1];
            contexts.reshape([time, batch, d]).swap_dims(0, 1)
        };
        Ok((contexts, state))
    }

    /// [`ElmanLayer::forward`] with the contexts time-major, `[time · batch, d_hidden]` (step
    /// `t`'s rows `t·B .. (t+1)·B`), as the one operation gives them: a read-out of every step
    /// (`Elman::forward`'s) multiplies them as they are, and only its outputs change order.
    pub(crate) fn forward_time_major(
        &self,
        input: Tensor<3>,
        state: Option<ElmanState>,
    ) -> Result<(Tensor<2>, ElmanState), LayerError> {
        let [batch, time, _] = input.dims();
        let (rows, first, state) = self.window(input, state)?;
        Ok((contexts_of(rows, first, time * batch), state))
    }

    /// The window's rows, the first of its contexts among them (time-major from there: the
    /// Elman cell's and the GRU's operations give the contexts alone, the LSTM's `[h0 ; h_1 …
    /// h_T ; c_T]`, whose contexts a view of the whole takes without a slice, whose backward
    /// pass writes a zero array of all it was cut from), and the state after the last step.
    fn window(
        &self,
        input: Tensor<3>,
        state: Option<ElmanState>,
    ) -> Result<(Tensor<2>, usize, ElmanState), LayerError> {
        let state = self.checked(&input, state)?;
        let [batch, time, _] = input.dims();
        let d_hidden = self.d_hidden();
        if !kernel::recurrence_differentiable(&input.device()) {
            let (contexts, state) = self.steps(input, state);
            let contexts = contexts.swap_dims(0, 1).reshape([time * batch, d_hidden]);
            return Ok((contexts, 0, state));
        }
        // Time-major, with the bias's constant after the inputs: [x ; 1], W1's rows before h's.
        let x = kernel::input_rows(input, self.bias);
        // The rows, the first context's, the last context and the LSTM's memory (each a slice).
        let with_last = |contexts: Tensor<2>| {
            let context = contexts.clone().slice(s![(time - 1) * batch.., ..]);
            (contexts, 0, context, None)
        };
        let (rows, first, context, memory) = match self.cell {
            Cell::Lstm => {
                let c0 = state
                    .memory
                    .unwrap_or_else(|| Tensor::zeros([batch, d_hidden], &x.device()));
                let out = kernel::lstm_recurrence(x, self.w1.val(), state.context, c0);
                let rows = (time + 1) * batch;
                let memory = out.clone().slice(s![rows.., ..]);
                let context = out.clone().slice(s![time * batch..rows, ..]);
                (out, batch, context, Some(memory))
            }
            Cell::Gru => with_last(kernel::gru_recurrence(x, self.w1.val(), state.context)),
            Cell::Elman => with_last(kernel::recurrence(x, self.w1.val(), state.context)),
        };
        Ok((rows, first, ElmanState { context, memory }))
    }

    /// [`ElmanLayer::forward`] one step at a time, each the arithmetic of
    /// [`Elman::step`](crate::Elman::step) in Burn's tensor operations (under autodiff, a dozen
    /// recorded operations a step): the readable reference.
    pub fn forward_steps(
        &self,
        input: Tensor<3>,
        state: Option<ElmanState>,
    ) -> Result<(Tensor<3>, ElmanState), LayerError> {
        let state = self.checked(&input, state)?;
        Ok(self.steps(input, state))
    }

    fn steps(&self, input: Tensor<3>, mut state: ElmanState) -> (Tensor<3>, ElmanState) {
        let [batch, time, d_input] = input.dims();
        let mut contexts = Vec::with_capacity(time);
        for t in 0..time {
            let x = input
                .clone()
                .slice(s![.., t..t + 1, ..])
                .reshape([batch, d_input]);
            state = recurrent_step(self.w1.val(), self.cell, self.bias, x, state);
            contexts.push(state.context.clone());
        }
        (Tensor::stack(contexts, 1), state)
    }

    /// The state to start from, once the shapes are known to fit.
    fn checked(
        &self,
        input: &Tensor<3>,
        state: Option<ElmanState>,
    ) -> Result<ElmanState, LayerError> {
        let [batch, time, d_input] = input.dims();
        let d_hidden = self.d_hidden();
        if d_input != self.d_input() || batch == 0 || time == 0 {
            return Err(LayerError::Input {
                input: input.dims().to_vec(),
                d_input: self.d_input(),
            });
        }
        let Some(state) = state else {
            return Ok(ElmanState::zeros(batch, d_hidden, &input.device()));
        };
        let fits = |part: &'static str, got: [usize; 2]| {
            if got == [batch, d_hidden] {
                Ok(())
            } else {
                Err(LayerError::State {
                    part,
                    got,
                    batch,
                    d_hidden,
                })
            }
        };
        fits("context", state.context.dims())?;
        if let Some(memory) = &state.memory {
            fits("memory", memory.dims())?;
        }
        Ok(state)
    }
}

#[cfg(test)]
mod tests;
