//! The command line: subcommands and flags, parsed by clap.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::backend::Backend;

/// Train the Elman network of "Introduction to Recurrent Neural Networks in PyTorch" on a CPU or
/// GPU backend, and use it to predict and forecast. With no subcommand, `elman` trains: with no
/// other argument, the tutorial's run.
#[derive(Debug, Parser)]
#[command(name = "elman", version, about)]
pub struct Cli {
    /// What to do (default: train).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Options every subcommand takes.
    #[command(flatten)]
    pub common: Common,
    /// Options of training, for `elman` with no subcommand.
    #[command(flatten)]
    pub train: TrainArgs,
}

/// Options every subcommand takes.
#[derive(Debug, Args)]
pub struct Common {
    /// TOML config to read (default: configs/tutorial.toml when it exists, else built-in defaults).
    #[arg(long, value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,
    /// Backend to run on (overrides the config's `backend`).
    #[arg(long, value_name = "NAME", global = true)]
    pub backend: Option<Backend>,
    /// Number of epochs, at least 1 (overrides `train.n_epochs`).
    #[arg(long, value_name = "N", global = true)]
    pub epochs: Option<usize>,
    /// Learning rate, a finite number above 0 (overrides `train.lr`).
    #[arg(long, value_name = "LR", global = true)]
    pub lr: Option<f64>,
    /// Seed of the initial weight draw, the generated waves and the shuffling (overrides `seed`).
    #[arg(long, value_name = "N", global = true)]
    pub seed: Option<u64>,
    /// The recurrent cell: elman, lstm or gru (overrides `model.cell`).
    #[arg(long, value_name = "CELL", global = true, value_parser = ["elman", "lstm", "gru"])]
    pub cell: Option<String>,
    /// CPU threads to compute with, at least 1 (default: every core); on flex a batch of at
    /// least 64 sequences (an LSTM's: 8) is split between them.
    #[arg(long, value_name = "N", global = true, value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
    /// Folder to write the results into; it must not hold files yet (default: a new folder under runs/).
    #[arg(long, value_name = "DIR", global = true)]
    pub out: Option<PathBuf>,
}

/// Options of `elman train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Start from these weights (safetensors with f32 tensors `w1` and `w2`) instead of a draw.
    #[arg(long, value_name = "FILE")]
    pub init_weights: Option<PathBuf>,
    /// Compute the gradients with Burn's autodiff instead of the hand-derived paths.
    #[arg(long)]
    pub autodiff: bool,
    /// Continue the run in this folder from its checkpoint (results go to the same folder).
    #[arg(long, value_name = "DIR", conflicts_with = "init_weights")]
    pub resume: Option<PathBuf>,
}

/// Options of `elman predict` and `elman generate`.
#[derive(Debug, Args)]
pub struct UseArgs {
    /// The run folder whose trained network to use (it holds checkpoint.safetensors).
    #[arg(long, value_name = "DIR")]
    pub from: PathBuf,
    /// Use the network after the last epoch instead of the one with the best validation loss.
    #[arg(long)]
    pub last: bool,
}

/// Options of `elman serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Port to listen on (0: a free one, printed at start).
    #[arg(long, value_name = "N", default_value_t = 7878)]
    pub port: u16,
    /// Address to listen on; only this machine can reach the default.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1")]
    pub host: std::net::IpAddr,
    /// Folder of the configs the page offers as data.
    #[arg(long, value_name = "DIR", default_value = "configs")]
    pub configs: PathBuf,
    /// Folder the runs write their results into.
    #[arg(long, value_name = "DIR", default_value = "runs")]
    pub runs: PathBuf,
}

/// Options of `elman forecast`.
#[derive(Debug, Args)]
pub struct ForecastArgs {
    /// The CSV file (a header line is required).
    #[arg(long, value_name = "FILE")]
    pub csv: PathBuf,
    /// The column to forecast.
    #[arg(long, value_name = "COL")]
    pub target: String,
    /// The column of each row's time (dates or numbers), continued past the file's end.
    #[arg(long, value_name = "COL")]
    pub time: Option<String>,
    /// The seasonal cycle in steps (default: the calendar's for monthly, quarterly, weekly or
    /// daily dates, else the autocorrelation's; 0 for none).
    #[arg(long, value_name = "M")]
    pub season: Option<usize>,
    /// Steps to forecast past the file's end.
    #[arg(long, value_name = "H")]
    pub horizon: usize,
    /// Empty fields of the column: "error", "skip" (drop the row) or "interpolate" (linearly).
    #[arg(long, value_name = "HOW", default_value = "error", value_parser = ["error", "skip", "interpolate"])]
    pub missing: String,
    /// Networks in the ensemble, each from its own seed (`--seed`, then the next ones).
    #[arg(long, value_name = "K", default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub ensemble: u16,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train a network (what `elman` does with no subcommand).
    Train(TrainArgs),
    /// One-step-ahead predictions of a trained network over its data.
    Predict(UseArgs),
    /// A closed-loop forecast: warm up on the series, then feed each prediction back.
    Generate {
        /// The trained run.
        #[command(flatten)]
        from: UseArgs,
        /// Steps to forecast (default: the config's `csv.test_steps`, or half the sequence).
        #[arg(long, value_name = "N")]
        horizon: Option<usize>,
    },
    /// A forecast past a CSV file's end with no config: the season, the transformation and the
    /// window chosen by rolling-origin validation, then an ensemble of networks from several
    /// seeds, its mean and its 80% and 95% intervals (no change or drift, where the networks do
    /// not validate clearly better than the better of the two).
    Forecast(ForecastArgs),
    /// A local web page to train networks and watch them learn, live.
    Serve(ServeArgs),
    /// Rolling-origin evaluation: closed-loop forecasts from the last origins of the series,
    /// scored step by step against the naive and seasonal-naive baselines.
    Backtest {
        /// The trained run.
        #[command(flatten)]
        from: UseArgs,
        /// How many forecast origins, the last ones of the series, one step apart.
        #[arg(long, value_name = "K", default_value_t = 10)]
        origins: usize,
        /// Steps ahead to forecast from each (default: the config's `csv.test_steps`, or half
        /// the sequence).
        #[arg(long, value_name = "H")]
        horizon: Option<usize>,
    },
}
