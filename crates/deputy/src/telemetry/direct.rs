//! The `deputy.resolve` span sent straight to the OpenTelemetry SDK, without `tracing` in
//! between (ADR 0010): names and the values deputy knows at compile time are borrowed
//! `'static` strings, so a cache hit's span costs a few allocations instead of one per field.
//!
//! Only when deputy's own OTLP layer ([`crate::otel`]) is in the current dispatcher: that
//! layer then leaves `deputy.resolve` to this module, so the span is exported exactly once.

use deputy_core::attr;
use std::sync::Arc;
use std::time::SystemTime;

use opentelemetry::trace::{Event, Span as _, SpanBuilder, SpanContext, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue, Value};
use opentelemetry_sdk::trace::{SdkTracer, Span as SdkSpan};
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::{Outcome, Request};

/// Marks the OpenTelemetry context a resolve's own work runs under, so the vault calls it
/// makes are exported as children of its span ([`adopt_resolve_parent`]).
struct ResolveScope;

/// A `deputy.resolve` span exported directly. A cache hit builds it once, when it ends, with
/// all its attributes; a miss starts it when the miss begins, so the vault calls have a
/// parent. A resolve dropped half-way is still exported, with the request's fields, as its
/// `tracing` span would be.
pub(crate) struct DirectSpan {
    tracer: SdkTracer,
    parent: Context,
    start_time: SystemTime,
    state: State,
}

enum State {
    /// The request's attributes, until the span is built.
    Pending(Vec<KeyValue>),
    /// Boxed: only a miss starts the span early, and a hit's future stays small.
    Started(Box<SdkSpan>),
    Ended,
}

impl DirectSpan {
    /// Prepares the span under the caller's current span, or `None` when deputy's OTLP layer
    /// is not installed (the `tracing` span is then the only one).
    pub(crate) fn start(request: &Request<'_>) -> Option<Self> {
        let tracer = tracing::dispatcher::get_default(|dispatch| {
            crate::otel::resolve_tracer(dispatch).cloned()
        })?;
        let mut attributes = Vec::with_capacity(ATTRIBUTES);
        request.push_key_values(&mut attributes);
        Some(DirectSpan {
            tracer,
            // The caller's span: deputy's layer makes each span it exports the current
            // OpenTelemetry context while it is entered.
            parent: Context::current(),
            start_time: SystemTime::now(),
            state: State::Pending(attributes),
        })
    }

    fn build(&self, attributes: Vec<KeyValue>, events: Vec<Event>) -> SdkSpan {
        let builder = SpanBuilder::from_name(attr::SPAN_RESOLVE)
            .with_start_time(self.start_time)
            .with_attributes(attributes)
            .with_events(events);
        self.tracer.build_with_context(builder, &self.parent)
    }

    /// Starts the span and returns the context a cache miss runs under: the vault calls it
    /// makes become the span's children.
    pub(crate) fn child_context(&mut self) -> Context {
        self.state = match std::mem::replace(&mut self.state, State::Ended) {
            State::Pending(attributes) => {
                State::Started(Box::new(self.build(attributes, Vec::new())))
            }
            started_or_ended => started_or_ended,
        };
        let span_context = match &self.state {
            State::Started(span) => span.span_context().clone(),
            State::Pending(_) | State::Ended => SpanContext::empty_context(),
        };
        Context::current()
            .with_remote_span_context(span_context)
            .with_value(ResolveScope)
    }

    /// Records the outcome (and the failure as an event, as the `tracing` warning would be)
    /// and ends the span.
    pub(crate) fn finish(mut self, outcome: Outcome<'_>, failure: Option<&str>) {
        let mut events = Vec::new();
        if let Some(failure) = failure {
            let level = vec![KeyValue::new("level", "WARN")];
            events.push(Event::new(failure.to_owned(), SystemTime::now(), level, 0));
        }
        match std::mem::replace(&mut self.state, State::Ended) {
            State::Pending(mut attributes) => {
                outcome.push_key_values(&mut attributes);
                self.build(attributes, events).end();
            }
            State::Started(mut span) => {
                let mut attributes = Vec::with_capacity(ATTRIBUTES);
                outcome.push_key_values(&mut attributes);
                span.set_attributes(attributes);
                for event in events {
                    span.add_event_with_timestamp(event.name, event.timestamp, event.attributes);
                }
                span.end();
            }
            State::Ended => {}
        }
    }
}

impl Drop for DirectSpan {
    /// A resolve dropped before it ended (its caller gave up): export what is known. A started
    /// span is ended by the SDK when it drops.
    fn drop(&mut self) {
        if let State::Pending(attributes) = std::mem::replace(&mut self.state, State::Ended) {
            self.build(attributes, Vec::new()).end();
        }
    }
}

/// The most attributes a `deputy.resolve` span carries in practice: the eight of the request
/// and ten facts of a served token (a served token has no error kind, and a token served by
/// the fallback no observed chain). 18 `KeyValue`s are 1,008 bytes, which glibc still serves
/// from its per-thread cache; at 20 a hit measured slower.
const ATTRIBUTES: usize = 18;

/// Makes a `tracing` span started inside a resolve's own work (a vault call) a child of the
/// resolve's directly exported span; outside such work it does nothing.
pub(crate) fn adopt_resolve_parent(span: &tracing::Span) {
    let current = Context::current();
    if current.get::<ResolveScope>().is_some() {
        // Fails only when no OpenTelemetry layer is installed, and then nothing is exported.
        let _ = span.set_parent(current);
    }
}

/// Borrowed text, copied once (`'static` names are passed as they are, without this).
fn text(value: &str) -> Value {
    Value::from(value.to_owned())
}

impl Request<'_> {
    fn push_key_values(&self, out: &mut Vec<KeyValue>) {
        out.push(KeyValue::new(attr::TASK_ID, text(self.task_id)));
        let optional = [
            (attr::USER_ID, self.user_id),
            (attr::REPO, self.repo),
            (attr::TRACE_ID, self.trace_id),
            (attr::SESSION_ID, self.session_id),
        ];
        for (key, value) in optional {
            if let Some(value) = value {
                out.push(KeyValue::new(key, text(value)));
            }
        }
        let integration = match self.integration.built_in_name() {
            Some(name) => Value::from(name),
            None => text(self.integration.name()),
        };
        out.push(KeyValue::new(attr::INTEGRATION, integration));
        out.push(KeyValue::new(attr::OPERATION, self.operation));
        out.push(KeyValue::new(attr::TRIGGER, self.trigger));
    }
}

impl Outcome<'_> {
    fn push_key_values(self, out: &mut Vec<KeyValue>) {
        let statics = [
            (attr::FLOW, self.flow),
            (attr::SOURCE, self.source),
            (attr::CACHE, self.cache),
            (attr::CONSENT, self.consent),
            (attr::ERROR_KIND, self.error_kind),
        ];
        for (key, value) in statics {
            if let Some(value) = value {
                out.push(KeyValue::new(key, value));
            }
        }
        // Shared with the decision: one reference count each, no copy.
        let shared = [
            (attr::RULE_ID, self.rule_id),
            (attr::PROVIDER, self.provider),
        ];
        for (key, value) in shared {
            if let Some(value) = value {
                out.push(KeyValue::new(key, Arc::clone(value)));
            }
        }
        if let Some(reason) = self.fallback_reason {
            out.push(KeyValue::new(attr::FALLBACK_REASON, text(reason)));
        }
        let owned = [
            (attr::ACTOR_CHAIN_ASSERTED, self.asserted),
            (attr::TOKEN_FINGERPRINT, self.fingerprint),
            (attr::ACTOR_CHAIN_OBSERVED, self.observed),
        ];
        for (key, value) in owned {
            if let Some(value) = value {
                out.push(KeyValue::new(key, value));
            }
        }
        if let Some(expires_at) = self.expires_at.and_then(|e| i64::try_from(e).ok()) {
            out.push(KeyValue::new(attr::TOKEN_EXPIRES_AT, expires_at));
        }
    }
}
