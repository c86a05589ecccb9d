//! `elman predict`: the one-step-ahead predictions of a trained run (`results` writes them).

use anyhow::Result;

use crate::args::{Common, UseArgs};
use crate::run_folder::RunFolder;
use crate::{files, results, trained};

/// `elman predict`: one-step-ahead predictions of a trained network over its data.
pub fn run(common: &Common, args: &UseArgs) -> Result<()> {
    let trained = trained::load(common, args)?;
    let folder = RunFolder::create(common.out.as_deref(), "predict")?;
    let metrics = results::predictions(
        folder.path(),
        &trained.config,
        &trained.data,
        &trained.model,
    )?;
    files::write_json(&folder.path().join("metrics.json"), &metrics)?;
    eprintln!("elman: wrote predictions to {}", folder.path().display());
    folder.release();
    Ok(())
}
