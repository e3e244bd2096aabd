//! The Lambda binary exports its spans over OTLP (`OTEL_EXPORTER_OTLP_ENDPOINT`) to
//! `deputy-audit`'s receiver, and every credential it forwards, in each mode, becomes an
//! `abca.audit.v1` record that names the token by fingerprint only.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use deputy_audit::Pipeline;
use deputy_audit::pipeline::JsonLinesSink;
use deputy_core::audit::{AuditRecord, CredentialSource, TokenFingerprint};
use deputy_tests::recording_proxy::RecordingProxy;
use serde_json::json;

type Shared = Arc<Mutex<(Pipeline, JsonLinesSink<Vec<u8>, Vec<u8>>)>>;

fn records(shared: &Shared) -> Vec<AuditRecord> {
    let guard = shared.lock().unwrap();
    String::from_utf8(guard.1.records.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lambda_exports_gateway_credentials_that_become_audit_records() {
    let world = support::world().await;
    let shared: Shared = Arc::new(Mutex::new((
        Pipeline::default(),
        JsonLinesSink::new(Vec::new(), Vec::new()),
    )));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let receiver = format!("http://{}", listener.local_addr().unwrap());
    let app = deputy_audit::receiver::router(shared.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    // Every OTLP body the binary sends is kept, to search it for secrets.
    let proxy = RecordingProxy::start(&receiver).await;

    let alice_docs = world.vault.mint_user_token("alice", "docs-mcp").unwrap();
    let alice = world.vault.mint_user_token("alice", "deputy").unwrap();
    let events = [
        (
            "passthrough",
            support::event(
                Some("docs___search"),
                Some(json!({"X-Custom-UserToken": alice_docs, "mcp-session-id": "sess-42"})),
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
    ];
    let (lambda, responses) = support::lambda::run(
        "otlp",
        &world.config,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", proxy.endpoint.as_str()),
            ("OTEL_SERVICE_NAME", "deputy-gateway"),
            ("RUST_LOG", "trace"),
        ],
        &events,
    )
    .await;
    // The binary flushes before each answer; the receiver may still be writing the last one.
    let deadline = Instant::now() + Duration::from_secs(30);
    while records(&shared).len() < 3 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let output = lambda.stop();
    let records = records(&shared);
    assert_eq!(records.len(), 3, "{records:#?}\n{output}");

    let bearer = |id: &str| support::lambda::bearer(&responses[id]);
    let find = |source: CredentialSource| {
        records
            .iter()
            .find(|r| r.source == Some(source))
            .unwrap_or_else(|| panic!("no {source:?} record in {records:#?}"))
    };
    let passthrough = find(CredentialSource::GatewayPassthrough);
    assert_eq!(
        passthrough.token_fingerprint,
        Some(TokenFingerprint::of(&bearer("passthrough")))
    );
    assert_eq!(
        passthrough.correlation.user_id.as_ref().unwrap().as_str(),
        "dev+alice"
    );
    assert_eq!(
        passthrough.correlation.session_id.as_deref(),
        Some("sess-42")
    );
    assert!(passthrough.correlation.task_id.as_str().starts_with("gw-"));
    assert!(
        passthrough.correlation.trace_id.is_some(),
        "joined to its trace"
    );
    assert_eq!(passthrough.integration.name(), "docs");
    assert_eq!(
        passthrough
            .asserted_chain
            .as_ref()
            .and_then(|c| c.user.as_ref())
            .map(|u| u.as_str()),
        Some("dev+alice")
    );
    let broker = find(CredentialSource::TokenBroker);
    assert_eq!(
        broker.token_fingerprint,
        Some(TokenFingerprint::of(&bearer("broker")))
    );
    assert!(broker.correlation.user_id.is_none());
    assert_eq!(
        (
            broker.flow.as_deref().unwrap_or(""),
            broker.integration.name()
        ),
        ("m2m", "billing")
    );
    assert!(broker.expires_at.is_some());
    let exchange = find(CredentialSource::Vault);
    assert_eq!(
        exchange.token_fingerprint,
        Some(TokenFingerprint::of(&bearer("exchange")))
    );
    let tasks: std::collections::BTreeSet<&str> = records
        .iter()
        .map(|r| r.correlation.task_id.as_str())
        .collect();
    assert_eq!(tasks.len(), 3, "one task per request: {tasks:?}");

    // No token reached the OTLP export, the records or the logs.
    let mut canary = deputy_tests::canary::Canary::default();
    canary.add("passthrough user JWT", &alice_docs);
    canary.add("exchange user JWT", &alice);
    canary.add("broker client secret", "billing-client-secret");
    for (id, _) in &events {
        canary.add(&format!("{id} bearer"), &bearer(id));
    }
    let exported: Vec<u8> = proxy
        .exchanges()
        .iter()
        .flat_map(|e| e.request.to_vec())
        .collect();
    assert!(!exported.is_empty());
    canary.assert_clean("OTLP export", &String::from_utf8_lossy(&exported));
    let written = {
        let guard = shared.lock().unwrap();
        [guard.1.records.clone(), guard.1.findings.clone()].concat()
    };
    canary.assert_clean("audit output", &String::from_utf8_lossy(&written));
    canary.assert_clean("deputy-gateway-lambda output", &output);
}
