//! ON_BEHALF_OF_TOKEN_EXCHANGE: RFC 8693 token exchange (optionally with an M2M actor token)
//! or RFC 7523 jwt-bearer, with the inbound JWT carried by a ForJWT WAT as the subject.

use serde_json::{Value, json};

use super::token_request::{TokenRequest, client_credentials, extend_params};
use super::wat::UserBinding;
use crate::aws_error::{ApiError, ApiResult};
use crate::config::{ActorTokenContent, OboGrantType};
use crate::oauth_client::{ClientAuth, request_token};
use crate::state::AppState;

const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// GetResourceOauth2Token with `oauth2Flow = ON_BEHALF_OF_TOKEN_EXCHANGE`.
pub async fn exchange(state: &AppState, request: &TokenRequest) -> ApiResult<Value> {
    let UserBinding::Jwt { token: subject, .. } = &request.wat.user else {
        return Err(ApiError::validation(
            "ON_BEHALF_OF_TOKEN_EXCHANGE requires a workload access token from GetWorkloadAccessTokenForJWT",
        ));
    };
    let config = request.provider.obo.clone().ok_or_else(|| {
        ApiError::validation(format!(
            "Credential provider '{}' has no onBehalfOfTokenExchangeConfig",
            request.provider.name
        ))
    })?;
    let server = state.auth_server(&request.provider).await?;
    let mut params: Vec<(String, String)> = Vec::new();
    match config.grant_type {
        OboGrantType::TokenExchange => {
            params.push(("grant_type".into(), TOKEN_EXCHANGE.into()));
            params.push(("subject_token".into(), subject.expose().to_owned()));
            params.push((
                "subject_token_type".into(),
                "urn:ietf:params:oauth:token-type:jwt".into(),
            ));
            if config.actor_token_content == ActorTokenContent::M2m {
                let actor = client_credentials(state, request, &config.actor_token_scopes).await?;
                params.push(("actor_token".into(), actor.access_token.expose().to_owned()));
                params.push((
                    "actor_token_type".into(),
                    "urn:ietf:params:oauth:token-type:access_token".into(),
                ));
            }
        }
        OboGrantType::JwtAuthorizationGrant => {
            params.push(("grant_type".into(), JWT_BEARER.into()));
            params.push(("assertion".into(), subject.expose().to_owned()));
        }
    }
    extend_params(
        &mut params,
        request,
        &request.body.scopes,
        &["subject_token_type"],
    );
    let auth = if config.no_client {
        ClientAuth::None
    } else {
        ClientAuth::Provider
    };
    let response = request_token(
        &state.http,
        &request.provider,
        &server.token_endpoint,
        params,
        auth,
        "Token exchange",
    )
    .await?;
    tracing::info!(workload = %request.wat.workload, provider = %request.provider.name, "OBO token issued");
    Ok(json!({ "accessToken": response.access_token.expose() }))
}
