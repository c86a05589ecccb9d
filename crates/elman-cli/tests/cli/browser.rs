//! The page in a real browser: headless Chromium driven through chromedriver (WebDriver) with
//! fantoccini. It opens the page with the tutorial's settings in its address, starts the run,
//! waits until the loss chart holds every epoch, checks that the final loss shown is
//! `elman train`'s, starts a second run with another learning rate, takes a screenshot while it
//! trains, and sees both runs on the chart.
//!
//! Chromium and chromedriver come from Debian's `chromium` and `chromium-driver`, which
//! `cargo xtask ci` installs; without them this test fails and says how to install them.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::server::Server;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// chromedriver on a free port, killed when dropped.
struct Driver(Child, u16);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn driver() -> Driver {
    for path in [CHROMIUM, CHROMEDRIVER] {
        assert!(
            Path::new(path).is_file(),
            "{path} is missing: the browser test needs Chromium and its driver; install them with `apt-get install chromium chromium-driver` (`cargo xtask ci` does)"
        );
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    Driver(child, port)
}

async fn browser(driver: &Driver, profile: &Path) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": CHROMIUM,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--window-size=1400,1250",
                format!("--user-data-dir={}", profile.display()),
            ]
        }),
    );
    let mut builder = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new());
    builder.capabilities(caps);
    builder
        .connect(&format!("http://127.0.0.1:{}", driver.1))
        .await
        .expect("a Chromium session")
}

/// Types `value` into the form's field `name`, as a user would.
async fn set(client: &Client, name: &str, value: &str) {
    let field = client
        .find(Locator::Css(&format!("input[name={name}]")))
        .await
        .unwrap();
    field.clear().await.unwrap();
    field.send_keys(value).await.unwrap();
}

/// Presses Start.
async fn start(client: &Client) {
    client
        .find(Locator::Id("start"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Polls `script` (a JavaScript expression) until it is true.
async fn wait_until(client: &Client, what: &str, script: &str) {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let value = client
            .execute(&format!("return Boolean({script});"), vec![])
            .await
            .unwrap();
        if value == json!(true) {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: `{script}` never held");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[test]
fn the_page_trains_and_compares_runs_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let driver = driver();
    let server = Server::start(dir.path());

    // `elman train`'s final loss for the tutorial's settings.
    let expected = *crate::util::cli_tutorial_losses(dir.path()).last().unwrap();

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let shot = runtime.block_on(async {
        let client = browser(&driver, &dir.path().join("profile")).await;
        // The settings come from the address.
        client
            .goto(&server.url("/?data=tutorial.toml&lr=0.1&seed=1&epochs=300&backend=ndarray"))
            .await
            .unwrap();
        client
            .wait()
            .for_element(Locator::Css("#data option"))
            .await
            .unwrap();
        // A setting out of bounds: the page shows why and starts nothing.
        set(&client, "d_hidden", "100000").await;
        start(&client).await;
        wait_until(&client, "the error shown", "document.getElementById('error').textContent.startsWith('d_hidden must be from 1 to 256')").await;
        assert!(client.find_all(Locator::Css("#runs li")).await.unwrap().is_empty());
        set(&client, "d_hidden", "6").await;
        start(&client).await;
        wait_until(
            &client,
            "the first run's every epoch on the chart",
            "window.elman.chartEpochs(1) === 300",
        )
        .await;
        wait_until(
            &client,
            "the first run's end",
            "document.querySelector('#run-1').dataset.status === 'finished'",
        )
        .await;
        let shown = client
            .find(Locator::Css("#run-1 .loss"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(
            shown.parse::<f64>().unwrap(),
            expected,
            "the page shows {shown}"
        );

        // A second run with a larger learning rate, slow enough to be caught mid-run.
        set(&client, "lr", "0.3").await;
        set(&client, "pace", "100").await;
        let address = client.current_url().await.unwrap();
        assert!(
            address.as_str().contains("lr=0.3"),
            "the address keeps the settings: {address}"
        );
        start(&client).await;
        wait_until(
            &client,
            "the second run under way",
            "window.elman.chartEpochs(2) >= 100",
        )
        .await;
        let shot = client.screenshot().await.unwrap();
        wait_until(
            &client,
            "the second run's end",
            "document.querySelector('#run-2').dataset.status === 'finished'",
        )
        .await;
        wait_until(
            &client,
            "both runs on the chart",
            "window.elman.chartRuns() === 2 && window.elman.chartEpochs(2) === 300",
        )
        .await;
        // The ended run links its files.
        let links = client
            .find_all(Locator::Css("#run-2 .files a"))
            .await
            .unwrap();
        assert!(links.len() >= 5, "{} links", links.len());
        client.close().await.unwrap();
        shot
    });
    assert_eq!(&shot[..8], b"\x89PNG\r\n\x1a\n", "a PNG screenshot");
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("serve.png");
    std::fs::write(&path, &shot).unwrap();
    eprintln!("screenshot: {}", path.display());
}
