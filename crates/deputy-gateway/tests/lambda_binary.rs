//! The Lambda binary driven through the Lambda Runtime API (served here), with real events for
//! each mode; a target server then checks what the gateway would deliver.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::VecDeque;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use deputy::verify::TokenVerifier;
use serde_json::{Value, json};

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

struct Lambda(Child);

impl Drop for Lambda {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lambda_binary_serves_every_mode_through_the_runtime_api() {
    let world = support::world().await;
    let config_path =
        std::env::temp_dir().join(format!("deputy-gateway-{}.toml", std::process::id()));
    std::fs::write(&config_path, &world.config).unwrap();

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

    let alice_docs = world.vault.mint_user_token("alice", "docs-mcp").unwrap();
    let alice = world.vault.mint_user_token("alice", "deputy").unwrap();
    let events = [
        (
            "passthrough",
            support::event(
                Some("docs___search"),
                Some(json!({"X-Custom-UserToken": alice_docs})),
            ),
        ),
        (
            "exchange",
            support::event(
                Some("aws___describe"),
                Some(json!({"X-Custom-UserToken": alice})),
            ),
        ),
        (
            "broker",
            support::event(Some("billing___invoices"), Some(json!({}))),
        ),
        (
            "forged",
            support::event(
                Some("docs___search"),
                Some(json!({"X-Custom-UserToken": format!("{alice_docs}x")})),
            ),
        ),
        ("garbage", json!({"not": "an event"})),
    ];
    for (id, event) in &events {
        api.pending
            .lock()
            .unwrap()
            .push_back(((*id).to_owned(), event.clone()));
    }
    // Everything the binary writes, searched for secrets at the end (issue #8).
    let log_path = std::env::temp_dir().join(format!("deputy-gateway-{}.log", std::process::id()));
    let log = std::fs::File::create(&log_path).unwrap();
    let lambda = Lambda(
        Command::new(env!("CARGO_BIN_EXE_deputy-gateway-lambda"))
            .env("AWS_LAMBDA_RUNTIME_API", &runtime_api)
            .env("AWS_LAMBDA_FUNCTION_NAME", "deputy-gateway")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "test")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("DEPUTY_GATEWAY_CONFIG", &config_path)
            .env("RUST_LOG", "trace")
            .env("RUST_BACKTRACE", "1")
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap(),
    );
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
    let responses: std::collections::HashMap<String, Value> =
        api.responses.lock().unwrap().iter().cloned().collect();

    // What a target behind the gateway receives, checked the way a target would.
    let issuer = world.vault.idp_issuer();
    let check = |id: &str, audience: &str| {
        let out = &responses[id];
        assert_eq!(out["interceptorOutputVersion"], "1.0");
        let forwarded = &out["mcp"]["transformedGatewayRequest"];
        assert!(
            out["mcp"].get("transformedGatewayResponse").is_none(),
            "{id}: {out}"
        );
        let original =
            events.iter().find(|(e, _)| *e == id).unwrap().1["mcp"]["gatewayRequest"]["body"]
                .clone();
        assert_eq!(forwarded["body"], original, "{id}: the body is unchanged");
        let bearer = forwarded["headers"]["Authorization"]
            .as_str()
            .unwrap()
            .strip_prefix("Bearer ")
            .unwrap()
            .to_owned();
        (
            TokenVerifier::new(issuer.clone(), format!("{issuer}/jwks"), [audience]),
            bearer,
        )
    };
    let (verifier, token) = check("passthrough", "docs-mcp");
    assert_eq!(verifier.verify(&token).await.unwrap().subject.sub, "alice");
    let (verifier, token) = check("exchange", "aws-native");
    let observed = verifier.verify(&token).await.unwrap();
    assert_eq!(
        (
            observed.subject.sub.as_str(),
            observed.actors.current().unwrap().sub.as_str()
        ),
        ("alice", "aws-native")
    );
    let (_, broker_token) = check("broker", "billing");
    assert_eq!(broker_token.split('.').count(), 3);
    for refused in ["forged", "garbage"] {
        let out = &responses[refused];
        let status = out["mcp"]["transformedGatewayResponse"]["statusCode"]
            .as_u64()
            .unwrap();
        assert!(status == 401 || status == 400, "{refused}: {out}");
        assert!(!out.to_string().contains(&alice_docs[..40]), "token echoed");
    }

    // No token the binary handled, nor the broker's client secret, reached its output.
    drop(lambda);
    let mut canary = deputy_tests::canary::Canary::default();
    canary.add("passthrough user JWT", &alice_docs);
    canary.add("exchange user JWT", &alice);
    canary.add("broker client secret", "billing-client-secret");
    for (id, _) in &events[..3] {
        canary.add_from_json(id, &responses[*id]);
        let bearer = responses[*id]["mcp"]["transformedGatewayRequest"]["headers"]["Authorization"]
            .as_str()
            .unwrap();
        canary.add(
            &format!("{id} bearer"),
            bearer.trim_start_matches("Bearer "),
        );
    }
    let output = std::fs::read_to_string(&log_path).unwrap();
    assert!(output.contains("TRACE"), "the binary logs at trace level");
    canary.assert_clean("deputy-gateway-lambda output", &output);
    std::fs::remove_file(&log_path).unwrap();
}
