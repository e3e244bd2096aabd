//! The resolver's GitHub App branch: the cache key and the fetch on a miss.

use std::collections::BTreeMap;

use deputy_core::Integration;
use deputy_core::flow::{Flow, PermissionLevel};
use deputy_core::policy::Decision;

use super::error::level_name;
use super::key::KeyRequest;
use crate::cache::{CacheKey, CachedToken};
use crate::error::ResolveError;
use crate::task::Task;
use crate::{Resolver, WorkloadAccessToken};

impl Resolver {
    /// The cache key of a GitHub App token: never shared between tasks or repositories. The
    /// provider part names the App and the task so that closing a task drops exactly its tokens.
    pub(crate) fn github_app_cache_key(
        &self,
        task: &Task,
        decision: &Decision,
    ) -> Option<CacheKey> {
        let Flow::GithubApp { permissions } = &decision.flow else {
            return None;
        };
        let app_id = self.inner.github_app.as_ref().map_or(0, |app| app.app_id());
        let task_id = task.ctx.task_id.as_str();
        let mut key = CacheKey::new(
            &self.inner.workload,
            &github_app_provider(app_id),
            decision.flow.name(),
        )
        .scopes(
            permissions
                .iter()
                .map(|(name, level)| format!("{name}:{}", level_name(*level))),
        )
        .task(task_id);
        if let Some(repo) = &task.ctx.repo {
            key = key.repo(repo.as_str());
        }
        if let Some(user) = task.principal() {
            key = key.user(user);
        }
        Some(key)
    }

    /// Mints an installation token for the task's repository on a cache miss.
    pub(crate) async fn fetch_github_app(
        &self,
        task: &Task,
        integration: &Integration,
        permissions: &BTreeMap<String, PermissionLevel>,
        wat: &WorkloadAccessToken,
    ) -> Result<CachedToken, ResolveError> {
        let missing = |problem: &str| ResolveError::MissingContext {
            integration: integration.clone(),
            problem: problem.to_owned(),
        };
        let app = self
            .inner
            .github_app
            .as_ref()
            .ok_or_else(|| missing("this resolver has no GitHub App configured"))?;
        let repo = task.ctx.repo.as_ref().ok_or_else(|| {
            missing("an installation token is scoped to one repository, and the task names none")
        })?;
        let keys = KeyRequest {
            vault: &self.inner.vault,
            wat,
        };
        let principal = task
            .ctx
            .user()
            .map_or(self.inner.workload.as_str(), |u| u.as_str());
        let minted = app
            .mint(keys, repo, permissions)
            .await
            .map_err(|e| e.into_resolve_error(integration, principal))?;
        Ok(CachedToken {
            token: minted.token,
            expires_at: minted.expires_at,
            observed: None,
        })
    }
}

/// The cache key's provider part for an App's installation tokens (the key also carries the
/// task and the repository, so tokens never cross either).
pub(super) fn github_app_provider(app_id: u64) -> String {
    format!("github-app/{app_id}")
}
