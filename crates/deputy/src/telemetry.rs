//! The `deputy.resolve` span: every attribute name from [`deputy_core::attr`], fingerprints
//! instead of tokens, and user ids only when they are not turned off as PII.

use deputy_core::actor::AssertedChain;
use deputy_core::attr;
use deputy_core::audit::{ConsentOutcome, CredentialSource};
use deputy_core::policy::Decision;
use deputy_core::{Integration, Operation};
use tracing::Span;
use tracing::field::Empty;

use crate::ResolvedToken;
use crate::error::ResolveError;
use crate::task::Task;

/// Opens the span for one resolve, with the correlation envelope and the request.
pub(crate) fn resolve_span(
    task: &Task,
    integration: &Integration,
    op: Operation,
    record_user_ids: bool,
) -> Span {
    let ctx = &task.ctx;
    let span = tracing::info_span!(
        attr::SPAN_RESOLVE,
        { attr::TASK_ID } = ctx.task_id.as_str(),
        { attr::USER_ID } = Empty,
        { attr::REPO } = Empty,
        { attr::TRACE_ID } = Empty,
        { attr::SESSION_ID } = Empty,
        { attr::INTEGRATION } = integration.name(),
        { attr::OPERATION } = op.name(),
        { attr::TRIGGER } = ctx.trigger.kind().name(),
        { attr::FLOW } = Empty,
        { attr::RULE_ID } = Empty,
        { attr::PROVIDER } = Empty,
        { attr::SOURCE } = Empty,
        { attr::CACHE } = Empty,
        { attr::TOKEN_FINGERPRINT } = Empty,
        { attr::TOKEN_EXPIRES_AT } = Empty,
        { attr::CONSENT } = Empty,
        { attr::FALLBACK_REASON } = Empty,
        { attr::ACTOR_CHAIN_ASSERTED } = Empty,
        { attr::ACTOR_CHAIN_OBSERVED } = Empty,
        { attr::ERROR_KIND } = Empty,
    );
    if record_user_ids && let Some(user) = ctx.user() {
        span.record(attr::USER_ID, user.as_str());
    }
    if let Some(repo) = &ctx.repo {
        span.record(attr::REPO, repo.as_str());
    }
    if let Some(trace_id) = &ctx.trace_id {
        span.record(attr::TRACE_ID, trace_id.as_str());
    }
    if let Some(session) = &ctx.session_id {
        span.record(attr::SESSION_ID, session.as_str());
    }
    span
}

/// Records the decision and the asserted actor chain.
pub(crate) fn record_decision(
    span: &Span,
    decision: &Decision,
    asserted: &AssertedChain,
    record_user_ids: bool,
) {
    if span.is_disabled() {
        return;
    }
    span.record(attr::FLOW, decision.flow.name());
    span.record(attr::RULE_ID, decision.rule_id.as_str());
    if let Some(provider) = &decision.provider {
        span.record(attr::PROVIDER, provider.as_str());
    }
    let mut asserted = asserted.clone();
    if !record_user_ids {
        asserted.user = None;
    }
    if let Ok(json) = serde_json::to_string(&asserted) {
        span.record(attr::ACTOR_CHAIN_ASSERTED, json.as_str());
    }
}

/// Records a successful resolve.
pub(crate) fn record_success(span: &Span, resolved: &ResolvedToken, consent: ConsentOutcome) {
    if span.is_disabled() {
        return;
    }
    span.record(attr::SOURCE, resolved.source.name());
    span.record(
        attr::CACHE,
        if resolved.source == CredentialSource::Cache {
            "hit"
        } else {
            "miss"
        },
    );
    span.record(attr::TOKEN_FINGERPRINT, resolved.fingerprint().as_str());
    if let Ok(exp) = resolved.expires_at.duration_since(std::time::UNIX_EPOCH) {
        span.record(attr::TOKEN_EXPIRES_AT, exp.as_secs());
    }
    span.record(attr::CONSENT, consent.name());
    if let Some(reason) = &resolved.fallback_reason {
        span.record(attr::FALLBACK_REASON, reason.as_str());
    }
    if let Some(observed) = &resolved.observed
        && let Ok(json) = serde_json::to_string(observed)
    {
        span.record(attr::ACTOR_CHAIN_OBSERVED, json.as_str());
    }
}

/// Records a failed resolve: the error class and, for consent, the outcome. Never the URL.
pub(crate) fn record_error(span: &Span, error: &ResolveError) {
    span.record(attr::ERROR_KIND, error.kind());
    match error {
        ResolveError::ConsentRequired(..) => {
            span.record(attr::CONSENT, ConsentOutcome::Pending.name())
        }
        ResolveError::ConsentFailed { .. } => {
            span.record(attr::CONSENT, ConsentOutcome::Failed.name())
        }
        _ => span,
    };
    tracing::warn!(parent: span, "credential resolve failed ({}): {error}", error.kind());
}
