//! `POST /identities/api-key` (GetResourceApiKey).

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use serde_json::{Value, json};

use super::token_request::{PROVIDER_NAME, WAT_RULE};
use super::wat;
use crate::aws_error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::validate::Body;

/// The handler.
pub async fn handler(State(state): State<Arc<AppState>>, body: Bytes) -> ApiResult<Json<Value>> {
    let mut body = Body::parse(&body)?;
    let wat = body.required_string("workloadIdentityToken", WAT_RULE);
    let name = body.required_string("resourceCredentialProviderName", PROVIDER_NAME);
    body.finish()?;
    let claims = wat::open(state.store.key(), &wat)?;
    state.workload(&claims.workload)?;
    let key = state
        .registry()
        .api_keys
        .get(&name)
        .map(|k| k.api_key.clone())
        .ok_or_else(|| {
            ApiError::NotFound(format!("API key credential provider '{name}' not found"))
        })?;
    Ok(Json(json!({ "apiKey": key.expose() })))
}
