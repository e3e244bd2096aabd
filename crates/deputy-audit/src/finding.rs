//! Invariant findings: which rule, why, and the record (or span) it is about.

use deputy_core::audit::{AuditRecord, SecretShape};
use serde::{Deserialize, Serialize};

/// An audit invariant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// A write credential was issued, by a flow that acts for no user, with no user at the
    /// root of the asserted chain.
    WriteWithoutUser,
    /// The Secrets Manager fallback issued a credential.
    SecretsManagerFallback,
    /// The token's subject is not the asserted user, it names no actor, or its actors are not
    /// the declared ones (or, undeclared, not the ones first seen for that agent and provider).
    ChainDisagreement,
    /// One user-delegated token fingerprint appears for two different users.
    FingerprintShared,
    /// A span attribute looks like token material; its record was not written.
    TokenMaterial,
}

impl Rule {
    /// Every rule, in report order.
    pub const ALL: [Rule; 5] = [
        Rule::WriteWithoutUser,
        Rule::SecretsManagerFallback,
        Rule::ChainDisagreement,
        Rule::FingerprintShared,
        Rule::TokenMaterial,
    ];

    /// The rule's id in findings.
    pub fn name(self) -> &'static str {
        match self {
            Rule::WriteWithoutUser => "write_without_user",
            Rule::SecretsManagerFallback => "secrets_manager_fallback",
            Rule::ChainDisagreement => "chain_disagreement",
            Rule::FingerprintShared => "fingerprint_shared",
            Rule::TokenMaterial => "token_material",
        }
    }

    /// What the rule guards, in one sentence.
    pub fn summary(self) -> &'static str {
        match self {
            Rule::WriteWithoutUser => "a write credential must be rooted in a user",
            Rule::SecretsManagerFallback => "every Secrets Manager fallback issuance is reported",
            Rule::ChainDisagreement => "the token's act chain must agree with the asserted chain",
            Rule::FingerprintShared => "a user's token must never serve another user",
            Rule::TokenMaterial => "spans must never carry token material",
        }
    }
}

/// Where a span came from, for findings about spans that produced no record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpanRef {
    /// The trace.
    pub trace_id: String,
    /// The span.
    pub span_id: String,
    /// The span name.
    pub name: String,
    /// The input line (files and stdin), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
}

/// One invariant violation.
///
/// ```
/// use deputy_audit::finding::{Finding, Rule};
/// let f = Finding { rule: Rule::SecretsManagerFallback, message: "fallback issued".into(), record: None, span: None, attribute: None, shape: None };
/// assert_eq!(serde_json::to_value(&f).unwrap()["rule"], "secrets_manager_fallback");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The rule that was broken.
    pub rule: Rule,
    /// What happened, for a person (never token material).
    pub message: String,
    /// The record it is about (absent for [`Rule::TokenMaterial`]: that record is refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<Box<AuditRecord>>,
    /// The span it is about, for findings without a record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span: Option<SpanRef>,
    /// The attribute that held token material.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribute: Option<String>,
    /// The shape of that material.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shape: Option<SecretShape>,
}

impl Finding {
    /// The task the finding belongs to, when known.
    pub fn task_id(&self) -> Option<&str> {
        self.record.as_ref().map(|r| r.correlation.task_id.as_str())
    }
}
