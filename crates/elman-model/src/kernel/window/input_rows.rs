//! The layer's inputs as the windows take them, one differentiable operation: `[B, T, d_x]`
//! (batch-major, as `burn::nn`'s layers take theirs) as time-major rows `[T·B, d_x + 1]`, the
//! bias's constant 1 after each row's inputs (`[T·B, d_x]` without a bias). On Flex one pass
//! writes each row once; in Burn's own operations the reorder is a copy and the constant's
//! column a `cat` that Flex copies a row at a time (the Elman layer's inference at hidden 64 on
//! one core ran 12% faster without it). The backward pass drops the constant's gradient and
//! reorders the rest in the backend's own operations (it runs only where the input needs a
//! gradient: a layer stacked on another).

// NdArray is deprecated by Burn 0.22 but stays one of the project's backends, and the
// extension's generated dispatch names it.
#![allow(deprecated)]

use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Dispatch, Flex, TensorMetadata, backend_extension};
use burn::prelude::*;

use super::steps::columns;
use crate::kernel::flex::{tensor, values};

/// Batch-major inputs as time-major rows with the bias's constant (see the module's notes).
#[backend_extension(
    Flex,
    Cube: cfg(any(feature = "wgpu", feature = "cuda")),
    NdArray: cfg(feature = "ndarray"),
    Autodiff: cfg(feature = "autodiff"),
)]
pub trait InputRowsOps: Backend {
    /// `input` (`[B, T, d_x]`) as `[T·B, d_x + bias]`: row `t·B + b` is `[input[b, t] ; 1]`.
    fn elman_input_rows(input: FloatTensor<Self>, bias: bool) -> FloatTensor<Self> {
        let [batch, steps, d_x] = input.shape().dims();
        let (device, dtype) = (input.device(), input.dtype().into());
        let steps_first = Self::float_swap_dims(input, 0, 1);
        let rows = Self::float_reshape(steps_first, Shape::new([steps * batch, d_x]));
        if !bias {
            return rows;
        }
        let ones = Self::float_ones(Shape::new([steps * batch, 1]), &device, dtype);
        Self::float_cat(vec![rows, ones], 1)
    }
}

/// The backward half: the rows' gradient as the input's, `[B, T, d_x]`, in the backend's own
/// operations.
fn input_gradient<B: Backend>(
    grad: FloatTensor<B>,
    [batch, steps, d_x]: [usize; 3],
) -> FloatTensor<B> {
    let inputs = columns::<B>(grad, 0..d_x);
    let steps_first = B::float_reshape(inputs, Shape::new([steps, batch, d_x]));
    B::float_swap_dims(steps_first, 0, 1)
}

impl InputRowsOps for Flex {
    fn elman_input_rows(input: FlexTensor, bias: bool) -> FlexTensor {
        let [batch, steps, d_x] = input.shape().dims();
        let input = values(&input);
        let width = d_x + usize::from(bias);
        let mut rows = Vec::with_capacity(steps * batch * width);
        for t in 0..steps {
            for b in 0..batch {
                rows.extend_from_slice(&input[(b * steps + t) * d_x..][..d_x]);
                if bias {
                    rows.push(1.0);
                }
            }
        }
        tensor(rows, steps * batch, width)
    }
}

#[cfg(any(feature = "wgpu", feature = "cuda"))]
impl InputRowsOps for burn::backend::Cube {}
#[cfg(feature = "ndarray")]
impl InputRowsOps for burn::backend::NdArray {}

#[cfg(feature = "autodiff")]
mod autodiff {
    use burn::backend::autodiff::checkpoint::base::Checkpointer;
    use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
    use burn::backend::autodiff::grads::Gradients;
    use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
    use burn::backend::tensor::FloatTensor;
    use burn::backend::{Autodiff, Backend, TensorMetadata};

    use super::{InputRowsOps, input_gradient};

    /// The node of the rows; its parent is the input, its shape the state.
    #[derive(Debug)]
    struct InputRows;

    impl<B: Backend> Backward<B, 1> for InputRows {
        type State = [usize; 3];

        fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
            let grad = grads.consume::<B>(&ops.node);
            if let [Some(node)] = ops.parents {
                grads.register::<B>(node.id, input_gradient::<B>(grad, ops.state));
            }
        }
    }

    impl<B, C> InputRowsOps for Autodiff<B, C>
    where
        B: Backend + InputRowsOps,
        C: CheckpointStrategy,
    {
        fn elman_input_rows(input: FloatTensor<Self>, bias: bool) -> FloatTensor<Self> {
            let nodes = [input.node()];
            let input = input.into_primitive();
            let shape = input.shape().dims();
            let rows = B::elman_input_rows(input, bias);
            match InputRows.prepare::<C>(nodes).compute_bound().stateful() {
                OpsKind::Tracked(prep) => prep.finish(shape, rows),
                OpsKind::UnTracked(prep) => prep.finish(rows),
            }
        }
    }
}

/// [`InputRowsOps::elman_input_rows`] on Burn tensors: `input` (`[B, T, d_x]`) as time-major
/// rows `[T·B, d_x + bias]`, the bias's constant after each row's inputs, differentiable on an
/// autodiff device.
pub(crate) fn input_rows(input: Tensor<3>, bias: bool) -> Tensor<2> {
    Tensor::from_dispatch(<Dispatch as InputRowsOps>::elman_input_rows(
        input.into_dispatch(),
        bias,
    ))
}
