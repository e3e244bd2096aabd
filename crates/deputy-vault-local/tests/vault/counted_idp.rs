//! Credential providers whose token endpoint the test can watch or script: the vault reaches
//! the dev IdP's token endpoint through a recording proxy, or a tiny IdP that answers one
//! fixed body.

use aws_sdk_bedrockagentcorecontrol::types::{
    CredentialProviderVendorType, CustomOauth2ProviderConfigInput,
    Oauth2AuthorizationServerMetadata, Oauth2Discovery, Oauth2ProviderConfigInput,
};
use deputy_tests::recording_proxy::RecordingProxy;
use deputy_vault_local::RunningVault;
use serde_json::Value;

use crate::common::*;

/// Creates provider `name` whose issuer and authorization endpoint are the dev IdP's and
/// whose token endpoint is `token_endpoint`.
pub async fn create_provider(vault: &RunningVault, name: &str, issuer: &str, token_endpoint: &str) {
    let authorization_endpoint = format!("{}/authorize", vault.idp_issuer());
    let metadata = Oauth2AuthorizationServerMetadata::builder()
        .issuer(issuer)
        .authorization_endpoint(authorization_endpoint)
        .token_endpoint(token_endpoint)
        .build()
        .unwrap();
    control_plane(vault)
        .create_oauth2_credential_provider()
        .name(name)
        .credential_provider_vendor(CredentialProviderVendorType::CustomOauth2)
        .oauth2_provider_config_input(Oauth2ProviderConfigInput::CustomOauth2ProviderConfig(
            CustomOauth2ProviderConfigInput::builder()
                .oauth_discovery(Oauth2Discovery::AuthorizationServerMetadata(metadata))
                .client_id(format!("{name}-client"))
                .client_secret(format!("{name}-secret"))
                .build(),
        ))
        .send()
        .await
        .unwrap();
}

/// Creates provider `name` on the dev IdP, its token requests passing through the returned
/// proxy.
pub async fn counted_provider(vault: &RunningVault, name: &str) -> RecordingProxy {
    let issuer = vault.idp_issuer();
    let proxy = RecordingProxy::start(&issuer).await;
    create_provider(vault, name, &issuer, &format!("{}/token", proxy.endpoint)).await;
    proxy
}

/// How many token requests with `grant_type` the proxy forwarded.
pub fn grants(proxy: &RecordingProxy, grant_type: &str) -> usize {
    proxy
        .exchanges()
        .iter()
        .filter(|e| e.path.starts_with("/token"))
        .filter(|e| {
            url::form_urlencoded::parse(&e.request)
                .any(|(k, v)| k == "grant_type" && v == grant_type)
        })
        .count()
}

/// A tiny IdP whose token endpoint answers `body` to every request; returns its base URL.
pub async fn scripted_idp(body: Value) -> (String, tokio::task::JoinHandle<()>) {
    let app = axum::Router::new().route(
        "/token",
        axum::routing::post(move || {
            let body = body.clone();
            async move { axum::Json(body) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (base, task)
}
