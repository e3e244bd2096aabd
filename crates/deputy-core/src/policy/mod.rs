//! The decision table: which flow, provider and scopes serve a credential request.
//!
//! A table is TOML (see `docs/decision-table.md` for the format and the built-in table).
//! It is validated as a whole when loaded: every (integration, trigger, operation) cell must be
//! covered by exactly one rule, under every combination of the declared features, and every rule
//! must be consistent with the cells it covers (no user flow for headless tasks, no OBO for
//! webhooks, repository authorization for every token that can write, …).

mod cell_index;
mod checks;
mod decision;
mod error;
mod fallback;
mod fresh_consent;
mod render;
mod rule;
mod schema;
mod table;
mod write_access;

pub use decision::{Cell, Consent, Consideration, Decision, Explanation, NoRule, Verdict};
pub use error::{PolicyError, Problem};
pub use fallback::{AssumeRole, FallbackFormat, FallbackSecret};
pub use rule::{ENVIRONMENTS, INTEGRATION_PLACEHOLDER, Rule, Selector};
pub use table::{MAX_FEATURES, PolicyTable};
pub use write_access::{GITHUB_READ_ONLY_SCOPES, scope_can_write};
