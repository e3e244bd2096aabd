//! `deputy`: the library agent code links to resolve per-task, per-user credentials.
//!
//! The resolver itself (Token Vault client, Workload Access Token sources, consent, cache and
//! telemetry) is built on the pure facts and decisions of [`deputy_core`], which this crate
//! re-exports so agent code needs one dependency.
//!
//! ```
//! use deputy::core::{Integration, Operation};
//! assert_eq!(Integration::Github.name(), "github");
//! assert_eq!(Operation::Write.name(), "write");
//! ```

pub use deputy_core as core;
