//! Shared set-up for the GitHub App tests: a local vault holding the App key, the fake GitHub,
//! resolvers with the `github-app` feature on, and fixed repository authorizers.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use deputy::github_app::{
    AppKeySource, AppPrivateKey, GithubApp, KeyFuture, KeyRequest, VaultApiKeySource,
};
use deputy::repo_auth::{AuthorizeFuture, RepoAuthorizer, RepoDecision};
use deputy_core::policy::PolicyTable;
use deputy_core::{Operation, RepoRef};
use deputy_vault_local::config::ApiKeyConfig;
use deputy_vault_local::{LocalVault, RunningVault, Sensitive, VaultConfig};

use super::{APP_ID, AppKey, FakeGithub};
use crate::common;

pub const KEY_PROVIDER: &str = "github-app-key";

pub struct Setup {
    pub vault: RunningVault,
    pub github: FakeGithub,
    pub key: AppKey,
}

pub async fn setup(repos: &[&str], permissions: &[(&str, &str)]) -> Setup {
    let key = AppKey::generate();
    let mut config = VaultConfig::development();
    config.api_keys.push(ApiKeyConfig {
        name: KEY_PROVIDER.into(),
        api_key: Sensitive::new(key.pem.clone()),
    });
    let vault = LocalVault::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let github = FakeGithub::start(&key, "octo-org", repos, permissions).await;
    Setup { vault, github, key }
}

pub const ALL: &[(&str, &str)] = &[
    ("contents", "write"),
    ("metadata", "read"),
    ("pull_requests", "write"),
];

pub fn app(github: &FakeGithub) -> GithubApp {
    GithubApp::new(APP_ID, Arc::new(VaultApiKeySource::new(KEY_PROVIDER))).base_uri(&github.base)
}

pub fn resolver(s: &Setup, authorizer: Option<Arc<dyn RepoAuthorizer>>) -> deputy::Resolver {
    let mut builder = common::builder(&s.vault)
        .policy(
            PolicyTable::built_in()
                .unwrap()
                .with_feature("github-app", true)
                .unwrap(),
        )
        .github_app(app(&s.github));
    if let Some(a) = authorizer {
        builder = builder.repo_authorizer(a, Duration::from_secs(300));
    }
    builder.build().unwrap()
}

pub fn repo(name: &str) -> RepoRef {
    format!("octo-org/{name}").parse().unwrap()
}

pub struct Fixed(pub RepoDecision);

impl RepoAuthorizer for Fixed {
    fn authorize<'a>(
        &'a self,
        _p: &'a str,
        _r: &'a RepoRef,
        _op: Operation,
    ) -> AuthorizeFuture<'a> {
        let decision = match &self.0 {
            RepoDecision::Allow { .. } => RepoDecision::Allow {
                decided_at: SystemTime::now(),
            },
            other => other.clone(),
        };
        Box::pin(async move { decision })
    }
}

pub fn allow() -> Option<Arc<dyn RepoAuthorizer>> {
    Some(Arc::new(Fixed(RepoDecision::Allow {
        decided_at: SystemTime::now(),
    })))
}

/// A key held in memory, for calling the App directly.
pub struct InMemory(pub AppPrivateKey);

impl AppKeySource for InMemory {
    fn load<'a>(&'a self, _request: KeyRequest<'a>) -> KeyFuture<'a> {
        Box::pin(async move { Ok(self.0.clone()) })
    }
    fn describe(&self) -> String {
        "memory".into()
    }
}
