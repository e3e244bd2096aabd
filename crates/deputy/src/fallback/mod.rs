//! The Secrets Manager fallback: the shared secret, served only when the vault is unavailable.
//!
//! Three switches must all be on: the deployment flag (`DEPUTY_FALLBACK=secrets-manager`), the
//! decision table's rule (`secrets_manager_fallback = true`, which also covers writes only where
//! a write rule says so, and never a rule that promises the user's own token: see
//! `fallback_replaces_user` in `docs/decision-table.md`) and a `[fallback.<integration>]` secret. Only
//! [`ResolveError::Unavailable`] (network errors, 5xx, a region without AgentCore Identity, and
//! throttling once the SDK's retries and then deputy's own ([`THROTTLE_RETRIES`], within the
//! resolve's deadline) have run out) can trigger it; consent, denials, validation and
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
use crate::vault::VaultErrorKind;

/// How a fallback reason starts when the shared secret replaced a user's own token (a rule with
/// `fallback_replaces_user = true`); the audit record carries the reason.
pub const REPLACED_USER: &str = "replaced the user's own token with the shared secret; ";

/// How many times a throttled vault fetch is tried again before the fallback may serve it.
pub const THROTTLE_RETRIES: u32 = 2;

/// The first wait before a throttled fetch is tried again (doubling; a longer `Retry-After`
/// wins).
const THROTTLE_BACKOFF: Duration = Duration::from_millis(200);

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

    /// How long to wait before fetching again, when `error` is throttling this fallback would
    /// otherwise serve: throttling a caller can provoke (or the SDK's drained retry quota) must
    /// not swap a credential for the shared secret while retries remain. `None` once
    /// [`THROTTLE_RETRIES`] have run, when the wait (the vault's `Retry-After` at least) would
    /// take more than half the time left before `deadline`, or for any other error.
    pub(crate) fn throttle_wait(
        &self,
        error: &ResolveError,
        decision: &Decision,
        retried: u32,
        deadline: tokio::time::Instant,
    ) -> Option<Duration> {
        let ResolveError::Unavailable { source, .. } = error else {
            return None;
        };
        if source.kind != VaultErrorKind::Throttled
            || !self.enabled
            || !decision.secrets_manager_fallback
            || retried >= THROTTLE_RETRIES
        {
            return None;
        }
        let backoff = THROTTLE_BACKOFF.saturating_mul(1 << retried);
        let wait = source
            .retry_after
            .map_or(backoff, |after| after.max(backoff));
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        (wait <= left / 2).then_some(wait)
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
            // The task, not the user: a user id is withheld where user ids are off.
            tracing::warn!(
                "vault unavailable for {integration} (task {}), but the vault has served this task's principal before: no downgrade to the shared secret (`deputy fallback latched` lists it; clear the latch to allow it)",
                task.ctx.task_id
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
        let mut reason = match &error {
            ResolveError::Unavailable { source, .. } => format!(
                "vault unavailable: {} {:?}: {}",
                source.operation, source.kind, source.message
            ),
            other => format!("vault unavailable: {}", other.kind()),
        };
        if decision.fallback_replaces_user {
            // The audit record (the span's fallback reason) says a user's token was replaced.
            reason.insert_str(0, REPLACED_USER);
        }
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
