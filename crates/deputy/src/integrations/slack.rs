//! Slack: `resolve_slack_token`.

use deputy_core::{Integration, Operation};

use crate::error::ResolveError;
use crate::task::Task;
use crate::{ResolvedToken, Resolver};

impl Resolver {
    /// A Slack token for `op`, as the decision table says.
    pub async fn resolve_slack_token(
        &self,
        task: &Task,
        op: Operation,
    ) -> Result<ResolvedToken, ResolveError> {
        self.resolve_token(task, &Integration::Slack, op).await
    }
}
