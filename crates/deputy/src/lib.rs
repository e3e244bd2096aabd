//! `deputy`: the library agent code links to resolve per-task, per-user credentials.
//!
//! The resolver (Token Vault client, Workload Access Token sources, consent, cache and
//! telemetry) builds on the pure facts and decisions of [`deputy_core`], re-exported as
//! [`core`] so agent code needs one dependency.
//!
//! ```
//! use deputy::core::{Integration, Operation};
//! assert_eq!(Integration::Github.name(), "github");
//! assert_eq!(Operation::Write.name(), "write");
//! ```

pub mod cache;
mod secret;
pub mod vault;
pub mod wat_headers;

pub use deputy_core as core;
pub use secret::{AccessToken, UserToken, WorkloadAccessToken};
