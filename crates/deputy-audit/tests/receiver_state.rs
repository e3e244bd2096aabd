//! What a long-running receiver keeps is bounded: the skipped-input errors its sink keeps,
//! and the error kinds its counts tell apart, however many hostile spans it is sent.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Arc, Mutex};

use common::{fingerprint, line, resolve_span, set, span};
use deputy_audit::Pipeline;
use deputy_audit::pipeline::{JsonLinesSink, MAX_KEPT_ERRORS, MAX_UNISSUED_KINDS};
use deputy_core::attr;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skipped_spans_and_error_kinds_sent_over_http_are_kept_bounded() {
    let shared = Arc::new(Mutex::new((
        Pipeline::default(),
        JsonLinesSink::new(Vec::new(), Vec::new()),
    )));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1/traces", listener.local_addr().unwrap());
    tokio::spawn(
        axum::serve(listener, deputy_audit::receiver::router(shared.clone())).into_future(),
    );
    let http = reqwest::Client::new();
    // Resolve spans that issued a token but name no task: each is skipped with an error.
    let broken: Vec<_> = (0..MAX_KEPT_ERRORS as u32 + 100)
        .map(|n| {
            let mut attrs = resolve_span("t", Some("dev+alice"), "read", &fingerprint(n));
            attrs.retain(|(k, _)| k != attr::TASK_ID);
            span(n, attr::SPAN_RESOLVE, &attrs)
        })
        .collect();
    // Resolves without a token, each with its own error kind.
    let unissued: Vec<_> = (0..MAX_UNISSUED_KINDS as u32 + 50)
        .map(|n| {
            let mut attrs = resolve_span("t", Some("dev+alice"), "read", &fingerprint(n));
            attrs.retain(|(k, _)| k != attr::SOURCE);
            set(
                &mut attrs,
                attr::ERROR_KIND,
                json!({ "stringValue": format!("kind-{n}") }),
            );
            span(n, attr::SPAN_RESOLVE, &attrs)
        })
        .collect();
    for spans in [broken, unissued] {
        let response = http
            .post(&url)
            .header("content-type", "application/json")
            .body(line(spans))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    let guard = shared.lock().unwrap();
    let (pipeline, sink) = &*guard;
    assert_eq!(pipeline.stats().errors, MAX_KEPT_ERRORS as u64 + 100);
    assert_eq!(sink.errors.len(), MAX_KEPT_ERRORS);
    assert_eq!(sink.errors_not_kept, 100);
    let kinds = &pipeline.stats().unissued;
    assert_eq!(kinds.len(), MAX_UNISSUED_KINDS + 1);
    assert_eq!(kinds["other"], 50);
    assert_eq!(kinds.values().sum::<u64>(), MAX_UNISSUED_KINDS as u64 + 50);
}
