//! Token material is found by its shape, not by length alone: deputy's own id attributes
//! (a repository, a task, a user) that happen to be long mixed-case words are written, and
//! real-looking tokens (JWTs, GitHub, Slack, Linear and AWS key prefixes) are refused in any
//! attribute, ids included.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{fingerprint, line, resolve_span, set, span};
use deputy_audit::pipeline::{JsonLinesSink, run_lines};
use deputy_audit::{Pipeline, Rule};
use deputy_core::attr;
use serde_json::json;

/// Records and token-material findings for one span.
fn ingest(attrs: &[(String, serde_json::Value)]) -> (usize, Vec<deputy_audit::Finding>) {
    let mut sink = JsonLinesSink::new(Vec::new(), Vec::new());
    let mut pipeline = Pipeline::default();
    let input = line(vec![span(1, attr::SPAN_RESOLVE, attrs)]);
    run_lines(&mut pipeline, input.as_bytes(), &mut sink).unwrap();
    assert!(sink.errors.is_empty(), "{:?}", sink.errors);
    let findings = String::from_utf8(sink.findings)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (
        String::from_utf8(sink.records).unwrap().lines().count(),
        findings,
    )
}

#[test]
fn long_mixed_case_ids_are_written_not_refused() {
    let ids = [
        (attr::REPO, "AcmeCorp/Kubernetes-Cluster-Provisioning-V2"),
        (
            attr::REPO,
            "OctoOrg/Platform-Infrastructure-Terraform-Modules2",
        ),
        (
            attr::TASK_ID,
            "Task-2026-Deploy-Kubernetes-Cluster-Provisioning-V2",
        ),
        (
            attr::SESSION_ID,
            "Session-Kubernetes-Cluster-Provisioning-Run42",
        ),
        (
            attr::RULE_ID,
            "GithubInteractiveWriteForReleaseManagers2026",
        ),
        (
            attr::PROVIDER,
            "GithubOAuthProviderForAcmeCorpReleaseTeam01",
        ),
    ];
    for (key, value) in ids {
        let mut attrs = resolve_span("t-1", Some("dev+alice"), "read", &fingerprint(1));
        set(&mut attrs, key, json!({ "stringValue": value }));
        let (records, findings) = ingest(&attrs);
        assert_eq!(records, 1, "{key}={value}: {findings:?}");
        assert!(findings.is_empty(), "{key}={value}: {findings:?}");
    }
}

#[test]
fn real_looking_tokens_are_refused_in_any_attribute_ids_included() {
    let tokens = [
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl",
        "ghp_TestOnlyNotARealTokenAbCdEf0123456789",
        "github_pat_11TESTONLY0abcdefghijklmnopqrstuv",
        "xoxb-1234567890123-1234567890123-TestOnlyNotRealAbCdEfGh",
        "lin_api_TestOnlyNotARealKeyAbCdEfGh0123456789abcd",
        "AKIAIOSFODNN7EXAMPLE",
        "ASIAIOSFODNN7EXAMPLE",
    ];
    let keys = [
        attr::REPO,
        attr::TASK_ID,
        attr::SESSION_ID,
        attr::RULE_ID,
        attr::FALLBACK_REASON,
        "note",
    ];
    for token in tokens {
        for key in keys {
            let mut attrs = resolve_span("t-1", Some("dev+alice"), "read", &fingerprint(1));
            let value = if key == attr::REPO {
                format!("octo-org/{token}")
            } else {
                format!("x {token}")
            };
            set(&mut attrs, key, json!({ "stringValue": value }));
            let (records, findings) = ingest(&attrs);
            assert_eq!(records, 0, "{key} {token}");
            assert!(
                findings
                    .iter()
                    .any(|f| f.rule == Rule::TokenMaterial && f.attribute.as_deref() == Some(key)),
                "{key} {token}: {findings:?}"
            );
            let json = serde_json::to_string(&findings).unwrap();
            assert!(!json.contains(token), "{json}");
        }
    }
    // A long mixed base64 run outside deputy's id attributes is still refused.
    let mut attrs = resolve_span("t-1", Some("dev+alice"), "read", &fingerprint(1));
    set(
        &mut attrs,
        "note",
        json!({ "stringValue": "dGhpcyBpcyBhIHNlY3JldCB0b2tlbiB2YWx1ZSAxMjM0NQ==" }),
    );
    assert_eq!(ingest(&attrs).0, 0);
}
