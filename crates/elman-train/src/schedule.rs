//! Training that stops itself and a learning rate that changes with it: early stopping on the
//! validation loss, and the `cosine` and `plateau` schedules. Each is a function of the epoch and
//! the validation losses so far, so a resumed run recomputes them exactly from its history.
//!
//! ```text
//! cosine    lr(e) = lr_min + (lr - lr_min) · (1 + cos(π e / n_epochs)) / 2
//! plateau   lr(e) = max(lr · factor^k, lr_min), k = the times the validation loss went
//!           `patience` epochs without a new lowest value before epoch e
//! stopping  after the epoch whose validation loss is `patience` epochs past the last one that
//!           beat the best before it by more than `min_delta`
//! ```

use serde::{Deserialize, Serialize};

/// How the learning rate changes over a run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Schedule {
    /// The learning rate stays as set.
    Constant,
    /// Half a cosine from the learning rate down to `lr_min` over the run's epochs.
    Cosine {
        /// The learning rate at the end.
        lr_min: f64,
    },
    /// Multiplied by `factor` each time the validation loss goes `patience` epochs without a
    /// new lowest value, never below `lr_min` (needs a validation set).
    Plateau {
        /// The factor, in (0, 1).
        factor: f64,
        /// Epochs without a new lowest validation loss before a reduction.
        patience: usize,
        /// The lowest learning rate.
        lr_min: f64,
    },
}

/// The schedule's name in settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScheduleKind {
    /// [`Schedule::Constant`].
    Constant,
    /// [`Schedule::Cosine`].
    Cosine,
    /// [`Schedule::Plateau`].
    Plateau,
}

/// Stop when the validation loss has not improved on its best by more than `min_delta` for
/// `patience` epochs (needs a validation set).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EarlyStopping {
    /// Epochs without an improvement before the run stops, at least 1.
    pub patience: usize,
    /// The least decrease of the validation loss that counts as an improvement, at least 0.
    pub min_delta: f64,
}

/// Why a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// It ran every epoch it was given.
    Completed,
    /// The caller's callback stopped it after `epoch` (see [`crate::Next`]).
    Stopped {
        /// The last epoch run.
        epoch: usize,
    },
    /// Early stopping ended it after `epoch`.
    EarlyStopping {
        /// The last epoch run.
        epoch: usize,
        /// The last epoch that improved the validation loss by more than `min_delta`.
        best_epoch: usize,
        /// The patience that ran out.
        patience: usize,
    },
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StopReason::Completed => f.write_str("it ran every epoch"),
            StopReason::Stopped { epoch } => write!(f, "stopped after epoch {epoch} when asked"),
            StopReason::EarlyStopping {
                epoch,
                best_epoch,
                patience,
            } => {
                let plural = if *patience == 1 { "" } else { "s" };
                write!(
                    f,
                    "stopped early after epoch {epoch}: the validation loss has not improved for {patience} epoch{plural} since epoch {best_epoch}"
                )
            }
        }
    }
}

impl EarlyStopping {
    /// Whether the run stops after the epochs whose validation losses are `valid`, and why.
    pub(crate) fn stop(&self, valid: &[f64]) -> Option<StopReason> {
        let last = valid.len().checked_sub(1)?;
        let mut best = f64::INFINITY;
        let mut best_epoch = 0;
        for (epoch, &loss) in valid.iter().enumerate() {
            if loss < best - self.min_delta {
                best = loss;
                best_epoch = epoch;
            }
        }
        (last - best_epoch >= self.patience).then_some(StopReason::EarlyStopping {
            epoch: last,
            best_epoch,
            patience: self.patience,
        })
    }
}

impl Schedule {
    /// The learning rate of `epoch` of `n_epochs`, from the base rate `lr`, after the
    /// validation losses `valid` of the epochs before it.
    pub(crate) fn lr(&self, lr: f64, epoch: usize, n_epochs: usize, valid: &[f64]) -> f64 {
        match *self {
            Schedule::Constant => lr,
            Schedule::Cosine { lr_min } => {
                let progress = epoch as f64 / n_epochs.max(1) as f64;
                lr_min + (lr - lr_min) * (1.0 + (std::f64::consts::PI * progress).cos()) / 2.0
            }
            Schedule::Plateau {
                factor,
                patience,
                lr_min,
            } => {
                let (mut best, mut waited, mut reductions) = (f64::INFINITY, 0, 0);
                for &loss in valid {
                    if loss < best {
                        (best, waited) = (loss, 0);
                    } else {
                        waited += 1;
                        if waited >= patience {
                            (reductions, waited) = (reductions + 1, 0);
                        }
                    }
                }
                (lr * factor.powi(reductions)).max(lr_min)
            }
        }
    }

    /// Whether the schedule reads the validation losses.
    pub(crate) fn needs_validation(&self) -> bool {
        matches!(self, Schedule::Plateau { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cosine from 0.1 to 0 over 4 epochs: 0.1, 0.1 · (1 + cos(π/4)) / 2 ≈ 0.085355, 0.05,
    /// ≈ 0.014645; plateau with patience 2 after losses 3, 2, 2.5, 2.5 (two epochs without a
    /// new lowest) halves once; constant stays.
    #[test]
    fn schedules_by_hand() {
        let cosine = Schedule::Cosine { lr_min: 0.0 };
        let rates: Vec<f64> = (0..4).map(|e| cosine.lr(0.1, e, 4, &[])).collect();
        let expected = [0.1, 0.085_355_339, 0.05, 0.014_644_661];
        for (got, want) in rates.iter().zip(expected) {
            assert!((got - want).abs() < 1e-9, "{got} vs {want}");
        }
        let plateau = Schedule::Plateau {
            factor: 0.5,
            patience: 2,
            lr_min: 0.01,
        };
        assert_eq!(plateau.lr(0.1, 3, 10, &[3.0, 2.0, 2.5]), 0.1);
        assert_eq!(plateau.lr(0.1, 4, 10, &[3.0, 2.0, 2.5, 2.5]), 0.05);
        let long = [3.0, 2.0, 2.5, 2.5, 2.5, 2.5, 2.5, 2.5, 2.5, 2.5];
        assert_eq!(plateau.lr(0.1, 10, 10, &long), 0.01, "never below lr_min");
        assert_eq!(Schedule::Constant.lr(0.1, 3, 4, &long), 0.1);
    }

    /// With patience 2 and min_delta 0.1: losses 1.0, 0.95, 0.93 improve by less than 0.1 on
    /// epoch 0's, so the run stops after epoch 2; 1.0, 0.8, 0.75 goes on.
    #[test]
    fn early_stopping_by_hand() {
        let stopping = EarlyStopping {
            patience: 2,
            min_delta: 0.1,
        };
        assert_eq!(
            stopping.stop(&[1.0, 0.95, 0.93]),
            Some(StopReason::EarlyStopping {
                epoch: 2,
                best_epoch: 0,
                patience: 2
            })
        );
        assert_eq!(stopping.stop(&[1.0, 0.8, 0.75]), None);
        assert_eq!(stopping.stop(&[1.0, 0.95]), None);
        assert_eq!(stopping.stop(&[]), None);
    }
}
