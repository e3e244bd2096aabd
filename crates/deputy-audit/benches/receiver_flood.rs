//! Hostile OTLP/HTTP requests against the audit receiver, each in a fresh child process: the
//! child's peak RSS (`VmHWM` in `/proc/<pid>/status`), the time to answer, and whether the
//! child then serves a normal request. Then the receiver's throughput on normal requests.
//!
//! Run: `cargo bench -p deputy-audit --bench receiver_flood`
//! (`DEPUTY_AUDIT_FLOOD_ROUNDS=5` for more throughput rounds). The child is this same binary
//! run with `--serve`: [`deputy_audit::receiver::router`] with its default limits, on
//! loopback, under `ulimit -v` (6 GiB) so a receiver without limits fails instead of taking
//! the machine. It prints one line per case and a JSON summary (also written to
//! `target/tmp/receiver_flood.json`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use deputy_core::attr;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;

/// Decompressed size of the floods: just under the receiver's body limit.
const FLOOD_BYTES: usize = 16 * 1024 * 1024 - 64;
/// Spans per normal request (the OpenTelemetry SDK's default export batch).
const NORMAL_SPANS: usize = 512;
/// Normal requests per throughput round.
const REQUESTS_PER_ROUND: usize = 40;

fn main() {
    if std::env::args().any(|a| a == "--serve") {
        serve();
        return;
    }
    let rounds: usize = std::env::var("DEPUTY_AUDIT_FLOOD_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    if let Ok(other) = std::env::var("DEPUTY_AUDIT_FLOOD_COMPARE") {
        runtime.block_on(compare(std::path::PathBuf::from(other), rounds));
        return;
    }
    let mut results = Vec::new();
    println!(
        "{:<34} {:>8} {:>12} {:>12} {:>10} {:>8}",
        "case", "status", "answer_ms", "peak_rss_mib", "base_mib", "next_ok"
    );
    for (name, content_type, gzip, body) in hostile_cases() {
        let r = runtime.block_on(flood_case(name, content_type, gzip, body));
        println!(
            "{:<34} {:>8} {:>12.1} {:>12.1} {:>10.1} {:>8}",
            r.name, r.status, r.answer_ms, r.peak_mib, r.base_mib, r.next_ok
        );
        results.push(r);
    }
    let throughput = runtime.block_on(throughput(rounds));
    println!(
        "throughput (best of {rounds} rounds of {REQUESTS_PER_ROUND} requests x {NORMAL_SPANS} spans): json {:.0} spans/s, protobuf {:.0} spans/s",
        throughput.0, throughput.1
    );
    let summary = serde_json::json!({
        "cases": results.iter().map(|r| serde_json::json!({
            "case": r.name, "status": r.status, "answer_ms": r.answer_ms,
            "peak_rss_mib": r.peak_mib, "baseline_rss_mib": r.base_mib, "next_request_ok": r.next_ok,
        })).collect::<Vec<_>>(),
        "throughput_spans_per_s": {"json": throughput.0, "protobuf": throughput.1},
    });
    println!("{summary}");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/tmp");
    if std::fs::create_dir_all(&dir).is_ok() {
        let _ = std::fs::write(dir.join("receiver_flood.json"), summary.to_string());
    }
}

/// The child: the receiver with its default limits, printing its port.
fn serve() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let sink = deputy_audit::pipeline::JsonLinesSink::new(std::io::sink(), std::io::sink());
        let shared = Arc::new(std::sync::Mutex::new((
            deputy_audit::Pipeline::default(),
            sink,
        )));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("{}", listener.local_addr().unwrap().port());
        std::io::stdout().flush().unwrap();
        axum::serve(listener, deputy_audit::receiver::router(shared))
            .await
            .unwrap();
    });
}

struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start() -> Server {
        Server::start_exe(std::env::current_exe().unwrap())
    }

    /// `exe --serve`: this bench binary, or another build of it.
    fn start_exe(exe: std::path::PathBuf) -> Server {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg("ulimit -v 6291456; exec \"$0\" --serve")
            .arg(exe)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut port = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut port)
            .unwrap();
        let url = format!("http://127.0.0.1:{}/v1/traces", port.trim());
        Server { child, url }
    }

    /// `VmHWM` in MiB; `None` once the child has gone.
    fn peak_mib(pid: u32) -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib / 1024.0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct CaseResult {
    name: &'static str,
    status: String,
    answer_ms: f64,
    peak_mib: f64,
    base_mib: f64,
    next_ok: bool,
}

async fn flood_case(
    name: &'static str,
    content_type: &'static str,
    gzip: bool,
    body: Vec<u8>,
) -> CaseResult {
    let server = Server::start();
    let pid = server.child.id();
    let http = reqwest::Client::new();
    let normal = normal_json(NORMAL_SPANS, 0);
    assert_eq!(
        send(
            &http,
            &server.url,
            "application/json",
            false,
            normal.clone()
        )
        .await,
        "200"
    );
    let base_mib = Server::peak_mib(pid).unwrap_or(0.0);
    // VmHWM is kept by the kernel; polling only matters when the child dies mid-request.
    let seen = Arc::new(AtomicU64::new(base_mib.to_bits()));
    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (seen, done) = (seen.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                if let Some(mib) = Server::peak_mib(pid) {
                    seen.fetch_max(mib.to_bits(), Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    let started = Instant::now();
    let status = send(&http, &server.url, content_type, gzip, body).await;
    let answer_ms = started.elapsed().as_secs_f64() * 1000.0;
    done.store(true, Ordering::Relaxed);
    watcher.join().unwrap();
    let peak_mib = Server::peak_mib(pid)
        .unwrap_or(0.0)
        .max(f64::from_bits(seen.load(Ordering::Relaxed)));
    let next_ok = send(&http, &server.url, "application/json", false, normal).await == "200";
    CaseResult {
        name,
        status,
        answer_ms,
        peak_mib,
        base_mib,
        next_ok,
    }
}

async fn send(
    http: &reqwest::Client,
    url: &str,
    content_type: &str,
    gzip: bool,
    body: Vec<u8>,
) -> String {
    let mut request = http.post(url).header("content-type", content_type);
    if gzip {
        request = request.header("content-encoding", "gzip");
    }
    match request
        .body(body)
        .timeout(Duration::from_secs(60))
        .send()
        .await
    {
        Ok(response) => response.status().as_u16().to_string(),
        Err(e) if e.is_timeout() => "timeout".into(),
        Err(_) => "dropped".into(),
    }
}

fn gzipped(bytes: &[u8]) -> Vec<u8> {
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

/// `ExportTraceServiceRequest{resource_spans: [{scope_spans: [{spans: <spans>}]}]}`, where
/// `spans` are already encoded `ScopeSpans.spans` fields.
fn proto_envelope(spans: &[u8]) -> Vec<u8> {
    field(0x0a, &field(0x12, spans))
}

fn hostile_cases() -> Vec<(&'static str, &'static str, bool, Vec<u8>)> {
    const PROTO: &str = "application/x-protobuf";
    const JSON: &str = "application/json";
    // Empty spans: `12 00` each.
    let empty_spans = [0x12u8, 0x00].repeat(FLOOD_BYTES / 2 - 8);
    let proto_spans = proto_envelope(&empty_spans);
    // One span with empty attributes: `4a 00` each.
    let attrs = [0x4au8, 0x00].repeat(FLOOD_BYTES / 2 - 16);
    let proto_attrs = proto_envelope(&field(0x12, &attrs));
    // One attribute whose array value nests 90 deep, repeated: within prost's recursion limit.
    let mut nested = Vec::new();
    for _ in 0..90 {
        // AnyValue{array_value: ArrayValue{values: [nested]}}
        nested = field(0x2a, &field(0x0a, &nested));
    }
    let kv = field(0x4a, &[field(0x0a, b"k"), field(0x12, &nested)].concat());
    let proto_deep = proto_envelope(&field(0x12, &kv.repeat(FLOOD_BYTES / kv.len())));
    let json_spans = json_doc(
        r#"{"resourceSpans":[{"scopeSpans":[{"spans":["#,
        "{}",
        "]}]}]}",
    );
    let json_attrs = json_doc(
        r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":["#,
        r#"{"key":"a"}"#,
        "]}]}]}]}",
    );
    let json_nulls = json_doc(
        r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":[{"key":"a","value":{"arrayValue":{"values":["#,
        "null",
        "]}}}]}]}]}]}",
    );
    let json_deep = format!(
        "{}{}",
        "[".repeat(FLOOD_BYTES / 2),
        "]".repeat(FLOOD_BYTES / 2)
    );
    vec![
        ("proto_gzip_empty_spans", PROTO, true, gzipped(&proto_spans)),
        ("proto_plain_empty_spans", PROTO, false, proto_spans),
        (
            "proto_gzip_empty_attributes",
            PROTO,
            true,
            gzipped(&proto_attrs),
        ),
        (
            "proto_gzip_nested_arrays",
            PROTO,
            true,
            gzipped(&proto_deep),
        ),
        ("json_gzip_empty_spans", JSON, true, gzipped(&json_spans)),
        (
            "json_gzip_key_only_attributes",
            JSON,
            true,
            gzipped(&json_attrs),
        ),
        (
            "json_gzip_null_array_values",
            JSON,
            true,
            gzipped(&json_nulls),
        ),
        (
            "json_gzip_deep_brackets",
            JSON,
            true,
            gzipped(json_deep.as_bytes()),
        ),
        (
            "json_over_body_limit",
            JSON,
            false,
            vec![b' '; FLOOD_BYTES + 1024],
        ),
    ]
}

/// `head` + `item` repeated (comma-separated) + `tail`, about [`FLOOD_BYTES`] long.
fn json_doc(head: &str, item: &str, tail: &str) -> Vec<u8> {
    let n = (FLOOD_BYTES - head.len() - tail.len()) / (item.len() + 1);
    let mut out = String::with_capacity(FLOOD_BYTES);
    out.push_str(head);
    for i in 0..n {
        if i > 0 {
            out.push(',');
        }
        out.push_str(item);
    }
    out.push_str(tail);
    out.into_bytes()
}

fn resolve_attrs(i: usize) -> Vec<(&'static str, String)> {
    vec![
        (attr::TASK_ID, format!("task-{i}")),
        (attr::USER_ID, format!("dev+user{}", i % 97)),
        (attr::INTEGRATION, "github".into()),
        (attr::OPERATION, "read".into()),
        (attr::FLOW, "on_behalf_of".into()),
        (attr::RULE_ID, "github-interactive-read".into()),
        (attr::SOURCE, "vault".into()),
        (attr::CONSENT, "not_required".into()),
        (
            attr::TOKEN_FINGERPRINT,
            format!("sha256:{:064x}", i as u128 * 7919),
        ),
        (
            attr::ACTOR_CHAIN_ASSERTED,
            format!(r#"{{"user":"dev+user{}","agent":"deputy-agent"}}"#, i % 97),
        ),
    ]
}

fn normal_json(spans: usize, first: usize) -> Vec<u8> {
    let mut out = String::from(r#"{"resourceSpans":[{"scopeSpans":[{"spans":["#);
    for i in first..first + spans {
        if i > first {
            out.push(',');
        }
        let attrs: Vec<String> = resolve_attrs(i)
            .into_iter()
            .map(|(k, v)| {
                format!(
                    r#"{{"key":"{k}","value":{{"stringValue":{}}}}}"#,
                    serde_json::Value::from(v)
                )
            })
            .collect();
        out.push_str(&format!(
            r#"{{"traceId":"{:032x}","spanId":"{:016x}","name":"{}","endTimeUnixNano":"{}","attributes":[{}]}}"#,
            i + 1,
            i + 1,
            attr::SPAN_RESOLVE,
            1_795_000_000_000_000_000u64 + i as u64,
            attrs.join(",")
        ));
    }
    out.push_str("]}]}]}");
    out.into_bytes()
}

fn normal_proto(spans: usize, first: usize) -> Vec<u8> {
    let spans = (first..first + spans)
        .map(|i| Span {
            trace_id: (i as u128 + 1).to_be_bytes().to_vec(),
            span_id: (i as u64 + 1).to_be_bytes().to_vec(),
            name: attr::SPAN_RESOLVE.into(),
            end_time_unix_nano: 1_795_000_000_000_000_000u64 + i as u64,
            attributes: resolve_attrs(i)
                .into_iter()
                .map(|(k, v)| KeyValue {
                    key: k.into(),
                    value: Some(AnyValue {
                        value: Some(any_value::Value::StringValue(v)),
                    }),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
    .encode_to_vec()
}

/// [`REQUESTS_PER_ROUND`] normal bodies, JSON or protobuf.
fn bodies(proto: bool) -> Vec<Vec<u8>> {
    (0..REQUESTS_PER_ROUND)
        .map(|r| {
            if proto {
                normal_proto(NORMAL_SPANS, r * NORMAL_SPANS)
            } else {
                normal_json(NORMAL_SPANS, r * NORMAL_SPANS)
            }
        })
        .collect()
}

/// Spans per second for one round: `set` sent to `url` by two clients at a time.
async fn round(http: &reqwest::Client, url: &str, proto: bool, set: &[Vec<u8>]) -> f64 {
    let content_type = if proto {
        "application/x-protobuf"
    } else {
        "application/json"
    };
    let started = Instant::now();
    let mut tasks = Vec::new();
    for half in set.chunks(REQUESTS_PER_ROUND / 2) {
        let (http, url, half) = (http.clone(), url.to_owned(), half.to_vec());
        tasks.push(tokio::spawn(async move {
            for body in half {
                assert_eq!(send(&http, &url, content_type, false, body).await, "200");
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    (REQUESTS_PER_ROUND * NORMAL_SPANS) as f64 / started.elapsed().as_secs_f64()
}

/// Best spans per second over `rounds`, for JSON and protobuf, two clients at a time.
async fn throughput(rounds: usize) -> (f64, f64) {
    let server = Server::start();
    let http = reqwest::Client::new();
    let (json, proto) = (bodies(false), bodies(true));
    let mut best = (0.0f64, 0.0f64);
    for _ in 0..rounds {
        best.0 = best.0.max(round(&http, &server.url, false, &json).await);
        best.1 = best.1.max(round(&http, &server.url, true, &proto).await);
    }
    best
}

/// This build ("after") against `other` (another build of this bench, "before"), both
/// serving at once, rounds alternated (the order swapped every round): median, min and max
/// spans per second of each, and the median of the per-round after/before ratios.
async fn compare(other: std::path::PathBuf, rounds: usize) {
    let after = Server::start();
    let before = Server::start_exe(other);
    let http = reqwest::Client::new();
    let (json, proto) = (bodies(false), bodies(true));
    // One warm-up round each.
    for server in [&before, &after] {
        round(&http, &server.url, false, &json).await;
        round(&http, &server.url, true, &proto).await;
    }
    let mut rates: [[Vec<f64>; 2]; 2] = Default::default(); // [format][before, after]
    for r in 0..rounds {
        for (f, (proto, set)) in [(false, &json), (true, &proto)].into_iter().enumerate() {
            let order = if r % 2 == 0 { [0, 1] } else { [1, 0] };
            for which in order {
                let url = if which == 0 { &before.url } else { &after.url };
                rates[f][which].push(round(&http, url, proto, set).await);
            }
        }
    }
    let median = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        let n = v.len();
        if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        }
    };
    let mut summary = serde_json::Map::new();
    for (f, name) in ["json", "protobuf"].into_iter().enumerate() {
        let ratios: Vec<f64> = rates[f][1]
            .iter()
            .zip(&rates[f][0])
            .map(|(a, b)| a / b)
            .collect();
        let stats = |v: &[f64]| {
            let min = v.iter().copied().fold(f64::INFINITY, f64::min);
            let max = v.iter().copied().fold(0.0, f64::max);
            serde_json::json!({"median": median(v), "min": min, "max": max, "rounds": v})
        };
        println!(
            "{name:<9} before median {:>9.0} (min {:>9.0}, max {:>9.0})  after median {:>9.0} (min {:>9.0}, max {:>9.0})  after/before: median {:.3}, min {:.3}, max {:.3}",
            median(&rates[f][0]),
            rates[f][0].iter().copied().fold(f64::INFINITY, f64::min),
            rates[f][0].iter().copied().fold(0.0, f64::max),
            median(&rates[f][1]),
            rates[f][1].iter().copied().fold(f64::INFINITY, f64::min),
            rates[f][1].iter().copied().fold(0.0, f64::max),
            median(&ratios),
            ratios.iter().copied().fold(f64::INFINITY, f64::min),
            ratios.iter().copied().fold(0.0, f64::max),
        );
        summary.insert(
            name.into(),
            serde_json::json!({
                "before": stats(&rates[f][0]),
                "after": stats(&rates[f][1]),
                "ratio": stats(&ratios),
            }),
        );
    }
    println!("{}", serde_json::Value::Object(summary));
}
