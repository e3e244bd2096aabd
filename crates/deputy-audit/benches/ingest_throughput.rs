//! Records per second from an OTLP/JSON file of 1 M spans (half `deputy.resolve`, half
//! `deputy.vault_call`, 1,000 spans per line as a collector's file exporter batches them),
//! against the speed at which `serde_json` merely parses the same file.
//!
//! Run: `cargo bench -p deputy-audit --bench ingest_throughput`
//! (`DEPUTY_AUDIT_BENCH_SPANS=100000` for a smaller file). One process generates the file in
//! the temporary directory, then times each contender on that same file, alternating them
//! round by round so a busy machine slows all of them alike, and keeps each one's best round,
//! both in wall time and in time on a CPU (which other processes on a shared machine do not
//! inflate). It prints a table and one JSON object (also written to
//! `target/tmp/ingest_throughput.json`) with the ratios the goal is about. The file is removed
//! afterwards. `DEPUTY_AUDIT_BENCH_ONLY=pipeline` (or `ignored`, `decode`) times one contender
//! alone, for profiling.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use deputy_audit::pipeline::{JsonLinesSink, run_lines};
use deputy_core::attr;

const SPANS_PER_LINE: usize = 1_000;
const ROUNDS: usize = 3;

/// What is timed on the file.
#[derive(Clone, Copy, PartialEq)]
enum Contender {
    /// `serde_json` into `IgnoredAny`: parse and discard, the floor.
    Ignored,
    /// `serde_json` into `serde_json::Value`: parse into a document.
    Value,
    /// The pipeline's OTLP/JSON decoding alone (where the pipeline's time goes).
    Decode,
    /// The whole audit pipeline.
    Pipeline,
}

impl Contender {
    fn name(self) -> &'static str {
        match self {
            Contender::Ignored => "serde_json_ignored_any",
            Contender::Value => "serde_json_value",
            Contender::Decode => "deputy_audit_decode_only",
            Contender::Pipeline => "deputy_audit_pipeline",
        }
    }
}

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

    let contenders: Vec<Contender> = match std::env::var("DEPUTY_AUDIT_BENCH_ONLY").as_deref() {
        Ok("pipeline") => vec![Contender::Pipeline],
        Ok("ignored") => vec![Contender::Ignored],
        Ok("decode") => vec![Contender::Decode],
        _ => vec![
            Contender::Ignored,
            Contender::Value,
            Contender::Decode,
            Contender::Pipeline,
        ],
    };
    let mut best = vec![(Duration::MAX, Duration::MAX); contenders.len()];
    let mut records = 0;
    for _ in 0..ROUNDS {
        for (i, contender) in contenders.iter().enumerate() {
            let (start, cpu_start) = (Instant::now(), on_cpu());
            match contender {
                Contender::Ignored => parse_only::<serde::de::IgnoredAny>(&path),
                Contender::Value => parse_only::<serde_json::Value>(&path),
                Contender::Decode => decode_only(&path),
                Contender::Pipeline => records = pipeline(&path),
            }
            let wall = start.elapsed();
            let cpu = on_cpu().saturating_sub(cpu_start);
            best[i] = (best[i].0.min(wall), best[i].1.min(cpu));
        }
    }
    std::fs::remove_file(&path).unwrap();

    let rate = |d: Duration| spans as f64 / d.as_secs_f64();
    let time = |c: Contender| contenders.iter().position(|x| *x == c).map(|i| best[i]);
    println!(
        "{:<24} {:>12} {:>9} {:>12}",
        "", "spans/s", "wall s", "on-CPU s"
    );
    for (contender, (wall, cpu)) in contenders.iter().zip(&best) {
        println!(
            "{:<24} {:>12.0} {:>9.3} {:>12.3}",
            contender.name(),
            rate(*wall),
            wall.as_secs_f64(),
            cpu.as_secs_f64()
        );
    }
    let mut report = serde_json::json!({
        "bench": "ingest_throughput",
        "spans": spans,
        "bytes": bytes,
        "rounds": ROUNDS,
    });
    for (contender, (wall, cpu)) in contenders.iter().zip(&best) {
        report[contender.name()] = serde_json::json!({
            "wall_seconds": wall.as_secs_f64(),
            "on_cpu_seconds": cpu.as_secs_f64(),
            "spans_per_second": rate(*wall).round(),
        });
    }
    let ratio =
        |a: Duration, b: Duration| ((a.as_secs_f64() / b.as_secs_f64()) * 1000.0).round() / 1000.0;
    if let Some((wall, cpu)) = time(Contender::Pipeline) {
        report["records"] = records.into();
        report["records_per_second"] = (records as f64 / wall.as_secs_f64()).round().into();
        println!(
            "records: {records}, {:.0} records/s",
            records as f64 / wall.as_secs_f64()
        );
        // The goal: the pipeline at >= 50 % of the speed of parse-and-discard.
        for (baseline, key) in [
            (Contender::Ignored, "pipeline_vs_ignored_any"),
            (Contender::Value, "pipeline_vs_value"),
        ] {
            if let Some((base_wall, base_cpu)) = time(baseline) {
                let (by_wall, by_cpu) = (ratio(base_wall, wall), ratio(base_cpu, cpu));
                report[key] = serde_json::json!({ "wall": by_wall, "on_cpu": by_cpu });
                println!(
                    "pipeline speed / {} speed: {:.0} % (wall), {:.0} % (on-CPU)",
                    baseline.name(),
                    100.0 * by_wall,
                    100.0 * by_cpu
                );
            }
        }
        if let Some((base_wall, base_cpu)) = time(Contender::Ignored) {
            report["goal_met"] =
                (ratio(base_wall, wall) >= 0.5 && ratio(base_cpu, cpu) >= 0.5).into();
        }
    }
    let json = report.to_string();
    println!("{json}");
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ingest_throughput.json");
    std::fs::write(&out, json + "\n").unwrap();
    println!("written to {}", out.display());
}

/// Runs the whole pipeline over the file (records and findings serialised into `io::sink`, so
/// disk speed is not measured); returns the records written.
fn pipeline(path: &Path) -> u64 {
    let mut sink = JsonLinesSink::new(std::io::sink(), std::io::sink());
    let mut p = deputy_audit::Pipeline::default();
    run_lines(&mut p, BufReader::new(File::open(path).unwrap()), &mut sink).unwrap();
    assert!(sink.errors.is_empty(), "{:?}", sink.errors.first());
    assert_eq!(
        p.stats().findings.values().sum::<u64>(),
        0,
        "{:?}",
        p.stats()
    );
    p.stats().records
}

/// Time this thread has spent on a CPU (Linux `schedstat`, nanoseconds): unlike wall time,
/// it does not grow while other processes hold the cores. Zero where unavailable.
fn on_cpu() -> Duration {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .map_or(Duration::ZERO, Duration::from_nanos)
}

fn decode_only(path: &Path) {
    let mut reader = BufReader::new(File::open(path).unwrap());
    let mut line = String::new();
    while reader.read_line(&mut line).unwrap() > 0 {
        // As the pipeline decodes: the fast scanner, serde_json when it gives up.
        let on_span = |span: &deputy_audit::span::Span<'_>| {
            std::hint::black_box(span);
        };
        if deputy_audit::otlp_json::scan_each(&line, on_span).is_err() {
            deputy_audit::otlp_json::decode_each(&line, on_span).unwrap();
        }
        line.clear();
    }
}

fn parse_only<T: serde::de::DeserializeOwned>(path: &Path) {
    let mut reader = BufReader::new(File::open(path).unwrap());
    let mut line = String::new();
    while reader.read_line(&mut line).unwrap() > 0 {
        std::hint::black_box(serde_json::from_str::<T>(&line).unwrap());
        line.clear();
    }
}

fn generate(path: &Path, spans: usize) {
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
