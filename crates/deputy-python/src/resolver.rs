//! `deputy.Resolver`: synchronous resolves that release the GIL while they wait.

use deputy_core::Integration;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::calls::{Core, integration};
use crate::runtime::block_on;
use crate::task::Task;
use crate::token::Token;

/// Resolves per-task, per-user credentials (synchronous). Share one per process: it holds the
/// token cache. Options are listed in `deputy.Resolver.__init__`'s stub.
#[pyclass(module = "deputy", name = "Resolver", frozen)]
pub struct Resolver {
    core: Core,
}

impl Resolver {
    fn resolve(
        &self,
        py: Python<'_>,
        task: &Task,
        which: Integration,
        op: &str,
        repo: Option<&str>,
        traceparent: Option<&str>,
    ) -> PyResult<Token> {
        let future = self.core.resolve(py, task, which, op, repo, traceparent)?;
        block_on(py, future)
    }
}

#[pymethods]
impl Resolver {
    #[new]
    #[pyo3(signature = (workload, **options))]
    fn new(
        py: Python<'_>,
        workload: String,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        Ok(Resolver {
            core: Core {
                resolver: crate::build::resolver(py, workload, options)?,
            },
        })
    }

    /// A token for any integration, custom ones included.
    #[pyo3(signature = (task, integration, op, *, traceparent=None))]
    fn resolve_token(
        &self,
        py: Python<'_>,
        task: &Task,
        integration: &str,
        op: &str,
        traceparent: Option<&str>,
    ) -> PyResult<Token> {
        let which = self::integration(integration)?;
        self.resolve(py, task, which, op, None, traceparent)
    }

    /// A GitHub token for `op` on `repo` (`owner/name`; the task's repo when omitted).
    #[pyo3(signature = (task, op, repo=None, *, traceparent=None))]
    fn resolve_github_token(
        &self,
        py: Python<'_>,
        task: &Task,
        op: &str,
        repo: Option<&str>,
        traceparent: Option<&str>,
    ) -> PyResult<Token> {
        self.resolve(py, task, Integration::Github, op, repo, traceparent)
    }

    /// A Linear token for `op`.
    #[pyo3(signature = (task, op, *, traceparent=None))]
    fn resolve_linear_token(
        &self,
        py: Python<'_>,
        task: &Task,
        op: &str,
        traceparent: Option<&str>,
    ) -> PyResult<Token> {
        self.resolve(py, task, Integration::Linear, op, None, traceparent)
    }

    /// A Jira token for `op`.
    #[pyo3(signature = (task, op, *, traceparent=None))]
    fn resolve_jira_token(
        &self,
        py: Python<'_>,
        task: &Task,
        op: &str,
        traceparent: Option<&str>,
    ) -> PyResult<Token> {
        self.resolve(py, task, Integration::Jira, op, None, traceparent)
    }

    /// A Slack token for `op`.
    #[pyo3(signature = (task, op, *, traceparent=None))]
    fn resolve_slack_token(
        &self,
        py: Python<'_>,
        task: &Task,
        op: &str,
        traceparent: Option<&str>,
    ) -> PyResult<Token> {
        self.resolve(py, task, Integration::Slack, op, None, traceparent)
    }

    /// An AWS-native token for `op` (on-behalf-of for interactive tasks).
    #[pyo3(signature = (task, op, *, traceparent=None))]
    fn resolve_aws_native_token(
        &self,
        py: Python<'_>,
        task: &Task,
        op: &str,
        traceparent: Option<&str>,
    ) -> PyResult<Token> {
        self.resolve(py, task, Integration::AwsNative, op, None, traceparent)
    }

    /// Binds consent session `session_uri` to the task's user, for a return-URL handler of
    /// your own: `browser_user` is who your handler authenticated on the browser that arrived;
    /// nothing is bound unless it is the task's user (`ConsentUserMismatch`).
    fn complete_consent(
        &self,
        py: Python<'_>,
        task: &Task,
        integration: &str,
        session_uri: String,
        browser_user: &str,
    ) -> PyResult<()> {
        let future = self.core.complete_consent(
            task,
            self::integration(integration)?,
            session_uri,
            browser_user,
        )?;
        block_on(py, future)
    }

    /// Binds a session from the return-URL callback's `session_id` and `custom_state`, when
    /// `browser_user` started it (see `deputy.consent`).
    fn complete_consent_callback(
        &self,
        py: Python<'_>,
        session_uri: String,
        custom_state: String,
        browser_user: &str,
    ) -> PyResult<()> {
        let future =
            self.core
                .complete_consent_callback(session_uri, custom_state, browser_user)?;
        block_on(py, future)
    }

    /// Tells the resolver an API key was rejected downstream: the next resolve rotates.
    fn report_invalid_api_key(&self, token: &Token) {
        self.core.report_invalid_api_key(token);
    }

    /// Forgets every cached token and pending consent of `user`.
    fn forget_user(&self, user: &str) -> PyResult<()> {
        self.core.forget_user(user)
    }

    fn __repr__(&self) -> String {
        format!("{:?}", self.core.resolver)
    }
}
