//! A run's checkpoint: one safetensors file holding the weights, the best weights so far, the
//! optimizer's moments, and (in its metadata) the history, the scaler and the config. It is
//! rewritten atomically at the end of an epoch at most once a second and after the last epoch, so
//! a killed run leaves the last whole one. Reading one checks every part against the others: a
//! damaged or crafted file is an error, never a panic later.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use elman_data::Scaler;
use elman_train::{SavedOptimizer, TrainState};
use safetensors::{Dtype, SafeTensors, tensor::TensorView};
use serde::{Deserialize, Serialize};

use crate::settings::RunConfig;
use crate::{atomic, files};

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
        ("config".to_string(), checkpoint.config.to_toml()?),
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
    atomic::write(&dir.join(FILE), &to_bytes(checkpoint)?)
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
    let model = config.model_config();
    let weights = |prefix: &str| files::weights_in(&file, prefix, model.cell, model.bias);
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
    let checkpoint = Checkpoint {
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
    };
    checkpoint.check()?;
    Ok(checkpoint)
}

impl Checkpoint {
    /// Checks that the parts fit together: a valid config, weights of the shape it asks for,
    /// a scaler for its columns, and a training state that can go on.
    fn check(&self) -> Result<()> {
        self.config
            .validate(None)
            .context("the checkpoint's config")?;
        let model = self.config.model_config();
        self.state.weights.check_fits(&model).with_context(|| {
            format!(
                "the checkpoint's weights do not fit its config ({} inputs, model.d_hidden = {})",
                model.d_input, model.d_hidden
            )
        })?;
        self.state
            .check(self.config.train.optimizer)
            .context("the checkpoint")?;
        let state = &self.state;
        let tensors = [&state.weights.w1, &state.weights.w2]
            .into_iter()
            .chain(state.best.iter().flat_map(|(_, b)| [&b.w1, &b.w2]))
            .chain(state.optimizer.moments.iter().map(|(values, _)| values));
        if tensors.flatten().any(|v| !v.is_finite()) {
            bail!("the checkpoint's tensors hold a number that is not finite: the file is damaged");
        }
        let features = model.d_input + 1;
        let scaler = &self.scaler;
        if scaler.mean.len() != features || scaler.std.len() != features {
            bail!(
                "the checkpoint's scaler has {} means and {} deviations, its config needs {features}",
                scaler.mean.len(),
                scaler.std.len()
            );
        }
        if !scaler.mean.iter().all(|m| m.is_finite())
            || !scaler.std.iter().all(|s| s.is_finite() && *s > 0.0)
        {
            bail!(
                "the checkpoint's scaler holds a number that is not finite, or a deviation of 0 or less"
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use elman_model::{ElmanConfig, ElmanWeights};

    #[test]
    fn a_checkpoint_round_trips() {
        let weights = ElmanWeights::init(&ElmanConfig::default(), 1);
        let best = ElmanWeights::init(&ElmanConfig::default(), 2);
        // Losses that only read back as themselves when every digit is parsed exactly.
        let losses = vec![0.1 + 0.2, 2.0f64.sqrt(), 1.0 / 3.0];
        let checkpoint = Checkpoint {
            state: TrainState {
                next_epoch: 3,
                weights: weights.clone(),
                optimizer: SavedOptimizer {
                    step: 60,
                    moments: vec![
                        (weights.w1.clone(), weights.w1_shape),
                        (weights.w1.clone(), weights.w1_shape),
                        (weights.w2.clone(), weights.w2_shape),
                        (weights.w2.clone(), weights.w2_shape),
                    ],
                },
                losses: losses.clone(),
                valid_losses: vec![2.5, 1.0, 1.25],
                best: Some((1, best.clone())),
            },
            scaler: Scaler::fit(&[&[1.0, 2.0, 4.0], &[1.0, 2.0, 4.0]]),
            config: adam(),
        };
        let back = from_bytes(&to_bytes(&checkpoint).unwrap()).unwrap();
        assert_eq!(back.state.next_epoch, 3);
        assert_eq!(back.state.weights, weights);
        assert_eq!(back.state.optimizer, checkpoint.state.optimizer);
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&back.state.losses), bits(&losses));
        assert_eq!(back.state.valid_losses, checkpoint.state.valid_losses);
        assert_eq!(back.state.best, Some((1, best)));
        assert_eq!(back.scaler, checkpoint.scaler);
        assert_eq!(back.config, checkpoint.config);
    }

    fn adam() -> RunConfig {
        let mut config = RunConfig::default();
        config.train.optimizer = elman_train::OptimizerKind::Adam;
        config
    }

    /// A checkpoint whose config names two input columns while its weights take one is
    /// refused when it is read (it used to panic later, in the predictions).
    #[test]
    fn parts_that_do_not_fit_are_refused() {
        let weights = ElmanWeights::init(&ElmanConfig::default(), 1);
        let mut config = RunConfig {
            csv: Some(crate::settings::CsvSection {
                path: "x.csv".into(),
                target: "y".into(),
                inputs: vec!["a".into(), "b".into()],
                ..Default::default()
            }),
            ..RunConfig::default()
        };
        let checkpoint = |config: &RunConfig, scaler: Scaler| Checkpoint {
            state: TrainState {
                next_epoch: 0,
                weights: weights.clone(),
                optimizer: SavedOptimizer {
                    step: 0,
                    moments: vec![],
                },
                losses: vec![],
                valid_losses: vec![],
                best: None,
            },
            scaler,
            config: config.clone(),
        };
        let err = from_bytes(&to_bytes(&checkpoint(&config, Scaler::identity(3))).unwrap())
            .err()
            .unwrap();
        assert_eq!(
            format!("{err:#}"),
            "the checkpoint's weights do not fit its config (2 inputs, model.d_hidden = 6): tensor `w1` has shape [7, 6], expected [8, 6]"
        );
        config.csv = None;
        let err = from_bytes(&to_bytes(&checkpoint(&config, Scaler::identity(3))).unwrap())
            .err()
            .unwrap();
        assert!(format!("{err:#}").contains("scaler has 3 means"), "{err:#}");
    }

    #[test]
    fn weights_alone_are_not_a_checkpoint() {
        let weights = ElmanWeights::init(&ElmanConfig::default(), 1);
        let bytes = files::weights_to_safetensors(&weights).unwrap();
        let err = from_bytes(&bytes).err().unwrap();
        assert_eq!(err.to_string(), "not an elman checkpoint");
    }
}
