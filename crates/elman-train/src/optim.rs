//! SGD and Adam for the two weight matrices, with their state as plain tensors.
//!
//! Burn's `ModuleOptimizer` would do the updates as well, but restoring its saved state
//! materializes tensors on `Device::default()` (the GPU, when wgpu is compiled in), which fails
//! on a machine without a GPU driver even when the run is on a CPU backend. Two matrices need
//! little code, and the state is then just four tensors a checkpoint can store.

use burn::module::Param;
use burn::prelude::*;
use burn::tensor::Gradients;
use elman_model::Elman;
use elman_model::kernel::{self, AdamStep};

use crate::{OptimizerKind, TrainConfig};

/// Adam's hyper-parameters, PyTorch's defaults.
const BETA_1: f64 = 0.9;
const BETA_2: f64 = 0.999;
const EPSILON: f64 = 1e-8;

/// The optimizer's state on the device: for Adam the step count and both moments of each matrix.
#[derive(Debug, Clone)]
struct OptimizerState {
    /// Updates done so far.
    step: u64,
    /// Adam's first and second moments of `W1` and `W2`, in that order (empty for SGD).
    moments: Vec<Tensor<2>>,
}

/// The optimizer's state on the host, as a checkpoint stores it.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedOptimizer {
    /// Updates done so far.
    pub step: u64,
    /// Adam's moments, `m(W1)`, `v(W1)`, `m(W2)`, `v(W2)`, each row-major with its shape
    /// (empty for SGD).
    pub moments: Vec<(Vec<f32>, [usize; 2])>,
}

pub(crate) struct Optimizer {
    kind: OptimizerKind,
    lr: f64,
    grad_clip: Option<f64>,
    /// Whether Adam's update may run as one kernel per matrix (`TrainConfig::kernels`).
    kernels: bool,
    state: OptimizerState,
}

impl Optimizer {
    pub(crate) fn new(config: &TrainConfig) -> Self {
        Self {
            kind: config.optimizer,
            lr: config.lr,
            grad_clip: config.grad_clip,
            kernels: config.kernels,
            state: OptimizerState {
                step: 0,
                moments: Vec::new(),
            },
        }
    }

    /// Continues from a saved state, put on `device`.
    pub(crate) fn resume(config: &TrainConfig, saved: &SavedOptimizer, device: &Device) -> Self {
        let mut optim = Self::new(config);
        let device = device.clone().without_autodiff();
        optim.state = OptimizerState {
            step: saved.step,
            moments: saved
                .moments
                .iter()
                .map(|(values, shape)| {
                    Tensor::from_data(TensorData::new(values.clone(), *shape), &device)
                })
                .collect(),
        };
        optim
    }

    /// The state, read back to the host.
    pub(crate) fn save(&self) -> SavedOptimizer {
        SavedOptimizer {
            step: self.state.step,
            moments: self
                .state
                .moments
                .iter()
                .map(|m| {
                    let shape = m.dims();
                    // Sync point.
                    let values = m.to_data().try_into_vec_as::<f32>().expect("float moments");
                    (values, shape)
                })
                .collect(),
        }
    }

    /// One update of both matrices from the gradients of the last backward pass.
    pub(crate) fn step(&mut self, mut model: Elman, grads: &Gradients) -> Elman {
        let grad = |param: &Param<Tensor<2>>| {
            param
                .grad(grads)
                .expect("both weights take part in the loss")
                .without_autodiff()
        };
        let g = [grad(&model.w1), grad(&model.w2)];
        let w = [
            model.w1.val().without_autodiff(),
            model.w2.val().without_autodiff(),
        ];
        let [w1, w2] = self.update(w, g);

        // New leaves that require gradients, with the same parameter ids.
        model.w1 = model.w1.map(|_| w1.autodiff().require_grad());
        model.w2 = model.w2.map(|_| w2.autodiff().require_grad());
        model
    }

    /// Whether [`Optimizer::update`] is plain `w - lr * g`, which a caller may fold into its own
    /// arithmetic.
    pub(crate) fn is_plain_sgd(&self) -> bool {
        self.kind == OptimizerKind::Sgd && self.grad_clip.is_none()
    }

    /// The learning rate.
    pub(crate) fn lr(&self) -> f64 {
        self.lr
    }

    /// Sets the learning rate of the updates to come (a schedule's).
    pub(crate) fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }

    /// Counts `n` updates the caller did itself (see [`Optimizer::is_plain_sgd`]).
    pub(crate) fn count_steps(&mut self, n: usize) {
        self.state.step += n as u64;
    }

    /// One update of the weights `w` (without autodiff) from their gradients `g`.
    pub(crate) fn update(&mut self, w: [Tensor<2>; 2], mut g: [Tensor<2>; 2]) -> [Tensor<2>; 2] {
        // Clip the global L2 norm of both gradients together, on the device (no sync).
        if let Some(max_norm) = self.grad_clip {
            let norm = (g[0].clone().square().sum() + g[1].clone().square().sum()).sqrt();
            let scale = norm
                .add_scalar(1e-6)
                .recip()
                .mul_scalar(max_norm)
                .clamp_max(1.0)
                .unsqueeze::<2>();
            g = g.map(|g| g * scale.clone());
        }

        self.state.step += 1;
        let updates: [Tensor<2>; 2] = match self.kind {
            OptimizerKind::Sgd => g.map(|g| g.mul_scalar(self.lr)),
            OptimizerKind::Adam => {
                if self.state.moments.is_empty() {
                    self.state.moments = g
                        .iter()
                        .flat_map(|g| [g.zeros_like(), g.zeros_like()])
                        .collect();
                }
                let t = self.state.step as i32;
                let (c1, c2) = (1.0 - BETA_1.powi(t), 1.0 - BETA_2.powi(t));
                let moments = std::mem::take(&mut self.state.moments);
                let mut moments = moments.into_iter();
                let mut next = Vec::with_capacity(4);
                if self.kernels && kernel::adam_available(&w[0].device()) {
                    // One kernel for both matrices, on the weights, the gradients and the
                    // moments at once, where the operations below are 14 per matrix (28
                    // launches on a GPU).
                    let step = AdamStep {
                        lr: self.lr,
                        beta_1: BETA_1,
                        beta_2: BETA_2,
                        epsilon: EPSILON,
                        c1,
                        c2,
                    };
                    let mut moment = || moments.next().expect("a moment");
                    let ([w1, w2], [g1, g2]) = (w, g);
                    let (m1, v1, m2, v2) = (moment(), moment(), moment(), moment());
                    let [[w1, m1, v1], [w2, m2, v2]] =
                        kernel::adam([w1, g1, m1, v1], [w2, g2, m2, v2], step);
                    self.state.moments = vec![m1, v1, m2, v2];
                    return [w1, w2];
                }
                let updates = g.map(|g| {
                    let m = moments.next().expect("first moment");
                    let v = moments.next().expect("second moment");
                    let m = m.mul_scalar(BETA_1) + g.clone().mul_scalar(1.0 - BETA_1);
                    let v = v.mul_scalar(BETA_2) + g.square().mul_scalar(1.0 - BETA_2);
                    let update = m.clone().div_scalar(c1).mul_scalar(self.lr)
                        / v.clone().div_scalar(c2).sqrt().add_scalar(EPSILON);
                    next.push(m);
                    next.push(v);
                    update
                });
                self.state.moments = next;
                updates
            }
        };
        let [w1, w2] = w;
        let [u1, u2] = updates;
        [w1 - u1, w2 - u2]
    }
}

#[cfg(test)]
mod tests;
