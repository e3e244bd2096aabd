//! `deputy-gateway`: an Amazon Bedrock AgentCore Gateway REQUEST interceptor, as a Rust Lambda.
//!
//! Three modes, chosen per MCP target (tools are named `<target>___<tool>`):
//! - **passthrough**: forward the user's JWT from `X-Custom-UserToken` as `Authorization`, but only
//!   after verifying it *and* that its `aud` names this target (never someone else's token);
//! - **exchange** (recommended): exchange the user's JWT through the Token Vault (on-behalf-of) for
//!   a token whose `sub` is the user and whose `act` is the agent; the user's token stays here;
//! - **broker**: no user at the target; a short-lived service token from the cross-account broker.
//!
//! Refusals are JSON-RPC errors in `transformedGatewayResponse` (the target is never called)
//! and never contain token text.
//!
//! ```
//! use deputy_gateway::event::{InterceptorOutput, Refusal};
//! let out = InterceptorOutput::refuse(&Refusal::unauthorized("no user token"), serde_json::json!(7));
//! assert_eq!(out.mcp.transformed_gateway_response.unwrap().status_code, 401);
//! ```

pub mod agent;
pub mod config;
pub mod event;
mod interceptor;
mod setup;

pub use interceptor::Interceptor;
pub use setup::SetupError;
