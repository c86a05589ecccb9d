//! `elman serve`'s API: a run from the page is `elman train`'s run; every malformed, foreign or
//! out-of-bounds request is refused with a 4xx and a message, and the server goes on; pause,
//! resume and stop; Ctrl-C ends the runs with their checkpoints.

use serde_json::json;

use crate::server::{Server, tutorial_form};
use crate::util::{assert_one_line_error, csv_column, elman, stderr};

/// The events of an ended run: one event with its whole history.
fn final_event(server: &Server, id: u64) -> serde_json::Value {
    let answer = server.get(&format!("/api/runs/{id}/events"));
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.header("content-type"), Some("text/event-stream"));
    let data = answer
        .body
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .next_back()
        .unwrap_or_else(|| panic!("no event in {:?}", answer.body));
    serde_json::from_str(data).unwrap()
}

/// The tutorial started from the API trains exactly as `elman train` with the same settings:
/// the same 300 losses, bit for bit; its folder has the same files, which download intact.
#[test]
fn a_run_from_the_page_is_elman_trains_run() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let answer = server.post("/api/runs", &tutorial_form(json!({})));
    assert_eq!(answer.status, 201, "{}", answer.body);
    let id = answer.json()["id"].as_u64().unwrap();
    server.wait_for(id, "the end", |r| r["status"] == "finished");
    let event = final_event(&server, id);
    assert_eq!(event["from"], 0);
    assert!(event["frame"]["epoch"] == 299, "{}", event["frame"]);
    let losses: Vec<f64> = event["losses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();

    assert_eq!(losses, crate::util::cli_tutorial_losses(dir.path()));

    let files: Vec<&str> = event["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    for name in [
        "checkpoint.safetensors",
        "losses.csv",
        "loss.png",
        "predictions.png",
        "weights.safetensors",
        "metrics.json",
    ] {
        assert!(files.contains(&name), "{name} not in {files:?}");
    }
    let folder = server.run(id)["folder"].as_str().unwrap().to_string();
    let download = server.get(&format!("/api/runs/{id}/files/losses.csv"));
    assert_eq!(download.status, 200);
    assert_eq!(
        download.body,
        std::fs::read_to_string(server.runs.join(folder).join("losses.csv")).unwrap()
    );
}

/// Every request the server must refuse, and what it answers; after all of them it still
/// trains a run.
#[test]
fn bad_requests_are_refused_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let form = tutorial_form(json!({}));
    let json_type = ("Content-Type", "application/json");
    let cases: Vec<(&str, crate::server::Answer, u16, &str)> = vec![
        (
            "a foreign Host (DNS rebinding)",
            server.request(
                "GET",
                "/api/options",
                &[("Host", &format!("evil.example:{}", server.port))],
                None,
            ),
            403,
            "is not localhost or an IP address",
        ),
        (
            "a foreign Origin",
            server.request(
                "POST",
                "/api/runs",
                &[json_type, ("Origin", "http://evil.example")],
                Some(&form),
            ),
            403,
            "another origin",
        ),
        (
            "a form post (not JSON)",
            server.request(
                "POST",
                "/api/runs",
                &[("Content-Type", "application/x-www-form-urlencoded")],
                Some("data=x"),
            ),
            415,
            "application/json",
        ),
        (
            "broken JSON",
            server.post("/api/runs", "{\"data\": "),
            400,
            "bad settings: EOF",
        ),
        (
            "an unknown field",
            server.post("/api/runs", &tutorial_form(json!({"rm": "-rf"}))),
            400,
            "unknown field `rm`",
        ),
        (
            "an unknown optimizer",
            server.post("/api/runs", &tutorial_form(json!({"optimizer": "adamw"}))),
            400,
            "unknown variant `adamw`",
        ),
        (
            "a huge hidden layer",
            server.post("/api/runs", &tutorial_form(json!({"d_hidden": 100000}))),
            400,
            "d_hidden must be from 1 to 256",
        ),
        (
            "no epochs",
            server.post("/api/runs", &tutorial_form(json!({"epochs": 0}))),
            400,
            "epochs must be from 1",
        ),
        (
            "a negative learning rate",
            server.post("/api/runs", &tutorial_form(json!({"lr": -0.1}))),
            400,
            "lr must be a number above 0",
        ),
        (
            "data outside the catalog",
            server.post("/api/runs", &tutorial_form(json!({"data": "/etc/passwd"}))),
            400,
            "unknown data `/etc/passwd`",
        ),
        (
            "too much work",
            server.post(
                "/api/runs",
                &tutorial_form(json!({"data": "sines.toml", "d_hidden": 256, "epochs": 1000})),
            ),
            400,
            "multiply-adds",
        ),
        (
            "an unknown run",
            server.get("/api/runs/99/events"),
            404,
            "no run `99`",
        ),
        (
            "a run that is not a number",
            server.post("/api/runs/x/stop", ""),
            404,
            "no run `x`",
        ),
        (
            "an unknown page",
            server.get("/etc/passwd"),
            404,
            "no such page",
        ),
        (
            "an unknown asset",
            server.get("/assets/..%2Fmain.rs"),
            404,
            "no asset",
        ),
    ];
    for (what, answer, status, message) in &cases {
        assert_eq!(answer.status, *status, "{what}: {}", answer.body);
        assert!(answer.error().contains(message), "{what}: {}", answer.body);
    }
    // Not HTTP at all: a 400, and the server lives on.
    let garbage = server.raw(b"GARBAGE\r\n\r\n");
    assert_eq!(garbage.status, 400);

    // A run, then requests for files outside its folder and controls of an ended run.
    let id = server.post("/api/runs", &form).json()["id"]
        .as_u64()
        .unwrap();
    server.wait_for(id, "the end", |r| r["status"] == "finished");
    for path in [
        "..%2F..%2Fetc%2Fpasswd",
        "..",
        ".lock",
        "%2Fetc%2Fpasswd",
        "nothing.csv",
    ] {
        let answer = server.get(&format!("/api/runs/{id}/files/{path}"));
        assert_eq!(answer.status, 404, "{path}: {}", answer.body);
        assert!(
            answer.error().contains("has no file"),
            "{path}: {}",
            answer.body
        );
    }
    let answer = server.post(&format!("/api/runs/{id}/pause"), "");
    assert_eq!(answer.status, 409, "{}", answer.body);
    assert!(answer.error().contains("has ended"));
}

/// Two runs train at once; a third is refused until one ends. Pause holds a run at its
/// epoch, resume lets it go on, stop ends it with its checkpoint and results.
#[test]
fn pause_resume_stop_and_the_limit_of_runs() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let slow = tutorial_form(json!({"pace": 50, "epochs": 100000}));
    let first = server.post("/api/runs", &slow).json()["id"]
        .as_u64()
        .unwrap();
    let second = server.post("/api/runs", &slow).json()["id"]
        .as_u64()
        .unwrap();
    let third = server.post("/api/runs", &slow);
    assert_eq!(third.status, 429, "{}", third.body);
    assert!(
        third.error().contains("2 runs are training already"),
        "{}",
        third.body
    );

    server.wait_for(first, "a few epochs", |r| {
        r["epochs_done"].as_u64() >= Some(3)
    });
    assert_eq!(
        server.post(&format!("/api/runs/{first}/pause"), "").status,
        200
    );
    std::thread::sleep(std::time::Duration::from_millis(100));
    let held = server.run(first)["epochs_done"].as_u64().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(
        server.run(first)["epochs_done"].as_u64().unwrap(),
        held,
        "a paused run stays"
    );
    assert_eq!(server.run(first)["status"], "paused");
    assert_eq!(
        server.post(&format!("/api/runs/{first}/resume"), "").status,
        200
    );
    server.wait_for(first, "more epochs", |r| {
        r["epochs_done"].as_u64() > Some(held + 3)
    });

    assert_eq!(
        server.post(&format!("/api/runs/{second}/stop"), "").status,
        200
    );
    let stopped = server.wait_for(second, "the stop", |r| r["status"] == "stopped");
    let folder = server.runs.join(stopped["folder"].as_str().unwrap());
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(folder.join("metrics.json")).unwrap())
            .unwrap();
    let epochs = stopped["epochs_done"].as_u64().unwrap();
    assert_eq!(metrics["stopped_after_epoch"].as_u64(), Some(epochs - 1));
    // A slot is free again.
    let again = server.post("/api/runs", &tutorial_form(json!({})));
    assert_eq!(again.status, 201, "{}", again.body);
    server.post(&format!("/api/runs/{first}/stop"), "");
}

/// Ctrl-C stops the server cleanly: the running run ends at its epoch with its checkpoint,
/// which `elman train --resume` continues.
#[test]
fn ctrl_c_keeps_the_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let id = server
        .post(
            "/api/runs",
            &tutorial_form(json!({"pace": 100, "epochs": 100000})),
        )
        .json()["id"]
        .as_u64()
        .unwrap();
    let run = server.wait_for(id, "a few epochs", |r| r["epochs_done"].as_u64() >= Some(5));
    let folder = server.runs.join(run["folder"].as_str().unwrap());
    let output = server.interrupt();
    let err = stderr(&output);
    assert!(output.status.success(), "{err}");
    assert!(
        err.contains(&format!("elman: stopped run {id} after ")),
        "{err}"
    );
    assert!(folder.join("checkpoint.safetensors").is_file());
    assert!(!folder.join(".lock").exists(), "the folder is released");
    let epochs = csv_column(&folder.join("losses.csv"), "loss").len();
    let resumed = elman(
        dir.path(),
        &[
            "--resume",
            folder.to_str().unwrap(),
            "--epochs",
            &(epochs + 2).to_string(),
        ],
    );
    assert!(resumed.status.success(), "{}", stderr(&resumed));
    assert_eq!(
        csv_column(&folder.join("losses.csv"), "loss").len(),
        epochs + 2
    );
}

/// The command's own errors are one line: flags that belong to the page, a port in use.
#[test]
fn serve_errors_are_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let output = elman(dir.path(), &["serve", "--epochs", "3"]);
    assert_one_line_error(
        &output,
        "elman serve takes each run's settings from the page: drop --epochs",
    );
    let server = Server::start(dir.path());
    let port = server.port.to_string();
    let output = elman(
        dir.path(),
        &[
            "serve",
            "--port",
            &port,
            "--configs",
            &crate::util::repo("configs"),
        ],
    );
    assert_one_line_error(&output, &format!("cannot listen on 127.0.0.1:{port}"));
}
