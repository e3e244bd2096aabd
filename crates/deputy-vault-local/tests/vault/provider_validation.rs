//! #20 item 13: provider input is validated as the model defines it, through the SDK.
use aws_sdk_bedrockagentcore::types::Oauth2FlowType;
use aws_sdk_bedrockagentcorecontrol::error::ProvideErrorMetadata;
use aws_sdk_bedrockagentcorecontrol::types::{
    CredentialProviderVendorType, CustomOauth2ProviderConfigInput, GithubOauth2ProviderConfigInput,
    Oauth2Discovery, Oauth2ProviderConfigInput, SecretReference,
};

use crate::common::{control_plane, data_plane, start, token_request, workload_wat};
use crate::rotation::custom_config;

async fn create(
    cp: &aws_sdk_bedrockagentcorecontrol::Client,
    vendor: &str,
    config: Oauth2ProviderConfigInput,
) -> Result<(), (String, String)> {
    cp.create_oauth2_credential_provider()
        .name("checked")
        .credential_provider_vendor(CredentialProviderVendorType::from(vendor))
        .oauth2_provider_config_input(config)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| {
            (
                e.code().unwrap_or("-").to_owned(),
                e.message().unwrap_or("").to_owned(),
            )
        })
}

#[tokio::test]
async fn vendor_discovery_url_and_unions_follow_the_model() {
    let vault = start().await;
    let cp = control_plane(&vault);
    let good = "https://idp.example/.well-known/openid-configuration";
    let (code, message) = create(&cp, "NoSuchVendorOauth2", custom_config(good, "c", "s"))
        .await
        .unwrap_err();
    assert_eq!(code, "ValidationException");
    assert!(message.contains("credentialProviderVendor"), "{message}");
    for bad in [
        "https://idp.example/openid-configuration",
        "https://idp.example/.well-known/openid-configuration?x=1",
        "https://idp.example/.well-known/openid-configurationX",
    ] {
        let (code, message) = create(&cp, "CustomOauth2", custom_config(bad, "c", "s"))
            .await
            .unwrap_err();
        assert_eq!(code, "ValidationException", "{bad}");
        assert!(message.contains("discoveryUrl"), "{bad}: {message}");
    }
    // Two members of the oauth2ProviderConfigInput union, sent as raw JSON (the SDK's enum
    // cannot hold two).
    let both = serde_json::json!({
        "name": "checked", "credentialProviderVendor": "CustomOauth2",
        "oauth2ProviderConfigInput": {
            "customOauth2ProviderConfig": { "oauthDiscovery": { "discoveryUrl": good } },
            "githubOauth2ProviderConfig": { "clientId": "c" },
        }
    });
    let response = reqwest::Client::new()
        .post(format!(
            "{}/identities/CreateOauth2CredentialProvider",
            vault.endpoint()
        ))
        .json(&both)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let text = response.text().await.unwrap();
    assert!(text.contains("exactly one"), "{text}");
    create(&cp, "CustomOauth2", custom_config(good, "c", "s"))
        .await
        .unwrap();
}

#[tokio::test]
async fn unsupported_members_are_rejected_not_dropped() {
    let vault = start().await;
    let cp = control_plane(&vault);
    let good = "https://idp.example/.well-known/openid-configuration";
    let external = Oauth2ProviderConfigInput::CustomOauth2ProviderConfig(
        CustomOauth2ProviderConfigInput::builder()
            .oauth_discovery(Oauth2Discovery::DiscoveryUrl(good.into()))
            .client_id("c")
            .client_secret_config(
                SecretReference::builder()
                    .secret_id("s")
                    .json_key("k")
                    .build()
                    .unwrap(),
            )
            .build(),
    );
    let (_, message) = create(&cp, "CustomOauth2", external).await.unwrap_err();
    assert!(message.contains("clientSecretConfig"), "{message}");
    let vendor = Oauth2ProviderConfigInput::GithubOauth2ProviderConfig(
        GithubOauth2ProviderConfigInput::builder()
            .client_id("c")
            .client_secret("s")
            .build()
            .unwrap(),
    );
    let (_, message) = create(&cp, "GithubOauth2", vendor).await.unwrap_err();
    assert!(message.contains("githubOauth2ProviderConfig"), "{message}");
    let key = cp
        .create_api_key_credential_provider()
        .name("external-key")
        .api_key_secret_source(aws_sdk_bedrockagentcorecontrol::types::SecretSourceType::External)
        .api_key("k")
        .send()
        .await
        .unwrap_err();
    assert!(key.message().unwrap_or("").contains("apiKeySecretSource"));
    assert!(
        cp.list_oauth2_credential_providers()
            .send()
            .await
            .unwrap()
            .credential_providers()
            .iter()
            .all(|p| p.name() != "checked")
    );
}

#[tokio::test]
async fn a_created_provider_cannot_take_over_a_seeded_dev_idp_client() {
    let vault = start().await;
    let (cp, dp) = (control_plane(&vault), data_plane(&vault));
    let discovery = format!("{}/.well-known/openid-configuration", vault.idp_issuer());
    for client_id in ["github-service", "github"] {
        let err = cp
            .create_oauth2_credential_provider()
            .name(format!("evil-{client_id}"))
            .credential_provider_vendor(CredentialProviderVendorType::CustomOauth2)
            .oauth2_provider_config_input(custom_config(&discovery, client_id, "attacker-secret"))
            .send()
            .await
            .unwrap_err();
        assert!(
            err.message().unwrap_or("").contains("clientId"),
            "{client_id}"
        );
    }
    // The seeded client still answers with its own secret.
    let wat = workload_wat(&dp).await;
    token_request(&dp, &wat, "github-service", Oauth2FlowType::M2M)
        .send()
        .await
        .unwrap();
    // One created provider cannot take another's client either, by create or update.
    cp.create_oauth2_credential_provider()
        .name("first")
        .credential_provider_vendor(CredentialProviderVendorType::CustomOauth2)
        .oauth2_provider_config_input(custom_config(&discovery, "first-client", "s1"))
        .send()
        .await
        .unwrap();
    cp.create_oauth2_credential_provider()
        .name("second")
        .credential_provider_vendor(CredentialProviderVendorType::CustomOauth2)
        .oauth2_provider_config_input(custom_config(&discovery, "second-client", "s2"))
        .send()
        .await
        .unwrap();
    let err = cp
        .update_oauth2_credential_provider()
        .name("second")
        .credential_provider_vendor(CredentialProviderVendorType::CustomOauth2)
        .oauth2_provider_config_input(custom_config(&discovery, "first-client", "s2"))
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_validation_exception());
}

#[tokio::test]
async fn max_results_follows_the_model_and_a_malformed_next_token_is_refused() {
    let vault = start().await;
    let cp = control_plane(&vault);
    for i in 0..25 {
        cp.create_api_key_credential_provider()
            .name(format!("key-{i:02}"))
            .api_key("k")
            .send()
            .await
            .unwrap();
    }
    // API keys: up to 100 per page; OAuth2 providers and workloads: up to 20.
    let all = cp
        .list_api_key_credential_providers()
        .max_results(100)
        .send()
        .await
        .unwrap();
    assert_eq!(all.credential_providers().len(), 26);
    assert!(all.next_token().is_none());
    let over = cp
        .list_api_key_credential_providers()
        .max_results(101)
        .send()
        .await
        .unwrap_err();
    assert!(over.into_service_error().is_validation_exception());
    let over = cp
        .list_oauth2_credential_providers()
        .max_results(21)
        .send()
        .await
        .unwrap_err();
    assert!(over.into_service_error().is_validation_exception());
    // Paging walks every item once.
    let first = cp
        .list_api_key_credential_providers()
        .max_results(10)
        .send()
        .await
        .unwrap();
    let token = first.next_token().unwrap().to_owned();
    let second = cp
        .list_api_key_credential_providers()
        .max_results(10)
        .next_token(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(second.credential_providers()[0].name(), "key-10");
    for bad in ["not-a-token", "999999", "ZGVwdXR5LXBhZ2U6", "%%%"] {
        let err = cp
            .list_api_key_credential_providers()
            .next_token(bad)
            .send()
            .await
            .unwrap_err();
        let message = err.message().unwrap_or("").to_owned();
        assert!(err.into_service_error().is_validation_exception(), "{bad}");
        assert!(message.contains("nextToken"), "{bad}: {message}");
    }
}
