use aws_sdk_bedrockagentcore::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_bedrockagentcore::types::Oauth2FlowType;
use deputy_tests::jwks::verify_with_jwks;
use deputy_vault_local::{LocalVault, RunningVault, VaultConfig};
use serde_json::Value;

pub const RETURN_URL: &str = "http://127.0.0.1:9999/oauth2/return";

pub async fn start() -> RunningVault {
    start_with(VaultConfig::development()).await
}

pub async fn start_with(config: VaultConfig) -> RunningVault {
    LocalVault::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

pub fn data_plane(vault: &RunningVault) -> aws_sdk_bedrockagentcore::Client {
    data_plane_with(vault, "testing", "testing", true)
}

pub fn data_plane_with(
    vault: &RunningVault,
    key: &str,
    secret: &str,
    retries: bool,
) -> aws_sdk_bedrockagentcore::Client {
    let mut config = aws_sdk_bedrockagentcore::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(key, secret, None, None, "test"))
        .endpoint_url(vault.endpoint());
    if !retries {
        config =
            config.retry_config(aws_sdk_bedrockagentcore::config::retry::RetryConfig::disabled());
    }
    aws_sdk_bedrockagentcore::Client::from_conf(config.build())
}

pub fn control_plane(vault: &RunningVault) -> aws_sdk_bedrockagentcorecontrol::Client {
    let config = aws_sdk_bedrockagentcorecontrol::Config::builder()
        .behavior_version(aws_sdk_bedrockagentcorecontrol::config::BehaviorVersion::latest())
        .region(aws_sdk_bedrockagentcorecontrol::config::Region::new(
            "us-east-1",
        ))
        .credentials_provider(aws_sdk_bedrockagentcorecontrol::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .endpoint_url(vault.endpoint())
        .build();
    aws_sdk_bedrockagentcorecontrol::Client::from_conf(config)
}

pub async fn wat_for_user_id(client: &aws_sdk_bedrockagentcore::Client, user: &str) -> String {
    client
        .get_workload_access_token_for_user_id()
        .workload_name("deputy-agent")
        .user_id(user)
        .send()
        .await
        .unwrap()
        .workload_access_token()
        .to_owned()
}

pub async fn wat_for_jwt(client: &aws_sdk_bedrockagentcore::Client, jwt: &str) -> String {
    client
        .get_workload_access_token_for_jwt()
        .workload_name("deputy-agent")
        .user_token(jwt)
        .send()
        .await
        .unwrap()
        .workload_access_token()
        .to_owned()
}

pub async fn workload_wat(client: &aws_sdk_bedrockagentcore::Client) -> String {
    client
        .get_workload_access_token()
        .workload_name("deputy-agent")
        .send()
        .await
        .unwrap()
        .workload_access_token()
        .to_owned()
}

pub fn token_request(
    client: &aws_sdk_bedrockagentcore::Client,
    wat: &str,
    provider: &str,
    flow: Oauth2FlowType,
) -> aws_sdk_bedrockagentcore::operation::get_resource_oauth2_token::builders::GetResourceOauth2TokenFluentBuilder{
    client
        .get_resource_oauth2_token()
        .workload_identity_token(wat)
        .resource_credential_provider_name(provider)
        .scopes("repo:read")
        .oauth2_flow(flow)
}

/// A `GetResourceOauth2Token` on-behalf-of exchange for `user` through `provider`, ready to
/// send: the user's dev-IdP JWT is minted and a WAT bound to it with `client`.
pub async fn obo_request(
    vault: &RunningVault,
    client: &aws_sdk_bedrockagentcore::Client,
    user: &str,
    provider: &str,
) -> aws_sdk_bedrockagentcore::operation::get_resource_oauth2_token::builders::GetResourceOauth2TokenFluentBuilder{
    let jwt = vault.mint_user_token(user, "deputy").unwrap();
    let wat = wat_for_jwt(client, &jwt).await;
    token_request(
        client,
        &wat,
        provider,
        Oauth2FlowType::OnBehalfOfTokenExchange,
    )
}

/// The verified claims of the token an on-behalf-of exchange for `user` through `provider`
/// issues.
pub async fn obo_claims(vault: &RunningVault, user: &str, provider: &str) -> Value {
    let out = obo_request(vault, &data_plane(vault), user, provider)
        .await
        .send()
        .await
        .unwrap();
    verify_dev_token(vault, out.access_token().unwrap()).await
}

pub async fn verify_dev_token(vault: &RunningVault, token: &str) -> Value {
    let issuer = vault.idp_issuer();
    verify_with_jwks(token, &format!("{issuer}/jwks"), &issuer).await
}
