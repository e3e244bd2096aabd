//! The OTLP/HTTP receiver accepts JSON (plain or gzip) and answers a malformed body with 400
//! and the reason, writing nothing from it and keeping everything from the good requests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::{fingerprint, line, resolve_span, span};
use deputy_audit::Pipeline;
use deputy_audit::pipeline::JsonLinesSink;
use deputy_core::attr;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_and_gzip_are_received_and_bad_bodies_are_refused_alone() {
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
    let body = |task: &str, n: u32| {
        line(vec![span(
            n,
            attr::SPAN_RESOLVE,
            &resolve_span(task, Some("dev+alice"), "read", &fingerprint(n)),
        )])
    };

    let plain = http
        .post(&url)
        .header("content-type", "application/json")
        .body(body("t-plain", 1))
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), 200);
    assert_eq!(plain.text().await.unwrap(), "{}");

    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(body("t-gzip", 2).as_bytes()).unwrap();
    let gzipped = http
        .post(&url)
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(gz.finish().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(gzipped.status(), 200);

    let bad_proto = http
        .post(&url)
        .header("content-type", "application/x-protobuf")
        .body(vec![0xff, 0xff, 0xff])
        .send()
        .await
        .unwrap();
    assert_eq!(bad_proto.status(), 400);
    assert!(
        bad_proto
            .text()
            .await
            .unwrap()
            .starts_with("not an OTLP/protobuf ExportTraceServiceRequest")
    );

    let truncated = body("t-truncated", 3);
    let bad_json = http
        .post(&url)
        .header("content-type", "application/json")
        .body(truncated[..truncated.len() - 10].to_owned())
        .send()
        .await
        .unwrap();
    assert_eq!(bad_json.status(), 400);
    let message = bad_json.text().await.unwrap();
    assert!(
        message.contains("EOF while parsing") && message.contains("line 1 column"),
        "{message}"
    );

    let bad_gzip = http
        .post(&url)
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body("not gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(bad_gzip.status(), 400);
    let odd_type = http
        .post(&url)
        .header("content-type", "text/plain")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(odd_type.status(), 400);
    assert!(
        odd_type
            .text()
            .await
            .unwrap()
            .contains("unsupported Content-Type")
    );

    let guard = shared.lock().unwrap();
    let tasks: Vec<String> = String::from_utf8(guard.1.records.clone())
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<deputy_core::audit::AuditRecord>(l)
                .unwrap()
                .correlation
                .task_id
                .as_str()
                .to_owned()
        })
        .collect();
    assert_eq!(tasks, ["t-plain", "t-gzip"]);
}
