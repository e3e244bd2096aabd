//! A gateway interceptor's `deputy.gateway.credential` spans (passthrough and Token Broker
//! credentials, which no resolver issued) become `abca.audit.v1` records like resolves do,
//! and the `deputy.gateway` span around them does not.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{fingerprint, line, set, span};
use deputy_audit::pipeline::{JsonLinesSink, run_lines};
use deputy_audit::{Pipeline, Rule};
use deputy_core::attr;
use deputy_core::audit::{AuditRecord, CredentialSource};
use serde_json::{Value, json};

/// A credential span as the interceptor records it.
fn credential(task: &str, user: Option<&str>, source: &str, fp: &str) -> Vec<(String, Value)> {
    let mut attrs = common::resolve_span(task, user, "read", fp);
    attrs.retain(|(k, _)| k != attr::PROVIDER && k != attr::CACHE && k != attr::REPO);
    let (flow, trigger) = match user {
        Some(_) => ("passthrough", "interactive"),
        None => ("m2m", "headless"),
    };
    set(&mut attrs, attr::SOURCE, json!({ "stringValue": source }));
    set(&mut attrs, attr::FLOW, json!({ "stringValue": flow }));
    set(&mut attrs, attr::TRIGGER, json!({ "stringValue": trigger }));
    set(
        &mut attrs,
        attr::INTEGRATION,
        json!({ "stringValue": "docs" }),
    );
    set(
        &mut attrs,
        attr::RULE_ID,
        json!({ "stringValue": "gateway:docs" }),
    );
    set(
        &mut attrs,
        attr::CONSENT,
        json!({ "stringValue": "not_required" }),
    );
    set(
        &mut attrs,
        attr::SESSION_ID,
        json!({ "stringValue": "sess-42" }),
    );
    let chain = match user {
        Some(u) => json!({ "user": u, "agent": "deputy-gateway" }),
        None => json!({ "agent": "deputy-gateway" }),
    };
    set(
        &mut attrs,
        attr::ACTOR_CHAIN_ASSERTED,
        json!({ "stringValue": chain.to_string() }),
    );
    attrs
}

#[test]
fn gateway_passthrough_and_broker_credentials_become_records() {
    let gateway = vec![
        (attr::TASK_ID.to_owned(), json!({ "stringValue": "gw-1" })),
        (
            attr::TOKEN_FINGERPRINT.to_owned(),
            json!({ "stringValue": fingerprint(1) }),
        ),
    ];
    let input = line(vec![
        span(1, attr::SPAN_GATEWAY, &gateway),
        span(
            2,
            attr::SPAN_GATEWAY_CREDENTIAL,
            &credential(
                "gw-1",
                Some("okta+alice"),
                "gateway-passthrough",
                &fingerprint(1),
            ),
        ),
        span(
            3,
            attr::SPAN_GATEWAY_CREDENTIAL,
            &credential("gw-2", None, "token-broker", &fingerprint(2)),
        ),
    ]);
    let mut sink = JsonLinesSink::new(Vec::new(), Vec::new());
    let mut pipeline = Pipeline::default();
    run_lines(&mut pipeline, input.as_bytes(), &mut sink).unwrap();
    assert!(sink.errors.is_empty(), "{:?}", sink.errors);
    let records: Vec<AuditRecord> = String::from_utf8(sink.records)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        records.len(),
        2,
        "one record per credential span: {records:#?}"
    );
    let (passthrough, broker) = (&records[0], &records[1]);
    assert_eq!(passthrough.schema, "abca.audit.v1");
    assert_eq!(
        (passthrough.source, broker.source),
        (
            Some(CredentialSource::GatewayPassthrough),
            Some(CredentialSource::TokenBroker)
        )
    );
    assert_eq!(
        passthrough.correlation.user_id.as_ref().map(|u| u.as_str()),
        Some("okta+alice")
    );
    assert_eq!(
        passthrough.correlation.session_id.as_deref(),
        Some("sess-42")
    );
    assert_eq!(
        passthrough.token_fingerprint.as_ref().map(|f| f.as_str()),
        Some(fingerprint(1).as_str())
    );
    assert_eq!(
        (passthrough.flow.as_deref(), broker.flow.as_deref()),
        (Some("passthrough"), Some("m2m"))
    );
    assert!(broker.correlation.user_id.is_none());
    assert_eq!(pipeline.stats().resolves, 2);
    // Reads by a service token carry no finding; one service token serving two tasks is the
    // broker's cache at work, but one user's passthrough token for another user is wrong.
    let findings = String::from_utf8(sink.findings).unwrap();
    assert!(findings.is_empty(), "{findings}");
    let mut pipeline = Pipeline::default();
    let reused = line(vec![
        span(
            4,
            attr::SPAN_GATEWAY_CREDENTIAL,
            &credential("gw-3", None, "token-broker", &fingerprint(3)),
        ),
        span(
            5,
            attr::SPAN_GATEWAY_CREDENTIAL,
            &credential("gw-4", None, "token-broker", &fingerprint(3)),
        ),
        span(
            6,
            attr::SPAN_GATEWAY_CREDENTIAL,
            &credential(
                "gw-5",
                Some("dev+alice"),
                "gateway-passthrough",
                &fingerprint(4),
            ),
        ),
        span(
            7,
            attr::SPAN_GATEWAY_CREDENTIAL,
            &credential(
                "gw-6",
                Some("dev+bob"),
                "gateway-passthrough",
                &fingerprint(4),
            ),
        ),
    ]);
    let batch = pipeline.json_line(1, &reused);
    assert_eq!(batch.records.len(), 4);
    assert_eq!(
        batch.findings.iter().map(|f| f.rule).collect::<Vec<_>>(),
        [Rule::FingerprintShared]
    );
}
