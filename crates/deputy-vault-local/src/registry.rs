//! The vault's resources: workload identities, OAuth2 credential providers and API-key
//! providers, seeded from the configuration and changed by the control plane.

use std::collections::BTreeMap;

use crate::config::{ClientAuthMethod, OboConfig, ProviderSource, VaultConfig};
use crate::ids::{now_secs, random_token, uuid_v4};
use crate::sensitive::Sensitive;

/// A workload identity.
#[derive(Debug, Clone)]
pub struct Workload {
    /// Name.
    pub name: String,
    /// `allowedResourceOauth2ReturnUrls`.
    pub return_urls: Vec<String>,
    /// Epoch seconds.
    pub created: u64,
    /// Epoch seconds.
    pub updated: u64,
}

/// An OAuth2 credential provider.
#[derive(Debug, Clone)]
pub struct Provider {
    /// Name.
    pub name: String,
    /// `credentialProviderVendor`.
    pub vendor: String,
    /// The id in the provider's callback URL.
    pub callback_id: String,
    /// The authorization server.
    pub source: ProviderSource,
    /// Client id at the authorization server.
    pub client_id: String,
    /// Client secret at the authorization server.
    pub client_secret: Sensitive,
    /// Token endpoint client authentication.
    pub auth_method: ClientAuthMethod,
    /// On-behalf-of configuration.
    pub obo: Option<OboConfig>,
    /// Epoch seconds.
    pub created: u64,
    /// Epoch seconds.
    pub updated: u64,
}

/// An API-key credential provider.
#[derive(Debug, Clone)]
pub struct ApiKeyProvider {
    /// Name.
    pub name: String,
    /// The API key.
    pub api_key: Sensitive,
    /// Epoch seconds.
    pub created: u64,
    /// Epoch seconds.
    pub updated: u64,
}

/// The token vault's KMS configuration (`GetTokenVault`, `SetTokenVaultCMK`). It is recorded
/// and reported; the local store keeps its own AES key whatever it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenVault {
    /// `CustomerManagedKey` or `ServiceManagedKey`.
    pub key_type: String,
    /// `kmsKeyArn` (customer-managed keys only).
    pub kms_key_arn: Option<String>,
    /// Epoch seconds.
    pub modified: u64,
}

/// All resources, by name.
#[derive(Debug, Default)]
pub struct Registry {
    /// Workload identities.
    pub workloads: BTreeMap<String, Workload>,
    /// OAuth2 credential providers.
    pub providers: BTreeMap<String, Provider>,
    /// API-key providers.
    pub api_keys: BTreeMap<String, ApiKeyProvider>,
    /// Tags, by resource ARN.
    pub tags: BTreeMap<String, BTreeMap<String, String>>,
    /// Dev IdP client ids and the provider that registered each (`None`: a configured
    /// `[[dev_idp.clients]]` entry). Seeded entries are never given to another provider.
    pub dev_clients: BTreeMap<String, Option<String>>,
    /// The `default` token vault; `None` until `SetTokenVaultCMK` (service-managed key).
    pub token_vault: Option<TokenVault>,
}

/// Why a provider may not register a dev IdP client id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientTaken;

impl Registry {
    /// Claims dev IdP client `client_id` for `provider`: refused when it belongs to a
    /// configured client or another provider (that would hand the seeded client's
    /// authorization codes to the new provider's callback).
    pub fn claim_dev_client(&mut self, client_id: &str, provider: &str) -> Result<(), ClientTaken> {
        match self.dev_clients.get(client_id) {
            Some(Some(owner)) if owner == provider => Ok(()),
            Some(_) => Err(ClientTaken),
            None => {
                self.dev_clients
                    .insert(client_id.to_owned(), Some(provider.to_owned()));
                Ok(())
            }
        }
    }
}

impl Registry {
    /// Seeds the registry from the configuration.
    pub fn from_config(config: &VaultConfig) -> Self {
        let now = now_secs();
        let mut registry = Self::default();
        for c in &config.dev_idp.clients {
            registry.dev_clients.insert(c.client_id.clone(), None);
        }
        for w in &config.workloads {
            registry.workloads.insert(
                w.name.clone(),
                Workload {
                    name: w.name.clone(),
                    return_urls: w.allowed_resource_oauth2_return_urls.clone(),
                    created: now,
                    updated: now,
                },
            );
        }
        for p in &config.providers {
            let (client_id, client_secret) = match p.source {
                ProviderSource::DevIdp => {
                    registry
                        .dev_clients
                        .entry(p.name.clone())
                        .or_insert_with(|| Some(p.name.clone()));
                    (p.name.clone(), Sensitive::new(random_token(24)))
                }
                _ => (
                    p.client_id.clone().unwrap_or_default(),
                    p.client_secret.clone().unwrap_or_default(),
                ),
            };
            registry.providers.insert(
                p.name.clone(),
                Provider {
                    name: p.name.clone(),
                    vendor: p.vendor.clone(),
                    callback_id: uuid_v4(),
                    source: p.source.clone(),
                    client_id,
                    client_secret,
                    auth_method: p.client_auth_method,
                    obo: p.on_behalf_of.clone(),
                    created: now,
                    updated: now,
                },
            );
        }
        for k in &config.api_keys {
            registry.api_keys.insert(
                k.name.clone(),
                ApiKeyProvider {
                    name: k.name.clone(),
                    api_key: k.api_key.clone(),
                    created: now,
                    updated: now,
                },
            );
        }
        registry
    }
}

/// Whether `url` is allowed by a workload's return-URL list (exact entries, or `*` patterns
/// documented on [`crate::config::WorkloadConfig`]).
pub fn return_url_allowed(allowed: &[String], url: &str) -> bool {
    allowed.iter().any(|entry| {
        if !entry.contains('*') {
            return entry == url;
        }
        match glob_prefix(entry.as_bytes(), url.as_bytes()) {
            Some(rest) => rest.is_empty() || matches!(rest[0], b'/' | b'?' | b'#'),
            None => false,
        }
    })
}

/// Matches `pattern` against a prefix of `text` and returns the unmatched rest
/// (`*` matches a possibly empty run of bytes other than `/`, `?`, `#`, `@`; it is greedy
/// up to those separators).
fn glob_prefix<'a>(pattern: &[u8], text: &'a [u8]) -> Option<&'a [u8]> {
    match pattern.split_first() {
        None => Some(text),
        Some((b'*', rest)) => {
            let run = text
                .iter()
                .take_while(|c| !matches!(c, b'/' | b'?' | b'#' | b'@'))
                .count();
            (0..=run).rev().find_map(|i| glob_prefix(rest, &text[i..]))
        }
        Some((c, rest)) => match text.split_first() {
            Some((t, text_rest)) if t == c => glob_prefix(rest, text_rest),
            _ => None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_url_patterns() {
        let allowed = vec![
            "http://127.0.0.1:*".to_string(),
            "https://app.example/cb".to_string(),
        ];
        assert!(return_url_allowed(
            &allowed,
            "http://127.0.0.1:8080/callback?x=1"
        ));
        assert!(return_url_allowed(&allowed, "http://127.0.0.1:9"));
        assert!(return_url_allowed(&allowed, "https://app.example/cb"));
        assert!(!return_url_allowed(
            &allowed,
            "https://app.example/cb/other"
        ));
        assert!(!return_url_allowed(
            &allowed,
            "http://127.0.0.1.evil.example/"
        ));
        assert!(!return_url_allowed(&allowed, "http://127.0.0.2:80/"));
        assert!(!return_url_allowed(
            &allowed,
            "http://127.0.0.1:80@evil.example/"
        ));
        assert!(!return_url_allowed(&[], "http://127.0.0.1:1"));
    }
}
