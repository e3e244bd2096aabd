//! The pipeline turns resolve spans into records, reports every invariant with the record and
//! the rule, refuses token material, and survives malformed input line by line.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{fingerprint, line, resolve_span, set, span};
use deputy_audit::pipeline::{IngestError, JsonLinesSink, run_lines};
use deputy_audit::{Finding, Pipeline, Rule};
use deputy_core::attr;
use deputy_core::audit::{AuditRecord, CredentialSource, SecretShape};
use serde_json::json;

struct Output {
    records: Vec<AuditRecord>,
    findings: Vec<Finding>,
    errors: Vec<IngestError>,
    stats: deputy_audit::Stats,
    raw_records: String,
}

fn ingest(input: &str) -> Output {
    let mut sink = JsonLinesSink::new(Vec::new(), Vec::new());
    let mut pipeline = Pipeline::default();
    run_lines(&mut pipeline, input.as_bytes(), &mut sink).unwrap();
    let raw_records = String::from_utf8(sink.records).unwrap();
    Output {
        records: raw_records
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect(),
        findings: String::from_utf8(sink.findings)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect(),
        errors: sink.errors,
        stats: pipeline.stats().clone(),
        raw_records,
    }
}

#[test]
fn a_clean_resolve_becomes_one_record_joined_to_its_trace() {
    let attrs = resolve_span("t-1", Some("dev+alice"), "write", &fingerprint(1));
    let vault_call = vec![(
        attr::VAULT_OPERATION.to_owned(),
        json!({ "stringValue": "GetResourceOauth2Token" }),
    )];
    let out = ingest(&line(vec![
        span(7, attr::SPAN_RESOLVE, &attrs),
        span(8, attr::SPAN_VAULT_CALL, &vault_call),
    ]));
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert!(out.findings.is_empty(), "{:?}", out.findings);
    let [record] = &out.records[..] else {
        panic!("{:?}", out.records)
    };
    assert_eq!(record.schema, "abca.audit.v1");
    assert_eq!(
        record.correlation.trace_id.as_ref().unwrap().as_str(),
        format!("{:032x}", 7)
    );
    assert_eq!(
        record.correlation.user_id.as_ref().unwrap().as_str(),
        "dev+alice"
    );
    assert_eq!(
        record.correlation.repo.as_ref().unwrap().as_str(),
        "octo-org/infra"
    );
    assert_eq!(record.flow.as_deref(), Some("user_federation"));
    assert_eq!(record.source, Some(CredentialSource::Vault));
    assert_eq!(
        record.token_fingerprint.as_ref().unwrap().as_str(),
        fingerprint(1)
    );
    assert_eq!(record.expires_at, Some(1_795_003_600));
    assert_eq!(record.resolved_at_ms, 1_795_000_000_123);
    assert_eq!(
        record.asserted_chain.as_ref().unwrap().agent,
        "deputy-agent"
    );
    assert_eq!(
        (out.stats.spans, out.stats.resolves, out.stats.records),
        (2, 1, 1)
    );
}

#[test]
fn each_invariant_is_reported_with_its_record_and_rule() {
    // 1: a write with no user at the root of the chain, from a flow that acts for no user.
    let mut headless_write = resolve_span("t-headless", None, "write", &fingerprint(1));
    set(
        &mut headless_write,
        attr::FLOW,
        json!({ "stringValue": "m2m" }),
    );
    // 2: the Secrets Manager fallback served a read.
    let mut fallback = resolve_span("t-fallback", Some("dev+bob"), "read", &fingerprint(2));
    set(
        &mut fallback,
        attr::SOURCE,
        json!({ "stringValue": "secrets-manager-fallback" }),
    );
    set(
        &mut fallback,
        attr::FALLBACK_REASON,
        json!({ "stringValue": "vault unavailable: 503" }),
    );
    // 3: the token's act chain names another agent than earlier tokens for the same agent
    // and provider did (no actor declared: the first one seen, `aws-native`, is the actor).
    let mut first_actor = resolve_span("t-obo-0", Some("dev+carol"), "read", &fingerprint(5));
    let observed = json!({ "subject": { "sub": "carol" }, "actors": [{ "sub": "aws-native" }] });
    set(
        &mut first_actor,
        attr::ACTOR_CHAIN_OBSERVED,
        json!({ "stringValue": observed.to_string() }),
    );
    let mut disagreeing = resolve_span("t-obo", Some("dev+carol"), "read", &fingerprint(3));
    let observed = json!({ "subject": { "sub": "carol" }, "actors": [{ "sub": "rogue-agent" }] });
    set(
        &mut disagreeing,
        attr::ACTOR_CHAIN_OBSERVED,
        json!({ "stringValue": observed.to_string() }),
    );
    // An agreeing OBO token is fine.
    let mut agreeing = resolve_span("t-obo-ok", Some("dev+carol"), "read", &fingerprint(4));
    let observed = json!({ "subject": { "sub": "carol" }, "actors": [{ "sub": "deputy-agent" }] });
    set(
        &mut agreeing,
        attr::ACTOR_CHAIN_OBSERVED,
        json!({ "stringValue": observed.to_string() }),
    );
    // 4: the same token for another task and user; the same task reusing it is fine.
    let reused_same_task = resolve_span("t-fallback", Some("dev+bob"), "read", &fingerprint(2));
    let shared = resolve_span("t-other", Some("dev+dave"), "read", &fingerprint(2));

    let input = [
        line(vec![
            span(1, attr::SPAN_RESOLVE, &headless_write),
            span(2, attr::SPAN_RESOLVE, &fallback),
        ]),
        line(vec![
            span(9, attr::SPAN_RESOLVE, &first_actor),
            span(3, attr::SPAN_RESOLVE, &disagreeing),
            span(4, attr::SPAN_RESOLVE, &agreeing),
        ]),
        line(vec![
            span(5, attr::SPAN_RESOLVE, &reused_same_task),
            span(6, attr::SPAN_RESOLVE, &shared),
        ]),
    ]
    .join("\n");
    let out = ingest(&input);
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert_eq!(out.records.len(), 7, "every record is still written");
    let by_rule =
        |rule: Rule| -> Vec<&Finding> { out.findings.iter().filter(|f| f.rule == rule).collect() };

    let [write] = &by_rule(Rule::WriteWithoutUser)[..] else {
        panic!("{:?}", out.findings)
    };
    assert_eq!(write.task_id(), Some("t-headless"));
    assert!(
        write.message.contains("no user at the root"),
        "{}",
        write.message
    );

    let [fallback] = &by_rule(Rule::SecretsManagerFallback)[..] else {
        panic!("{:?}", out.findings)
    };
    assert_eq!(fallback.task_id(), Some("t-fallback"));
    assert!(fallback.message.contains("vault unavailable: 503"));

    let [chain] = &by_rule(Rule::ChainDisagreement)[..] else {
        panic!("{:?}", out.findings)
    };
    assert_eq!(chain.task_id(), Some("t-obo"));
    assert!(
        chain.message.contains("rogue-agent") && chain.message.contains("aws-native"),
        "{}",
        chain.message
    );

    let [shared] = &by_rule(Rule::FingerprintShared)[..] else {
        panic!("{:?}", out.findings)
    };
    assert_eq!(shared.task_id(), Some("t-other"));
    assert!(
        shared.message.contains("t-fallback") && shared.message.contains("dev+dave"),
        "{}",
        shared.message
    );
    assert_eq!(out.findings.len(), 4);
    assert_eq!(out.stats.findings.values().sum::<u64>(), 4);
}

#[test]
fn token_material_is_refused_reported_and_never_written() {
    let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlc2lnbmF0dXJl";
    let ghs = format!("ghs_{}", "aB3".repeat(12));
    let mut in_reason = resolve_span("t-leak-1", Some("dev+alice"), "read", &fingerprint(1));
    set(
        &mut in_reason,
        attr::FALLBACK_REASON,
        json!({ "stringValue": format!("upstream said Bearer {jwt}") }),
    );
    let mut in_array = resolve_span("t-leak-2", Some("dev+alice"), "read", &fingerprint(2));
    set(
        &mut in_array,
        "http.request.header.authorization",
        json!({ "arrayValue": { "values": [{ "stringValue": ghs }] } }),
    );
    let mut long_b64 = resolve_span("t-leak-3", Some("dev+alice"), "read", &fingerprint(3));
    set(
        &mut long_b64,
        "note",
        json!({ "stringValue": "dGhpcyBpcyBhIHNlY3JldCB0b2tlbiB2YWx1ZSAxMjM0NQ==" }),
    );
    let clean = resolve_span("t-clean", Some("dev+alice"), "read", &fingerprint(4));
    let leaky_vault_call = vec![(
        attr::VAULT_REQUEST_ID.to_owned(),
        json!({ "stringValue": ghs }),
    )];
    let input = [
        line(vec![
            span(1, attr::SPAN_RESOLVE, &in_reason),
            span(2, attr::SPAN_RESOLVE, &in_array),
        ]),
        line(vec![
            span(3, attr::SPAN_RESOLVE, &long_b64),
            span(4, attr::SPAN_RESOLVE, &clean),
            span(5, attr::SPAN_VAULT_CALL, &leaky_vault_call),
        ]),
    ]
    .join("\n");
    let out = ingest(&input);
    assert_eq!(out.records.len(), 1);
    assert_eq!(out.records[0].correlation.task_id.as_str(), "t-clean");
    let material: Vec<(Option<&str>, Option<SecretShape>, Option<u64>)> = out
        .findings
        .iter()
        .map(|f| {
            assert_eq!(f.rule, Rule::TokenMaterial);
            assert!(f.record.is_none());
            (
                f.attribute.as_deref(),
                f.shape,
                f.span.as_ref().and_then(|s| s.line),
            )
        })
        .collect();
    assert_eq!(
        material,
        [
            (Some(attr::FALLBACK_REASON), Some(SecretShape::Jwt), Some(1)),
            (
                Some("http.request.header.authorization"),
                Some(SecretShape::GithubToken),
                Some(1)
            ),
            (Some("note"), Some(SecretShape::LongBase64), Some(2)),
            (
                Some(attr::VAULT_REQUEST_ID),
                Some(SecretShape::GithubToken),
                Some(2)
            ),
        ]
    );
    assert_eq!(out.stats.refused, 3);
    let findings_text = serde_json::to_string(&out.findings).unwrap();
    for secret in [jwt, ghs.as_str(), "dGhpcyBpcyBh"] {
        assert!(
            !findings_text.contains(secret),
            "a finding repeats the secret"
        );
        assert!(
            !out.raw_records.contains(secret),
            "a record carries the secret"
        );
    }
}

#[test]
fn malformed_lines_get_their_line_number_and_valid_lines_are_kept() {
    let good = |task: &str, n: u32| {
        line(vec![span(
            n,
            attr::SPAN_RESOLVE,
            &resolve_span(task, Some("dev+alice"), "read", &fingerprint(n)),
        )])
    };
    let full = good("t-truncated", 2);
    let truncated = &full[..full.len() / 2];
    let wrong_type = r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"deputy.resolve","attributes":{"key":"task_id"}}]}]}]}"#;
    let wrong_time = r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"deputy.resolve","endTimeUnixNano":true}]}]}]}"#;
    let mut huge = resolve_span("t-huge", Some("dev+alice"), "read", &fingerprint(5));
    set(
        &mut huge,
        "blob",
        json!({ "stringValue": "x ".repeat(20_000) }),
    );
    let mut bad_value = resolve_span("t-bad-op", Some("dev+alice"), "read", &fingerprint(6));
    set(
        &mut bad_value,
        attr::OPERATION,
        json!({ "stringValue": "delete" }),
    );
    let mut missing = resolve_span("t-missing", Some("dev+alice"), "read", &fingerprint(7));
    missing.retain(|(k, _)| k != attr::RULE_ID);
    let huge_and_good = line(vec![
        span(5, attr::SPAN_RESOLVE, &huge),
        span(6, attr::SPAN_RESOLVE, &bad_value),
        span(7, attr::SPAN_RESOLVE, &missing),
        span(
            8,
            attr::SPAN_RESOLVE,
            &resolve_span("t-next-to-bad", Some("dev+alice"), "read", &fingerprint(8)),
        ),
    ]);
    let mut input = [
        good("t-first", 1),
        truncated.to_owned(),
        wrong_type.to_owned(),
        String::new(),
        wrong_time.to_owned(),
        huge_and_good,
        good("t-last", 9),
    ]
    .join("\n")
    .into_bytes();
    input.extend_from_slice(b"\n\xff\xfe not utf-8\n");
    input.extend_from_slice(good("t-after-binary", 10).as_bytes());

    let mut sink = JsonLinesSink::new(Vec::new(), Vec::new());
    let mut pipeline = Pipeline::default();
    run_lines(&mut pipeline, &input[..], &mut sink).unwrap();
    let tasks: Vec<String> = String::from_utf8(sink.records)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<AuditRecord>(l)
                .unwrap()
                .correlation
                .task_id
                .as_str()
                .to_owned()
        })
        .collect();
    assert_eq!(
        tasks,
        ["t-first", "t-next-to-bad", "t-last", "t-after-binary"]
    );
    let messages: Vec<String> = sink.errors.iter().map(ToString::to_string).collect();
    assert_eq!(messages.len(), 7, "{messages:#?}");
    assert!(
        messages[0].starts_with("line 2, column ") && messages[0].contains("EOF while parsing"),
        "{}",
        messages[0]
    );
    assert!(
        messages[1].starts_with("line 3, column ")
            && messages[1].contains("invalid type: map, expected a sequence"),
        "{}",
        messages[1]
    );
    assert!(
        messages[2].starts_with("line 5, column ")
            && messages[2].contains("invalid type: boolean `true`"),
        "{}",
        messages[2]
    );
    assert!(
        messages[3].starts_with("line 6: span ")
            && messages[3].contains("attribute `blob` is 40004 bytes, over the 16384-byte limit"),
        "{}",
        messages[3]
    );
    assert!(
        messages[4].starts_with("line 6: span ")
            && messages[4].contains("`deputy.operation` is invalid"),
        "{}",
        messages[4]
    );
    assert!(
        !messages[4].contains("delete") || messages[4].contains("invalid operation"),
        "{}",
        messages[4]
    );
    assert!(
        messages[5].starts_with("line 6: span ")
            && messages[5].contains("lacks the string attribute `deputy.rule_id`"),
        "{}",
        messages[5]
    );
    assert!(
        messages[6].starts_with("line 8: not UTF-8"),
        "{}",
        messages[6]
    );
    assert_eq!(pipeline.stats().lines, 9);
    assert_eq!(pipeline.stats().errors, 7);
}
