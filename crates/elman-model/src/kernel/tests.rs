use super::*;

/// The approximation against `f64`'s `tanh` on a fine grid over [-10, 10]: at most 1e-6
/// apart (a few units in the last place of an `f32` near ±1), odd, and exactly 0 at 0.
#[test]
fn tanh_is_within_float_error() {
    let mut worst = 0.0f64;
    for i in -200_000..=200_000 {
        let x = i as f32 * 5e-5;
        let exact = f64::from(x).tanh();
        worst = worst.max((f64::from(tanh_f32(x)) - exact).abs());
        assert_eq!(tanh_f32(-x), -tanh_f32(x));
    }
    assert!(worst < 1e-6, "worst error {worst}");
    assert_eq!(tanh_f32(0.0), 0.0);
    assert_eq!(tanh_f32(100.0), tanh_f32(7.905_311));
}

/// The Flex loops of `forward_squares` give each sequence's summed squared errors of
/// `Elman::forward` from a zero context, for several inputs and outputs.
#[test]
fn forward_squares_are_the_model_s_squared_errors() {
    use crate::{ElmanConfig, ElmanState, ElmanWeights};
    let device = Device::flex();
    let (d_input, d_hidden, d_output, batch, steps) = (2, 9, 3, 4, 6);
    let config = ElmanConfig {
        d_input,
        d_hidden,
        d_output,
        ..ElmanConfig::default()
    };
    let weights = ElmanWeights::init(&config, 3);
    let rows = batch * steps;
    let x: Vec<f32> = (0..rows * d_input)
        .map(|i| (i as f32 * 0.41).sin())
        .collect();
    let y: Vec<f32> = (0..rows * d_output)
        .map(|i| (i as f32 * 0.17).cos())
        .collect();
    let model = weights.to_module(&device);
    let inputs =
        Tensor::<3>::from_data(TensorData::new(x.clone(), [batch, steps, d_input]), &device);
    let targets = Tensor::<3>::from_data(
        TensorData::new(y.clone(), [batch, steps, d_output]),
        &device,
    );
    let (outputs, _) = model.forward_steps(inputs, ElmanState::zeros(batch, d_hidden, &device));
    let expected = (outputs - targets)
        .square()
        .sum_dim(1)
        .reshape([batch, d_output]);
    let expected = expected.into_data().try_into_vec_as::<f32>().unwrap();
    let two = |v: &[f32], cols| {
        Tensor::<2>::from_data(TensorData::new(v.to_vec(), [v.len() / cols, cols]), &device)
    };
    let got = forward_squares(
        two(&x, d_input),
        two(&y, d_output),
        two(&weights.w1, d_hidden),
        two(&weights.w2, d_output),
        batch,
    )
    .into_data()
    .try_into_vec_as::<f32>()
    .unwrap();
    assert_eq!(got.len(), expected.len());
    for (g, e) in got.iter().zip(&expected) {
        assert!(
            (g - e).abs() <= 1e-5 * e.abs().max(1.0),
            "{got:?} vs {expected:?}"
        );
    }
}

/// The kernels apply to plain Flex tensors only: not under autodiff, not on other backends.
#[test]
fn only_plain_flex_devices_have_the_kernels() {
    assert!(available(&Device::flex()));
    assert!(!available(&Device::flex().autodiff()));
    #[allow(deprecated)] // the deprecated backend, as a device without the kernels
    let ndarray = Device::ndarray();
    assert!(!available(&ndarray));
    let x = Tensor::<1>::from_floats([0.5, -2.0], &Device::flex().autodiff()).require_grad();
    let y = tanh(x.clone()).sum();
    let grad = x.grad(&y.backward()).unwrap().into_data();
    let expected: Vec<f32> = [0.5f32, -2.0]
        .iter()
        .map(|v| 1.0 - v.tanh().powi(2))
        .collect();
    for (g, e) in grad.iter::<f32>().zip(expected) {
        assert!((g - e).abs() < 1e-6, "{g} vs {e}");
    }
}

/// The tensor version on Flex (in place and on a shared tensor) equals the scalar one.
#[test]
fn tanh_on_a_tensor_is_the_scalar_function() {
    let device = Device::flex();
    let values: Vec<f32> = (0..300).map(|i| (i as f32 - 150.0) * 0.05).collect();
    let x = Tensor::<2>::from_data(TensorData::new(values.clone(), [3, 100]), &device);
    let shared = tanh(x.clone());
    let owned = tanh(x.clone() * 1.0);
    let expected: Vec<f32> = values.iter().map(|&v| tanh_f32(v)).collect();
    for t in [shared, owned] {
        assert_eq!(t.into_data().try_into_vec_as::<f32>().unwrap(), expected);
    }
    assert_eq!(x.into_data().try_into_vec_as::<f32>().unwrap(), values);
}

/// [`ElmanKernels::elman_readout`] itself: on Flex its loop, which [`readout`] leaves to the
/// GPU (on a CPU it takes the tensor operations).
fn readout_op(h: Tensor<2>, targets: Tensor<2>, w2: Tensor<2>, scale: f32) -> [Tensor<2>; 3] {
    let (d_y, g, terms) = <Dispatch as ElmanKernels>::elman_readout(
        h.into_dispatch(),
        targets.into_dispatch(),
        w2.into_dispatch(),
        scale,
    );
    [d_y, g, terms].map(Tensor::from_dispatch)
}

/// The read-out by hand: a context `[1, 2]`, `W2 = [3, 4]ᵀ`, target 10, scale 4: the output is
/// 11, the residual 1, `dL/dy` 4, `dL/dy · W2ᵀ = [12, 16]`, the loss's term 4 · 1² / 2 = 2; with
/// a bias 0.5 the output is 11.5, the residual 1.5, `dL/dy` 6, `[18, 24]` and the term 4.5.
/// Through the tensor operations (`readout` on a CPU) and the Flex loop.
#[test]
fn readout_by_hand() {
    let device = Device::flex();
    type Readout = fn(Tensor<2>, Tensor<2>, Tensor<2>, f32) -> [Tensor<2>; 3];
    for (way, run) in [("operations", readout as Readout), ("loop", readout_op)] {
        for (w2, expected) in [
            (vec![3.0, 4.0], [4.0, 12.0, 16.0, 2.0]),
            (vec![3.0, 4.0, 0.5], [6.0, 18.0, 24.0, 4.5]),
        ] {
            let rows = w2.len();
            let [d_y, g, terms] = run(
                Tensor::from_data(TensorData::new(vec![1.0f32, 2.0], [1, 2]), &device),
                Tensor::from_data(TensorData::new(vec![10.0f32], [1, 1]), &device),
                Tensor::from_data(TensorData::new(w2, [rows, 1]), &device),
                4.0,
            );
            let got: Vec<f32> = [d_y, g, terms]
                .into_iter()
                .flat_map(|t| t.into_data().try_into_vec_as::<f32>().unwrap())
                .collect();
            assert_eq!(got, expected, "{way}, W2 of {rows} rows");
        }
    }
}

/// A read-out's inputs as values, `(h, targets, w2, w2's rows)`: `rows` contexts of `d_hidden`
/// neurons, their targets of `d_output` values, and `W2` with a bias row or not.
pub(super) fn readout_case(
    rows: usize,
    d_hidden: usize,
    d_output: usize,
    bias: bool,
) -> (Vec<f32>, Vec<f32>, Vec<f32>, usize) {
    let w2_rows = d_hidden + usize::from(bias);
    let values =
        |n: usize, seed: f32| -> Vec<f32> { (0..n).map(|i| (i as f32 * seed).sin()).collect() };
    (
        values(rows * d_hidden, 0.31),
        values(rows * d_output, 0.17),
        values(w2_rows * d_output, 0.53),
        w2_rows,
    )
}

/// The Flex loop of the read-out (the GPU kernel's reference on the CPU) equals the tensor
/// operations for several widths, outputs, with and without a bias.
#[test]
fn readout_loops_are_the_tensor_operations() {
    let (rows, device) = (37, Device::flex());
    for (d_hidden, d_output, bias) in [(6, 1, false), (9, 3, true), (33, 2, false)] {
        let (h, targets, w2, w2_rows) = readout_case(rows, d_hidden, d_output, bias);
        type Readout = fn(Tensor<2>, Tensor<2>, Tensor<2>, f32) -> [Tensor<2>; 3];
        let run = |readout: Readout| -> Vec<Vec<f32>> {
            let t = |v: &Vec<f32>, r: usize, c: usize| {
                Tensor::<2>::from_data(TensorData::new(v.clone(), [r, c]), &device)
            };
            readout(
                t(&h, rows, d_hidden),
                t(&targets, rows, d_output),
                t(&w2, w2_rows, d_output),
                0.7,
            )
            .map(|t| t.into_data().try_into_vec_as::<f32>().unwrap())
            .to_vec()
        };
        let (looped, ops) = (run(readout_op), run(readout));
        for (a, b) in looped.iter().zip(&ops) {
            assert_eq!(a.len(), b.len());
            for (x, y) in a.iter().zip(b) {
                assert!((x - y).abs() <= 1e-5 * (1.0 + y.abs()), "{x} vs {y}");
            }
        }
        assert!(looped[2].iter().any(|s| *s > 0.01));
    }
}
