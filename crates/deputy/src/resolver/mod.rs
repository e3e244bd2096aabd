//! The resolver: decision table → cache → Token Vault → verification → span.

mod api_keys;
mod builder;
mod checks;
mod fetch;
mod forget;
mod obo_binding;
mod serve;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use deputy_core::actor::AssertedChainRef;
use deputy_core::flow::{ActorToken, Flow};
use deputy_core::policy::{Decision, PolicyTable};
use deputy_core::{Integration, Operation};
use tracing::Instrument;

use crate::cache::{CompactKey, KeyFields, TokenCache};
use crate::consent::{ConsentHandler, ConsentWait, PendingConsents};
use crate::error::ResolveError;
use crate::fallback::SecretsManagerFallback;
use crate::repo_auth::RepoAuthorizer;
use crate::task::{Task, WatSource};
use crate::telemetry;
use crate::vault::TokenVault;
use crate::verify::TokenVerifier;
use crate::{ResolvedToken, WorkloadAccessToken};
use serve::FirstLook;

pub use builder::{BuildError, ResolverBuilder};

/// Resolves per-task, per-user credentials. Cheap to clone; share one per process.
///
/// Build it with [`Resolver::builder`]; call `resolve_<integration>_token` (or
/// [`Resolver::resolve_token`] for custom integrations) once per credential a task needs.
#[derive(Clone)]
pub struct Resolver {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub(super) policy: PolicyTable,
    pub(super) vault: TokenVault,
    pub(super) workload: String,
    pub(super) orchestrator: Option<String>,
    /// Per OBO provider, the actor subject the workload acts as (`act.sub` in its tokens).
    pub(super) obo_actors: HashMap<String, String>,
    pub(super) cache: TokenCache,
    pub(super) pending: PendingConsents,
    pub(super) session_ttl: Duration,
    pub(super) return_url: Option<String>,
    pub(super) opaque_token_ttl: Duration,
    pub(super) repo_authorizer: Option<Arc<dyn RepoAuthorizer>>,
    pub(super) repo_decision_max_age: Duration,
    pub(super) verifiers: HashMap<String, TokenVerifier>,
    pub(super) record_user_ids: bool,
    pub(super) fallback: Option<Arc<SecretsManagerFallback>>,
    pub(super) api_keys: api_keys::ApiKeyRotation,
    pub(super) github_app: Option<Arc<crate::github_app::GithubApp>>,
    pub(super) deadline: Duration,
}

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolver")
            .field("workload", &self.inner.workload)
            .field("cache", &self.inner.cache)
            .finish_non_exhaustive()
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
        let inner = &self.inner;
        let request = telemetry::Request::new(task, integration, op, inner.record_user_ids);
        let span = telemetry::resolve_span(&request);
        let mut direct = telemetry::DirectSpan::start(&request);
        let mut decided = None;
        // A cache hit (or a refusal) needs no waiting, so it is served without arming the
        // deadline's timer or building the instrumented future; only the rest waits.
        let result = match span.in_scope(|| self.first_look(task, integration, op, &mut decided)) {
            FirstLook::Done(result) => result,
            FirstLook::Wait(wait) => tokio::time::timeout(
                inner.deadline,
                self.resolve_rest(task, integration, wait, direct.as_mut())
                    .instrument(span.clone()),
            )
            .await
            .unwrap_or_else(|_| {
                Err(ResolveError::DeadlineExceeded {
                    integration: integration.clone(),
                    deadline: inner.deadline,
                })
            }),
        };
        // A failure's text, with the user withheld when user ids are off.
        let failure = result
            .as_ref()
            .err()
            .map(|error| telemetry::failure_message(error, &request));
        if !span.is_disabled() || direct.is_some() {
            let decision = decided.as_deref();
            let asserted = decision.map(|decision| self.asserted_chain(task, decision));
            let outcome =
                telemetry::Outcome::new(decision, asserted, inner.record_user_ids, &result);
            if !span.is_disabled() {
                telemetry::record_outcome(&span, &outcome);
            }
            if let Some(direct) = direct {
                direct.finish(outcome, failure.as_deref());
            }
        }
        if let Some(message) = &failure {
            telemetry::warn_failed(&span, message);
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
    /// artifact that minted the task's WAT, for a return-URL handler of the app's own:
    /// `browser_user` is the user the handler authenticated on the browser that arrived, and
    /// nothing is bound unless it is the task's user ([`ResolveError::ConsentUserMismatch`]).
    /// [`crate::callback::consent_callback_router`] does all of this for you.
    pub async fn complete_consent(
        &self,
        task: &Task,
        integration: &Integration,
        session_uri: &str,
        browser_user: &deputy_core::UserId,
    ) -> Result<(), ResolveError> {
        let binding = task.wat.binding();
        if binding.user() != Some(browser_user) {
            return Err(ResolveError::ConsentUserMismatch {
                integration: integration.clone(),
                provider: None,
            });
        }
        self.inner
            .vault
            .complete_consent(session_uri, binding)
            .await
            .map_err(|e| ResolveError::from_vault(integration, e))
    }

    /// Binds a consent session from the return-URL callback: `custom_state` must be one this
    /// resolver issued for `session_uri` (each is good once, until the session expires), and
    /// `browser_user`, the user signed in on the browser that arrived
    /// ([`crate::callback::BrowserAuthenticator`]), must be the user who started it. A forwarded
    /// link approved by someone else binds nothing, spends the state, and forgets the session,
    /// so the initiator's next resolve starts a fresh one.
    pub async fn complete_consent_callback(
        &self,
        session_uri: &str,
        custom_state: &str,
        browser_user: &deputy_core::UserId,
    ) -> Result<(), ResolveError> {
        let Some(pending) = self.inner.pending.take_state(custom_state).await else {
            return Err(ResolveError::CallbackRejected("custom_state is unknown, already used or expired (possible CSRF); nothing was bound".into()));
        };
        if pending.session_uri != session_uri {
            return Err(ResolveError::CallbackRejected(
                "session_id does not match the session this custom_state was issued for".into(),
            ));
        }
        if pending.binding.user() != Some(browser_user) {
            self.inner.pending.remove(&pending.key).await;
            return Err(ResolveError::ConsentUserMismatch {
                integration: pending.integration.clone(),
                provider: Some(pending.key.provider.clone()),
            });
        }
        let bound = self
            .inner
            .vault
            .complete_consent(session_uri, &pending.binding)
            .await;
        if bound.is_err() {
            // The state is spent; the initiator's next resolve starts a fresh session instead
            // of handing out this one's link again.
            self.inner.pending.remove(&pending.key).await;
        }
        bound.map_err(|e| ResolveError::from_vault(&pending.integration, e))
    }

    /// The user as the vault sees them ([`Task::principal`]), when the flow acts for a user.
    fn vault_user<'t>(&self, task: &'t Task, decision: &Decision) -> Option<&'t str> {
        task.principal().filter(|_| decision.flow.needs_user())
    }

    /// The chain this resolve asserts. For an on-behalf-of decision on a provider with a
    /// declared actor ([`ResolverBuilder::obo_actor`]) the agent is that subject and the
    /// workload name is kept beside it; otherwise the agent is the workload name.
    fn asserted_chain<'a>(&'a self, task: &'a Task, decision: &Decision) -> AssertedChainRef<'a> {
        let workload = self.inner.workload.as_str();
        let declared = matches!(decision.flow, Flow::OnBehalfOf { .. })
            .then(|| decision.provider.as_ref())
            .flatten()
            .and_then(|provider| self.inner.obo_actors.get(&**provider))
            .map(String::as_str)
            .filter(|actor| *actor != workload);
        AssertedChainRef {
            user: task.ctx.user(),
            orchestrator: task.orchestrator().or(self.inner.orchestrator.as_deref()),
            agent: declared.unwrap_or(workload),
            workload: declared.map(|_| workload),
        }
    }

    fn cache_key(&self, task: &Task, decision: &Decision, user: Option<&str>) -> CompactKey {
        if let Some(key) = self.github_app_cache_key(task, decision) {
            return key.compact();
        }
        KeyFields {
            workload: &self.inner.workload,
            user,
            provider: decision.provider.as_deref().unwrap_or("-"),
            flow: flow_key(decision),
            scopes: &decision.scopes,
            audiences: &decision.audiences,
            resources: &decision.resources,
            repo: None,
            task: None,
        }
        .compact()
    }

    pub(super) async fn wat(
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
}

/// The flow as the cache keys it: an on-behalf-of token is kept apart by actor mode, so an
/// impersonation token (no `act`) one rule accepted is never served to a rule that delegates;
/// and a fresh-consent token never serves a rule that reuses older consents.
fn flow_key(decision: &Decision) -> &'static str {
    match (&decision.flow, decision.consent_max_age) {
        (Flow::OnBehalfOf { actor }, _) => match actor {
            ActorToken::M2m => "on_behalf_of/m2m",
            ActorToken::AwsIamIdTokenJwt => "on_behalf_of/aws_iam_id_token_jwt",
            ActorToken::None => "on_behalf_of/none",
        },
        (Flow::UserFederation, Some(_)) => "user_federation+fresh_consent",
        (flow, _) => flow.name(),
    }
}
