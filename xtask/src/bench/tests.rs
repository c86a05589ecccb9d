use super::*;

const LINE: &str = r#"{"workload":"tutorial","backend":"flex","path":"fused","threads":1,"figure":4.5,"unit":"us/step","peak_rss_mib":15.4}"#;

/// Each layer workload a sitting of its own, the others one together; none asked, one of
/// all; and each sitting's arguments name its workloads alone.
#[test]
fn a_comparison_sits_each_layer_workload_alone() {
    let asked = |ws: &[&str]| ws.iter().map(|w| w.to_string()).collect::<Vec<_>>();
    assert_eq!(
        sittings(&asked(&[
            "layer-lstm",
            "tutorial",
            "layer-gru-256",
            "batched"
        ])),
        [
            asked(&["layer-lstm"]),
            asked(&["layer-gru-256"]),
            asked(&["tutorial", "batched"])
        ]
    );
    assert_eq!(sittings(&[]), [Vec::<String>::new()]);
    let args = asked(&["--backends", "flex", "--workloads", "a,b", "--threads", "2"]);
    assert_eq!(
        with_workloads(&args, &asked(&["c"])),
        asked(&["--backends", "flex", "--threads", "2", "--workloads", "c"])
    );
    assert_eq!(
        with_workloads(&args, &[]),
        asked(&["--backends", "flex", "--threads", "2"])
    );
}

#[test]
fn the_workloads_asked_for_are_read_from_the_arguments() {
    let args: Vec<String> = ["--backends", "flex", "--workloads", "layer-lstm,batched"]
        .map(String::from)
        .to_vec();
    assert_eq!(super::workloads(&args), ["layer-lstm", "batched"]);
    assert!(super::workloads(&args[..2]).is_empty());
}

#[test]
fn result_lines_round_trip() {
    let r = Measurement::parse(LINE).unwrap();
    assert_eq!(r.workload, "tutorial");
    assert_eq!(r.figure, 4.5);
    assert_eq!(Measurement::parse(&r.to_json()), Some(r));
    assert_eq!(Measurement::parse("bench: tutorial on flex"), None);
    // Python's json.dumps puts spaces after the colons.
    let py = r#"{"workload": "tutorial", "backend": "pytorch", "path": "autograd", "threads": 1, "figure": 141.2, "unit": "us/step", "peak_rss_mib": 537.1}"#;
    assert_eq!(Measurement::parse(py).unwrap().figure, 141.2);
}

/// 141 µs against 4.5 µs per step is 31.3 times faster; 8,000 against 16,000 sequences per
/// second is half as fast.
#[test]
fn speedups_by_hand() {
    let ours = Measurement::parse(LINE).unwrap();
    let theirs = Measurement {
        backend: "pytorch".into(),
        figure: 141.0,
        ..ours.clone()
    };
    assert!((ours.speedup_over(&theirs) - 31.333).abs() < 1e-3);
    let table = table(&[ours.clone(), theirs]);
    assert!(
        table.contains("| tutorial | flex | fused | 1 | 4.50 us/step | 15.4 MiB | 31.33x |"),
        "{table}"
    );
    let fast = Measurement {
        unit: "train seq/s".into(),
        figure: 8000.0,
        ..ours.clone()
    };
    let slow = Measurement {
        figure: 16000.0,
        ..fast.clone()
    };
    assert_eq!(fast.speedup_over(&slow), 0.5);
}
