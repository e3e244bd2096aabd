use std::process::Command;

use aws_sdk_bedrockagentcore::types::{Oauth2FlowType, UserIdentifier};
use aws_sdk_bedrockagentcorecontrol::types::{
    CredentialProviderVendorType, CustomOauth2ProviderConfigInput, Oauth2Discovery,
    Oauth2ProviderConfigInput,
};
use deputy_tests::jwks::verify_with_jwks;
use deputy_tests::process::{
    ChildGuard, INSTALL_HINT, free_port, repo_root, require_node, spawn, wait_until_up,
};
use deputy_tests::webdriver::Browser;
use deputy_vault_local::config::InboundIssuerConfig;
use deputy_vault_local::{LocalVault, VaultConfig};

use crate::return_app::ReturnApp;
use crate::support::{control_plane, data_plane};

const RESOURCE: &str = "https://api.deputy.test";

/// Starts scripts/peers/oidc-server.mjs from .peers/oidc with the vault's callback URL.
async fn start_oidc_provider(port: u16, redirect_uri: &str) -> ChildGuard {
    let dir = repo_root().join(".peers/oidc");
    assert!(
        dir.join("node_modules/oidc-provider").is_dir(),
        "oidc-provider is not installed ({INSTALL_HINT})"
    );
    std::fs::copy(
        repo_root().join("scripts/peers/oidc-server.mjs"),
        dir.join("oidc-server.mjs"),
    )
    .unwrap();
    let child = spawn(
        Command::new(require_node())
            .arg("oidc-server.mjs")
            .current_dir(&dir)
            .env("OIDC_PORT", port.to_string())
            .env("OIDC_REDIRECT_URIS", redirect_uri)
            .env("OIDC_RESOURCE", RESOURCE),
    );
    wait_until_up(&format!("http://127.0.0.1:{port}/jwks")).await;
    child
}

#[tokio::test]
async fn vault_brokers_client_credentials_and_authorization_code_against_oidc_provider() {
    let port = free_port();
    let issuer = format!("http://127.0.0.1:{port}");
    let mut config = VaultConfig::development();
    config.inbound_issuers.push(InboundIssuerConfig {
        issuer: issuer.clone(),
        jwks_url: format!("{issuer}/jwks"),
        audiences: vec![RESOURCE.into()],
    });
    let vault = LocalVault::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let created = control_plane(&vault.endpoint())
        .create_oauth2_credential_provider()
        .name("oidc-peer")
        .credential_provider_vendor(CredentialProviderVendorType::CustomOauth2)
        .oauth2_provider_config_input(Oauth2ProviderConfigInput::CustomOauth2ProviderConfig(
            CustomOauth2ProviderConfigInput::builder()
                .oauth_discovery(Oauth2Discovery::DiscoveryUrl(format!(
                    "{issuer}/.well-known/openid-configuration"
                )))
                .client_id("deputy-vault")
                .client_secret("deputy-vault-secret")
                .build(),
        ))
        .send()
        .await
        .unwrap();
    let _oidc = start_oidc_provider(port, created.callback_url().unwrap()).await;
    let jwks = format!("{issuer}/jwks");
    let client = data_plane(&vault.endpoint());

    // M2M: client credentials at oidc-provider's token endpoint.
    let wat = client
        .get_workload_access_token()
        .workload_name("deputy-agent")
        .send()
        .await
        .unwrap();
    let m2m = client
        .get_resource_oauth2_token()
        .workload_identity_token(wat.workload_access_token())
        .resource_credential_provider_name("oidc-peer")
        .scopes("api:read")
        .oauth2_flow(Oauth2FlowType::M2M)
        .send()
        .await
        .unwrap();
    let claims = verify_with_jwks(m2m.access_token().unwrap(), &jwks, &issuer).await;
    assert_eq!(
        (claims["client_id"].as_str(), claims["aud"].as_str()),
        (Some("deputy-vault"), Some(RESOURCE))
    );
    assert_eq!(claims["scope"], "api:read");

    // Inbound: GetWorkloadAccessTokenForJWT verifies a JWT from a configured external issuer
    // against that issuer's JWKS.
    let inbound = client
        .get_workload_access_token_for_jwt()
        .workload_name("deputy-agent")
        .user_token(m2m.access_token().unwrap())
        .send()
        .await
        .unwrap();
    assert!(inbound.workload_access_token().starts_with("AgV4"));

    // USER_FEDERATION: authorization code + PKCE through oidc-provider's login and consent.
    let app = ReturnApp::start().await;
    let user_wat = client
        .get_workload_access_token_for_user_id()
        .workload_name("deputy-agent")
        .user_id("dana")
        .send()
        .await
        .unwrap()
        .workload_access_token()
        .to_owned();
    let request = || {
        client
            .get_resource_oauth2_token()
            .workload_identity_token(&user_wat)
            .resource_credential_provider_name("oidc-peer")
            .scopes("openid")
            .scopes("api:read")
            .oauth2_flow(Oauth2FlowType::UserFederation)
            .resource_oauth2_return_url(&app.url)
    };
    let started = request().send().await.unwrap();
    let auth_url = started.authorization_url().unwrap();
    assert!(
        auth_url.starts_with(&format!("{issuer}/auth?")),
        "{auth_url}"
    );
    let browser = Browser::launch().await;
    browser.goto(auth_url).await;
    browser.type_into("input[name=login]", "dana").await;
    browser
        .type_into("input[name=password]", "any-password")
        .await;
    browser.click("button[type=submit]").await;
    browser.find("input[name=prompt][value=consent]").await;
    browser.click("button[type=submit]").await;
    browser.wait_for_url(&app.url).await;
    browser.close().await;
    let session_uri = started.session_uri().unwrap();
    assert_eq!(app.session_ids(), [session_uri.to_owned()]);
    client
        .complete_resource_token_auth()
        .session_uri(session_uri)
        .user_identifier(UserIdentifier::UserId("dana".into()))
        .send()
        .await
        .unwrap();
    let done = request().session_uri(session_uri).send().await.unwrap();
    let claims = verify_with_jwks(done.access_token().unwrap(), &jwks, &issuer).await;
    assert_eq!(claims["sub"], "dana");
    assert_eq!(claims["aud"], RESOURCE);
    vault.shutdown().await;
}
