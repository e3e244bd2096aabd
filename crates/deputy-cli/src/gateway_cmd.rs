//! `deputy gateway simulate`: play the AgentCore Gateway locally around the interceptor.
//!
//! Accepts MCP JSON-RPC over HTTP (`POST /mcp`), builds the interceptor event exactly as the
//! gateway does (with `passRequestHeaders` on), runs the interceptor in-process, and either
//! answers with its refusal or forwards the transformed request to the target.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use clap::Subcommand;
use deputy_gateway::Interceptor;
use deputy_gateway::config::GatewayConfig;
use serde_json::{Value, json};

/// `deputy gateway` subcommands.
#[derive(Debug, Subcommand)]
pub enum GatewayCommand {
    /// Serve `POST /mcp` like an AgentCore Gateway with this interceptor in front of a target.
    Simulate {
        /// The interceptor configuration (TOML).
        #[arg(long)]
        config: PathBuf,
        /// Where to listen.
        #[arg(long, default_value = "127.0.0.1:8790")]
        listen: SocketAddr,
        /// The MCP target URL requests are forwarded to.
        #[arg(long)]
        target: String,
    },
}

struct Simulator {
    interceptor: Interceptor,
    target: String,
    http: reqwest::Client,
}

/// Runs a `deputy gateway` subcommand.
pub async fn run(command: GatewayCommand) -> Result<ExitCode, String> {
    let GatewayCommand::Simulate {
        config,
        listen,
        target,
    } = command;
    let text = tokio::fs::read_to_string(&config)
        .await
        .map_err(|e| format!("cannot read {}: {e}", config.display()))?;
    let parsed: GatewayConfig =
        toml::from_str(&text).map_err(|e| format!("{}: {e}", config.display()))?;
    let interceptor = Interceptor::from_config(parsed)
        .await
        .map_err(|e| e.to_string())?;
    let state = Arc::new(Simulator {
        interceptor,
        target,
        http: reqwest::Client::new(),
    });
    let app = axum::Router::new()
        .route("/mcp", post(mcp))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    println!("gateway simulator on http://{listen}/mcp -> interceptor -> target");
    axum::serve(listener, app)
        .await
        .map_err(|e| e.to_string())?;
    Ok(ExitCode::SUCCESS)
}

async fn mcp(
    State(sim): State<Arc<Simulator>>,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    let raw = String::from_utf8_lossy(&body).into_owned();
    let parsed: Value = serde_json::from_str(&raw).unwrap_or(Value::Null);
    let headers: BTreeMap<String, String> = headers
        .iter()
        .filter_map(|(k, v)| {
            v.to_str()
                .ok()
                .map(|v| (k.as_str().to_owned(), v.to_owned()))
        })
        .filter(|(k, _)| !matches!(k.as_str(), "host" | "content-length"))
        .collect();
    let event = json!({
        "interceptorInputVersion": "1.0",
        "mcp": {
            "rawGatewayRequest": {"body": raw},
            "gatewayRequest": {"path": "/mcp", "httpMethod": "POST", "headers": headers, "body": parsed},
        },
    });
    let out = sim.interceptor.handle_value(event).await;
    if let Some(response) = out.mcp.transformed_gateway_response {
        let status = StatusCode::from_u16(response.status_code).unwrap_or(StatusCode::BAD_GATEWAY);
        return (status, axum::Json(response.body)).into_response();
    }
    let Some(request) = out.mcp.transformed_gateway_request else {
        return (
            StatusCode::BAD_GATEWAY,
            "the interceptor returned neither a request nor a response",
        )
            .into_response();
    };
    let mut forward = sim.http.post(&sim.target).json(&request.body);
    for (k, v) in &request.headers {
        if !k.eq_ignore_ascii_case("content-type") {
            forward = forward.header(k, v);
        }
    }
    match forward.send().await {
        Ok(response) => {
            let status =
                StatusCode::from_u16(response.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
            let body = response.bytes().await.unwrap_or_default();
            (status, [("content-type", "application/json")], body).into_response()
        }
        Err(e) => (
            StatusCode::BAD_GATEWAY,
            format!("target unreachable: {}", e.without_url()),
        )
            .into_response(),
    }
}
