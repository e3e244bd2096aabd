//! The `abca.audit.v1` record of one credential resolution, and the helpers that keep token
//! material out of it.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::actor::{AssertedChain, ObservedDelegation};
use crate::{Integration, Operation, RepoRef, TaskId, TraceId, UserId};

/// The schema id every record carries.
pub const SCHEMA: &str = "abca.audit.v1";

/// Where a resolved token came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CredentialSource {
    /// Fetched from the Token Vault for this resolve.
    Vault,
    /// Served from deputy's in-process cache (first fetched from the vault).
    Cache,
    /// Minted as a GitHub App installation token.
    GithubApp,
    /// Read from the shared secret in Secrets Manager because the vault was unavailable.
    SecretsManagerFallback,
    /// The user's own token, forwarded by a gateway interceptor after checking its audience.
    GatewayPassthrough,
    /// A service token minted by the Token Broker (client credentials from a central secret).
    TokenBroker,
}

impl CredentialSource {
    /// The name used in spans and records.
    pub fn name(self) -> &'static str {
        match self {
            CredentialSource::Vault => "vault",
            CredentialSource::Cache => "cache",
            CredentialSource::GithubApp => "github-app",
            CredentialSource::SecretsManagerFallback => "secrets-manager-fallback",
            CredentialSource::GatewayPassthrough => "gateway-passthrough",
            CredentialSource::TokenBroker => "token-broker",
        }
    }

    /// Parses [`CredentialSource::name`].
    ///
    /// ```
    /// use deputy_core::audit::CredentialSource;
    /// assert_eq!(CredentialSource::from_name("token-broker"), Some(CredentialSource::TokenBroker));
    /// ```
    pub fn from_name(name: &str) -> Option<Self> {
        [
            Self::Vault,
            Self::Cache,
            Self::GithubApp,
            Self::SecretsManagerFallback,
            Self::GatewayPassthrough,
            Self::TokenBroker,
        ]
        .into_iter()
        .find(|s| s.name() == name)
    }
}

mod outcome;
pub use outcome::Outcome;

/// What happened about user consent in this resolve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentOutcome {
    /// The flow has no consent step.
    NotRequired,
    /// Consent was on file (or given during this resolve) and a token was issued.
    Granted,
    /// Consent is needed; the caller got the authorization URL.
    Pending,
    /// The consent session failed or expired.
    Failed,
}

impl ConsentOutcome {
    /// The name used in spans and records.
    pub fn name(self) -> &'static str {
        match self {
            ConsentOutcome::NotRequired => "not_required",
            ConsentOutcome::Granted => "granted",
            ConsentOutcome::Pending => "pending",
            ConsentOutcome::Failed => "failed",
        }
    }

    /// Parses [`ConsentOutcome::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        [
            Self::NotRequired,
            Self::Granted,
            Self::Pending,
            Self::Failed,
        ]
        .into_iter()
        .find(|s| s.name() == name)
    }
}

/// A token's fingerprint: `sha256:` and the first 16 bytes of its SHA-256, in hex.
///
/// Enough to join records that used the same token, and useless for recovering it.
///
/// ```
/// use deputy_core::audit::TokenFingerprint;
/// let fp = TokenFingerprint::of("gho_example");
/// assert!(fp.as_str().starts_with("sha256:"));
/// assert_eq!(fp.as_str().len(), 7 + 32);
/// assert_eq!(fp, TokenFingerprint::of("gho_example"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TokenFingerprint(String);

impl TokenFingerprint {
    /// Fingerprints a token.
    pub fn of(token: &str) -> Self {
        Self::from_bits(Self::bits(token))
    }

    /// The 128 bits a fingerprint shows (the first half of the token's SHA-256), for callers
    /// that keep many fingerprints and render them only when needed.
    ///
    /// ```
    /// use deputy_core::audit::TokenFingerprint;
    /// let bits = TokenFingerprint::bits("gho_example");
    /// assert_eq!(TokenFingerprint::from_bits(bits), TokenFingerprint::of("gho_example"));
    /// ```
    pub fn bits(token: &str) -> [u8; 16] {
        let digest = Sha256::digest(token.as_bytes());
        let mut bits = [0u8; 16];
        bits.copy_from_slice(&digest[..16]);
        bits
    }

    /// The fingerprint that shows `bits` (from [`TokenFingerprint::bits`]).
    pub fn from_bits(bits: [u8; 16]) -> Self {
        let mut text = *b"sha256:________________________________";
        for (byte, hex) in bits.iter().zip(text[7..].chunks_exact_mut(2)) {
            hex[0] = HEX[usize::from(byte >> 4)];
            hex[1] = HEX[usize::from(byte & 0xf)];
        }
        // ASCII throughout, so the fallback is never taken.
        TokenFingerprint(std::str::from_utf8(&text).map_or_else(|_| String::new(), str::to_owned))
    }

    /// The fingerprint text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

impl From<TokenFingerprint> for String {
    /// The fingerprint text, without copying it.
    fn from(fingerprint: TokenFingerprint) -> String {
        fingerprint.0
    }
}

impl fmt::Display for TokenFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The correlation envelope shared with ABCA's cost attribution and compliance export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Correlation {
    /// The task.
    pub task_id: TaskId,
    /// The user, when there is one (and user ids are not turned off as PII).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<UserId>,
    /// `owner/name`; the key is absent (not null) for repository-less tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<RepoRef>,
    /// The trace, or null when tracing is off.
    #[serde(default)]
    pub trace_id: Option<TraceId>,
    /// The AgentCore session, or null.
    #[serde(default)]
    pub session_id: Option<String>,
}

/// One `abca.audit.v1` record: one credential resolution.
///
/// ```
/// use deputy_core::audit::{AuditRecord, ConsentOutcome, Correlation, CredentialSource, Outcome, TokenFingerprint};
/// use deputy_core::{Integration, Operation, TaskId};
/// let record = AuditRecord {
///     schema: deputy_core::audit::SCHEMA.into(),
///     correlation: Correlation { task_id: TaskId::new("t-1").unwrap(), user_id: None, repo: None, trace_id: None, session_id: None },
///     integration: Integration::Linear,
///     operation: Operation::Read,
///     flow: Some("m2m".into()),
///     provider: Some("linear-service".into()),
///     rule_id: Some("service-read".into()),
///     source: Some(CredentialSource::Vault),
///     fallback_reason: None,
///     consent: Some(ConsentOutcome::NotRequired),
///     token_fingerprint: Some(TokenFingerprint::of("token")),
///     asserted_chain: None,
///     observed_delegation: None,
///     resolved_at_ms: 1_795_000_000_000,
///     expires_at: None,
///     outcome: Outcome::Issued,
///     error_kind: None,
/// };
/// let json = serde_json::to_value(&record).unwrap();
/// assert!(json["correlation"].get("repo").is_none());
/// assert_eq!(json["source"], "vault");
/// assert_eq!(json["outcome"], "issued");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// Who, for which task, in which trace.
    pub correlation: Correlation,
    /// The integration.
    pub integration: Integration,
    /// The operation.
    pub operation: Operation,
    /// The flow name (see [`crate::flow::Flow::name`]); absent when the resolve was refused
    /// before a decision was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow: Option<String>,
    /// The credential provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// The decision-table rule that fired; absent when none did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_id: Option<String>,
    /// Where the token came from; absent when none was issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<CredentialSource>,
    /// Why the fallback served it, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_reason: Option<String>,
    /// The consent outcome; absent when a refused resolve never reached consent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent: Option<ConsentOutcome>,
    /// The token's fingerprint, when a token was issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_fingerprint: Option<TokenFingerprint>,
    /// The chain deputy's context asserted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asserted_chain: Option<AssertedChain>,
    /// The delegation the token itself records (OBO tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_delegation: Option<ObservedDelegation>,
    /// When the resolve finished, Unix milliseconds.
    pub resolved_at_ms: u64,
    /// When the token expires, Unix seconds, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
    /// How the resolve ended; always written (`issued` when absent from older records).
    #[serde(default)]
    pub outcome: Outcome,
    /// Why no token was issued: the span's `deputy.error.kind` (a kind, never a message).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<String>,
}

/// What kind of token material a string looks like, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretShape {
    /// Three base64url segments, the first a JSON header (`eyJ…`).
    Jwt,
    /// A GitHub token prefix (`ghp_`, `gho_`, `ghs_`, `ghu_`, `ghr_`, `github_pat_`).
    GithubToken,
    /// A run of 40 or more base64 characters mixing lower case, upper case and digits.
    LongBase64,
    /// A Slack token (`xoxb-`, `xoxp-`, `xoxa-`, `xoxr-`, `xoxs-`, `xoxe-`).
    SlackToken,
    /// A Linear API key (`lin_api_`).
    LinearKey,
    /// An AWS access key id (`AKIA` or `ASIA` and 16 upper-case letters or digits).
    AwsAccessKey,
}

/// Whether a value (e.g. a span attribute) looks like token material.
///
/// Fingerprints (`sha256:` + hex), trace ids, paths and ordinary identifiers do not; JWTs,
/// tokens with a known prefix (GitHub of any length, Slack, Linear, AWS access key ids) and
/// long runs of base64 with all three character classes do. A prefix counts at the start of a
/// word or after a `/` (`owner/ghp_…`).
///
/// ```
/// use deputy_core::audit::{looks_like_secret, SecretShape};
/// assert_eq!(looks_like_secret("ghs_ExampleOnlyNotARealToken0000000000"), Some(SecretShape::GithubToken));
/// assert_eq!(looks_like_secret("sha256:0123456789abcdef0123456789abcdef"), None);
/// assert_eq!(looks_like_secret("github-interactive-write"), None);
/// ```
pub fn looks_like_secret(value: &str) -> Option<SecretShape> {
    words(value).find_map(|word| classify_word(word, true))
}

/// Like [`looks_like_secret`] without the long-base64 guess: only token shapes (JWT structure
/// and known prefixes). For identifiers (a repository, a task, a rule), which may be long
/// mixed-case words such as `AcmeCorp/Kubernetes-Cluster-Provisioning-V2`.
///
/// ```
/// use deputy_core::audit::{looks_like_secret, looks_like_token_shape, SecretShape};
/// let repo = "AcmeCorp/Kubernetes-Cluster-Provisioning-V2";
/// assert_eq!(looks_like_secret(repo), Some(SecretShape::LongBase64));
/// assert_eq!(looks_like_token_shape(repo), None);
/// assert_eq!(looks_like_token_shape("acme/ghp_ExampleOnlyNotARealToken00"), Some(SecretShape::GithubToken));
/// ```
pub fn looks_like_token_shape(value: &str) -> Option<SecretShape> {
    words(value).find_map(|word| classify_word(word, false))
}

fn words(value: &str) -> impl Iterator<Item = &str> {
    value.split(|c: char| {
        c.is_whitespace()
            || matches!(
                c,
                '"' | '\'' | ',' | ';' | '=' | ':' | '(' | ')' | '<' | '>'
            )
    })
}

fn classify_word(word: &str, long_base64: bool) -> Option<SecretShape> {
    if let Some(shape) = word.split('/').find_map(shaped_token) {
        return Some(shape);
    }
    if !long_base64 {
        return None;
    }
    let base64ish = word.len() >= 40
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_' | b'='));
    let classes = [
        word.bytes().any(|b| b.is_ascii_lowercase()),
        word.bytes().any(|b| b.is_ascii_uppercase()),
        word.bytes().any(|b| b.is_ascii_digit()),
    ];
    if base64ish && classes.iter().all(|c| *c) {
        return Some(SecretShape::LongBase64);
    }
    None
}

/// A JWT or a token with a known prefix, by its shape. The minimum lengths keep ordinary
/// words out and make every Slack or Linear token a base64 run of at least 40 characters.
fn shaped_token(part: &str) -> Option<SecretShape> {
    const GITHUB_PREFIXES: [&str; 6] = ["ghp_", "gho_", "ghs_", "ghu_", "ghr_", "github_pat_"];
    const SLACK_PREFIXES: [&str; 6] = ["xoxb-", "xoxp-", "xoxa-", "xoxr-", "xoxs-", "xoxe-"];
    let rest_is = |prefixes: &[&str], min: usize, ok: fn(u8) -> bool| {
        prefixes.iter().any(|p| {
            part.strip_prefix(p)
                .is_some_and(|rest| rest.len() >= min && rest.bytes().all(ok))
        })
    };
    if rest_is(&GITHUB_PREFIXES, 16, |b| {
        b.is_ascii_alphanumeric() || b == b'_'
    }) {
        return Some(SecretShape::GithubToken);
    }
    if rest_is(&SLACK_PREFIXES, 35, |b| {
        b.is_ascii_alphanumeric() || b == b'-'
    }) {
        return Some(SecretShape::SlackToken);
    }
    if rest_is(&["lin_api_"], 32, |b| b.is_ascii_alphanumeric()) {
        return Some(SecretShape::LinearKey);
    }
    if part.len() == 20
        && rest_is(&["AKIA", "ASIA"], 16, |b| {
            b.is_ascii_uppercase() || b.is_ascii_digit()
        })
    {
        return Some(SecretShape::AwsAccessKey);
    }
    let is_b64url = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    let mut segments = part.split('.');
    let (Some(header), Some(payload), Some(_), None) = (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) else {
        return None;
    };
    (header.starts_with("eyJ") && is_b64url(header) && is_b64url(payload))
        .then_some(SecretShape::Jwt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_stable_truncated_and_distinct() {
        let a = TokenFingerprint::of("token-a");
        assert_eq!(a.as_str(), "sha256:a70bf50e531ce1a817561f2f5d5b6645");
        assert_ne!(a, TokenFingerprint::of("token-b"));
        assert!(!a.as_str().contains("token-a"));
        assert_eq!(looks_like_secret(a.as_str()), None);
    }

    #[test]
    fn detects_token_shapes_inside_text() {
        let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl";
        assert_eq!(looks_like_secret(jwt), Some(SecretShape::Jwt));
        assert_eq!(
            looks_like_secret(&format!("Bearer {jwt}")),
            Some(SecretShape::Jwt)
        );
        // A new-format installation token, longer than 40 characters.
        let ghs = format!("ghs_{}", "aB3".repeat(30));
        assert_eq!(
            looks_like_secret(&format!("token={ghs}")),
            Some(SecretShape::GithubToken)
        );
        assert_eq!(
            looks_like_secret("github_pat_11ABCDEFG0abcdefghijklmnop"),
            Some(SecretShape::GithubToken)
        );
        assert_eq!(
            looks_like_secret("dGhpcyBpcyBhIHNlY3JldCB0b2tlbiB2YWx1ZSAxMjM0NQ=="),
            Some(SecretShape::LongBase64)
        );
    }

    #[test]
    fn ordinary_values_pass() {
        for ok in [
            "4bf92f3577b34da6a3ce929d0e0e4736",
            "okta+00u1abcd",
            "urn:ietf:params:oauth:request_uri:abc",
            "user_federation",
            "octo-org/infra",
            "https://vault.example/identities/oauth2/token",
            "ghp_short",
            "{\"agent\":\"deputy-agent\",\"user\":\"okta+alice\"}",
            "/identities/GetWorkloadAccessTokenForJWT",
            "sha256:0123456789abcdef0123456789abcdef0123456789abcdef",
        ] {
            assert_eq!(looks_like_secret(ok), None, "{ok}");
        }
    }

    #[test]
    fn names_round_trip() {
        for s in [
            CredentialSource::Vault,
            CredentialSource::Cache,
            CredentialSource::GithubApp,
            CredentialSource::SecretsManagerFallback,
        ] {
            assert_eq!(CredentialSource::from_name(s.name()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.name());
        }
        for c in [
            ConsentOutcome::NotRequired,
            ConsentOutcome::Granted,
            ConsentOutcome::Pending,
            ConsentOutcome::Failed,
        ] {
            assert_eq!(ConsentOutcome::from_name(c.name()), Some(c));
            assert_eq!(serde_json::to_value(c).unwrap(), c.name());
        }
    }
}
