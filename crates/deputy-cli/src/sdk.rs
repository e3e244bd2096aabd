//! Building the Token Vault client from `--endpoint` / `--region` (see [`deputy::aws`]).

use deputy::vault::TokenVault;

/// A vault client for `endpoint` (a local vault) or, when absent, the real AgentCore endpoint
/// of the configured region.
pub async fn vault_client(endpoint: Option<&str>, region: Option<&str>) -> TokenVault {
    TokenVault::new(aws_sdk_bedrockagentcore::Client::new(
        &deputy::aws::sdk_config(endpoint, region).await,
    ))
}
