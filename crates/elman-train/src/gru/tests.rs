//! The GRU's hand-derived BPTT against Burn's autodiff.

use super::*;
use crate::testing::{assert_close, to_vec};
use elman_model::{Cell, ElmanConfig, ElmanState, ElmanWeights};

/// Over a window from a non-zero context, with and without biases, for both losses: the loss,
/// both gradients and the last context equal autodiff's.
#[test]
fn hand_gru_matches_autodiff() {
    let (batch, steps, d_input, d_hidden, d_output) = (3, 5, 2, 4, 2);
    let values = |n: usize, seed: f32| -> Vec<f32> {
        (0..n).map(|i| ((i as f32 + seed) * 0.37).sin()).collect()
    };
    let inputs = values(batch * steps * d_input, 0.0);
    let targets = values(batch * steps * d_output, 5.0);
    let h0 = values(batch * d_hidden, 9.0);
    let device = Device::flex();
    let tensor3 = |v: &[f32], d: usize| {
        Tensor::<3>::from_data(TensorData::new(v.to_vec(), [batch, steps, d]), &device)
    };
    let state =
        |v: &[f32]| Tensor::<2>::from_data(TensorData::new(v.to_vec(), [batch, d_hidden]), &device);
    let (x, y) = (tensor3(&inputs, d_input), tensor3(&targets, d_output));
    for bias in [false, true] {
        let config = ElmanConfig {
            d_input,
            d_hidden,
            d_output,
            cell: Cell::Gru,
            bias,
            w1_std: 0.5,
            ..ElmanConfig::default()
        };
        let weights = ElmanWeights::init(&config, 4);
        // The hand path takes the bias's constant among its inputs, time-major.
        let rows = steps * batch;
        let x_major = x.clone().swap_dims(0, 1).reshape([rows, d_input]);
        let x_major = if bias {
            Tensor::cat(vec![x_major, Tensor::ones([rows, 1], &device)], 1)
        } else {
            x_major
        };
        let y_major = y.clone().swap_dims(0, 1).reshape([rows, d_output]);
        for loss in [LossKind::HalfSumSquares, LossKind::Mse] {
            let plain = weights.to_module(&device);
            let window = window(
                [&plain.w1.val(), &plain.w2.val()],
                x_major.clone(),
                y_major.clone(),
                state(&h0),
                bias,
                loss,
            );

            let ad = device.clone().autodiff();
            let model = weights.to_module(&ad);
            let start = ElmanState {
                context: state(&h0).autodiff(),
                memory: None,
            };
            let (out, last) = model.forward(x.clone().autodiff(), start);
            let squares = (out - y.clone().autodiff()).square().sum();
            let value = match loss {
                LossKind::HalfSumSquares => squares.div_scalar(2.0),
                LossKind::Mse => squares.div_scalar((rows * d_output) as f64),
            };
            let grads = value.clone().backward();
            let [g1, g2] = window.grads;
            let what = format!("bias {bias}, {loss:?}");
            let pairs = [
                (to_vec(g1), to_vec(model.w1.grad(&grads).unwrap())),
                (to_vec(g2), to_vec(model.w2.grad(&grads).unwrap())),
                (to_vec(window.last), to_vec(last.context.inner())),
                (
                    to_vec(window.loss.unsqueeze()),
                    to_vec(value.inner().unsqueeze()),
                ),
            ];
            for (hand, autodiff) in pairs {
                assert_close(&hand, &autodiff, &what);
                assert!(autodiff.iter().any(|a| a.abs() > 1e-3), "{what}");
            }
        }
    }
}
