//! What must hold before any credential is requested: the decision allows it, the task has
//! the facts the flow needs, and a repository authorizer allowed the write.

use std::time::SystemTime;

use deputy_core::flow::Flow;
use deputy_core::policy::Decision;
use deputy_core::{Integration, Operation};

use super::Resolver;
use crate::error::ResolveError;
use crate::repo_auth::RepoDecision;
use crate::task::Task;

impl Resolver {
    /// Checks what can be checked without waiting: `Ok(true)` when a repository authorizer must
    /// still allow the repository ([`Resolver::authorize_repo`]) before anything is served, even
    /// from the cache: for every decision whose token can write, reads included.
    pub(super) fn check_preconditions(
        &self,
        task: &Task,
        integration: &Integration,
        op: Operation,
        decision: &Decision,
    ) -> Result<bool, ResolveError> {
        let missing = |problem: String| ResolveError::MissingContext {
            integration: integration.clone(),
            problem,
        };
        match &decision.flow {
            Flow::Deny { reason } => {
                return Err(ResolveError::PolicyDenied {
                    integration: integration.clone(),
                    operation: op,
                    rule_id: decision.rule_id.to_string(),
                    reason: reason.clone(),
                });
            }
            Flow::GithubApp { .. } if self.inner.github_app.is_none() => {
                return Err(missing(format!(
                    "rule {:?} chose a GitHub App installation token, but this resolver has no GitHub App configured",
                    decision.rule_id
                )));
            }
            Flow::GithubApp { .. } if task.ctx.repo.is_none() => {
                return Err(missing(format!(
                    "rule {:?} chose a GitHub App installation token, which is scoped to one repository, and the task names none; use resolve_github_token(&task, op, &repo)",
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
        // A token that can write needs the repository authorized, whatever the operation: a read
        // gets the same token as a write (same provider and scopes, same cache key).
        Ok(decision.repo_authorization || decision.token_can_write(integration))
    }

    /// Asks the repository authorizer whether the task's principal may write to its repository
    /// (the question for any write-capable token, whatever the operation).
    pub(super) async fn authorize_repo(
        &self,
        task: &Task,
        integration: &Integration,
    ) -> Result<(), ResolveError> {
        let op = Operation::Write;
        let repo = task
            .ctx
            .repo
            .as_ref()
            .ok_or_else(|| ResolveError::MissingContext {
                integration: integration.clone(),
                problem: "this credential can write, so it needs repository authorization, and the task names no repository".into(),
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
                "no RepoAuthorizer is configured, so every token that can write (reads with a write-capable token included) fails closed".into(),
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
}
