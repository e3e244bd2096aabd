//! `POST /identities/oauth2/token` (GetResourceOauth2Token): dispatch to the M2M,
//! USER_FEDERATION and ON_BEHALF_OF_TOKEN_EXCHANGE flows. The request itself lives in
//! [`super::token_request`] (re-exported here).

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use serde_json::{Value, json};

use super::session::{VaultToken, load_token, save_token, vault_key};
use super::wat;
use super::{federation, obo};
use crate::aws_error::ApiResult;
use crate::state::AppState;

pub use super::token_request::{
    Oauth2Flow, PROVIDER_NAME, SESSION_URI, TokenRequest, TokenRequestBody, WAT_RULE,
    client_credentials, extend_params, to_vault_token,
};

/// The handler.
pub async fn handler(State(state): State<Arc<AppState>>, body: Bytes) -> ApiResult<Json<Value>> {
    let body = TokenRequestBody::parse(&body)?;
    let wat = wat::open(state.store.key(), body.wat.expose())?;
    state.workload(&wat.workload)?;
    let provider = state.provider(&body.provider_name)?;
    let flow = body.flow;
    let request = TokenRequest {
        wat,
        provider,
        body,
    };
    let response = match flow {
        Oauth2Flow::M2m => m2m(&state, &request).await?,
        Oauth2Flow::UserFederation => federation::get_token(&state, &request).await?,
        Oauth2Flow::OnBehalfOf => obo::exchange(&state, &request).await?,
    };
    Ok(Json(response))
}

async fn m2m(state: &AppState, request: &TokenRequest) -> ApiResult<Value> {
    let key = vault_key(
        &request.wat.workload,
        None,
        &request.provider.name,
        &request.body.target(),
    );
    if !request.body.force
        && let Some(token) = load_token(state, &key)?.filter(VaultToken::usable)
    {
        return Ok(json!({ "accessToken": token.access_token.expose() }));
    }
    let response = client_credentials(state, request, &request.body.scopes).await?;
    let token = to_vault_token(response);
    save_token(state, &key, &token)?;
    tracing::info!(workload = %request.wat.workload, provider = %request.provider.name, "M2M token issued");
    Ok(json!({ "accessToken": token.access_token.expose() }))
}
