//! `deputy.resolve` spans from Python: OTLP export set up from `OTEL_EXPORTER_OTLP_*`, and the
//! caller's trace as the parent.
//!
//! The parent is a W3C `traceparent` the caller passes, or else, while export is on and the
//! application has imported `opentelemetry.trace`, opentelemetry-python's current span. It is
//! attached as the OpenTelemetry context the resolve's future runs under, which is where the
//! resolver takes its span's parent from.

use std::future::Future;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::Context;
use opentelemetry::trace::{
    FutureExt as _, SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState,
    WithContext,
};
use opentelemetry_sdk::trace::SdkTracerProvider;
use pyo3::prelude::*;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::errors::config_error;

/// Whether `init_telemetry` installed the exporter (only then is the caller's span looked up).
static EXPORTING: AtomicBool = AtomicBool::new(false);
/// The exporting provider, to flush at `shutdown_telemetry`.
static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

/// The longest `traceparent` accepted (the W3C format is 55 characters).
const MAX_TRACEPARENT: usize = 128;

/// Parses a W3C `traceparent` (`00-<trace id>-<span id>-<flags>`); `None` when malformed.
pub fn parse_traceparent(value: &str) -> Option<SpanContext> {
    if value.len() > MAX_TRACEPARENT {
        return None;
    }
    let mut parts = value.trim().split('-');
    let (version, trace, span, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if version.len() != 2
        || version == "ff"
        || trace.len() != 32
        || span.len() != 16
        || flags.len() != 2
    {
        return None;
    }
    let trace = TraceId::from_hex(trace).ok()?;
    let span = SpanId::from_hex(span).ok()?;
    let flags = u8::from_str_radix(flags, 16).ok()?;
    if trace == TraceId::INVALID || span == SpanId::INVALID {
        return None;
    }
    Some(SpanContext::new(
        trace,
        span,
        TraceFlags::new(flags & 1),
        true,
        TraceState::default(),
    ))
}

/// opentelemetry-python's current span, when the application imported it and it is valid.
fn python_current_span(py: Python<'_>) -> Option<SpanContext> {
    let modules = py.import("sys").ok()?.getattr("modules").ok()?;
    let trace = modules.get_item("opentelemetry.trace").ok()?;
    let context = trace
        .call_method0("get_current_span")
        .ok()?
        .call_method0("get_span_context")
        .ok()?;
    if !context.getattr("is_valid").ok()?.is_truthy().ok()? {
        return None;
    }
    let trace_id: u128 = context.getattr("trace_id").ok()?.extract().ok()?;
    let span_id: u64 = context.getattr("span_id").ok()?.extract().ok()?;
    let flags: u8 = context.getattr("trace_flags").ok()?.extract().ok()?;
    Some(SpanContext::new(
        TraceId::from(trace_id),
        SpanId::from(span_id),
        TraceFlags::new(flags & 1),
        true,
        TraceState::default(),
    ))
}

/// The parent context for a resolve: the given `traceparent`, else opentelemetry-python's
/// current span while export is on.
pub fn parent(py: Python<'_>, traceparent: Option<&str>) -> Option<Context> {
    let span = match traceparent {
        Some(value) => parse_traceparent(value),
        None if EXPORTING.load(Ordering::Relaxed) => python_current_span(py),
        None => None,
    }?;
    Some(Context::new().with_remote_span_context(span))
}

/// `future` running under `parent` (or the empty context).
pub fn under<F: Future>(parent: Option<Context>, future: F) -> WithContext<F> {
    future.with_context(parent.unwrap_or_default())
}

/// Sets up OTLP/HTTP export of deputy's spans from the standard `OTEL_EXPORTER_OTLP_*`
/// variables (or `traces_url`). Returns False, changing nothing, when none is set.
#[pyfunction]
#[pyo3(signature = (*, traces_url=None))]
pub fn init_telemetry(py: Python<'_>, traces_url: Option<String>) -> PyResult<bool> {
    if PROVIDER.get().is_some() {
        return Ok(true);
    }
    if traces_url.is_none() && !deputy::otel::otlp_configured() {
        return Ok(false);
    }
    // The exporter's batch thread and HTTP client are set up on the runtime's context.
    let provider = py.detach(|| {
        let _entered = crate::runtime::runtime().enter();
        match &traces_url {
            Some(url) => deputy::otel::otlp_layer_to(url).map(install),
            None => deputy::otel::otlp_layer().map(install),
        }
    });
    let provider = provider.map_err(|e| config_error(e.to_string()))??;
    let _ = PROVIDER.set(provider);
    EXPORTING.store(true, Ordering::Relaxed);
    Ok(true)
}

/// Installs the exporting layer as the process's subscriber; returns its provider.
fn install<L>(export: deputy::otel::OtlpExport<L>) -> PyResult<SdkTracerProvider>
where
    L: tracing_subscriber::Layer<tracing_subscriber::Registry> + Send + Sync + 'static,
{
    tracing_subscriber::registry()
        .with(export.layer)
        .try_init()
        .map_err(|e| {
            config_error(format!(
                "another tracing subscriber is already installed in this process: {e}"
            ))
        })?;
    Ok(export.provider)
}

/// Flushes and stops the exporter set up by `init_telemetry` (call before the process exits).
#[pyfunction]
pub fn shutdown_telemetry(py: Python<'_>) -> PyResult<()> {
    if let Some(provider) = PROVIDER.get() {
        EXPORTING.store(false, Ordering::Relaxed);
        py.detach(|| provider.force_flush())
            .map_err(|e| config_error(format!("flushing spans: {e}")))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_w3c_traceparent_parses_and_malformed_ones_do_not() {
        let parsed =
            parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
        assert_eq!(
            parsed.trace_id().to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert!(parsed.is_sampled());
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
        ] {
            assert!(parse_traceparent(bad).is_none(), "{bad}");
        }
    }
}
