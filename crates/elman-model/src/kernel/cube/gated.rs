//! The LSTM's and the GRU's windows on CubeCL ([`GatedWindows`] for `Cube`): on a card, each
//! half of a window is one matrix product for the input projections (forward) or the weight
//! and input gradients (backward, `window/lstm.rs`'s and `window/gru.rs`'s `tail`) around one
//! launch of the recurrence kernels of `gated_kernels.rs`; elsewhere (a software rasterizer,
//! an empty window, widths past [`MAX_UNITS`](super::super::MAX_UNITS) or a workgroup) the
//! backend's own operations, a product a step. Both give the same values and the same
//! [`lstm::Saved`] and gates, so that either backward pass reads either forward pass's.

use burn::backend::Cube;
use burn::backend::cubecl::dtype_to_storage_type;
use burn::backend::ops::FloatTensorOps;
use burn::cubecl::prelude::*;

use super::super::window::{GatedWindows, gru, lstm, steps::rows};
use super::gated_kernels::*;
use super::{CubeTensor, empty, is_software, readable};

/// Whether the kernels serve a window of `d` neurons whose kernels run `units_per_neuron`
/// units a neuron, for a batch of `batch` over `steps` steps, on `like`'s device.
fn serve(like: &CubeTensor, d: usize, units_per_neuron: usize, batch: usize, steps: usize) -> bool {
    let nonempty = d > 0 && batch > 0 && steps > 0;
    #[cfg(test)]
    if let Some(forced) = super::tests::FORCE_GATED.with(|f| f.get()) {
        return forced && nonempty;
    }
    let max_units = like.client.properties().hardware.max_units_per_cube as usize;
    nonempty
        && !is_software(like)
        && d <= super::super::MAX_UNITS
        && d * units_per_neuron <= max_units
}

/// `(batch, d, d_x, steps)` of a window of the inputs `x` and the context `h0`.
fn sizes(x: &CubeTensor, h0: &CubeTensor) -> (usize, usize, usize, usize) {
    let (batch, d) = (h0.meta.shape()[0], h0.meta.shape()[1]);
    let (total, d_x) = (x.meta.shape()[0], x.meta.shape()[1]);
    (batch, d, d_x, total / batch.max(1))
}

/// `(batch, d, d_x, steps)` of a window from its inputs `x` and its forward pass's output
/// `out`, which holds `blocks` blocks of a batch's rows besides the contexts after `h0` (the
/// LSTM's `h0` and `c_T`: 2; the GRU's `h0`: 1).
fn backward_sizes(x: &CubeTensor, out: &CubeTensor, blocks: usize) -> (usize, usize, usize, usize) {
    let (total, d_x) = (x.meta.shape()[0], x.meta.shape()[1]);
    let batch = (out.meta.shape()[0] - total) / blocks;
    (batch, out.meta.shape()[1], d_x, total / batch.max(1))
}

/// Every step's input projection `x · W1x` (one product) and `W1h`, both contiguous.
fn split(x: CubeTensor, w1: CubeTensor, d_x: usize, d: usize) -> (CubeTensor, CubeTensor) {
    let w1x = rows::<Cube>(w1.clone(), 0..d_x);
    let w1h = rows::<Cube>(w1, d_x..d_x + d);
    (readable(Cube::float_matmul(x, w1x)), readable(w1h))
}

/// `W1hᵀ`, contiguous, from the weights `w1` over `d_x` inputs.
fn w1h_transposed(w1: &CubeTensor, d_x: usize, d: usize) -> CubeTensor {
    readable(Cube::float_transpose(rows::<Cube>(
        w1.clone(),
        d_x..d_x + d,
    )))
}

impl GatedWindows for Cube {
    fn lstm_forward(
        x: CubeTensor,
        w1: CubeTensor,
        h0: CubeTensor,
        c0: CubeTensor,
    ) -> (CubeTensor, lstm::Saved<Self>) {
        let (batch, d, d_x, steps) = sizes(&x, &h0);
        if !serve(&h0, d, 4, batch, steps) {
            return lstm::forward::<Self>(x, w1, h0, c0);
        }
        let (projected, w1h) = split(x, w1, d_x, d);
        let [h0, c0] = [h0, c0].map(readable);
        let out = empty(&h0, (steps + 2) * batch, d);
        let memories = empty(&h0, (steps + 1) * batch, d);
        let gates = empty(&h0, steps * batch, 4 * d);
        lstm_forward_kernel::launch(
            &h0.client,
            CubeCount::Static(batch as u32, 1, 1),
            CubeDim::new_1d((4 * d) as u32),
            projected.into_tensor_arg(),
            w1h.into_tensor_arg(),
            h0.clone().into_tensor_arg(),
            c0.into_tensor_arg(),
            out.clone().into_tensor_arg(),
            memories.clone().into_tensor_arg(),
            gates.clone().into_tensor_arg(),
            steps as u32,
            batch as u32,
            d,
            dtype_to_storage_type(h0.dtype),
        );
        (out, lstm::Saved { memories, gates })
    }

    fn lstm_backward(
        grad: CubeTensor,
        [x, w1, out]: [CubeTensor; 3],
        saved: lstm::Saved<Self>,
    ) -> [CubeTensor; 4] {
        let (batch, d, d_x, steps) = backward_sizes(&x, &out, 2);
        let total = steps * batch;
        if !serve(&out, d, 4, batch, steps) {
            return lstm::backward::<Self>(grad, [x, w1, out], saved);
        }
        let w1h_t = w1h_transposed(&w1, d_x, d);
        let [grad, gates, memories] = [grad, saved.gates, saved.memories].map(readable);
        let d_a = empty(&out, total, 4 * d);
        let recurrent = empty(&out, batch, d);
        let d_c0 = empty(&out, batch, d);
        lstm_backward_kernel::launch(
            &out.client,
            CubeCount::Static(batch as u32, 1, 1),
            CubeDim::new_1d((4 * d) as u32),
            grad.clone().into_tensor_arg(),
            gates.into_tensor_arg(),
            memories.into_tensor_arg(),
            w1h_t.into_tensor_arg(),
            d_a.clone().into_tensor_arg(),
            recurrent.clone().into_tensor_arg(),
            d_c0.clone().into_tensor_arg(),
            steps as u32,
            batch as u32,
            d,
            dtype_to_storage_type(out.dtype),
        );
        lstm::tail::<Self>(grad, [x, w1, out], d_a, Some(recurrent), d_c0)
    }

    fn gru_forward(
        x: CubeTensor,
        w1: CubeTensor,
        h0: CubeTensor,
    ) -> (CubeTensor, gru::Gates<Self>) {
        let (batch, d, d_x, steps) = sizes(&x, &h0);
        if !serve(&h0, d, 2, batch, steps) {
            return gru::forward::<Self>(x, w1, h0);
        }
        let (projected, w1h) = split(x, w1, d_x, d);
        let h0 = readable(h0);
        let out = empty(&h0, (steps + 1) * batch, d);
        let gates = empty(&h0, steps * batch, 3 * d);
        gru_forward_kernel::launch(
            &h0.client,
            CubeCount::Static(batch as u32, 1, 1),
            CubeDim::new_1d((2 * d) as u32),
            projected.into_tensor_arg(),
            w1h.into_tensor_arg(),
            h0.clone().into_tensor_arg(),
            out.clone().into_tensor_arg(),
            gates.clone().into_tensor_arg(),
            steps as u32,
            batch as u32,
            d,
            dtype_to_storage_type(h0.dtype),
        );
        (out, gates)
    }

    fn gru_backward(
        grad: CubeTensor,
        [x, w1, out]: [CubeTensor; 3],
        gates: gru::Gates<Self>,
    ) -> [CubeTensor; 3] {
        let (batch, d, d_x, steps) = backward_sizes(&x, &out, 1);
        let total = steps * batch;
        if !serve(&out, d, 2, batch, steps) {
            return gru::backward::<Self>(grad, [x, w1, out], gates);
        }
        let w1h_t = w1h_transposed(&w1, d_x, d);
        let [grad, gates, out] = [grad, gates, out].map(readable);
        let d_a = empty(&out, total, 3 * d);
        let rh = empty(&out, total, d);
        let recurrent = empty(&out, batch, d);
        gru_backward_kernel::launch(
            &out.client,
            CubeCount::Static(batch as u32, 1, 1),
            CubeDim::new_1d((2 * d) as u32),
            grad.into_tensor_arg(),
            gates.into_tensor_arg(),
            out.clone().into_tensor_arg(),
            w1h_t.into_tensor_arg(),
            d_a.clone().into_tensor_arg(),
            rh.clone().into_tensor_arg(),
            recurrent.clone().into_tensor_arg(),
            steps as u32,
            batch as u32,
            d,
            dtype_to_storage_type(out.dtype),
        );
        gru::tail::<Self>([x, w1, out], d_a, rh, Some(recurrent))
    }
}
