//! The loaded decision table: validation of the whole table, decisions and explanations.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::{Integration, Operation, TaskContext, TriggerKind};

use super::cell_index::CellIndex;
use super::checks::{check_coverage, check_rules_against_cells};
use super::decision::{Cell, Consideration, Decision, Explanation, NoRule, Verdict};
use super::error::{PolicyError, Problem, line_col};
use super::fallback::{self, FallbackSecret};
use super::rule::{ENVIRONMENTS, INTEGRATION_PLACEHOLDER, Rule, Selector, compile_rule};
use super::schema::PolicyFile;
use super::write_access::check_write_access;

/// At most this many features, so every combination can be checked at load.
pub const MAX_FEATURES: usize = 8;

const BUILT_IN_SOURCE: &str = include_str!("default.toml");

/// A validated decision table.
///
/// Every (integration, trigger, operation) cell is covered by exactly one active rule,
/// under every combination of the table's features; loading fails otherwise.
///
/// ```
/// use deputy_core::policy::PolicyTable;
/// use deputy_core::{Integration, Operation, TriggerKind};
/// let table = PolicyTable::built_in().unwrap();
/// let decision = table
///     .decide_cell(&Integration::Github, TriggerKind::Webhook, Operation::Read)
///     .unwrap();
/// assert_eq!(decision.flow.name(), "m2m");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyTable {
    source_name: String,
    environment: Option<String>,
    features: BTreeMap<String, bool>,
    rules: Vec<Rule>,
    integrations: Vec<Integration>,
    fallback_secrets: BTreeMap<Integration, FallbackSecret>,
    pub(super) index: CellIndex,
}

impl PolicyTable {
    /// The built-in table: the RFC's decision tree (see `docs/decision-table.md`).
    pub fn built_in() -> Result<Self, PolicyError> {
        Self::from_toml("<built-in>", BUILT_IN_SOURCE)
    }

    /// The TOML text of the built-in table, to start a custom one from.
    pub fn built_in_source() -> &'static str {
        BUILT_IN_SOURCE
    }

    /// Parses and validates a table; `source_name` names it in errors (usually the path).
    pub fn from_toml(source_name: &str, text: &str) -> Result<Self, PolicyError> {
        let file: PolicyFile = toml::from_str(text).map_err(|e| {
            let (line, column) = line_col(text, e.span().map_or(0, |s| s.start));
            PolicyError::Syntax {
                source_name: source_name.to_owned(),
                line,
                column,
                message: e.message().to_owned(),
            }
        })?;
        let mut problems = Vec::new();
        let line_of = |offset: usize| line_col(text, offset).0;
        if *file.version.get_ref() != 1 {
            problems.push(Problem {
                line: Some(line_of(file.version.span().start)),
                message: format!(
                    "unsupported version {}; this deputy reads version = 1",
                    file.version.get_ref()
                ),
            });
        }
        let environment = file.environment.as_ref().map(|env| env.get_ref().clone());
        if let Some(env) = &file.environment
            && !ENVIRONMENTS.contains(&env.get_ref().as_str())
        {
            problems.push(Problem {
                line: Some(line_of(env.span().start)),
                message: format!(
                    "environment {:?} must be one of {ENVIRONMENTS:?}",
                    env.get_ref()
                ),
            });
        }
        if file.features.len() > MAX_FEATURES {
            problems.push(Problem {
                line: None,
                message: format!(
                    "{} features declared; at most {MAX_FEATURES} are supported",
                    file.features.len()
                ),
            });
        }
        let mut rules = Vec::new();
        let mut seen_ids = BTreeMap::new();
        for spanned in file.rules {
            let line = line_of(spanned.span().start);
            let entry = spanned.into_inner();
            if let Some(first) = seen_ids.insert(entry.id.clone(), line) {
                problems.push(Problem {
                    line: Some(line),
                    message: format!(
                        "rule id {:?} is used twice (first at line {first})",
                        entry.id
                    ),
                });
            }
            for feature in entry.when.iter().chain(&entry.unless) {
                if !file.features.contains_key(feature) {
                    problems.push(Problem {
                        line: Some(line),
                        message: format!(
                            "rule {:?} depends on feature {feature:?}, which [features] does not declare",
                            entry.id
                        ),
                    });
                }
            }
            rules.extend(compile_rule(
                entry,
                line,
                environment.as_deref(),
                &mut problems,
            ));
        }
        let integrations = universe(&rules);
        let fallback_secrets =
            fallback::compile_all(file.fallback, &rules, &integrations, text, &mut problems);
        if problems.is_empty() {
            check_rules_against_cells(&rules, &integrations, &mut problems);
            check_write_access(&rules, &integrations, &mut problems);
            check_coverage(&rules, &integrations, &file.features, &mut problems);
        }
        if !problems.is_empty() {
            problems.sort_by_key(|p| p.line);
            return Err(PolicyError::Invalid {
                source_name: source_name.to_owned(),
                problems,
            });
        }
        Ok(PolicyTable {
            source_name: source_name.to_owned(),
            environment,
            features: file.features,
            rules,
            integrations,
            fallback_secrets,
            index: CellIndex::default(),
        }
        .indexed())
    }

    /// The table with its cell index rebuilt for the current feature states.
    fn indexed(mut self) -> Self {
        self.index = CellIndex::build(&self.integrations, |integration, trigger, operation| {
            self.scan(integration, trigger, operation).ok()
        });
        self
    }

    /// The shared secret the Secrets Manager fallback reads for an integration, if configured.
    pub fn fallback_secret(&self, integration: &Integration) -> Option<&FallbackSecret> {
        self.fallback_secrets.get(integration)
    }

    /// Turns a declared feature on or off.
    pub fn with_feature(mut self, name: &str, on: bool) -> Result<Self, PolicyError> {
        match self.features.get_mut(name) {
            Some(state) => {
                *state = on;
                Ok(self.indexed())
            }
            None => Err(PolicyError::Invalid {
                source_name: self.source_name,
                problems: vec![Problem {
                    line: None,
                    message: format!(
                        "unknown feature {name:?}; the table declares {:?}",
                        self.features.keys().collect::<Vec<_>>()
                    ),
                }],
            }),
        }
    }

    /// Where the table came from.
    pub fn source_name(&self) -> &str {
        &self.source_name
    }

    /// The environment whose prefix provider names carry.
    pub fn environment(&self) -> Option<&str> {
        self.environment.as_deref()
    }

    /// The declared features and their current state.
    pub fn features(&self) -> &BTreeMap<String, bool> {
        &self.features
    }

    /// The rules, in file order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Every integration the table covers: the built-ins and the custom ones it names.
    pub fn integrations(&self) -> &[Integration] {
        &self.integrations
    }

    /// The decision for a task, shared: every cell's decision is worked out when the table is
    /// loaded, so this is a lookup (custom integrations the table never names are decided by
    /// scanning the rules).
    ///
    /// ```
    /// use deputy_core::policy::PolicyTable;
    /// use deputy_core::{Integration, Operation, TaskContext, TaskId, Trigger};
    /// let table = PolicyTable::built_in().unwrap();
    /// let ctx = TaskContext::new(TaskId::new("t-1").unwrap(), Trigger::Headless);
    /// let a = table.decide(&ctx, &Integration::Linear, Operation::Read).unwrap();
    /// let b = table.decide(&ctx, &Integration::Linear, Operation::Read).unwrap();
    /// assert!(std::sync::Arc::ptr_eq(&a, &b));
    /// ```
    pub fn decide(
        &self,
        ctx: &TaskContext,
        integration: &Integration,
        operation: Operation,
    ) -> Result<Arc<Decision>, NoRule> {
        let trigger = ctx.trigger.kind();
        match self
            .index
            .get(&self.integrations, integration, trigger, operation)
        {
            Some(Some(decision)) => Ok(Arc::clone(decision)),
            Some(None) => Err(no_rule(integration, trigger, operation)),
            None => self.scan(integration, trigger, operation).map(Arc::new),
        }
    }

    /// The decision for one cell of the table, as an owned value.
    pub fn decide_cell(
        &self,
        integration: &Integration,
        trigger: TriggerKind,
        operation: Operation,
    ) -> Result<Decision, NoRule> {
        match self
            .index
            .get(&self.integrations, integration, trigger, operation)
        {
            Some(Some(decision)) => Ok(Decision::clone(decision)),
            Some(None) => Err(no_rule(integration, trigger, operation)),
            None => self.scan(integration, trigger, operation),
        }
    }

    /// The first active rule covering the cell, instantiated: the definition of a decision.
    pub(super) fn scan(
        &self,
        integration: &Integration,
        trigger: TriggerKind,
        operation: Operation,
    ) -> Result<Decision, NoRule> {
        let on = |f: &str| self.features.get(f).copied().unwrap_or(false);
        self.rules
            .iter()
            .find(|r| r.is_active(on) && r.covers(integration, trigger, operation))
            .map(|r| instantiate(&r.decision, integration))
            .ok_or_else(|| no_rule(integration, trigger, operation))
    }

    /// The decision for one cell with the reasoning trail: every rule and why it did or did not fire.
    pub fn explain(
        &self,
        integration: &Integration,
        trigger: TriggerKind,
        operation: Operation,
    ) -> Explanation {
        let on = |f: &str| self.features.get(f).copied().unwrap_or(false);
        let trail = self
            .rules
            .iter()
            .map(|rule| {
                let verdict = if let Some(f) = rule.when.as_ref().filter(|f| !on(f)) {
                    Verdict::Inactive {
                        feature: f.clone(),
                        needs_on: true,
                    }
                } else if let Some(f) = rule.unless.as_ref().filter(|f| on(f)) {
                    Verdict::Inactive {
                        feature: f.clone(),
                        needs_on: false,
                    }
                } else {
                    let mut reasons = Vec::new();
                    if !rule.integrations.matches(integration) {
                        reasons.push(format!(
                            "integration {integration} not in [{}]",
                            rule.integrations
                        ));
                    }
                    if !rule.triggers.matches(&trigger) {
                        reasons.push(format!("trigger {trigger} not in [{}]", rule.triggers));
                    }
                    if !rule.operations.matches(&operation) {
                        reasons.push(format!(
                            "operation {operation} not in [{}]",
                            rule.operations
                        ));
                    }
                    if reasons.is_empty() {
                        Verdict::Matched
                    } else {
                        Verdict::NoMatch { reasons }
                    }
                };
                Consideration {
                    rule_id: rule.id.clone(),
                    line: rule.line,
                    verdict,
                }
            })
            .collect();
        Explanation {
            cell: Cell {
                integration: integration.clone(),
                trigger,
                operation,
            },
            outcome: self.decide_cell(integration, trigger, operation),
            trail,
        }
    }
}

fn no_rule(integration: &Integration, trigger: TriggerKind, operation: Operation) -> NoRule {
    NoRule {
        cell: Cell {
            integration: integration.clone(),
            trigger,
            operation,
        },
    }
}

fn instantiate(template: &Decision, integration: &Integration) -> Decision {
    let mut decision = template.clone();
    if let Some(provider) = &mut decision.provider {
        *provider = provider
            .replace(INTEGRATION_PLACEHOLDER, integration.name())
            .into();
    }
    decision
}

/// The built-ins plus every custom integration some rule names.
fn universe(rules: &[Rule]) -> Vec<Integration> {
    let mut all: BTreeSet<Integration> = Integration::BUILT_IN.into_iter().collect();
    for rule in rules {
        if let Selector::Only(list) = &rule.integrations {
            all.extend(list.iter().cloned());
        }
    }
    let mut ordered: Vec<Integration> = Integration::BUILT_IN.to_vec();
    ordered.extend(
        all.into_iter()
            .filter(|i| matches!(i, Integration::Custom(_))),
    );
    ordered
}
