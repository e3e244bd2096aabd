//! What `Resolver` and `AsyncResolver` share: turning Python arguments into one `'static`
//! future per call, which the sync class blocks on and the async class awaits.

use std::future::Future;

use deputy::ResolveError as RustError;
use deputy_core::{Integration, Operation, UserId};
use pyo3::prelude::*;

use crate::errors::{kind_error, resolve_error};
use crate::task::{Task, repo_ref};
use crate::telemetry;
use crate::token::{self, Token};

/// The shared half of both resolver classes.
#[derive(Clone)]
pub struct Core {
    pub(crate) resolver: deputy::Resolver,
}

/// `"read"` or `"write"`.
pub fn operation(op: &str) -> PyResult<Operation> {
    op.parse::<Operation>().map_err(|_| {
        kind_error::<pyo3::exceptions::PyValueError>(
            "operation",
            format!("op must be \"read\" or \"write\", not {op:?}"),
        )
    })
}

/// An integration by name (`github`, `linear`, …, or a custom one from the decision table).
pub fn integration(name: &str) -> PyResult<Integration> {
    name.parse::<Integration>().map_err(|e| {
        kind_error::<pyo3::exceptions::PyValueError>(
            "integration",
            format!("integration {name:?}: {e}"),
        )
    })
}

/// A user id (`<idp>+<sub>`).
pub fn user(user: &str) -> PyResult<UserId> {
    UserId::parse(user).map_err(|e| {
        kind_error::<pyo3::exceptions::PyValueError>(
            "user_id",
            format!("user {user:?} is not an IdP-namespaced user id (<idp>+<sub>): {e}"),
        )
    })
}

impl Core {
    /// The future of one resolve, under the caller's trace when there is one.
    pub fn resolve(
        &self,
        py: Python<'_>,
        task: &Task,
        integration: Integration,
        op: &str,
        repo: Option<&str>,
        traceparent: Option<&str>,
    ) -> PyResult<impl Future<Output = PyResult<Token>> + Send + 'static> {
        let op = operation(op)?;
        let repo = repo.map(repo_ref).transpose()?;
        let parent = telemetry::parent(py, traceparent);
        let resolver = self.resolver.clone();
        let task = task.inner.clone();
        let resolve = async move {
            let result = match (&integration, repo) {
                (Integration::Github, Some(repo)) => {
                    resolver.resolve_github_token(&task, op, &repo).await
                }
                (Integration::Github, None) if task.ctx().repo.is_none() => {
                    Err(RustError::MissingContext {
                        integration: Integration::Github,
                        problem: "a GitHub token is for one repository: pass repo=\"owner/name\" (or build the task with repo=...)".into(),
                    })
                }
                _ => resolver.resolve_token(&task, &integration, op).await,
            };
            result.map(Token::new).map_err(resolve_error)
        };
        Ok(telemetry::under(parent, resolve))
    }

    /// The future of binding a consent session for `task` (see `Resolver.complete_consent`).
    pub fn complete_consent(
        &self,
        task: &Task,
        integration: Integration,
        session_uri: String,
        browser_user: &str,
    ) -> PyResult<impl Future<Output = PyResult<()>> + Send + 'static> {
        let browser_user = user(browser_user)?;
        let resolver = self.resolver.clone();
        let task = task.inner.clone();
        Ok(async move {
            resolver
                .complete_consent(&task, &integration, &session_uri, &browser_user)
                .await
                .map_err(resolve_error)
        })
    }

    /// The future of binding a consent session from the return-URL callback.
    pub fn complete_consent_callback(
        &self,
        session_uri: String,
        custom_state: String,
        browser_user: &str,
    ) -> PyResult<impl Future<Output = PyResult<()>> + Send + 'static> {
        let browser_user = user(browser_user)?;
        let resolver = self.resolver.clone();
        Ok(async move {
            resolver
                .complete_consent_callback(&session_uri, &custom_state, &browser_user)
                .await
                .map_err(resolve_error)
        })
    }

    /// Tells the resolver an API key was rejected downstream, so the next resolve rotates.
    pub fn report_invalid_api_key(&self, token: &Token) {
        self.resolver.report_invalid_api_key(token::resolved(token));
    }

    /// Drops every cached token and pending consent of `user`.
    pub fn forget_user(&self, user_id: &str) -> PyResult<()> {
        self.resolver.forget_user(&user(user_id)?);
        Ok(())
    }
}
