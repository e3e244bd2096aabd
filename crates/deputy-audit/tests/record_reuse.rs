//! The pipeline builds records in the allocations of records already written and clones user
//! ids and chains parsed recently; none of that may change a record. Every record the pipeline
//! writes equals the one `record::resolution` builds afresh from the same span.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{fingerprint, line, resolve_span, set, span};
use deputy_audit::otlp_json;
use deputy_audit::pipeline::{JsonLinesSink, run_lines};
use deputy_audit::record::{Resolution, resolution};
use deputy_core::attr;
use deputy_core::audit::AuditRecord;
use serde_json::json;

/// Spans whose records differ in every part the pipeline reuses or caches: users (some
/// repeated, some absent), chains with and without orchestrator and workload, observed
/// delegations with and without issuers and actors, providers, repos and session ids.
fn spans(n: u32) -> Vec<serde_json::Value> {
    (0..n)
        .map(|i| {
            let user = (i % 5 != 0).then(|| format!("okta+user{}", i % 7));
            let mut attrs = resolve_span(
                &format!("t-{i}"),
                user.as_deref(),
                if i % 2 == 0 { "read" } else { "write" },
                &fingerprint(i),
            );
            let mut chain = json!({ "agent": format!("agent-{}", i % 3) });
            if let Some(u) = &user {
                chain["user"] = json!(u);
            }
            if i % 4 != 0 {
                chain["orchestrator"] = json!(format!("orch-{}", i % 4));
            }
            if i % 6 == 0 {
                chain["workload"] = json!("deputy-agent");
            }
            set(
                &mut attrs,
                attr::ACTOR_CHAIN_ASSERTED,
                json!({ "stringValue": chain.to_string() }),
            );
            if i % 3 != 0 {
                let actors: Vec<_> = (0..i % 3)
                    .map(|d| json!({ "sub": format!("agent-{d}") }))
                    .collect();
                let mut subject = json!({ "sub": format!("user{}", i % 7) });
                if i % 2 == 0 {
                    subject["iss"] = json!("https://okta.example");
                }
                let observed = json!({ "subject": subject, "actors": actors });
                set(
                    &mut attrs,
                    attr::ACTOR_CHAIN_OBSERVED,
                    json!({ "stringValue": observed.to_string() }),
                );
            }
            if i % 5 == 1 {
                set(&mut attrs, attr::PROVIDER, json!({ "stringValue": "p\"q" }));
                set(
                    &mut attrs,
                    attr::SESSION_ID,
                    json!({ "stringValue": "s-1" }),
                );
            }
            if i % 3 == 2 {
                set(
                    &mut attrs,
                    attr::REPO,
                    json!({ "stringValue": "other/repo" }),
                );
            }
            span(i + 1, attr::SPAN_RESOLVE, &attrs)
        })
        .collect()
}

#[test]
fn reused_and_cached_parts_never_change_a_record() {
    let all = spans(600);
    let lines: Vec<String> = all.chunks(70).map(|chunk| line(chunk.to_vec())).collect();
    let input = lines.join("\n") + "\n";

    let mut sink = JsonLinesSink::new(Vec::new(), Vec::new());
    let mut pipeline = deputy_audit::Pipeline::default();
    run_lines(&mut pipeline, input.as_bytes(), &mut sink).unwrap();
    assert!(sink.errors.is_empty(), "{:?}", sink.errors.first());
    let written: Vec<AuditRecord> = String::from_utf8(sink.records)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();

    let mut fresh = Vec::new();
    for text in &lines {
        for span in otlp_json::decode(text).unwrap() {
            if let Ok(Resolution::Issued(record)) = resolution(&span) {
                fresh.push(*record);
            }
        }
    }
    assert_eq!(written.len(), 600);
    assert_eq!(written, fresh);
}
