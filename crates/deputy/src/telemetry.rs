//! The `deputy.resolve` span: every attribute name from [`deputy_core::attr`], fingerprints
//! instead of tokens, and user ids only when they are not turned off as PII.

use std::time::UNIX_EPOCH;

use deputy_core::actor::AssertedChain;
use deputy_core::attr;
use deputy_core::audit::{ConsentOutcome, CredentialSource};
use deputy_core::flow::Flow;
use deputy_core::policy::Decision;
use deputy_core::{Integration, Operation};
use tracing::Span;
use tracing::field::Empty;

use crate::ResolvedToken;
use crate::error::ResolveError;
use crate::task::Task;

/// Opens the span for one resolve, with the correlation envelope and the request. What the
/// resolve decides and returns is recorded when it ends, in one call ([`record_outcome`]).
pub(crate) fn resolve_span(
    task: &Task,
    integration: &Integration,
    op: Operation,
    record_user_ids: bool,
) -> Span {
    let ctx = &task.ctx;
    tracing::info_span!(
        attr::SPAN_RESOLVE,
        { attr::TASK_ID } = ctx.task_id.as_str(),
        { attr::USER_ID } = ctx.user().filter(|_| record_user_ids).map(|u| u.as_str()),
        { attr::REPO } = ctx.repo.as_ref().map(|r| r.as_str()),
        { attr::TRACE_ID } = ctx.trace_id.as_ref().map(|t| t.as_str()),
        { attr::SESSION_ID } = ctx.session_id.as_deref(),
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
    )
}

/// The asserted chain as the span carries it (JSON), without the user when user ids are off.
pub(crate) fn asserted_chain_json(
    mut asserted: AssertedChain,
    record_user_ids: bool,
) -> Option<String> {
    if !record_user_ids {
        asserted.user = None;
    }
    serde_json::to_string(&asserted).ok()
}

/// Records how a resolve ended: the decision (when one was made), the asserted chain, and
/// either the token's facts or the error class. Never the token, never a consent URL.
pub(crate) fn record_outcome(
    span: &Span,
    decision: Option<&Decision>,
    asserted: Option<&str>,
    result: &Result<ResolvedToken, ResolveError>,
) {
    let (resolved, error) = match result {
        Ok(resolved) => (Some(resolved), None),
        Err(error) => (None, Some(error)),
    };
    let consent = match (resolved, error) {
        (Some(resolved), _) if resolved.flow == Flow::UserFederation => {
            Some(ConsentOutcome::Granted)
        }
        (Some(_), _) => Some(ConsentOutcome::NotRequired),
        (_, Some(ResolveError::ConsentRequired(..))) => Some(ConsentOutcome::Pending),
        (_, Some(ResolveError::ConsentFailed { .. })) => Some(ConsentOutcome::Failed),
        _ => None,
    };
    let cache = resolved.map(|r| match r.source {
        CredentialSource::Cache => "hit",
        _ => "miss",
    });
    let expires_at = resolved
        .and_then(|r| r.expires_at.duration_since(UNIX_EPOCH).ok())
        .map(|exp| exp.as_secs());
    let fingerprint = resolved.map(ResolvedToken::fingerprint);
    let observed = resolved
        .and_then(|r| r.observed.as_ref())
        .and_then(|observed| serde_json::to_string(observed).ok());
    tracing::record_all!(
        span,
        { attr::FLOW } = decision.map(|d| d.flow.name()),
        { attr::RULE_ID } = decision.map(|d| d.rule_id.as_str()),
        { attr::PROVIDER } = decision.and_then(|d| d.provider.as_deref()),
        { attr::ACTOR_CHAIN_ASSERTED } = asserted,
        { attr::SOURCE } = resolved.map(|r| r.source.name()),
        { attr::CACHE } = cache,
        { attr::TOKEN_FINGERPRINT } = fingerprint.as_ref().map(|f| f.as_str()),
        { attr::TOKEN_EXPIRES_AT } = expires_at,
        { attr::CONSENT } = consent.map(ConsentOutcome::name),
        { attr::FALLBACK_REASON } = resolved.and_then(|r| r.fallback_reason.as_deref()),
        { attr::ACTOR_CHAIN_OBSERVED } = observed.as_deref(),
        { attr::ERROR_KIND } = error.map(ResolveError::kind),
    );
}

/// Logs a failed resolve as a warning under its span. Called whether or not the span is
/// enabled: a subscriber that keeps warnings but not info spans still sees the failure.
pub(crate) fn warn_failed(span: &Span, error: &ResolveError) {
    tracing::warn!(parent: span, "credential resolve failed ({}): {error}", error.kind());
}
