use burn::prelude::*;

use super::Optimizer;
use crate::testing::{assert_close, to_vec};
use crate::{OptimizerKind, TrainConfig};

/// A matrix of `rows x cols` values from `seed`, in about [-1, 1].
fn matrix(rows: usize, cols: usize, seed: u32, device: &Device) -> Tensor<2> {
    let values: Vec<f32> = (0..rows * cols)
        .map(|i| {
            let hash = (i as u32)
                .wrapping_mul(2_654_435_761)
                .wrapping_add(seed.wrapping_mul(40_503));
            (hash % 2001) as f32 / 1000.0 - 1.0
        })
        .collect();
    Tensor::from_data(TensorData::new(values, [rows, cols]), device)
}

/// Five Adam updates of two matrices through the kernel (`kernels = true`: one launch for both,
/// `W1`'s elements and then `W2`'s) and through the
/// tensor operations, on Flex and on wgpu (lavapipe in CI), from the same weights and
/// gradients: the weights and both moments agree within float error after every update, and
/// the updates move the weights.
#[test]
fn adam_in_one_kernel_is_adam_as_tensor_operations() {
    for device in [
        Device::flex(),
        Device::wgpu(burn::prelude::DeviceKind::DefaultDevice),
    ] {
        let config = |kernels| TrainConfig {
            optimizer: OptimizerKind::Adam,
            lr: 0.01,
            grad_clip: None,
            kernels,
            ..TrainConfig::default()
        };
        let (mut fast, mut plain) = (
            Optimizer::new(&config(true)),
            Optimizer::new(&config(false)),
        );
        // 65 x 64 (not a multiple of the kernel's 256 units) and 64 x 1.
        let start = [matrix(65, 64, 1, &device), matrix(64, 1, 2, &device)];
        let (mut a, mut b) = (start.clone(), start.clone());
        for step in 0..5u32 {
            let g = [
                matrix(65, 64, 10 + step, &device),
                matrix(64, 1, 20 + step, &device),
            ];
            a = fast.update(a, g.clone());
            b = plain.update(b, g);
            let what = format!("{device:?}, update {step}");
            for (x, y) in a.iter().zip(&b) {
                assert_close(&to_vec(x.clone()), &to_vec(y.clone()), &what);
            }
            for (x, y) in fast.state.moments.iter().zip(&plain.state.moments) {
                assert_close(&to_vec(x.clone()), &to_vec(y.clone()), &what);
            }
        }
        let moved = to_vec(a[0].clone())
            .iter()
            .zip(to_vec(start[0].clone()))
            .filter(|(x, y)| (**x - y).abs() > 1e-3)
            .count();
        assert!(
            moved > 65 * 64 / 2,
            "{device:?}: only {moved} weights moved"
        );
    }
}
