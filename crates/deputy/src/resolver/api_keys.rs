//! API-key provider selection: a rotation pool (round-robin, for rate-limited APIs) and a backup
//! provider used only while the primary is reported invalid after a key rotation.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use deputy_core::flow::Flow;
use deputy_core::policy::Decision;

use super::Resolver;
use crate::ResolvedToken;

/// How long a provider reported invalid is avoided before the primary is tried again.
const INVALID_FOR: Duration = Duration::from_secs(900);

#[derive(Debug, Default)]
pub(crate) struct ApiKeyRotation {
    next: Mutex<HashMap<Arc<str>, usize>>,
    invalid: Mutex<HashMap<String, Instant>>,
}

impl ApiKeyRotation {
    fn is_invalid(&self, provider: &str) -> bool {
        self.invalid
            .lock()
            .map(|m| {
                m.get(provider)
                    .is_some_and(|since| since.elapsed() < INVALID_FOR)
            })
            .unwrap_or(false)
    }

    /// Picks the provider for an API-key decision; the shared decision is copied only when the
    /// provider changes.
    pub(super) fn choose(&self, decision: &mut Arc<Decision>) {
        if decision.flow != Flow::ApiKey {
            return;
        }
        if !decision.provider_pool.is_empty() {
            let pool = &decision.provider_pool;
            let start = self
                .next
                .lock()
                .map(|mut next| {
                    let slot = next.entry(decision.rule_id.clone()).or_insert(0);
                    let start = *slot;
                    *slot = slot.wrapping_add(1);
                    start
                })
                .unwrap_or(0);
            let pick = (0..pool.len())
                .map(|i| &pool[(start + i) % pool.len()])
                .find(|p| !self.is_invalid(p))
                .unwrap_or(&pool[start % pool.len()]);
            if decision.provider.as_deref() != Some(pick.as_str()) {
                let pick = pick.as_str().into();
                Arc::make_mut(decision).provider = Some(pick);
            }
        } else if let (Some(primary), Some(backup)) =
            (&decision.provider, &decision.backup_provider)
            && self.is_invalid(primary)
        {
            let backup = backup.as_str().into();
            Arc::make_mut(decision).provider = Some(backup);
        }
    }

    fn mark_invalid(&self, provider: &str) {
        if let Ok(mut invalid) = self.invalid.lock() {
            invalid.insert(provider.to_owned(), Instant::now());
        }
    }
}

impl Resolver {
    /// Reports that the downstream API rejected an API key this resolver issued (typically after
    /// a key rotation). Its provider is avoided for 15 minutes: the rule's backup provider, or
    /// the next pool member, serves meanwhile. Cached keys of that provider are dropped.
    pub fn report_invalid_api_key(&self, resolved: &ResolvedToken) {
        if resolved.flow != Flow::ApiKey {
            return;
        }
        if let Some(provider) = &resolved.provider {
            tracing::warn!(
                "API key from provider {provider} reported invalid; using the backup or the next pool member"
            );
            self.inner.api_keys.mark_invalid(provider);
            self.inner.cache.invalidate_provider(provider);
        }
    }
}
