//! GitHub: `resolve_github_token`.

use deputy_core::{Integration, Operation, RepoRef};

use crate::error::ResolveError;
use crate::task::Task;
use crate::{ResolvedToken, Resolver};

impl Resolver {
    /// A GitHub token for `op` on `repo`, as the decision table says (3LO as the user, a
    /// service token, or a repository-scoped installation token). The repository is recorded on
    /// the task for authorization and audit; a task that names a different one is refused.
    pub async fn resolve_github_token(
        &self,
        task: &Task,
        op: Operation,
        repo: &RepoRef,
    ) -> Result<ResolvedToken, ResolveError> {
        let task = match &task.ctx.repo {
            Some(existing) if existing != repo => {
                return Err(ResolveError::MissingContext {
                    integration: Integration::Github,
                    problem: format!(
                        "the task works on {existing}, not {repo}; a task's tokens never serve another repository"
                    ),
                });
            }
            Some(_) => task.clone(),
            None => {
                let mut with_repo = task.clone();
                with_repo.ctx.repo = Some(repo.clone());
                with_repo
            }
        };
        self.resolve_token(&task, &Integration::Github, op).await
    }
}
