//! Helpers the tests of several files share.

use burn::prelude::*;
use elman_data::SequenceDataset;

pub(crate) fn sines(n_series: usize, seq_len: usize, seed: u64) -> SequenceDataset {
    elman_data::SineWaves {
        n_series,
        seq_len,
        seed,
        ..elman_data::SineWaves::default()
    }
    .generate()
}

pub(crate) fn to_vec(t: Tensor<2>) -> Vec<f32> {
    t.into_data().try_into_vec_as::<f32>().unwrap()
}
