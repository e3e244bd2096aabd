//! The invariants checked on every record. One checker remembers which user and task each
//! token fingerprint was first seen for, so a shared token is found across records.

use deputy_core::actor::{AssertedChain, ObservedDelegation};
use deputy_core::audit::{AuditRecord, CredentialSource};
use deputy_core::{IssuerMap, Operation};

use crate::finding::{Finding, Rule};
use first_seen::FirstSeen;

mod first_seen;

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
    first_seen: FirstSeen,
}

impl InvariantChecker {
    /// A checker that also compares the token subject's issuer with the user's IdP prefix.
    pub fn with_issuers(issuers: IssuerMap) -> Self {
        InvariantChecker {
            issuers,
            first_seen: FirstSeen::default(),
        }
    }

    /// Starts remembering which fingerprints are new, so they can be forgotten again.
    pub(crate) fn begin(&mut self) {
        self.first_seen.begin();
    }

    /// Keeps what was seen since [`InvariantChecker::begin`].
    pub(crate) fn commit(&mut self) {
        self.first_seen.commit();
    }

    /// Forgets the fingerprints first seen since [`InvariantChecker::begin`] (their document
    /// was malformed and is dropped whole).
    pub(crate) fn rollback(&mut self) {
        self.first_seen.rollback();
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
                // The common case, that the chains agree, is checked without allocating.
                Some(asserted) if agree(asserted, observed, &self.issuers) => {}
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
            let user = record.correlation.user_id.as_ref().map(|u| u.as_str());
            if let Some((first_task, first_user)) =
                self.first_seen.first_owner(fp.as_str(), task, user)
                && (first_user != user || first_task != task)
            {
                report(
                    Rule::FingerprintShared,
                    format!(
                        "token {fp} was issued for task {first_task} (user {}) and is used again by task {task} (user {})",
                        first_user.unwrap_or("none"),
                        user.unwrap_or("none"),
                    ),
                );
            }
        }
        found
    }
}

/// Whether `asserted.disagreements(observed, issuers)` is empty, found without allocating:
/// the subject is the asserted user (from the user's IdP, when the issuer is known), the token
/// names at least one actor, and each actor is the asserted one at its depth (agent, then
/// orchestrator).
fn agree(asserted: &AssertedChain, observed: &ObservedDelegation, issuers: &IssuerMap) -> bool {
    let subject_agrees = asserted.user.as_ref().is_none_or(|user| {
        observed.subject.sub == user.sub()
            && observed
                .subject
                .iss
                .as_deref()
                .and_then(|iss| issuers.prefix_for(iss))
                .is_none_or(|prefix| prefix == user.idp())
    });
    let actors = observed.actors.actors();
    let expected = |depth: usize| match depth {
        0 => Some(asserted.agent.as_str()),
        1 => asserted.orchestrator.as_deref(),
        _ => None,
    };
    subject_agrees
        && !actors.is_empty()
        && actors
            .iter()
            .enumerate()
            .all(|(depth, actor)| expected(depth) == Some(actor.sub.as_str()))
}

#[cfg(test)]
mod tests {
    use deputy_core::UserId;
    use deputy_core::actor::{Actor, ActorChain};

    use super::*;

    #[test]
    fn agreement_is_exactly_the_absence_of_disagreements() {
        let mut issuers = IssuerMap::new();
        issuers.insert("https://okta", "okta").unwrap();
        issuers.insert("https://entra", "entra").unwrap();
        let users = [None, Some(UserId::parse("okta+alice").unwrap())];
        let subjects = ["alice", "bob", ""];
        let issuer_names = [
            None,
            Some("https://okta"),
            Some("https://okta/"),
            Some("https://entra"),
            Some("https://other"),
        ];
        let names = ["agent", "orch", "other"];
        let mut chains = vec![vec![]];
        for len in 1..=3 {
            let mut longer = Vec::new();
            for chain in chains.iter().filter(|c| c.len() == len - 1) {
                for name in names {
                    let mut c: Vec<&str> = chain.clone();
                    c.push(name);
                    longer.push(c);
                }
            }
            chains.extend(longer);
        }
        let mut checked = 0;
        for user in &users {
            for orchestrator in [None, Some("orch".to_owned())] {
                let asserted = AssertedChain {
                    user: user.clone(),
                    orchestrator,
                    agent: "agent".into(),
                    workload: None,
                };
                for sub in subjects {
                    for iss in issuer_names {
                        for chain in &chains {
                            let observed = ObservedDelegation {
                                subject: Actor {
                                    sub: sub.into(),
                                    iss: iss.map(Into::into),
                                },
                                actors: ActorChain::from_actors(
                                    chain.iter().map(|a| Actor::new(*a)).collect(),
                                ),
                            };
                            assert_eq!(
                                agree(&asserted, &observed, &issuers),
                                asserted.disagreements(&observed, &issuers).is_empty(),
                                "{asserted:?} {observed:?}"
                            );
                            checked += 1;
                        }
                    }
                }
            }
        }
        assert!(checked > 1_000);
    }
}
