//! The tutorial's single sine wave, one item per time step.

use burn::data::dataset::Dataset;

/// One time step of the sequence.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SineItem {
    /// The input, `sin(t[i])`.
    pub input: f32,
    /// The target, `sin(t[i + 1])`.
    pub target: f32,
}

/// The tutorial's sine sequence, one item per time step in time order.
#[derive(Debug, Clone, PartialEq)]
pub struct SineDataset {
    items: Vec<SineItem>,
    /// The `seq_len + 1` sample times.
    times: Vec<f64>,
}

impl SineDataset {
    /// The tutorial's sequence: 21 points of `sin` on `[2, 10]`, giving 20 steps.
    pub fn tutorial() -> Self {
        Self::new(2.0, 10.0, 20)
    }

    /// `seq_len + 1` evenly spaced points of `sin` from `start` to `end`, both included.
    ///
    /// # Panics
    ///
    /// If `seq_len` is 0.
    pub fn new(start: f64, end: f64, seq_len: usize) -> Self {
        assert!(seq_len > 0, "a sequence needs at least one step");
        let times = linspace(start, end, seq_len + 1);
        // numpy computes sin in float64; the tutorial then casts to float32.
        let values: Vec<f32> = times.iter().map(|t| t.sin() as f32).collect();
        let items = (0..seq_len)
            .map(|i| SineItem {
                input: values[i],
                target: values[i + 1],
            })
            .collect();
        Self { items, times }
    }

    /// The number of time steps, `seq_len`.
    pub fn seq_len(&self) -> usize {
        self.items.len()
    }

    /// All `seq_len + 1` sample times.
    pub fn times(&self) -> &[f64] {
        &self.times
    }

    /// The items in time order.
    pub fn items(&self) -> &[SineItem] {
        &self.items
    }

    /// The inputs `x`, in time order.
    pub fn inputs(&self) -> Vec<f32> {
        self.items.iter().map(|item| item.input).collect()
    }

    /// The targets `y`, in time order.
    pub fn targets(&self) -> Vec<f32> {
        self.items.iter().map(|item| item.target).collect()
    }
}

impl Dataset<SineItem> for SineDataset {
    fn get(&self, index: usize) -> Result<SineItem, burn::data::dataset::DatasetError> {
        Ok(self.items[index])
    }

    fn len(&self) -> usize {
        self.items.len()
    }
}

/// Evenly spaced points from `start` to `end`, both included, computed as numpy does
/// (`start + i * step`, with the last point set to `end` exactly).
fn linspace(start: f64, end: f64, n: usize) -> Vec<f64> {
    if n == 1 {
        return vec![start];
    }
    let step = (end - start) / (n - 1) as f64;
    let mut points: Vec<f64> = (0..n).map(|i| start + i as f64 * step).collect();
    points[n - 1] = end;
    points
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `linspace(2, 10, 21)` steps by `8 / 20 = 0.4`, so the tutorial's first input is `sin(2)`,
    /// its first target `sin(2.4)` and its last target `sin(10)`.
    #[test]
    fn tutorial_sequence_is_the_shifted_sine() {
        let data = SineDataset::tutorial();
        assert_eq!(data.seq_len(), 20);
        assert_eq!(data.times().len(), 21);
        assert_eq!(data.times()[0], 2.0);
        assert!((data.times()[1] - 2.4).abs() < 1e-15);
        assert_eq!(data.times()[20], 10.0);
        let first = data.get(0).unwrap();
        assert_eq!(first.input, 2.0f64.sin() as f32);
        assert_eq!(first.target, 2.4f64.sin() as f32);
        assert_eq!(data.get(19).unwrap().target, 10.0f64.sin() as f32);
        // The target of each step is the input of the next.
        for i in 0..19 {
            assert_eq!(data.items()[i].target, data.items()[i + 1].input);
        }
    }
}
