//! Hostile OTLP/HTTP requests are refused whole (413, naming the limit) before they are
//! decoded, requests wait their turn to be decoded, and the receiver keeps serving normal
//! requests afterwards.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{fingerprint, line, resolve_span, span};
use deputy_audit::Pipeline;
use deputy_audit::pipeline::JsonLinesSink;
use deputy_audit::receiver::{Config, Limits, router_with};
use deputy_core::attr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

type Shared = Arc<Mutex<(Pipeline, JsonLinesSink<Vec<u8>, Vec<u8>>)>>;

/// "Does not hang": ten times what any of these requests takes on a busy machine.
const ANSWERED_WITHIN: Duration = Duration::from_secs(30);

async fn start(limits: Limits) -> (Shared, String) {
    let shared = Arc::new(Mutex::new((
        Pipeline::default(),
        JsonLinesSink::new(Vec::new(), Vec::new()),
    )));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let config = Config {
        limits,
        token: None,
    };
    tokio::spawn(axum::serve(listener, router_with(shared.clone(), config)).into_future());
    (shared, addr)
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

/// A protobuf length-delimited field.
fn field(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    prost::encoding::encode_varint(content.len() as u64, &mut out);
    out.extend_from_slice(content);
    out
}

/// `ExportTraceServiceRequest{resource_spans: [{scope_spans: [{spans}]}]}` around encoded
/// `ScopeSpans.spans` fields.
fn proto_request(spans: &[u8]) -> Vec<u8> {
    field(0x0a, &field(0x12, spans))
}

async fn post(addr: &str, content_type: &str, gzipped: bool, body: Vec<u8>) -> (u16, String) {
    let mut request = reqwest::Client::new()
        .post(format!("http://{addr}/v1/traces"))
        .header("content-type", content_type)
        .timeout(ANSWERED_WITHIN);
    if gzipped {
        request = request.header("content-encoding", "gzip");
    }
    let response = request.body(body).send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

fn normal(task: &str, n: u32) -> Vec<u8> {
    line(vec![span(
        n,
        attr::SPAN_RESOLVE,
        &resolve_span(task, Some("dev+alice"), "read", &fingerprint(n)),
    )])
    .into_bytes()
}

fn tasks(shared: &Shared) -> Vec<String> {
    let guard = shared.lock().unwrap();
    String::from_utf8(guard.1.records.clone())
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<deputy_core::audit::AuditRecord>(l)
                .unwrap()
                .correlation
                .task_id
                .to_string()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gzip_bomb_of_empty_spans_is_refused_with_413_and_the_next_request_is_served() {
    let (shared, addr) = start(Limits::default()).await;
    // 16 MiB of empty spans (`12 00` each) gzip to a few kilobytes.
    let bomb = gzip(&proto_request(&[0x12, 0x00].repeat(8 * 1024 * 1024 - 16)));
    assert!(bomb.len() < 64 * 1024, "{}", bomb.len());
    let (status, message) = post(&addr, "application/x-protobuf", true, bomb).await;
    assert_eq!(status, 413, "{message}");
    assert!(
        message.contains("more than 16384 spans") && message.contains("split the batch"),
        "{message}"
    );
    assert_eq!(shared.lock().unwrap().0.stats().spans, 0);
    let (status, _) = post(&addr, "application/json", false, normal("t-after", 1)).await;
    assert_eq!(status, 200);
    assert_eq!(tasks(&shared), ["t-after"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_span_with_a_flood_of_attributes_is_refused_in_protobuf_and_json() {
    let (shared, addr) = start(Limits::default()).await;
    // One span holding 4 M empty attributes (`4a 00` each).
    let attrs = proto_request(&field(0x12, &[0x4a, 0x00].repeat(4 * 1024 * 1024)));
    let (status, message) = post(&addr, "application/x-protobuf", true, gzip(&attrs)).await;
    assert_eq!(status, 413, "{message}");
    assert!(
        message.contains("more than 262144 attribute values"),
        "{message}"
    );

    // The same in JSON, within the JSON value count: refused by the attribute count.
    let few = Limits {
        max_attributes: 1_000,
        ..Limits::default()
    };
    let (_, addr_few) = start(few).await;
    let keys = vec![r#"{"key":"a"}"#; 1_001].join(",");
    let json = format!(
        r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{{"attributes":[{keys}]}}]}}]}}]}}"#
    );
    let (status, message) = post(&addr_few, "application/json", false, json.into_bytes()).await;
    assert_eq!(status, 413, "{message}");
    assert!(
        message.contains("more than 1000 attribute values"),
        "{message}"
    );

    let (status, _) = post(&addr, "application/json", false, normal("t-after", 1)).await;
    assert_eq!(status, 200);
    assert_eq!(tasks(&shared), ["t-after"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_json_flood_of_null_values_or_brackets_is_refused_before_it_is_decoded() {
    let (shared, addr) = start(Limits::default()).await;
    let nulls = vec!["null"; 3_000_000].join(",");
    let json = format!(
        r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{{"attributes":[{{"key":"a","value":{{"arrayValue":{{"values":[{nulls}]}}}}}}]}}]}}]}}]}}"#
    );
    let (status, message) = post(&addr, "application/json", true, gzip(json.as_bytes())).await;
    assert_eq!(status, 413, "{message}");
    assert!(
        message.contains("more than 1048576 JSON values"),
        "{message}"
    );
    let deep = format!("{}{}", "[".repeat(4_000_000), "]".repeat(4_000_000));
    let (status, message) = post(&addr, "application/json", true, gzip(deep.as_bytes())).await;
    assert_eq!(status, 413, "{message}");
    let (status, _) = post(&addr, "application/json", false, normal("t-after", 1)).await;
    assert_eq!(status, 200);
    assert_eq!(tasks(&shared), ["t-after"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deep_protobuf_nesting_and_too_many_decoded_bytes_are_refused() {
    let (_, addr) = start(Limits::default()).await;
    let mut nested = Vec::new();
    for _ in 0..40 {
        nested = field(0x2a, &field(0x0a, &nested)); // AnyValue{array_value{values:[…]}}
    }
    let kv = field(0x4a, &[field(0x0a, b"k"), field(0x12, &nested)].concat());
    let (status, message) = post(
        &addr,
        "application/x-protobuf",
        false,
        proto_request(&field(0x12, &kv)),
    )
    .await;
    assert_eq!(status, 413, "{message}");
    assert!(
        message.contains("nests messages more than 32 deep"),
        "{message}"
    );

    let small = Limits {
        max_decoded_bytes: 64 * 1024,
        ..Limits::default()
    };
    let (_, addr_small) = start(small).await;
    let spans = [0x12, 0x00].repeat(1_000);
    let (status, message) = post(
        &addr_small,
        "application/x-protobuf",
        false,
        proto_request(&spans),
    )
    .await;
    assert_eq!(status, 413, "{message}");
    assert!(
        message.contains("more than 65536 bytes once decoded"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_over_the_limit_are_refused_as_sent_and_once_gunzipped() {
    let limits = Limits {
        max_body_bytes: 64 * 1024,
        ..Limits::default()
    };
    let (shared, addr) = start(limits).await;
    let (status, message) = post(&addr, "application/json", false, vec![b' '; 64 * 1024 + 1]).await;
    assert_eq!(status, 413, "{message}");
    assert!(message.contains("over 65536 bytes"), "{message}");
    let (status, message) = post(
        &addr,
        "application/json",
        true,
        gzip(&vec![b' '; 64 * 1024 + 1]),
    )
    .await;
    assert_eq!(status, 413, "{message}");
    assert!(
        message.contains("over 65536 bytes once gunzipped"),
        "{message}"
    );
    let (status, _) = post(&addr, "application/json", false, normal("t-after", 1)).await;
    assert_eq!(status, 200);
    assert_eq!(tasks(&shared), ["t-after"]);
}

/// Sends the headers and half the body of a request, and keeps the connection open.
async fn half_sent(addr: &str, body: &[u8]) -> tokio::net::TcpStream {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /v1/traces HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body[..body.len() / 2]).await.unwrap();
    stream
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_past_the_concurrency_limit_wait_then_get_503_with_retry_after() {
    let limits = Limits {
        max_concurrent: 1,
        queue_wait: Duration::from_millis(300),
        ..Limits::default()
    };
    let (shared, addr) = start(limits).await;
    let slow_body = normal("t-slow", 1);
    let mut slow = half_sent(&addr, &slow_body).await;
    // The slow request holds the only turn while its body trickles in.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let response = reqwest::Client::new()
        .post(format!("http://{addr}/v1/traces"))
        .header("content-type", "application/json")
        .body(normal("t-refused", 2))
        .timeout(ANSWERED_WITHIN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    assert!(response.text().await.unwrap().contains("busy"));

    slow.write_all(&slow_body[slow_body.len() / 2..])
        .await
        .unwrap();
    let mut answer = vec![0u8; 12];
    slow.read_exact(&mut answer).await.unwrap();
    assert_eq!(&answer, b"HTTP/1.1 200");
    let (status, _) = post(&addr, "application/json", false, normal("t-next", 3)).await;
    assert_eq!(status, 200);
    assert_eq!(tasks(&shared), ["t-slow", "t-next"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_never_finishes_arriving_gets_408_and_frees_its_turn() {
    let limits = Limits {
        max_concurrent: 1,
        body_timeout: Duration::from_millis(300),
        ..Limits::default()
    };
    let (_, addr) = start(limits).await;
    let mut stalled = half_sent(&addr, &normal("t-stalled", 1)).await;
    let mut answer = vec![0u8; 12];
    tokio::time::timeout(ANSWERED_WITHIN, stalled.read_exact(&mut answer))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&answer, b"HTTP/1.1 408");
    let (status, _) = post(&addr, "application/json", false, normal("t-next", 2)).await;
    assert_eq!(status, 200);
}
