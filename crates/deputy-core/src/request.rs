//! The facts about one task that the decision table sees: [`TaskContext`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::UserId;

/// Why a task fact is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContextError {
    /// A task id must be 1-128 characters of `[A-Za-z0-9._:-]`.
    #[error("invalid task id {0:?}: use 1-128 characters of A-Z, a-z, 0-9, '.', '_', ':' and '-'")]
    TaskId(String),
    /// A repository must be `owner/name` with GitHub's character rules.
    #[error(
        "invalid repository {0:?}: expected owner/name (owner: 1-39 of A-Z a-z 0-9 -, name: 1-100 of A-Z a-z 0-9 . _ -)"
    )]
    Repo(String),
    /// A trace id must be 32 lowercase hex digits and not all zero.
    #[error(
        "invalid trace id {0:?}: expected 32 lowercase hex digits, not all zero (W3C trace-context)"
    )]
    TraceId(String),
}

/// The task's identifier (a ULID in ABCA; any 1-128 safe characters here).
///
/// ```
/// use deputy_core::TaskId;
/// assert!(TaskId::new("01JDQ7ZK3M5V2X9B4N6P8R0T1W").is_ok());
/// assert!(TaskId::new("has space").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TaskId(String);

impl TaskId {
    /// Validates a task id.
    pub fn new(id: &str) -> Result<Self, ContextError> {
        let ok = !id.is_empty()
            && id.len() <= 128
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
        if ok {
            Ok(TaskId(id.to_owned()))
        } else {
            Err(ContextError::TaskId(id.to_owned()))
        }
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for TaskId {
    type Error = ContextError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        TaskId::new(&value)
    }
}

impl From<TaskId> for String {
    fn from(value: TaskId) -> Self {
        value.0
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A GitHub-style repository, `owner/name`.
///
/// ```
/// use deputy_core::RepoRef;
/// let repo: RepoRef = "octo-org/infra.tools".parse().unwrap();
/// assert_eq!((repo.owner(), repo.name()), ("octo-org", "infra.tools"));
/// assert!("octo-org/..".parse::<RepoRef>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RepoRef {
    full: String,
    split: usize,
}

impl RepoRef {
    /// The owner (user or organisation).
    pub fn owner(&self) -> &str {
        &self.full[..self.split]
    }

    /// The repository name.
    pub fn name(&self) -> &str {
        &self.full[self.split + 1..]
    }

    /// `owner/name`.
    pub fn as_str(&self) -> &str {
        &self.full
    }
}

impl FromStr for RepoRef {
    type Err = ContextError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ContextError::Repo(s.to_owned());
        let (owner, name) = s.split_once('/').ok_or_else(bad)?;
        let owner_ok = (1..=39).contains(&owner.len())
            && owner
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !owner.starts_with('-');
        let name_ok = (1..=100).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
            && name != "."
            && name != "..";
        if owner_ok && name_ok {
            Ok(RepoRef {
                full: s.to_owned(),
                split: owner.len(),
            })
        } else {
            Err(bad())
        }
    }
}

impl TryFrom<String> for RepoRef {
    type Error = ContextError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<RepoRef> for String {
    fn from(value: RepoRef) -> Self {
        value.full
    }
}

impl fmt::Display for RepoRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.full)
    }
}

/// A W3C trace id: 32 lowercase hex digits, not all zero.
///
/// ```
/// use deputy_core::TraceId;
/// assert!(TraceId::new("4bf92f3577b34da6a3ce929d0e0e4736").is_ok());
/// assert!(TraceId::new("00000000000000000000000000000000").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TraceId(String);

impl TraceId {
    /// Validates a trace id.
    pub fn new(id: &str) -> Result<Self, ContextError> {
        let ok = id.len() == 32
            && id
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            && id.bytes().any(|b| b != b'0');
        if ok {
            Ok(TraceId(id.to_owned()))
        } else {
            Err(ContextError::TraceId(id.to_owned()))
        }
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for TraceId {
    type Error = ContextError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        TraceId::new(&value)
    }
}

impl From<TraceId> for String {
    fn from(value: TraceId) -> Self {
        value.0
    }
}

/// How the task started, and so how much we know about its user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Trigger {
    /// A person started the task and presented a user JWT that was verified.
    Interactive {
        /// The user, derived from the verified token's `(iss, sub)`.
        user: UserId,
    },
    /// A webhook started the task: the tenant is proven (HMAC), the user is only asserted.
    Webhook {
        /// The user the payload names, if any; not proven.
        asserted_user: Option<UserId>,
    },
    /// A schedule or batch job: no user in the loop.
    Headless,
}

impl Trigger {
    /// The trigger's kind, which is what the decision table matches on.
    pub fn kind(&self) -> TriggerKind {
        match self {
            Trigger::Interactive { .. } => TriggerKind::Interactive,
            Trigger::Webhook { .. } => TriggerKind::Webhook,
            Trigger::Headless => TriggerKind::Headless,
        }
    }
}

/// The kind of a [`Trigger`], without its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TriggerKind {
    /// A verified user JWT is present.
    Interactive,
    /// A webhook with an asserted user.
    Webhook,
    /// No user.
    Headless,
}

impl TriggerKind {
    /// All kinds, in a stable order.
    pub const ALL: [TriggerKind; 3] = [
        TriggerKind::Interactive,
        TriggerKind::Webhook,
        TriggerKind::Headless,
    ];

    /// The canonical name.
    pub fn name(self) -> &'static str {
        match self {
            TriggerKind::Interactive => "interactive",
            TriggerKind::Webhook => "webhook",
            TriggerKind::Headless => "headless",
        }
    }
}

impl fmt::Display for TriggerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a string is not a trigger kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid trigger {0:?}: expected \"interactive\", \"webhook\" or \"headless\"")]
pub struct InvalidTrigger(pub String);

impl FromStr for TriggerKind {
    type Err = InvalidTrigger;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "interactive" => Ok(TriggerKind::Interactive),
            "webhook" => Ok(TriggerKind::Webhook),
            "headless" | "scheduled" => Ok(TriggerKind::Headless),
            other => Err(InvalidTrigger(other.to_owned())),
        }
    }
}

/// Everything the resolver knows about the task a credential is for.
///
/// ```
/// use deputy_core::{TaskContext, TaskId, Trigger, UserId};
/// let ctx = TaskContext::new(
///     TaskId::new("task-1").unwrap(),
///     Trigger::Interactive { user: UserId::parse("okta+42").unwrap() },
/// )
/// .with_repo("octo/app".parse().unwrap());
/// assert_eq!(ctx.user().unwrap().as_str(), "okta+42");
/// assert_eq!(ctx.repo.as_ref().unwrap().as_str(), "octo/app");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskContext {
    /// The task.
    pub task_id: TaskId,
    /// How it started and who (if anyone) it is for.
    pub trigger: Trigger,
    /// The repository it works on, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<RepoRef>,
    /// The OpenTelemetry trace it belongs to, if tracing is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<TraceId>,
    /// The AgentCore session id, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
}

impl TaskContext {
    /// A context with only the required facts.
    pub fn new(task_id: TaskId, trigger: Trigger) -> Self {
        TaskContext {
            task_id,
            trigger,
            repo: None,
            trace_id: None,
            session_id: None,
        }
    }

    /// Sets the repository.
    pub fn with_repo(mut self, repo: RepoRef) -> Self {
        self.repo = Some(repo);
        self
    }

    /// Sets the trace id.
    pub fn with_trace_id(mut self, trace_id: TraceId) -> Self {
        self.trace_id = Some(trace_id);
        self
    }

    /// Sets the session id.
    pub fn with_session_id(mut self, session_id: impl Into<String>) -> Self {
        self.session_id = Some(session_id.into());
        self
    }

    /// The user the task acts for: verified (interactive) or asserted (webhook).
    pub fn user(&self) -> Option<&UserId> {
        match &self.trigger {
            Trigger::Interactive { user } => Some(user),
            Trigger::Webhook { asserted_user } => asserted_user.as_ref(),
            Trigger::Headless => None,
        }
    }

    /// Whether the user was verified from a JWT (only interactive tasks).
    pub fn user_is_verified(&self) -> bool {
        matches!(self.trigger, Trigger::Interactive { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_rules() {
        for good in [
            "a/b",
            "octo-org/x.y_z-1",
            &format!("{}/{}", "o".repeat(39), "n".repeat(100)),
        ] {
            assert!(good.parse::<RepoRef>().is_ok(), "{good}");
        }
        for bad in [
            "",
            "a",
            "/b",
            "a/",
            "a/b/c",
            "-a/b",
            "a/.",
            "a/..",
            "a b/c",
            &format!("{}/n", "o".repeat(40)),
        ] {
            assert_eq!(
                bad.parse::<RepoRef>(),
                Err(ContextError::Repo(bad.to_owned())),
                "{bad}"
            );
        }
    }

    #[test]
    fn trace_and_task_ids() {
        assert!(TraceId::new("4BF92F3577B34DA6A3CE929D0E0E4736").is_err());
        assert!(TraceId::new("4bf92f3577b34da6a3ce929d0e0e473").is_err());
        assert!(TaskId::new(&"t".repeat(129)).is_err());
        assert!(TaskId::new("01J:x_y-z.1").is_ok());
    }

    #[test]
    fn user_depends_on_trigger() {
        let user = UserId::parse("okta+1").unwrap();
        let id = TaskId::new("t").unwrap();
        let interactive = TaskContext::new(id.clone(), Trigger::Interactive { user: user.clone() });
        let webhook = TaskContext::new(
            id.clone(),
            Trigger::Webhook {
                asserted_user: Some(user.clone()),
            },
        );
        let headless = TaskContext::new(id, Trigger::Headless);
        assert!(interactive.user_is_verified());
        assert!(!webhook.user_is_verified());
        assert_eq!(webhook.user(), Some(&user));
        assert_eq!(headless.user(), None);
        assert_eq!(headless.trigger.kind(), TriggerKind::Headless);
    }

    #[test]
    fn context_serializes_without_absent_repo() {
        let ctx = TaskContext::new(TaskId::new("t").unwrap(), Trigger::Headless);
        let json = serde_json::to_value(&ctx).unwrap();
        assert!(json.get("repo").is_none());
        assert_eq!(serde_json::from_value::<TaskContext>(json).unwrap(), ctx);
    }
}
