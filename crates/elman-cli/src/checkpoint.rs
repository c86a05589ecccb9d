//! A run's checkpoint: one safetensors file holding the weights, the best weights so far, the
//! optimizer's moments, and (in its metadata) the history, the scaler and the config. It is
//! rewritten atomically at the end of an epoch at most once a second and after the last epoch, so a
//! killed run leaves the last whole one.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use elman_data::Scaler;
use elman_train::{SavedOptimizer, TrainState};
use safetensors::{Dtype, SafeTensors, tensor::TensorView};
use serde::{Deserialize, Serialize};

use crate::config::RunConfig;
use crate::files;

/// The checkpoint's file name inside a run folder.
pub const FILE: &str = "checkpoint.safetensors";

/// What a checkpoint holds.
pub struct Checkpoint {
    /// Where training stands.
    pub state: TrainState,
    /// The column statistics the network's inputs and target were scaled with.
    pub scaler: Scaler,
    /// The resolved config of the run.
    pub config: RunConfig,
}

#[derive(Serialize, Deserialize)]
struct History {
    next_epoch: usize,
    optimizer_step: u64,
    losses: Vec<f64>,
    valid_losses: Vec<f64>,
    best_epoch: Option<usize>,
}

fn le_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Serializes a checkpoint.
pub fn to_bytes(checkpoint: &Checkpoint) -> Result<Vec<u8>> {
    let state = &checkpoint.state;
    let mut tensors: Vec<(String, Vec<u8>, [usize; 2])> = vec![
        (
            "w1".into(),
            le_bytes(&state.weights.w1),
            state.weights.w1_shape,
        ),
        (
            "w2".into(),
            le_bytes(&state.weights.w2),
            state.weights.w2_shape,
        ),
    ];
    if let Some((_, best)) = &state.best {
        tensors.push(("best.w1".into(), le_bytes(&best.w1), best.w1_shape));
        tensors.push(("best.w2".into(), le_bytes(&best.w2), best.w2_shape));
    }
    for (i, (values, shape)) in state.optimizer.moments.iter().enumerate() {
        tensors.push((format!("optimizer.moment{i}"), le_bytes(values), *shape));
    }
    let history = History {
        next_epoch: state.next_epoch,
        optimizer_step: state.optimizer.step,
        losses: state.losses.clone(),
        valid_losses: state.valid_losses.clone(),
        best_epoch: state.best.as_ref().map(|(epoch, _)| *epoch),
    };
    let metadata = HashMap::from([
        ("format".to_string(), "elman-checkpoint".to_string()),
        ("history".to_string(), serde_json::to_string(&history)?),
        (
            "scaler".to_string(),
            serde_json::to_string(&checkpoint.scaler)?,
        ),
        ("config".to_string(), checkpoint.config.to_toml()),
    ]);
    let views = tensors
        .iter()
        .map(|(name, bytes, shape)| {
            Ok((
                name.clone(),
                TensorView::new(Dtype::F32, shape.to_vec(), bytes)?,
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(safetensors::serialize(views, Some(metadata))?)
}

/// Writes the checkpoint into `dir` atomically.
pub fn save(dir: &Path, checkpoint: &Checkpoint) -> Result<()> {
    files::write_atomic_fast(&dir.join(FILE), &to_bytes(checkpoint)?)
}

/// Reads the checkpoint of the run folder `dir`.
pub fn load(dir: &Path) -> Result<Checkpoint> {
    let path = dir.join(FILE);
    let bytes = std::fs::read(&path)
        .with_context(|| format!("cannot read checkpoint {}", path.display()))?;
    from_bytes(&bytes).with_context(|| format!("checkpoint {}", path.display()))
}

/// Parses a checkpoint.
pub fn from_bytes(bytes: &[u8]) -> Result<Checkpoint> {
    let (_, header) = SafeTensors::read_metadata(bytes).context("not a safetensors file")?;
    let metadata = header.metadata().clone().unwrap_or_default();
    if metadata.get("format").map(String::as_str) != Some("elman-checkpoint") {
        bail!("not an elman checkpoint");
    }
    let field = |key: &str| {
        metadata
            .get(key)
            .with_context(|| format!("the checkpoint has no {key}"))
    };
    let history: History =
        serde_json::from_str(field("history")?).context("the checkpoint's history is damaged")?;
    let scaler: Scaler =
        serde_json::from_str(field("scaler")?).context("the checkpoint's scaler is damaged")?;
    let config = RunConfig::from_toml(field("config")?, "the checkpoint's config")?;

    let file = SafeTensors::deserialize(bytes).context("not a safetensors file")?;
    let weights = |prefix: &str| files::weights_in(&file, prefix);
    let current = weights("")?.context("the checkpoint has no weights `w1` and `w2`")?;
    let best = match (history.best_epoch, weights("best.")?) {
        (Some(epoch), Some(best)) => Some((epoch, best)),
        (None, _) => None,
        (Some(_), None) => bail!("the checkpoint names a best epoch but has no best weights"),
    };
    let mut moments = Vec::new();
    while let Some(moment) = files::matrix(&file, &format!("optimizer.moment{}", moments.len()))? {
        moments.push(moment);
    }
    Ok(Checkpoint {
        state: TrainState {
            next_epoch: history.next_epoch,
            weights: current,
            optimizer: SavedOptimizer {
                step: history.optimizer_step,
                moments,
            },
            losses: history.losses,
            valid_losses: history.valid_losses,
            best,
        },
        scaler,
        config,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use elman_model::{ElmanConfig, ElmanWeights};

    #[test]
    fn a_checkpoint_round_trips() {
        let weights = ElmanWeights::init(&ElmanConfig::default(), 1);
        let best = ElmanWeights::init(&ElmanConfig::default(), 2);
        let checkpoint = Checkpoint {
            state: TrainState {
                next_epoch: 3,
                weights: weights.clone(),
                optimizer: SavedOptimizer {
                    step: 60,
                    moments: vec![
                        (weights.w1.clone(), weights.w1_shape),
                        (weights.w2.clone(), weights.w2_shape),
                    ],
                },
                losses: vec![3.0, 2.0, 1.5],
                valid_losses: vec![2.5, 1.0, 1.25],
                best: Some((1, best.clone())),
            },
            scaler: Scaler::fit(&[&[1.0, 2.0, 4.0]]),
            config: RunConfig::default(),
        };
        let back = from_bytes(&to_bytes(&checkpoint).unwrap()).unwrap();
        assert_eq!(back.state.next_epoch, 3);
        assert_eq!(back.state.weights, weights);
        assert_eq!(back.state.optimizer, checkpoint.state.optimizer);
        assert_eq!(back.state.losses, checkpoint.state.losses);
        assert_eq!(back.state.valid_losses, checkpoint.state.valid_losses);
        assert_eq!(back.state.best, Some((1, best)));
        assert_eq!(back.scaler, checkpoint.scaler);
        assert_eq!(back.config, checkpoint.config);
    }

    #[test]
    fn weights_alone_are_not_a_checkpoint() {
        let weights = ElmanWeights::init(&ElmanConfig::default(), 1);
        let bytes = files::weights_to_safetensors(&weights).unwrap();
        let err = from_bytes(&bytes).err().unwrap();
        assert_eq!(err.to_string(), "not an elman checkpoint");
    }
}
