//! Create/Get/Delete/List OAuth2 credential providers (`customOauth2ProviderConfig` only).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{arn, created, deleted, list_page};
use crate::aws_error::{ApiError, ApiResult};
use crate::config::{
    ActorTokenContent, ClientAuthMethod, DevClient, OboConfig, OboGrantType, ProviderSource,
};
use crate::dataplane::oauth2_token::PROVIDER_NAME;
use crate::ids::{now_secs, uuid_v4};
use crate::registry::Provider;
use crate::sensitive::Sensitive;
use crate::state::AppState;
use crate::validate::{Body, StringRule};

fn provider_arn(state: &AppState, name: &str) -> String {
    arn(
        state,
        &format!("token-vault/default/oauth2credentialprovider/{name}"),
    )
}

fn secret_arn(state: &AppState, name: &str) -> String {
    format!(
        "arn:aws:secretsmanager:{}:{}:secret:bedrock-agentcore-identity!default/oauth2/{name}",
        state.region, state.account_id
    )
}

fn discovery_json(state: &AppState, source: &ProviderSource) -> Value {
    match source {
        ProviderSource::DevIdp => {
            json!({ "discoveryUrl": format!("{}/.well-known/openid-configuration", state.idp.issuer()) })
        }
        ProviderSource::Discovery { discovery_url } => json!({ "discoveryUrl": discovery_url }),
        ProviderSource::Metadata {
            issuer,
            authorization_endpoint,
            token_endpoint,
        } => json!({
            "authorizationServerMetadata": {
                "issuer": issuer, "authorizationEndpoint": authorization_endpoint, "tokenEndpoint": token_endpoint,
            }
        }),
    }
}

fn obo_json(obo: &OboConfig) -> Value {
    let grant = match obo.grant_type {
        OboGrantType::TokenExchange => "TOKEN_EXCHANGE",
        OboGrantType::JwtAuthorizationGrant => "JWT_AUTHORIZATION_GRANT",
    };
    let mut out = json!({ "grantType": grant });
    if obo.grant_type == OboGrantType::TokenExchange {
        let content = match obo.actor_token_content {
            ActorTokenContent::None => "NONE",
            ActorTokenContent::M2m => "M2M",
        };
        out["tokenExchangeGrantTypeConfig"] =
            json!({ "actorTokenContent": content, "actorTokenScopes": obo.actor_token_scopes });
    }
    if obo.no_client {
        out["onBehalfOfAuthenticationConfig"] =
            json!({ "clientAuthenticationMethod": "NO_CLIENT" });
    }
    out
}

fn describe(state: &AppState, p: &Provider) -> Value {
    let method = match p.auth_method {
        ClientAuthMethod::ClientSecretBasic => "CLIENT_SECRET_BASIC",
        ClientAuthMethod::ClientSecretPost => "CLIENT_SECRET_POST",
    };
    let mut config = json!({
        "oauthDiscovery": discovery_json(state, &p.source), "clientId": p.client_id, "clientAuthenticationMethod": method,
    });
    if let Some(obo) = &p.obo {
        config["onBehalfOfTokenExchangeConfig"] = obo_json(obo);
    }
    json!({
        "name": p.name,
        "credentialProviderVendor": p.vendor,
        "credentialProviderArn": provider_arn(state, &p.name),
        "clientSecretArn": { "secretArn": secret_arn(state, &p.name) },
        "clientSecretSource": "MANAGED",
        "callbackUrl": state.callback_url(p),
        "oauth2ProviderConfigOutput": { "customOauth2ProviderConfig": config },
        "status": "READY",
        "createdTime": p.created,
        "lastUpdatedTime": p.updated,
    })
}

fn parse_source(body: &mut Body) -> Option<ProviderSource> {
    let mut discovery = body.object("oauthDiscovery")?;
    discovery.require_exactly_one(
        "oauthDiscovery",
        &["discoveryUrl", "authorizationServerMetadata"],
    );
    let url = discovery.optional_string("discoveryUrl", StringRule::len(1, 2048));
    if let Some(u) = &url
        && !(u.contains("/.well-known/openid-configuration")
            || u.contains("/.well-known/oauth-authorization-server"))
    {
        discovery.reject(
            "discoveryUrl",
            "Member must point at a .well-known discovery document",
        );
    }
    let source = match (url, discovery.object("authorizationServerMetadata")) {
        (Some(discovery_url), _) => Some(ProviderSource::Discovery { discovery_url }),
        (None, Some(mut meta)) => {
            let issuer = meta.required_string("issuer", StringRule::len(1, 2048));
            let authorization_endpoint =
                meta.required_string("authorizationEndpoint", StringRule::len(1, 2048));
            let token_endpoint = meta.required_string("tokenEndpoint", StringRule::len(1, 2048));
            discovery.absorb("authorizationServerMetadata", meta);
            Some(ProviderSource::Metadata {
                issuer,
                authorization_endpoint,
                token_endpoint,
            })
        }
        _ => None,
    };
    body.absorb("oauthDiscovery", discovery);
    source
}

fn parse_obo(body: &mut Body) -> Option<OboConfig> {
    let mut obo = body.object("onBehalfOfTokenExchangeConfig")?;
    let grant = obo.required_enum("grantType", &["TOKEN_EXCHANGE", "JWT_AUTHORIZATION_GRANT"]);
    let (content, scopes) = match obo.object("tokenExchangeGrantTypeConfig") {
        Some(mut te) => {
            let c = te.required_enum(
                "actorTokenContent",
                &["NONE", "M2M", "AWS_IAM_ID_TOKEN_JWT"],
            );
            if c == "AWS_IAM_ID_TOKEN_JWT" {
                te.reject(
                    "actorTokenContent",
                    "AWS_IAM_ID_TOKEN_JWT is not supported by the local vault",
                );
            }
            let s = te
                .string_list("actorTokenScopes", StringRule::len(1, 128), false)
                .unwrap_or_default();
            obo.absorb("tokenExchangeGrantTypeConfig", te);
            (
                if c == "M2M" {
                    ActorTokenContent::M2m
                } else {
                    ActorTokenContent::None
                },
                s,
            )
        }
        None => (ActorTokenContent::None, Vec::new()),
    };
    let no_client = match obo.object("onBehalfOfAuthenticationConfig") {
        Some(mut auth) => {
            let m = auth.required_enum("clientAuthenticationMethod", &["NO_CLIENT"]);
            obo.absorb("onBehalfOfAuthenticationConfig", auth);
            m == "NO_CLIENT"
        }
        None => false,
    };
    body.absorb("onBehalfOfTokenExchangeConfig", obo);
    let grant_type = if grant == "JWT_AUTHORIZATION_GRANT" {
        OboGrantType::JwtAuthorizationGrant
    } else {
        OboGrantType::TokenExchange
    };
    Some(OboConfig {
        grant_type,
        actor_token_content: content,
        actor_token_scopes: scopes,
        no_client,
    })
}

/// `CreateOauth2CredentialProvider`.
pub async fn create(State(state): State<Arc<AppState>>, body: Bytes) -> ApiResult<Response> {
    let mut body = Body::parse(&body)?;
    let name = body.required_string("name", PROVIDER_NAME);
    let vendor = body.required_string("credentialProviderVendor", StringRule::len(1, 64));
    let mut input = body.object("oauth2ProviderConfigInput");
    let mut parsed = None;
    match input.as_mut().map(|i| (i.present_members(), i.object("customOauth2ProviderConfig"))) {
        Some((_, Some(mut custom))) => {
            let source = parse_source(&mut custom);
            if source.is_none() && !custom.present_members().iter().any(|m| m == "oauthDiscovery") {
                custom.reject("oauthDiscovery", "Member must not be null");
            }
            let client_id = custom.optional_string("clientId", StringRule::len(0, 256)).unwrap_or_default();
            let secret = custom.optional_string("clientSecret", StringRule::len(0, 2048)).unwrap_or_default();
            let method = custom.optional_enum(
                "clientAuthenticationMethod",
                &["CLIENT_SECRET_BASIC", "CLIENT_SECRET_POST", "AWS_IAM_ID_TOKEN_JWT", "PRIVATE_KEY_JWT"],
            );
            let auth_method = match method.as_deref() {
                Some("CLIENT_SECRET_POST") => ClientAuthMethod::ClientSecretPost,
                Some("AWS_IAM_ID_TOKEN_JWT" | "PRIVATE_KEY_JWT") => {
                    custom.reject("clientAuthenticationMethod", "Only CLIENT_SECRET_BASIC and CLIENT_SECRET_POST are supported by the local vault");
                    ClientAuthMethod::ClientSecretBasic
                }
                _ => ClientAuthMethod::ClientSecretBasic,
            };
            let obo = parse_obo(&mut custom);
            if let Some(i) = input.as_mut() {
                i.absorb("customOauth2ProviderConfig", custom);
            }
            parsed = source.map(|s| (s, client_id, secret, auth_method, obo));
        }
        Some((members, None)) if !members.is_empty() => body.reject(
            "oauth2ProviderConfigInput",
            "The local vault supports only customOauth2ProviderConfig (vendor configs point at the real vendors)",
        ),
        _ => body.reject("oauth2ProviderConfigInput", "Member must not be null"),
    }
    if let Some(i) = input {
        body.absorb("oauth2ProviderConfigInput", i);
    }
    body.finish()?;
    let Some((source, client_id, secret, auth_method, obo)) = parsed else {
        return Err(ApiError::validation(
            "oauth2ProviderConfigInput is incomplete",
        ));
    };
    let now = now_secs();
    let provider = Provider {
        name: name.clone(),
        vendor,
        callback_id: uuid_v4(),
        source,
        client_id,
        client_secret: Sensitive::new(secret),
        auth_method,
        obo,
        created: now,
        updated: now,
    };
    {
        let mut registry = state.registry_mut();
        if registry.providers.contains_key(&name) {
            return Err(ApiError::Conflict(format!(
                "Credential provider '{name}' already exists"
            )));
        }
        registry.providers.insert(name.clone(), provider.clone());
    }
    if points_at_dev_idp(&state, &provider.source) {
        state.idp.register_client(DevClient {
            client_id: provider.client_id.clone(),
            client_secret: provider.client_secret.clone(),
            redirect_uris: vec![state.callback_url(&provider)],
        });
    }
    let mut out = describe(&state, &provider);
    if let Some(map) = out.as_object_mut() {
        map.remove("createdTime");
        map.remove("lastUpdatedTime");
        map.remove("credentialProviderVendor");
    }
    Ok(created(out))
}

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
    state
        .registry_mut()
        .providers
        .remove(&name)
        .ok_or_else(|| ApiError::NotFound(format!("Credential provider '{name}' not found")))?;
    Ok(deleted())
}

/// `ListOauth2CredentialProviders`.
pub async fn list(State(state): State<Arc<AppState>>, body: Bytes) -> ApiResult<Response> {
    let all: Vec<Provider> = state.registry().providers.values().cloned().collect();
    let (page, token) = list_page(&body, &all)?;
    let items: Vec<Value> = page
        .iter()
        .map(|p| json!({
            "name": p.name, "credentialProviderVendor": p.vendor, "credentialProviderArn": provider_arn(&state, &p.name),
            "createdTime": p.created, "lastUpdatedTime": p.updated,
        }))
        .collect();
    Ok(axum::Json(json!({ "credentialProviders": items, "nextToken": token })).into_response())
}
