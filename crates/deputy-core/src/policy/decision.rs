//! What the table decides, and the trail of why.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::flow::Flow;
use crate::{Integration, Operation, TriggerKind};

/// What to do when the flow needs the user's consent and none is on file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Consent {
    /// Surface the authorization URL and, with a consent handler, wait for the user.
    Prompt,
    /// Return `ConsentRequired` at once; never wait, never downgrade to another credential.
    FailClosed,
    /// The flow has no consent step.
    NotApplicable,
}

/// The outcome of the decision table for one (integration, trigger, operation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// The rule that fired. Shared: every token the decision serves carries it.
    pub rule_id: Arc<str>,
    /// How to obtain the credential.
    pub flow: Flow,
    /// The credential provider, environment prefix included. Shared, as `rule_id` is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<Arc<str>>,
    /// OAuth scopes to request.
    pub scopes: Vec<String>,
    /// Audiences to request (OBO, M2M).
    pub audiences: Vec<String>,
    /// RFC 8707 resources to request.
    pub resources: Vec<String>,
    /// What to do when consent is missing.
    pub consent: Consent,
    /// Fresh consent: the user must have consented within this long. Such a decision starts
    /// every consent with `forceAuthentication = true` (the vault's stored token is never
    /// reused), and its token is served at most this long after it arrived from the new
    /// consent (`consent_max_age_secs` in the table).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_secs",
        rename = "consent_max_age_secs"
    )]
    pub consent_max_age: Option<Duration>,
    /// Whether the Secrets Manager fallback may serve this when the vault is unavailable.
    pub secrets_manager_fallback: bool,
    /// The fallback would replace a user's own token with the shared secret, and the table
    /// accepts that explicitly (`fallback_replaces_user = true`, plain user federation only);
    /// every such issuance says so in its fallback reason.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub fallback_replaces_user: bool,
    /// Whether a `RepoAuthorizer` must allow the write before a credential is issued.
    pub repo_authorization: bool,
    /// API keys: the provider to use once the primary key is reported invalid after a rotation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup_provider: Option<String>,
    /// API keys: providers to rotate between, round-robin, for rate-limited APIs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub provider_pool: Vec<String>,
}

fn serialize_secs<S: serde::Serializer>(age: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match age {
        Some(age) => s.serialize_u64(age.as_secs()),
        None => s.serialize_none(),
    }
}

impl Decision {
    /// Whether the decision issues no credential.
    pub fn is_deny(&self) -> bool {
        matches!(self.flow, Flow::Deny { .. })
    }
}

/// The cell of the table a question falls in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cell {
    /// The integration asked about.
    pub integration: Integration,
    /// The trigger kind.
    pub trigger: TriggerKind,
    /// The operation.
    pub operation: Operation,
}

impl fmt::Display for Cell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "({}, {}, {})",
            self.integration, self.trigger, self.operation
        )
    }
}

/// No rule covers a cell: only possible for a custom integration the table never names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "no rule covers {cell}: the decision table does not name integration {:?}; add a rule for it (or an explicit deny)",
    cell.integration.name()
)]
pub struct NoRule {
    /// The uncovered cell.
    pub cell: Cell,
}

/// Why one rule did or did not fire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// The rule covers the cell and fired.
    Matched,
    /// The rule is switched off by a feature.
    Inactive {
        /// The feature.
        feature: String,
        /// The state the rule needs.
        needs_on: bool,
    },
    /// The rule does not cover the cell.
    NoMatch {
        /// Each dimension that did not match, e.g. `trigger webhook not in [interactive]`.
        reasons: Vec<String>,
    },
}

/// One line of the reasoning trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Consideration {
    /// The rule considered.
    pub rule_id: String,
    /// Its line in the policy file.
    pub line: usize,
    /// What happened.
    #[serde(flatten)]
    pub verdict: Verdict,
}

impl fmt::Display for Consideration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.verdict {
            Verdict::Matched => write!(f, "MATCH    {} (line {})", self.rule_id, self.line),
            Verdict::Inactive { feature, needs_on } => write!(
                f,
                "inactive {} (line {}): needs feature {feature:?} {}",
                self.rule_id,
                self.line,
                if *needs_on { "on" } else { "off" }
            ),
            Verdict::NoMatch { reasons } => {
                write!(
                    f,
                    "skip     {} (line {}): {}",
                    self.rule_id,
                    self.line,
                    reasons.join("; ")
                )
            }
        }
    }
}

/// A decision with its reasoning trail, as `deputy explain` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    /// The question.
    pub cell: Cell,
    /// The decision, or why there is none.
    #[serde(serialize_with = "serialize_outcome")]
    pub outcome: Result<Decision, NoRule>,
    /// Every rule considered, in table order.
    pub trail: Vec<Consideration>,
}

fn serialize_outcome<S: serde::Serializer>(
    outcome: &Result<Decision, NoRule>,
    s: S,
) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    #[serde(rename_all = "snake_case")]
    enum Outcome<'a> {
        Decision(&'a Decision),
        NoRule(String),
    }
    match outcome {
        Ok(decision) => Outcome::Decision(decision).serialize(s),
        Err(no_rule) => Outcome::NoRule(no_rule.to_string()).serialize(s),
    }
}
