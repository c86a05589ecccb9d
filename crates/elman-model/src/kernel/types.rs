//! The kernels' plain types, the same with and without the `flex` feature (`lib.rs`'s stand-in
//! module includes this file too).

use burn::prelude::*;

/// The coefficients of one Adam update ([`adam`](super::adam)).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamStep {
    /// The learning rate.
    pub lr: f64,
    /// The first moment's decay rate, `β1`.
    pub beta_1: f64,
    /// The second moment's decay rate, `β2`.
    pub beta_2: f64,
    /// `ε`, added to the second moment's root.
    pub epsilon: f64,
    /// The first moment's bias correction, `1 - β1^t` at update `t`.
    pub c1: f64,
    /// The second moment's bias correction, `1 - β2^t`.
    pub c2: f64,
}

/// What [`sgd_epochs`](super::sgd_epochs) gives: the weights after the last epoch, on the device, and every
/// epoch's residuals and weights on the host.
pub struct Epochs {
    /// `[W1', W2']` after the last epoch.
    pub weights: [Tensor<2>; 2],
    /// The residuals `y_t - target_t` of every epoch's steps, epoch after epoch, `d_output`
    /// values per step.
    pub residuals: Vec<f32>,
    /// Both matrices after each epoch: one row of `|W1| + |W2|` values per epoch, `W1` then
    /// `W2`, row-major.
    pub weights_after: Vec<f32>,
}
