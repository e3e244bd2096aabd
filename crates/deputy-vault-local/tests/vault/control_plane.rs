use aws_sdk_bedrockagentcore::types::{Oauth2FlowType, UserIdentifier};
use aws_sdk_bedrockagentcorecontrol::types::{
    ActorTokenContentType, ClientAuthenticationMethodType, CredentialProviderVendorType,
    CustomOauth2ProviderConfigInput, Oauth2Discovery, Oauth2ProviderConfigInput,
    OnBehalfOfTokenExchangeConfigType, OnBehalfOfTokenExchangeGrantTypeType,
    TokenExchangeGrantTypeConfigType,
};
use deputy_vault_local::complete_consent_as_browser;

use crate::common::*;

#[tokio::test]
async fn workload_identity_lifecycle() {
    let vault = start().await;
    let cp = control_plane(&vault);
    let created = cp
        .create_workload_identity()
        .name("spike-agent")
        .allowed_resource_oauth2_return_urls("http://localhost:9090/cb")
        .send()
        .await
        .unwrap();
    assert_eq!(created.name(), "spike-agent");
    assert!(
        created
            .workload_identity_arn()
            .ends_with(":workload-identity-directory/default/workload-identity/spike-agent")
    );
    let dup = cp
        .create_workload_identity()
        .name("spike-agent")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(dup.is_conflict_exception(), "{dup:?}");
    let got = cp
        .get_workload_identity()
        .name("spike-agent")
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.allowed_resource_oauth2_return_urls(),
        ["http://localhost:9090/cb"]
    );
    assert!(got.created_time().secs() > 1_700_000_000);
    let updated = cp
        .update_workload_identity()
        .name("spike-agent")
        .allowed_resource_oauth2_return_urls("http://localhost:9091/cb")
        .send()
        .await
        .unwrap();
    assert_eq!(
        updated.allowed_resource_oauth2_return_urls(),
        ["http://localhost:9091/cb"]
    );
    let page = cp
        .list_workload_identities()
        .max_results(1)
        .send()
        .await
        .unwrap();
    assert_eq!(page.workload_identities().len(), 1);
    let rest = cp
        .list_workload_identities()
        .next_token(page.next_token().unwrap())
        .send()
        .await
        .unwrap();
    let mut names: Vec<&str> = page
        .workload_identities()
        .iter()
        .chain(rest.workload_identities())
        .map(|w| w.name())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["deputy-agent", "spike-agent"]);
    cp.delete_workload_identity()
        .name("spike-agent")
        .send()
        .await
        .unwrap();
    let gone = cp
        .get_workload_identity()
        .name("spike-agent")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(gone.is_resource_not_found_exception());
}

fn custom_config(
    discovery_url: String,
) -> aws_sdk_bedrockagentcorecontrol::types::builders::CustomOauth2ProviderConfigInputBuilder {
    CustomOauth2ProviderConfigInput::builder()
        .oauth_discovery(Oauth2Discovery::DiscoveryUrl(discovery_url))
        .client_id("spike-client")
        .client_secret("spike-secret")
}

#[tokio::test]
async fn created_oauth2_providers_work_for_m2m_and_3lo() {
    let vault = start().await;
    let cp = control_plane(&vault);
    let discovery = format!("{}/.well-known/openid-configuration", vault.idp_issuer());
    let created = cp
        .create_oauth2_credential_provider()
        .name("spike-provider")
        .credential_provider_vendor(CredentialProviderVendorType::CustomOauth2)
        .oauth2_provider_config_input(Oauth2ProviderConfigInput::CustomOauth2ProviderConfig(
            custom_config(discovery.clone())
                .client_authentication_method(ClientAuthenticationMethodType::ClientSecretPost)
                .build(),
        ))
        .send()
        .await
        .unwrap();
    let callback = created.callback_url().unwrap();
    assert!(callback.starts_with(&format!("{}/identities/oauth2/callback/", vault.endpoint())));
    assert!(
        created
            .credential_provider_arn()
            .contains(":token-vault/default/oauth2credentialprovider/spike-provider")
    );

    let got = cp
        .get_oauth2_credential_provider()
        .name("spike-provider")
        .send()
        .await
        .unwrap();
    assert_eq!(got.callback_url(), Some(callback));
    let listed = cp.list_oauth2_credential_providers().send().await.unwrap();
    assert!(
        listed
            .credential_providers()
            .iter()
            .any(|p| p.name() == "spike-provider")
    );

    let dp = data_plane(&vault);
    let wat = workload_wat(&dp).await;
    let m2m = token_request(&dp, &wat, "spike-provider", Oauth2FlowType::M2M)
        .send()
        .await
        .unwrap();
    assert_eq!(
        verify_dev_token(&vault, m2m.access_token().unwrap()).await["sub"],
        "spike-client"
    );

    let user_wat = wat_for_user_id(&dp, "alice").await;
    let started = token_request(
        &dp,
        &user_wat,
        "spike-provider",
        Oauth2FlowType::UserFederation,
    )
    .resource_oauth2_return_url(RETURN_URL)
    .send()
    .await
    .unwrap();
    let outcome =
        complete_consent_as_browser(started.authorization_url().unwrap(), "alice", "alice")
            .await
            .unwrap();
    dp.complete_resource_token_auth()
        .session_uri(&outcome.session_id)
        .user_identifier(UserIdentifier::UserId("alice".into()))
        .send()
        .await
        .unwrap();
    let done = token_request(
        &dp,
        &user_wat,
        "spike-provider",
        Oauth2FlowType::UserFederation,
    )
    .resource_oauth2_return_url(RETURN_URL)
    .session_uri(&outcome.session_id)
    .send()
    .await
    .unwrap();
    assert_eq!(
        verify_dev_token(&vault, done.access_token().unwrap()).await["sub"],
        "alice"
    );

    cp.delete_oauth2_credential_provider()
        .name("spike-provider")
        .send()
        .await
        .unwrap();
    let gone = token_request(&dp, &wat, "spike-provider", Oauth2FlowType::M2M)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(gone.is_resource_not_found_exception());
}

#[tokio::test]
async fn created_obo_provider_echoes_its_config_and_exchanges() {
    let vault = start().await;
    let cp = control_plane(&vault);
    let obo = OnBehalfOfTokenExchangeConfigType::builder()
        .grant_type(OnBehalfOfTokenExchangeGrantTypeType::TokenExchange)
        .token_exchange_grant_type_config(
            TokenExchangeGrantTypeConfigType::builder()
                .actor_token_content(ActorTokenContentType::M2M)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    cp.create_oauth2_credential_provider()
        .name("spike-obo")
        .credential_provider_vendor(CredentialProviderVendorType::CustomOauth2)
        .oauth2_provider_config_input(Oauth2ProviderConfigInput::CustomOauth2ProviderConfig(
            custom_config(format!(
                "{}/.well-known/openid-configuration",
                vault.idp_issuer()
            ))
            .on_behalf_of_token_exchange_config(obo)
            .build(),
        ))
        .send()
        .await
        .unwrap();
    let got = cp
        .get_oauth2_credential_provider()
        .name("spike-obo")
        .send()
        .await
        .unwrap();
    let echoed = format!("{:?}", got.oauth2_provider_config_output());
    assert!(
        echoed.contains("TokenExchange") && echoed.contains("M2M"),
        "{echoed}"
    );
    let claims = obo_claims(&vault, "bob", "spike-obo").await;
    assert_eq!(
        (claims["sub"].as_str(), claims["act"]["sub"].as_str()),
        (Some("bob"), Some("spike-client"))
    );
}

#[tokio::test]
async fn invalid_provider_input_is_rejected() {
    let vault = start().await;
    let cp = control_plane(&vault);
    let err = cp
        .create_oauth2_credential_provider()
        .name("bad")
        .credential_provider_vendor(CredentialProviderVendorType::CustomOauth2)
        .oauth2_provider_config_input(Oauth2ProviderConfigInput::CustomOauth2ProviderConfig(
            custom_config("https://idp.example/no-well-known".into()).build(),
        ))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_validation_exception(), "{err:?}");
}

#[tokio::test]
async fn api_key_provider_lifecycle() {
    let vault = start().await;
    let cp = control_plane(&vault);
    let created = cp
        .create_api_key_credential_provider()
        .name("anthropic")
        .api_key("sk-local-1")
        .send()
        .await
        .unwrap();
    assert!(
        created
            .credential_provider_arn()
            .ends_with("apikeycredentialprovider/anthropic")
    );
    let dp = data_plane(&vault);
    let wat = workload_wat(&dp).await;
    let key = dp
        .get_resource_api_key()
        .workload_identity_token(&wat)
        .resource_credential_provider_name("anthropic")
        .send()
        .await
        .unwrap();
    assert_eq!(key.api_key(), "sk-local-1");
    let got = cp
        .get_api_key_credential_provider()
        .name("anthropic")
        .send()
        .await
        .unwrap();
    assert_eq!(got.name(), "anthropic");
    let listed = cp.list_api_key_credential_providers().send().await.unwrap();
    assert_eq!(listed.credential_providers().len(), 2);
    cp.delete_api_key_credential_provider()
        .name("anthropic")
        .send()
        .await
        .unwrap();
    let gone = cp
        .get_api_key_credential_provider()
        .name("anthropic")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(gone.is_resource_not_found_exception());
}

#[tokio::test]
async fn provider_from_explicit_metadata_with_basic_auth() {
    let vault = start().await;
    let cp = control_plane(&vault);
    let issuer = vault.idp_issuer();
    let metadata =
        aws_sdk_bedrockagentcorecontrol::types::Oauth2AuthorizationServerMetadata::builder()
            .issuer(&issuer)
            .authorization_endpoint(format!("{issuer}/authorize"))
            .token_endpoint(format!("{issuer}/token"))
            .build()
            .unwrap();
    cp.create_oauth2_credential_provider()
        .name("by-metadata")
        .credential_provider_vendor(CredentialProviderVendorType::CustomOauth2)
        .oauth2_provider_config_input(Oauth2ProviderConfigInput::CustomOauth2ProviderConfig(
            CustomOauth2ProviderConfigInput::builder()
                .oauth_discovery(Oauth2Discovery::AuthorizationServerMetadata(metadata))
                .client_id("meta-client")
                .client_secret("meta-secret")
                .client_authentication_method(ClientAuthenticationMethodType::ClientSecretBasic)
                .build(),
        ))
        .send()
        .await
        .unwrap();
    let dp = data_plane(&vault);
    let wat = workload_wat(&dp).await;
    let out = token_request(&dp, &wat, "by-metadata", Oauth2FlowType::M2M)
        .send()
        .await
        .unwrap();
    assert_eq!(
        verify_dev_token(&vault, out.access_token().unwrap()).await["sub"],
        "meta-client"
    );
}
