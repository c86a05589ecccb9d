//! The LSTM's and the GRU's window kernels against the same windows in the backend's own
//! operations, on wgpu (lavapipe where there is no GPU), through the differentiable
//! operations under Burn's autodiff: the output and the gradients of every input, at widths
//! from 1 to 256 neurons (a full workgroup for the LSTM), over one and several steps.

use super::{FORCE_GATED, close, host, tensor, wgpu};
use crate::kernel::{gru_recurrence, lstm_recurrence};

/// `n` values made of sines, scaled.
fn values(n: usize, seed: f32, scale: f32) -> Vec<f32> {
    (0..n)
        .map(|i| ((i as f32 + seed) * 0.37).sin() * scale)
        .collect()
}

/// One window through the LSTM (`gates` 4) or the GRU (3) on the autodiff device of `device`,
/// with the kernels forced in or out: the output, then the gradients of `Σ coef ⊙ output` with
/// respect to the inputs, `W1`, `h0` and (the LSTM's) `c0`.
fn window(kernels: bool, gates: usize, batch: usize, steps: usize, d: usize) -> Vec<Vec<f32>> {
    let device = wgpu().autodiff();
    let d_x = 3;
    let rows = steps * batch;
    let leaf = |v: Vec<f32>, r: usize, c: usize| tensor(&v, r, c, &device).require_grad();
    let x = leaf(values(rows * d_x, 0.0, 1.0), rows, d_x);
    let w1 = leaf(
        values((d_x + d) * gates * d, 2.0, 1.0 / (d as f32).sqrt()),
        d_x + d,
        gates * d,
    );
    let h0 = leaf(values(batch * d, 5.0, 0.5), batch, d);
    let c0 = leaf(values(batch * d, 9.0, 0.8), batch, d);
    FORCE_GATED.with(|f| f.set(Some(kernels)));
    let out = if gates == 4 {
        lstm_recurrence(x.clone(), w1.clone(), h0.clone(), c0.clone())
    } else {
        gru_recurrence(x.clone(), w1.clone(), h0.clone())
    };
    let [r, c] = out.dims();
    let coef = tensor(&values(r * c, 13.0, 1.0), r, c, &device);
    let grads = (out.clone() * coef).sum().backward();
    FORCE_GATED.with(|f| f.set(None));
    let mut found = vec![
        host(out),
        host(x.grad(&grads).unwrap()),
        host(w1.grad(&grads).unwrap()),
        host(h0.grad(&grads).unwrap()),
    ];
    if gates == 4 {
        found.push(host(c0.grad(&grads).unwrap()));
    }
    found
}

#[test]
fn the_gated_kernels_are_the_operations() {
    let names = ["output", "dx", "dW1", "dh0", "dc0"];
    for (cell, gates) in [("LSTM", 4), ("GRU", 3)] {
        for (batch, steps, d) in [(3, 1, 1), (3, 6, 5), (2, 7, 64), (4, 3, 33), (2, 3, 256)] {
            let kernels = window(true, gates, batch, steps, d);
            let operations = window(false, gates, batch, steps, d);
            for ((a, b), name) in kernels.iter().zip(&operations).zip(names) {
                let what = format!("{cell} {name}, batch {batch}, {steps} steps, hidden {d}");
                close(a, b, 2e-5, &what);
            }
        }
    }
}
