//! Every cell's decision, worked out once when the table is loaded (or a feature changes), so
//! deciding for a task is an index computation and a reference-count increment.

use std::fmt;
use std::sync::Arc;

use crate::{Integration, Operation, TriggerKind};

use super::decision::Decision;

const CELLS_PER_INTEGRATION: usize = TriggerKind::ALL.len() * Operation::ALL.len();

/// The decision of each (integration, trigger, operation) cell, for the integrations the table
/// covers, in the order of [`super::PolicyTable::integrations`].
#[derive(Clone, PartialEq, Eq, Default)]
pub(super) struct CellIndex {
    decisions: Vec<Option<Arc<Decision>>>,
}

impl fmt::Debug for CellIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CellIndex")
            .field("cells", &self.decisions.len())
            .finish()
    }
}

impl CellIndex {
    /// Builds the index with `decide`, which answers one cell the slow way.
    pub(super) fn build(
        integrations: &[Integration],
        mut decide: impl FnMut(&Integration, TriggerKind, Operation) -> Option<Decision>,
    ) -> Self {
        let mut decisions = Vec::with_capacity(integrations.len() * CELLS_PER_INTEGRATION);
        for integration in integrations {
            for trigger in TriggerKind::ALL {
                for operation in Operation::ALL {
                    decisions.push(decide(integration, trigger, operation).map(Arc::new));
                }
            }
        }
        CellIndex { decisions }
    }

    /// The cell's decision: `None` when the integration is not one the index was built for,
    /// `Some(None)` when no rule covers the cell.
    pub(super) fn get(
        &self,
        integrations: &[Integration],
        integration: &Integration,
        trigger: TriggerKind,
        operation: Operation,
    ) -> Option<Option<&Arc<Decision>>> {
        let row = integrations.iter().position(|i| i == integration)?;
        let trigger = TriggerKind::ALL.iter().position(|t| *t == trigger)?;
        let operation = Operation::ALL.iter().position(|o| *o == operation)?;
        let cell = row * CELLS_PER_INTEGRATION + trigger * Operation::ALL.len() + operation;
        self.decisions.get(cell).map(Option::as_ref)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::PolicyTable;

    #[test]
    fn indexed_decisions_equal_the_rule_scan_for_every_cell() {
        let table = PolicyTable::built_in().unwrap();
        for on in [false, true] {
            let table = table.clone().with_feature("github-app", on).unwrap();
            for integration in table.integrations() {
                for trigger in TriggerKind::ALL {
                    for op in Operation::ALL {
                        let indexed = table
                            .index
                            .get(table.integrations(), integration, trigger, op)
                            .unwrap()
                            .map(|d| (**d).clone());
                        assert_eq!(indexed, table.scan(integration, trigger, op).ok());
                    }
                }
            }
        }
    }

    #[test]
    fn integrations_outside_the_table_are_not_indexed() {
        let table = PolicyTable::built_in().unwrap();
        let unknown: Integration = "pagerduty".parse().unwrap();
        assert!(
            table
                .index
                .get(
                    table.integrations(),
                    &unknown,
                    TriggerKind::Headless,
                    Operation::Read
                )
                .is_none()
        );
    }
}
