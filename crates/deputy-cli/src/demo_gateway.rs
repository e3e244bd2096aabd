//! The demo's gateway hops: frontend header → agent → gateway interceptor → target.
//!
//! The frontend sends the user's JWT to the agent in Runtime's allow-listed custom header; the
//! agent lifts it and calls the gateway with `X-Custom-UserToken`; the interceptor exchanges it
//! through the vault (on-behalf-of); the target verifies what arrives.

use deputy::verify::TokenVerifier;
use deputy_gateway::Interceptor;
use deputy_gateway::agent::{RUNTIME_USER_TOKEN_HEADER, gateway_headers, user_token_from_runtime};
use deputy_gateway::config::GatewayConfig;
use deputy_vault_local::RunningVault;
use serde_json::json;

/// Runs the hops and prints what each one saw (fingerprints and claims, never tokens).
pub async fn run(vault: &RunningVault, user_jwt: &str) -> Result<(), String> {
    let issuer = vault.idp_issuer();
    let config: GatewayConfig = toml::from_str(&format!(
        "workload = \"deputy-agent\"\nvault_endpoint = \"{endpoint}\"\n\
         [obo_actors]\naws-native = \"aws-native\"\n\
         [inbound]\nissuer = \"{issuer}\"\njwks_uri = \"{issuer}/jwks\"\naudiences = [\"deputy\"]\nidp_prefix = \"dev\"\n\
         [[target]]\nname = \"aws\"\nmode = \"exchange\"\nintegration = \"aws-native\"\nissuer = \"{issuer}\"\njwks_uri = \"{issuer}/jwks\"\naudience = \"aws-native\"\n",
        endpoint = vault.endpoint()
    ))
    .map_err(|e| e.to_string())?;
    let interceptor = Interceptor::from_config(config)
        .await
        .map_err(|e| e.to_string())?;

    // Hop 1: the frontend's request reaches the agent through AgentCore Runtime.
    let runtime_headers = [(RUNTIME_USER_TOKEN_HEADER, user_jwt)];
    let token =
        user_token_from_runtime(runtime_headers).ok_or("no user token in the Runtime headers")?;
    println!(
        "    agent: lifted the user token from {RUNTIME_USER_TOKEN_HEADER} ({})",
        token.fingerprint()
    );
    // Hop 2: the agent calls the gateway; the gateway runs the REQUEST interceptor.
    let headers: serde_json::Map<String, serde_json::Value> = gateway_headers(&token)
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.into()))
        .collect();
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "aws___list_buckets", "arguments": {}}});
    let event = json!({"interceptorInputVersion": "1.0", "mcp": {"gatewayRequest": {"path": "/mcp", "httpMethod": "POST", "headers": headers, "body": body}}});
    let out = interceptor.handle_value(event).await;
    let forwarded = out.mcp.transformed_gateway_request.ok_or_else(|| {
        format!(
            "the interceptor refused: {:?}",
            out.mcp.transformed_gateway_response
        )
    })?;
    let bearer = forwarded
        .headers
        .get("Authorization")
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or("no Authorization header forwarded")?;
    println!(
        "    gateway: exchanged it on-behalf-of through the vault; forwards {}",
        deputy_core::audit::TokenFingerprint::of(bearer)
    );
    // Hop 3: the target verifies the token it received.
    let target = TokenVerifier::new(issuer.clone(), format!("{issuer}/jwks"), ["aws-native"]);
    let seen = target.verify(bearer).await?;
    println!(
        "    target: verified a token for audience aws-native: sub {}, acted for by {}",
        seen.subject.sub, seen.actors
    );
    Ok(())
}
