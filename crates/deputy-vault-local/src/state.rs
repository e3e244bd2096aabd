//! The state shared by every handler of a running vault.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::aws_error::{ApiError, ApiResult};
use crate::config::{FaultRule, InboundIssuerConfig, ProviderSource, SigV4Credentials};
use crate::idp::DevIdp;
use crate::registry::{Provider, Registry, Workload};
use crate::store::Store;

/// The endpoints of a provider's authorization server.
#[derive(Debug, Clone)]
pub struct AuthServer {
    /// Issuer.
    pub issuer: String,
    /// Authorization endpoint.
    pub authorization_endpoint: String,
    /// Token endpoint.
    pub token_endpoint: String,
}

/// Shared state.
#[derive(Debug)]
pub struct AppState {
    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub endpoint: String,
    /// Region used in ARNs.
    pub region: String,
    /// Account used in ARNs.
    pub account_id: String,
    /// USER_FEDERATION session lifetime.
    pub session_ttl: u64,
    /// Resources.
    pub registry: RwLock<Registry>,
    /// Sessions and tokens.
    pub store: Store,
    /// The dev IdP.
    pub idp: Arc<DevIdp>,
    /// Outbound HTTP to IdPs (no redirects, timeouts, bounded bodies).
    pub http: crate::outbound::Outbound,
    /// Audiences accepted on dev IdP user JWTs.
    pub dev_audiences: Vec<String>,
    /// External inbound issuers.
    pub inbound_issuers: Vec<InboundIssuerConfig>,
    /// JWKS documents of external issuers, by issuer.
    pub jwks_cache: crate::outbound::FetchCache<jsonwebtoken::jwk::JwkSet>,
    /// Discovered authorization servers, by discovery URL.
    pub discovery_cache: crate::outbound::FetchCache<AuthServer>,
    /// Data-plane calls per operation.
    pub counters: Mutex<HashMap<String, u64>>,
    /// Fault injection rules, each with how often it has fired.
    pub faults: Vec<(FaultRule, std::sync::atomic::AtomicU64)>,
    /// Planned faults.
    pub fault_plan: crate::faults::FaultPlan,
    /// Epoch seconds at start.
    pub started: u64,
    /// SigV4 credentials to verify, if any.
    pub sigv4: Option<SigV4Credentials>,
}

impl AppState {
    /// Read access to the registry.
    pub fn registry(&self) -> RwLockReadGuard<'_, Registry> {
        match self.registry.read() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Write access to the registry.
    pub fn registry_mut(&self) -> RwLockWriteGuard<'_, Registry> {
        match self.registry.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// A workload, or `ResourceNotFoundException`.
    pub fn workload(&self, name: &str) -> ApiResult<Workload> {
        self.registry()
            .workloads
            .get(name)
            .cloned()
            .ok_or_else(|| ApiError::NotFound(format!("Workload identity '{name}' not found")))
    }

    /// An OAuth2 provider, or `ResourceNotFoundException`.
    pub fn provider(&self, name: &str) -> ApiResult<Provider> {
        self.registry()
            .providers
            .get(name)
            .cloned()
            .ok_or_else(|| ApiError::NotFound(format!("Credential provider '{name}' not found")))
    }

    /// The provider's `callbackUrl` (its `redirect_uri` at the authorization server).
    pub fn callback_url(&self, provider: &Provider) -> String {
        format!(
            "{}/identities/oauth2/callback/{}",
            self.endpoint, provider.callback_id
        )
    }

    /// Resolves a provider's authorization server (fetching its discovery document once).
    pub async fn auth_server(&self, provider: &Provider) -> ApiResult<AuthServer> {
        match &provider.source {
            ProviderSource::DevIdp => {
                let issuer = self.idp.issuer().to_owned();
                Ok(AuthServer {
                    authorization_endpoint: format!("{issuer}/authorize"),
                    token_endpoint: format!("{issuer}/token"),
                    issuer,
                })
            }
            ProviderSource::Metadata {
                issuer,
                authorization_endpoint,
                token_endpoint,
            } => Ok(AuthServer {
                issuer: issuer.clone(),
                authorization_endpoint: authorization_endpoint.clone(),
                token_endpoint: token_endpoint.clone(),
            }),
            ProviderSource::Discovery { discovery_url } => {
                if let Some(found) = self.discovery_cache.get(discovery_url) {
                    return Ok(found);
                }
                let server = fetch_discovery(&self.http, discovery_url).await?;
                self.discovery_cache.put(discovery_url, server.clone());
                Ok(server)
            }
        }
    }

    /// Counts a data-plane call.
    pub fn count(&self, operation: &str) {
        let mut counters = match self.counters.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        *counters.entry(operation.to_owned()).or_default() += 1;
    }
}

async fn fetch_discovery(http: &crate::outbound::Outbound, url: &str) -> ApiResult<AuthServer> {
    let failed = |why: String| {
        ApiError::validation(format!(
            "Failed to read the discovery document at {url}: {why}"
        ))
    };
    let doc: serde_json::Value = http
        .fetch_json(http.client().get(url))
        .await
        .map_err(|e| failed(e.to_string()))?;
    let field = |name: &str| {
        doc.get(name)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
            .ok_or_else(|| failed(format!("missing {name}")))
    };
    Ok(AuthServer {
        issuer: field("issuer")?,
        authorization_endpoint: field("authorization_endpoint")?,
        token_endpoint: field("token_endpoint")?,
    })
}
