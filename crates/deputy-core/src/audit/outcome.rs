//! How a resolve ended, as an `abca.audit.v1` record says it.

use serde::{Deserialize, Serialize};

/// How the resolve a record describes ended. Records written before refusals were recorded
/// have no `outcome` member; they read as [`Outcome::Issued`].
///
/// ```
/// use deputy_core::audit::Outcome;
/// assert_eq!(Outcome::from_error_kind("policy_denied"), Outcome::Denied);
/// assert_eq!(Outcome::from_error_kind("consent_required"), Outcome::ConsentPending);
/// assert_eq!(Outcome::from_error_kind("unavailable"), Outcome::Failed);
/// assert_eq!(Outcome::default().name(), "issued");
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A token was issued.
    #[default]
    Issued,
    /// Policy (or the provider) refused: no rule, a deny rule, a repository not authorized,
    /// access denied, a consent given by another user.
    Denied,
    /// The user has to consent first; the caller got the authorization URL.
    ConsentPending,
    /// Anything else that ended without a token (vault unavailable, a deadline, …).
    Failed,
}

impl Outcome {
    /// The name used in records.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Issued => "issued",
            Outcome::Denied => "denied",
            Outcome::ConsentPending => "consent_pending",
            Outcome::Failed => "failed",
        }
    }

    /// The outcome of a resolve that ended with the error kind `kind` (a `deputy.error.kind`
    /// span attribute). Kinds not known here are failures.
    pub fn from_error_kind(kind: &str) -> Outcome {
        match kind {
            "consent_required" => Outcome::ConsentPending,
            "policy_denied"
            | "no_rule"
            | "repo_not_authorized"
            | "access_denied"
            | "consent_user_mismatch" => Outcome::Denied,
            _ => Outcome::Failed,
        }
    }
}
