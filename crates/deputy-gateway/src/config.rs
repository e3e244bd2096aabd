//! The interceptor's configuration (TOML): one mode per MCP target.

use serde::Deserialize;

/// The whole configuration.
///
/// ```
/// let config: deputy_gateway::config::GatewayConfig = toml::from_str(r#"
///     workload = "deputy-gateway"
///     [[target]]
///     name = "docs"
///     mode = "passthrough"
///     issuer = "https://idp.example"
///     jwks_uri = "https://idp.example/jwks"
///     audience = "docs-mcp"
/// "#).unwrap();
/// assert_eq!(config.user_token_header, "X-Custom-UserToken");
/// assert!(config.forward_headers.iter().any(|h| h == "mcp-session-id"));
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayConfig {
    /// The interceptor's workload identity (for on-behalf-of exchanges).
    pub workload: String,
    /// The header the agent puts the user's JWT in (matched case-insensitively).
    #[serde(default = "default_header")]
    pub user_token_header: String,
    /// Clock skew tolerated on `exp`/`nbf`, in seconds (default 30).
    #[serde(default = "default_skew")]
    pub clock_skew_seconds: u64,
    /// Longest accepted user token header value, in bytes.
    #[serde(default = "default_max_token")]
    pub max_token_bytes: usize,
    /// A local vault endpoint; the region's AgentCore endpoint when absent.
    #[serde(default)]
    pub vault_endpoint: Option<String>,
    /// A Secrets Manager / STS endpoint (tests, LocalStack-style setups); AWS when absent.
    #[serde(default)]
    pub secrets_endpoint: Option<String>,
    /// An AWS region that overrides the Lambda's own. Leave it unset in Lambda: the default
    /// chain then reads `AWS_REGION`, so the vault, STS and Secrets Manager are the region's
    /// the function runs in.
    #[serde(default)]
    pub region: Option<String>,
    /// The request headers forwarded to targets (matched case-insensitively); everything else
    /// is dropped. Never `cookie`, `authorization` or the user-token header (refused at
    /// start-up), and a header whose value contains the user's token is dropped whatever its
    /// name. Default: [`DEFAULT_FORWARD_HEADERS`].
    #[serde(default = "default_forward_headers")]
    pub forward_headers: Vec<String>,
    /// A decision table file for exchanges; the built-in table when absent.
    #[serde(default)]
    pub policy: Option<String>,
    /// How user JWTs arriving at the gateway are verified (exchange mode).
    #[serde(default)]
    pub inbound: Option<InboundConfig>,
    /// The target whose mode applies to requests that name no tool (`initialize`, `tools/list`);
    /// absent: such requests are forwarded without a credential.
    #[serde(default)]
    pub default_target: Option<String>,
    /// The targets.
    #[serde(default, rename = "target")]
    pub targets: Vec<TargetConfig>,
    /// Per on-behalf-of provider, the actor subject the interceptor's workload acts as (the
    /// `act.sub` its exchanged tokens carry), e.g. `[obo_actors] aws-native = "0oa1clientid"`.
    /// Asserted in the audit chain instead of the workload name (see
    /// `deputy::ResolverBuilder::obo_actor`).
    #[serde(default)]
    pub obo_actors: std::collections::BTreeMap<String, String>,
}

/// The headers forwarded by default: content negotiation, the client's name, the MCP session
/// and protocol version, and trace context. None of them carries a credential.
///
/// ```
/// use deputy_gateway::config::DEFAULT_FORWARD_HEADERS;
/// assert!(!DEFAULT_FORWARD_HEADERS.contains(&"cookie"));
/// assert!(DEFAULT_FORWARD_HEADERS.contains(&"traceparent"));
/// ```
pub const DEFAULT_FORWARD_HEADERS: [&str; 8] = [
    "accept",
    "content-type",
    "user-agent",
    "mcp-protocol-version",
    "mcp-session-id",
    "traceparent",
    "tracestate",
    "x-amzn-trace-id",
];

fn default_forward_headers() -> Vec<String> {
    DEFAULT_FORWARD_HEADERS.map(str::to_owned).to_vec()
}

fn default_header() -> String {
    "X-Custom-UserToken".to_owned()
}

fn default_skew() -> u64 {
    30
}

fn default_max_token() -> usize {
    8192
}

/// The issuer of the user JWTs the gateway receives.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InboundConfig {
    /// `iss`.
    pub issuer: String,
    /// Its JWKS.
    pub jwks_uri: String,
    /// Audiences a user token must name to be accepted by the gateway.
    pub audiences: Vec<String>,
    /// The IdP prefix of user ids (`<prefix>+<sub>`).
    pub idp_prefix: String,
}

/// One MCP target (tools are called `<name>___<tool>`) and how its credential is produced.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
pub enum TargetConfig {
    /// Forward the user's own JWT, only if it was issued for this target.
    Passthrough {
        /// The target's name.
        name: String,
        /// The token's issuer.
        issuer: String,
        /// Its JWKS.
        jwks_uri: String,
        /// The audience that names this target.
        audience: String,
        /// The IdP prefix of user ids in audit records (`<prefix>+<sub>`); `[inbound]`'s when
        /// absent and the issuers match. Without either, records name no user.
        #[serde(default)]
        idp_prefix: Option<String>,
        /// The integration audit records name (default: the target's name).
        #[serde(default)]
        integration: Option<String>,
        /// `read` or `write` (default `write`), for audit records.
        #[serde(default = "default_operation")]
        operation: String,
    },
    /// Exchange the user's JWT through the Token Vault (on-behalf-of) for a target-audience token.
    Exchange {
        /// The target's name.
        name: String,
        /// The integration, in the decision table's vocabulary (e.g. `aws-native`).
        integration: String,
        /// `read` or `write` (default `write`: tool calls usually change things).
        #[serde(default = "default_operation")]
        operation: String,
        /// The exchanged token's issuer.
        issuer: String,
        /// Its JWKS.
        jwks_uri: String,
        /// The audience the exchanged token must name.
        audience: String,
    },
    /// A short-lived service token from the cross-account Token Broker; no user identity.
    Broker {
        /// The target's name.
        name: String,
        /// The central secret with `client_id` and `client_secret`.
        secret_id: String,
        /// The role to assume into the central account.
        #[serde(default)]
        role_arn: Option<String>,
        /// Its external id.
        #[serde(default)]
        external_id: Option<String>,
        /// The OAuth token endpoint.
        token_endpoint: String,
        /// Scopes.
        #[serde(default)]
        scopes: Vec<String>,
        /// The integration audit records name (default: the target's name).
        #[serde(default)]
        integration: Option<String>,
        /// `read` or `write` (default `write`), for audit records.
        #[serde(default = "default_operation")]
        operation: String,
    },
}

impl TargetConfig {
    /// The target's name.
    pub fn name(&self) -> &str {
        match self {
            TargetConfig::Passthrough { name, .. }
            | TargetConfig::Exchange { name, .. }
            | TargetConfig::Broker { name, .. } => name,
        }
    }
}

fn default_operation() -> String {
    "write".to_owned()
}
