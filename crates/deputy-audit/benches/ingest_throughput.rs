//! Records per second from an OTLP/JSON file of 1 M spans (half `deputy.resolve`, half
//! `deputy.vault_call`, 1,000 spans per line as a collector's file exporter batches them),
//! against the speed at which `serde_json` merely parses the same file.
//!
//! Run: `cargo bench -p deputy-audit --bench ingest_throughput`
//! (`DEPUTY_AUDIT_BENCH_SPANS=100000` for a smaller file). The file is generated in the
//! temporary directory and removed afterwards. `DEPUTY_AUDIT_BENCH_ONLY=pipeline` skips the
//! baselines (for profiling).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::time::{Duration, Instant};

use deputy_audit::pipeline::{JsonLinesSink, run_lines};
use deputy_core::attr;

const SPANS_PER_LINE: usize = 1_000;
const ROUNDS: usize = 3;

fn main() {
    let spans: usize = std::env::var("DEPUTY_AUDIT_BENCH_SPANS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let path =
        std::env::temp_dir().join(format!("deputy-audit-bench-{}.jsonl", std::process::id()));
    generate(&path, spans);
    let bytes = std::fs::metadata(&path).unwrap().len();
    println!(
        "input: {spans} spans, {} lines, {:.1} MB",
        spans.div_ceil(SPANS_PER_LINE),
        bytes as f64 / 1e6
    );

    let only_pipeline = std::env::var("DEPUTY_AUDIT_BENCH_ONLY").is_ok_and(|v| v == "pipeline");
    let (ignored, value) = if only_pipeline {
        (Duration::ZERO, Duration::ZERO)
    } else {
        (
            best(|| parse_only::<serde::de::IgnoredAny>(&path)),
            best(|| parse_only::<serde_json::Value>(&path)),
        )
    };
    let mut records = 0;
    let pipeline = best(|| {
        let mut sink = JsonLinesSink::new(std::io::sink(), std::io::sink());
        let mut p = deputy_audit::Pipeline::default();
        run_lines(
            &mut p,
            BufReader::new(File::open(&path).unwrap()),
            &mut sink,
        )
        .unwrap();
        assert!(sink.errors.is_empty(), "{:?}", sink.errors.first());
        records = p.stats().records;
    });
    std::fs::remove_file(&path).unwrap();

    let rate = |d: Duration| spans as f64 / d.as_secs_f64();
    println!(
        "serde_json parse (IgnoredAny):   {:>10.0} spans/s  ({:.3} s)",
        rate(ignored),
        ignored.as_secs_f64()
    );
    println!(
        "serde_json parse (Value):        {:>10.0} spans/s  ({:.3} s)",
        rate(value),
        value.as_secs_f64()
    );
    println!(
        "deputy-audit pipeline:           {:>10.0} spans/s  ({:.3} s)",
        rate(pipeline),
        pipeline.as_secs_f64()
    );
    println!(
        "deputy-audit records:            {:>10.0} records/s ({records} records)",
        records as f64 / pipeline.as_secs_f64()
    );
    println!(
        "pipeline vs IgnoredAny parse:    {:>9.0}%",
        100.0 * ignored.as_secs_f64() / pipeline.as_secs_f64()
    );
    println!(
        "pipeline vs Value parse:         {:>9.0}%",
        100.0 * value.as_secs_f64() / pipeline.as_secs_f64()
    );
}

/// The fastest of [`ROUNDS`] runs.
fn best(mut f: impl FnMut()) -> Duration {
    (0..ROUNDS)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .min()
        .unwrap()
}

fn parse_only<T: serde::de::DeserializeOwned>(path: &std::path::Path) {
    let mut reader = BufReader::new(File::open(path).unwrap());
    let mut line = String::new();
    while reader.read_line(&mut line).unwrap() > 0 {
        std::hint::black_box(serde_json::from_str::<T>(&line).unwrap());
        line.clear();
    }
}

fn generate(path: &std::path::Path, spans: usize) {
    let mut out = BufWriter::new(File::create(path).unwrap());
    let mut written = 0;
    while written < spans {
        let n = SPANS_PER_LINE.min(spans - written);
        let mut line = String::from(
            r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"deputy"}}]},"scopeSpans":[{"scope":{"name":"deputy"},"spans":["#,
        );
        for i in 0..n {
            if i > 0 {
                line.push(',');
            }
            line.push_str(&span(written + i));
        }
        line.push_str("]}]}]}\n");
        out.write_all(line.as_bytes()).unwrap();
        written += n;
    }
    out.flush().unwrap();
}

fn span(i: usize) -> String {
    let trace = format!("{:032x}", 0x4bf9_2f35_77b3_4da6_u128 + (i / 2) as u128);
    let span_id = format!("{:016x}", i + 1);
    let kv = |k: &str, v: &str| format!(r#"{{"key":"{k}","value":{{"stringValue":"{v}"}}}}"#);
    let end = 1_795_000_000_000_000_000u64 + i as u64;
    if i % 2 == 1 {
        let attrs = [
            kv(attr::VAULT_OPERATION, "GetResourceOauth2Token"),
            kv(attr::VAULT_REQUEST_ID, &format!("req-{i}")),
        ];
        return format!(
            r#"{{"traceId":"{trace}","spanId":"{span_id}","parentSpanId":"{:016x}","name":"{}","kind":1,"startTimeUnixNano":"{end}","endTimeUnixNano":"{end}","attributes":[{}],"status":{{}}}}"#,
            i,
            attr::SPAN_VAULT_CALL,
            attrs.join(",")
        );
    }
    let user = format!("dev+user{}", i % 97);
    let asserted = format!(
        r#"{{\"user\":\"{user}\",\"orchestrator\":\"orchestrator\",\"agent\":\"deputy-agent\"}}"#
    );
    let observed = format!(
        r#"{{\"subject\":{{\"sub\":\"user{}\"}},\"actors\":[{{\"sub\":\"deputy-agent\"}}]}}"#,
        i % 97
    );
    let fingerprint = format!("sha256:{:032x}", i as u128 * 7919);
    let attrs = [
        kv(attr::TASK_ID, &format!("task-{}", i / 2)),
        kv(attr::USER_ID, &user),
        kv(attr::REPO, "octo-org/infra"),
        kv(attr::INTEGRATION, "github"),
        kv(attr::OPERATION, "write"),
        kv(attr::TRIGGER, "interactive"),
        kv(attr::FLOW, "on_behalf_of"),
        kv(attr::RULE_ID, "github-interactive-write"),
        kv(attr::PROVIDER, "github-obo"),
        kv(attr::SOURCE, "vault"),
        kv(attr::CACHE, "miss"),
        kv(attr::TOKEN_FINGERPRINT, &fingerprint),
        format!(
            r#"{{"key":"{}","value":{{"intValue":"{}"}}}}"#,
            attr::TOKEN_EXPIRES_AT,
            1_795_003_600 + i
        ),
        kv(attr::CONSENT, "granted"),
        kv(attr::ACTOR_CHAIN_ASSERTED, &asserted),
        kv(attr::ACTOR_CHAIN_OBSERVED, &observed),
    ];
    format!(
        r#"{{"traceId":"{trace}","spanId":"{span_id}","parentSpanId":"","name":"{}","kind":1,"startTimeUnixNano":"{end}","endTimeUnixNano":"{end}","attributes":[{}],"status":{{}}}}"#,
        attr::SPAN_RESOLVE,
        attrs.join(",")
    )
}
