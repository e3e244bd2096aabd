//! What can go wrong resolving a token, as the caller needs to act on it.

use std::time::SystemTime;

use deputy_core::policy::NoRule;
use deputy_core::{Integration, Operation};

use crate::vault::{VaultError, VaultErrorKind};

/// The user must consent before a token can be issued.
///
/// Carries what a person needs (the authorization URL) and what the agent needs to bind and
/// poll the session later. The URL and the session are capabilities: `Debug` shows neither.
#[derive(Clone, PartialEq, Eq)]
pub struct ConsentRequired {
    /// Where to send the user.
    pub authorization_url: String,
    /// The session to bind with `CompleteResourceTokenAuth` and to poll.
    pub session_uri: String,
    /// When the session expires (the vault's sessions last 10 minutes).
    pub expires_at: SystemTime,
    /// The credential provider asking for consent.
    pub provider: String,
    /// The scopes consent is asked for.
    pub scopes: Vec<String>,
}

impl std::fmt::Debug for ConsentRequired {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsentRequired")
            .field("authorization_url", &"<redacted>")
            .field("session_uri", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .field("provider", &self.provider)
            .field("scopes", &self.scopes)
            .finish()
    }
}

/// A failed resolve. Each variant says what failed, for whom, and what to do.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ResolveError {
    /// Consent is needed (or pending): show the URL to the user, then retry or poll.
    #[error("{integration}: user consent is required for provider {provider:?}; send the user to the authorization URL, then retry", provider = .0.provider, integration = .1)]
    ConsentRequired(Box<ConsentRequired>, Integration),
    /// The consent session failed or expired.
    #[error(
        "{integration}: the consent session for provider {provider:?} failed or expired; start a new one (forceAuthentication)"
    )]
    ConsentFailed {
        /// The integration.
        integration: Integration,
        /// The provider.
        provider: String,
    },
    /// The decision table refuses this request.
    #[error("{integration} {operation}: denied by rule {rule_id:?}: {reason}")]
    PolicyDenied {
        /// The integration.
        integration: Integration,
        /// The operation.
        operation: Operation,
        /// The rule.
        rule_id: String,
        /// The rule's reason.
        reason: String,
    },
    /// The decision table has no rule for this integration.
    #[error(transparent)]
    NoRule(#[from] NoRule),
    /// The repository authorizer did not allow the write (or had no fresh decision).
    #[error(
        "{integration} write to {repo}: repository authorization refused for {principal}: {reason}"
    )]
    RepoNotAuthorized {
        /// The integration.
        integration: Integration,
        /// The repository.
        repo: String,
        /// The user or workload.
        principal: String,
        /// Why.
        reason: String,
    },
    /// The request lacks a fact the flow needs (a user, a repository, a JWT-bound WAT).
    #[error("{integration}: {problem}")]
    MissingContext {
        /// The integration.
        integration: Integration,
        /// What is missing and what to pass.
        problem: String,
    },
    /// IAM (or the vault) denied the call.
    #[error("{integration}: access denied: {source}")]
    AccessDenied {
        /// The integration.
        integration: Integration,
        /// The vault error, naming the IAM action.
        source: VaultError,
    },
    /// The workload or provider does not exist.
    #[error("{integration}: not found: {source}")]
    NotFound {
        /// The integration.
        integration: Integration,
        /// The vault error, naming what to check.
        source: VaultError,
    },
    /// The vault is throttling or unavailable; retry after a while.
    #[error("{integration}: Token Vault unavailable: {source}")]
    Unavailable {
        /// The integration.
        integration: Integration,
        /// The vault error.
        source: VaultError,
    },
    /// A token failed verification (signature, issuer, audience, expiry, `act`).
    #[error("{integration}: token from provider {provider:?} failed verification: {reason}")]
    InvalidToken {
        /// The integration.
        integration: Integration,
        /// The provider.
        provider: String,
        /// What failed.
        reason: String,
    },
    /// GitHub refused or failed to mint an installation token (the App's key, GitHub down, …).
    #[error("{integration}: {source}")]
    GithubApp {
        /// The integration.
        integration: Integration,
        /// What GitHub said.
        source: crate::github_app::GithubAppError,
    },
    /// The vault was unavailable and the Secrets Manager fallback could not read its secret.
    #[error("{integration}: {vault}; the Secrets Manager fallback failed too: {secret}")]
    FallbackFailed {
        /// The integration.
        integration: Integration,
        /// The vault's error.
        vault: Box<ResolveError>,
        /// The secret's error.
        secret: crate::fallback::SecretError,
    },
    /// The resolve did not finish within the resolver's deadline; nothing was served.
    #[error(
        "{integration}: no answer within the {}-ms resolve deadline (the vault or the IdP's JWKS endpoint is slow or unreachable); run `deputy doctor`, or raise ResolverBuilder::deadline if the IdP is known to be slow",
        deadline.as_millis()
    )]
    DeadlineExceeded {
        /// The integration.
        integration: Integration,
        /// The deadline that passed.
        deadline: std::time::Duration,
    },
    /// The browser that completed a consent is signed in as someone other than the user who
    /// started it: a forwarded (or phished) consent link. Nothing was bound.
    #[error(
        "{integration}: the user signed in on this browser did not start this consent; nothing was bound. A consent link works only for the person whose agent asked for it: that person must open it while signed in as themselves"
    )]
    ConsentUserMismatch {
        /// The integration.
        integration: Integration,
        /// The provider, when the session is known.
        provider: Option<String>,
    },
    /// The system random number generator failed, so no consent session was started (its
    /// `customState` must be unguessable).
    #[error(
        "{integration}: the system random number generator failed, so no consent session was started; retry, and check the host's entropy source if it persists"
    )]
    RandomFailed {
        /// The integration.
        integration: Integration,
    },
    /// A consent callback did not match a session this resolver started.
    #[error("consent callback rejected: {0}")]
    CallbackRejected(String),
    /// The vault rejected the request as malformed or answered something unexpected.
    #[error("{integration}: {source}")]
    Vault {
        /// The integration.
        integration: Integration,
        /// The vault error.
        source: VaultError,
    },
}

impl ResolveError {
    /// Classifies a vault error for an integration.
    pub fn from_vault(integration: &Integration, source: VaultError) -> Self {
        let integration = integration.clone();
        match source.kind {
            VaultErrorKind::AccessDenied | VaultErrorKind::Unauthorized => {
                ResolveError::AccessDenied {
                    integration,
                    source,
                }
            }
            VaultErrorKind::NotFound => ResolveError::NotFound {
                integration,
                source,
            },
            VaultErrorKind::Throttled | VaultErrorKind::Unavailable => ResolveError::Unavailable {
                integration,
                source,
            },
            VaultErrorKind::Validation | VaultErrorKind::Unexpected => ResolveError::Vault {
                integration,
                source,
            },
        }
    }

    /// A short class name for spans and metrics (`consent_required`, `access_denied`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            ResolveError::ConsentRequired(..) => "consent_required",
            ResolveError::ConsentFailed { .. } => "consent_failed",
            ResolveError::PolicyDenied { .. } => "policy_denied",
            ResolveError::NoRule(_) => "no_rule",
            ResolveError::RepoNotAuthorized { .. } => "repo_not_authorized",
            ResolveError::MissingContext { .. } => "missing_context",
            ResolveError::AccessDenied { .. } => "access_denied",
            ResolveError::NotFound { .. } => "not_found",
            ResolveError::Unavailable { .. } => "unavailable",
            ResolveError::InvalidToken { .. } => "invalid_token",
            ResolveError::CallbackRejected(_) => "callback_rejected",
            ResolveError::ConsentUserMismatch { .. } => "consent_user_mismatch",
            ResolveError::RandomFailed { .. } => "random_failed",
            ResolveError::DeadlineExceeded { .. } => "deadline_exceeded",
            ResolveError::FallbackFailed { .. } => "fallback_failed",
            ResolveError::GithubApp { .. } => "github_app",
            ResolveError::Vault { .. } => "vault",
        }
    }

    /// How long the vault asked callers to wait before retrying, when it said (throttling).
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            ResolveError::Unavailable { source, .. } => source.retry_after,
            _ => None,
        }
    }

    /// Whether the vault was unavailable: the only class a Secrets Manager fallback may serve.
    pub fn is_vault_unavailable(&self) -> bool {
        matches!(self, ResolveError::Unavailable { .. })
    }
}
