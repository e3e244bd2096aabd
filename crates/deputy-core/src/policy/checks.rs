//! Whole-table checks: each rule against the cells it covers, and exact coverage of every cell
//! under every feature combination.

use std::collections::{BTreeMap, BTreeSet};

use crate::flow::Flow;
use crate::{Integration, Operation, TriggerKind};

use super::decision::{Cell, Consent};
use super::error::Problem;
use super::rule::{INTEGRATION_PLACEHOLDER, Rule, is_provider_name};

/// Checks that need the cells a rule covers: flows that need a user, provider names (repository
/// authorization is checked by [`super::write_access`]).
pub(crate) fn check_rules_against_cells(
    rules: &[Rule],
    integrations: &[Integration],
    problems: &mut Vec<Problem>,
) {
    for rule in rules {
        let d = &rule.decision;
        let mut problem = |message: String| {
            problems.push(Problem {
                line: Some(rule.line),
                message,
            })
        };
        let id = &rule.id;
        if d.flow.needs_user() && rule.triggers.matches(&TriggerKind::Headless) {
            problem(format!(
                "rule {id:?}: flow {} needs a user, but it matches headless tasks, which have none (use m2m)",
                d.flow
            ));
        }
        if matches!(d.flow, Flow::OnBehalfOf { .. }) && rule.triggers.matches(&TriggerKind::Webhook)
        {
            problem(format!(
                "rule {id:?}: on_behalf_of exchanges a verified user JWT, but webhook tasks only assert their user; use user_federation with consent = \"fail_closed\""
            ));
        }
        if d.consent == Consent::Prompt && rule.triggers.matches(&TriggerKind::Webhook) {
            problem(format!(
                "rule {id:?}: webhook users are only asserted, so consent must be \"fail_closed\" (post the consent link; never wait inside a webhook)"
            ));
        }
        if let Some(provider) = &d.provider {
            for integration in integrations.iter().filter(|i| rule.integrations.matches(i)) {
                let name = provider.replace(INTEGRATION_PLACEHOLDER, integration.name());
                if !is_provider_name(&name) {
                    problem(format!(
                        "rule {id:?}: provider {name:?} (for {integration}) is not a valid credential provider name"
                    ));
                }
            }
        }
    }
}

/// Every cell is covered by exactly one active rule, under every feature combination.
pub(crate) fn check_coverage(
    rules: &[Rule],
    integrations: &[Integration],
    features: &BTreeMap<String, bool>,
    problems: &mut Vec<Problem>,
) {
    let names: Vec<&String> = features.keys().collect();
    let mut reported = BTreeSet::new();
    for mask in 0u32..(1 << names.len()) {
        let on = |f: &str| {
            names
                .iter()
                .position(|n| *n == f)
                .is_some_and(|i| mask & (1 << i) != 0)
        };
        let label = if names.is_empty() {
            String::new()
        } else {
            let states: Vec<String> = names
                .iter()
                .enumerate()
                .map(|(i, n)| format!("{n} = {}", mask & (1 << i) != 0))
                .collect();
            format!(" (with {})", states.join(", "))
        };
        let active: Vec<&Rule> = rules.iter().filter(|r| r.is_active(on)).collect();
        for integration in integrations {
            for trigger in TriggerKind::ALL {
                for operation in Operation::ALL {
                    let cell = Cell {
                        integration: integration.clone(),
                        trigger,
                        operation,
                    };
                    let covering: Vec<&&Rule> = active
                        .iter()
                        .filter(|r| r.covers(integration, trigger, operation))
                        .collect();
                    match covering.as_slice() {
                        [] => {
                            if reported.insert(format!("gap {cell}")) {
                                problems.push(Problem {
                                    line: None,
                                    message: format!("gap: no rule covers {cell}{label}; add a rule or an explicit deny"),
                                });
                            }
                        }
                        [_] => {}
                        [first, second, ..] => {
                            if reported.insert(format!("overlap {} {} {cell}", first.id, second.id))
                            {
                                problems.push(Problem {
                                    line: Some(second.line),
                                    message: format!(
                                        "overlap: rules {:?} (line {}) and {:?} (line {}) both cover {cell}{label}; exactly one rule may",
                                        first.id, first.line, second.id, second.line
                                    ),
                                });
                            }
                        }
                    }
                }
            }
        }
    }
}
