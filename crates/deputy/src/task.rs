//! A task as the resolver sees it: its facts and where its Workload Access Token comes from.
//!
//! The WAT source travels with the task explicitly: no thread- or task-local state, so a token
//! delivered for one request can never leak into another one's resolve.
//!
//! # One source for the user
//!
//! The user a resolve acts for is the user the WAT is bound to: the verified JWT's `iss`+`sub`,
//! or the user id it was minted for. Cache keys and consent sessions use that principal, never
//! the task's trigger, and a [`Task`] whose trigger names a different user than its binding
//! cannot be built ([`TaskError`]). So a task that says "alice" while carrying bob's WAT is
//! refused before it can meet alice's cached token.

use deputy_core::{RepoRef, TaskContext, TaskId, Trigger, UserId};

use crate::WorkloadAccessToken;
use crate::user_jwt::UserJwt;
use crate::vault::WatBinding;
use crate::wat_headers::{self, WatHeaderError};

/// The header AgentCore Runtime sets to the `runtimeUserId` an invocation was made for (its
/// WAT was then minted with `GetWorkloadAccessTokenForUserId`).
pub const RUNTIME_USER_ID_HEADER: &str = "x-amzn-bedrock-agentcore-runtime-user-id";

/// Where a task's Workload Access Token comes from.
#[derive(Debug, Clone)]
pub enum WatSource {
    /// Delivered by AgentCore Runtime in a request header (see [`crate::wat_headers`]), with
    /// the artifact Runtime minted it from ([`Task::from_runtime_headers`] reads it from the
    /// Runtime's user id header). A WAT of unknown binding is [`WatBinding::Workload`]: it can
    /// serve machine-to-machine work only.
    Runtime {
        /// The delivered token.
        wat: WorkloadAccessToken,
        /// What Runtime bound it to.
        bound_to: WatBinding,
    },
    /// Minted by deputy on ECS, Lambda or a laptop: `ForJWT` (preferred), `ForUserId`, or the
    /// workload alone for machine-to-machine work.
    Mint(WatBinding),
}

impl WatSource {
    /// The artifact the WAT is bound to.
    pub fn binding(&self) -> &WatBinding {
        match self {
            WatSource::Runtime { bound_to, .. } => bound_to,
            WatSource::Mint(binding) => binding,
        }
    }

    /// Whether the WAT is bound to a verified user JWT (what on-behalf-of requires).
    pub fn is_jwt_bound(&self) -> bool {
        matches!(self.binding(), WatBinding::Jwt(_))
    }
}

/// Why a task cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaskError {
    /// The trigger names one user and the WAT is bound to another (or to none).
    #[error(
        "task {task_id}: the trigger names user {asserted:?} but the workload access token is bound to {bound:?}; the user must come from the WAT's binding (build the task with Task::interactive, Task::webhook or Task::headless)"
    )]
    UserMismatch {
        /// The task.
        task_id: TaskId,
        /// The user the trigger names, if any.
        asserted: Option<UserId>,
        /// The user the WAT is bound to, if any.
        bound: Option<UserId>,
    },
    /// An interactive task claims a verified user, but its WAT is bound to a user id only.
    #[error(
        "task {task_id}: an interactive task's user must be proven by a JWT (GetWorkloadAccessTokenForJWT); a WAT minted for a user id only asserts the user, so use a webhook trigger for it"
    )]
    UnverifiedInteractive {
        /// The task.
        task_id: TaskId,
    },
    /// The request headers carry no usable WAT.
    #[error("task {task_id}: {source}")]
    RuntimeHeaders {
        /// The task.
        task_id: TaskId,
        /// What is wrong with the headers.
        source: WatHeaderError,
    },
    /// The Runtime's user id header is not a user id.
    #[error(
        "task {task_id}: header {RUNTIME_USER_ID_HEADER} is not an IdP-namespaced user id (<idp>+<sub>): {reason}"
    )]
    RuntimeUserId {
        /// The task.
        task_id: TaskId,
        /// Why it is not one.
        reason: String,
    },
}

/// One task: its context and its WAT source, which agree on the user.
///
/// ```
/// use deputy::task::Task;
/// use deputy_core::{TaskId, UserId};
/// let nightly = Task::headless(TaskId::new("t-1").unwrap());
/// assert!(!nightly.wat().is_jwt_bound());
/// let webhook = Task::webhook(TaskId::new("t-2").unwrap(), UserId::parse("okta+42").unwrap());
/// assert_eq!(webhook.ctx().user().unwrap().as_str(), "okta+42");
/// ```
#[derive(Debug, Clone)]
pub struct Task {
    pub(crate) ctx: TaskContext,
    pub(crate) wat: WatSource,
    /// Who the vault sees as the user, derived from the binding once.
    principal: Option<Box<str>>,
    /// The orchestrating workload that handed this task over, when it is known per task.
    orchestrator: Option<Box<str>>,
}

impl Task {
    /// A task from a context and a WAT source, refused when the user the trigger names is not
    /// the user the WAT is bound to, or when an interactive task's user is not JWT-proven.
    ///
    /// ```
    /// use deputy::task::{Task, TaskError, WatSource};
    /// use deputy::vault::WatBinding;
    /// use deputy_core::{TaskContext, TaskId, Trigger, UserId};
    /// let says_alice = TaskContext::new(
    ///     TaskId::new("t-1").unwrap(),
    ///     Trigger::Webhook { asserted_user: Some(UserId::parse("okta+alice").unwrap()) },
    /// );
    /// let bound_to_bob = WatSource::Mint(WatBinding::UserId(UserId::parse("okta+bob").unwrap()));
    /// assert!(matches!(
    ///     Task::new(says_alice, bound_to_bob),
    ///     Err(TaskError::UserMismatch { .. })
    /// ));
    /// ```
    pub fn new(ctx: TaskContext, wat: WatSource) -> Result<Self, TaskError> {
        let bound = wat.binding().user();
        if ctx.user() != bound {
            return Err(TaskError::UserMismatch {
                task_id: ctx.task_id.clone(),
                asserted: ctx.user().cloned(),
                bound: bound.cloned(),
            });
        }
        if matches!(ctx.trigger, Trigger::Interactive { .. }) && !wat.is_jwt_bound() {
            return Err(TaskError::UnverifiedInteractive {
                task_id: ctx.task_id.clone(),
            });
        }
        let principal = wat.binding().principal();
        Ok(Task {
            ctx,
            wat,
            principal,
            orchestrator: None,
        })
    }

    /// An interactive task for the user a verified JWT proves; its WAT is minted `ForJWT`.
    pub fn interactive(task_id: TaskId, jwt: UserJwt) -> Self {
        let user = jwt.user().clone();
        Self::consistent(
            TaskContext::new(task_id, Trigger::Interactive { user }),
            WatSource::Mint(WatBinding::Jwt(jwt)),
        )
    }

    /// A webhook task for a user the (authenticated) sender asserts; its WAT is minted
    /// `ForUserId`, so the vault keeps it apart from the same user's JWT-proven tokens.
    pub fn webhook(task_id: TaskId, user: UserId) -> Self {
        Self::consistent(
            TaskContext::new(
                task_id,
                Trigger::Webhook {
                    asserted_user: Some(user.clone()),
                },
            ),
            WatSource::Mint(WatBinding::UserId(user)),
        )
    }

    /// A task with no user in the loop; its WAT is the workload's own.
    pub fn headless(task_id: TaskId) -> Self {
        Self::consistent(
            TaskContext::new(task_id, Trigger::Headless),
            WatSource::Mint(WatBinding::Workload),
        )
    }

    /// A task for an AgentCore Runtime invocation, from its request headers (any case): the
    /// WAT from the WAT headers, and the user from [`RUNTIME_USER_ID_HEADER`] (a webhook-like
    /// asserted user, as Runtime minted the WAT `ForUserId`). Without that header the task has
    /// no user and can serve machine-to-machine work only.
    ///
    /// ```
    /// use deputy::task::Task;
    /// use deputy_core::TaskId;
    /// let headers = [
    ///     ("WorkloadAccessToken", "wat-1"),
    ///     ("X-Amzn-Bedrock-AgentCore-Runtime-User-Id", "okta+alice"),
    /// ];
    /// let task = Task::from_runtime_headers(TaskId::new("t-1").unwrap(), headers).unwrap();
    /// assert_eq!(task.ctx().user().unwrap().as_str(), "okta+alice");
    /// ```
    pub fn from_runtime_headers<'a>(
        task_id: TaskId,
        headers: impl IntoIterator<Item = (&'a str, &'a str)> + Clone,
    ) -> Result<Self, TaskError> {
        let wat = wat_headers::from_headers(headers.clone()).map_err(|source| {
            TaskError::RuntimeHeaders {
                task_id: task_id.clone(),
                source,
            }
        })?;
        let user_header = headers
            .into_iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(RUNTIME_USER_ID_HEADER))
            .map(|(_, value)| value.trim());
        let (trigger, bound_to) = match user_header {
            Some(value) => {
                let user = UserId::parse(value).map_err(|e| TaskError::RuntimeUserId {
                    task_id: task_id.clone(),
                    reason: e.to_string(),
                })?;
                (
                    Trigger::Webhook {
                        asserted_user: Some(user.clone()),
                    },
                    WatBinding::UserId(user),
                )
            }
            None => (Trigger::Headless, WatBinding::Workload),
        };
        Ok(Self::consistent(
            TaskContext::new(task_id, trigger),
            WatSource::Runtime { wat, bound_to },
        ))
    }

    /// Builds a task whose user was taken from its binding, so it agrees by construction.
    fn consistent(ctx: TaskContext, wat: WatSource) -> Self {
        let principal = wat.binding().principal();
        Task {
            ctx,
            wat,
            principal,
            orchestrator: None,
        }
    }

    /// The same task working on `repo` (the user and WAT are unchanged).
    pub fn with_repo(mut self, repo: RepoRef) -> Self {
        self.ctx.repo = Some(repo);
        self
    }

    /// The same task handed over by the orchestrating workload `name`: recorded in the asserted
    /// actor chain instead of the resolver's
    /// [`orchestrator`](crate::ResolverBuilder::orchestrator) (the user and WAT are unchanged).
    ///
    /// ```
    /// use deputy::task::Task;
    /// use deputy_core::TaskId;
    /// let task = Task::headless(TaskId::new("t-1").unwrap()).with_orchestrator("planner");
    /// assert_eq!(task.orchestrator(), Some("planner"));
    /// ```
    pub fn with_orchestrator(mut self, name: impl Into<String>) -> Self {
        self.orchestrator = Some(name.into().into_boxed_str());
        self
    }

    /// The orchestrator set with [`Task::with_orchestrator`], if any.
    pub fn orchestrator(&self) -> Option<&str> {
        self.orchestrator.as_deref()
    }

    /// The facts the decision table sees.
    pub fn ctx(&self) -> &TaskContext {
        &self.ctx
    }

    /// Where the WAT comes from.
    pub fn wat(&self) -> &WatSource {
        &self.wat
    }

    /// Who the vault sees as the user, from the WAT's binding: `jwt:` with the user id (the
    /// token's `sub` under its issuer's prefix) and the token's `iss`, or `user-id:` with the
    /// user id; `None` for a workload-only WAT.
    pub fn principal(&self) -> Option<&str> {
        self.principal.as_deref()
    }
}

impl WatBinding {
    /// The user this binding proves (JWT) or asserts (user id).
    pub fn user(&self) -> Option<&UserId> {
        match self {
            WatBinding::Jwt(jwt) => Some(jwt.user()),
            WatBinding::UserId(user) => Some(user),
            WatBinding::Workload => None,
        }
    }

    /// The principal as the vault keys it. A JWT user is the user id and the token's `iss`
    /// (the id has no spaces, so the first space ends it; two issuers an operator mapped to
    /// one prefix stay apart); a user id is kept apart from JWT users, so a webhook that merely
    /// asserts a user is never served what the verified user consented to.
    fn principal(&self) -> Option<Box<str>> {
        match self {
            WatBinding::Jwt(jwt) => Some(format!("jwt:{} {}", jwt.user(), jwt.issuer()).into()),
            WatBinding::UserId(user) => Some(format!("user-id:{user}").into()),
            WatBinding::Workload => None,
        }
    }
}

/// A principal without its JWT issuer (`jwt:<user>`, `user-id:<user>`): the no-downgrade
/// latch's key, as it was before the issuer joined the principal, so latches written then
/// still hold.
pub(crate) fn principal_without_issuer(principal: &str) -> &str {
    principal
        .split_once(' ')
        .map_or(principal, |(kind_and_user, _)| kind_and_user)
}

/// The user id a principal names, whichever way the user was proven.
pub(crate) fn user_of_principal(principal: &str) -> Option<&str> {
    let without_issuer = principal_without_issuer(principal);
    without_issuer
        .strip_prefix("user-id:")
        .or_else(|| without_issuer.strip_prefix("jwt:"))
}
