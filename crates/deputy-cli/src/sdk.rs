//! Building the Token Vault client from `--endpoint` / `--region` (see [`deputy::aws`]).

use deputy::vault::{CallPolicy, TokenVault};

/// A vault client for `endpoint` (a local vault) or, when absent, the real AgentCore endpoint
/// of the configured region, with deputy's retry, timeout and circuit-breaker defaults.
pub async fn vault_client(endpoint: Option<&str>, region: Option<&str>) -> TokenVault {
    TokenVault::connect(
        &deputy::aws::sdk_config(endpoint, region).await,
        &CallPolicy::default(),
    )
}
