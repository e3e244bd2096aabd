//! `deputy`: the library agent code links to resolve per-task, per-user credentials.
//!
//! A [`Resolver`] asks the decision table ([`deputy_core::policy`]) which flow serves a request,
//! serves it from a single-flight cache or fetches it from the AgentCore Identity Token Vault
//! with the task's Workload Access Token, verifies on-behalf-of tokens, and records a
//! `deputy.resolve` span with fingerprints, never tokens.
//!
//! ```no_run
//! # async fn run(resolver: deputy::Resolver, task: deputy::task::Task) -> Result<(), deputy::ResolveError> {
//! use deputy::core::Operation;
//! let token = resolver.resolve_linear_token(&task, Operation::Read).await?;
//! println!("{} from {:?}", token.fingerprint(), token.source);
//! # Ok(()) }
//! ```

pub mod aws;
pub mod breaker;
pub mod cache;
pub mod callback;
pub mod consent;
pub mod doctor;
pub mod error;
pub mod expiry;
pub mod fallback;
pub mod github_app;
mod integrations;
pub mod log_filter;
pub mod otel;
pub mod repo_auth;
mod resolved;
mod resolver;
mod secret;
pub mod task;
mod telemetry;
pub mod user_jwt;
pub mod vault;
pub mod verify;
pub mod wat_headers;

pub use deputy_core as core;
pub use error::{ConsentRequired, ResolveError};
pub use resolved::ResolvedToken;
pub use resolver::{BuildError, Resolver, ResolverBuilder};
pub use secret::{AccessToken, UserToken, WorkloadAccessToken};
