//! What can go wrong minting or revoking an installation token, naming the App, the repository
//! and the permission involved. Never carries a token or key.

use deputy_core::Integration;
use deputy_core::flow::PermissionLevel;

use super::key::KeyError;
use crate::error::ResolveError;

/// A failed GitHub App operation.
#[derive(Debug, Clone, thiserror::Error)]
pub enum GithubAppError {
    /// The private key could not be loaded or is not an RSA PEM key.
    #[error("GitHub App {app_id}: {problem}")]
    Key {
        /// The App.
        app_id: u64,
        /// What failed and where the key comes from.
        problem: String,
    },
    /// GitHub rejected the App JWT (401).
    #[error(
        "GitHub App {app_id}: GitHub rejected the App JWT (HTTP 401: {message}) for {repo}; check the App id and that the private key is the App's current one"
    )]
    AppRejected {
        /// The App.
        app_id: u64,
        /// The repository.
        repo: String,
        /// GitHub's message.
        message: String,
    },
    /// The App is not installed on the repository, or the repository does not exist (404).
    #[error(
        "GitHub App {app_id} is not installed on {repo} (HTTP 404: {message}); install the App on the repository's owner and grant it this repository"
    )]
    NotInstalled {
        /// The App.
        app_id: u64,
        /// The repository.
        repo: String,
        /// GitHub's message.
        message: String,
    },
    /// The installation does not grant a permission the rule asks for (checked before minting).
    #[error(
        "GitHub App {app_id} cannot mint for {repo}: permission {permission}: {} is not granted to the installation (it has {}); grant it in the App's settings and have the owner accept, or lower the rule's permissions",
        level_name(*.requested), granted.as_deref().unwrap_or("none")
    )]
    MissingPermission {
        /// The App.
        app_id: u64,
        /// The repository.
        repo: String,
        /// The missing permission, e.g. `pull_requests`.
        permission: String,
        /// The level asked for.
        requested: PermissionLevel,
        /// What the installation has, if anything.
        granted: Option<String>,
    },
    /// GitHub refused the mint (403 forbidden, or 422 permissions or repository not grantable).
    #[error(
        "GitHub App {app_id} cannot mint for {repo} with permissions {permissions}: HTTP {status}: {message}; check that the installation grants these permissions and includes this repository"
    )]
    Refused {
        /// The App.
        app_id: u64,
        /// The repository.
        repo: String,
        /// The permissions asked for, e.g. `contents: write, pull_requests: write`.
        permissions: String,
        /// 403 or 422.
        status: u16,
        /// GitHub's message.
        message: String,
    },
    /// GitHub could not be reached or failed (5xx, timeout); retry later.
    #[error("GitHub App {app_id}: GitHub unavailable during {during}: {message}; retry later")]
    Unavailable {
        /// The App.
        app_id: u64,
        /// What was being done, naming the repository.
        during: String,
        /// The failure.
        message: String,
    },
    /// GitHub answered something deputy does not accept (wrong repositories, no expiry, …).
    #[error("GitHub App {app_id}: unexpected answer during {during}: {problem}")]
    Unexpected {
        /// The App.
        app_id: u64,
        /// What was being done, naming the repository.
        during: String,
        /// What is wrong.
        problem: String,
    },
}

impl GithubAppError {
    pub(super) fn key(app_id: u64, error: KeyError) -> Self {
        GithubAppError::Key {
            app_id,
            problem: error.to_string(),
        }
    }

    /// Whether the installation lookup cached for the owner may be stale.
    pub(super) fn invalidates_installation(&self) -> bool {
        matches!(
            self,
            GithubAppError::NotInstalled { .. } | GithubAppError::Refused { .. }
        )
    }

    /// The resolver's error for this failure. Repository-scoped refusals are
    /// [`ResolveError::RepoNotAuthorized`]; key, availability and other GitHub problems are
    /// [`ResolveError::GithubApp`]. Either way no other credential is tried.
    pub fn into_resolve_error(self, integration: &Integration, principal: &str) -> ResolveError {
        match &self {
            GithubAppError::NotInstalled { repo, .. }
            | GithubAppError::MissingPermission { repo, .. }
            | GithubAppError::Refused { repo, .. } => ResolveError::RepoNotAuthorized {
                integration: integration.clone(),
                repo: repo.clone(),
                principal: principal.to_owned(),
                reason: self.to_string(),
            },
            _ => ResolveError::GithubApp {
                integration: integration.clone(),
                source: self,
            },
        }
    }
}

/// `contents: write, pull_requests: write`, in name order.
pub(super) fn describe_permissions<'a>(
    permissions: impl IntoIterator<Item = (&'a String, &'a PermissionLevel)>,
) -> String {
    permissions
        .into_iter()
        .map(|(name, level)| format!("{name}: {}", level_name(*level)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// GitHub's name for a level.
pub(super) fn level_name(level: PermissionLevel) -> &'static str {
    match level {
        PermissionLevel::Read => "read",
        PermissionLevel::Write => "write",
    }
}
