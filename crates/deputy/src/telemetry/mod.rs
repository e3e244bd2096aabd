//! The `deputy.resolve` span: every attribute name from [`deputy_core::attr`], fingerprints
//! instead of tokens, and user ids only when they are not turned off as PII.
//!
//! One resolve's values are worked out once ([`Request`] when it starts, [`Outcome`] when it
//! ends) and given to two emitters: the `tracing` span every subscriber sees (logs, tests,
//! the CLI), and, when deputy's own OTLP layer is installed, the OpenTelemetry span the
//! resolver exports itself ([`DirectSpan`]; ADR 0010 says why).

mod direct;

use std::sync::Arc;
use std::time::UNIX_EPOCH;

use deputy_core::actor::{Actor, AssertedChainRef, ObservedDelegation};
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
pub(crate) use direct::{DirectSpan, adopt_resolve_parent};

/// What a resolve was asked for: the correlation envelope and the request.
pub(crate) struct Request<'a> {
    task_id: &'a str,
    user_id: Option<&'a str>,
    /// The task's user when user ids are off: withheld from failure texts too.
    withheld_user: Option<&'a deputy_core::UserId>,
    repo: Option<&'a str>,
    trace_id: Option<&'a str>,
    session_id: Option<&'a str>,
    integration: &'a Integration,
    operation: &'static str,
    trigger: &'static str,
}

impl<'a> Request<'a> {
    pub(crate) fn new(
        task: &'a Task,
        integration: &'a Integration,
        op: Operation,
        record_user_ids: bool,
    ) -> Self {
        let ctx = &task.ctx;
        Request {
            task_id: ctx.task_id.as_str(),
            user_id: ctx.user().filter(|_| record_user_ids).map(|u| u.as_str()),
            withheld_user: ctx.user().filter(|_| !record_user_ids),
            repo: ctx.repo.as_ref().map(|r| r.as_str()),
            trace_id: ctx.trace_id.as_ref().map(|t| t.as_str()),
            session_id: ctx.session_id.as_deref(),
            integration,
            operation: op.name(),
            trigger: ctx.trigger.kind().name(),
        }
    }
}

/// How a resolve ended: the decision (when one was made), the asserted chain, and either the
/// token's facts or the error class. Never the token, never a consent URL.
pub(crate) struct Outcome<'a> {
    flow: Option<&'static str>,
    rule_id: Option<&'a Arc<str>>,
    provider: Option<&'a Arc<str>>,
    asserted: Option<String>,
    source: Option<&'static str>,
    cache: Option<&'static str>,
    fingerprint: Option<String>,
    expires_at: Option<u64>,
    consent: Option<&'static str>,
    fallback_reason: Option<&'a str>,
    observed: Option<String>,
    error_kind: Option<&'static str>,
}

impl<'a> Outcome<'a> {
    /// `asserted` is the chain this resolve asserted, when a decision was made.
    pub(crate) fn new(
        decision: Option<&'a Decision>,
        asserted: Option<AssertedChainRef<'_>>,
        record_user_ids: bool,
        result: &'a Result<ResolvedToken, ResolveError>,
    ) -> Self {
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
        Outcome {
            flow: decision.map(|d| d.flow.name()),
            rule_id: decision.map(|d| &d.rule_id),
            provider: decision.and_then(|d| d.provider.as_ref()),
            asserted: asserted.map(|chain| asserted_chain_json(chain, record_user_ids)),
            source: resolved.map(|r| r.source.name()),
            cache: resolved.map(|r| match r.source {
                CredentialSource::Cache => "hit",
                _ => "miss",
            }),
            fingerprint: resolved.map(|r| r.fingerprint().into()),
            expires_at: resolved
                .and_then(|r| r.expires_at.duration_since(UNIX_EPOCH).ok())
                .map(|exp| exp.as_secs()),
            consent: consent.map(ConsentOutcome::name),
            fallback_reason: resolved.and_then(|r| r.fallback_reason.as_deref()),
            observed: resolved
                .and_then(|r| r.observed.as_ref())
                .and_then(|observed| observed_json(observed, record_user_ids)),
            error_kind: error.map(ResolveError::kind),
        }
    }
}

/// The asserted chain as the span carries it (JSON), without the user when user ids are off.
fn asserted_chain_json(mut asserted: AssertedChainRef<'_>, record_user_ids: bool) -> String {
    if !record_user_ids {
        asserted.user = None;
    }
    asserted.to_json()
}

/// Opens the `tracing` span for one resolve with the request's fields; the rest is recorded
/// when it ends, in one call ([`record_outcome`]).
pub(crate) fn resolve_span(request: &Request<'_>) -> Span {
    tracing::info_span!(
        attr::SPAN_RESOLVE,
        { attr::TASK_ID } = request.task_id,
        { attr::USER_ID } = request.user_id,
        { attr::REPO } = request.repo,
        { attr::TRACE_ID } = request.trace_id,
        { attr::SESSION_ID } = request.session_id,
        { attr::INTEGRATION } = request.integration.name(),
        { attr::OPERATION } = request.operation,
        { attr::TRIGGER } = request.trigger,
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

/// Records how a resolve ended on its `tracing` span, in one call.
pub(crate) fn record_outcome(span: &Span, outcome: &Outcome<'_>) {
    tracing::record_all!(
        span,
        { attr::FLOW } = outcome.flow,
        { attr::RULE_ID } = outcome.rule_id.map(|r| &**r),
        { attr::PROVIDER } = outcome.provider.map(|p| &**p),
        { attr::ACTOR_CHAIN_ASSERTED } = outcome.asserted.as_deref(),
        { attr::SOURCE } = outcome.source,
        { attr::CACHE } = outcome.cache,
        { attr::TOKEN_FINGERPRINT } = outcome.fingerprint.as_deref(),
        { attr::TOKEN_EXPIRES_AT } = outcome.expires_at,
        { attr::CONSENT } = outcome.consent,
        { attr::FALLBACK_REASON } = outcome.fallback_reason,
        { attr::ACTOR_CHAIN_OBSERVED } = outcome.observed.as_deref(),
        { attr::ERROR_KIND } = outcome.error_kind,
    );
}

/// The observed delegation as the span carries it (JSON). With user ids off, the token's
/// subject (the user's `sub` and `iss`) is withheld; the actors are the agent's, and stay.
fn observed_json(observed: &ObservedDelegation, record_user_ids: bool) -> Option<String> {
    if record_user_ids {
        return serde_json::to_string(observed).ok();
    }
    let withheld = ObservedDelegation {
        subject: Actor::new(WITHHELD),
        actors: observed.actors.clone(),
    };
    serde_json::to_string(&withheld).ok()
}

/// What stands for a user in telemetry when user ids are off.
const WITHHELD: &str = "[user withheld]";

/// The warning a failed resolve logs (and its exported span carries as an event). With user
/// ids off, the task's user (whole, and its bare `sub`) is withheld from the error's text,
/// which may name it (a refused repository authorization names its principal).
pub(crate) fn failure_message(error: &ResolveError, request: &Request<'_>) -> String {
    let message = format!("credential resolve failed ({}): {error}", error.kind());
    match request.withheld_user {
        Some(user) => message
            .replace(user.as_str(), WITHHELD)
            .replace(user.sub(), WITHHELD),
        None => message,
    }
}

/// Logs a failed resolve as a warning under its span. Called whether or not the span is
/// enabled: a subscriber that keeps warnings but not info spans still sees the failure.
pub(crate) fn warn_failed(span: &Span, message: &str) {
    tracing::warn!(parent: span, "{message}");
}
