//! Create/Get/Update/Delete/List API-key credential providers (`MANAGED` keys only).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{arn, created, deleted, list_page, tags};
use crate::aws_error::{ApiError, ApiResult};
use crate::dataplane::oauth2_token::PROVIDER_NAME;
use crate::ids::now_secs;
use crate::registry::ApiKeyProvider;
use crate::sensitive::Sensitive;
use crate::state::AppState;
use crate::validate::{Body, StringRule};

/// `ListApiKeyCredentialProviders`' `maxResults` bound (`MaxResults` in the model).
const MAX_RESULTS: i64 = 100;

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

/// Reads `name` and the key (`apiKey`; `apiKeySecretConfig` and `EXTERNAL` are refused).
fn read_key(body: &mut Body) -> (String, Option<String>) {
    let name = body.required_string("name", PROVIDER_NAME);
    let api_key = body.optional_string("apiKey", StringRule::len(0, 65_536));
    let external = body
        .optional_enum("apiKeySecretSource", &["MANAGED", "EXTERNAL"])
        .is_some_and(|s| s == "EXTERNAL");
    if body.has("apiKeySecretConfig") || external {
        let member = if external {
            "apiKeySecretSource"
        } else {
            "apiKeySecretConfig"
        };
        body.reject(
            member,
            "EXTERNAL secrets are not emulated by the local vault; pass apiKey",
        );
    } else if api_key.is_none() {
        body.reject("apiKey", "Member must not be null");
    }
    (name, api_key)
}

/// `CreateApiKeyCredentialProvider`.
pub async fn create(State(state): State<Arc<AppState>>, body: Bytes) -> ApiResult<Response> {
    let mut body = Body::parse(&body)?;
    let (name, api_key) = read_key(&mut body);
    let tags = body.tags();
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
        tags::replace(&mut registry, key_arn(&state, &name), tags);
    }
    let mut out = describe(&state, &provider);
    if let Some(map) = out.as_object_mut() {
        map.remove("createdTime");
        map.remove("lastUpdatedTime");
    }
    Ok(created(out))
}

/// `UpdateApiKeyCredentialProvider`: replaces the key; `GetResourceApiKey` serves the new
/// one from then on.
pub async fn update(State(state): State<Arc<AppState>>, body: Bytes) -> ApiResult<Response> {
    let mut body = Body::parse(&body)?;
    let (name, api_key) = read_key(&mut body);
    body.finish()?;
    let updated = {
        let mut registry = state.registry_mut();
        let key = registry.api_keys.get_mut(&name).ok_or_else(|| {
            ApiError::NotFound(format!("API key credential provider '{name}' not found"))
        })?;
        key.api_key = Sensitive::new(api_key.unwrap_or_default());
        key.updated = now_secs().max(key.created);
        key.clone()
    };
    Ok(axum::Json(describe(&state, &updated)).into_response())
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
    let mut registry = state.registry_mut();
    registry.api_keys.remove(&provider.name);
    registry.tags.remove(&key_arn(&state, &provider.name));
    Ok(deleted())
}

/// `ListApiKeyCredentialProviders`.
pub async fn list(State(state): State<Arc<AppState>>, body: Bytes) -> ApiResult<Response> {
    let all: Vec<ApiKeyProvider> = state.registry().api_keys.values().cloned().collect();
    let (page, token) = list_page(&body, &all, MAX_RESULTS, |k| &k.name)?;
    let items: Vec<Value> = page
        .iter()
        .map(|k| json!({ "name": k.name, "credentialProviderArn": key_arn(&state, &k.name), "createdTime": k.created, "lastUpdatedTime": k.updated }))
        .collect();
    Ok(axum::Json(json!({ "credentialProviders": items, "nextToken": token })).into_response())
}
