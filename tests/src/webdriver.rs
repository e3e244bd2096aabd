//! A small W3C WebDriver client over chromedriver's HTTP API, driving a headless Chromium
//! with a fresh profile. Chromium and chromedriver come from `scripts/peers/install.sh`
//! (or `$DEPUTY_CHROMIUM` / `$DEPUTY_CHROMEDRIVER`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use reqwest::Method;
use serde_json::{Value, json};

use crate::process::{ChildGuard, free_port, require_binary, spawn, wait_until_up};

/// The key under which WebDriver returns an element reference.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// How long [`Browser::find`] and [`Browser::wait_for_url`] keep trying.
const PATIENCE: Duration = Duration::from_secs(30);

/// The Chromium flags this machine needs: headless, no sandbox (containers), and nothing that
/// reaches the network on its own or needs a large /dev/shm.
const CHROMIUM_FLAGS: [&str; 10] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,1600",
];

/// One headless Chromium session; the browser and chromedriver end when it is closed or dropped.
///
/// ```no_run
/// # async fn example() {
/// let browser = deputy_tests::webdriver::Browser::launch().await;
/// browser.goto("http://127.0.0.1:8080/login").await;
/// browser.type_into("#username", "alice").await;
/// browser.click("#sign-in").await;
/// let landed = browser.wait_for_url("http://127.0.0.1:8080/done").await;
/// browser.close().await;
/// # }
/// ```
pub struct Browser {
    http: reqwest::Client,
    base: String,
    session: String,
    profile: PathBuf,
    closed: bool,
    _driver: ChildGuard,
}

impl Browser {
    /// Starts chromedriver on a free port and opens a Chromium session with a fresh profile.
    pub async fn launch() -> Self {
        let chromium = require_binary("DEPUTY_CHROMIUM", &["chromium", "chromium-browser"]);
        let chromedriver = require_binary("DEPUTY_CHROMEDRIVER", &["chromedriver"]);
        let port = free_port();
        let driver = spawn(
            Command::new(chromedriver)
                .arg(format!("--port={port}"))
                .arg("--allowed-ips=127.0.0.1"),
        );
        let base = format!("http://127.0.0.1:{port}");
        wait_until_up(&format!("{base}/status")).await;
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|since| since.as_nanos())
            .unwrap_or_default();
        let profile = std::env::temp_dir().join(format!(
            "deputy-chromium-{}-{port}-{nanos:x}",
            std::process::id()
        ));
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|f| f.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.display()));
        let capabilities = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": chromium.display().to_string(), "args": args },
        }}});
        let http = reqwest::Client::new();
        let created: Value = http
            .post(format!("{base}/session"))
            .json(&capabilities)
            .send()
            .await
            .expect("chromedriver answers POST /session")
            .json()
            .await
            .expect("chromedriver answers with JSON");
        let session = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("chromedriver could not start chromium: {created}"))
            .to_owned();
        Browser {
            http,
            base,
            session,
            profile,
            closed: false,
            _driver: driver,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/session/{}{path}", self.base, self.session)
    }

    async fn request(&self, method: Method, path: &str, body: Value) -> Value {
        self.http
            .request(method, self.url(path))
            .json(&body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("webdriver {path}: {e}"))
            .json()
            .await
            .unwrap_or_else(|e| panic!("webdriver {path} answered no JSON: {e}"))
    }

    async fn call(&self, method: Method, path: &str, body: Value) -> Value {
        let response = self.request(method, path, body).await;
        if let Some(error) = response["value"].get("error") {
            panic!(
                "webdriver {path} failed: {error} {}",
                response["value"]["message"]
            );
        }
        response["value"].clone()
    }

    /// Navigates to `url` and waits for the page to load.
    pub async fn goto(&self, url: &str) {
        self.call(Method::POST, "/url", json!({ "url": url })).await;
    }

    /// The address of the current page.
    pub async fn current_url(&self) -> String {
        self.call(Method::GET, "/url", json!({}))
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The current page's DOM, serialised as HTML.
    pub async fn source(&self) -> String {
        self.call(Method::GET, "/source", json!({}))
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Waits (up to 30 s) for an element matching `css`, then returns its WebDriver id;
    /// panics with the page's address and DOM otherwise.
    pub async fn find(&self, css: &str) -> String {
        let query = json!({ "using": "css selector", "value": css });
        for _ in 0..PATIENCE.as_millis() / 100 {
            let response = self.request(Method::POST, "/element", query.clone()).await;
            if let Some(id) = response["value"][ELEMENT_KEY].as_str() {
                return id.to_owned();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "no element '{css}' on {}:\n{}",
            self.current_url().await,
            self.source().await
        );
    }

    /// The rendered text of the element matching `css` (waiting for it like [`Browser::find`]).
    pub async fn text(&self, css: &str) -> String {
        let id = self.find(css).await;
        self.call(Method::GET, &format!("/element/{id}/text"), json!({}))
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Types `text` into the element matching `css`.
    pub async fn type_into(&self, css: &str, text: &str) {
        let id = self.find(css).await;
        let path = format!("/element/{id}/value");
        self.call(Method::POST, &path, json!({ "text": text }))
            .await;
    }

    /// Clicks the element matching `css`.
    pub async fn click(&self, css: &str) {
        let id = self.find(css).await;
        self.call(Method::POST, &format!("/element/{id}/click"), json!({}))
            .await;
    }

    /// Waits (up to 30 s) until the current URL starts with `prefix`, and returns it.
    pub async fn wait_for_url(&self, prefix: &str) -> String {
        for _ in 0..PATIENCE.as_millis() / 100 {
            let url = self.current_url().await;
            if url.starts_with(prefix) {
                return url;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "browser never reached {prefix}; it is at {}:\n{}",
            self.current_url().await,
            self.source().await
        );
    }

    /// Runs `script` (a function body; `return` gives the result) in the page.
    pub async fn eval(&self, script: &str) -> Value {
        let body = json!({ "script": script, "args": [] });
        self.call(Method::POST, "/execute/sync", body).await
    }

    /// A PNG screenshot of the viewport (1280x1600).
    pub async fn screenshot(&self) -> Vec<u8> {
        let encoded = self.call(Method::GET, "/screenshot", json!({})).await;
        base64::engine::general_purpose::STANDARD
            .decode(encoded.as_str().unwrap_or_default())
            .expect("webdriver returns the screenshot as base64")
    }

    /// Ends the session (Chromium exits); chromedriver stops and the profile is removed on drop.
    pub async fn close(mut self) {
        let _ = self.http.delete(self.url("")).send().await;
        self.closed = true;
    }
}

impl Drop for Browser {
    /// On a failed test the session is still open: end it with a plain blocking HTTP call so
    /// chromedriver closes Chromium before the driver process itself is killed.
    fn drop(&mut self) {
        if !self.closed {
            use std::io::{Read, Write};
            let host = self.base.trim_start_matches("http://").to_owned();
            if let Ok(mut stream) = std::net::TcpStream::connect(&host) {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                let request = format!(
                    "DELETE /session/{} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    self.session
                );
                let _ = stream.write_all(request.as_bytes());
                let _ = stream.read_to_end(&mut Vec::new());
            }
        }
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
