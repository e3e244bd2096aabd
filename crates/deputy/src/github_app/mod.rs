//! GitHub App installation tokens: scoped to the task's one repository and the rule's
//! permissions, cached per task, revoked when the task ends, attributed to the user.
//!
//! The decision table picks, per rule, between a user-to-server 3LO token through the vault
//! (the action is *as the user*) and an installation token (`flow = "github_app"`: the action
//! is *scoped to one repository*, with the user recorded as the one the agent acts for).
//!
//! - [`GithubApp`] mints with octocrab: `repositories` = exactly the task's repository,
//!   `permissions` = exactly the rule's (built-in: `contents`+`metadata` read for reads,
//!   `contents`+`pull_requests` write for writes). Its private key comes from an
//!   [`AppKeySource`] ([`VaultApiKeySource`] reads a vault API-key provider) and is never logged.
//! - The resolver caches the token in its single-flight cache keyed by task *and* repository,
//!   served until GitHub's `expires_at` minus the cache buffer.
//! - Writes need a [`crate::repo_auth::RepoAuthorizer`] allow first; without one, fail closed.
//! - [`TaskCredentials`] revokes what a task minted when the task closes.
//! - [`CommitTrailers`] name the user and the task in commits the App makes.
//!
//! ```no_run
//! # async fn run(vault: deputy::vault::TokenVault, task: deputy::task::Task) -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use deputy::Resolver;
//! use deputy::core::Operation;
//! use deputy::core::policy::PolicyTable;
//! use deputy::github_app::{GithubApp, VaultApiKeySource};
//!
//! let resolver = Resolver::builder()
//!     .vault(vault)
//!     .workload("deputy-agent")
//!     .policy(PolicyTable::built_in()?.with_feature("github-app", true)?)
//!     .github_app(GithubApp::new(123456, Arc::new(VaultApiKeySource::new("github-app-key"))))
//!     .build()?;
//! let credentials = resolver.task_credentials(task);
//! let token = credentials.github_token(Operation::Read, &"octo-org/app".parse()?).await?;
//! println!("{}", token.fingerprint());
//! credentials.close().await?;
//! # Ok(()) }
//! ```

mod app;
mod attribution;
mod error;
mod http;
mod key;
mod resolve;
mod task_credentials;

pub use app::{GITHUB_API, GithubApp, MintedToken, Revocation};
pub use attribution::{CommitTrailers, GithubIdentity};
pub use error::GithubAppError;
pub use key::{AppKeySource, AppPrivateKey, KeyError, KeyFuture, KeyRequest, VaultApiKeySource};
pub use task_credentials::{Closed, TaskCredentials};
