//! The invariants checked on every record. Each one means something is wrong:
//!
//! - `write_without_user`: a write credential from a flow that does not act for a user (M2M,
//!   GitHub App, API key) with no user at the root of the asserted chain. A user-delegated
//!   flow (`user_federation`, `on_behalf_of`, a gateway's `passthrough`) cannot issue without the user's binding, so its
//!   writes are user-rooted even when user ids are withheld from telemetry.
//! - `secrets_manager_fallback`: every fallback issuance.
//! - `chain_disagreement`: the token's subject is not the asserted user, the token names no
//!   actor, or its actors are not the declared ones. With no actor declared for the provider
//!   (the asserted agent is the workload name, which a token never carries), the first actor
//!   chain seen for that agent and provider is taken as its actor, and a later token naming
//!   another is reported.
//! - `fingerprint_shared`: one user-delegated token seen for two different users. Cache hits
//!   from other tasks of the same user, and service tokens (M2M, GitHub App) shared by many
//!   users' tasks, are what the cache is for.

use std::collections::HashMap;

use deputy_core::actor::{AssertedChain, ChainDisagreement, ObservedDelegation};
use deputy_core::audit::{AuditRecord, CredentialSource, Outcome};
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
    /// The actor chain first seen per asserted agent and provider, when no actor is declared
    /// (at most [`MAX_LEARNED_ACTORS`] pairs; pairs beyond that are not compared).
    learned_actors: HashMap<(String, String), String>,
}

/// How many agent and provider pairs [`InvariantChecker`] learns an undeclared actor for.
pub const MAX_LEARNED_ACTORS: usize = 4096;

/// Flows that act for a user: their token is the user's, and needs the user's binding.
fn user_delegated(flow: &str) -> bool {
    matches!(flow, "user_federation" | "on_behalf_of" | "passthrough")
}

impl InvariantChecker {
    /// A checker that also compares the token subject's issuer with the user's IdP prefix.
    pub fn with_issuers(issuers: IssuerMap) -> Self {
        InvariantChecker {
            issuers,
            ..InvariantChecker::default()
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

    /// The actors first seen for `agent` via `provider` when they are not `actors` (learning
    /// `actors` when the pair is new and there is room).
    fn learn_actors(&mut self, agent: &str, provider: &str, actors: &str) -> Option<String> {
        let key = (agent.to_owned(), provider.to_owned());
        match self.learned_actors.get(&key) {
            Some(first) => (first != actors).then(|| first.clone()),
            None => {
                if self.learned_actors.len() < MAX_LEARNED_ACTORS {
                    self.learned_actors.insert(key, actors.to_owned());
                }
                None
            }
        }
    }

    /// Every rule `record` breaks.
    pub fn check(&mut self, record: &AuditRecord) -> Vec<Finding> {
        let mut found = Vec::new();
        // The invariants are about issued tokens: a refusal issued nothing to misuse.
        if record.outcome != Outcome::Issued {
            return found;
        }
        let flow = record.flow.as_deref().unwrap_or("");
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
        if record.operation == Operation::Write && !user_rooted && !user_delegated(flow) {
            report(
                Rule::WriteWithoutUser,
                format!(
                    "task {task}: a {} write credential was issued by rule {} ({}) with no user at the root of the asserted chain",
                    record.integration,
                    record.rule_id.as_deref().unwrap_or("none"),
                    flow
                ),
            );
        }
        if record.source == Some(CredentialSource::SecretsManagerFallback) {
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
                    let mut list: Vec<String> = Vec::new();
                    let mut disagreements = asserted.disagreements(observed, &self.issuers);
                    if asserted.workload.is_none() {
                        // No actor declared: the actors are compared with the first ones seen
                        // for this agent and provider instead of with the workload name.
                        disagreements.retain(|d| {
                            !matches!(
                                d,
                                ChainDisagreement::Actor { .. }
                                    | ChainDisagreement::Unexpected { .. }
                            )
                        });
                        let provider = record.provider.as_deref().unwrap_or("none");
                        let actors = observed.actors.to_string();
                        if let Some(first) = self.learn_actors(&asserted.agent, provider, &actors) {
                            list.push(format!(
                                "the token's actors are {actors}; earlier tokens for agent {} via provider {provider} named {first} (declare the actor with ResolverBuilder::obo_actor)",
                                asserted.agent,
                            ));
                        }
                    }
                    list.splice(0..0, disagreements.iter().map(ToString::to_string));
                    if !list.is_empty() {
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
            // Only a user-delegated token belongs to one user; two known users differ.
            if let Some((first_task, first_user)) =
                self.first_seen.first_owner(fp.as_str(), task, user)
                && user_delegated(flow)
                && first_user.is_some()
                && user.is_some()
                && first_user != user
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
