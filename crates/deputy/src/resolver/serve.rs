//! Serving a resolve: what needs no waiting first (decision, checks, cache), then what waits
//! (the repository authorizer, the vault, the fallback).

use std::sync::Arc;

use deputy_core::audit::CredentialSource;
use deputy_core::policy::Decision;
use deputy_core::{Integration, Operation};
use opentelemetry::context::FutureExt as _;

use super::Resolver;
use crate::ResolvedToken;
use crate::cache::{CacheOutcome, CachedToken, HashedKey};
use crate::error::ResolveError;
use crate::task::Task;
use crate::telemetry;

impl Resolver {
    /// Decides, checks what needs no waiting, and serves from the cache. The decision is left in
    /// `decided` as soon as it is made, so the span records it even when the resolve then
    /// fails or runs out of time.
    pub(super) fn first_look(
        &self,
        task: &Task,
        integration: &Integration,
        op: Operation,
        decided: &mut Option<Arc<Decision>>,
    ) -> FirstLook {
        let inner = &self.inner;
        let mut decision = match inner.policy.decide(&task.ctx, integration, op) {
            Ok(decision) => decision,
            Err(error) => return FirstLook::Done(Err(error.into())),
        };
        inner.api_keys.choose(&mut decision);
        let decision = decided.insert(decision);
        match self.check_preconditions(task, integration, op, decision) {
            Err(error) => FirstLook::Done(Err(error)),
            Ok(true) => FirstLook::Wait(Wait::Authorize(Arc::clone(decision))),
            Ok(false) => match self.look_up(task, decision) {
                Cached::Hit(resolved) => FirstLook::Done(Ok(resolved)),
                Cached::Miss { key, user } => FirstLook::Wait(Wait::Miss {
                    decision: Arc::clone(decision),
                    key,
                    user,
                }),
            },
        }
    }

    /// Serves the decision's token from the cache, or says what to fetch.
    fn look_up(&self, task: &Task, decision: &Decision) -> Cached {
        let inner = &self.inner;
        let user = self.vault_user(task, decision);
        let key = inner.cache.hashed(self.cache_key(task, decision, user));
        match inner.cache.get(&key) {
            Some(cached) => Cached::Hit(resolved(cached, decision, CredentialSource::Cache)),
            None => Cached::Miss {
                key,
                user: user.map(str::to_owned),
            },
        }
    }

    /// What waits: the repository authorizer, then the cache again, then the vault.
    pub(super) async fn resolve_rest(
        &self,
        task: &Task,
        integration: &Integration,
        wait: Wait,
        direct: Option<&mut telemetry::DirectSpan>,
    ) -> Result<ResolvedToken, ResolveError> {
        // The deadline's timer was armed just before this future first ran.
        let deadline = tokio::time::Instant::now() + self.inner.deadline;
        let (decision, key, user) = match wait {
            Wait::Miss {
                decision,
                key,
                user,
            } => (decision, key, user),
            Wait::Authorize(decision) => {
                self.authorize_repo(task, integration).await?;
                match self.look_up(task, &decision) {
                    Cached::Hit(resolved) => return Ok(resolved),
                    Cached::Miss { key, user } => (decision, key, user),
                }
            }
        };
        // Boxed, so the future the deadline wraps stays small: the miss path's (vault calls,
        // verification) is several kilobytes.
        let miss = Box::pin(self.resolve_miss(task, integration, &decision, key, user, deadline));
        match direct {
            // The vault calls become children of the directly exported span.
            Some(direct) => miss.with_context(direct.child_context()).await,
            None => miss.await,
        }
    }

    /// A cache miss: one fetch per key however many callers wait, the fallback when the vault
    /// fails (throttling the fallback would serve is fetched again first, see
    /// `SecretsManagerFallback::throttle_wait`), and the no-downgrade latch when it serves.
    async fn resolve_miss(
        &self,
        task: &Task,
        integration: &Integration,
        decision: &Decision,
        key: HashedKey,
        user: Option<String>,
        deadline: tokio::time::Instant,
    ) -> Result<ResolvedToken, ResolveError> {
        let inner = &self.inner;
        // Who the no-downgrade latch tracks: the user as the vault sees them (without a JWT
        // user's issuer, so latches written before it joined the principal still hold), or
        // the workload.
        let principal = match user {
            Some(user) => crate::task::principal_without_issuer(&user).to_owned(),
            None => format!("workload:{}", inner.workload),
        };
        let (mut key, mut retried) = (Some(key), 0);
        let (cached, outcome) = loop {
            let key = match key.take() {
                Some(key) => key,
                // A throttled fetch tried again (rare): the key is worked out again.
                None => inner.cache.hashed(self.cache_key(
                    task,
                    decision,
                    self.vault_user(task, decision),
                )),
            };
            let fetch = self.fetch(task, integration, decision);
            let error = match inner.cache.fetch_once(key, fetch).await {
                Ok(found) => break found,
                Err(error) => (*error).clone(),
            };
            let wait = inner
                .fallback
                .as_ref()
                .and_then(|fallback| fallback.throttle_wait(&error, decision, retried, deadline));
            if let Some(wait) = wait {
                retried += 1;
                tokio::time::sleep(wait).await;
                continue;
            }
            return match &inner.fallback {
                // The fallback's steps are boxed, so this (common) future stays small.
                Some(fallback) => {
                    let policy = &inner.policy;
                    Box::pin(fallback.serve(policy, task, integration, decision, &principal, error))
                        .await
                }
                None => Err(error),
            };
        };
        if outcome == CacheOutcome::Miss
            && let Some(fallback) = &inner.fallback
        {
            Box::pin(fallback.vault_served(&principal, integration)).await;
        }
        let source = match outcome {
            CacheOutcome::Hit => CredentialSource::Cache,
            CacheOutcome::Miss => CredentialSource::Vault,
        };
        Ok(resolved(cached, decision, source))
    }
}

/// How far a resolve got without waiting ([`Resolver::first_look`]).
pub(super) enum FirstLook {
    /// Served from the cache, or refused.
    Done(Result<ResolvedToken, ResolveError>),
    /// What it must wait for ([`Resolver::resolve_rest`]).
    Wait(Wait),
}

/// What a resolve must wait for.
pub(super) enum Wait {
    /// A repository authorizer must allow the write first.
    Authorize(Arc<Decision>),
    /// Not cached: the token must be fetched.
    Miss {
        decision: Arc<Decision>,
        key: HashedKey,
        user: Option<String>,
    },
}

/// What the cache holds for a decision ([`Resolver::look_up`]).
enum Cached {
    Hit(ResolvedToken),
    /// Not cached: the key to fetch it under, and the user as the vault sees them.
    Miss {
        key: HashedKey,
        user: Option<String>,
    },
}

/// What a resolve returns, from the token and the decision that chose it.
fn resolved(cached: CachedToken, decision: &Decision, source: CredentialSource) -> ResolvedToken {
    ResolvedToken {
        token: cached.token,
        expires_at: cached.expires_at,
        flow: decision.flow.clone(),
        provider: decision.provider.clone(),
        source,
        rule_id: decision.rule_id.clone(),
        observed: cached.observed.map(|o| *o),
        fallback_reason: None,
    }
}
