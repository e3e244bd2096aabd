//! The pure core of deputy.
pub mod integration;
pub mod request;
pub mod user;
pub use integration::{Integration, Operation};
pub use request::{RepoRef, TaskContext, TaskId, TraceId, Trigger, TriggerKind};
pub use user::{IssuerMap, UserId};
