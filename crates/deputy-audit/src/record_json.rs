//! Writes an `abca.audit.v1` record as JSON, by hand: the same bytes `serde_json::to_writer`
//! writes for [`AuditRecord`] (members in declaration order, absent optionals skipped, the
//! same string escapes), without serde's machinery or the `String` copies that the id types'
//! `#[serde(into = "String")]` makes. Tested against `serde_json` on varied records.

use deputy_core::actor::{Actor, ObservedDelegation};
use deputy_core::audit::AuditRecord;

use deputy_core::json_text::push_string;

/// Appends `record` as one line of JSON (no newline) to `out`.
///
/// ```
/// use deputy_audit::record_json::write_record;
/// use deputy_core::audit::{AuditRecord, ConsentOutcome, Correlation, CredentialSource, Outcome, SCHEMA};
/// use deputy_core::{Integration, Operation, TaskId};
/// let record = AuditRecord {
///     schema: SCHEMA.to_owned(),
///     correlation: Correlation {
///         task_id: TaskId::new("t-1").unwrap(),
///         user_id: None,
///         repo: None,
///         trace_id: None,
///         session_id: None,
///     },
///     integration: "linear".parse::<Integration>().unwrap(),
///     operation: Operation::Read,
///     flow: Some("m2m".into()),
///     provider: None,
///     rule_id: Some("service-read".into()),
///     source: Some(CredentialSource::Vault),
///     fallback_reason: None,
///     consent: Some(ConsentOutcome::NotRequired),
///     token_fingerprint: None,
///     asserted_chain: None,
///     observed_delegation: None,
///     resolved_at_ms: 1_795_000_000_000,
///     expires_at: None,
///     outcome: Outcome::Issued,
///     error_kind: None,
/// };
/// let mut out = Vec::new();
/// write_record(&mut out, &record);
/// assert_eq!(out, serde_json::to_vec(&record).unwrap());
/// ```
pub fn write_record(out: &mut Vec<u8>, record: &AuditRecord) {
    let c = &record.correlation;
    out.extend_from_slice(b"{\"schema\":");
    push_string(out, &record.schema);
    out.extend_from_slice(b",\"correlation\":{\"task_id\":");
    push_string(out, c.task_id.as_str());
    if let Some(user) = &c.user_id {
        out.extend_from_slice(b",\"user_id\":");
        push_string(out, user.as_str());
    }
    if let Some(repo) = &c.repo {
        out.extend_from_slice(b",\"repo\":");
        push_string(out, repo.as_str());
    }
    out.extend_from_slice(b",\"trace_id\":");
    string_or_null(out, c.trace_id.as_ref().map(|t| t.as_str()));
    out.extend_from_slice(b",\"session_id\":");
    string_or_null(out, c.session_id.as_deref());
    out.extend_from_slice(b"},\"integration\":");
    push_string(out, record.integration.name());
    out.extend_from_slice(b",\"operation\":");
    push_string(out, record.operation.name());
    optional(out, b",\"flow\":", record.flow.as_deref());
    optional(out, b",\"provider\":", record.provider.as_deref());
    optional(out, b",\"rule_id\":", record.rule_id.as_deref());
    optional(out, b",\"source\":", record.source.map(|s| s.name()));
    optional(
        out,
        b",\"fallback_reason\":",
        record.fallback_reason.as_deref(),
    );
    optional(out, b",\"consent\":", record.consent.map(|c| c.name()));
    optional(
        out,
        b",\"token_fingerprint\":",
        record.token_fingerprint.as_ref().map(|f| f.as_str()),
    );
    if let Some(chain) = &record.asserted_chain {
        out.extend_from_slice(b",\"asserted_chain\":");
        chain.as_chain_ref().write_json(out);
    }
    if let Some(observed) = &record.observed_delegation {
        out.extend_from_slice(b",\"observed_delegation\":");
        delegation(out, observed);
    }
    out.extend_from_slice(b",\"resolved_at_ms\":");
    number(out, record.resolved_at_ms);
    if let Some(expires) = record.expires_at {
        out.extend_from_slice(b",\"expires_at\":");
        number(out, expires);
    }
    out.extend_from_slice(b",\"outcome\":");
    push_string(out, record.outcome.name());
    optional(out, b",\"error_kind\":", record.error_kind.as_deref());
    out.push(b'}');
}

/// `ObservedDelegation`: the subject, then the actors as an array.
fn delegation(out: &mut Vec<u8>, observed: &ObservedDelegation) {
    out.extend_from_slice(b"{\"subject\":");
    actor(out, &observed.subject);
    out.extend_from_slice(b",\"actors\":[");
    for (i, a) in observed.actors.actors().iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        actor(out, a);
    }
    out.extend_from_slice(b"]}");
}

fn actor(out: &mut Vec<u8>, actor: &Actor) {
    out.extend_from_slice(b"{\"sub\":");
    push_string(out, &actor.sub);
    optional(out, b",\"iss\":", actor.iss.as_deref());
    out.push(b'}');
}

/// `prefix` and the string when there is one (a member skipped when absent).
fn optional(out: &mut Vec<u8>, prefix: &[u8], value: Option<&str>) {
    if let Some(value) = value {
        out.extend_from_slice(prefix);
        push_string(out, value);
    }
}

fn string_or_null(out: &mut Vec<u8>, value: Option<&str>) {
    match value {
        Some(value) => push_string(out, value),
        None => out.extend_from_slice(b"null"),
    }
}

/// A `u64` in decimal.
fn number(out: &mut Vec<u8>, mut value: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}
