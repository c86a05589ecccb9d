//! `elman predict`, and the one-step-ahead predictions every finished training writes:
//! `predictions.csv` and `predictions.png`, with the metrics they give.

use std::path::Path;

use anyhow::Result;
use elman_data::{RunData, Source, mse};
use elman_model::Elman;
use serde_json::{Map, Value};

use crate::args::{Common, UseArgs};
use crate::run_folder::RunFolder;
use crate::settings::RunConfig;
use crate::{atomic, files, plot, trained};

/// Values as `f64`, for the CSV writer and the charts.
pub(crate) fn f64s(values: &[f32]) -> Vec<f64> {
    values.iter().map(|&v| f64::from(v)).collect()
}

/// `elman predict`: one-step-ahead predictions of a trained network over its data.
pub fn run(common: &Common, args: &UseArgs) -> Result<()> {
    let trained = trained::load(common, args)?;
    let folder = RunFolder::create(common.out.as_deref(), "predict")?;
    let metrics = write_predictions(
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

/// Writes `predictions.csv` and `predictions.png` for `model` over the run's data, and returns
/// the metrics they give.
pub fn write_predictions(
    out: &Path,
    config: &RunConfig,
    data: &RunData,
    model: &Elman,
) -> Result<Map<String, Value>> {
    if let Source::Panel(_) = &data.source {
        return crate::panel::write_predictions(out, config, data, model);
    }
    let mut metrics = Map::new();
    let one_step = data.one_step();
    let outputs = elman_train::predict(model, &one_step.inputs)?;
    // In original units, once, for the metrics, the file and the picture.
    let values = data.one_step_values(&outputs);
    let (axis, actual, predicted) = (&one_step.axis, f64s(&one_step.actual), f64s(&values));
    let lines = |from: usize, values: &[f64]| -> Vec<(f64, f64)> {
        axis[from..]
            .iter()
            .copied()
            .zip(values[from..].iter().copied())
            .collect()
    };
    let (title, x_label, header, from, marks, actual_points) = match &data.source {
        // Handled above; a panel's series each come through here as a series.
        Source::Panel(_) => return crate::panel::write_predictions(out, config, data, model),
        Source::Tutorial(wave) => {
            metrics.insert("predict_mse".into(), mse(&one_step.actual, &values).into());
            // The tutorial's picture: the actual points at t[0..20], predictions at t[1..21].
            let points = wave
                .times()
                .iter()
                .zip(wave.inputs())
                .map(|(&t, v)| (t, v.into()))
                .collect();
            (
                format!("Elman RNN on {}: sine wave, one step ahead", config.backend),
                "time",
                "time",
                0,
                [plot::Mark::Points(8), plot::Mark::Points(5)],
                points,
            )
        }
        Source::Waves => {
            let (key, set) = match &data.valid {
                Some(valid) => ("valid_mse", valid),
                None => ("train_mse", &data.train),
            };
            metrics.insert(key.into(), elman_train::evaluate(model, set).into());
            (
                "A validation wave, one step ahead".to_string(),
                "step",
                "step",
                0,
                [plot::Mark::Points(6), plot::Mark::Points(4)],
                lines(0, &actual),
            )
        }
        Source::Series(series) => {
            if let Some(valid) = &one_step.valid {
                metrics.insert(
                    "valid_mse_original_units".into(),
                    mse(&one_step.actual[valid.clone()], &values[valid.clone()]).into(),
                );
            }
            // The picture: the validation span and as much history again before it.
            let shown = (series.test_start - series.valid_start).max(200);
            let from = axis.len().saturating_sub(2 * shown);
            let time = series
                .time
                .as_ref()
                .map_or("step", |time| time.name.as_str());
            (
                "One step ahead".to_string(),
                time,
                time,
                from,
                [plot::Mark::Line(2), plot::Mark::Line(1)],
                lines(from, &actual),
            )
        }
    };
    let header = [header, "actual", "predicted"];
    let table = match &one_step.labels {
        Some(labels) => files::labelled_csv(&header, labels, &[&actual, &predicted])?,
        None => files::columns_csv(&header, &[axis, &actual, &predicted])?,
    };
    atomic::write(&out.join("predictions.csv"), &table)?;
    plot::png(
        &out.join("predictions.png"),
        &plot::Chart {
            title: &title,
            x_label,
            y_label: &config.value_label(),
            log_y: false,
        },
        &[
            plot::Series {
                label: "Actual",
                points: actual_points,
                color: plot::BLUE,
                mark: marks[0],
            },
            plot::Series {
                label: "Predicted",
                points: lines(from, &predicted),
                color: plot::ORANGE,
                mark: marks[1],
            },
        ],
    )?;
    Ok(metrics)
}
