//! Using a trained network: one-step-ahead predictions (`elman predict`, and at the end of
//! training) and closed-loop forecasts (`elman generate`).

use std::path::Path;

use anyhow::{Result, bail};
use elman_data::SineDataset;
use elman_model::{Elman, ElmanWeights};
use serde_json::{Map, Value};

use crate::checkpoint::{self, Checkpoint};
use crate::config::RunConfig;
use crate::data::{self, Prepared};
use crate::{Common, UseArgs, apply_flags, files, output_folder, plot};

fn mse(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum::<f64>() / n.max(1) as f64
}

fn f64s(values: &[f32]) -> Vec<f64> {
    values.iter().map(|&v| f64::from(v)).collect()
}

/// Writes `predictions.csv` and `predictions.png` for `model` over the run's data, and returns
/// the metrics they give.
pub fn write_predictions(
    out: &Path,
    config: &RunConfig,
    prepared: &Prepared,
    model: &Elman,
) -> Result<Map<String, Value>> {
    let mut metrics = Map::new();
    let chart = |title, x_label| plot::Chart {
        title,
        x_label,
        y_label: "value",
        log_y: false,
    };
    if let Some(series) = &prepared.series {
        // The user's series: every row from a zero context at row 0, in original units.
        let d_input = series.inputs.len();
        let inputs = series.scaled_inputs(&prepared.scaler, 0..series.test_start - 1);
        let predicted = elman_train::predict(model, &inputs);
        let predicted = prepared.scaler.unscale_column(d_input, &predicted);
        // Back to levels: series row r is file row r + lag.
        let lag = series.difference;
        let predicted: Vec<f64> = predicted
            .iter()
            .enumerate()
            .map(|(i, &d)| f64::from(series.level(d, series.levels[i + 1])))
            .collect();
        let actual = f64s(&series.levels[1 + lag..series.test_start + lag]);
        let steps: Vec<f64> = (1 + lag..series.test_start + lag)
            .map(|s| s as f64)
            .collect();
        let valid = series.valid_start - 1..series.test_start - 1;
        if !valid.is_empty() {
            metrics.insert(
                "valid_mse_original_units".into(),
                mse(&actual[valid.clone()], &predicted[valid]).into(),
            );
        }
        // The picture: the validation span and as much history again before it.
        let shown = (series.test_start - series.valid_start).max(200);
        let from = steps.len().saturating_sub(2 * shown);
        write_steps(
            out,
            "One step ahead",
            (&steps, &actual, &predicted),
            from,
            [plot::Mark::Line(2), plot::Mark::Line(1)],
        )?;
        return Ok(metrics);
    }
    if config.sines.is_some() {
        // The first validation wave (or training wave), step by step.
        let data = prepared.valid.as_ref().unwrap_or(&prepared.train);
        let key = if prepared.valid.is_some() {
            "valid_mse"
        } else {
            "train_mse"
        };
        metrics.insert(key.into(), elman_train::evaluate(model, data).into());
        let item = &data.items()[0];
        let predicted = f64s(&elman_train::predict(model, &item.inputs));
        let actual = f64s(&item.targets);
        let steps: Vec<f64> = (1..=actual.len()).map(|s| s as f64).collect();
        write_steps(
            out,
            "A validation wave, one step ahead",
            (&steps, &actual, &predicted),
            0,
            [plot::Mark::Points(6), plot::Mark::Points(4)],
        )?;
        return Ok(metrics);
    }

    // The tutorial's picture: actual points at t[0..20], predictions at t[1..21].
    let data = SineDataset::new(config.data.start, config.data.end, config.data.seq_len);
    let predicted = elman_train::predict(model, &data.inputs());
    let times = data.times();
    metrics.insert(
        "predict_mse".into(),
        mse(&f64s(&data.targets()), &f64s(&predicted)).into(),
    );
    files::write_atomic(
        &out.join("predictions.csv"),
        files::predictions_csv(&times[1..], &data.targets(), &predicted).as_bytes(),
    )?;
    let inputs = data.inputs();
    plot::png(
        &out.join("predictions.png"),
        &chart(
            &format!("Elman RNN on {}: sine wave, one step ahead", config.backend),
            "time",
        ),
        &[
            plot::Series {
                label: "Actual",
                points: times
                    .iter()
                    .zip(&inputs)
                    .map(|(&t, &v)| (t, v.into()))
                    .collect(),
                color: plot::BLUE,
                mark: plot::Mark::Points(8),
            },
            plot::Series {
                label: "Predicted",
                points: times[1..]
                    .iter()
                    .zip(&predicted)
                    .map(|(&t, &v)| (t, v.into()))
                    .collect(),
                color: plot::ORANGE,
                mark: plot::Mark::Points(5),
            },
        ],
    )?;
    Ok(metrics)
}

/// `predictions.csv` (`step,actual,predicted`) and `predictions.png`, the picture from index
/// `from` on, with `marks` for the actual and predicted series.
fn write_steps(
    out: &Path,
    title: &str,
    (steps, actual, predicted): (&[f64], &[f64], &[f64]),
    from: usize,
    marks: [plot::Mark; 2],
) -> Result<()> {
    files::write_atomic(
        &out.join("predictions.csv"),
        files::columns_csv(
            &["step", "actual", "predicted"],
            &[steps, actual, predicted],
        )
        .as_bytes(),
    )?;
    let points = |values: &[f64]| -> Vec<(f64, f64)> {
        steps[from..]
            .iter()
            .copied()
            .zip(values[from..].iter().copied())
            .collect()
    };
    plot::png(
        &out.join("predictions.png"),
        &plot::Chart {
            title,
            x_label: "step",
            y_label: "value",
            log_y: false,
        },
        &[
            plot::Series {
                label: "Actual",
                points: points(actual),
                color: plot::BLUE,
                mark: marks[0],
            },
            plot::Series {
                label: "Predicted",
                points: points(predicted),
                color: plot::ORANGE,
                mark: marks[1],
            },
        ],
    )
}

/// A trained run, ready to use: its checkpoint with flags applied, its data, the network.
struct Loaded {
    config: RunConfig,
    prepared: Prepared,
    model: Elman,
}

fn load(common: &Common, args: &UseArgs) -> Result<Loaded> {
    if common.config.is_some() {
        bail!("--from uses the run's own config: drop --config");
    }
    let Checkpoint { state, config, .. } = checkpoint::load(&args.from)?;
    let mut config = config;
    let backend = apply_flags(&mut config, common)?;
    let prepared = data::prepare(&config)?;
    let weights: ElmanWeights = match (&state.best, args.last) {
        (Some((_, best)), false) => best.clone(),
        _ => state.weights,
    };
    let model = weights.to_module(&backend.device()?);
    Ok(Loaded {
        config,
        prepared,
        model,
    })
}

/// `elman predict`: one-step-ahead predictions of a trained network over its data.
pub fn predict(common: &Common, args: &UseArgs) -> Result<()> {
    let loaded = load(common, args)?;
    let out = output_folder(common.out.as_deref(), "predict")?;
    std::fs::create_dir_all(&out)?;
    let metrics = write_predictions(&out, &loaded.config, &loaded.prepared, &loaded.model)?;
    files::write_json(&out.join("metrics.json"), &metrics)?;
    eprintln!("elman: wrote predictions to {}", out.display());
    Ok(())
}

/// `elman generate`: warm up on the series, then forecast by feeding predictions back.
pub fn generate(common: &Common, args: &UseArgs, horizon: Option<usize>) -> Result<()> {
    let Loaded {
        config,
        prepared,
        model,
    } = load(common, args)?;
    let target = prepared.train.d_input();

    // The history to warm up on (as the network sees it), the levels before the forecast, the
    // truth after it, the differencing lag and the baseline's cycle (all unscaled).
    let (history, levels, truth, lag, season): (Vec<f32>, Vec<f32>, Vec<f32>, usize, usize) =
        match &prepared.series {
            Some(series) => {
                if series.inputs.len() != 1 {
                    bail!(
                        "generate feeds each prediction back as the next input: it needs csv.inputs to be the target alone"
                    );
                }
                let lag = series.difference;
                let split = series.test_start + lag;
                (
                    series.target[..series.test_start].to_vec(),
                    series.levels[..split].to_vec(),
                    series.levels[split..].to_vec(),
                    lag,
                    series.season,
                )
            }
            None => {
                let wave: Vec<f32> = match &prepared.valid {
                    Some(valid) if config.sines.is_some() => {
                        let item = &valid.items()[0];
                        std::iter::once(item.inputs[0])
                            .chain(item.targets.iter().copied())
                            .collect()
                    }
                    _ => {
                        let data = SineDataset::new(
                            config.data.start,
                            config.data.end,
                            config.data.seq_len,
                        );
                        std::iter::once(data.inputs()[0])
                            .chain(data.targets())
                            .collect()
                    }
                };
                let half = wave.len() / 2;
                (
                    wave[..half].to_vec(),
                    wave[..half].to_vec(),
                    wave[half..].to_vec(),
                    0,
                    0,
                )
            }
        };
    let horizon = match horizon.or((!truth.is_empty()).then_some(truth.len())) {
        Some(0) | None => bail!("nothing to forecast: pass --horizon N"),
        Some(h) => h,
    };
    let prefix = prepared.scaler.scale_column(0, &history);
    let (_, forecast) = elman_train::generate(&model, &prefix, horizon);
    let forecast = prepared.scaler.unscale_column(target, &forecast);
    // Back to levels, each forecast step adding to the level `lag` steps before it (a
    // forecast one, once the history runs out).
    let mut extended = levels.clone();
    for d in &forecast {
        let level = if lag == 0 {
            *d
        } else {
            extended[extended.len() - lag] + d
        };
        extended.push(level);
    }
    let forecast = f64s(&extended[levels.len()..]);
    let truth = f64s(&truth[..truth.len().min(horizon)]);
    let baseline: Vec<f64> = (0..horizon)
        .map(|k| {
            let at = if season > 0 && season <= levels.len() {
                levels.len() - season + k % season
            } else {
                levels.len() - 1
            };
            f64::from(levels[at])
        })
        .collect();
    let history = levels;

    let out = output_folder(common.out.as_deref(), "generate")?;
    std::fs::create_dir_all(&out)?;
    let steps: Vec<f64> = (0..horizon).map(|k| (history.len() + k) as f64).collect();
    files::write_atomic(
        &out.join("forecast.csv"),
        files::columns_csv(
            &["step", "actual", "predicted", "baseline"],
            &[&steps, &truth, &forecast, &baseline],
        )
        .as_bytes(),
    )?;
    let mut metrics = Map::new();
    metrics.insert("horizon".into(), horizon.into());
    metrics.insert(
        "baseline".into(),
        (if season > 0 {
            format!("seasonal naive, season {season}")
        } else {
            "last value".into()
        })
        .into(),
    );
    if !truth.is_empty() {
        metrics.insert("forecast_mse".into(), mse(&truth, &forecast).into());
        metrics.insert("baseline_mse".into(), mse(&truth, &baseline).into());
        metrics.insert("compared_steps".into(), truth.len().into());
    }
    files::write_json(&out.join("metrics.json"), &metrics)?;

    let shown = history.len().saturating_sub((3 * horizon).max(20));
    let line = |from: usize, values: &[f64]| -> Vec<(f64, f64)> {
        values
            .iter()
            .enumerate()
            .map(|(k, &v)| ((from + k) as f64, v))
            .collect()
    };
    let mut series = vec![plot::Series {
        label: "History",
        points: line(shown, &f64s(&history[shown..])),
        color: plot::GREY,
        mark: plot::Mark::Line(2),
    }];
    if !truth.is_empty() {
        series.push(plot::Series {
            label: "Actual",
            points: line(history.len(), &truth),
            color: plot::BLUE,
            mark: plot::Mark::Line(2),
        });
    }
    series.push(plot::Series {
        label: "Forecast",
        points: line(history.len(), &forecast),
        color: plot::ORANGE,
        mark: plot::Mark::Line(2),
    });
    series.push(plot::Series {
        label: "Baseline",
        points: line(history.len(), &baseline),
        color: plot::GREEN,
        mark: plot::Mark::Line(1),
    });
    plot::png(
        &out.join("forecast.png"),
        &plot::Chart {
            title: "Closed-loop forecast",
            x_label: "step",
            y_label: "value",
            log_y: false,
        },
        &series,
    )?;
    match metrics.get("forecast_mse") {
        Some(f) => eprintln!(
            "elman: forecast of {horizon} steps, MSE {f} (baseline {})",
            metrics["baseline_mse"]
        ),
        None => eprintln!("elman: forecast of {horizon} steps"),
    }
    eprintln!("elman: wrote the forecast to {}", out.display());
    Ok(())
}
