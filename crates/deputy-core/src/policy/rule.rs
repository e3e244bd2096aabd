//! A validated rule: which cells of the table it covers and the decision it yields.

use std::fmt;

use crate::flow::{ActorToken, Flow};
use crate::{Integration, Operation, TriggerKind};

use super::decision::{Consent, Decision};
use super::error::Problem;
use super::fallback::check_rule_fallback;
use super::fresh_consent::compile_consent_max_age;
use super::schema::{ConsentName, FlowName, RuleEntry};

/// Which values of one dimension a rule matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector<T> {
    /// `["*"]`: every value.
    Any,
    /// The listed values.
    Only(Vec<T>),
}

impl<T: PartialEq> Selector<T> {
    /// Whether the selector matches a value.
    pub fn matches(&self, value: &T) -> bool {
        match self {
            Selector::Any => true,
            Selector::Only(values) => values.contains(value),
        }
    }
}

impl<T: fmt::Display> fmt::Display for Selector<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Selector::Any => f.write_str("any"),
            Selector::Only(values) => {
                for (i, v) in values.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                Ok(())
            }
        }
    }
}

/// One rule of the decision table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The rule's id, named in every decision it makes.
    pub id: String,
    /// 1-based line of the `[[rule]]` in its file.
    pub line: usize,
    /// What the rule is for, in one sentence.
    pub summary: Option<String>,
    /// Integrations matched.
    pub integrations: Selector<Integration>,
    /// Triggers matched.
    pub triggers: Selector<TriggerKind>,
    /// Operations matched.
    pub operations: Selector<Operation>,
    /// The rule is active only when this feature is on.
    pub when: Option<String>,
    /// The rule is active only when this feature is off.
    pub unless: Option<String>,
    /// The decision the rule yields.
    pub decision: Decision,
}

impl Rule {
    /// Whether the rule is active under a feature assignment.
    pub fn is_active(&self, feature_on: impl Fn(&str) -> bool) -> bool {
        self.when.as_deref().is_none_or(&feature_on)
            && !self.unless.as_deref().is_some_and(&feature_on)
    }

    /// Whether the rule covers a cell of the table.
    pub fn covers(
        &self,
        integration: &Integration,
        trigger: TriggerKind,
        operation: Operation,
    ) -> bool {
        self.integrations.matches(integration)
            && self.triggers.matches(&trigger)
            && self.operations.matches(&operation)
    }
}

/// In a provider name, replaced by the integration's name at decision time.
pub const INTEGRATION_PLACEHOLDER: &str = "{integration}";

/// Whether a string is a valid AgentCore credential provider name.
pub(crate) fn is_provider_name(name: &str) -> bool {
    (1..=128).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Environments whose name prefixes provider names.
pub const ENVIRONMENTS: [&str; 3] = ["dev", "staging", "prod"];

/// Checks one rule entry on its own; pushes every problem found.
pub(crate) fn compile_rule(
    entry: RuleEntry,
    line: usize,
    environment: Option<&str>,
    problems: &mut Vec<Problem>,
) -> Option<Rule> {
    let before = problems.len();
    let mut problem = |message: String| {
        problems.push(Problem {
            line: Some(line),
            message,
        })
    };
    let id = entry.id.clone();
    let valid_id = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !valid_id {
        problem(format!(
            "rule id {id:?} must be 1-64 characters of a-z, 0-9 and '-'"
        ));
    }
    let integrations = selector(&id, "integrations", &entry.integrations, &mut problem);
    let triggers = selector(&id, "triggers", &entry.triggers, &mut problem);
    let operations = selector(&id, "operations", &entry.operations, &mut problem);

    let is = |flow: FlowName| entry.flow == flow;
    let flow = match entry.flow {
        FlowName::UserFederation => Flow::UserFederation,
        FlowName::M2m => Flow::M2m,
        FlowName::ApiKey => Flow::ApiKey,
        FlowName::OnBehalfOf => {
            let actor = entry.actor_token.unwrap_or(ActorToken::M2m);
            if !actor.is_delegation() && !entry.allow_impersonation {
                problem(format!(
                    "rule {id:?}: actor_token = \"none\" is impersonation (the token carries no `act` claim); use \"m2m\" for delegation, or set allow_impersonation = true if you mean it"
                ));
            }
            Flow::OnBehalfOf { actor }
        }
        FlowName::GithubApp => Flow::GithubApp {
            permissions: entry.permissions.clone().unwrap_or_default(),
        },
        FlowName::Deny => Flow::Deny {
            reason: entry.reason.clone().unwrap_or_default(),
        },
    };
    let flow_name = flow.name();
    if entry.actor_token.is_some() && !is(FlowName::OnBehalfOf) {
        problem(format!(
            "rule {id:?}: actor_token applies only to flow = \"on_behalf_of\", not {flow_name:?}"
        ));
    }
    if entry.allow_impersonation && !is(FlowName::OnBehalfOf) {
        problem(format!(
            "rule {id:?}: allow_impersonation applies only to flow = \"on_behalf_of\""
        ));
    }
    match (&entry.permissions, is(FlowName::GithubApp)) {
        (None, true) => problem(format!(
            "rule {id:?}: flow = \"github_app\" needs permissions, e.g. {{ contents = \"read\", metadata = \"read\" }}"
        )),
        (Some(p), true) if p.is_empty() => problem(format!(
            "rule {id:?}: permissions must name at least one permission"
        )),
        (Some(_), false) => problem(format!(
            "rule {id:?}: permissions apply only to flow = \"github_app\", not {flow_name:?}"
        )),
        _ => {}
    }
    if is(FlowName::GithubApp)
        && integrations
            .as_ref()
            .is_some_and(|s| *s != Selector::Only(vec![Integration::Github]))
    {
        problem(format!(
            "rule {id:?}: flow = \"github_app\" can only serve integrations = [\"github\"]"
        ));
    }
    match (&entry.reason, is(FlowName::Deny)) {
        (None, true) => problem(format!(
            "rule {id:?}: flow = \"deny\" needs a reason the caller will read"
        )),
        (Some(_), false) => problem(format!(
            "rule {id:?}: reason applies only to flow = \"deny\""
        )),
        _ => {}
    }
    let consent = match (entry.consent, is(FlowName::UserFederation)) {
        (Some(ConsentName::Prompt), true) => Consent::Prompt,
        (Some(ConsentName::FailClosed), true) => Consent::FailClosed,
        (None, true) => {
            problem(format!(
                "rule {id:?}: flow = \"user_federation\" needs consent = \"prompt\" or \"fail_closed\""
            ));
            Consent::FailClosed
        }
        (Some(_), false) => {
            problem(format!(
                "rule {id:?}: consent applies only to flow = \"user_federation\", not {flow_name:?}"
            ));
            Consent::NotApplicable
        }
        (None, false) => Consent::NotApplicable,
    };
    let consent_max_age = compile_consent_max_age(&id, &entry, &mut problem);
    let provider = compile_provider(&id, &entry, environment, &mut problem);
    let (backup_provider, provider_pool) =
        compile_api_key_extras(&id, &entry, environment, &mut problem);
    check_rule_fallback(&id, &entry, &mut problem);
    if is(FlowName::ApiKey)
        && !(entry.scopes.is_empty() && entry.audiences.is_empty() && entry.resources.is_empty())
    {
        problem(format!(
            "rule {id:?}: API keys have no scopes, audiences or resources; remove them"
        ));
    }
    if let (Some(t), Some(u)) = (&entry.when, &entry.unless)
        && t == u
    {
        problem(format!(
            "rule {id:?}: when and unless name the same feature {t:?}; the rule could never be active"
        ));
    }
    if problems.len() > before {
        return None;
    }
    Some(Rule {
        line,
        summary: entry.summary,
        integrations: integrations?,
        triggers: triggers?,
        operations: operations?,
        when: entry.when,
        unless: entry.unless,
        decision: Decision {
            rule_id: id.as_str().into(),
            flow,
            provider: provider.map(Into::into),
            scopes: entry.scopes,
            audiences: entry.audiences,
            resources: entry.resources,
            consent,
            consent_max_age,
            secrets_manager_fallback: entry.secrets_manager_fallback,
            fallback_replaces_user: entry.fallback_replaces_user,
            repo_authorization: entry.repo_authorization,
            backup_provider,
            provider_pool,
        },
        id,
    })
}

fn compile_provider(
    id: &str,
    entry: &RuleEntry,
    environment: Option<&str>,
    problem: &mut impl FnMut(String),
) -> Option<String> {
    let needs = !matches!(entry.flow, FlowName::Deny | FlowName::GithubApp);
    let Some(bare) = entry.provider.as_deref() else {
        if needs {
            problem(format!(
                "rule {id:?}: this flow needs provider = \"<credential provider name>\""
            ));
        }
        return None;
    };
    if entry.flow == FlowName::Deny {
        problem(format!("rule {id:?}: a deny rule names no provider"));
        return None;
    }
    environment_name(id, bare, environment, problem)
}

/// The provider name with the table's environment prefix, checked.
fn environment_name(
    id: &str,
    bare: &str,
    environment: Option<&str>,
    problem: &mut impl FnMut(String),
) -> Option<String> {
    let already = ENVIRONMENTS
        .iter()
        .find(|env| bare.starts_with(&format!("{env}-")));
    if let (Some(env), Some(_)) = (already, environment) {
        problem(format!(
            "rule {id:?}: write the bare provider name; {bare:?} already carries the {env:?} environment prefix, and the table adds `environment`'s prefix itself"
        ));
        return None;
    }
    let full = match environment {
        Some(env) => format!("{env}-{bare}"),
        None => bare.to_owned(),
    };
    if !is_provider_name(&full.replace(INTEGRATION_PLACEHOLDER, "x")) {
        problem(format!(
            "rule {id:?}: provider {full:?} is not a valid credential provider name (1-128 of A-Z, a-z, 0-9, '-', '_')"
        ));
        return None;
    }
    Some(full)
}

/// The API-key backup provider and rotation pool, environment prefixes included.
fn compile_api_key_extras(
    id: &str,
    entry: &RuleEntry,
    environment: Option<&str>,
    problem: &mut impl FnMut(String),
) -> (Option<String>, Vec<String>) {
    if entry.flow != FlowName::ApiKey {
        if entry.backup_provider.is_some() || !entry.pool.is_empty() {
            problem(format!(
                "rule {id:?}: backup_provider and pool apply only to flow = \"api_key\""
            ));
        }
        return (None, Vec::new());
    }
    let backup = entry
        .backup_provider
        .as_deref()
        .and_then(|b| environment_name(id, b, environment, problem));
    if backup.is_some()
        && backup
            == entry
                .provider
                .as_deref()
                .and_then(|p| environment_name(id, p, environment, &mut |_| {}))
    {
        problem(format!(
            "rule {id:?}: backup_provider must differ from provider"
        ));
    }
    let pool: Vec<String> = entry
        .pool
        .iter()
        .filter_map(|p| environment_name(id, p, environment, problem))
        .collect();
    if !entry.pool.is_empty() && entry.pool.len() < 2 {
        problem(format!(
            "rule {id:?}: a pool rotates between at least two providers"
        ));
    }
    (backup, pool)
}

fn selector<T: std::str::FromStr>(
    id: &str,
    field: &str,
    values: &[String],
    problem: &mut impl FnMut(String),
) -> Option<Selector<T>>
where
    T::Err: fmt::Display,
{
    match values {
        [] => {
            problem(format!(
                "rule {id:?}: {field} is empty; list values or use [\"*\"]"
            ));
            None
        }
        [star] if star == "*" => Some(Selector::Any),
        _ => {
            let mut parsed = Vec::with_capacity(values.len());
            for value in values {
                if value == "*" {
                    problem(format!("rule {id:?}: {field}: \"*\" must stand alone"));
                    continue;
                }
                match value.parse::<T>() {
                    Ok(v) => parsed.push(v),
                    Err(e) => problem(format!("rule {id:?}: {field}: {e}")),
                }
            }
            (parsed.len() == values.len()).then_some(Selector::Only(parsed))
        }
    }
}
