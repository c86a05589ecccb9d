//! The loop against the original PyTorch code: from the same initial weights, every epoch's
//! summed loss and every prediction must match the reference run in `tests/fixtures/`.

use burn::prelude::Device;
use elman_data::SineDataset;
use elman_model::ElmanWeights;
use elman_train::{TrainConfig, predict, train};

/// The reference run of the original PyTorch code, found from the crate's folder that `cargo
/// test` sets when it runs the tests (a binary built from another checkout sharing the target
/// folder would otherwise read that one's).
fn fixture() -> String {
    let crate_dir = std::env::var("CARGO_MANIFEST_DIR")
        .unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_string());
    format!("{crate_dir}/../../tests/fixtures/tutorial_seed1")
}

fn read_json(name: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(format!("{}/{name}", fixture())).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn floats(value: &serde_json::Value) -> Vec<f64> {
    value
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|v| match v.as_array() {
            Some(row) => row.iter().map(|x| x.as_f64().unwrap()).collect(),
            None => vec![v.as_f64().unwrap()],
        })
        .collect()
}

fn fixture_weights() -> ElmanWeights {
    let init = read_json("init.json");
    let to_f32 = |v: &serde_json::Value| floats(v).into_iter().map(|x| x as f32).collect();
    ElmanWeights {
        w1: to_f32(&init["w1"]),
        w1_shape: [7, 6],
        w2: to_f32(&init["w2"]),
        w2_shape: [6, 1],
        cell: elman_model::Cell::Elman,
        bias: false,
    }
}

fn assert_parity(device: &Device, config: &TrainConfig) {
    let weights = fixture_weights();
    let data = SineDataset::tutorial();
    let expected_inputs = floats(&read_json("predictions.json")["x"]);
    for (ours, theirs) in data.inputs().iter().zip(&expected_inputs) {
        assert_eq!(*ours, *theirs as f32, "the sine inputs differ");
    }

    let mut reported = Vec::new();
    let report = train(&weights, &data, config, device, |epoch| {
        reported.push(epoch.loss)
    })
    .unwrap();
    assert_eq!(reported, report.losses);

    let expected = floats(&read_json("losses.json"));
    assert_eq!(report.losses.len(), expected.len());
    for (epoch, (ours, theirs)) in report.losses.iter().zip(&expected).enumerate() {
        let rel = (ours - theirs).abs() / theirs.abs();
        assert!(
            rel < 5e-4,
            "epoch {epoch}: loss {ours} vs PyTorch {theirs} (relative {rel:e})"
        );
    }

    let predictions = predict(&report.model, &data.inputs()).unwrap();
    let expected = floats(&read_json("predictions.json")["predictions"]);
    assert_eq!(predictions.len(), 20);
    for (step, (ours, theirs)) in predictions.iter().zip(&expected).enumerate() {
        assert!(
            (f64::from(*ours) - theirs).abs() < 5e-4,
            "step {step}: prediction {ours} vs PyTorch {theirs}"
        );
    }
}

fn ndarray() -> Device {
    #[allow(deprecated)] // Burn 0.22 deprecates ndarray; the tutorial command uses it.
    Device::ndarray()
}

const AUTODIFF: TrainConfig = TrainConfig {
    n_epochs: 300,
    lr: 0.1,
    batch_size: 1,
    bptt: 1,
    optimizer: elman_train::OptimizerKind::Sgd,
    loss: elman_train::LossKind::HalfSumSquares,
    grad_clip: None,
    shuffle_seed: None,
    fused: false,
    schedule: elman_train::Schedule::Constant,
    early_stopping: None,
    kernels: true,
};

/// The backend the user named, through the fused one-step gradients (the default).
#[test]
fn matches_pytorch_on_ndarray() {
    assert_parity(&ndarray(), &TrainConfig::default());
}

/// The backend the user named, through Burn's autodiff, as the tutorial teaches.
#[test]
fn matches_pytorch_on_ndarray_through_autodiff() {
    assert_parity(&ndarray(), &AUTODIFF);
}

/// Burn's recommended CPU backend, both ways.
#[test]
fn matches_pytorch_on_flex() {
    assert_parity(&Device::flex(), &TrainConfig::default());
    assert_parity(&Device::flex(), &AUTODIFF);
}

/// wgpu (lavapipe where there is no GPU): the tutorial's epochs through the GPU kernel, one
/// launch per epoch, and through autodiff's tensor operations.
#[test]
fn matches_pytorch_on_wgpu_through_the_gpu_kernel() {
    let device = Device::wgpu(burn::prelude::DeviceKind::DefaultDevice);
    assert!(elman_model::kernel::sequence_available(
        &device, 1, 6, 1, 20
    ));
    assert_parity(&device, &TrainConfig::default());
    assert_parity(&device, &AUTODIFF);
}
