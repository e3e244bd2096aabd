#![recursion_limit = "256"]
//! The interceptor as a Lambda function (`provided.al2023` custom runtime).
//!
//! Reads its configuration from the TOML file named by `DEPUTY_GATEWAY_CONFIG`; `RUST_LOG`
//! sets the log filter (default `info`).

use deputy_gateway::Interceptor;
use deputy_gateway::config::GatewayConfig;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use tracing_subscriber::EnvFilter;

/// `RUST_LOG` (default `info`), except that the runtime's TRACE event dump is always off: it
/// logs the raw event, whose headers carry the user's JWT.
fn log_filter() -> EnvFilter {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    match "lambda_runtime::layers::api_response=debug".parse() {
        Ok(cap) => filter.add_directive(cap),
        Err(_) => filter,
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .with_ansi(false)
        .with_target(false)
        .with_env_filter(log_filter())
        .try_init()
        .ok();
    let path = std::env::var("DEPUTY_GATEWAY_CONFIG")
        .map_err(|_| "set DEPUTY_GATEWAY_CONFIG to the interceptor's TOML configuration")?;
    let text = tokio::fs::read_to_string(&path)
        .await
        .map_err(|e| format!("cannot read {path}: {e}"))?;
    let config: GatewayConfig = toml::from_str(&text).map_err(|e| format!("{path}: {e}"))?;
    let interceptor = Interceptor::from_config(config).await?;
    let interceptor = &interceptor;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        Ok::<_, Error>(interceptor.handle_value(event.payload).await)
    }))
    .await
}
