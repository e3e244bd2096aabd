//! Repository authorization: may this principal write to this repository?
//!
//! Delegation says *who* acts; it does not say the user may touch *this* repository. Rules with
//! `repo_authorization = true` ask a [`RepoAuthorizer`] before any write credential is issued.
//! No authorizer, no decision, a denial or a stale allow all fail closed.

use std::future::Future;
use std::pin::Pin;
use std::time::SystemTime;

use deputy_core::{Operation, RepoRef};

/// An authorizer's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RepoDecision {
    /// Allowed, as decided at this time.
    Allow {
        /// When the decision was made (stale decisions are refused).
        decided_at: SystemTime,
    },
    /// Refused.
    Deny {
        /// Why.
        reason: String,
    },
    /// The authorizer has no decision for this principal and repository.
    Unknown,
}

/// A boxed future, so authorizers can be trait objects.
pub type AuthorizeFuture<'a> = Pin<Box<dyn Future<Output = RepoDecision> + Send + 'a>>;

/// Decides whether a principal may perform an operation on a repository.
///
/// ```
/// use std::time::SystemTime;
/// use deputy::repo_auth::{AuthorizeFuture, RepoAuthorizer, RepoDecision};
/// use deputy_core::{Operation, RepoRef};
///
/// /// Allows writes to one organisation's repositories only.
/// struct OrgAllowList(&'static str);
///
/// impl RepoAuthorizer for OrgAllowList {
///     fn authorize<'a>(&'a self, _principal: &'a str, repo: &'a RepoRef, _op: Operation) -> AuthorizeFuture<'a> {
///         Box::pin(async move {
///             if repo.owner() == self.0 {
///                 RepoDecision::Allow { decided_at: SystemTime::now() }
///             } else {
///                 RepoDecision::Deny { reason: format!("{} is outside {}", repo, self.0) }
///             }
///         })
///     }
/// }
/// ```
pub trait RepoAuthorizer: Send + Sync {
    /// The decision for `principal` (a user id, or the workload for headless tasks).
    fn authorize<'a>(
        &'a self,
        principal: &'a str,
        repo: &'a RepoRef,
        op: Operation,
    ) -> AuthorizeFuture<'a>;
}

/// A fixed list of repositories an operator vouches for, whoever the principal is: the
/// authorizer of a single-user tool such as `deputy exec` or `deputy git-credential`, where
/// the person who configures the task is the person it acts for.
///
/// Names compare without regard to ASCII case, as GitHub's do. A service acting for many users
/// needs a per-principal authorizer instead (one that asks GitHub whether the user may write).
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use deputy::repo_auth::{RepoAllowList, RepoAuthorizer, RepoDecision};
/// use deputy_core::Operation;
/// let allow = RepoAllowList::new(["acme/app".parse().unwrap()]);
/// let app = "Acme/App".parse().unwrap();
/// let other = "acme/other".parse().unwrap();
/// assert!(matches!(allow.authorize("p", &app, Operation::Write).await, RepoDecision::Allow { .. }));
/// assert!(matches!(allow.authorize("p", &other, Operation::Write).await, RepoDecision::Deny { .. }));
/// # });
/// ```
#[derive(Debug, Clone, Default)]
pub struct RepoAllowList {
    repos: Vec<RepoRef>,
}

impl RepoAllowList {
    /// An allow-list of `repos`.
    pub fn new(repos: impl IntoIterator<Item = RepoRef>) -> Self {
        RepoAllowList {
            repos: repos.into_iter().collect(),
        }
    }

    /// Whether `repo` is on the list.
    pub fn contains(&self, repo: &RepoRef) -> bool {
        self.repos
            .iter()
            .any(|allowed| allowed.as_str().eq_ignore_ascii_case(repo.as_str()))
    }
}

impl RepoAuthorizer for RepoAllowList {
    fn authorize<'a>(
        &'a self,
        _principal: &'a str,
        repo: &'a RepoRef,
        _op: Operation,
    ) -> AuthorizeFuture<'a> {
        let decision = if self.contains(repo) {
            RepoDecision::Allow {
                decided_at: SystemTime::now(),
            }
        } else {
            RepoDecision::Deny {
                reason: format!("{repo} is not on this task's repository allow-list"),
            }
        };
        Box::pin(std::future::ready(decision))
    }
}
