use aws_sdk_bedrockagentcore::error::ProvideErrorMetadata;
use aws_sdk_bedrockagentcore::types::Oauth2FlowType;
use deputy_vault_local::VaultConfig;

use crate::common::*;

#[tokio::test]
async fn m2m_returns_a_client_credentials_token_and_caches_it() {
    let vault = start().await;
    let client = data_plane(&vault);
    let wat = workload_wat(&client).await;
    let first = token_request(&client, &wat, "github-service", Oauth2FlowType::M2M)
        .send()
        .await
        .unwrap();
    let token = first.access_token().unwrap().to_owned();
    let claims = verify_dev_token(&vault, &token).await;
    assert_eq!(claims["sub"], "github-service");
    assert_eq!(claims["scope"], "repo:read");
    let second = token_request(&client, &wat, "github-service", Oauth2FlowType::M2M)
        .send()
        .await
        .unwrap();
    assert_eq!(
        second.access_token().unwrap(),
        token,
        "the vault serves the stored token"
    );
    assert_eq!(vault.call_count("GetResourceOauth2Token"), 2);
}

#[tokio::test]
async fn obo_token_exchange_with_m2m_actor_nests_act() {
    let vault = start().await;
    let out = obo_request(&vault, &data_plane(&vault), "alice", "aws-native")
        .await
        .audiences("https://aws-native.example")
        .send()
        .await
        .unwrap();
    let claims = verify_dev_token(&vault, out.access_token().unwrap()).await;
    assert_eq!(claims["sub"], "alice");
    assert_eq!(
        claims["act"]["sub"], "aws-native",
        "actor is the M2M token's subject"
    );
    assert_eq!(claims["aud"], "https://aws-native.example");
    assert!(out.authorization_url().is_none() && out.session_uri().is_none());
}

#[tokio::test]
async fn obo_jwt_bearer_grant_carries_the_user() {
    let vault = start().await;
    let claims = obo_claims(&vault, "bob", "jwt-bearer").await;
    assert_eq!(claims["sub"], "bob");
    assert_eq!(claims["client_id"], "jwt-bearer");
}

#[tokio::test]
async fn obo_requires_a_for_jwt_wat_and_an_obo_provider() {
    let vault = start().await;
    let client = data_plane(&vault);
    let by_id = wat_for_user_id(&client, "alice").await;
    let err = token_request(
        &client,
        &by_id,
        "aws-native",
        Oauth2FlowType::OnBehalfOfTokenExchange,
    )
    .send()
    .await
    .unwrap_err()
    .into_service_error();
    assert!(err.is_validation_exception(), "{err:?}");
    assert!(
        err.message()
            .unwrap()
            .contains("GetWorkloadAccessTokenForJWT")
    );
    let err = obo_request(&vault, &client, "alice", "github-service")
        .await
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(
        err.message()
            .unwrap()
            .contains("onBehalfOfTokenExchangeConfig"),
        "{err:?}"
    );
}

#[tokio::test]
async fn obo_refused_by_may_act_surfaces_as_token_exchange_failure() {
    let mut config = VaultConfig::development();
    config
        .dev_idp
        .users
        .push(deputy_vault_local::config::DevUser {
            name: "carol".into(),
            password: None,
            may_act: Some("some-other-agent".into()),
        });
    let vault = start_with(config).await;
    let err = obo_request(&vault, &data_plane(&vault), "carol", "aws-native")
        .await
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_validation_exception(), "{err:?}");
    assert_eq!(
        err.message().unwrap(),
        "Token exchange failed with HTTP status 400"
    );
}

#[tokio::test]
async fn api_keys_are_returned_and_unknown_ones_are_not_found() {
    let vault = start().await;
    let client = data_plane(&vault);
    let wat = workload_wat(&client).await;
    let out = client
        .get_resource_api_key()
        .workload_identity_token(&wat)
        .resource_credential_provider_name("openai")
        .send()
        .await
        .unwrap();
    assert_eq!(out.api_key(), "sk-dev-local-openai-key");
    let err = client
        .get_resource_api_key()
        .workload_identity_token(&wat)
        .resource_credential_provider_name("nope")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_resource_not_found_exception(), "{err:?}");
    let err = client
        .get_resource_api_key()
        .workload_identity_token("AgV4forged")
        .resource_credential_provider_name("openai")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_unauthorized_exception(), "{err:?}");
}

#[tokio::test]
async fn unknown_oauth_provider_is_resource_not_found() {
    let vault = start().await;
    let client = data_plane(&vault);
    let wat = workload_wat(&client).await;
    let err = token_request(&client, &wat, "no-such-provider", Oauth2FlowType::M2M)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_resource_not_found_exception(), "{err:?}");
}

#[tokio::test]
async fn obo_with_no_client_sends_only_the_actor_token() {
    let mut config = VaultConfig::development();
    config.providers.push(
        toml::from_str(
            r#"
            name = "no-client"
            source = { kind = "dev-idp" }
            on_behalf_of = { grant_type = "TOKEN_EXCHANGE", actor_token_content = "M2M", no_client = true }
            "#,
        )
        .unwrap(),
    );
    let vault = start_with(config).await;
    let claims = obo_claims(&vault, "bob", "no-client").await;
    assert_eq!(
        claims["act"]["sub"], "no-client",
        "the actor comes from the M2M actor token"
    );
    assert!(
        claims.get("client_id").is_none(),
        "no client authenticated the exchange: {claims}"
    );
}
