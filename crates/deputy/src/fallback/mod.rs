//! The Secrets Manager fallback: the shared secret, served only when the vault is unavailable.
//!
//! Three switches must all be on: the deployment flag (`DEPUTY_FALLBACK=secrets-manager`), the
//! decision table's rule (`secrets_manager_fallback = true`, which also covers writes only where
//! a write rule says so) and a `[fallback.<integration>]` secret. Only
//! [`ResolveError::Unavailable`] (network errors, 5xx and throttling after the SDK's retries, a
//! region without AgentCore Identity) can trigger it; consent, denials, validation and
//! repository-authorization failures never do. A principal the vault has served before is
//! latched and never downgraded again until an operator clears the latch. Every issuance is
//! loud: a `warn` log, `deputy.source = secrets-manager-fallback` with the reason on the span,
//! and a counter.

mod broker;
mod latch;
mod reader;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use deputy_core::Integration;
use deputy_core::audit::CredentialSource;
use deputy_core::policy::{Decision, PolicyTable};

pub use broker::{BrokerError, ServiceCredentials, TokenBroker};
pub use latch::{DowngradeLatch, LatchError};
pub use reader::{SecretError, SecretReader, SharedToken};

use crate::ResolvedToken;
use crate::error::ResolveError;
use crate::task::Task;

/// The environment variable that switches the fallback on, and its value.
pub const FLAG: (&str, &str) = ("DEPUTY_FALLBACK", "secrets-manager");

/// The fallback: a secret reader, the latch, and whether the deployment switched it on.
#[derive(Debug)]
pub struct SecretsManagerFallback {
    enabled: bool,
    reader: SecretReader,
    latch: DowngradeLatch,
    issued: AtomicU64,
    default_ttl: Duration,
}

impl SecretsManagerFallback {
    /// A fallback reading with `reader` and latching in `latch`; on only if `enabled`.
    pub fn new(reader: SecretReader, latch: DowngradeLatch, enabled: bool) -> Self {
        SecretsManagerFallback {
            enabled,
            reader,
            latch,
            issued: AtomicU64::new(0),
            default_ttl: Duration::from_secs(300),
        }
    }

    /// Whether the environment switches the fallback on (`DEPUTY_FALLBACK=secrets-manager`).
    pub fn enabled_by_env() -> bool {
        std::env::var(FLAG.0).is_ok_and(|v| v.trim() == FLAG.1)
    }

    /// Whether this fallback is switched on.
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// How many tokens the fallback has issued (the counter the audit pipeline alerts on).
    pub fn issued(&self) -> u64 {
        self.issued.load(Ordering::Relaxed)
    }

    /// The latch, for operators.
    pub fn latch(&self) -> &DowngradeLatch {
        &self.latch
    }

    /// Records that the vault served `principal` for `integration`.
    pub(crate) async fn vault_served(&self, principal: &str, integration: &Integration) {
        if let Err(e) = self.latch.mark(principal, integration.name()).await {
            tracing::error!("cannot record the no-downgrade latch: {e}");
        }
    }

    /// Serves `error`'s request from the shared secret, if everything allows it; otherwise
    /// returns `error` unchanged.
    pub(crate) async fn serve(
        &self,
        policy: &PolicyTable,
        task: &Task,
        integration: &Integration,
        decision: &Decision,
        principal: &str,
        error: ResolveError,
    ) -> Result<ResolvedToken, ResolveError> {
        if !error.is_vault_unavailable() || !decision.secrets_manager_fallback {
            return Err(error);
        }
        if !self.enabled {
            tracing::debug!(
                "rule {} allows the fallback, but {}={} is not set",
                decision.rule_id,
                FLAG.0,
                FLAG.1
            );
            return Err(error);
        }
        if self.latch.is_latched(principal, integration.name()) {
            tracing::warn!(
                "vault unavailable for {integration}, but the vault has served {principal} before: no downgrade to the shared secret (clear the latch to allow it)"
            );
            return Err(error);
        }
        let Some(secret) = policy.fallback_secret(integration) else {
            return Err(error);
        };
        let shared = self
            .reader
            .read(secret, &task.ctx)
            .await
            .map_err(|secret_error| ResolveError::FallbackFailed {
                integration: integration.clone(),
                vault: Box::new(error.clone()),
                secret: secret_error,
            })?;
        self.issued.fetch_add(1, Ordering::Relaxed);
        let reason = match &error {
            ResolveError::Unavailable { source, .. } => format!(
                "vault unavailable: {} {:?}: {}",
                source.operation, source.kind, source.message
            ),
            other => format!("vault unavailable: {}", other.kind()),
        };
        tracing::warn!(
            "SECRETS MANAGER FALLBACK: {integration} for task {} served from shared secret {} ({reason})",
            task.ctx.task_id,
            secret.secret_id
        );
        Ok(ResolvedToken {
            expires_at: shared
                .expires_at
                .unwrap_or_else(|| SystemTime::now() + self.default_ttl),
            token: shared.token,
            flow: decision.flow.clone(),
            provider: None,
            source: CredentialSource::SecretsManagerFallback,
            rule_id: decision.rule_id.clone(),
            observed: None,
            fallback_reason: Some(reason),
        })
    }
}
