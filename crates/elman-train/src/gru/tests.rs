//! The GRU's hand-derived BPTT against Burn's autodiff.

use super::*;
use crate::testing::assert_gated_window_matches_autodiff;

/// Over a window from a non-zero context, with and without biases, for both losses: the loss,
/// both gradients and the last context equal autodiff's.
#[test]
fn hand_gru_matches_autodiff() {
    assert_gated_window_matches_autodiff(
        elman_model::Cell::Gru,
        |[w1, w2], x, y, [h0, _], bias, loss| (window([&w1, &w2], x, y, h0, bias, loss), None),
    );
}
