//! Why data could not be made ready.

/// Why data could not be made ready for training or forecasting.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DataError {
    /// The CSV file could not be read.
    #[error(transparent)]
    Csv(#[from] crate::CsvError),
    /// The series is too short for the settings.
    #[error("{0}")]
    TooShort(String),
    /// The settings leave no sequence to train on.
    #[error("{0}")]
    NoTrainingData(String),
    /// A value the log transformation cannot take (at or below 0).
    #[error("{0}")]
    NotPositive(String),
    /// The time column holds a value that is not a time of its kind.
    #[error("{0}")]
    Time(String),
    /// A closed-loop forecast needs the target to be the network's only input.
    #[error(
        "a closed-loop forecast feeds each prediction back as the next input: it needs csv.inputs to be the target alone"
    )]
    NotClosedLoop,
}
