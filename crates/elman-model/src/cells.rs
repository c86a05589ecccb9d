//! The cells beyond the tutorial's: [`Cell`] names them, and [`Elman::step`] runs them through
//! `gated_step` here, in Burn's tensor operations (they train through autodiff).

use burn::prelude::*;
use burn::tensor::activation;

use crate::{Elman, ElmanState};

#[cfg(test)]
mod tests;

/// The recurrent cell: the tutorial's Elman cell, or the gated cells that its lesson leads to.
///
/// Every cell keeps the explicit input layer `xh = [x ; 1 ; h]` (the `1` only with a bias) and
/// one matrix `W1` from it, the gates' columns side by side:
///
/// ```text
/// elman  W1: [xh, d]    h' = tanh(xh · W1)
/// lstm   W1: [xh, 4d]   i, f, g, o = σ, σ, tanh, σ of the four column blocks of xh · W1
///                       c' = f ⊙ c + i ⊙ g,   h' = o ⊙ tanh(c')
/// gru    W1: [xh, 3d]   z, r = σ of the first two blocks of xh · W1
///                       n = tanh([x ; 1 ; r ⊙ h] · W1[:, 2d..3d]),   h' = (1 - z) ⊙ n + z ⊙ h
/// ```
///
/// and the output `y = [h' ; 1] · W2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Cell {
    /// The tutorial's cell.
    #[default]
    Elman,
    /// Long short-term memory: input, forget and output gates and a memory cell.
    Lstm,
    /// Gated recurrent unit: update and reset gates.
    Gru,
}

impl Cell {
    /// Column blocks of `W1`, each `d_hidden` wide.
    pub fn gates(self) -> usize {
        match self {
            Cell::Elman => 1,
            Cell::Lstm => 4,
            Cell::Gru => 3,
        }
    }

    /// The cell's name in a config.
    pub fn name(self) -> &'static str {
        match self {
            Cell::Elman => "elman",
            Cell::Lstm => "lstm",
            Cell::Gru => "gru",
        }
    }
}

impl Elman {
    /// [`Elman::step`] for a cell with a bias or gates (see [`Cell`]), in Burn's tensor
    /// operations.
    pub(crate) fn gated_step(
        &self,
        input: Tensor<2>,
        state: ElmanState,
    ) -> (Tensor<2>, ElmanState) {
        let state = recurrent_step(self.w1.val(), self.cell, self.bias, input, state);
        let output = with_bias_column(state.context.clone(), self.bias).matmul(self.w2.val());
        (output, state)
    }
}

/// `[t ; 1]`, the bias's constant after `t`'s columns, where there is a bias; `t` otherwise.
pub(crate) fn with_bias_column(t: Tensor<2>, bias: bool) -> Tensor<2> {
    if bias {
        let ones = Tensor::ones([t.dims()[0], 1], &t.device());
        Tensor::cat(vec![t, ones], 1)
    } else {
        t
    }
}

/// One step of the recurrent layer alone, any cell: the state after `input` (`[batch,
/// d_input]`) from `state`, through `w1` (see [`Cell`]). The tutorial's cell takes
/// [`kernel::tanh`](crate::kernel::tanh), as [`Elman::step`] does.
pub(crate) fn recurrent_step(
    w1: Tensor<2>,
    cell: Cell,
    bias: bool,
    input: Tensor<2>,
    state: ElmanState,
) -> ElmanState {
    let [batch, _] = input.dims();
    let d = w1.dims()[1] / cell.gates();
    let device = input.device();
    // [x ; 1 ; h]: the input layer, with the bias's constant where there is one.
    let layer = |h: Tensor<2>| {
        let mut parts = vec![input.clone()];
        if bias {
            parts.push(Tensor::<2>::ones([batch, 1], &device));
        }
        parts.push(h);
        Tensor::cat(parts, 1)
    };
    let block = |a: &Tensor<2>, k: usize| a.clone().slice(s![.., k * d..(k + 1) * d]);
    let h = state.context;
    let (context, memory) = match cell {
        Cell::Elman if bias => (layer(h).matmul(w1).tanh(), None),
        Cell::Elman => (crate::kernel::tanh(layer(h).matmul(w1)), None),
        Cell::Lstm => {
            let a = layer(h).matmul(w1);
            let c = state
                .memory
                .unwrap_or_else(|| Tensor::zeros([batch, d], &device));
            let (i, f) = (
                activation::sigmoid(block(&a, 0)),
                activation::sigmoid(block(&a, 1)),
            );
            let (g, o) = (block(&a, 2).tanh(), activation::sigmoid(block(&a, 3)));
            let c = f * c + i * g;
            (o * c.clone().tanh(), Some(c))
        }
        Cell::Gru => {
            let gates = layer(h.clone()).matmul(w1.clone().slice(s![.., 0..2 * d]));
            let (z, r) = (
                activation::sigmoid(block(&gates, 0)),
                activation::sigmoid(block(&gates, 1)),
            );
            let n = layer(r * h.clone())
                .matmul(w1.slice(s![.., 2 * d..3 * d]))
                .tanh();
            (z.clone().neg().add_scalar(1.0) * n + z * h, None)
        }
    };
    ElmanState { context, memory }
}
