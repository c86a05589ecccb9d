//! Every reader against thousands of random and mutated files: settings TOML, CSV series,
//! weights and checkpoints each answer with a result or an error, never a panic. A panic fails
//! the property (proptest reports the smallest input it finds).

use elman_data::{DataSource, MissingValues, SeriesSpec, parse_csv};
use proptest::prelude::*;

use crate::util::*;

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

/// A file from training a small run: its checkpoint, its weights and its config.
fn a_real_run() -> (Vec<u8>, Vec<u8>, String) {
    static RUN: std::sync::OnceLock<(Vec<u8>, Vec<u8>, String)> = std::sync::OnceLock::new();
    RUN.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("sines.toml"), SMALL_SINES).unwrap();
        let output = elman(
            dir.path(),
            &[
                "train",
                "--config",
                "sines.toml",
                "--epochs",
                "2",
                "--out",
                "run",
            ],
        );
        assert!(output.status.success(), "{}", stderr(&output));
        let read = |name: &str| std::fs::read(dir.path().join("run").join(name)).unwrap();
        (
            read("checkpoint.safetensors"),
            read("weights.safetensors"),
            String::from_utf8(read("config.toml")).unwrap(),
        )
    })
    .clone()
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
            let _ = elman_cli::readers::settings(text);
        }
    }

    #[test]
    fn a_real_config_damaged_never_panics(damages in prop::collection::vec(damage(), 1..6)) {
        let (_, _, config) = a_real_run();
        let bytes = apply(config.into_bytes(), &damages);
        if let Ok(text) = std::str::from_utf8(&bytes) {
            let _ = elman_cli::readers::settings(text);
        }
    }

    #[test]
    fn weights_never_panic(damages in prop::collection::vec(damage(), 1..6)) {
        let (_, weights, _) = a_real_run();
        let _ = elman_cli::readers::weights(&apply(weights, &damages));
    }

    #[test]
    fn checkpoints_never_panic(damages in prop::collection::vec(damage(), 1..6)) {
        let (checkpoint, _, _) = a_real_run();
        let _ = elman_cli::readers::checkpoint(&apply(checkpoint, &damages));
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = elman_cli::readers::weights(&bytes);
        let _ = elman_cli::readers::checkpoint(&bytes);
        let _ = parse_csv(&bytes, &["y"], MissingValues::Interpolate);
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
        let text = seasonal_csv().replace("\n100,\n", "\n100,\"\"\n").replace("t,y", "\"t\",y");
        let bytes = apply(text.into_bytes(), &damages);
        if let Ok(table) = parse_csv(&bytes, &["y", "y"], missing) {
            let spec = SeriesSpec { n_inputs: 1, window, stride, test_steps, season, difference, valid_fraction };
            if let Ok(data) = (DataSource::Series { table, spec }).prepare() {
                let one = data.one_step();
                prop_assert_eq!(data.one_step_values(&vec![0.0; one.axis.len()]).len(), one.actual.len());
                let closed = data.closed_loop().unwrap();
                let _ = closed.finish(&[0.0; 5]);
            }
        }
    }
}
