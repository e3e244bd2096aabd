//! A minimal W3C WebDriver client over chromedriver's HTTP API, driving headless Chromium.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{ChildGuard, free_port, require_binary, spawn, wait_until_up};

const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

pub struct Browser {
    http: reqwest::Client,
    session: String,
    base: String,
    profile: PathBuf,
    closed: bool,
    _driver: ChildGuard,
}

impl Browser {
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
        wait_until_up(&format!("{base}/status"), 200).await;
        let profile = std::env::temp_dir().join(format!(
            "deputy-chromium-{}",
            deputy_vault_local::ids::random_token(8)
        ));
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
        ];
        let mut args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
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
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("chromedriver could not start chromium: {created}"))
            .to_owned();
        Self {
            http,
            session,
            base,
            profile,
            closed: false,
            _driver: driver,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/session/{}{path}", self.base, self.session)
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let response: Value = self
            .http
            .request(method, self.url(path))
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

    pub async fn current_url(&self) -> String {
        self.call(reqwest::Method::GET, "/url", json!({}))
            .await
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub async fn source(&self) -> String {
        self.call(reqwest::Method::GET, "/source", json!({}))
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Waits (up to 30 s) for an element matching `css`, then returns its id.
    pub async fn find(&self, css: &str) -> String {
        for _ in 0..300 {
            let response: Value = self
                .http
                .post(self.url("/element"))
                .json(&json!({ "using": "css selector", "value": css }))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
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

    pub async fn type_into(&self, css: &str, text: &str) {
        let id = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/value"),
            json!({ "text": text }),
        )
        .await;
    }

    pub async fn click(&self, css: &str) {
        let id = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/click"),
            json!({}),
        )
        .await;
    }

    /// Waits (up to 30 s) until the current URL starts with `prefix`; returns it.
    pub async fn wait_for_url(&self, prefix: &str) -> String {
        for _ in 0..300 {
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
