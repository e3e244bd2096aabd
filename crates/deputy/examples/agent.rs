//! The README's agent example: one task resolving its credentials. Runs against an in-process
//! local vault; with real AWS, drop the vault and build the client from `aws_config` alone.

use aws_sdk_bedrockagentcore::config::{BehaviorVersion, Credentials, Region};
use deputy::core::{Operation, TaskId};
use deputy::task::Task;
use deputy::vault::TokenVault;
use deputy::{ResolveError, Resolver};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let vault = deputy_vault_local::LocalVault::start(
        deputy_vault_local::VaultConfig::development(),
        "127.0.0.1:0".parse()?,
    )
    .await?;
    let sdk = aws_sdk_bedrockagentcore::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "local"))
        .endpoint_url(vault.endpoint())
        .build();
    let resolver = Resolver::builder()
        .vault(TokenVault::new(
            aws_sdk_bedrockagentcore::Client::from_conf(sdk),
        ))
        .workload("deputy-agent")
        .build()?;

    // A nightly job: no user in the loop, so the table picks M2M.
    let task = Task::headless(TaskId::new("nightly-triage-42")?);
    match resolver.resolve_linear_token(&task, Operation::Read).await {
        Ok(token) => println!(
            "{} via {} (rule {})",
            token.fingerprint(),
            token.flow,
            token.rule_id
        ),
        Err(ResolveError::ConsentRequired(consent, _)) => {
            println!("ask the user: {}", consent.provider)
        }
        Err(e) => return Err(e.into()),
    }
    vault.shutdown().await;
    Ok(())
}
