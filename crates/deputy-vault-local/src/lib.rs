//! A local emulator of the Amazon Bedrock AgentCore Identity Token Vault, with a development IdP.
//!
//! It speaks the AWS restJson1 wire protocol, so the real `aws-sdk-bedrockagentcore` and
//! `aws-sdk-bedrockagentcorecontrol` clients (and boto3) work against it with `endpoint_url`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), deputy_vault_local::VaultError> {
//! use deputy_vault_local::{LocalVault, VaultConfig};
//! let vault = LocalVault::start(VaultConfig::development(), "127.0.0.1:0".parse().unwrap()).await?;
//! let endpoint = vault.endpoint(); // give this to the SDK as endpoint_url
//! let jwt = vault.mint_user_token("alice", "deputy")?;
//! # let _ = (endpoint, jwt);
//! vault.shutdown().await;
//! # Ok(()) }
//! ```

pub mod aws_error;
pub mod browser;
pub mod config;
pub mod control;
pub mod dataplane;
pub mod dev_client;
pub mod error;
pub mod faults;
pub mod idp;
pub mod ids;
pub mod middleware;
pub mod model;
pub mod oauth_client;
pub mod outbound;
pub mod pattern;
pub mod registry;
pub mod sensitive;
pub mod server;
pub mod sigv4;
pub mod state;
pub mod store;
pub mod validate;

pub use browser::{ConsentOutcome, complete_consent_as_browser, deny_consent_as_browser};
pub use config::VaultConfig;
pub use dev_client::fetch_user_token;
pub use error::VaultError;
pub use sensitive::Sensitive;
pub use server::{LocalVault, RunningVault};
