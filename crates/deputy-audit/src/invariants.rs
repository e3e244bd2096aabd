//! The invariants checked on every record. One checker remembers which user and task each
//! token fingerprint was first seen for, so a shared token is found across records.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

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
    first_seen: HashMap<FingerprintKey, Owner>,
    /// Fingerprints first seen since [`InvariantChecker::begin`], while a document is read.
    journal: Option<Vec<FingerprintKey>>,
}

/// A fingerprint as a map key: its 128 bits when it is well formed (no allocation per record),
/// else its text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum FingerprintKey {
    Bits(u128),
    Text(Box<str>),
}

impl FingerprintKey {
    fn of(fingerprint: &str) -> Self {
        fingerprint
            .strip_prefix("sha256:")
            .filter(|hex| hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
            .and_then(|hex| u128::from_str_radix(hex, 16).ok())
            .map_or_else(
                || FingerprintKey::Text(fingerprint.into()),
                FingerprintKey::Bits,
            )
    }
}

/// The task and user a fingerprint was first seen for, in one allocation.
#[derive(Debug, Clone)]
struct Owner {
    /// The task id followed by the user id (if any).
    text: Box<str>,
    task_len: usize,
    has_user: bool,
}

impl Owner {
    fn new(task: &str, user: Option<&str>) -> Self {
        Owner {
            text: [task, user.unwrap_or_default()].concat().into(),
            task_len: task.len(),
            has_user: user.is_some(),
        }
    }

    fn task(&self) -> &str {
        &self.text[..self.task_len]
    }

    fn user(&self) -> Option<&str> {
        self.has_user.then(|| &self.text[self.task_len..])
    }
}

impl InvariantChecker {
    /// A checker that also compares the token subject's issuer with the user's IdP prefix.
    pub fn with_issuers(issuers: IssuerMap) -> Self {
        InvariantChecker {
            issuers,
            first_seen: HashMap::new(),
            journal: None,
        }
    }

    /// Starts remembering which fingerprints are new, so they can be forgotten again.
    pub(crate) fn begin(&mut self) {
        self.journal.get_or_insert_with(Vec::new).clear();
    }

    /// Keeps what was seen since [`InvariantChecker::begin`].
    pub(crate) fn commit(&mut self) {
        if let Some(journal) = &mut self.journal {
            journal.clear();
        }
    }

    /// Forgets the fingerprints first seen since [`InvariantChecker::begin`] (their document
    /// was malformed and is dropped whole).
    pub(crate) fn rollback(&mut self) {
        if let Some(journal) = &mut self.journal {
            for key in journal.drain(..) {
                self.first_seen.remove(&key);
            }
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
            let user = record.correlation.user_id.as_ref().map(|u| u.as_str());
            match self.first_seen.entry(FingerprintKey::of(fp.as_str())) {
                Entry::Occupied(first)
                    if first.get().user() != user || first.get().task() != task =>
                {
                    let first = first.get();
                    report(
                        Rule::FingerprintShared,
                        format!(
                            "token {fp} was issued for task {} (user {}) and is used again by task {task} (user {})",
                            first.task(),
                            first.user().unwrap_or("none"),
                            user.unwrap_or("none"),
                        ),
                    );
                }
                Entry::Occupied(_) => {}
                Entry::Vacant(slot) => {
                    if let Some(journal) = &mut self.journal {
                        journal.push(slot.key().clone());
                    }
                    slot.insert(Owner::new(task, user));
                }
            }
        }
        found
    }
}
