//! Building a [`Resolver`].

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use deputy_core::policy::PolicyTable;

use super::{Inner, Resolver};
use crate::cache::TokenCache;
use crate::consent::PendingConsents;
use crate::fallback::SecretsManagerFallback;
use crate::github_app::GithubApp;
use crate::repo_auth::RepoAuthorizer;
use crate::vault::TokenVault;
use crate::verify::TokenVerifier;

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
    obo_actors: HashMap<String, String>,
    cache_entries: Option<u64>,
    cache_buffer: Option<Duration>,
    session_ttl: Option<Duration>,
    return_url: Option<String>,
    opaque_token_ttl: Option<Duration>,
    repo_authorizer: Option<Arc<dyn RepoAuthorizer>>,
    repo_decision_max_age: Option<Duration>,
    verifiers: HashMap<String, TokenVerifier>,
    record_user_ids: Option<bool>,
    fallback: Option<Arc<SecretsManagerFallback>>,
    github_app: Option<Arc<GithubApp>>,
    deadline: Option<Duration>,
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

    /// Declares the actor subject this workload acts as on the on-behalf-of `provider`: the
    /// `act.sub` its exchanged tokens carry (with an M2M actor token, the client id the
    /// provider authenticates the agent with). The resolver then asserts that subject as the
    /// agent for OBO decisions on `provider` (the workload name stays in the record as
    /// `workload`), so the audit pipeline compares the token with what was declared instead of
    /// flagging every OBO token. Without a declaration the workload name is asserted.
    ///
    /// ```
    /// use aws_sdk_bedrockagentcore::config::{BehaviorVersion, Region};
    /// let sdk = aws_sdk_bedrockagentcore::Config::builder()
    ///     .behavior_version(BehaviorVersion::latest())
    ///     .region(Region::new("us-east-1"))
    ///     .build();
    /// let vault = deputy::vault::TokenVault::new(aws_sdk_bedrockagentcore::Client::from_conf(sdk));
    /// let resolver = deputy::Resolver::builder()
    ///     .vault(vault)
    ///     .workload("deputy-agent")
    ///     .obo_actor("aws-native", "0oa1agentclientid")
    ///     .build();
    /// assert!(resolver.is_ok());
    /// ```
    pub fn obo_actor(mut self, provider: impl Into<String>, actor: impl Into<String>) -> Self {
        self.obo_actors.insert(provider.into(), actor.into());
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

    /// The Secrets Manager fallback (used only where the table allows it and the fallback is
    /// switched on; see [`crate::fallback`]).
    pub fn fallback(mut self, fallback: Arc<SecretsManagerFallback>) -> Self {
        self.fallback = Some(fallback);
        self
    }

    /// The GitHub App that serves rules with `flow = "github_app"` (see [`crate::github_app`]).
    /// Without one, such rules fail with a missing-context error naming the rule.
    pub fn github_app(mut self, app: GithubApp) -> Self {
        self.github_app = Some(Arc::new(app));
        self
    }

    /// The most one resolve may take, vault calls and token verification included (default
    /// 10 s); past it the resolve fails with [`ResolveError::DeadlineExceeded`](crate::ResolveError::DeadlineExceeded)
    /// rather than hang. Keep it above the vault client's operation timeout
    /// ([`CallPolicy`](crate::vault::CallPolicy)) so vault outages surface as "unavailable"
    /// first, where the fallback may answer.
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
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
                obo_actors: self.obo_actors,
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
                fallback: self.fallback,
                api_keys: Default::default(),
                github_app: self.github_app,
                deadline: self.deadline.unwrap_or(Duration::from_secs(10)),
            }),
        })
    }
}
