//! The Token Broker's service-credential mode: an OAuth client id and secret kept in a central
//! account's secret, exchanged with client credentials for a short-lived service token (for
//! targets that need no user identity, e.g. `Authorization: Bearer …` from a gateway).

use std::time::{Duration, SystemTime};

use deputy_core::TaskContext;
use deputy_core::policy::AssumeRole;
use secrecy::ExposeSecret;

use super::reader::{SecretError, SecretReader};
use crate::AccessToken;
use crate::cache::{CacheKey, CachedToken, TokenCache};

/// Where the service client's credentials live and where to exchange them.
#[derive(Debug, Clone)]
pub struct ServiceCredentials {
    /// The secret (name or ARN) holding `{"client_id": …, "client_secret": …}`.
    pub secret_id: String,
    /// The role to assume into the central account, if the secret lives there.
    pub assume_role: Option<AssumeRole>,
    /// The OAuth token endpoint.
    pub token_endpoint: String,
    /// Scopes to request.
    pub scopes: Vec<String>,
}

/// Why no service token could be had. Never carries the client secret or a token.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BrokerError {
    /// The central secret could not be read.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// The token endpoint refused or failed.
    #[error("client credentials at {endpoint} failed: {problem}")]
    Token {
        /// The endpoint.
        endpoint: String,
        /// What went wrong (the OAuth `error`, or the transport failure).
        problem: String,
    },
}

/// Mints and caches short-lived service tokens.
#[derive(Debug)]
pub struct TokenBroker {
    reader: SecretReader,
    config: ServiceCredentials,
    http: reqwest::Client,
    cache: TokenCache,
}

impl TokenBroker {
    /// A broker reading `config.secret_id` with `reader`.
    pub fn new(reader: SecretReader, config: ServiceCredentials) -> Self {
        TokenBroker {
            reader,
            config,
            http: reqwest::Client::new(),
            cache: TokenCache::new(16, Duration::from_secs(30)),
        }
    }

    /// A service token (cached until shortly before it expires; concurrent callers share one
    /// exchange). `task` names the STS session and its tags.
    pub async fn service_token(
        &self,
        task: &TaskContext,
    ) -> Result<(AccessToken, SystemTime), BrokerError> {
        let key = CacheKey::new("broker", &self.config.secret_id, "client_credentials")
            .scopes(&self.config.scopes);
        let (cached, _) = self
            .cache
            .get_or_fetch(key, self.exchange(task))
            .await
            .map_err(|e| (*e).clone())?;
        Ok((cached.token, cached.expires_at))
    }

    async fn exchange(&self, task: &TaskContext) -> Result<CachedToken, BrokerError> {
        let endpoint = &self.config.token_endpoint;
        let secret_id = &self.config.secret_id;
        let value = self
            .reader
            .value(secret_id, self.config.assume_role.as_ref(), task)
            .await?;
        let fields: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(value.expose_secret()).map_err(|e| SecretError::NotJson {
                secret_id: secret_id.clone(),
                line: e.line(),
                column: e.column(),
            })?;
        let field = |name: &str| {
            fields
                .get(name)
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| SecretError::MissingField {
                    secret_id: secret_id.clone(),
                    field: name.to_owned(),
                })
        };
        let (client_id, client_secret) = (field("client_id")?, field("client_secret")?);
        let mut form = vec![("grant_type", "client_credentials".to_owned())];
        if !self.config.scopes.is_empty() {
            form.push(("scope", self.config.scopes.join(" ")));
        }
        let failed = |problem: String| BrokerError::Token {
            endpoint: endpoint.clone(),
            problem,
        };
        let response = self
            .http
            .post(endpoint)
            .basic_auth(&client_id, Some(&client_secret))
            .form(&form)
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .map_err(|e| failed(format!("unreachable: {}", e.without_url())))?;
        let status = response.status();
        let body: serde_json::Value = response
            .json()
            .await
            .map_err(|_| failed(format!("HTTP {status} without a JSON body")))?;
        let Some(token) = body.get("access_token").and_then(serde_json::Value::as_str) else {
            let error = body
                .get("error")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("no access_token");
            return Err(failed(format!("HTTP {status}: {error}")));
        };
        let expires_in = body
            .get("expires_in")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(300);
        let expires_at = expiry_after(SystemTime::now(), expires_in).ok_or_else(|| {
            failed(format!(
                "expires_in {expires_in} is past the clock's range; the IdP's answer is broken"
            ))
        })?;
        Ok(CachedToken {
            token: AccessToken::new(token),
            expires_at,
            observed: None,
        })
    }
}

/// The longest a service token is kept, whatever its `expires_in` says.
const MAX_SERVICE_TOKEN_LIFE: Duration = Duration::from_secs(24 * 3600);

/// `now` plus a token endpoint's `expires_in`, capped at a day, or `None` when the answer is
/// past the clock's range (a hostile or broken IdP must not be able to panic the caller, nor
/// have its token kept for ever).
fn expiry_after(now: SystemTime, expires_in: u64) -> Option<SystemTime> {
    now.checked_add(Duration::from_secs(expires_in))?;
    now.checked_add(Duration::from_secs(expires_in).min(MAX_SERVICE_TOKEN_LIFE))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_huge_expires_in_is_refused_not_a_panic() {
        let now = SystemTime::now();
        assert_eq!(expiry_after(now, 60), Some(now + Duration::from_secs(60)));
        assert_eq!(expiry_after(now, u64::MAX), None);
        assert_eq!(
            expiry_after(now, 10 * 365 * 86_400),
            Some(now + MAX_SERVICE_TOKEN_LIFE),
            "kept a day at most"
        );
    }
}
