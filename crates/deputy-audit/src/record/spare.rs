//! A record of an earlier span, written out already, whose allocations the next record
//! reuses: the box and the free-text strings (flow, rule, provider, …).

use deputy_core::actor::{AssertedChain, ObservedDelegation};
use deputy_core::audit::AuditRecord;

/// An old record to build the next one in, if there is one.
pub(crate) struct Spare(pub(crate) Option<Box<AuditRecord>>);

impl Spare {
    /// `value` in the string `pick` takes from the old record, or in a new string.
    pub(super) fn text(
        &mut self,
        pick: impl FnOnce(&mut AuditRecord) -> Option<&mut String>,
        value: &str,
    ) -> String {
        let mut text = self
            .0
            .as_deref_mut()
            .and_then(pick)
            .map(std::mem::take)
            .unwrap_or_default();
        text.clear();
        text.push_str(value);
        text
    }

    /// Like [`Spare::text`] for an optional value.
    pub(super) fn optional_text(
        &mut self,
        pick: impl FnOnce(&mut AuditRecord) -> Option<&mut String>,
        value: Option<&str>,
    ) -> Option<String> {
        value.map(|value| self.text(pick, value))
    }

    /// What `take` takes from the old record.
    pub(super) fn take<T>(
        &mut self,
        take: impl FnOnce(&mut AuditRecord) -> Option<T>,
    ) -> Option<T> {
        self.0.as_deref_mut().and_then(take)
    }

    /// `record`, boxed in the old record's allocation when there is one.
    pub(super) fn boxed(self, record: AuditRecord) -> Box<AuditRecord> {
        match self.0 {
            Some(mut old) => {
                *old = record;
                old
            }
            None => Box::new(record),
        }
    }
}

/// Makes `old` equal to `new`, in `old`'s strings.
pub(super) fn refill_asserted(old: &mut AssertedChain, new: &AssertedChain) {
    if old.user != new.user {
        old.user.clone_from(&new.user);
    }
    old.orchestrator.clone_from(&new.orchestrator);
    old.agent.clone_from(&new.agent);
    old.workload.clone_from(&new.workload);
}

/// Makes `old` equal to `new`, in the subject's strings of `old` (the actors are cloned
/// unless they are the same).
pub(super) fn refill_observed(old: &mut ObservedDelegation, new: &ObservedDelegation) {
    old.subject.sub.clone_from(&new.subject.sub);
    old.subject.iss.clone_from(&new.subject.iss);
    if old.actors != new.actors {
        old.actors = new.actors.clone();
    }
}
