//! Builders for OTLP/JSON spans shaped like the resolver's.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use deputy_core::attr;
use serde_json::{Value, json};

/// A `deputy.resolve` span that issued a token, as the resolver records it.
pub fn resolve_span(
    task: &str,
    user: Option<&str>,
    op: &str,
    fingerprint: &str,
) -> Vec<(String, Value)> {
    let mut attrs = vec![
        (attr::TASK_ID.to_owned(), json!({ "stringValue": task })),
        (
            attr::INTEGRATION.to_owned(),
            json!({ "stringValue": "github" }),
        ),
        (attr::OPERATION.to_owned(), json!({ "stringValue": op })),
        (
            attr::TRIGGER.to_owned(),
            json!({ "stringValue": "interactive" }),
        ),
        (
            attr::FLOW.to_owned(),
            json!({ "stringValue": "user_federation" }),
        ),
        (
            attr::RULE_ID.to_owned(),
            json!({ "stringValue": "github-interactive" }),
        ),
        (
            attr::PROVIDER.to_owned(),
            json!({ "stringValue": "github-3lo" }),
        ),
        (attr::SOURCE.to_owned(), json!({ "stringValue": "vault" })),
        (attr::CACHE.to_owned(), json!({ "stringValue": "miss" })),
        (
            attr::TOKEN_FINGERPRINT.to_owned(),
            json!({ "stringValue": fingerprint }),
        ),
        (
            attr::TOKEN_EXPIRES_AT.to_owned(),
            json!({ "intValue": "1795003600" }),
        ),
        (
            attr::CONSENT.to_owned(),
            json!({ "stringValue": "granted" }),
        ),
        (
            attr::REPO.to_owned(),
            json!({ "stringValue": "octo-org/infra" }),
        ),
    ];
    let chain = match user {
        Some(u) => json!({ "user": u, "orchestrator": "orchestrator", "agent": "deputy-agent" }),
        None => json!({ "orchestrator": "orchestrator", "agent": "deputy-agent" }),
    };
    attrs.push((
        attr::ACTOR_CHAIN_ASSERTED.to_owned(),
        json!({ "stringValue": chain.to_string() }),
    ));
    if let Some(u) = user {
        attrs.push((attr::USER_ID.to_owned(), json!({ "stringValue": u })));
    }
    attrs
}

/// Sets (or replaces) one attribute.
pub fn set(attrs: &mut Vec<(String, Value)>, key: &str, value: Value) {
    attrs.retain(|(k, _)| k != key);
    attrs.push((key.to_owned(), value));
}

/// One span object.
pub fn span(trace: u32, name: &str, attrs: &[(String, Value)]) -> Value {
    json!({
        "traceId": format!("{trace:032x}"),
        "spanId": format!("{trace:016x}"),
        "name": name,
        "kind": 1,
        "startTimeUnixNano": "1795000000000000000",
        "endTimeUnixNano": "1795000000123000000",
        "attributes": attrs.iter().map(|(k, v)| json!({ "key": k, "value": v })).collect::<Vec<_>>(),
    })
}

/// One OTLP/JSON line (no trailing newline) carrying `spans`.
pub fn line(spans: Vec<Value>) -> String {
    json!({ "resourceSpans": [{ "resource": { "attributes": [] }, "scopeSpans": [{ "scope": { "name": "deputy" }, "spans": spans }] }] })
        .to_string()
}

pub fn fingerprint(n: u32) -> String {
    format!("sha256:{n:032x}")
}
