//! A task as the resolver sees it: its facts and where its Workload Access Token comes from.
//!
//! The WAT source travels with the task explicitly: no thread- or task-local state, so a token
//! delivered for one request can never leak into another one's resolve.

use deputy_core::TaskContext;

use crate::WorkloadAccessToken;
use crate::vault::WatBinding;

/// Where a task's Workload Access Token comes from.
#[derive(Debug, Clone)]
pub enum WatSource {
    /// Delivered by AgentCore Runtime in a request header (see [`crate::wat_headers`]).
    /// `bound_to` is the artifact Runtime minted it from, when known: consent binding needs it,
    /// and on-behalf-of needs it to be a JWT.
    Runtime {
        /// The delivered token.
        wat: WorkloadAccessToken,
        /// What Runtime bound it to.
        bound_to: Option<WatBinding>,
    },
    /// Minted by deputy on ECS, Lambda or a laptop: `ForJWT` (preferred), `ForUserId`, or the
    /// workload alone for machine-to-machine work.
    Mint(WatBinding),
}

impl WatSource {
    /// The artifact the WAT is bound to, if known.
    pub fn binding(&self) -> Option<&WatBinding> {
        match self {
            WatSource::Runtime { bound_to, .. } => bound_to.as_ref(),
            WatSource::Mint(binding) => Some(binding),
        }
    }

    /// Who the vault will see as the user: the task's user qualified by how the WAT was bound.
    ///
    /// The vault keeps a verified JWT user (`iss`+`sub`) and a caller-supplied user id apart,
    /// and so must every cache and consent session: otherwise a webhook that merely *asserts*
    /// a user could be served a token the verified user consented to.
    pub fn principal(&self, user: &str) -> String {
        let kind = match self.binding() {
            Some(WatBinding::Jwt(_)) => "jwt",
            Some(WatBinding::UserId(_)) => "user-id",
            Some(WatBinding::Workload) => "workload",
            None => "runtime",
        };
        format!("{kind}:{user}")
    }

    /// Whether the WAT is bound to a verified user JWT (what on-behalf-of requires).
    pub fn is_jwt_bound(&self) -> bool {
        matches!(self.binding(), Some(WatBinding::Jwt(_)))
    }
}

/// One task: its context and its WAT source.
///
/// ```
/// use deputy::task::{Task, WatSource};
/// use deputy::vault::WatBinding;
/// use deputy_core::{TaskContext, TaskId, Trigger};
/// let task = Task::new(
///     TaskContext::new(TaskId::new("t-1").unwrap(), Trigger::Headless),
///     WatSource::Mint(WatBinding::Workload),
/// );
/// assert!(!task.wat.is_jwt_bound());
/// ```
#[derive(Debug, Clone)]
pub struct Task {
    /// The facts the decision table sees.
    pub ctx: TaskContext,
    /// Where the WAT comes from.
    pub wat: WatSource,
}

impl Task {
    /// A task.
    pub fn new(ctx: TaskContext, wat: WatSource) -> Self {
        Task { ctx, wat }
    }
}
