//! Building the Token Vault client the way operators expect: `aws-config`'s default chain, or
//! a local vault endpoint with the dummy credentials the local vault accepts.

use aws_config::BehaviorVersion;
use aws_config::Region;
use aws_sdk_bedrockagentcore::config::Credentials;
use deputy::vault::TokenVault;

/// A vault client for `endpoint` (a local vault) or, when absent, the real AgentCore endpoint
/// of the configured region.
pub async fn vault_client(endpoint: Option<&str>, region: Option<&str>) -> TokenVault {
    TokenVault::new(aws_sdk_bedrockagentcore::Client::new(
        &aws_config(endpoint, region).await,
    ))
}

/// AWS settings: the default chain, or a local `endpoint` with dummy credentials when none are set.
pub async fn aws_config(endpoint: Option<&str>, region: Option<&str>) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(region) = region {
        loader = loader.region(Region::new(region.to_owned()));
    }
    if let Some(endpoint) = endpoint {
        loader = loader.endpoint_url(endpoint);
        if std::env::var_os("AWS_ACCESS_KEY_ID").is_none()
            && std::env::var_os("AWS_PROFILE").is_none()
        {
            loader = loader.credentials_provider(Credentials::new(
                "testing",
                "testing",
                None,
                None,
                "deputy-local",
            ));
        }
        if region.is_none() && std::env::var_os("AWS_REGION").is_none() {
            loader = loader.region(Region::new("us-east-1"));
        }
    }
    loader.load().await
}
