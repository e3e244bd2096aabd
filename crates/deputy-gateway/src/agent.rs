//! The agent side: lift the user's token that AgentCore Runtime passes through, and put it on
//! outgoing MCP calls to the gateway.
//!
//! Runtime forwards only allow-listed headers: the agent runtime must be created with
//! `--request-header-allowlist X-Amzn-Bedrock-AgentCore-Runtime-Custom-UserToken` (custom headers
//! must carry the `X-Amzn-Bedrock-AgentCore-Runtime-Custom-` prefix), or the header never arrives.

/// The header the frontend sets on `InvokeAgentRuntime`, as Runtime delivers it to the agent.
pub const RUNTIME_USER_TOKEN_HEADER: &str = "X-Amzn-Bedrock-AgentCore-Runtime-Custom-UserToken";

/// The header the interceptor reads on the gateway side (its default `user_token_header`).
pub const GATEWAY_USER_TOKEN_HEADER: &str = "X-Custom-UserToken";

/// The user's token from the Runtime request headers (any case), if present and non-empty.
///
/// ```
/// use deputy_gateway::agent::{gateway_headers, user_token_from_runtime};
/// let incoming = [("x-amzn-bedrock-agentcore-runtime-custom-usertoken", "eyJ.a.b")];
/// let token = user_token_from_runtime(incoming).unwrap();
/// let outgoing = gateway_headers(&token);
/// assert_eq!(outgoing, [("X-Custom-UserToken", "eyJ.a.b".to_string())]);
/// ```
pub fn user_token_from_runtime<'a>(
    headers: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Option<deputy::UserToken> {
    headers
        .into_iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(RUNTIME_USER_TOKEN_HEADER))
        .map(|(_, value)| value.trim())
        .filter(|value| !value.is_empty())
        .map(deputy::UserToken::new)
}

/// The header to add to MCP calls to the gateway.
pub fn gateway_headers(token: &deputy::UserToken) -> [(&'static str, String); 1] {
    [(GATEWAY_USER_TOKEN_HEADER, token.expose().to_owned())]
}
