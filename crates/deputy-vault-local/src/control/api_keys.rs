//! Create/Get/Delete/List API-key credential providers.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{arn, created, deleted, list_page};
use crate::aws_error::{ApiError, ApiResult};
use crate::dataplane::oauth2_token::PROVIDER_NAME;
use crate::ids::now_secs;
use crate::registry::ApiKeyProvider;
use crate::sensitive::Sensitive;
use crate::state::AppState;
use crate::validate::{Body, StringRule};

fn key_arn(state: &AppState, name: &str) -> String {
    arn(
        state,
        &format!("token-vault/default/apikeycredentialprovider/{name}"),
    )
}

fn describe(state: &AppState, k: &ApiKeyProvider) -> Value {
    json!({
        "name": k.name,
        "credentialProviderArn": key_arn(state, &k.name),
        "apiKeySecretArn": { "secretArn": format!(
            "arn:aws:secretsmanager:{}:{}:secret:bedrock-agentcore-identity!default/apikey/{}",
            state.region, state.account_id, k.name) },
        "apiKeySecretSource": "MANAGED",
        "createdTime": k.created,
        "lastUpdatedTime": k.updated,
    })
}

/// `CreateApiKeyCredentialProvider` (only `apiKey`, i.e. `MANAGED`).
pub async fn create(State(state): State<Arc<AppState>>, body: Bytes) -> ApiResult<Response> {
    let mut body = Body::parse(&body)?;
    let name = body.required_string("name", PROVIDER_NAME);
    let api_key = body.optional_string("apiKey", StringRule::len(0, 65_536));
    if body
        .present_members()
        .iter()
        .any(|m| m == "apiKeySecretConfig")
    {
        body.reject(
            "apiKeySecretConfig",
            "EXTERNAL secrets are not supported by the local vault; pass apiKey",
        );
    } else if api_key.is_none() {
        body.reject("apiKey", "Member must not be null");
    }
    body.finish()?;
    let now = now_secs();
    let provider = ApiKeyProvider {
        name: name.clone(),
        api_key: Sensitive::new(api_key.unwrap_or_default()),
        created: now,
        updated: now,
    };
    {
        let mut registry = state.registry_mut();
        if registry.api_keys.contains_key(&name) {
            return Err(ApiError::Conflict(format!(
                "API key credential provider '{name}' already exists"
            )));
        }
        registry.api_keys.insert(name.clone(), provider.clone());
    }
    let mut out = describe(&state, &provider);
    if let Some(map) = out.as_object_mut() {
        map.remove("createdTime");
        map.remove("lastUpdatedTime");
    }
    Ok(created(out))
}

fn lookup(state: &AppState, body: &[u8]) -> ApiResult<ApiKeyProvider> {
    let mut body = Body::parse(body)?;
    let name = body.required_string("name", PROVIDER_NAME);
    body.finish()?;
    state
        .registry()
        .api_keys
        .get(&name)
        .cloned()
        .ok_or_else(|| {
            ApiError::NotFound(format!("API key credential provider '{name}' not found"))
        })
}

/// `GetApiKeyCredentialProvider`.
pub async fn get(State(state): State<Arc<AppState>>, body: Bytes) -> ApiResult<Response> {
    let provider = lookup(&state, &body)?;
    Ok(axum::Json(describe(&state, &provider)).into_response())
}

/// `DeleteApiKeyCredentialProvider`.
pub async fn delete(State(state): State<Arc<AppState>>, body: Bytes) -> ApiResult<Response> {
    let provider = lookup(&state, &body)?;
    state.registry_mut().api_keys.remove(&provider.name);
    Ok(deleted())
}

/// `ListApiKeyCredentialProviders`.
pub async fn list(State(state): State<Arc<AppState>>, body: Bytes) -> ApiResult<Response> {
    let all: Vec<ApiKeyProvider> = state.registry().api_keys.values().cloned().collect();
    let (page, token) = list_page(&body, &all)?;
    let items: Vec<Value> = page
        .iter()
        .map(|k| json!({ "name": k.name, "credentialProviderArn": key_arn(&state, &k.name), "createdTime": k.created, "lastUpdatedTime": k.updated }))
        .collect();
    Ok(axum::Json(json!({ "credentialProviders": items, "nextToken": token })).into_response())
}
