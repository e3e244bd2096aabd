//! Create/Get/Update/Delete/List OAuth2 credential providers (`customOauth2ProviderConfig`
//! only).

pub mod describe;
pub mod input;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{created, deleted, list_page, tags};
use crate::aws_error::{ApiError, ApiResult, FieldError};
use crate::config::{DevClient, ProviderSource};
use crate::dataplane::oauth2_token::PROVIDER_NAME;
use crate::ids::{now_secs, uuid_v4};
use crate::registry::{Provider, Registry};
use crate::state::AppState;
use crate::validate::Body;
use describe::{describe, provider_arn};
use input::ProviderInput;

/// `ListOauth2CredentialProviders`' `maxResults` bound.
const MAX_RESULTS: i64 = 20;

fn points_at_dev_idp(state: &AppState, source: &ProviderSource) -> bool {
    let issuer = state.idp.issuer();
    match source {
        ProviderSource::DevIdp => true,
        ProviderSource::Discovery { discovery_url } => {
            discovery_url.starts_with(&format!("{issuer}/"))
        }
        ProviderSource::Metadata { issuer: i, .. } => i == issuer,
    }
}

/// Claims the dev IdP client the provider would register, if it points at the dev IdP.
fn claim(state: &AppState, registry: &mut Registry, provider: &Provider) -> ApiResult<bool> {
    if !points_at_dev_idp(state, &provider.source) {
        return Ok(false);
    }
    registry
        .claim_dev_client(&provider.client_id, &provider.name)
        .map_err(|_| {
            ApiError::fields(vec![FieldError {
                name: "oauth2ProviderConfigInput.customOauth2ProviderConfig.clientId".into(),
                message: "Member names a dev IdP client that belongs to another provider or to the vault's configuration".into(),
            }])
        })?;
    Ok(true)
}

fn register(state: &AppState, provider: &Provider) {
    state.idp.register_client(DevClient {
        client_id: provider.client_id.clone(),
        client_secret: provider.client_secret.clone(),
        redirect_uris: vec![state.callback_url(provider)],
    });
}

fn apply(provider: &mut Provider, input: ProviderInput) {
    provider.vendor = input.vendor;
    provider.source = input.source;
    provider.client_id = input.client_id;
    provider.client_secret = input.client_secret;
    provider.auth_method = input.auth_method;
    provider.obo = input.obo;
}

/// `CreateOauth2CredentialProvider`.
pub async fn create(State(state): State<Arc<AppState>>, body: Bytes) -> ApiResult<Response> {
    let mut body = Body::parse(&body)?;
    let name = body.required_string("name", PROVIDER_NAME);
    let parsed = input::read(&mut body);
    let tags = body.tags();
    body.finish()?;
    let input =
        parsed.ok_or_else(|| ApiError::validation("oauth2ProviderConfigInput is incomplete"))?;
    let now = now_secs();
    let mut provider = Provider {
        name: name.clone(),
        vendor: String::new(),
        callback_id: uuid_v4(),
        source: ProviderSource::DevIdp,
        client_id: String::new(),
        client_secret: crate::sensitive::Sensitive::new(String::new()),
        auth_method: crate::config::ClientAuthMethod::ClientSecretBasic,
        obo: None,
        created: now,
        updated: now,
    };
    apply(&mut provider, input);
    let registers = {
        let mut registry = state.registry_mut();
        if registry.providers.contains_key(&name) {
            return Err(ApiError::Conflict(format!(
                "Credential provider '{name}' already exists"
            )));
        }
        let registers = claim(&state, &mut registry, &provider)?;
        registry.providers.insert(name.clone(), provider.clone());
        tags::replace(&mut registry, provider_arn(&state, &name), tags);
        registers
    };
    if registers {
        register(&state, &provider);
    }
    let mut out = describe(&state, &provider);
    if let Some(map) = out.as_object_mut() {
        map.remove("createdTime");
        map.remove("lastUpdatedTime");
        map.remove("credentialProviderVendor");
    }
    Ok(created(out))
}

/// `UpdateOauth2CredentialProvider`: replaces the vendor and configuration (client secret
/// included); the callback URL, creation time and tags stay. Token requests after it use the
/// new configuration.
pub async fn update(State(state): State<Arc<AppState>>, body: Bytes) -> ApiResult<Response> {
    let mut body = Body::parse(&body)?;
    let name = body.required_string("name", PROVIDER_NAME);
    let parsed = input::read(&mut body);
    body.finish()?;
    let input =
        parsed.ok_or_else(|| ApiError::validation("oauth2ProviderConfigInput is incomplete"))?;
    let (provider, registers) = {
        let mut registry = state.registry_mut();
        let mut provider =
            registry.providers.get(&name).cloned().ok_or_else(|| {
                ApiError::NotFound(format!("Credential provider '{name}' not found"))
            })?;
        apply(&mut provider, input);
        provider.updated = now_secs().max(provider.created);
        let registers = claim(&state, &mut registry, &provider)?;
        registry.providers.insert(name.clone(), provider.clone());
        (provider, registers)
    };
    if registers {
        register(&state, &provider);
    }
    Ok(axum::Json(describe(&state, &provider)).into_response())
}

fn name_only(body: &[u8]) -> ApiResult<String> {
    let mut body = Body::parse(body)?;
    let name = body.required_string("name", PROVIDER_NAME);
    body.finish()?;
    Ok(name)
}

/// `GetOauth2CredentialProvider`.
pub async fn get(State(state): State<Arc<AppState>>, body: Bytes) -> ApiResult<Response> {
    let provider = state.provider(&name_only(&body)?)?;
    Ok(axum::Json(describe(&state, &provider)).into_response())
}

/// `DeleteOauth2CredentialProvider`.
pub async fn delete(State(state): State<Arc<AppState>>, body: Bytes) -> ApiResult<Response> {
    let name = name_only(&body)?;
    let mut registry = state.registry_mut();
    registry
        .providers
        .remove(&name)
        .ok_or_else(|| ApiError::NotFound(format!("Credential provider '{name}' not found")))?;
    registry.tags.remove(&provider_arn(&state, &name));
    Ok(deleted())
}

/// `ListOauth2CredentialProviders`.
pub async fn list(State(state): State<Arc<AppState>>, body: Bytes) -> ApiResult<Response> {
    let all: Vec<Provider> = state.registry().providers.values().cloned().collect();
    let (page, token) = list_page(&body, &all, MAX_RESULTS, |p| &p.name)?;
    let items: Vec<Value> = page
        .iter()
        .map(|p| json!({
            "name": p.name, "credentialProviderVendor": p.vendor, "credentialProviderArn": provider_arn(&state, &p.name),
            "createdTime": p.created, "lastUpdatedTime": p.updated,
        }))
        .collect();
    Ok(axum::Json(json!({ "credentialProviders": items, "nextToken": token })).into_response())
}
