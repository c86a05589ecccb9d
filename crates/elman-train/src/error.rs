//! Why training stops before it starts, or part way.

/// Why training stopped early.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TrainError {
    /// The loss became NaN or infinite: the run diverged.
    #[error(
        "training diverged: the loss is {loss} at epoch {epoch}, step {step} (try a smaller learning rate)"
    )]
    NonFiniteLoss {
        /// The epoch, from 0.
        epoch: usize,
        /// The update within the epoch, from 0 (the time step, in the tutorial's loop).
        step: usize,
        /// The non-finite loss.
        loss: f32,
    },
    /// The learning rate is not a finite positive number.
    #[error("the learning rate must be a finite number above 0, got {0}")]
    InvalidLearningRate(f64),
    /// The clipping norm is not a finite positive number.
    #[error("the gradient clipping norm must be a finite number above 0, got {0}")]
    InvalidGradClip(f64),
    /// A size in the configuration is zero.
    #[error("{0} must be at least 1")]
    Zero(&'static str),
    /// The data has a different number of features than the network.
    #[error(
        "the data has {data_input} inputs and {data_output} outputs per step, the network has {d_input} and {d_output}"
    )]
    DataShape {
        /// The data's inputs per step.
        data_input: usize,
        /// The data's outputs per step.
        data_output: usize,
        /// The network's input features.
        d_input: usize,
        /// The network's outputs.
        d_output: usize,
    },
    /// The setting needs validation sequences and there are none.
    #[error("{0} needs a validation set (a valid_fraction above 0)")]
    NeedsValidation(&'static str),
    /// A schedule's or early stopping's setting is out of its range.
    #[error("{0}")]
    Schedule(String),
    /// There are no training sequences.
    #[error("there are no training sequences")]
    NoData,
    /// The weights do not describe a network.
    #[error("the weights do not fit together: {0}")]
    Weights(#[from] elman_model::WeightsError),
    /// A saved state (a checkpoint) does not fit the network or the configuration.
    #[error("the saved training state does not fit: {0}")]
    ResumeState(String),
}
