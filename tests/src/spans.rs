//! Captures every closed span's name and final fields, as an exporter would see them, for
//! tests that check what a span carries (and what it must never carry).
//!
//! ```
//! use tracing_subscriber::layer::SubscriberExt;
//! let log = deputy_tests::spans::SpanLog::default();
//! let subscriber = tracing_subscriber::registry().with(log.layer());
//! tracing::subscriber::with_default(subscriber, || {
//!     let span = tracing::info_span!("work", answer = tracing::field::Empty);
//!     span.record("answer", 42);
//! });
//! let spans = log.closed();
//! assert_eq!(spans[0].0, "work");
//! assert_eq!(spans[0].1["answer"], "42");
//! ```

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

/// A closed span: its name and its fields (values as text) when it closed.
pub type SpanRecord = (String, BTreeMap<String, String>);

/// The spans closed so far. Clones share the log.
#[derive(Clone, Default)]
pub struct SpanLog(Arc<Mutex<Vec<SpanRecord>>>);

impl SpanLog {
    /// A layer that appends every span to this log when it closes.
    pub fn layer<S: tracing::Subscriber + for<'a> LookupSpan<'a>>(&self) -> impl Layer<S> {
        Capture(self.clone())
    }

    /// Every span closed so far, in closing order.
    pub fn closed(&self) -> Vec<SpanRecord> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The fields of every closed span with this name.
    pub fn named(&self, name: &str) -> Vec<BTreeMap<String, String>> {
        self.closed()
            .into_iter()
            .filter(|(n, _)| n == name)
            .map(|(_, fields)| fields)
            .collect()
    }
}

struct Fields(BTreeMap<String, String>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let text = format!("{value:?}").trim_matches('"').to_owned();
        self.0.insert(field.name().to_owned(), text);
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

struct Capture(SpanLog);

impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = Fields(BTreeMap::new());
        attrs.record(&mut fields);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(fields);
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id)
            && let Some(fields) = span.extensions_mut().get_mut::<Fields>()
        {
            values.record(fields);
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(&id)
            && let Some(fields) = span.extensions().get::<Fields>()
        {
            let record = (span.name().to_owned(), fields.0.clone());
            (self.0)
                .0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(record);
        }
    }
}
