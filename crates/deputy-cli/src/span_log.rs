//! A `tracing` layer that keeps the final attributes of every `deputy.resolve` span, so the CLI
//! can show exactly what it exported (fingerprints and ids, never tokens).

use std::sync::{Arc, Mutex};

use deputy_core::attr;
use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

/// The spans seen so far, as JSON objects of their attributes.
#[derive(Clone, Default)]
pub struct SpanLog {
    spans: Arc<Mutex<Vec<Map<String, Value>>>>,
}

/// The recorded spans as the audit pipeline's span model (no trace ids: the log keeps only
/// attributes), so the CLI can audit what it exported.
pub fn audit_spans(spans: &[Map<String, Value>]) -> Vec<deputy_audit::span::Span<'_>> {
    use deputy_audit::span::{AttrValue, Attribute, Span};
    spans
        .iter()
        .map(|attributes| Span {
            trace_id: "".into(),
            span_id: "".into(),
            name: attr::SPAN_RESOLVE.into(),
            end_unix_nano: 0,
            attributes: attributes
                .iter()
                .map(|(key, value)| Attribute {
                    key: key.as_str().into(),
                    value: match value {
                        Value::String(s) => AttrValue::Str(s.as_str().into()),
                        Value::Number(n) => n
                            .as_i64()
                            .map_or_else(|| AttrValue::Str(n.to_string().into()), AttrValue::Int),
                        other => AttrValue::Str(other.to_string().into()),
                    },
                })
                .collect(),
        })
        .collect()
}

impl SpanLog {
    /// Takes the spans recorded so far.
    pub fn take(&self) -> Vec<Map<String, Value>> {
        self.spans
            .lock()
            .map(|mut s| std::mem::take(&mut *s))
            .unwrap_or_default()
    }
}

struct Fields<'a>(&'a mut Map<String, Value>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().to_owned(), Value::String(format!("{value:?}")));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0
            .insert(field.name().to_owned(), Value::String(value.to_owned()));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }
}

impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> Layer<S> for SpanLog {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if attrs.metadata().name() != attr::SPAN_RESOLVE {
            return;
        }
        let mut map = Map::new();
        attrs.record(&mut Fields(&mut map));
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(map);
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id)
            && let Some(map) = span.extensions_mut().get_mut::<Map<String, Value>>()
        {
            values.record(&mut Fields(map));
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(&id)
            && let Some(map) = span.extensions_mut().remove::<Map<String, Value>>()
            && let Ok(mut spans) = self.spans.lock()
        {
            spans.push(map);
        }
    }
}
