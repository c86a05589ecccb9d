//! Every reader of the program against thousands of random and damaged files: settings TOML,
//! CSV series, weights and checkpoints each answer with a result or an error, never a panic. A
//! panic fails the property (proptest reports the smallest input it finds).

use elman_data::{DataSource, MissingValues, Scaler, SeriesSpec, parse_csv};
use elman_model::ElmanWeights;
use elman_train::{OptimizerKind, Start, TrainState};
use proptest::prelude::*;

use crate::backend::Backend;
use crate::checkpoint::{self, Checkpoint};
use crate::files;
use crate::settings::{RunConfig, SinesSection};

/// Random damage to a valid file: bytes overwritten, cut out, repeated or inserted, or the
/// file cut short.
#[derive(Debug, Clone)]
enum Damage {
    Overwrite(usize, u8),
    Remove(usize, usize),
    Repeat(usize, usize),
    Insert(usize, Vec<u8>),
    Truncate(usize),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Damage::Overwrite(at, b)),
        (any::<usize>(), 1usize..64).prop_map(|(at, n)| Damage::Remove(at, n)),
        (any::<usize>(), 1usize..64).prop_map(|(at, n)| Damage::Repeat(at, n)),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(at, bytes)| Damage::Insert(at, bytes)),
        any::<usize>().prop_map(Damage::Truncate),
    ]
}

fn apply(mut bytes: Vec<u8>, damages: &[Damage]) -> Vec<u8> {
    for damage in damages {
        let len = bytes.len().max(1);
        match damage {
            Damage::Overwrite(at, b) => {
                if let Some(byte) = bytes.get_mut(at % len) {
                    *byte = *b;
                }
            }
            Damage::Remove(at, n) => {
                let start = (at % len).min(bytes.len());
                let end = (start + n).min(bytes.len());
                bytes.drain(start..end);
            }
            Damage::Repeat(at, n) => {
                let start = (at % len).min(bytes.len());
                let end = (start + n).min(bytes.len());
                let copy = bytes[start..end].to_vec();
                bytes.splice(end..end, copy);
            }
            Damage::Insert(at, new) => {
                let at = (at % len).min(bytes.len());
                bytes.splice(at..at, new.iter().copied());
            }
            Damage::Truncate(at) => bytes.truncate(at % len),
        }
    }
    bytes
}

/// The settings reader as the command uses it: parse, check, write back.
fn read_settings(text: &str) {
    if let Ok(config) = RunConfig::from_toml(text, "fuzz.toml")
        && config.validate(Some(1 << 30)).is_ok()
    {
        let _ = config.to_toml();
    }
}

/// The files of a real run, made once: two epochs of Adam on a few waves, its checkpoint (with
/// moments and a best network), its weights and its config.
fn a_real_run() -> (Vec<u8>, Vec<u8>, String) {
    static RUN: std::sync::OnceLock<(Vec<u8>, Vec<u8>, String)> = std::sync::OnceLock::new();
    RUN.get_or_init(|| {
        let mut config = RunConfig {
            backend: Backend::Flex,
            sines: Some(SinesSection {
                n_series: 12,
                seq_len: 8,
                ..SinesSection::default()
            }),
            ..RunConfig::default()
        };
        config.train.n_epochs = 2;
        config.train.batch_size = 4;
        config.train.bptt = 4;
        config.train.optimizer = OptimizerKind::Adam;
        config.train.valid_fraction = 0.25;
        let data = config.prepare_data().unwrap();
        let weights = ElmanWeights::init(&config.model_config(), 1);
        let mut state: Option<TrainState> = None;
        elman_train::fit(
            Start::Fresh(weights),
            &data.train,
            data.valid.as_ref(),
            &config.train_config(),
            &Backend::Flex.device().unwrap(),
            |_, snapshot| state = Some(snapshot.state()),
        )
        .unwrap();
        let state = state.unwrap();
        let weights = files::weights_to_safetensors(&state.weights).unwrap();
        let checkpoint = Checkpoint {
            state,
            scaler: Scaler::identity(2),
            config: config.clone(),
        };
        let bytes = checkpoint::to_bytes(&checkpoint).unwrap();
        assert!(
            checkpoint::from_bytes(&bytes).is_ok(),
            "the real run reads back"
        );
        (bytes, weights, config.to_toml().unwrap())
    })
    .clone()
}

/// `checkpoint` with one of its parts changed: the damage applied to its config, history or
/// scaler text (`part` 0 to 2) or to its tensors' bytes, the length kept (3), or its history
/// replaced by one with these counts (4). The file stays a readable safetensors file, so the
/// checks behind the format get their turn.
fn damage_part(
    checkpoint: &[u8],
    part: usize,
    damages: &[Damage],
    (epochs, losses, valid, best, step): (usize, usize, usize, Option<usize>, u64),
) -> Vec<u8> {
    let len = u64::from_le_bytes(checkpoint[..8].try_into().unwrap()) as usize;
    let mut header: serde_json::Value = serde_json::from_slice(&checkpoint[8..8 + len]).unwrap();
    let mut data = checkpoint[8 + len..].to_vec();
    match part {
        0..=2 => {
            let key = ["config", "history", "scaler"][part];
            let text = header["__metadata__"][key]
                .as_str()
                .unwrap()
                .as_bytes()
                .to_vec();
            let text = String::from_utf8_lossy(&apply(text, damages)).into_owned();
            header["__metadata__"][key] = serde_json::Value::String(text);
        }
        3 => {
            let len = data.len();
            data = apply(data, damages);
            data.resize(len, 0xFF);
        }
        _ => {
            let history = serde_json::json!({
                "next_epoch": epochs,
                "optimizer_step": step,
                "losses": vec![0.5; losses],
                "valid_losses": vec![0.25; valid],
                "best_epoch": best,
            });
            header["__metadata__"]["history"] = serde_json::Value::String(history.to_string());
        }
    }
    let mut text = serde_json::to_vec(&header).unwrap();
    while !text.len().is_multiple_of(8) {
        text.push(b' ');
    }
    let mut bytes = (text.len() as u64).to_le_bytes().to_vec();
    bytes.extend(text);
    bytes.extend(data);
    bytes
}

/// A seasonal series with a trend, 240 rows, one field empty, the header quoted.
fn seasonal_csv() -> String {
    let mut csv = String::from("\"t\",y\n");
    for t in 0..240 {
        let y = 10.0 + 0.05 * t as f64 + (std::f64::consts::TAU * t as f64 / 12.0).sin();
        if t == 100 {
            csv.push_str("100,\"\"\n");
        } else {
            csv.push_str(&format!("{t},{y}\n"));
        }
    }
    csv
}

/// Settings keys and values that reach the checks past the parser: edges, huge, negative,
/// non-finite, of the wrong type.
fn settings_text() -> impl Strategy<Value = String> {
    let keys = prop::sample::select(vec![
        "seed",
        "backend",
        "model.d_hidden",
        "model.w1_std",
        "data.seq_len",
        "data.start",
        "sines.n_series",
        "sines.seq_len",
        "sines.amplitude",
        "sines.noise_std",
        "csv.path",
        "csv.target",
        "csv.window",
        "csv.stride",
        "csv.missing",
        "train.n_epochs",
        "train.lr",
        "train.batch_size",
        "train.bptt",
        "train.optimizer",
        "train.loss",
        "train.grad_clip",
        "train.valid_fraction",
        "train.checkpoint_every",
    ]);
    let values = prop::sample::select(vec![
        "0",
        "1",
        "-1",
        "2",
        "9223372036854775807",
        "100000",
        "1e300",
        "-0.0",
        "0.5",
        "1.0",
        "nan",
        "inf",
        "-inf",
        "\"flex\"",
        "\"adam\"",
        "\"mse\"",
        "\"skip\"",
        "\"\"",
        "\"x.csv\"",
        "[1.0, 0.5]",
        "[0.5]",
        "true",
        "{}",
    ]);
    prop::collection::vec((keys, values), 0..8).prop_map(|pairs| {
        let mut text = String::new();
        for (key, value) in pairs {
            match key.split_once('.') {
                Some((table, key)) => text.push_str(&format!("[{table}]\n{key} = {value}\n")),
                None => text.push_str(&format!("{key} = {value}\n")),
            }
        }
        text
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn settings_never_panic(text in settings_text(), damages in prop::collection::vec(damage(), 0..3)) {
        let bytes = apply(text.into_bytes(), &damages);
        if let Ok(text) = std::str::from_utf8(&bytes) {
            read_settings(text);
        }
    }

    #[test]
    fn a_real_config_damaged_never_panics(damages in prop::collection::vec(damage(), 1..6)) {
        let (_, _, config) = a_real_run();
        let bytes = apply(config.into_bytes(), &damages);
        if let Ok(text) = std::str::from_utf8(&bytes) {
            read_settings(text);
        }
    }

    #[test]
    fn weights_never_panic(damages in prop::collection::vec(damage(), 1..6)) {
        let (_, weights, _) = a_real_run();
        let _ = files::weights_from_safetensors(&apply(weights, &damages));
    }

    #[test]
    fn checkpoints_never_panic(damages in prop::collection::vec(damage(), 1..6)) {
        let (checkpoint, _, _) = a_real_run();
        let _ = checkpoint::from_bytes(&apply(checkpoint, &damages));
    }

    #[test]
    fn checkpoints_damaged_inside_never_panic(
        part in 0usize..5,
        damages in prop::collection::vec(damage(), 1..4),
        history in (0usize..5, 0usize..5, 0usize..5, prop::option::of(0usize..6), 0u64..50),
    ) {
        let (checkpoint, _, _) = a_real_run();
        let _ = checkpoint::from_bytes(&damage_part(&checkpoint, part, &damages, history));
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = files::weights_from_safetensors(&bytes);
        let _ = checkpoint::from_bytes(&bytes);
        let _ = parse_csv(&bytes[..], &["y"], MissingValues::Interpolate);
    }

    /// A CSV series, damaged, read with every policy and, when it reads, cut into training
    /// data with settings in their allowed ranges.
    #[test]
    fn csv_series_never_panic(
        damages in prop::collection::vec(damage(), 0..6),
        missing in prop::sample::select(vec![MissingValues::Error, MissingValues::Skip, MissingValues::Interpolate]),
        window in 1usize..40,
        stride in 1usize..10,
        test_steps in 0usize..60,
        difference in 0usize..30,
        season in 0usize..30,
        valid_fraction in 0.0f64..1.0,
    ) {
        let bytes = apply(seasonal_csv().into_bytes(), &damages);
        if let Ok(table) = parse_csv(&bytes[..], &["y", "y"], missing) {
            let spec = SeriesSpec { n_inputs: 1, window, stride, test_steps, season, transform: elman_data::Transform::lag(difference), valid_fraction };
            if let Ok(data) = (DataSource::Series { table, spec }).prepare() {
                let one = data.one_step();
                prop_assert_eq!(data.one_step_values(&vec![0.0; one.axis.len()]).len(), one.actual.len());
                let closed = data.closed_loop().unwrap();
                let _ = closed.finish(&[0.0; 5]);
            }
        }
    }
}
