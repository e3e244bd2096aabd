//! Which spans deputy's OTLP layer hands to `tracing-opentelemetry`.

use deputy_core::attr;
use opentelemetry_sdk::trace::SdkTracer;
use tracing::level_filters::LevelFilter;
use tracing::subscriber::Interest;
use tracing::{Metadata, Subscriber};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::{Context, Filter};

/// Everything but the exporter's own crates, and never `deputy.resolve`: while this filter is
/// in the dispatcher the resolver exports that span itself through `tracer` (ADR 0010), so
/// the layer must not export it a second time. The resolver finds the tracer by downcasting
/// the dispatcher to this type ([`resolve_tracer`]).
pub(super) struct ExportFilter {
    pub(super) targets: Targets,
    pub(super) tracer: SdkTracer,
}

fn is_resolve_span(metadata: &Metadata<'_>) -> bool {
    metadata.is_span() && metadata.name() == attr::SPAN_RESOLVE
}

impl<S: Subscriber> Filter<S> for ExportFilter {
    fn enabled(&self, metadata: &Metadata<'_>, cx: &Context<'_, S>) -> bool {
        !is_resolve_span(metadata) && Filter::<S>::enabled(&self.targets, metadata, cx)
    }

    fn callsite_enabled(&self, metadata: &'static Metadata<'static>) -> Interest {
        if is_resolve_span(metadata) {
            Interest::never()
        } else {
            Filter::<S>::callsite_enabled(&self.targets, metadata)
        }
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Filter::<S>::max_level_hint(&self.targets)
    }
}

/// The tracer the resolver exports `deputy.resolve` through: `Some` exactly when deputy's
/// OTLP layer is in `dispatch`.
pub(crate) fn resolve_tracer(dispatch: &tracing::Dispatch) -> Option<&SdkTracer> {
    dispatch
        .downcast_ref::<ExportFilter>()
        .map(|filter| &filter.tracer)
}
