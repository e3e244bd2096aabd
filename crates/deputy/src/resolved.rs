//! What a successful resolve returns.

use std::sync::Arc;
use std::time::SystemTime;

use deputy_core::actor::ObservedDelegation;
use deputy_core::audit::{CredentialSource, TokenFingerprint};
use deputy_core::flow::Flow;

use crate::AccessToken;

/// A token ready to use, with the facts of how it was obtained.
#[derive(Debug, Clone)]
pub struct ResolvedToken {
    /// The token. `Debug` shows only its fingerprint.
    pub token: AccessToken,
    /// When it expires (JWT `exp`, or the conservative default for opaque tokens).
    pub expires_at: SystemTime,
    /// The flow that produced it.
    pub flow: Flow,
    /// The credential provider (shared with the decision that chose it).
    pub provider: Option<Arc<str>>,
    /// Where it came from this time (the vault, or the cache).
    pub source: CredentialSource,
    /// The decision-table rule that chose the flow (shared with the decision).
    pub rule_id: Arc<str>,
    /// The delegation the token itself records (verified on-behalf-of tokens).
    pub observed: Option<ObservedDelegation>,
    /// Why the Secrets Manager fallback served this token, when it did.
    pub fallback_reason: Option<String>,
}

impl ResolvedToken {
    /// The token's fingerprint, for logs and audit.
    pub fn fingerprint(&self) -> TokenFingerprint {
        self.token.fingerprint()
    }
}
