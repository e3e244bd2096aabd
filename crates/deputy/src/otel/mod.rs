//! OpenTelemetry export: a `tracing` layer that sends deputy's spans over OTLP/HTTP.
//!
//! Configured by the standard variables (`OTEL_EXPORTER_OTLP_ENDPOINT` or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_SERVICE_NAME`, …).
//! The exporter uses the blocking HTTP client on the SDK's own batch thread (the async client
//! panics there), and the layer ignores the exporter's own crates so exporting never traces
//! itself.
//!
//! `deputy.resolve` spans do not go through `tracing-opentelemetry`: while this layer is
//! installed the resolver exports them itself, through the same provider (ADR 0010). Other
//! `tracing` subscribers still see them as ordinary spans.

mod filter;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{SpanExporter, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::level_filters::LevelFilter;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::registry::LookupSpan;

use filter::ExportFilter;
pub(crate) use filter::resolve_tracer;

/// Why OTLP export could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("cannot set up OTLP export: {0}; check OTEL_EXPORTER_OTLP_ENDPOINT")]
pub struct OtelError(String);

/// The exporting layer and the provider that owns the exporter. Keep the provider and call
/// [`SdkTracerProvider::shutdown`] (or `force_flush`) before the process exits.
pub struct OtlpExport<L> {
    /// Add this to the subscriber.
    pub layer: L,
    /// Flush and shut down through this.
    pub provider: SdkTracerProvider,
}

/// Whether the environment asks for OTLP export.
pub fn otlp_configured() -> bool {
    [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    ]
    .iter()
    .any(|v| std::env::var(v).is_ok_and(|s| !s.trim().is_empty()))
}

/// Builds the OTLP/HTTP (protobuf) exporting layer from the standard environment variables.
///
/// ```no_run
/// use tracing_subscriber::layer::SubscriberExt;
/// let export = deputy::otel::otlp_layer().unwrap();
/// let subscriber = tracing_subscriber::registry().with(export.layer);
/// tracing::subscriber::with_default(subscriber, || { /* resolve tokens */ });
/// export.provider.shutdown().unwrap();
/// ```
pub fn otlp_layer<S>() -> Result<OtlpExport<impl Layer<S>>, OtelError>
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    build(SpanExporter::builder().with_http())
}

/// Like [`otlp_layer`], but sends to an explicit traces URL (e.g. `http://127.0.0.1:4318/v1/traces`).
pub fn otlp_layer_to<S>(traces_url: &str) -> Result<OtlpExport<impl Layer<S>>, OtelError>
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    build(
        SpanExporter::builder()
            .with_http()
            .with_endpoint(traces_url),
    )
}

fn build<S>(
    builder: opentelemetry_otlp::SpanExporterBuilder<opentelemetry_otlp::HttpExporterBuilderSet>,
) -> Result<OtlpExport<impl Layer<S>>, OtelError>
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    let exporter = builder.build().map_err(|e| OtelError(e.to_string()))?;
    let service = std::env::var("OTEL_SERVICE_NAME").unwrap_or_else(|_| "deputy".to_owned());
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(Resource::builder().with_service_name(service).build())
        .build();
    Ok(OtlpExport {
        layer: layer(&provider),
        provider,
    })
}

/// deputy's exporting layer over a provider you build (another exporter, a sampler, an
/// in-memory exporter in tests). `deputy.resolve` spans go to the same provider.
///
/// ```
/// use opentelemetry_sdk::trace::SdkTracerProvider;
/// use tracing_subscriber::layer::SubscriberExt;
/// let provider = SdkTracerProvider::builder().build();
/// let subscriber = tracing_subscriber::registry().with(deputy::otel::layer(&provider));
/// tracing::subscriber::with_default(subscriber, || { /* resolve tokens */ });
/// ```
pub fn layer<S>(provider: &SdkTracerProvider) -> impl Layer<S> + use<S>
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    let targets = Targets::new()
        .with_default(LevelFilter::TRACE)
        .with_target("opentelemetry", LevelFilter::OFF)
        .with_target("opentelemetry_sdk", LevelFilter::OFF)
        .with_target("opentelemetry_otlp", LevelFilter::OFF)
        .with_target("opentelemetry_http", LevelFilter::OFF)
        .with_target("hyper", LevelFilter::OFF)
        .with_target("hyper_util", LevelFilter::OFF)
        .with_target("reqwest", LevelFilter::OFF)
        .with_target("h2", LevelFilter::OFF)
        .with_target("tonic", LevelFilter::OFF);
    let tracer = provider.tracer("deputy");
    tracing_opentelemetry::layer()
        .with_tracer(tracer.clone())
        .with_location(false)
        .with_threads(false)
        .with_target(false)
        .with_tracked_inactivity(false)
        .with_filter(ExportFilter { targets, tracer })
}
