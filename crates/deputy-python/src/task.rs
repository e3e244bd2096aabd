//! `deputy.Task`: one task's facts and where its Workload Access Token comes from.
//!
//! Tasks are plain values passed to every resolve: no context variables, so a task built from
//! one request's headers can be handed to a background thread and never leaks into another
//! request.

use deputy::UserToken;
use deputy::task::Task as RustTask;
use deputy::user_jwt::UserJwt;
use deputy_core::{IssuerMap, RepoRef, TaskId, UserId};
use pyo3::prelude::*;
use pyo3::types::{PyMapping, PyString};

use crate::errors::{TaskError, kind_error, task_error};

/// The most headers `Task.from_runtime_headers` reads.
pub const MAX_HEADERS: usize = 256;
/// The longest header name or value it reads (a WAT or JWT is a few KiB).
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// A task: its id, its trigger and user, and its WAT source, which agree on the user.
#[pyclass(module = "deputy", name = "Task", frozen)]
#[derive(Clone)]
pub struct Task {
    pub(crate) inner: RustTask,
}

fn bad(kind: &'static str, message: String) -> PyErr {
    kind_error::<TaskError>(kind, message)
}

fn task_id(id: &str) -> PyResult<TaskId> {
    TaskId::new(id).map_err(|e| bad("task_id", format!("task id {id:?}: {e}")))
}

fn user_id(user: &str) -> PyResult<UserId> {
    UserId::parse(user).map_err(|e| {
        bad(
            "user_id",
            format!("user {user:?} is not an IdP-namespaced user id (<idp>+<sub>): {e}"),
        )
    })
}

/// Parses `owner/name`.
pub fn repo_ref(repo: &str) -> PyResult<RepoRef> {
    repo.parse::<RepoRef>()
        .map_err(|e| bad("repo", format!("repository {repo:?}: {e}")))
}

/// An issuer map from `{issuer: prefix}`.
pub fn issuer_map(issuers: &Bound<'_, PyMapping>) -> PyResult<IssuerMap> {
    let mut map = IssuerMap::new();
    for item in issuers.items()?.iter() {
        let (issuer, prefix): (String, String) = item.extract()?;
        map.insert(&issuer, &prefix)
            .map_err(|e| bad("issuers", format!("issuer {issuer:?}: {e}")))?;
    }
    Ok(map)
}

/// Applies the optional `repo` and `orchestrator` every constructor takes.
fn finish(task: RustTask, repo: Option<&str>, orchestrator: Option<String>) -> PyResult<Task> {
    let mut task = task;
    if let Some(repo) = repo {
        task = task.with_repo(repo_ref(repo)?);
    }
    if let Some(orchestrator) = orchestrator {
        task = task.with_orchestrator(orchestrator);
    }
    Ok(Task { inner: task })
}

/// Reads `(name, value)` pairs from a mapping's `items()` (Starlette's `request.headers`, a
/// `dict`) or from an iterable of pairs, within [`MAX_HEADERS`] and [`MAX_HEADER_BYTES`].
fn header_pairs(headers: &Bound<'_, PyAny>) -> PyResult<Vec<(String, String)>> {
    let items = if headers.hasattr("items")? {
        headers.call_method0("items")?
    } else {
        headers.clone()
    };
    let mut pairs = Vec::new();
    for item in items.try_iter()? {
        if pairs.len() == MAX_HEADERS {
            return Err(bad(
                "runtime_headers",
                format!("more than {MAX_HEADERS} headers; pass the request's headers only"),
            ));
        }
        let (name, value): (Bound<'_, PyString>, Bound<'_, PyString>) = item?.extract()?;
        let (name, value) = (name.to_str()?, value.to_str()?);
        if name.len() > MAX_HEADER_BYTES || value.len() > MAX_HEADER_BYTES {
            return Err(bad(
                "runtime_headers",
                format!(
                    "header {:?} is longer than {MAX_HEADER_BYTES} bytes",
                    name.get(..64).unwrap_or("")
                ),
            ));
        }
        pairs.push((name.to_owned(), value.to_owned()));
    }
    Ok(pairs)
}

#[pymethods]
impl Task {
    /// A task with no user in the loop; its WAT is the workload's own (M2M, API keys).
    #[staticmethod]
    #[pyo3(signature = (task_id, *, repo=None, orchestrator=None))]
    fn headless(task_id: &str, repo: Option<&str>, orchestrator: Option<String>) -> PyResult<Self> {
        finish(
            RustTask::headless(self::task_id(task_id)?),
            repo,
            orchestrator,
        )
    }

    /// A webhook task for a user the (authenticated) sender asserts, e.g. `"okta+42"`; its WAT
    /// is minted for that user id.
    #[staticmethod]
    #[pyo3(signature = (task_id, *, user, repo=None, orchestrator=None))]
    fn webhook(
        task_id: &str,
        user: &str,
        repo: Option<&str>,
        orchestrator: Option<String>,
    ) -> PyResult<Self> {
        finish(
            RustTask::webhook(self::task_id(task_id)?, user_id(user)?),
            repo,
            orchestrator,
        )
    }

    /// An interactive task for the user a JWT proves. The user comes from the JWT's own `iss`
    /// and `sub` (mapped to an IdP prefix through `issuers`), never from a second argument.
    /// The JWT must already have been verified by an inbound authorizer in front of this code
    /// (AgentCore Runtime's JWT authorizer, API Gateway): its signature is not checked here.
    /// `user`, when given, must be the user the JWT proves, or the task is refused.
    #[staticmethod]
    #[pyo3(signature = (task_id, *, user_jwt, issuers, user=None, repo=None, orchestrator=None))]
    fn interactive(
        task_id: &str,
        user_jwt: &str,
        issuers: &Bound<'_, PyMapping>,
        user: Option<&str>,
        repo: Option<&str>,
        orchestrator: Option<String>,
    ) -> PyResult<Self> {
        let id = self::task_id(task_id)?;
        let jwt = UserJwt::from_verified(UserToken::new(user_jwt), &issuer_map(issuers)?)
            .map_err(|e| bad("user_jwt", format!("task {task_id}: {e}")))?;
        if let Some(user) = user {
            let asserted = user_id(user)?;
            if &asserted != jwt.user() {
                return Err(task_error(&deputy::task::TaskError::UserMismatch {
                    task_id: id,
                    asserted: Some(asserted),
                    bound: Some(jwt.user().clone()),
                }));
            }
        }
        finish(RustTask::interactive(id, jwt), repo, orchestrator)
    }

    /// A task for an AgentCore Runtime invocation from its request headers: any mapping
    /// (Starlette's `request.headers`, a `dict` handed to a background thread) or iterable of
    /// `(name, value)` pairs. The WAT comes from the WAT header, the user from the Runtime's
    /// user id header. `user`, when given, must be that user, or the task is refused.
    #[staticmethod]
    #[pyo3(signature = (task_id, headers, *, user=None, repo=None, orchestrator=None))]
    fn from_runtime_headers(
        task_id: &str,
        headers: &Bound<'_, PyAny>,
        user: Option<&str>,
        repo: Option<&str>,
        orchestrator: Option<String>,
    ) -> PyResult<Self> {
        let id = self::task_id(task_id)?;
        let pairs = header_pairs(headers)?;
        let task = RustTask::from_runtime_headers(
            id.clone(),
            pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())),
        )
        .map_err(|e| task_error(&e))?;
        if let Some(user) = user {
            let asserted = user_id(user)?;
            if task.ctx().user() != Some(&asserted) {
                return Err(task_error(&deputy::task::TaskError::UserMismatch {
                    task_id: id,
                    asserted: Some(asserted),
                    bound: task.ctx().user().cloned(),
                }));
            }
        }
        finish(task, repo, orchestrator)
    }

    /// The task id.
    #[getter]
    fn task_id(&self) -> &str {
        self.inner.ctx().task_id.as_str()
    }

    /// The user the task acts for (`<idp>+<sub>`), if any.
    #[getter]
    fn user(&self) -> Option<&str> {
        self.inner.ctx().user().map(UserId::as_str)
    }

    /// `interactive`, `webhook` or `headless`.
    #[getter]
    fn trigger(&self) -> &'static str {
        self.inner.ctx().trigger.kind().name()
    }

    /// The repository (`owner/name`), if any.
    #[getter]
    fn repo(&self) -> Option<&str> {
        self.inner.ctx().repo.as_ref().map(RepoRef::as_str)
    }

    /// The orchestrating workload, if set on the task.
    #[getter]
    fn orchestrator(&self) -> Option<&str> {
        self.inner.orchestrator()
    }

    fn __repr__(&self) -> String {
        let quoted = |v: Option<&str>| v.map_or_else(|| "None".to_owned(), |v| format!("{v:?}"));
        format!(
            "Task(task_id={:?}, trigger={:?}, user={}, repo={})",
            self.task_id(),
            self.trigger(),
            quoted(self.user()),
            quoted(self.repo())
        )
    }
}
