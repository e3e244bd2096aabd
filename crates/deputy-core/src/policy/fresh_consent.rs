//! Fresh consent (`consent_max_age_secs`): how old a user's consent may be for a rule that acts
//! for them, e.g. a webhook writing back as its asserted user.

use std::time::Duration;

use super::schema::{FlowName, RuleEntry};

/// The shortest and longest fresh-consent windows: under a minute leaves no time to use the
/// token, over a day is not fresh.
pub(crate) const CONSENT_MAX_AGE_SECS: std::ops::RangeInclusive<u64> = 60..=86_400;

pub(crate) fn compile_consent_max_age(
    id: &str,
    entry: &RuleEntry,
    problem: &mut impl FnMut(String),
) -> Option<Duration> {
    let secs = entry.consent_max_age_secs?;
    if entry.flow != FlowName::UserFederation {
        problem(format!(
            "rule {id:?}: consent_max_age_secs (fresh consent) applies only to flow = \"user_federation\""
        ));
        return None;
    }
    if !CONSENT_MAX_AGE_SECS.contains(&secs) {
        problem(format!(
            "rule {id:?}: consent_max_age_secs = {secs} must be between {} and {} seconds",
            CONSENT_MAX_AGE_SECS.start(),
            CONSENT_MAX_AGE_SECS.end()
        ));
        return None;
    }
    Some(Duration::from_secs(secs))
}
