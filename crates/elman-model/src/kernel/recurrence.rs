//! The window's recurrence in plain loops, the Flex side of
//! [`ElmanKernels::elman_recurrence_forward`](super::ElmanKernels::elman_recurrence_forward)
//! and [`elman_recurrence_backward`](super::ElmanKernels::elman_recurrence_backward). Rows are
//! time-major: step `t` of sequence `b` is row `t·batch + b`.

use super::tanh_f32;

/// `h_t = tanh(x_t · w1x + h_{t-1} · w1h)` for every step and sequence, from `h0`: `[h0 ; h_1 …
/// h_T]`, `(steps + 1) · batch` rows.
pub(super) fn forward(
    x: &[f32],
    w1x: &[f32],
    w1h: &[f32],
    h0: &[f32],
    batch: usize,
    d_hidden: usize,
) -> Vec<f32> {
    let d_input = w1x.len() / d_hidden.max(1);
    let steps = x.len() / (batch * d_input).max(1);
    // h0 first: row t·batch + b holds the context step t + 1 of sequence b starts from.
    let mut out = vec![0.0; (steps + 1) * batch * d_hidden];
    out[..h0.len()].copy_from_slice(h0);
    let mut previous = vec![0.0; d_hidden];
    for b in 0..batch {
        previous.copy_from_slice(&h0[b * d_hidden..(b + 1) * d_hidden]);
        for t in 0..steps {
            let row = ((t + 1) * batch + b) * d_hidden;
            let state = &mut out[row..row + d_hidden];
            state.fill(0.0);
            let input = &x[(t * batch + b) * d_input..(t * batch + b + 1) * d_input];
            for (&v, weights) in input
                .iter()
                .chain(&previous)
                .zip(w1x.chunks_exact(d_hidden).chain(w1h.chunks_exact(d_hidden)))
            {
                for (s, w) in state.iter_mut().zip(weights) {
                    *s += v * w;
                }
            }
            for s in state.iter_mut() {
                *s = tanh_f32(*s);
            }
            previous.copy_from_slice(state);
        }
    }
    out
}

/// `dL/da_t = (g_t + dL/da_{t+1} · w1hᵀ) ⊙ (1 - h_t²)` from the last step down to the first.
pub(super) fn backward(
    h: &[f32],
    g: &[f32],
    w1h: &[f32],
    batch: usize,
    d_hidden: usize,
) -> Vec<f32> {
    let mut d_a = vec![0.0; h.len()];
    let steps = h.len() / (batch * d_hidden).max(1);
    // dL/da_{t+1} · w1hᵀ as a sum of w1hᵀ's rows (w1h's columns) scaled by dL/da_{t+1}: loops
    // over contiguous rows that the compiler vectorizes, where dot products summed in order
    // would not be.
    let mut w1h_t = vec![0.0; w1h.len()];
    for (j, row) in w1h.chunks_exact(d_hidden).enumerate() {
        for (k, &w) in row.iter().enumerate() {
            w1h_t[k * d_hidden + j] = w;
        }
    }
    let mut through = vec![0.0; d_hidden];
    for b in 0..batch {
        for t in (0..steps).rev() {
            let row = (t * batch + b) * d_hidden;
            through.copy_from_slice(&g[row..row + d_hidden]);
            if t + 1 < steps {
                let next = row + batch * d_hidden;
                for (&d, weights) in d_a[next..next + d_hidden]
                    .iter()
                    .zip(w1h_t.chunks_exact(d_hidden))
                {
                    for (s, w) in through.iter_mut().zip(weights) {
                        *s += d * w;
                    }
                }
            }
            for ((out, s), &state) in d_a[row..row + d_hidden]
                .iter_mut()
                .zip(&through)
                .zip(&h[row..row + d_hidden])
            {
                *out = s * (1.0 - state * state);
            }
        }
    }
    d_a
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One sequence of two steps with one neuron, by hand: inputs 1 and -0.6 with `W1x` 0.5,
    /// h1 = tanh(0.5 + 0.2·0.4), h2 = tanh(-0.3 + h1·0.4), after h0 = 0.2; backward from
    /// g = (1, 2): da2 = 2(1 - h2²), da1 = (1 + da2·0.4)(1 - h1²).
    #[test]
    fn one_neuron_by_hand() {
        let states = forward(&[1.0, -0.6], &[0.5], &[0.4], &[0.2], 1, 1);
        assert_eq!(states[0], 0.2);
        let h = &states[1..];
        let h1 = (0.5f32 + 0.2 * 0.4).tanh();
        let h2 = (-0.3f32 + h1 * 0.4).tanh();
        assert!(
            (h[0] - h1).abs() < 1e-6 && (h[1] - h2).abs() < 1e-6,
            "{h:?}"
        );
        let d_a = backward(h, &[1.0, 2.0], &[0.4], 1, 1);
        let da2 = 2.0 * (1.0 - h[1] * h[1]);
        let da1 = (1.0 + da2 * 0.4) * (1.0 - h[0] * h[0]);
        assert!(
            (d_a[1] - da2).abs() < 1e-6 && (d_a[0] - da1).abs() < 1e-6,
            "{d_a:?}"
        );
    }
}
