//! How the hand-derived paths lay the network and a window out: `W1` split at the input layer's
//! border, `W2`'s hidden rows and bias row, the outputs, time-major rows, the [`Window`] a
//! hand-derived pass over a window gives back, and the weights between the model and plain
//! tensors. A leaf module: the paths import it, it imports none of them.

use burn::prelude::*;
use elman_model::{Elman, ElmanWeights};

/// `W1` split at the input layer's border: `(W1x, W1h)`.
pub(crate) fn split(w1: &Tensor<2>, d_input: usize) -> (Tensor<2>, Tensor<2>) {
    (
        w1.clone().slice(s![0..d_input, ..]),
        w1.clone().slice(s![d_input.., ..]),
    )
}

/// `W2` split into the hidden layer's rows and, with a bias, its last row: `(W2h, b2)`.
pub(crate) fn readout(w2: &Tensor<2>, d_hidden: usize) -> (Tensor<2>, Option<Tensor<2>>) {
    let rows = w2.dims()[0];
    let w2h = w2.clone().slice(s![0..d_hidden, ..]);
    let b2 = (rows > d_hidden).then(|| w2.clone().slice(s![d_hidden..rows, ..]));
    (w2h, b2)
}

/// The outputs `h · W2h (+ b2)`.
pub(crate) fn outputs(h: Tensor<2>, w2h: &Tensor<2>, b2: &Option<Tensor<2>>) -> Tensor<2> {
    let y = h.matmul(w2h.clone());
    match b2 {
        Some(b2) => y + b2.clone(),
        None => y,
    }
}

/// `[batch, T, d]` as time-major rows `[T·batch, d]`.
pub(crate) fn time_major(t: Tensor<3>) -> Tensor<2> {
    let [batch, steps, d] = t.dims();
    t.swap_dims(0, 1).reshape([steps * batch, d])
}

/// What one window gives: its loss (still on the device), the gradients and the last context.
pub(crate) struct Window {
    /// The window's loss as values that add up to it, still on the device: the loss's terms
    /// (`[rows · d_output]`) from the kernels' read-out, which on a GPU leaves the sum to the
    /// host (two launches fewer per window); `[1]` elsewhere.
    pub loss: Tensor<1>,
    /// `[dL/dW1, dL/dW2]`.
    pub grads: [Tensor<2>; 2],
    /// `h_T`, the context the next window starts from.
    pub last: Tensor<2>,
}

/// The model's weights as plain tensors (no autodiff), for the paths that compute gradients by
/// hand.
pub(crate) fn weights_of(model: &Elman) -> [Tensor<2>; 2] {
    [
        model.w1.val().without_autodiff(),
        model.w2.val().without_autodiff(),
    ]
}

/// Host weights as plain tensors on `device`'s backend, for [`set_weights`].
pub(crate) fn on_device(weights: &ElmanWeights, device: &Device) -> [Tensor<2>; 2] {
    let device = device.clone().without_autodiff();
    [
        Tensor::from_data(
            TensorData::new(weights.w1.clone(), weights.w1_shape),
            &device,
        ),
        Tensor::from_data(
            TensorData::new(weights.w2.clone(), weights.w2_shape),
            &device,
        ),
    ]
}

/// Puts the weights a hand-derived path computed back into the (autodiff) model, as tensors
/// that do not require gradients: a `require_grad` tensor registers a leaf with Burn's autodiff
/// that only a backward pass releases, and these paths never run one (that held about 6 KB per
/// epoch for good, and took almost half the tutorial's time on Flex).
pub(crate) fn set_weights(model: &mut Elman, [w1, w2]: [Tensor<2>; 2]) {
    model.w1 = model.w1.clone().map(|_| w1.autodiff());
    model.w2 = model.w2.clone().map(|_| w2.autodiff());
}
