//! The resolver: decision table → cache → Token Vault → verification → span.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use deputy_core::actor::AssertedChain;
use deputy_core::audit::{ConsentOutcome, CredentialSource};
use deputy_core::flow::Flow;
use deputy_core::policy::{Decision, PolicyTable};
use deputy_core::{Integration, Operation};
use tracing::Instrument;

use crate::cache::{CacheKey, CacheOutcome, CachedToken, TokenCache};
use crate::consent::{ConsentHandler, ConsentWait, PendingConsents, PendingKey, PendingSession};
use crate::error::{ConsentRequired, ResolveError};
use crate::expiry::token_expiry;
use crate::repo_auth::{RepoAuthorizer, RepoDecision};
use crate::task::{Task, WatSource};
use crate::telemetry;
use crate::vault::{OAuth2Outcome, OAuth2Request, TokenVault};
use crate::verify::TokenVerifier;
use crate::{ResolvedToken, WorkloadAccessToken};

/// Resolves per-task, per-user credentials. Cheap to clone; share one per process.
///
/// Build it with [`Resolver::builder`]; call `resolve_<integration>_token` (or
/// [`Resolver::resolve_token`] for custom integrations) once per credential a task needs.
#[derive(Clone)]
pub struct Resolver {
    inner: Arc<Inner>,
}

struct Inner {
    policy: PolicyTable,
    vault: TokenVault,
    workload: String,
    orchestrator: Option<String>,
    cache: TokenCache,
    pending: PendingConsents,
    session_ttl: Duration,
    return_url: Option<String>,
    opaque_token_ttl: Duration,
    repo_authorizer: Option<Arc<dyn RepoAuthorizer>>,
    repo_decision_max_age: Duration,
    verifiers: HashMap<String, TokenVerifier>,
    record_user_ids: bool,
}

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolver")
            .field("workload", &self.inner.workload)
            .field("cache", &self.inner.cache)
            .finish_non_exhaustive()
    }
}

/// Why a resolver could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// A required setting is missing.
    #[error("resolver needs {0}; set it on the builder")]
    Missing(&'static str),
}

/// Builds a [`Resolver`].
#[derive(Default)]
pub struct ResolverBuilder {
    policy: Option<PolicyTable>,
    vault: Option<TokenVault>,
    workload: Option<String>,
    orchestrator: Option<String>,
    cache_entries: Option<u64>,
    cache_buffer: Option<Duration>,
    session_ttl: Option<Duration>,
    return_url: Option<String>,
    opaque_token_ttl: Option<Duration>,
    repo_authorizer: Option<Arc<dyn RepoAuthorizer>>,
    repo_decision_max_age: Option<Duration>,
    verifiers: HashMap<String, TokenVerifier>,
    record_user_ids: Option<bool>,
}

impl ResolverBuilder {
    /// The decision table (default: the built-in table).
    pub fn policy(mut self, policy: PolicyTable) -> Self {
        self.policy = Some(policy);
        self
    }

    /// The Token Vault client (required).
    pub fn vault(mut self, vault: TokenVault) -> Self {
        self.vault = Some(vault);
        self
    }

    /// The workload identity this agent runs as (required); it is also the asserted agent actor.
    pub fn workload(mut self, name: impl Into<String>) -> Self {
        self.workload = Some(name.into());
        self
    }

    /// The orchestrating workload, recorded in the asserted actor chain.
    pub fn orchestrator(mut self, name: impl Into<String>) -> Self {
        self.orchestrator = Some(name.into());
        self
    }

    /// Cache size (default 100,000 tokens) and refresh buffer before expiry (default 60 s).
    pub fn cache(mut self, max_entries: u64, buffer: Duration) -> Self {
        self.cache_entries = Some(max_entries);
        self.cache_buffer = Some(buffer);
        self
    }

    /// The return URL for user federation (must be on the workload's allow-list).
    pub fn return_url(mut self, url: impl Into<String>) -> Self {
        self.return_url = Some(url.into());
        self
    }

    /// How long a pending consent session is reused (default 10 minutes, as the vault's).
    pub fn consent_session_ttl(mut self, ttl: Duration) -> Self {
        self.session_ttl = Some(ttl);
        self
    }

    /// How long an opaque (non-JWT) token is reused (default 10 minutes).
    pub fn opaque_token_ttl(mut self, ttl: Duration) -> Self {
        self.opaque_token_ttl = Some(ttl);
        self
    }

    /// The repository authorizer for rules with `repo_authorization`, and how old an allow may be
    /// (default 5 minutes).
    pub fn repo_authorizer(
        mut self,
        authorizer: Arc<dyn RepoAuthorizer>,
        max_age: Duration,
    ) -> Self {
        self.repo_authorizer = Some(authorizer);
        self.repo_decision_max_age = Some(max_age);
        self
    }

    /// Verifies tokens from `provider` (on-behalf-of tokens must have a verifier).
    pub fn verifier(mut self, provider: impl Into<String>, verifier: TokenVerifier) -> Self {
        self.verifiers.insert(provider.into(), verifier);
        self
    }

    /// Whether spans carry user ids (default true); turn off where they count as PII.
    pub fn record_user_ids(mut self, on: bool) -> Self {
        self.record_user_ids = Some(on);
        self
    }

    /// Builds the resolver.
    pub fn build(self) -> Result<Resolver, BuildError> {
        let policy = match self.policy {
            Some(p) => p,
            None => PolicyTable::built_in().map_err(|_| BuildError::Missing("a valid policy"))?,
        };
        let session_ttl = self.session_ttl.unwrap_or(Duration::from_secs(600));
        Ok(Resolver {
            inner: Arc::new(Inner {
                policy,
                vault: self
                    .vault
                    .ok_or(BuildError::Missing("a Token Vault client (vault)"))?,
                workload: self
                    .workload
                    .ok_or(BuildError::Missing("a workload name (workload)"))?,
                orchestrator: self.orchestrator,
                cache: TokenCache::new(
                    self.cache_entries.unwrap_or(100_000),
                    self.cache_buffer.unwrap_or(Duration::from_secs(60)),
                ),
                pending: PendingConsents::new(session_ttl),
                session_ttl,
                return_url: self.return_url,
                opaque_token_ttl: self.opaque_token_ttl.unwrap_or(Duration::from_secs(600)),
                repo_authorizer: self.repo_authorizer,
                repo_decision_max_age: self
                    .repo_decision_max_age
                    .unwrap_or(Duration::from_secs(300)),
                verifiers: self.verifiers,
                record_user_ids: self.record_user_ids.unwrap_or(true),
            }),
        })
    }
}

impl Resolver {
    /// A builder.
    pub fn builder() -> ResolverBuilder {
        ResolverBuilder::default()
    }

    /// The decision table in use.
    pub fn policy(&self) -> &PolicyTable {
        &self.inner.policy
    }

    /// Resolves a token for any integration (custom ones included). Never blocks on consent:
    /// a pending consent is [`ResolveError::ConsentRequired`].
    pub async fn resolve_token(
        &self,
        task: &Task,
        integration: &Integration,
        op: Operation,
    ) -> Result<ResolvedToken, ResolveError> {
        let span = telemetry::resolve_span(task, integration, op, self.inner.record_user_ids);
        let result = self
            .resolve_in_span(task, integration, op, &span)
            .instrument(span.clone())
            .await;
        match &result {
            Ok(resolved) => {
                let consent = if resolved.flow == Flow::UserFederation {
                    ConsentOutcome::Granted
                } else {
                    ConsentOutcome::NotRequired
                };
                telemetry::record_success(&span, resolved, consent);
            }
            Err(error) => telemetry::record_error(&span, error),
        }
        result
    }

    /// Like [`Resolver::resolve_token`], but when consent is needed it notifies `handler` once
    /// and polls with backoff until a token, a failed session, or `wait.timeout`.
    pub async fn resolve_token_waiting(
        &self,
        task: &Task,
        integration: &Integration,
        op: Operation,
        handler: &dyn ConsentHandler,
        wait: ConsentWait,
    ) -> Result<ResolvedToken, ResolveError> {
        let consent = match self.resolve_token(task, integration, op).await {
            Err(ResolveError::ConsentRequired(consent, _)) => consent,
            other => return other,
        };
        handler.notify(&consent, task).await;
        let deadline = tokio::time::Instant::now()
            + wait.timeout.min(
                consent
                    .expires_at
                    .duration_since(SystemTime::now())
                    .unwrap_or_default(),
            );
        for delay in wait.delays() {
            if tokio::time::Instant::now() + delay > deadline {
                break;
            }
            tokio::time::sleep(delay).await;
            match self.resolve_token(task, integration, op).await {
                Err(ResolveError::ConsentRequired(..)) => continue,
                other => return other,
            }
        }
        Err(ResolveError::ConsentRequired(consent, integration.clone()))
    }

    /// Binds a consent session to the task's user (`CompleteResourceTokenAuth`) with the same
    /// artifact that minted the task's WAT. Call it from the return-URL handler.
    pub async fn complete_consent(
        &self,
        task: &Task,
        integration: &Integration,
        session_uri: &str,
    ) -> Result<(), ResolveError> {
        let binding = task.wat.binding().ok_or_else(|| ResolveError::MissingContext {
            integration: integration.clone(),
            problem: "the task's WAT source does not say which user it is bound to; pass bound_to for Runtime WATs".into(),
        })?;
        self.inner
            .vault
            .complete_consent(session_uri, binding)
            .await
            .map_err(|e| ResolveError::from_vault(integration, e))
    }

    /// Binds a consent session from the return-URL callback: `custom_state` must be one this
    /// resolver issued for `session_uri` (each is good once, until the session expires).
    pub async fn complete_consent_callback(
        &self,
        session_uri: &str,
        custom_state: &str,
    ) -> Result<(), ResolveError> {
        let Some(pending) = self.inner.pending.take_state(custom_state).await else {
            return Err(ResolveError::CallbackRejected("custom_state is unknown, already used or expired (possible CSRF); nothing was bound".into()));
        };
        if pending.session_uri != session_uri {
            return Err(ResolveError::CallbackRejected(
                "session_id does not match the session this custom_state was issued for".into(),
            ));
        }
        self.inner
            .vault
            .complete_consent(session_uri, &pending.binding)
            .await
            .map_err(|e| ResolveError::from_vault(&pending.integration, e))
    }

    async fn resolve_in_span(
        &self,
        task: &Task,
        integration: &Integration,
        op: Operation,
        span: &tracing::Span,
    ) -> Result<ResolvedToken, ResolveError> {
        let inner = &self.inner;
        let decision = inner.policy.decide(&task.ctx, integration, op)?;
        telemetry::record_decision(
            span,
            &decision,
            &self.asserted_chain(task),
            inner.record_user_ids,
        );
        self.check_preconditions(task, integration, op, &decision)
            .await?;
        let key = self.cache_key(task, &decision);
        let fetch = self.fetch(task, integration, &decision);
        let (cached, outcome) = inner
            .cache
            .get_or_fetch(key, fetch)
            .await
            .map_err(|e| (*e).clone())?;
        Ok(ResolvedToken {
            token: cached.token,
            expires_at: cached.expires_at,
            flow: decision.flow,
            provider: decision.provider,
            source: if outcome == CacheOutcome::Hit {
                CredentialSource::Cache
            } else {
                CredentialSource::Vault
            },
            rule_id: decision.rule_id,
            observed: cached.observed,
        })
    }

    fn asserted_chain(&self, task: &Task) -> AssertedChain {
        AssertedChain {
            user: task.ctx.user().cloned(),
            orchestrator: self.inner.orchestrator.clone(),
            agent: self.inner.workload.clone(),
        }
    }

    async fn check_preconditions(
        &self,
        task: &Task,
        integration: &Integration,
        op: Operation,
        decision: &Decision,
    ) -> Result<(), ResolveError> {
        let missing = |problem: String| ResolveError::MissingContext {
            integration: integration.clone(),
            problem,
        };
        match &decision.flow {
            Flow::Deny { reason } => {
                return Err(ResolveError::PolicyDenied {
                    integration: integration.clone(),
                    operation: op,
                    rule_id: decision.rule_id.clone(),
                    reason: reason.clone(),
                });
            }
            Flow::GithubApp { .. } => {
                return Err(missing(format!(
                    "rule {:?} chose a GitHub App installation token, but this resolver has no GitHub App configured",
                    decision.rule_id
                )));
            }
            Flow::OnBehalfOf { .. } if !task.wat.is_jwt_bound() => {
                return Err(missing(
                    "on-behalf-of exchange needs a WAT bound to the user's JWT (GetWorkloadAccessTokenForJWT); this task's WAT is not".into(),
                ));
            }
            flow if flow.needs_user() && task.ctx.user().is_none() => {
                return Err(missing(format!(
                    "flow {flow} needs a user, and the task has none"
                )));
            }
            _ => {}
        }
        if decision.repo_authorization && op == Operation::Write {
            self.authorize_repo(task, integration, op).await?;
        }
        Ok(())
    }

    async fn authorize_repo(
        &self,
        task: &Task,
        integration: &Integration,
        op: Operation,
    ) -> Result<(), ResolveError> {
        let repo = task
            .ctx
            .repo
            .as_ref()
            .ok_or_else(|| ResolveError::MissingContext {
                integration: integration.clone(),
                problem:
                    "this write needs repository authorization, and the task names no repository"
                        .into(),
            })?;
        let principal = task
            .ctx
            .user()
            .map_or(self.inner.workload.as_str(), |u| u.as_str());
        let refuse = |reason: String| ResolveError::RepoNotAuthorized {
            integration: integration.clone(),
            repo: repo.to_string(),
            principal: principal.to_owned(),
            reason,
        };
        let Some(authorizer) = &self.inner.repo_authorizer else {
            return Err(refuse(
                "no RepoAuthorizer is configured, so writes fail closed".into(),
            ));
        };
        match authorizer.authorize(principal, repo, op).await {
            RepoDecision::Allow { decided_at } => {
                let age = SystemTime::now()
                    .duration_since(decided_at)
                    .unwrap_or_default();
                if age > self.inner.repo_decision_max_age {
                    Err(refuse(format!(
                        "the allow decision is {}s old (limit {}s)",
                        age.as_secs(),
                        self.inner.repo_decision_max_age.as_secs()
                    )))
                } else {
                    Ok(())
                }
            }
            RepoDecision::Deny { reason } => Err(refuse(reason)),
            RepoDecision::Unknown => Err(refuse("the authorizer has no decision".into())),
        }
    }

    fn cache_key(&self, task: &Task, decision: &Decision) -> CacheKey {
        let provider = decision.provider.as_deref().unwrap_or("-");
        let mut key = CacheKey::new(&self.inner.workload, provider, decision.flow.name())
            .scopes(&decision.scopes)
            .audiences(&decision.audiences)
            .resources(&decision.resources);
        if decision.flow.needs_user()
            && let Some(user) = task.ctx.user()
        {
            key = key.user(&task.wat.principal(user.as_str()));
        }
        key
    }

    async fn wat(
        &self,
        task: &Task,
        integration: &Integration,
    ) -> Result<WorkloadAccessToken, ResolveError> {
        match &task.wat {
            WatSource::Runtime { wat, .. } => Ok(wat.clone()),
            WatSource::Mint(binding) => self
                .inner
                .vault
                .workload_access_token(&self.inner.workload, binding)
                .await
                .map_err(|e| ResolveError::from_vault(integration, e)),
        }
    }

    async fn fetch(
        &self,
        task: &Task,
        integration: &Integration,
        decision: &Decision,
    ) -> Result<CachedToken, ResolveError> {
        let inner = &self.inner;
        let provider = decision.provider.clone().unwrap_or_default();
        let wat = self.wat(task, integration).await?;
        let vault_err = |e| ResolveError::from_vault(integration, e);
        let token = match &decision.flow {
            Flow::ApiKey => inner
                .vault
                .api_key(&wat, &provider)
                .await
                .map_err(vault_err)?,
            flow => {
                let wire = flow.oauth2_flow().unwrap_or("M2M");
                let pending_key = (*flow == Flow::UserFederation).then(|| PendingKey {
                    workload: inner.workload.clone(),
                    user: task
                        .wat
                        .principal(task.ctx.user().map_or("", |u| u.as_str())),
                    provider: provider.clone(),
                    scopes: sorted(&decision.scopes),
                });
                let pending = match &pending_key {
                    Some(k) => inner.pending.get(k).await,
                    None => None,
                };
                let new_state = (pending_key.is_some() && pending.is_none()).then(random_state);
                let request = OAuth2Request {
                    provider: provider.clone(),
                    flow: wire,
                    scopes: decision.scopes.clone(),
                    audiences: decision.audiences.clone(),
                    resources: decision.resources.clone(),
                    return_url: pending_key.as_ref().and(inner.return_url.clone()),
                    session_uri: pending.as_ref().map(|p| p.session_uri.clone()),
                    force_authentication: false,
                    custom_state: new_state.clone(),
                };
                match inner
                    .vault
                    .oauth2_token(&wat, &request)
                    .await
                    .map_err(vault_err)?
                {
                    OAuth2Outcome::Token(token) => {
                        if let Some(k) = &pending_key {
                            inner.pending.remove(k).await;
                        }
                        token
                    }
                    OAuth2Outcome::Consent { failed: true, .. } => {
                        if let Some(k) = &pending_key {
                            inner.pending.remove(k).await;
                        }
                        return Err(ResolveError::ConsentFailed {
                            integration: integration.clone(),
                            provider,
                        });
                    }
                    OAuth2Outcome::Consent {
                        authorization_url,
                        session_uri,
                        ..
                    } => {
                        let consent = match (pending, authorization_url, session_uri, pending_key) {
                            (Some(existing), _, _, _) => (*existing).clone(),
                            (None, Some(url), Some(session), Some(key)) => {
                                let consent = ConsentRequired {
                                    authorization_url: url,
                                    session_uri: session,
                                    expires_at: SystemTime::now() + inner.session_ttl,
                                    provider: provider.clone(),
                                    scopes: decision.scopes.clone(),
                                };
                                inner.pending.insert(key, consent.clone()).await;
                                if let (Some(state), Some(binding)) =
                                    (new_state, task.wat.binding())
                                {
                                    let session = PendingSession {
                                        session_uri: consent.session_uri.clone(),
                                        binding: binding.clone(),
                                        integration: integration.clone(),
                                    };
                                    inner.pending.remember_state(state, session).await;
                                }
                                consent
                            }
                            _ => {
                                return Err(ResolveError::InvalidToken {
                                    integration: integration.clone(),
                                    provider,
                                    reason: format!(
                                        "the vault asked for consent on a {} flow, or without an authorization URL",
                                        flow.name()
                                    ),
                                });
                            }
                        };
                        return Err(ResolveError::ConsentRequired(
                            Box::new(consent),
                            integration.clone(),
                        ));
                    }
                }
            }
        };
        let observed = match (&decision.flow, inner.verifiers.get(&provider)) {
            (_, Some(verifier)) => {
                Some(verifier.verify(token.expose()).await.map_err(|reason| {
                    ResolveError::InvalidToken {
                        integration: integration.clone(),
                        provider: provider.clone(),
                        reason,
                    }
                })?)
            }
            (Flow::OnBehalfOf { .. }, None) => {
                return Err(ResolveError::InvalidToken {
                    integration: integration.clone(),
                    provider,
                    reason: "on-behalf-of tokens must be verified, and no verifier is configured for this provider".into(),
                });
            }
            _ => None,
        };
        Ok(CachedToken {
            expires_at: token_expiry(token.expose(), SystemTime::now(), inner.opaque_token_ttl),
            token,
            observed,
        })
    }
}

/// 128 random bits, hex: the `customState` that ties a callback to the session it started.
fn random_state() -> String {
    let mut bytes = [0u8; 16];
    // aws-lc-rs's system RNG; on the (never observed) failure the state is still unique per
    // process because the callback also checks the session it was issued for.
    let _ = aws_lc_rs::rand::fill(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn sorted(items: &[String]) -> Vec<String> {
    let mut v = items.to_vec();
    v.sort();
    v.dedup();
    v
}
