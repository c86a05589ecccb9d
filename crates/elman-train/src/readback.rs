//! Values from the device to the host: a tensor's values, and each update's loss from the
//! tensors that add up to it, read in one go (one sync point an epoch).

use burn::prelude::*;

/// A float tensor's values on the host.
pub(crate) fn read<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    tensor
        .into_data()
        .try_into_vec_as::<f32>()
        .expect("float tensor data")
}

/// Each update's loss from tensors whose values add up to it (one value each, or a window's
/// terms), read back in one go and added on the host in `f64`.
pub(crate) fn update_losses(losses: Vec<Tensor<1>>) -> Vec<f32> {
    let lengths: Vec<usize> = losses.iter().map(|l| l.dims()[0]).collect();
    let values = read(Tensor::cat(losses, 0));
    let mut rest = values.as_slice();
    lengths
        .into_iter()
        .map(|n| {
            let (terms, after) = rest.split_at(n);
            rest = after;
            terms.iter().map(|&v| f64::from(v)).sum::<f64>() as f32
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use burn::prelude::*;

    /// Updates' losses from tensors of one value and of a window's terms: each update's values
    /// added up, in order.
    #[test]
    fn update_losses_add_each_update_s_terms() {
        let device = Device::flex();
        let losses = vec![
            Tensor::<1>::from_floats([0.5], &device),
            Tensor::<1>::from_floats([1.0, 2.0, 0.25], &device),
            Tensor::<1>::from_floats([4.0], &device),
        ];
        assert_eq!(super::update_losses(losses), [0.5, 3.25, 4.0]);
    }
}
