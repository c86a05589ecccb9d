//! The gated cells and biases ([`crate::Cell`]): one step by hand, and Burn's autodiff
//! gradients of a short sequence's loss against central finite differences.

use burn::prelude::*;

use crate::{Cell, ElmanConfig, ElmanState, ElmanWeights};

fn to_vec<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_into_vec_as::<f32>().unwrap()
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// One LSTM step by hand, with biases: one input, one neuron, one output. With `W1`'s rows
/// `[x ; 1 ; h]` and columns `i, f, g, o`, `x = 0.5`, `h = 0.2`, `c = 0.3`.
#[test]
fn an_lstm_step_by_hand() {
    let device = Device::flex();
    let w1 = vec![
        0.1, 0.2, 0.3, 0.4, // x
        0.0, 0.5, -0.1, 0.2, // 1
        -0.3, 0.1, 0.6, -0.2, // h
    ];
    let weights = ElmanWeights {
        w1,
        w1_shape: [3, 4],
        w2: vec![2.0, 0.5],
        w2_shape: [2, 1],
        cell: Cell::Lstm,
        bias: true,
    };
    let model = weights.to_module(&device);
    assert_eq!(
        (model.d_input(), model.d_hidden(), model.d_output()),
        (1, 1, 1)
    );
    let (x, h, c) = (0.5, 0.2, 0.3);
    let a = |k: usize| {
        x * weights.w1[k] as f64 + weights.w1[4 + k] as f64 + h * weights.w1[8 + k] as f64
    };
    let (i, f, g, o) = (sigmoid(a(0)), sigmoid(a(1)), a(2).tanh(), sigmoid(a(3)));
    let c_next = f * c + i * g;
    let h_next = o * c_next.tanh();
    let y = 2.0 * h_next + 0.5;
    let state = ElmanState {
        context: Tensor::from_data(TensorData::new(vec![h as f32], [1, 1]), &device),
        memory: Some(Tensor::from_data(
            TensorData::new(vec![c as f32], [1, 1]),
            &device,
        )),
    };
    let input = Tensor::from_data(TensorData::new(vec![x as f32], [1, 1]), &device);
    let (output, next) = model.step(input, state);
    assert!((to_vec(output)[0] as f64 - y).abs() < 1e-6);
    assert!((to_vec(next.context)[0] as f64 - h_next).abs() < 1e-6);
    assert!((to_vec(next.memory.unwrap())[0] as f64 - c_next).abs() < 1e-6);
}

/// One GRU step by hand, without biases: `z, r` from `[x ; h]`, then `n` from `[x ; r h]`.
#[test]
fn a_gru_step_by_hand() {
    let device = Device::flex();
    let weights = ElmanWeights {
        w1: vec![0.4, -0.2, 0.7, 0.3, 0.5, -0.6],
        w1_shape: [2, 3],
        w2: vec![1.5],
        w2_shape: [1, 1],
        cell: Cell::Gru,
        bias: false,
    };
    let model = weights.to_module(&device);
    let (x, h) = (0.5f64, -0.4f64);
    let (z, r) = (sigmoid(0.4 * x + 0.3 * h), sigmoid(-0.2 * x + 0.5 * h));
    let n = (0.7 * x - 0.6 * (r * h)).tanh();
    let h_next = (1.0 - z) * n + z * h;
    let input = Tensor::from_data(TensorData::new(vec![x as f32], [1, 1]), &device);
    let state = ElmanState::of(Tensor::from_data(
        TensorData::new(vec![h as f32], [1, 1]),
        &device,
    ));
    let (output, next) = model.step(input, state);
    assert!((to_vec(next.context)[0] as f64 - h_next).abs() < 1e-6);
    assert!((to_vec(output)[0] as f64 - 1.5 * h_next).abs() < 1e-6);
}

/// The loss of a 4-step sequence of 2 sequences, summed squares against fixed targets, for
/// `weights` on `device`.
fn loss(weights: &ElmanWeights, device: &Device) -> (Tensor<1>, crate::Elman) {
    let model = weights.to_module(device);
    let values =
        |n: usize, k: f32| -> Vec<f32> { (0..n).map(|i| ((i as f32 + k) * 0.7).sin()).collect() };
    let inputs = Tensor::<3>::from_data(TensorData::new(values(2 * 4 * 2, 1.0), [2, 4, 2]), device);
    let targets = Tensor::<3>::from_data(TensorData::new(values(2 * 4, 5.0), [2, 4, 1]), device);
    let (outputs, _) = model.forward_steps(inputs, ElmanState::zeros(2, model.d_hidden(), device));
    ((outputs - targets).square().sum(), model)
}

/// Autodiff's gradients of every weight equal central finite differences (in f64 arithmetic of
/// f32 forward passes, step 1e-2), for every cell with and without biases.
#[test]
fn gradients_match_finite_differences() {
    let device = Device::flex();
    for cell in [Cell::Elman, Cell::Lstm, Cell::Gru] {
        for bias in [false, true] {
            let config = ElmanConfig {
                d_input: 2,
                d_hidden: 3,
                d_output: 1,
                w1_std: 0.5,
                w2_std: 0.5,
                cell,
                bias,
            };
            let weights = ElmanWeights::init(&config, 11);
            let ad = device.clone().autodiff();
            let (value, model) = loss(&weights, &ad);
            let grads = value.backward();
            let analytic = [
                to_vec(model.w1.grad(&grads).unwrap()),
                to_vec(model.w2.grad(&grads).unwrap()),
            ];
            let eps = 1e-2f32;
            for (m, analytic) in analytic.iter().enumerate() {
                let len = if m == 0 {
                    weights.w1.len()
                } else {
                    weights.w2.len()
                };
                assert_eq!(analytic.len(), len);
                for (k, &analytic) in analytic.iter().enumerate() {
                    let at = |delta: f32| {
                        let mut w = weights.clone();
                        if m == 0 {
                            w.w1[k] += delta;
                        } else {
                            w.w2[k] += delta;
                        }
                        f64::from(to_vec(loss(&w, &device).0)[0])
                    };
                    let numeric = (at(eps) - at(-eps)) / (2.0 * f64::from(eps));
                    let a = f64::from(analytic);
                    assert!(
                        (a - numeric).abs() <= 2e-3 * a.abs().max(1.0),
                        "{cell:?} bias {bias}, w{}[{k}]: autodiff {a} vs {numeric}",
                        m + 1
                    );
                }
            }
        }
    }
}
