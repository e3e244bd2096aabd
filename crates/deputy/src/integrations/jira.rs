//! Jira: `resolve_jira_token`.

use deputy_core::{Integration, Operation};

use crate::error::ResolveError;
use crate::task::Task;
use crate::{ResolvedToken, Resolver};

impl Resolver {
    /// A Jira token for `op`, as the decision table says.
    pub async fn resolve_jira_token(
        &self,
        task: &Task,
        op: Operation,
    ) -> Result<ResolvedToken, ResolveError> {
        self.resolve_token(task, &Integration::Jira, op).await
    }
}
