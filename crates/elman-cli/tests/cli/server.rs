//! `elman serve` as a process for the tests: started on a free port in a temporary folder, spoken
//! to in raw HTTP/1.1 (so that a test can send any header, or no valid request at all), and
//! interrupted as Ctrl-C would.

#![allow(dead_code)] // each subject uses some of them

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A running `elman serve`.
pub struct Server {
    child: Option<Child>,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Where its runs go.
    pub runs: PathBuf,
}

/// An answer: its status, headers (lower-case names) and body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    /// The `error` of a JSON error answer.
    pub fn error(&self) -> String {
        self.json()["error"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

impl Server {
    /// Starts `elman serve --port 0` in `dir` with the repository's configs.
    pub fn start(dir: &Path) -> Self {
        let runs = dir.join("runs");
        let mut child = Command::new(env!("CARGO_BIN_EXE_elman"))
            .args([
                "serve",
                "--port",
                "0",
                "--configs",
                &crate::util::repo("configs"),
                "--runs",
            ])
            .arg(&runs)
            .current_dir(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary runs");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .strip_prefix("elman: serving http://127.0.0.1:")
            .and_then(|rest| rest.split('/').next())
            .and_then(|port| port.parse().ok())
            .unwrap_or_else(|| panic!("no address in {line:?}"));
        Self {
            child: Some(child),
            port,
            runs,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Sends `raw` as it is and reads the answer to the end (the request should ask to close).
    pub fn raw(&self, raw: &[u8]) -> Answer {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        stream.write_all(raw).unwrap();
        let mut bytes = Vec::new();
        stream.read_to_end(&mut bytes).unwrap();
        parse(&bytes)
    }

    /// A request with this server's `Host`, plus `headers`.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Answer {
        let mut raw = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
        if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
            raw += &format!("Host: 127.0.0.1:{}\r\n", self.port);
        }
        for (name, value) in headers {
            raw += &format!("{name}: {value}\r\n");
        }
        if let Some(body) = body {
            raw += &format!("Content-Length: {}\r\n", body.len());
        }
        raw += "\r\n";
        raw += body.unwrap_or("");
        self.raw(raw.as_bytes())
    }

    pub fn get(&self, path: &str) -> Answer {
        self.request("GET", path, &[], None)
    }

    /// POSTs `json` as `application/json`.
    pub fn post(&self, path: &str, json: &str) -> Answer {
        self.request(
            "POST",
            path,
            &[("Content-Type", "application/json")],
            Some(json),
        )
    }

    /// The summary of run `id` from the list.
    pub fn run(&self, id: u64) -> serde_json::Value {
        let list = self.get("/api/runs").json();
        list.as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("no run {id} in {list}"))
    }

    /// Waits until run `id`'s summary satisfies `done`.
    pub fn wait_for(
        &self,
        id: u64,
        what: &str,
        done: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let run = self.run(id);
            if done(&run) {
                return run;
            }
            assert!(
                Instant::now() < deadline,
                "run {id}: {what} never came: {run}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends SIGINT, as Ctrl-C does, and waits for the process to end.
    pub fn interrupt(mut self) -> Output {
        let child = self.child.take().unwrap();
        let status = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        child.wait_with_output().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// An HTTP/1.1 answer, its body de-chunked.
fn parse(bytes: &[u8]) -> Answer {
    let split = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(bytes.len());
    let head = String::from_utf8_lossy(&bytes[..split]);
    let body = bytes.get(split + 4..).unwrap_or(&[]);
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {head:?}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_vec()
    };
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = body.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&body[..end])
            .ok()
            .and_then(|s| usize::from_str_radix(s.trim(), 16).ok());
        let rest = &body[end + 2..];
        let Some(size) = size.filter(|&s| s > 0 && rest.len() >= s) else {
            break;
        };
        out.extend_from_slice(&rest[..size]);
        body = rest[size..].strip_prefix(b"\r\n").unwrap_or(&rest[size..]);
    }
    out
}

/// The tutorial's settings as the page sends them, with `changes` laid over (a JSON object).
pub fn tutorial_form(changes: serde_json::Value) -> String {
    let mut form = serde_json::json!({
        "data": "tutorial.toml", "d_hidden": 6, "lr": 0.1, "optimizer": "sgd",
        "batch_size": 1, "bptt": 1, "epochs": 300, "seed": 1, "backend": "ndarray", "pace": 0
    });
    for (key, value) in changes.as_object().unwrap() {
        form[key] = value.clone();
    }
    form.to_string()
}
