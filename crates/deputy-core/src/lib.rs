//! The pure core of deputy: facts, decisions, actor chains and audit records. No I/O, no async.
//!
//! - [`Integration`], [`Operation`], [`TaskContext`] and [`UserId`] are the facts about a request.
//! - [`policy::PolicyTable`] is the decision table that maps them to a [`flow::Flow`].
//! - [`actor`] parses RFC 8693 `act` chains and compares them with the asserted chain.
//! - [`audit`] holds the `abca.audit.v1` record and [`attr`] every span attribute name.
//!
//! ```
//! use deputy_core::policy::PolicyTable;
//! use deputy_core::{Integration, Operation, TaskContext, TaskId, Trigger};
//! let table = PolicyTable::built_in().unwrap();
//! let ctx = TaskContext::new(TaskId::new("t-1").unwrap(), Trigger::Headless);
//! let decision = table.decide(&ctx, &Integration::Linear, Operation::Read).unwrap();
//! assert_eq!(decision.provider.as_deref(), Some("linear-service"));
//! ```

pub mod actor;
pub mod attr;
pub mod audit;
pub mod flow;
pub mod integration;
pub mod json_text;
pub mod policy;
pub mod request;
pub mod user;

pub use integration::{Integration, Operation};
pub use request::{RepoRef, TaskContext, TaskId, TraceId, Trigger, TriggerKind};
pub use user::{IssuerMap, UserId};
