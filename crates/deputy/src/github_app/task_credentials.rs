//! [`TaskCredentials`]: the guard that revokes a task's installation tokens when it ends.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use deputy_core::flow::Flow;
use deputy_core::{Integration, Operation, RepoRef};

use super::app::{GithubApp, Revocation};
use super::error::GithubAppError;
use crate::error::ResolveError;
use crate::task::Task;
use crate::{AccessToken, ResolvedToken, Resolver};

/// What closing a task's credentials did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Closed {
    /// Tokens GitHub revoked now.
    pub revoked: usize,
    /// Tokens GitHub no longer accepted (already revoked or expired).
    pub already_invalid: usize,
}

/// One task's credentials. Installation tokens it hands out are revoked by
/// [`TaskCredentials::close`] (`DELETE /installation/token`), which is idempotent: a second
/// close revokes nothing. After closing, it hands out nothing more. Dropped without closing,
/// it revokes in the background (on the current Tokio runtime, if any) and logs a warning.
///
/// ```no_run
/// # async fn run(resolver: deputy::Resolver, task: deputy::task::Task) -> Result<(), Box<dyn std::error::Error>> {
/// use deputy::core::Operation;
/// let credentials = resolver.task_credentials(task);
/// let token = credentials.github_token(Operation::Write, &"octo-org/app".parse()?).await?;
/// // … push with `token` …
/// let closed = credentials.close().await?;
/// assert_eq!(credentials.close().await?.revoked, 0);
/// # let _ = (token, closed); Ok(()) }
/// ```
pub struct TaskCredentials {
    resolver: Resolver,
    task: Task,
    minted: tokio::sync::Mutex<Vec<AccessToken>>,
    closed: AtomicBool,
}

impl std::fmt::Debug for TaskCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskCredentials")
            .field("task_id", &self.task.ctx.task_id)
            .field("closed", &self.closed.load(Ordering::SeqCst))
            .finish_non_exhaustive()
    }
}

impl Resolver {
    /// A guard for `task`'s credentials that revokes its installation tokens when closed.
    pub fn task_credentials(&self, task: Task) -> TaskCredentials {
        TaskCredentials {
            resolver: self.clone(),
            task,
            minted: tokio::sync::Mutex::new(Vec::new()),
            closed: AtomicBool::new(false),
        }
    }
}

impl TaskCredentials {
    /// The task.
    pub fn task(&self) -> &Task {
        &self.task
    }

    /// [`Resolver::resolve_github_token`] for this task; installation tokens are remembered
    /// for revocation.
    pub async fn github_token(
        &self,
        op: Operation,
        repo: &RepoRef,
    ) -> Result<ResolvedToken, ResolveError> {
        self.refuse_if_closed(&Integration::Github)?;
        let resolved = self
            .resolver
            .resolve_github_token(&self.task, op, repo)
            .await?;
        if matches!(resolved.flow, Flow::GithubApp { .. }) {
            let mut minted = self.minted.lock().await;
            if !minted.contains(&resolved.token) {
                minted.push(resolved.token.clone());
            }
        }
        // Closed meanwhile: the token stays listed for the next close (or the drop) to revoke,
        // and is not handed out.
        self.refuse_if_closed(&Integration::Github)?;
        Ok(resolved)
    }

    /// Revokes every installation token this task was handed and drops them from the cache.
    /// Idempotent; tokens whose revocation failed are kept and retried by the next close.
    pub async fn close(&self) -> Result<Closed, GithubAppError> {
        self.closed.store(true, Ordering::SeqCst);
        let mut minted = self.minted.lock().await;
        let Some(app) = self.resolver.inner.github_app.clone() else {
            minted.clear();
            return Ok(Closed::default());
        };
        self.resolver
            .inner
            .cache
            .invalidate_task(self.task.ctx.task_id.as_str());
        let mut closed = Closed::default();
        let mut first_error = None;
        let mut kept = Vec::new();
        for token in minted.drain(..) {
            match app.revoke(&token).await {
                Ok(Revocation::Revoked) => closed.revoked += 1,
                Ok(Revocation::AlreadyInvalid) => closed.already_invalid += 1,
                Err(e) => {
                    first_error.get_or_insert(e);
                    kept.push(token);
                }
            }
        }
        *minted = kept;
        match first_error {
            Some(e) => Err(e),
            None => Ok(closed),
        }
    }

    fn refuse_if_closed(&self, integration: &Integration) -> Result<(), ResolveError> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(ResolveError::MissingContext {
                integration: integration.clone(),
                problem: format!(
                    "task {}'s credentials are closed and its installation tokens revoked; start a new task",
                    self.task.ctx.task_id
                ),
            });
        }
        Ok(())
    }
}

impl Drop for TaskCredentials {
    fn drop(&mut self) {
        let tokens = std::mem::take(self.minted.get_mut());
        if tokens.is_empty() {
            return;
        }
        let Some(app) = self.resolver.inner.github_app.clone() else {
            return;
        };
        let task_id = self.task.ctx.task_id.clone();
        self.resolver.inner.cache.invalidate_task(task_id.as_str());
        tracing::warn!(
            "task {task_id}'s credentials were dropped without close(); revoking {} installation token(s) in the background",
            tokens.len()
        );
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(revoke_all(app, tokens));
            }
            Err(_) => tracing::warn!(
                "no Tokio runtime to revoke task {task_id}'s installation tokens; they expire within the hour"
            ),
        }
    }
}

async fn revoke_all(app: Arc<GithubApp>, tokens: Vec<AccessToken>) {
    for token in tokens {
        if let Err(e) = app.revoke(&token).await {
            tracing::warn!("{e}");
        }
    }
}
