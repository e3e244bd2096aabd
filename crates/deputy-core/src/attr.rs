//! Every span attribute and span name deputy emits or reads, in one place.
//!
//! Emitters (the resolver, the gateway) and readers (the audit pipeline) use these constants;
//! no other code spells an attribute name as a string literal. The correlation envelope keeps
//! the snake_case names shared with ABCA's cost attribution and compliance export.

/// The span around one credential resolution.
pub const SPAN_RESOLVE: &str = "deputy.resolve";
/// The span around one AgentCore Gateway interceptor decision.
pub const SPAN_GATEWAY: &str = "deputy.gateway";
/// The credential a gateway interceptor forwards without the resolver (passthrough, broker):
/// a child of [`SPAN_GATEWAY`] with the attributes of [`SPAN_RESOLVE`], so the audit pipeline
/// turns it into the same record.
pub const SPAN_GATEWAY_CREDENTIAL: &str = "deputy.gateway.credential";
/// A child span around one Token Vault call.
pub const SPAN_VAULT_CALL: &str = "deputy.vault_call";

/// Correlation envelope: the task.
pub const TASK_ID: &str = "task_id";
/// Correlation envelope: the IdP-namespaced user (omitted when user ids are turned off as PII).
pub const USER_ID: &str = "user_id";
/// Correlation envelope: `owner/name`, omitted when the task has no repository.
pub const REPO: &str = "repo";
/// Correlation envelope: the task's trace id (32 lowercase hex).
pub const TRACE_ID: &str = "trace_id";
/// Correlation envelope: the AgentCore session id.
pub const SESSION_ID: &str = "session_id";

/// The integration (`github`, `linear`, …).
pub const INTEGRATION: &str = "deputy.integration";
/// `read` or `write`.
pub const OPERATION: &str = "deputy.operation";
/// The trigger kind (`interactive`, `webhook`, `headless`).
pub const TRIGGER: &str = "deputy.trigger";
/// The flow (`user_federation`, `on_behalf_of`, `m2m`, `github_app`, `api_key`, `deny`).
pub const FLOW: &str = "deputy.flow";
/// The id of the decision-table rule that fired.
pub const RULE_ID: &str = "deputy.rule_id";
/// The credential provider name.
pub const PROVIDER: &str = "deputy.provider";
/// Where the token came from (see [`crate::audit::CredentialSource`]).
pub const SOURCE: &str = "deputy.source";
/// `hit` or `miss`.
pub const CACHE: &str = "deputy.cache";
/// Truncated SHA-256 of the token (see [`crate::audit::TokenFingerprint`]); never the token.
pub const TOKEN_FINGERPRINT: &str = "deputy.token.fingerprint";
/// Token expiry, Unix seconds.
pub const TOKEN_EXPIRES_AT: &str = "deputy.token.expires_at";
/// Why the Secrets Manager fallback served the request.
pub const FALLBACK_REASON: &str = "deputy.fallback_reason";
/// The consent outcome (see [`crate::audit::ConsentOutcome`]).
pub const CONSENT: &str = "deputy.consent";
/// The asserted chain (user → orchestrator → agent) as JSON.
pub const ACTOR_CHAIN_ASSERTED: &str = "deputy.actor_chain.asserted";
/// The observed delegation (token subject and `act` chain) as JSON.
pub const ACTOR_CHAIN_OBSERVED: &str = "deputy.actor_chain.observed";
/// The error class when the resolve failed (`consent_required`, `access_denied`, …).
pub const ERROR_KIND: &str = "deputy.error.kind";
/// What went wrong, for operators only (a refusal's internal cause: the role, the secret, the
/// endpoint); the client is told less. Never token material.
pub const ERROR_DETAIL: &str = "deputy.error.detail";
/// The vault operation of a [`SPAN_VAULT_CALL`] (`GetResourceOauth2Token`, …).
pub const VAULT_OPERATION: &str = "deputy.vault.operation";
/// The `x-amzn-RequestId` of a vault call.
pub const VAULT_REQUEST_ID: &str = "deputy.vault.request_id";
/// The MCP JSON-RPC method a gateway interceptor saw.
pub const MCP_METHOD: &str = "mcp.method";
/// The MCP tool a gateway interceptor saw.
pub const MCP_TOOL: &str = "mcp.tool";

/// The MCP target a gateway request is for.
pub const GATEWAY_TARGET: &str = "deputy.gateway.target";
/// The interceptor mode (`passthrough`, `exchange`, `broker`).
pub const GATEWAY_MODE: &str = "deputy.gateway.mode";

/// The span of one consent return-URL callback.
pub const SPAN_CONSENT_CALLBACK: &str = "deputy.consent_callback";
/// What a consent callback came to (`bound`, `refused_other_user`, `refused_not_signed_in`, …).
pub const CONSENT_CALLBACK: &str = "deputy.consent_callback.outcome";

/// Every attribute name above, for readers that validate what they receive.
pub const ALL: [&str; 28] = [
    TASK_ID,
    USER_ID,
    REPO,
    TRACE_ID,
    SESSION_ID,
    INTEGRATION,
    OPERATION,
    TRIGGER,
    FLOW,
    RULE_ID,
    PROVIDER,
    SOURCE,
    CACHE,
    TOKEN_FINGERPRINT,
    TOKEN_EXPIRES_AT,
    FALLBACK_REASON,
    CONSENT,
    ACTOR_CHAIN_ASSERTED,
    ACTOR_CHAIN_OBSERVED,
    ERROR_KIND,
    ERROR_DETAIL,
    VAULT_OPERATION,
    VAULT_REQUEST_ID,
    MCP_METHOD,
    MCP_TOOL,
    GATEWAY_TARGET,
    GATEWAY_MODE,
    CONSENT_CALLBACK,
];
