#![recursion_limit = "256"]
//! The interceptor as a Lambda function (`provided.al2023` custom runtime).
//!
//! Reads its configuration from the TOML file named by `DEPUTY_GATEWAY_CONFIG`; `RUST_LOG`
//! sets the log filter (default `info`). When `OTEL_EXPORTER_OTLP_ENDPOINT` (or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, spans are also exported over OTLP/HTTP, under
//! the same filter, and flushed before each invocation returns (Lambda freezes the process
//! between invocations, so nothing may wait in a batch).

use deputy::otel::OtlpExport;
use deputy_gateway::Interceptor;
use deputy_gateway::config::GatewayConfig;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use opentelemetry_sdk::trace::SdkTracerProvider;
use serde_json::Value;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// `RUST_LOG` (default `info`), except that the dependencies' TRACE dumps of capabilities are
/// always off (`deputy::log_filter`): the runtime logs the raw event, whose headers carry the
/// user's JWT, and the SDK's orchestrator logs consent session URIs. It filters every layer,
/// the OTLP exporter's too.
fn log_filter() -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"))
}

/// Installs logging, and OTLP export when the environment asks for it; returns the provider
/// to flush.
fn install_telemetry() -> Result<Option<SdkTracerProvider>, Error> {
    let fmt = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_target(false);
    let registry = tracing_subscriber::registry()
        .with(log_filter())
        .with(deputy::log_filter::secret_dump_caps())
        .with(fmt);
    if !deputy::otel::otlp_configured() {
        registry.try_init().ok();
        return Ok(None);
    }
    let OtlpExport { layer, provider } = deputy::otel::otlp_layer()?;
    registry.with(layer).try_init().ok();
    Ok(Some(provider))
}

/// Exports what the invocation traced before Lambda freezes the process.
async fn flush(provider: Option<&SdkTracerProvider>) {
    if let Some(provider) = provider.cloned() {
        let flushed = tokio::task::spawn_blocking(move || provider.force_flush()).await;
        if !matches!(flushed, Ok(Ok(()))) {
            tracing::warn!("OTLP export failed; this invocation's spans may be lost");
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let provider = install_telemetry()?;
    let path = std::env::var("DEPUTY_GATEWAY_CONFIG")
        .map_err(|_| "set DEPUTY_GATEWAY_CONFIG to the interceptor's TOML configuration")?;
    let text = tokio::fs::read_to_string(&path)
        .await
        .map_err(|e| format!("cannot read {path}: {e}"))?;
    let config: GatewayConfig = toml::from_str(&text).map_err(|e| format!("{path}: {e}"))?;
    let interceptor = Interceptor::from_config(config).await?;
    let (interceptor, provider) = (&interceptor, provider.as_ref());
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let output = interceptor.handle_value(event.payload).await;
        flush(provider).await;
        Ok::<_, Error>(output)
    }))
    .await
}
