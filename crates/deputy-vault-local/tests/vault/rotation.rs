//! #20 item 12: Update*CredentialProvider (rotation), the token vault's CMK and tags,
//! through the real SDK clients.
use aws_sdk_bedrockagentcore::types::Oauth2FlowType;
use aws_sdk_bedrockagentcorecontrol::types::{
    CredentialProviderVendorType, CustomOauth2ProviderConfigInput, KeyType, KmsConfiguration,
    Oauth2Discovery, Oauth2ProviderConfigInput,
};

use crate::common::{control_plane, data_plane, start, token_request, workload_wat};

pub fn custom_config(
    discovery_url: &str,
    client_id: &str,
    secret: &str,
) -> Oauth2ProviderConfigInput {
    Oauth2ProviderConfigInput::CustomOauth2ProviderConfig(
        CustomOauth2ProviderConfigInput::builder()
            .oauth_discovery(Oauth2Discovery::DiscoveryUrl(discovery_url.into()))
            .client_id(client_id)
            .client_secret(secret)
            .build(),
    )
}

#[tokio::test]
async fn update_api_key_credential_provider_serves_the_new_key() {
    let vault = start().await;
    let (cp, dp) = (control_plane(&vault), data_plane(&vault));
    cp.create_api_key_credential_provider()
        .name("rotating")
        .api_key("key-one")
        .send()
        .await
        .unwrap();
    let wat = workload_wat(&dp).await;
    let get = || {
        dp.get_resource_api_key()
            .workload_identity_token(&wat)
            .resource_credential_provider_name("rotating")
    };
    assert_eq!(get().send().await.unwrap().api_key(), "key-one");
    let out = cp
        .update_api_key_credential_provider()
        .name("rotating")
        .api_key("key-two")
        .send()
        .await
        .unwrap();
    assert_eq!(out.name(), "rotating");
    assert!(out.last_updated_time() >= out.created_time());
    assert_eq!(get().send().await.unwrap().api_key(), "key-two");
    // Rolling back is one more update.
    cp.update_api_key_credential_provider()
        .name("rotating")
        .api_key("key-one")
        .send()
        .await
        .unwrap();
    assert_eq!(get().send().await.unwrap().api_key(), "key-one");
    let missing = cp
        .update_api_key_credential_provider()
        .name("nope")
        .api_key("x")
        .send()
        .await
        .unwrap_err();
    assert!(
        missing
            .into_service_error()
            .is_resource_not_found_exception()
    );
}

#[tokio::test]
async fn update_oauth2_credential_provider_uses_the_new_client_secret() {
    let vault = start().await;
    let (cp, dp) = (control_plane(&vault), data_plane(&vault));
    let discovery = format!("{}/.well-known/openid-configuration", vault.idp_issuer());
    let created = cp
        .create_oauth2_credential_provider()
        .name("rotating-oauth")
        .credential_provider_vendor(CredentialProviderVendorType::CustomOauth2)
        .oauth2_provider_config_input(custom_config(&discovery, "rotating-client", "secret-one"))
        .send()
        .await
        .unwrap();
    let wat = workload_wat(&dp).await;
    token_request(&dp, &wat, "rotating-oauth", Oauth2FlowType::M2M)
        .send()
        .await
        .unwrap();
    let updated = cp
        .update_oauth2_credential_provider()
        .name("rotating-oauth")
        .credential_provider_vendor(CredentialProviderVendorType::CustomOauth2)
        .oauth2_provider_config_input(custom_config(&discovery, "rotating-client", "secret-two"))
        .send()
        .await
        .unwrap();
    assert_eq!(updated.callback_url(), created.callback_url());
    // The dev IdP now only knows secret-two: a fresh token (another scope) proves the vault sends it.
    let fresh = dp
        .get_resource_oauth2_token()
        .workload_identity_token(&wat)
        .resource_credential_provider_name("rotating-oauth")
        .scopes("after-rotation")
        .oauth2_flow(Oauth2FlowType::M2M)
        .send()
        .await
        .unwrap();
    assert!(fresh.access_token().is_some());
    let got = cp
        .get_oauth2_credential_provider()
        .name("rotating-oauth")
        .send()
        .await
        .unwrap();
    assert_eq!(got.last_updated_time(), updated.last_updated_time());
}

#[tokio::test]
async fn token_vault_cmk_is_set_and_read_back() {
    let vault = start().await;
    let cp = control_plane(&vault);
    let initial = cp.get_token_vault().send().await.unwrap();
    assert_eq!(initial.token_vault_id(), "default");
    assert_eq!(
        initial.kms_configuration().unwrap().key_type(),
        &KeyType::ServiceManagedKey
    );
    let arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let cmk = KmsConfiguration::builder()
        .key_type(KeyType::CustomerManagedKey)
        .kms_key_arn(arn)
        .build()
        .unwrap();
    cp.set_token_vault_cmk()
        .kms_configuration(cmk)
        .send()
        .await
        .unwrap();
    let now = cp.get_token_vault().send().await.unwrap();
    assert_eq!(now.kms_configuration().unwrap().kms_key_arn(), Some(arn));
    let no_arn = KmsConfiguration::builder()
        .key_type(KeyType::CustomerManagedKey)
        .build()
        .unwrap();
    let err = cp
        .set_token_vault_cmk()
        .kms_configuration(no_arn)
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_validation_exception());
    let other = cp
        .get_token_vault()
        .token_vault_id("other")
        .send()
        .await
        .unwrap_err();
    assert!(other.into_service_error().is_resource_not_found_exception());
}

#[tokio::test]
async fn tags_are_added_listed_and_removed_on_identity_resources() {
    let vault = start().await;
    let cp = control_plane(&vault);
    let key = cp
        .create_api_key_credential_provider()
        .name("tagged")
        .api_key("k")
        .tags("team", "identity")
        .send()
        .await
        .unwrap();
    let arn = key.credential_provider_arn().to_owned();
    let tags = |arn: String| cp.list_tags_for_resource().resource_arn(arn).send();
    assert_eq!(
        tags(arn.clone())
            .await
            .unwrap()
            .tags()
            .unwrap()
            .get("team")
            .map(String::as_str),
        Some("identity")
    );
    cp.tag_resource()
        .resource_arn(&arn)
        .tags("env", "dev")
        .send()
        .await
        .unwrap();
    cp.untag_resource()
        .resource_arn(&arn)
        .tag_keys("team")
        .send()
        .await
        .unwrap();
    let now = tags(arn.clone()).await.unwrap();
    let now = now.tags().unwrap();
    assert_eq!(
        (now.len(), now.get("env").map(String::as_str)),
        (1, Some("dev"))
    );
    let workload = cp
        .get_workload_identity()
        .name("deputy-agent")
        .send()
        .await
        .unwrap();
    cp.tag_resource()
        .resource_arn(workload.workload_identity_arn())
        .tags("a", "b")
        .send()
        .await
        .unwrap();
    let unknown = arn.replace("tagged", "missing");
    let err = tags(unknown).await.unwrap_err();
    assert!(err.into_service_error().is_resource_not_found_exception());
    let mut too_many = cp.tag_resource().resource_arn(&arn);
    for i in 0..50 {
        too_many = too_many.tags(format!("k{i}"), "v");
    }
    assert!(
        too_many
            .send()
            .await
            .unwrap_err()
            .into_service_error()
            .is_validation_exception()
    );
}

fn signed_control_plane(
    vault: &deputy_vault_local::RunningVault,
    key: &str,
    secret: &str,
) -> aws_sdk_bedrockagentcorecontrol::Client {
    use aws_sdk_bedrockagentcorecontrol::config::{BehaviorVersion, Credentials, Region};
    let config = aws_sdk_bedrockagentcorecontrol::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(key, secret, None, None, "test"))
        .endpoint_url(vault.endpoint())
        .build();
    aws_sdk_bedrockagentcorecontrol::Client::from_conf(config)
}

#[tokio::test]
async fn tagging_needs_a_valid_sigv4_signature_when_configured() {
    let mut config = deputy_vault_local::VaultConfig::development();
    config.sigv4 = Some(deputy_vault_local::config::SigV4Credentials {
        access_key_id: "AKIDLOCAL".into(),
        secret_access_key: deputy_vault_local::Sensitive::new("s3cret"),
    });
    let vault = crate::common::start_with(config).await;
    let good = signed_control_plane(&vault, "AKIDLOCAL", "s3cret");
    let bad = signed_control_plane(&vault, "AKIDLOCAL", "wrong");
    let arn = good
        .get_workload_identity()
        .name("deputy-agent")
        .send()
        .await
        .unwrap()
        .workload_identity_arn()
        .to_owned();
    good.tag_resource()
        .resource_arn(&arn)
        .tags("team", "identity")
        .send()
        .await
        .unwrap();
    good.list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .unwrap();
    good.untag_resource()
        .resource_arn(&arn)
        .tag_keys("team")
        .send()
        .await
        .unwrap();
    for refused in [
        bad.list_tags_for_resource()
            .resource_arn(&arn)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| e.raw_response().map(|r| r.status().as_u16())),
        bad.untag_resource()
            .resource_arn(&arn)
            .tag_keys("x")
            .send()
            .await
            .map(|_| ())
            .map_err(|e| e.raw_response().map(|r| r.status().as_u16())),
    ] {
        assert_eq!(refused, Err(Some(403)));
    }
}
