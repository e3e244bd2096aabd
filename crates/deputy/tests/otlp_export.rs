//! Spans leave the process over real OTLP/HTTP: a receiver on 127.0.0.1 gets the protobuf
//! export with deputy's attributes and fingerprints, and never the token.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::routing::post;
use deputy_core::{Operation, attr};
use tracing_subscriber::layer::SubscriberExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolve_spans_are_exported_over_otlp_http() {
    let received: Arc<Mutex<Vec<u8>>> = Arc::default();
    let sink = received.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        post(move |body: Bytes| {
            let sink = sink.clone();
            async move {
                sink.lock().unwrap().extend_from_slice(&body);
                ""
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let export = deputy::otel::otlp_layer_to(&format!("{endpoint}/v1/traces")).unwrap();
    let subscriber = tracing_subscriber::registry().with(export.layer);
    let _guard = tracing::subscriber::set_default(subscriber);

    let vault = common::vault().await;
    let resolver = common::builder(&vault).build().unwrap();
    let token = resolver
        .resolve_aws_native_token(
            &common::interactive(&vault, "alice", "otlp-1"),
            Operation::Read,
        )
        .await
        .unwrap();
    let provider = export.provider.clone();
    tokio::task::spawn_blocking(move || provider.force_flush())
        .await
        .unwrap()
        .unwrap();

    let bytes = received.lock().unwrap().clone();
    let text = String::from_utf8_lossy(&bytes);
    for expected in [
        attr::SPAN_RESOLVE,
        attr::TASK_ID,
        "otlp-1",
        attr::FLOW,
        "on_behalf_of",
        attr::TOKEN_FINGERPRINT,
        token.fingerprint().as_str(),
        "dev+alice",
    ] {
        assert!(text.contains(expected), "export lacks {expected}");
    }
    assert!(
        !text.contains(token.token.expose()),
        "the token was exported"
    );
    tokio::task::spawn_blocking(move || export.provider.shutdown())
        .await
        .unwrap()
        .unwrap();
}
