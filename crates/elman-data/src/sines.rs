//! Many random sine waves from a seed: the tutorial's task, scaled up.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

use crate::{SequenceDataset, SequenceItem};

/// A generator of `n_series` sine waves `a · sin(ω t + φ) + noise`, each observed at
/// `seq_len + 1` integer times `t`, predicting its next value from its current one.
#[derive(Debug, Clone, PartialEq)]
pub struct SineWaves {
    /// Number of waves.
    pub n_series: usize,
    /// Steps per wave (each wave has one more point than steps).
    pub seq_len: usize,
    /// Range of the amplitude `a`.
    pub amplitude: (f64, f64),
    /// Range of the angular frequency `ω`, in radians per step.
    pub frequency: (f64, f64),
    /// Standard deviation of the additive Gaussian noise on every observed point.
    pub noise_std: f64,
    /// Seed of the draws: the same seed gives the same waves.
    pub seed: u64,
}

impl Default for SineWaves {
    fn default() -> Self {
        Self {
            n_series: 1024,
            seq_len: 64,
            amplitude: (0.5, 1.0),
            frequency: (0.1, 0.5),
            noise_std: 0.01,
            seed: 0,
        }
    }
}

impl SineWaves {
    /// Draws the waves. Phases are uniform in `[0, 2π)`.
    ///
    /// # Panics
    ///
    /// If a range is reversed or the noise is negative.
    pub fn generate(&self) -> SequenceDataset {
        assert!(self.amplitude.0 <= self.amplitude.1, "amplitude range");
        assert!(self.frequency.0 <= self.frequency.1, "frequency range");
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let noise = Normal::new(0.0, self.noise_std).expect("noise_std must be finite and >= 0");
        let items = (0..self.n_series)
            .map(|_| {
                let a = rng.random_range(self.amplitude.0..=self.amplitude.1);
                let w = rng.random_range(self.frequency.0..=self.frequency.1);
                let phase = rng.random_range(0.0..std::f64::consts::TAU);
                let points: Vec<f32> = (0..=self.seq_len)
                    .map(|t| (a * (w * t as f64 + phase).sin() + noise.sample(&mut rng)) as f32)
                    .collect();
                SequenceItem {
                    inputs: points[..self.seq_len].to_vec(),
                    targets: points[1..].to_vec(),
                }
            })
            .collect();
        SequenceDataset::new(items, self.seq_len, 1, 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With no noise and amplitude and frequency fixed at 1, every wave is `sin(t + φ)`: its
    /// points satisfy `s[t+1] + s[t-1] = 2 cos(1) s[t]`.
    #[test]
    fn noiseless_waves_obey_the_sine_recurrence() {
        let waves = SineWaves {
            n_series: 3,
            seq_len: 10,
            amplitude: (1.0, 1.0),
            frequency: (1.0, 1.0),
            noise_std: 0.0,
            seed: 4,
        };
        let data = waves.generate();
        assert_eq!(data.len(), 3);
        for item in data.iter() {
            let s = &item.inputs;
            for t in 1..9 {
                let lhs = f64::from(s[t + 1]) + f64::from(s[t - 1]);
                let rhs = 2.0 * 1f64.cos() * f64::from(s[t]);
                assert!((lhs - rhs).abs() < 1e-6, "{lhs} vs {rhs}");
            }
            assert_eq!(item.inputs[1..], item.targets[..9]);
        }
    }

    #[test]
    fn the_seed_decides_the_waves() {
        let a = SineWaves::default().generate();
        assert_eq!(a, SineWaves::default().generate());
        let other = SineWaves {
            seed: 1,
            ..SineWaves::default()
        };
        assert_ne!(a, other.generate());
    }
}
