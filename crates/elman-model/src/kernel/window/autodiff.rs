//! [`RecurrenceOps`] under autodiff: the forward pass on the backend inside, one node in the
//! graph, and its backward pass by hand (the formulas are the module's, `window.rs`).

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, TensorMetadata};

use super::steps::rows;
use super::{GatedWindows, GruOps, LstmOps, RecurrenceBackward, RecurrenceOps, lstm};

/// The node of one window's recurrence; its parents are `[x, w1, h0]`.
#[derive(Debug)]
struct Recurrence;

impl<B: Backend + RecurrenceBackward> Backward<B, 3> for Recurrence {
    /// `(x, w1, h0, [h_1 … h_T])`.
    type State = (
        FloatTensor<B>,
        FloatTensor<B>,
        FloatTensor<B>,
        FloatTensor<B>,
    );

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [x_node, w1_node, h0_node] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let (x, w1, h0, states) = ops.state;
        let d_input = x.shape()[1];
        let (batch, d_hidden) = (h0.shape()[0], h0.shape()[1]);
        let w1h = rows::<B>(w1.clone(), d_input..d_input + d_hidden);
        let d_a = B::elman_recurrence_da(states.clone(), grad, w1h.clone(), batch);
        let t = B::float_transpose;
        if let Some(node) = w1_node {
            let grad_w1 = B::elman_weight_gradient(x.clone(), h0, states, d_a.clone());
            grads.register::<B>(node.id, grad_w1);
        }
        if let Some(node) = x_node {
            let w1x = rows::<B>(w1, 0..d_input);
            grads.register::<B>(node.id, B::float_matmul(d_a.clone(), t(w1x)));
        }
        if let Some(node) = h0_node {
            grads.register::<B>(node.id, B::float_matmul(rows::<B>(d_a, 0..batch), t(w1h)));
        }
    }
}

impl<B, C> RecurrenceOps for Autodiff<B, C>
where
    B: Backend + RecurrenceOps + RecurrenceBackward,
    C: CheckpointStrategy,
{
    fn elman_recurrence(
        x: FloatTensor<Self>,
        w1: FloatTensor<Self>,
        h0: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let nodes = [x.node(), w1.node(), h0.node()];
        let (x, w1, h0) = (x.into_primitive(), w1.into_primitive(), h0.into_primitive());
        let states = B::elman_recurrence(x.clone(), w1.clone(), h0.clone());
        match Recurrence.prepare::<C>(nodes).compute_bound().stateful() {
            OpsKind::Tracked(prep) => prep.finish((x, w1, h0, states.clone()), states),
            OpsKind::UnTracked(prep) => prep.finish(states),
        }
    }
}

/// The node of one LSTM window; its parents are `[x, w1, h0, c0]`.
#[derive(Debug)]
struct LstmWindow;

impl<B: GatedWindows> Backward<B, 4> for LstmWindow {
    /// `(x, w1, the output, the memories, the gates)` (see `lstm.rs`).
    type State = (
        FloatTensor<B>,
        FloatTensor<B>,
        FloatTensor<B>,
        FloatTensor<B>,
        FloatTensor<B>,
    );

    fn backward(self, ops: Ops<Self::State, 4>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<B>(&ops.node);
        let (x, w1, out, memories, gates) = ops.state;
        let saved = lstm::Saved { memories, gates };
        let found = B::lstm_backward(grad, [x, w1, out], saved);
        for (node, grad) in ops.parents.into_iter().zip(found) {
            if let Some(node) = node {
                grads.register::<B>(node.id, grad);
            }
        }
    }
}

impl<B, C> LstmOps for Autodiff<B, C>
where
    B: Backend + LstmOps + GatedWindows,
    C: CheckpointStrategy,
{
    fn elman_lstm_recurrence(
        x: FloatTensor<Self>,
        w1: FloatTensor<Self>,
        h0: FloatTensor<Self>,
        c0: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let nodes = [x.node(), w1.node(), h0.node(), c0.node()];
        let (x, w1) = (x.into_primitive(), w1.into_primitive());
        let (h0, c0) = (h0.into_primitive(), c0.into_primitive());
        let (out, saved) = B::lstm_forward(x.clone(), w1.clone(), h0, c0);
        match LstmWindow.prepare::<C>(nodes).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let state = (x, w1, out.clone(), saved.memories, saved.gates);
                prep.finish(state, out)
            }
            OpsKind::UnTracked(prep) => prep.finish(out),
        }
    }
}

/// The node of one GRU window; its parents are `[x, w1, h0]`.
#[derive(Debug)]
struct GruWindow;

impl<B: GatedWindows> Backward<B, 3> for GruWindow {
    /// `(x, w1, the output, the gates)` (see `gru.rs`).
    type State = (
        FloatTensor<B>,
        FloatTensor<B>,
        FloatTensor<B>,
        FloatTensor<B>,
    );

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<B>(&ops.node);
        let (x, w1, out, gates) = ops.state;
        let found = B::gru_backward(grad, [x, w1, out], gates);
        for (node, grad) in ops.parents.into_iter().zip(found) {
            if let Some(node) = node {
                grads.register::<B>(node.id, grad);
            }
        }
    }
}

impl<B, C> GruOps for Autodiff<B, C>
where
    B: Backend + GruOps + GatedWindows,
    C: CheckpointStrategy,
{
    fn elman_gru_recurrence(
        x: FloatTensor<Self>,
        w1: FloatTensor<Self>,
        h0: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let nodes = [x.node(), w1.node(), h0.node()];
        let (x, w1, h0) = (x.into_primitive(), w1.into_primitive(), h0.into_primitive());
        let batch = h0.shape()[0];
        let (out, gates) = B::gru_forward(x.clone(), w1.clone(), h0);
        // The output is the contexts after `h0`, a view of the forward pass's rows.
        let contexts = super::after_h0::<B>(out.clone(), batch);
        match GruWindow.prepare::<C>(nodes).compute_bound().stateful() {
            OpsKind::Tracked(prep) => prep.finish((x, w1, out, gates), contexts),
            OpsKind::UnTracked(prep) => prep.finish(contexts),
        }
    }
}
