//! The vault's TOML configuration: workloads, credential providers, API keys, inbound
//! issuers, the development IdP, the store, SigV4 and fault injection.

use std::path::PathBuf;

use serde::Deserialize;

use crate::error::VaultError;
use crate::sensitive::Sensitive;

/// Everything a [`crate::LocalVault`] needs to start. Load it with [`VaultConfig::from_toml_str`]
/// or use the ready-made [`VaultConfig::development`].
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VaultConfig {
    /// Region used in ARNs (default `us-east-1`).
    pub region: String,
    /// Account id used in ARNs (default `123456789012`).
    pub account_id: String,
    /// Accept a non-loopback bind address (CLI: `--allow-remote`).
    pub allow_remote: bool,
    /// Where sessions and tokens are kept.
    pub store: StoreConfig,
    /// When set, every `/identities/*` request must carry a valid SigV4 signature by these credentials.
    pub sigv4: Option<SigV4Credentials>,
    /// USER_FEDERATION sessions fail after this many seconds (default 600, like AgentCore).
    pub session_ttl_seconds: u64,
    /// The built-in development IdP.
    pub dev_idp: DevIdpConfig,
    /// Workload identities known at start.
    pub workloads: Vec<WorkloadConfig>,
    /// OAuth2 credential providers known at start.
    pub providers: Vec<ProviderConfig>,
    /// API-key credential providers known at start.
    pub api_keys: Vec<ApiKeyConfig>,
    /// External issuers whose user JWTs `GetWorkloadAccessTokenForJWT` accepts.
    pub inbound_issuers: Vec<InboundIssuerConfig>,
    /// Fault injection rules for reliability tests.
    pub faults: Vec<FaultRule>,
    /// Timeouts and size limit of requests to IdPs (`[outbound_http]`).
    pub outbound_http: crate::outbound::OutboundHttpConfig,
    /// Planned faults: modelled errors for the next calls of an operation (see
    /// [`crate::faults`]; at most [`crate::faults::MAX_PLANNED`]).
    pub fault_plan: Vec<crate::faults::PlannedFault>,
    /// Serve `POST /_deputy/faults` (loopback peers only) to plan faults at run time.
    /// Off by default; `deputy vault serve` has no flag for it, only this configuration key.
    pub fault_admin: bool,
}

impl Default for VaultConfig {
    fn default() -> Self {
        Self {
            region: "us-east-1".into(),
            account_id: "123456789012".into(),
            allow_remote: false,
            store: StoreConfig::default(),
            sigv4: None,
            session_ttl_seconds: 600,
            dev_idp: DevIdpConfig::default(),
            workloads: Vec::new(),
            providers: Vec::new(),
            api_keys: Vec::new(),
            inbound_issuers: Vec::new(),
            faults: Vec::new(),
            outbound_http: crate::outbound::OutboundHttpConfig::default(),
            fault_plan: Vec::new(),
            fault_admin: false,
        }
    }
}

/// Where the SQLite store and its encryption key live.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// SQLite file; `None` keeps everything in memory.
    pub path: Option<PathBuf>,
    /// AES-256 key file, created with mode 0600 on first start. Defaults to `<path>.key`;
    /// an in-memory store uses a random key.
    pub key_file: Option<PathBuf>,
}

/// Static AWS credentials the vault verifies SigV4 signatures against.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SigV4Credentials {
    /// The access key id callers sign with.
    pub access_key_id: String,
    /// The matching secret access key.
    pub secret_access_key: Sensitive,
}

/// The development IdP served under `/idp`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DevIdpConfig {
    /// Users who can log in and for whom inbound JWTs can be minted.
    pub users: Vec<DevUser>,
    /// Extra OAuth clients (providers with `source = "dev-idp"` get a client automatically).
    pub clients: Vec<DevClient>,
    /// Audiences accepted on dev IdP user JWTs by `GetWorkloadAccessTokenForJWT`.
    pub inbound_audiences: Vec<String>,
    /// Lifetime of issued access tokens, in seconds.
    pub access_token_ttl_seconds: u64,
    /// Lifetime of inbound user JWTs (`mint_user_token`, `/idp/dev/user-token`), in seconds.
    pub user_token_ttl_seconds: u64,
    /// How far the IdP's clock is off, in seconds (negative: behind). Every `iat` and `exp` it
    /// issues is shifted by this much, to test clients against a skewed IdP.
    pub clock_skew_seconds: i64,
}

impl Default for DevIdpConfig {
    fn default() -> Self {
        Self {
            users: Vec::new(),
            clients: Vec::new(),
            inbound_audiences: vec!["deputy".into()],
            access_token_ttl_seconds: 3600,
            user_token_ttl_seconds: 3600,
            clock_skew_seconds: 0,
        }
    }
}

/// A dev IdP user.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevUser {
    /// Login name, also the `sub` claim.
    pub name: String,
    /// Login password; defaults to the user name.
    pub password: Option<Sensitive>,
    /// When set, user JWTs carry `may_act: {sub}` and token exchange only accepts that actor.
    pub may_act: Option<String>,
}

/// An OAuth client registered at the dev IdP.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevClient {
    /// `client_id`.
    pub client_id: String,
    /// `client_secret`.
    pub client_secret: Sensitive,
    /// Allowed `redirect_uri` values (exact match).
    #[serde(default)]
    pub redirect_uris: Vec<String>,
}

/// A workload identity.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadConfig {
    /// Workload name (3–255, `[A-Za-z0-9_.-]+`).
    pub name: String,
    /// Session-binding return URLs. Exact URLs, or patterns where `*` matches any run of
    /// characters other than `/`, `?` and `#` (e.g. `http://127.0.0.1:*`); a pattern also
    /// matches any URL that extends it with a path or query.
    #[serde(default)]
    pub allowed_resource_oauth2_return_urls: Vec<String>,
}

/// Where a provider's authorization server lives.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum ProviderSource {
    /// The built-in dev IdP; the vault registers the client itself.
    DevIdp,
    /// An external server described by an OpenID / OAuth discovery document.
    Discovery {
        /// `…/.well-known/openid-configuration` or `…/.well-known/oauth-authorization-server`.
        discovery_url: String,
    },
    /// An external server given by explicit metadata.
    Metadata {
        /// Issuer identifier.
        issuer: String,
        /// Authorization endpoint.
        authorization_endpoint: String,
        /// Token endpoint.
        token_endpoint: String,
    },
}

/// How the vault authenticates to a provider's token endpoint.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ClientAuthMethod {
    /// HTTP Basic with client id and secret.
    #[default]
    ClientSecretBasic,
    /// `client_id` and `client_secret` form fields.
    ClientSecretPost,
}

/// The OBO grant sent to the provider.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OboGrantType {
    /// RFC 8693 token exchange.
    TokenExchange,
    /// RFC 7523 jwt-bearer.
    JwtAuthorizationGrant,
}

/// What the vault sends as `actor_token` in an RFC 8693 exchange.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ActorTokenContent {
    /// No actor token.
    #[default]
    None,
    /// A client-credentials token from the same provider.
    M2m,
}

/// `onBehalfOfTokenExchangeConfig`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct OboConfig {
    /// Which grant to use.
    pub grant_type: OboGrantType,
    /// Actor token content (TOKEN_EXCHANGE only).
    #[serde(default)]
    pub actor_token_content: ActorTokenContent,
    /// Scopes of the M2M actor token.
    #[serde(default)]
    pub actor_token_scopes: Vec<String>,
    /// `NO_CLIENT`: omit client authentication on the exchange.
    #[serde(default)]
    pub no_client: bool,
}

/// An OAuth2 credential provider.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    /// Provider name (1–128, `[a-zA-Z0-9\-_]+`).
    pub name: String,
    /// `credentialProviderVendor` (default `CustomOauth2`).
    #[serde(default = "default_vendor")]
    pub vendor: String,
    /// The authorization server.
    pub source: ProviderSource,
    /// Client id (ignored for `dev-idp`: the provider name is used).
    #[serde(default)]
    pub client_id: Option<String>,
    /// Client secret (ignored for `dev-idp`).
    #[serde(default)]
    pub client_secret: Option<Sensitive>,
    /// Token endpoint client authentication.
    #[serde(default)]
    pub client_auth_method: ClientAuthMethod,
    /// On-behalf-of configuration, for `ON_BEHALF_OF_TOKEN_EXCHANGE`.
    #[serde(default)]
    pub on_behalf_of: Option<OboConfig>,
}

fn default_vendor() -> String {
    "CustomOauth2".into()
}

/// An API-key credential provider.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyConfig {
    /// Provider name.
    pub name: String,
    /// The key `GetResourceApiKey` returns.
    pub api_key: Sensitive,
}

/// An external issuer of inbound user JWTs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InboundIssuerConfig {
    /// Expected `iss`.
    pub issuer: String,
    /// JWKS URL (fetched on first use).
    pub jwks_url: String,
    /// Accepted `aud` values.
    pub audiences: Vec<String>,
}

/// A fault injection rule. Every rule matching an operation applies, in order: latencies add
/// up, and the first rule whose error roll fires answers the request.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    /// Operation name (`GetResourceOauth2Token`, …); `None` matches every operation.
    #[serde(default)]
    pub operation: Option<String>,
    /// Added latency in milliseconds.
    #[serde(default)]
    pub latency_ms: u64,
    /// Probability (0.0–1.0) of answering with `status` instead of running the operation.
    #[serde(default)]
    pub error_rate: f64,
    /// HTTP status of injected errors: 429 (ThrottlingException), 500 (InternalServerException),
    /// 402 (ServiceQuotaExceededException), 403, 404, 409, 400 or 401. For the other modelled
    /// errors (which share a status), plan them with `[[fault_plan]]`.
    #[serde(default = "default_fault_status")]
    pub status: u16,
    /// How many times the rule may fire before it goes quiet (a burst); `None`: no limit.
    #[serde(default)]
    pub times: Option<u64>,
}

fn default_fault_status() -> u16 {
    500
}

impl VaultConfig {
    /// Parses a TOML configuration.
    pub fn from_toml_str(text: &str) -> Result<Self, VaultError> {
        toml::from_str(text).map_err(|e| VaultError::Config(e.to_string()))
    }

    /// Reads and parses a TOML configuration file.
    pub fn from_toml_file(path: &std::path::Path) -> Result<Self, VaultError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| VaultError::io(format!("reading {}", path.display()), e))?;
        Self::from_toml_str(&text)
    }

    /// A ready default for local development and tests, with an in-memory store: see
    /// `development.toml` in this crate for its contents.
    pub fn development() -> Self {
        // The file is part of the crate and covered by a test, so parsing cannot fail.
        Self::from_toml_str(DEVELOPMENT_TOML).unwrap_or_default()
    }
}

/// The TOML text behind [`VaultConfig::development`].
pub const DEVELOPMENT_TOML: &str = include_str!("../development.toml");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn development_config_parses_and_has_the_documented_entries() {
        let config = VaultConfig::from_toml_str(DEVELOPMENT_TOML).unwrap();
        assert_eq!(config.workloads[0].name, "deputy-agent");
        let names: Vec<_> = config.providers.iter().map(|p| p.name.as_str()).collect();
        for expected in [
            "github",
            "linear",
            "jira",
            "slack",
            "github-service",
            "aws-native",
        ] {
            assert!(
                names.contains(&expected),
                "{expected} missing from {names:?}"
            );
        }
        assert_eq!(config.dev_idp.users.len(), 3);
        assert_eq!(config.api_keys.len(), 1);
    }

    #[test]
    fn debug_output_redacts_secrets() {
        let config = VaultConfig::from_toml_str(
            r#"
            sigv4 = { access_key_id = "AKID", secret_access_key = "sigv4-secret-value" }
            [[api_keys]]
            name = "k"
            api_key = "api-key-secret-value"
            [[providers]]
            name = "p"
            source = { kind = "metadata", issuer = "i", authorization_endpoint = "a", token_endpoint = "t" }
            client_id = "c"
            client_secret = "client-secret-value"
            "#,
        )
        .unwrap();
        let debug = format!("{config:?}");
        for secret in [
            "sigv4-secret-value",
            "api-key-secret-value",
            "client-secret-value",
        ] {
            assert!(!debug.contains(secret), "{secret} leaked");
        }
        assert!(debug.contains("AKID"));
    }

    #[test]
    fn unknown_keys_are_rejected_with_the_key_name() {
        let err = VaultConfig::from_toml_str("bogus = 1").unwrap_err();
        assert!(err.to_string().contains("bogus"));
    }
}
