//! The LSTM's hand-derived BPTT against Burn's autodiff.

use super::*;
use crate::testing::assert_gated_window_matches_autodiff;

/// Over a window from a non-zero context and memory, with and without biases, for both losses:
/// the loss, both gradients, the last context and the last memory equal autodiff's.
#[test]
fn hand_lstm_matches_autodiff() {
    assert_gated_window_matches_autodiff(
        elman_model::Cell::Lstm,
        |[w1, w2], x, y, state, bias, loss| {
            let (window, memory) = window([&w1, &w2], x, y, state, bias, loss);
            (window, Some(memory))
        },
    );
}
