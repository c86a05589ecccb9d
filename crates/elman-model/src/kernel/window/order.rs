//! The layer's contexts from time-major rows to batch-major order, as one differentiable
//! operation: `[T·B, d]` (step `t`'s rows `t·B .. (t+1)·B`, as the windows give them) seen as
//! `[B, T, d]` (as `burn::nn`'s layers give theirs), forward a view of the same memory (no
//! copy), backward the gradient's rows gathered back into time-major order. Through Burn's own
//! `reshape` and `swap_dims` the view's gradient, batch-major, was copied back by one thread in
//! a tiled transpose: 11% of the Elman layer's training at hidden 64 on one core. On Flex each
//! row is one contiguous copy, the rows split between the pool's threads. The view may take its
//! rows from a larger tensor (the LSTM's `[h0 ; h_1 … h_T ; c_T]`): its gradient is then that
//! tensor's, zero outside the contexts, where a slice's backward pass zeroed all of it and
//! copied the contexts in (the LSTM's training at 64 ran 4% faster without).

// NdArray is deprecated by Burn 0.22 but stays one of the project's backends, and the
// extension's generated dispatch names it.
#![allow(deprecated)]

use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Dispatch, Flex, TensorMetadata, backend_extension};
use burn::prelude::*;
use rayon::prelude::*;

use super::flex_output::StepRows;
use crate::kernel::flex::{tensor, values};

/// Time-major rows as batch-major contexts (see the module's notes).
#[backend_extension(
    Flex,
    Cube: cfg(any(feature = "wgpu", feature = "cuda")),
    NdArray: cfg(feature = "ndarray"),
    Autodiff: cfg(feature = "autodiff"),
)]
pub trait BatchMajorOps: Backend {
    /// Rows `first .. first + steps·batch` of `rows` (`[R, d]`: the contexts, time-major, of a
    /// batch of `batch`, among other rows) as `[B, T, d]`, a view.
    fn elman_batch_major(
        rows: FloatTensor<Self>,
        batch: usize,
        first: usize,
        steps: usize,
    ) -> FloatTensor<Self> {
        let contexts = super::steps::rows::<Self>(rows, first..first + steps * batch);
        let d = contexts.shape()[1];
        let steps = Self::float_reshape(contexts, Shape::new([steps, batch, d]));
        Self::float_swap_dims(steps, 0, 1)
    }
}

/// The backward half: a gradient `[B, T, d]` as the gradient of all `total` rows, time-major
/// from row `first` and zero elsewhere (by default in the backend's own operations).
pub(crate) trait TimeMajorRows: Backend {
    /// `grad`'s rows in time-major order from row `first` of `total`.
    fn time_major_rows(grad: FloatTensor<Self>, total: usize, first: usize) -> FloatTensor<Self> {
        let [batch, steps, d] = grad.shape().dims();
        let (device, dtype) = (grad.device(), grad.dtype().into());
        let steps_first = Self::float_swap_dims(grad, 0, 1);
        let contexts = Self::float_reshape(steps_first, Shape::new([steps * batch, d]));
        let after = total - first - steps * batch;
        if first == 0 && after == 0 {
            return contexts;
        }
        let zeros = |rows: usize| Self::float_zeros(Shape::new([rows, d]), &device, dtype);
        let mut parts = Vec::with_capacity(3);
        if first > 0 {
            parts.push(zeros(first));
        }
        parts.push(contexts);
        if after > 0 {
            parts.push(zeros(after));
        }
        Self::float_cat(parts, 0)
    }
}

impl BatchMajorOps for Flex {}

impl TimeMajorRows for Flex {
    fn time_major_rows(grad: FlexTensor, total: usize, first: usize) -> FlexTensor {
        let [batch, steps, d] = grad.shape().dims();
        let grad = values(&grad);
        let rows = steps * batch;
        let per = rows.div_ceil(rayon::current_num_threads()).max(1);
        let mut out = StepRows::new(total * d);
        let zeros = vec![0.0f32; first.max(total - first - rows) * d];
        out.push(&zeros[..first * d]);
        out.step(rows * d, per * d, |_, parts| {
            parts.into_par_iter().enumerate().for_each(|(k, mut part)| {
                for row in k * per..rows.min((k + 1) * per) {
                    let (t, b) = (row / batch, row % batch);
                    part.append(&grad[(b * steps + t) * d..][..d]);
                }
            });
        });
        out.push(&zeros[..(total - first - rows) * d]);
        tensor(out.into_vec(), total, d)
    }
}

#[cfg(any(feature = "wgpu", feature = "cuda"))]
impl BatchMajorOps for burn::backend::Cube {}
#[cfg(any(feature = "wgpu", feature = "cuda"))]
impl TimeMajorRows for burn::backend::Cube {}
#[cfg(feature = "ndarray")]
impl BatchMajorOps for burn::backend::NdArray {}
#[cfg(feature = "ndarray")]
impl TimeMajorRows for burn::backend::NdArray {}

#[cfg(feature = "autodiff")]
mod autodiff {
    use burn::backend::autodiff::checkpoint::base::Checkpointer;
    use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
    use burn::backend::autodiff::grads::Gradients;
    use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
    use burn::backend::tensor::FloatTensor;
    use burn::backend::{Autodiff, Backend, TensorMetadata};

    use super::{BatchMajorOps, TimeMajorRows};

    /// The node of the view; its parent is the rows it views, `(rows, first)` its state.
    #[derive(Debug)]
    struct BatchMajor;

    impl<B: TimeMajorRows> Backward<B, 1> for BatchMajor {
        type State = (usize, usize);

        fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
            let grad = grads.consume::<B>(&ops.node);
            let (total, first) = ops.state;
            if let [Some(node)] = ops.parents {
                grads.register::<B>(node.id, B::time_major_rows(grad, total, first));
            }
        }
    }

    impl<B, C> BatchMajorOps for Autodiff<B, C>
    where
        B: Backend + BatchMajorOps + TimeMajorRows,
        C: CheckpointStrategy,
    {
        fn elman_batch_major(
            rows: FloatTensor<Self>,
            batch: usize,
            first: usize,
            steps: usize,
        ) -> FloatTensor<Self> {
            let nodes = [rows.node()];
            let rows = rows.into_primitive();
            let total = rows.shape()[0];
            let view = B::elman_batch_major(rows, batch, first, steps);
            match BatchMajor.prepare::<C>(nodes).compute_bound().stateful() {
                OpsKind::Tracked(prep) => prep.finish((total, first), view),
                OpsKind::UnTracked(prep) => prep.finish(view),
            }
        }
    }
}

/// [`BatchMajorOps::elman_batch_major`] on Burn tensors: rows `first .. first + steps·batch` of
/// `rows`, time-major contexts of a batch of `batch`, as `[B, T, d]`, differentiable on an
/// autodiff device.
pub(crate) fn batch_major(rows: Tensor<2>, batch: usize, first: usize, steps: usize) -> Tensor<3> {
    Tensor::from_dispatch(<Dispatch as BatchMajorOps>::elman_batch_major(
        rows.into_dispatch(),
        batch,
        first,
        steps,
    ))
}
