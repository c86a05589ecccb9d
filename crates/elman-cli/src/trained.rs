//! A trained run, ready to use by `elman predict` and `elman generate`: its checkpoint with the
//! flags applied, its data, and the network on the chosen device.

use anyhow::{Result, bail};
use elman_data::RunData;
use elman_model::Elman;

use crate::args::{Common, UseArgs};
use crate::checkpoint::{self, Checkpoint};
use crate::settings::RunConfig;
use crate::validate::available_memory;

/// A trained run, ready to use.
pub struct Trained {
    /// The run's settings, with the flags applied.
    pub config: RunConfig,
    /// Its data.
    pub data: RunData,
    /// The network: the best one, or with `--last` the last one.
    pub model: Elman,
}

/// Loads the run `args.from` names.
pub fn load(common: &Common, args: &UseArgs) -> Result<Trained> {
    if common.config.is_some() {
        bail!("--from uses the run's own config: drop --config");
    }
    let Checkpoint {
        state, mut config, ..
    } = checkpoint::load(&args.from)?;
    config.apply(common);
    config.validate(available_memory())?;
    let data = config.prepare_data()?;
    let weights = match (state.best, args.last) {
        (Some((_, best)), false) => best,
        _ => state.weights,
    };
    // `checkpoint::load` checked that the weights fit the config, and the data comes from the
    // same config: the network takes the data's inputs.
    let model = weights.to_module(&config.backend.device()?);
    Ok(Trained {
        config,
        data,
        model,
    })
}
