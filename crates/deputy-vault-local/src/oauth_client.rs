//! Outbound OAuth 2.0 token requests from the vault to a provider's token endpoint.

use serde::Deserialize;

use crate::aws_error::ApiError;
use crate::config::ClientAuthMethod;
use crate::ids::now_secs;
use crate::outbound::{Outbound, OutboundError};
use crate::registry::Provider;
use crate::sensitive::Sensitive;

/// A successful token endpoint response.
#[derive(Debug, Clone, Deserialize)]
pub struct TokenResponse {
    /// `access_token`.
    pub access_token: Sensitive,
    /// `refresh_token`.
    #[serde(default)]
    pub refresh_token: Option<Sensitive>,
    /// `expires_in`.
    #[serde(default)]
    pub expires_in: Option<u64>,
}

/// Whether to authenticate the client on this request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// Use the provider's method.
    Provider,
    /// `NO_CLIENT`: send no client credentials.
    None,
}

/// POSTs `params` to `token_endpoint`, within the `[outbound_http]` timeouts and response size.
/// Failures become `ValidationException` "`what` failed with HTTP status N", like AgentCore
/// reports IdP rejections; a timeout, an unreachable or an oversized answer names the limit.
pub async fn request_token(
    http: &Outbound,
    provider: &Provider,
    token_endpoint: &str,
    mut params: Vec<(String, String)>,
    auth: ClientAuth,
    what: &str,
) -> Result<TokenResponse, ApiError> {
    let mut request = http
        .client()
        .post(token_endpoint)
        .header("accept", "application/json");
    if auth == ClientAuth::Provider {
        match provider.auth_method {
            ClientAuthMethod::ClientSecretBasic => {
                let enc = |s: &str| {
                    url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>()
                };
                request = request.basic_auth(
                    enc(&provider.client_id),
                    Some(enc(provider.client_secret.expose())),
                );
            }
            ClientAuthMethod::ClientSecretPost => {
                params.push(("client_id".into(), provider.client_id.clone()));
                params.push((
                    "client_secret".into(),
                    provider.client_secret.expose().to_owned(),
                ));
            }
        }
    }
    let token: TokenResponse = match http.fetch_json(request.form(&params)).await {
        Ok(token) => token,
        Err(OutboundError::Status(status)) => {
            tracing::info!(provider = %provider.name, status, "token endpoint rejected the request");
            return Err(ApiError::validation(format!(
                "{what} failed with HTTP status {status}"
            )));
        }
        Err(OutboundError::NotJson) => {
            return Err(ApiError::validation(format!(
                "{what} failed: the token endpoint returned no access_token"
            )));
        }
        Err(error) => {
            tracing::info!(provider = %provider.name, %error, "token endpoint failed");
            return Err(ApiError::validation(format!(
                "{what} failed: the token endpoint of credential provider '{}' failed: {error}",
                provider.name
            )));
        }
    };
    if let Some(seconds) = token.expires_in
        && now_secs().checked_add(seconds).is_none()
    {
        tracing::info!(provider = %provider.name, expires_in = seconds, "token endpoint answered an expires_in past the clock");
        return Err(ApiError::validation(format!(
            "{what} failed: the token endpoint of credential provider '{}' answered expires_in = {seconds} seconds, which is past any representable expiry; fix the provider's token lifetime",
            provider.name
        )));
    }
    Ok(token)
}
