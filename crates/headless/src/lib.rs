//! Headless Chromium for the browser tests and `cargo xtask bench`: one way to reach a
//! chromedriver (the one `cargo xtask` shares through `WEBDRIVER_URL`, or one of our own), one
//! set of browser flags, and Chrome DevTools Protocol commands through chromedriver.

pub mod db_proxy;
pub mod localstripe;

use fantoccini::{Client, ClientBuilder};
use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A browser session, and the chromedriver started for it when none was shared.
pub struct Chromium {
    pub client: Client,
    _own_driver: Option<OwnDriver>,
}

/// A chromedriver of this process's own, stopped when dropped.
struct OwnDriver(Child);

impl Drop for OwnDriver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The shared chromedriver's URL, or a new chromedriver of our own.
fn driver() -> (String, Option<OwnDriver>) {
    if let Ok(url) = std::env::var("WEBDRIVER_URL") {
        return (url, None);
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver is not installed: run `cargo xtask test`, which installs it");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    (format!("http://127.0.0.1:{port}"), Some(OwnDriver(child)))
}

/// Starts a headless Chromium (`CHROMIUM`, else Debian's) with a `width` x `height` window.
pub async fn launch(width: u32, height: u32) -> Chromium {
    launch_with(width, height, "normal").await
}

/// As [`launch`], with WebDriver's `page_load` strategy: `"none"` lets commands run while a page
/// is still loading (a test that holds the wasm back and types meanwhile).
pub async fn launch_with(width: u32, height: u32, page_load: &str) -> Chromium {
    let (url, own) = driver();
    let binary = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let caps = json!({
        "browserName": "chrome",
        "pageLoadStrategy": page_load,
        "goog:chromeOptions": {
            "binary": binary,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--disable-extensions", "--lang=en-US",
                format!("--window-size={width},{height}"),
            ],
        }
    });
    let Value::Object(caps) = caps else { unreachable!() };
    let mut last_error = None;
    // A busy machine sometimes fails a first start; the next one goes through.
    for _ in 0..3 {
        match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            Ok(client) => return Chromium { client, _own_driver: own },
            Err(e) => {
                last_error = Some(e);
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
    panic!("can't start Chromium through {url}: {last_error:?}");
}

/// Sends a Chrome DevTools Protocol command (`Network.enable`, ...) and returns its answer.
pub async fn cdp(client: &Client, cmd: &str, params: Value) -> Value {
    client.issue_cmd(Cdp { cmd: cmd.into(), params }).await.unwrap_or_else(|e| panic!("{cmd}: {e}"))
}

/// A DevTools command, sent through chromedriver.
#[derive(Debug)]
struct Cdp {
    cmd: String,
    params: Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(&self, base_url: &url::Url, session_id: Option<&str>) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!("session/{}/goog/cdp/execute", session_id.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(json!({"cmd": self.cmd, "params": self.params}).to_string()))
    }
}
