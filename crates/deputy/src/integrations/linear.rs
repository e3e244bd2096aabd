//! Linear: `resolve_linear_token`.

use deputy_core::{Integration, Operation};

use crate::error::ResolveError;
use crate::task::Task;
use crate::{ResolvedToken, Resolver};

impl Resolver {
    /// A Linear token for `op`, as the decision table says.
    pub async fn resolve_linear_token(
        &self,
        task: &Task,
        op: Operation,
    ) -> Result<ResolvedToken, ResolveError> {
        self.resolve_token(task, &Integration::Linear, op).await
    }
}
