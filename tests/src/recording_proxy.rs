//! A recording HTTP proxy on 127.0.0.1: a process under test talks to the vault through it, and
//! the test reads every request and response body, which is where it legitimately learns the
//! secrets the process received (WATs, access tokens, API keys, user JWTs).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderName, StatusCode};
use axum::response::Response;

use crate::canary::Canary;

/// One request/response pair seen by the proxy.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// Path and query of the request.
    pub path: String,
    /// Request body.
    pub request: Bytes,
    /// Response body.
    pub response: Bytes,
}

#[derive(Clone)]
struct Upstream {
    base: String,
    http: reqwest::Client,
    seen: Arc<Mutex<Vec<Exchange>>>,
}

/// The running proxy; stops when dropped.
pub struct RecordingProxy {
    /// The proxy's base URL, to give the process under test instead of the upstream's.
    pub endpoint: String,
    seen: Arc<Mutex<Vec<Exchange>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for RecordingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

const HOP_BY_HOP: [&str; 4] = ["host", "content-length", "transfer-encoding", "connection"];

async fn forward(State(up): State<Upstream>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    let mut outbound = up
        .http
        .request(parts.method, format!("{}{path}", up.base))
        .body(body.clone());
    for (name, value) in &parts.headers {
        if !HOP_BY_HOP.contains(&name.as_str()) {
            outbound = outbound.header(name, value);
        }
    }
    let answer = match outbound.send().await {
        Ok(answer) => answer,
        Err(e) => {
            return Response::builder()
                .status(StatusCode::BAD_GATEWAY)
                .body(Body::from(e.to_string()))
                .unwrap();
        }
    };
    let mut response = Response::builder().status(answer.status());
    for (name, value) in answer.headers() {
        if !HOP_BY_HOP.contains(&name.as_str()) {
            response = response.header(HeaderName::from_bytes(name.as_ref()).unwrap(), value);
        }
    }
    let bytes = answer.bytes().await.unwrap_or_default();
    up.seen.lock().unwrap().push(Exchange {
        path,
        request: body,
        response: bytes.clone(),
    });
    response.body(Body::from(bytes)).unwrap()
}

impl RecordingProxy {
    /// Starts a proxy that forwards everything to `upstream` (a base URL).
    pub async fn start(upstream: &str) -> RecordingProxy {
        let seen: Arc<Mutex<Vec<Exchange>>> = Arc::default();
        let state = Upstream {
            base: upstream.trim_end_matches('/').to_owned(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            seen: seen.clone(),
        };
        let app = axum::Router::new().fallback(forward).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        RecordingProxy {
            endpoint,
            seen,
            task,
        }
    }

    /// Every exchange so far.
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.seen.lock().unwrap().clone()
    }

    /// The secrets in every JSON request and response body so far, labelled by path.
    pub fn canary(&self) -> Canary {
        let mut canary = Canary::default();
        for exchange in self.exchanges() {
            let path = exchange.path.split('?').next().unwrap_or_default();
            for body in [&exchange.request, &exchange.response] {
                if let Ok(json) = serde_json::from_slice::<serde_json::Value>(body) {
                    canary.add_from_json(path, &json);
                }
            }
        }
        canary
    }
}
