//! A small W3C WebDriver client over chromedriver, driving headless Chromium.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::process::Command;

use serde_json::{Value, json};

use super::peers::{self, ChildGuard};

pub struct Browser {
    http: reqwest::Client,
    base: String,
    session: String,
    _driver: ChildGuard,
    profile: std::path::PathBuf,
}

impl Browser {
    pub async fn launch() -> Self {
        let chromium = peers::require_binary("DEPUTY_CHROMIUM", &["chromium", "chromium-browser"]);
        let chromedriver = peers::require_binary("DEPUTY_CHROMEDRIVER", &["chromedriver"]);
        let port = peers::free_port();
        let driver = peers::spawn(
            Command::new(chromedriver)
                .arg(format!("--port={port}"))
                .arg("--allowed-ips=127.0.0.1"),
        );
        peers::wait_for_port(port, "chromedriver").await;
        let base = format!("http://127.0.0.1:{port}");
        let profile = std::env::temp_dir().join(format!(
            "deputy-audit-chromium-{}-{port}",
            std::process::id()
        ));
        let capabilities = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium.display().to_string(),
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                         "--disable-background-networking", "--disable-component-update", "--disable-sync",
                         "--disable-dev-shm-usage", "--window-size=1280,1600",
                         format!("--user-data-dir={}", profile.display())],
            },
        }}});
        let http = reqwest::Client::new();
        let created: Value = http
            .post(format!("{base}/session"))
            .json(&capabilities)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("chromedriver could not start chromium: {created}"))
            .to_owned();
        Browser {
            http,
            base,
            session,
            _driver: driver,
            profile,
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let response: Value = self
            .http
            .request(method, url)
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if let Some(error) = response["value"].get("error") {
            panic!(
                "webdriver {path} failed: {error} {}",
                response["value"]["message"]
            );
        }
        response["value"].clone()
    }

    pub async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", json!({ "url": url }))
            .await;
    }

    /// Runs `script` (a function body) in the page and returns its result.
    pub async fn eval(&self, script: &str) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            json!({ "script": script, "args": [] }),
        )
        .await
    }

    /// A PNG screenshot of the viewport.
    pub async fn screenshot(&self) -> Vec<u8> {
        use base64::Engine as _;
        let encoded = self
            .call(reqwest::Method::GET, "/screenshot", json!({}))
            .await;
        base64::engine::general_purpose::STANDARD
            .decode(encoded.as_str().unwrap())
            .unwrap()
    }

    pub async fn close(self) {
        let url = format!("{}/session/{}", self.base, self.session);
        let _ = self.http.delete(url).send().await;
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
