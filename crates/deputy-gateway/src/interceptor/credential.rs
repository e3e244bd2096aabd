//! The `deputy.gateway.credential` span: what a passthrough or Token Broker credential is
//! recorded as, with the `deputy.resolve` span's attributes (fingerprint, never the token), so
//! the audit pipeline writes the same `abca.audit.v1` record as for an exchange.

use deputy_core::actor::AssertedChainRef;
use deputy_core::audit::{ConsentOutcome, CredentialSource, TokenFingerprint};
use deputy_core::{Integration, Operation, TaskId, TriggerKind, UserId, attr};

/// What audit records name for a passthrough or broker target.
pub(crate) struct AuditFacts {
    pub(crate) integration: Integration,
    pub(crate) operation: Operation,
}

/// One forwarded credential that no resolver issued.
pub(crate) struct Credential<'a> {
    pub(crate) task_id: &'a TaskId,
    pub(crate) session: Option<&'a str>,
    pub(crate) user: Option<&'a UserId>,
    /// The interceptor's workload, the agent of the asserted chain.
    pub(crate) agent: &'a str,
    pub(crate) target: &'a str,
    pub(crate) facts: &'a AuditFacts,
    pub(crate) source: CredentialSource,
    pub(crate) token: &'a str,
    /// Unix seconds, when known.
    pub(crate) expires_at: Option<u64>,
}

impl Credential<'_> {
    /// Emits the span (a child of the current `deputy.gateway` span) and closes it.
    pub(crate) fn record(&self) {
        let (flow, trigger) = match self.source {
            CredentialSource::TokenBroker => ("m2m", TriggerKind::Headless),
            _ => ("passthrough", TriggerKind::Interactive),
        };
        let asserted = AssertedChainRef {
            user: self.user,
            orchestrator: None,
            agent: self.agent,
            workload: None,
        }
        .to_json();
        let rule_id = format!("gateway:{}", self.target);
        let fingerprint = TokenFingerprint::of(self.token);
        let _span = tracing::info_span!(
            attr::SPAN_GATEWAY_CREDENTIAL,
            { attr::TASK_ID } = self.task_id.as_str(),
            { attr::USER_ID } = self.user.map(UserId::as_str),
            { attr::SESSION_ID } = self.session,
            { attr::INTEGRATION } = self.facts.integration.name(),
            { attr::OPERATION } = self.facts.operation.name(),
            { attr::TRIGGER } = trigger.name(),
            { attr::FLOW } = flow,
            { attr::RULE_ID } = rule_id.as_str(),
            { attr::SOURCE } = self.source.name(),
            { attr::TOKEN_FINGERPRINT } = fingerprint.as_str(),
            { attr::TOKEN_EXPIRES_AT } = self.expires_at,
            { attr::CONSENT } = ConsentOutcome::NotRequired.name(),
            { attr::ACTOR_CHAIN_ASSERTED } = asserted.as_str(),
        );
    }
}
