//! The layer's contexts from time-major rows to batch-major order, as one differentiable
//! operation: `[T·B, d]` (step `t`'s rows `t·B .. (t+1)·B`, as the windows give them) seen as
//! `[B, T, d]` (as `burn::nn`'s layers give theirs), forward a view of the same memory (no
//! copy), backward the gradient's rows gathered back into time-major order. Through Burn's own
//! `reshape` and `swap_dims` the view's gradient, batch-major, was copied back by one thread in
//! a tiled transpose: 11% of the Elman layer's training at hidden 64 on one core. On Flex each
//! row is one contiguous copy, the rows split between the pool's threads.

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
    /// `contexts` (`[T·B, d]`, time-major, for a batch of `batch`) as `[B, T, d]`, a view.
    fn elman_batch_major(contexts: FloatTensor<Self>, batch: usize) -> FloatTensor<Self> {
        let [rows, d] = contexts.shape().dims();
        let steps = Self::float_reshape(contexts, Shape::new([rows / batch.max(1), batch, d]));
        Self::float_swap_dims(steps, 0, 1)
    }
}

/// The backward half: a gradient `[B, T, d]` as time-major rows `[T·B, d]` (by default in the
/// backend's own operations).
pub(crate) trait TimeMajorRows: Backend {
    /// `grad`'s rows in time-major order.
    fn time_major_rows(grad: FloatTensor<Self>) -> FloatTensor<Self> {
        let [batch, steps, d] = grad.shape().dims();
        let steps_first = Self::float_swap_dims(grad, 0, 1);
        Self::float_reshape(steps_first, Shape::new([steps * batch, d]))
    }
}

impl BatchMajorOps for Flex {}

impl TimeMajorRows for Flex {
    fn time_major_rows(grad: FlexTensor) -> FlexTensor {
        let [batch, steps, d] = grad.shape().dims();
        let grad = values(&grad);
        let rows = steps * batch;
        let per = rows.div_ceil(rayon::current_num_threads()).max(1);
        let mut out = StepRows::new(rows * d);
        out.step(rows * d, per * d, |_, parts| {
            parts.into_par_iter().enumerate().for_each(|(k, mut part)| {
                for row in k * per..rows.min((k + 1) * per) {
                    let (t, b) = (row / batch, row % batch);
                    part.append(&grad[(b * steps + t) * d..][..d]);
                }
            });
        });
        tensor(out.into_vec(), rows, d)
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
    use burn::backend::autodiff::ops::{Backward, Ops};
    use burn::backend::tensor::FloatTensor;
    use burn::backend::{Autodiff, Backend};

    use super::{BatchMajorOps, TimeMajorRows};

    /// The node of the view; its parent is the time-major contexts.
    #[derive(Debug)]
    struct BatchMajor;

    impl<B: TimeMajorRows> Backward<B, 1> for BatchMajor {
        type State = ();

        fn backward(self, ops: Ops<(), 1>, grads: &mut Gradients, _: &mut Checkpointer) {
            let grad = grads.consume::<B>(&ops.node);
            if let [Some(node)] = ops.parents {
                grads.register::<B>(node.id, B::time_major_rows(grad));
            }
        }
    }

    impl<B, C> BatchMajorOps for Autodiff<B, C>
    where
        B: Backend + BatchMajorOps + TimeMajorRows,
        C: CheckpointStrategy,
    {
        fn elman_batch_major(contexts: FloatTensor<Self>, batch: usize) -> FloatTensor<Self> {
            let nodes = [contexts.node()];
            let view = B::elman_batch_major(contexts.into_primitive(), batch);
            BatchMajor
                .prepare::<C>(nodes)
                .compute_bound()
                .stateless(view)
        }
    }
}

/// [`BatchMajorOps::elman_batch_major`] on Burn tensors: time-major `[T·B, d]` contexts of a
/// batch of `batch` as `[B, T, d]`, differentiable on an autodiff device.
pub(crate) fn batch_major(contexts: Tensor<2>, batch: usize) -> Tensor<3> {
    Tensor::from_dispatch(<Dispatch as BatchMajorOps>::elman_batch_major(
        contexts.into_dispatch(),
        batch,
    ))
}
