//! The Lambda Runtime API, served here, and the real `deputy-gateway-lambda` binary driven
//! through it.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde_json::Value;

#[derive(Default)]
struct RuntimeApi {
    pending: Mutex<VecDeque<(String, Value)>>,
    responses: Mutex<Vec<(String, Value)>>,
    errors: Mutex<Vec<String>>,
}

async fn next(State(api): State<Arc<RuntimeApi>>) -> impl IntoResponse {
    loop {
        let item = api.pending.lock().unwrap().pop_front();
        if let Some((id, event)) = item {
            let deadline = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_millis()
                + 30_000;
            let mut headers = HeaderMap::new();
            headers.insert("Lambda-Runtime-Aws-Request-Id", id.parse().unwrap());
            headers.insert(
                "Lambda-Runtime-Deadline-Ms",
                deadline.to_string().parse().unwrap(),
            );
            headers.insert(
                "Lambda-Runtime-Invoked-Function-Arn",
                "arn:aws:lambda:us-east-1:123456789012:function:deputy-gateway"
                    .parse()
                    .unwrap(),
            );
            headers.insert(
                "Lambda-Runtime-Trace-Id",
                "Root=1-5759e988-bd862e3fe1be46a994272793".parse().unwrap(),
            );
            return (StatusCode::OK, headers, event.to_string());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn response(
    State(api): State<Arc<RuntimeApi>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    api.responses
        .lock()
        .unwrap()
        .push((id, serde_json::from_slice(&body).unwrap()));
    StatusCode::ACCEPTED
}

async fn error(State(api): State<Arc<RuntimeApi>>, body: Bytes) -> StatusCode {
    api.errors
        .lock()
        .unwrap()
        .push(String::from_utf8_lossy(&body).into_owned());
    StatusCode::ACCEPTED
}

/// The running binary (killed on drop), its output file and configuration file.
pub struct Lambda {
    child: Child,
    pub log_path: PathBuf,
    config_path: PathBuf,
}

impl Drop for Lambda {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.config_path);
    }
}

impl Lambda {
    /// Stops the binary and returns everything it wrote.
    pub fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let output = std::fs::read_to_string(&self.log_path).unwrap();
        let _ = std::fs::remove_file(&self.log_path);
        output
    }
}

/// Starts the binary with `config` and `env` (added to the Lambda's own variables; `AWS_REGION`
/// defaults to `us-east-1`), gives it `events` and waits for every answer, by event id.
pub async fn run(
    label: &str,
    config: &str,
    env: &[(&str, &str)],
    events: &[(&str, Value)],
) -> (Lambda, HashMap<String, Value>) {
    let stem = format!("deputy-gateway-{label}-{}", std::process::id());
    let config_path = std::env::temp_dir().join(format!("{stem}.toml"));
    std::fs::write(&config_path, config).unwrap();

    let api = Arc::new(RuntimeApi::default());
    let app = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(response),
        )
        .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
        .route("/2018-06-01/runtime/init/error", post(error))
        .with_state(api.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let runtime_api = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move { axum::serve(listener, app).await });
    for (id, event) in events {
        api.pending
            .lock()
            .unwrap()
            .push_back(((*id).to_owned(), event.clone()));
    }
    let log_path = std::env::temp_dir().join(format!("{stem}.log"));
    let log = std::fs::File::create(&log_path).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_deputy-gateway-lambda"));
    command
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .env("AWS_LAMBDA_RUNTIME_API", &runtime_api)
        .env("AWS_LAMBDA_FUNCTION_NAME", "deputy-gateway")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("DEPUTY_GATEWAY_CONFIG", &config_path)
        .env("RUST_BACKTRACE", "1");
    for (name, value) in env {
        command.env(name, value);
    }
    let child = command
        .stdout(Stdio::from(log.try_clone().unwrap()))
        .stderr(Stdio::from(log))
        .spawn()
        .unwrap();
    let lambda = Lambda {
        child,
        log_path,
        config_path,
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while api.responses.lock().unwrap().len() < events.len() {
        assert!(
            api.errors.lock().unwrap().is_empty(),
            "lambda reported errors: {:?}",
            api.errors.lock().unwrap()
        );
        assert!(
            Instant::now() < deadline,
            "the lambda answered {} of {} events",
            api.responses.lock().unwrap().len(),
            events.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let responses = api.responses.lock().unwrap().iter().cloned().collect();
    (lambda, responses)
}

/// The bearer token a forwarded answer carries, or a panic naming the answer.
pub fn bearer(out: &Value) -> String {
    out["mcp"]["transformedGatewayRequest"]["headers"]["Authorization"]
        .as_str()
        .and_then(|b| b.strip_prefix("Bearer "))
        .unwrap_or_else(|| panic!("not forwarded: {out}"))
        .to_owned()
}
