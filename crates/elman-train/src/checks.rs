//! The checks [`fit`](crate::fit) makes before it trains: the settings, the weights, a resumed
//! state and the data's widths, each refused with a [`TrainError`] naming it.

use elman_data::SequenceDataset;

use crate::{Start, TrainConfig, TrainError};

/// The checks [`fit`](crate::fit) makes before it trains.
pub(crate) fn check(
    start: &Start,
    train: &SequenceDataset,
    valid: Option<&SequenceDataset>,
    config: &TrainConfig,
) -> Result<(), TrainError> {
    if !(config.lr.is_finite() && config.lr > 0.0) {
        return Err(TrainError::InvalidLearningRate(config.lr));
    }
    if let Some(clip) = config.grad_clip
        && !(clip.is_finite() && clip > 0.0)
    {
        return Err(TrainError::InvalidGradClip(clip));
    }
    for (name, value) in [
        ("the number of epochs", config.n_epochs),
        ("the batch size", config.batch_size),
        ("bptt", config.bptt),
    ] {
        if value == 0 {
            return Err(TrainError::Zero(name));
        }
    }
    if train.is_empty() {
        return Err(TrainError::NoData);
    }
    let validated = valid.is_some_and(|v| !v.is_empty());
    if config.schedule.needs_validation() && !validated {
        return Err(TrainError::NeedsValidation("the plateau schedule"));
    }
    if let Some(stopping) = config.early_stopping {
        if !validated {
            return Err(TrainError::NeedsValidation("early stopping"));
        }
        if stopping.patience == 0 || !(stopping.min_delta.is_finite() && stopping.min_delta >= 0.0)
        {
            return Err(TrainError::Schedule(format!(
                "early stopping needs a patience of at least 1 and a finite min_delta of at least 0, got {} and {}",
                stopping.patience, stopping.min_delta
            )));
        }
    }
    match config.schedule {
        crate::Schedule::Constant => {}
        crate::Schedule::Cosine { lr_min } | crate::Schedule::Plateau { lr_min, .. }
            if !(lr_min.is_finite() && lr_min >= 0.0 && lr_min <= config.lr) =>
        {
            return Err(TrainError::Schedule(format!(
                "the schedule's lr_min must be a finite number from 0 to the learning rate {}, got {lr_min}",
                config.lr
            )));
        }
        crate::Schedule::Plateau {
            factor, patience, ..
        } if !(factor > 0.0 && factor < 1.0) || patience == 0 => {
            return Err(TrainError::Schedule(format!(
                "the plateau schedule needs a factor above 0 and below 1 and a patience of at least 1, got {factor} and {patience}"
            )));
        }
        _ => {}
    }
    start.weights().validate()?;
    if let Start::Resume(state) = start {
        state.check(config.optimizer)?;
    }
    let model_config = start.weights().config();
    for data in std::iter::once(train).chain(valid) {
        if (data.d_input(), data.d_output()) != (model_config.d_input, model_config.d_output) {
            return Err(TrainError::DataShape {
                data_input: data.d_input(),
                data_output: data.d_output(),
                d_input: model_config.d_input,
                d_output: model_config.d_output,
            });
        }
    }
    Ok(())
}
