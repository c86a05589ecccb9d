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

/// Values of pending losses after which [`Losses`] reads them back (16 MB of `f32`).
const PENDING: usize = 1 << 22;

/// An epoch's update losses as they come, each a tensor whose values add up to it (a window's
/// terms, or one value), read back [`update_losses`]'s way whenever more than [`PENDING`]
/// values wait: the same sums, and the memory of a long epoch bounded (a window's terms are a
/// value a sequence and step) at a sync point every few dozen windows at most.
#[derive(Default)]
pub(crate) struct Losses {
    pending: Vec<Tensor<1>>,
    values: usize,
    read: Vec<f32>,
}

impl Losses {
    /// One more update's loss.
    pub(crate) fn push(&mut self, loss: Tensor<1>) {
        self.values += loss.dims()[0];
        self.pending.push(loss);
        if self.values > PENDING {
            self.flush();
        }
    }

    /// Every update's loss, in order.
    pub(crate) fn finish(mut self) -> Vec<f32> {
        self.flush();
        self.read
    }

    fn flush(&mut self) {
        if !self.pending.is_empty() {
            self.read
                .extend(update_losses(std::mem::take(&mut self.pending)));
            self.values = 0;
        }
    }
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

    /// Losses read back in pieces are the losses read back at once.
    #[test]
    fn losses_read_in_pieces_add_up_the_same() {
        let device = Device::flex();
        let mut losses = super::Losses::default();
        let mut all = Vec::new();
        for k in 0..40 {
            let terms: Vec<f32> = (0..300_000).map(|i| ((i + k) % 7) as f32 * 0.1).collect();
            let tensor = Tensor::<1>::from_floats(terms.as_slice(), &device);
            all.push(tensor.clone());
            losses.push(tensor);
            // More than 4M values wait at most once before they are read.
            assert!(losses.values <= super::PENDING);
        }
        assert_eq!(losses.finish(), super::update_losses(all));
    }
}
