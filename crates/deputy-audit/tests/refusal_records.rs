//! Refused resolves are records too (#20 item 6): a denied, a consent-pending and a failed
//! resolve each become one `abca.audit.v1` record with its outcome and error kind, so an
//! auditor sees what was refused, and none of them is an invariant finding.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{line, set, span};
use deputy_audit::Pipeline;
use deputy_audit::pipeline::{JsonLinesSink, run_lines};
use deputy_core::Operation;
use deputy_core::attr;
use deputy_core::audit::{ConsentOutcome, Outcome};
use serde_json::{Value, json};

/// A refused `deputy.resolve` span as the resolver records it: who asked for what and the
/// error kind, with no source, fingerprint or expiry.
fn refused(
    task: &str,
    user: Option<&str>,
    integration: &str,
    op: &str,
    kind: &str,
) -> Vec<(String, Value)> {
    let mut attrs = vec![
        (attr::TASK_ID.to_owned(), json!({ "stringValue": task })),
        (
            attr::INTEGRATION.to_owned(),
            json!({ "stringValue": integration }),
        ),
        (attr::OPERATION.to_owned(), json!({ "stringValue": op })),
        (attr::ERROR_KIND.to_owned(), json!({ "stringValue": kind })),
    ];
    if let Some(u) = user {
        attrs.push((attr::USER_ID.to_owned(), json!({ "stringValue": u })));
    }
    attrs
}

fn spans() -> String {
    // Denied by a rule: a write with no user at the root of the asserted chain, which as an
    // issued token would be a `write_without_user` finding.
    let mut denied = refused("t-denied", None, "linear", "write", "policy_denied");
    set(&mut denied, attr::FLOW, json!({ "stringValue": "deny" }));
    set(
        &mut denied,
        attr::RULE_ID,
        json!({ "stringValue": "linear-headless-write" }),
    );
    set(
        &mut denied,
        attr::ACTOR_CHAIN_ASSERTED,
        json!({ "stringValue": json!({ "agent": "deputy-agent" }).to_string() }),
    );
    let mut pending = refused(
        "t-pending",
        Some("okta+alice"),
        "github",
        "write",
        "consent_required",
    );
    set(
        &mut pending,
        attr::FLOW,
        json!({ "stringValue": "user_federation" }),
    );
    set(
        &mut pending,
        attr::RULE_ID,
        json!({ "stringValue": "github-interactive-write" }),
    );
    set(
        &mut pending,
        attr::CONSENT,
        json!({ "stringValue": "pending" }),
    );
    // Failed before any decision: no flow, rule or consent.
    let failed = refused("t-failed", Some("okta+bob"), "slack", "read", "unavailable");
    line(vec![
        span(1, attr::SPAN_RESOLVE, &denied),
        span(2, attr::SPAN_RESOLVE, &pending),
        span(3, attr::SPAN_RESOLVE, &failed),
    ])
}

#[test]
fn denied_consent_pending_and_failed_resolves_each_become_a_record_without_findings() {
    let mut pipeline = Pipeline::default();
    let batch = pipeline.json_line(1, &spans());
    assert!(batch.errors.is_empty(), "{:?}", batch.errors);
    assert!(batch.findings.is_empty(), "{:#?}", batch.findings);
    let got: Vec<_> = batch
        .records
        .iter()
        .map(|r| {
            (
                r.correlation.task_id.as_str(),
                r.outcome,
                r.error_kind.as_deref(),
                r.correlation.user_id.as_ref().map(|u| u.as_str()),
                r.integration.name(),
                r.operation,
                r.consent,
                r.source,
                r.token_fingerprint.is_none(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "t-denied",
                Outcome::Denied,
                Some("policy_denied"),
                None,
                "linear",
                Operation::Write,
                None,
                None,
                true
            ),
            (
                "t-pending",
                Outcome::ConsentPending,
                Some("consent_required"),
                Some("okta+alice"),
                "github",
                Operation::Write,
                Some(ConsentOutcome::Pending),
                None,
                true
            ),
            (
                "t-failed",
                Outcome::Failed,
                Some("unavailable"),
                Some("okta+bob"),
                "slack",
                Operation::Read,
                None,
                None,
                true
            ),
        ]
    );
    assert_eq!(
        batch.records[0].rule_id.as_deref(),
        Some("linear-headless-write")
    );
    assert_eq!(batch.records[2].flow, None);
    // The report shows them as refusals, with the error kind on the edge, and no finding.
    let records: Vec<_> = batch.records.iter().map(|r| (**r).clone()).collect();
    let html = deputy_audit::report::render(&records, &[]);
    for shown in [
        "refused: denied",
        "refused: consent_pending",
        "refused: failed (unavailable)",
        "No findings.",
    ] {
        assert!(html.contains(shown), "{shown:?} not in the report");
    }
    let stats = pipeline.stats();
    assert_eq!((stats.resolves, stats.records), (3, 3));
    assert_eq!(stats.unissued.values().sum::<u64>(), 3);
    assert!(stats.findings.is_empty());
}

#[test]
fn refusal_records_are_written_with_their_outcome_and_without_what_was_never_decided() {
    let mut pipeline = Pipeline::default();
    let mut sink = JsonLinesSink::new(Vec::new(), Vec::new());
    run_lines(
        &mut pipeline,
        format!("{}\n", spans()).as_bytes(),
        &mut sink,
    )
    .unwrap();
    assert!(sink.findings.is_empty());
    let lines: Vec<Value> = String::from_utf8(sink.records.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    let outcomes: Vec<_> = lines
        .iter()
        .map(|l| (l["outcome"].clone(), l["error_kind"].clone()))
        .collect();
    assert_eq!(
        outcomes,
        [
            (json!("denied"), json!("policy_denied")),
            (json!("consent_pending"), json!("consent_required")),
            (json!("failed"), json!("unavailable")),
        ]
    );
    for l in &lines {
        assert_eq!(l["schema"], "abca.audit.v1");
        assert!(l.get("source").is_none(), "{l}");
        assert!(l.get("token_fingerprint").is_none(), "{l}");
    }
    let failed = lines[2].as_object().unwrap();
    for absent in ["flow", "rule_id", "consent"] {
        assert!(!failed.contains_key(absent), "{absent} in {failed:?}");
    }
}
