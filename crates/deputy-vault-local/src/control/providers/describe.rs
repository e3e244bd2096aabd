//! The provider as the control plane describes it (`Get…`, `Update…`, `Create…` output).

use serde_json::{Value, json};

use crate::config::{ActorTokenContent, ClientAuthMethod, OboConfig, OboGrantType, ProviderSource};
use crate::control::arn;
use crate::registry::Provider;
use crate::state::AppState;

/// The provider's ARN.
pub fn provider_arn(state: &AppState, name: &str) -> String {
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

/// The full description (the secret itself is never part of it).
pub fn describe(state: &AppState, p: &Provider) -> Value {
    let method = match p.auth_method {
        ClientAuthMethod::ClientSecretBasic => "CLIENT_SECRET_BASIC",
        ClientAuthMethod::ClientSecretPost => "CLIENT_SECRET_POST",
    };
    let mut config = json!({
        "oauthDiscovery": discovery_json(state, &p.source), "clientAuthenticationMethod": method,
    });
    if !p.client_id.is_empty() {
        config["clientId"] = json!(p.client_id);
    }
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
