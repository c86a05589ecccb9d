//! The Flex backward passes write over the arrays they are handed (the saved gates, the
//! gradient reaching the contexts) only where nothing else holds them: a tensor a caller keeps
//! is left as it was, and the gradients are the same either way.

use burn::backend::Flex;
use burn::backend::flex::FlexTensor;

use super::{GatedWindows, RecurrenceBackward, lstm};
use crate::kernel::flex::{tensor, values};

/// `rows × cols` values from a small deterministic sequence in (-0.5, 0.5).
fn filled(rows: usize, cols: usize, seed: u32) -> FlexTensor {
    let values = (0..rows * cols)
        .map(|i| {
            ((i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) % 1000) as f32 / 1000.0 - 0.5
        })
        .collect();
    tensor(values, rows, cols)
}

/// Each tensor's values, to compare exactly.
fn all(tensors: &[FlexTensor]) -> Vec<Vec<f32>> {
    tensors.iter().map(|t| values(t).into_owned()).collect()
}

const BATCH: usize = 5;
const STEPS: usize = 3;
const D_X: usize = 2;
/// Wider than `FLEX_RECURRENCE_MAX`, so the Elman cell takes its `gemm` window too.
const D: usize = 40;

#[test]
fn the_lstm_backward_pass_leaves_gates_a_caller_keeps() {
    let x = filled(STEPS * BATCH, D_X, 1);
    let w1 = filled(D_X + D, 4 * D, 2);
    let (out, saved) = Flex::lstm_forward(
        x.clone(),
        w1.clone(),
        filled(BATCH, D, 3),
        filled(BATCH, D, 4),
    );
    let grad = filled((STEPS + 2) * BATCH, D, 5);
    let kept = saved.gates.clone();
    let before = values(&kept).into_owned();
    let run = |gates: FlexTensor| {
        let saved = lstm::Saved {
            memories: saved.memories.clone(),
            gates,
        };
        all(&Flex::lstm_backward(
            grad.clone(),
            [x.clone(), w1.clone(), out.clone()],
            saved,
        ))
    };
    let shared = run(saved.gates.clone());
    assert_eq!(
        values(&kept).into_owned(),
        before,
        "the kept gates were written over"
    );
    drop(kept);
    assert_eq!(run(saved.gates), shared);
}

#[test]
fn the_gru_backward_pass_leaves_gates_a_caller_keeps() {
    let x = filled(STEPS * BATCH, D_X, 6);
    let w1 = filled(D_X + D, 3 * D, 7);
    let (out, gates) = Flex::gru_forward(x.clone(), w1.clone(), filled(BATCH, D, 8));
    let grad = filled((STEPS + 1) * BATCH, D, 9);
    let before = values(&gates).into_owned();
    let run = |gates: FlexTensor| {
        all(&Flex::gru_backward(
            grad.clone(),
            [x.clone(), w1.clone(), out.clone()],
            gates,
        ))
    };
    let shared = run(gates.clone());
    assert_eq!(
        values(&gates).into_owned(),
        before,
        "the kept gates were written over"
    );
    assert_eq!(run(gates), shared);
}

#[test]
fn the_elman_backward_pass_leaves_a_gradient_a_caller_keeps() {
    let h = filled(STEPS * BATCH, D, 10);
    let w1h = filled(D, D, 11);
    let g = filled(STEPS * BATCH, D, 12);
    let before = values(&g).into_owned();
    let shared = Flex::elman_recurrence_da(h.clone(), g.clone(), w1h.clone(), BATCH);
    assert_eq!(
        values(&g).into_owned(),
        before,
        "the kept gradient was written over"
    );
    let owned = Flex::elman_recurrence_da(h, g, w1h, BATCH);
    assert_eq!(all(&[owned]), all(&[shared]));
}
