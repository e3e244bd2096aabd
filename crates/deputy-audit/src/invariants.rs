//! The invariants checked on every record. One checker remembers which user and task each
//! token fingerprint was first seen for, so a shared token is found across records.

use std::collections::HashMap;

use deputy_core::audit::{AuditRecord, CredentialSource};
use deputy_core::{IssuerMap, Operation};

use crate::finding::{Finding, Rule};

/// Checks records against the audit invariants.
///
/// ```
/// use deputy_audit::invariants::InvariantChecker;
/// let mut checker = InvariantChecker::default();
/// // `check` returns one finding per broken rule for each record it is given.
/// # let _ = &mut checker;
/// ```
#[derive(Debug, Default)]
pub struct InvariantChecker {
    issuers: IssuerMap,
    first_seen: HashMap<String, Owner>,
}

#[derive(Debug, Clone)]
struct Owner {
    user: Option<String>,
    task: String,
}

impl InvariantChecker {
    /// A checker that also compares the token subject's issuer with the user's IdP prefix.
    pub fn with_issuers(issuers: IssuerMap) -> Self {
        InvariantChecker {
            issuers,
            first_seen: HashMap::new(),
        }
    }

    /// Every rule `record` breaks.
    pub fn check(&mut self, record: &AuditRecord) -> Vec<Finding> {
        let mut found = Vec::new();
        let task = record.correlation.task_id.as_str();
        let mut report = |rule: Rule, message: String| {
            found.push(Finding {
                rule,
                message,
                record: Some(Box::new(record.clone())),
                span: None,
                attribute: None,
                shape: None,
            });
        };
        let user_rooted = record
            .asserted_chain
            .as_ref()
            .is_some_and(|chain| chain.user.is_some());
        if record.operation == Operation::Write && !user_rooted {
            report(
                Rule::WriteWithoutUser,
                format!(
                    "task {task}: a {} write credential was issued by rule {} ({}) with no user at the root of the asserted chain",
                    record.integration, record.rule_id, record.flow
                ),
            );
        }
        if record.source == CredentialSource::SecretsManagerFallback {
            report(
                Rule::SecretsManagerFallback,
                format!(
                    "task {task}: the Secrets Manager fallback issued the {} credential ({}); the vault was unavailable",
                    record.integration,
                    record
                        .fallback_reason
                        .as_deref()
                        .unwrap_or("no reason recorded")
                ),
            );
        }
        if let Some(observed) = &record.observed_delegation {
            match &record.asserted_chain {
                Some(asserted) => {
                    let disagreements = asserted.disagreements(observed, &self.issuers);
                    if !disagreements.is_empty() {
                        let list: Vec<String> =
                            disagreements.iter().map(ToString::to_string).collect();
                        report(
                            Rule::ChainDisagreement,
                            format!("task {task}: {}", list.join("; ")),
                        );
                    }
                }
                None => report(
                    Rule::ChainDisagreement,
                    format!(
                        "task {task}: the token records delegation ({}) but no chain was asserted",
                        observed.actors
                    ),
                ),
            }
        }
        if let Some(fp) = &record.token_fingerprint {
            let user = record
                .correlation
                .user_id
                .as_ref()
                .map(|u| u.as_str().to_owned());
            match self.first_seen.get(fp.as_str()) {
                Some(first) if first.user != user || first.task != task => report(
                    Rule::FingerprintShared,
                    format!(
                        "token {fp} was issued for task {} (user {}) and is used again by task {task} (user {})",
                        first.task,
                        first.user.as_deref().unwrap_or("none"),
                        user.as_deref().unwrap_or("none"),
                    ),
                ),
                Some(_) => {}
                None => {
                    self.first_seen.insert(
                        fp.as_str().to_owned(),
                        Owner {
                            user,
                            task: task.to_owned(),
                        },
                    );
                }
            }
        }
        found
    }
}
