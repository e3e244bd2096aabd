//! `deputy vault …`: run the local Token Vault, and get dev IdP user tokens from it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use deputy_vault_local::{LocalVault, VaultConfig, fetch_user_token};

/// The local vault's default address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8787";

/// `deputy vault` subcommands.
#[derive(Debug, Subcommand)]
pub enum VaultCommand {
    /// Run the local AgentCore Identity Token Vault (with its development IdP) until Ctrl-C.
    Serve {
        /// Vault configuration (TOML); the development configuration when absent.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Address to listen on.
        #[arg(long, default_value = DEFAULT_LISTEN)]
        listen: SocketAddr,
        /// Allow a non-loopback address (the vault holds tokens: think twice).
        #[arg(long)]
        allow_remote: bool,
    },
    /// Print an inbound user JWT from a running vault's development IdP.
    Token {
        /// The dev IdP user (e.g. alice).
        #[arg(long)]
        user: String,
        /// The user's dev password (defaults to the user name).
        #[arg(long)]
        password: Option<String>,
        /// The audience of the token.
        #[arg(long, default_value = "deputy")]
        audience: String,
        /// The running vault.
        #[arg(
            long,
            env = "DEPUTY_VAULT_ENDPOINT",
            default_value = "http://127.0.0.1:8787"
        )]
        endpoint: String,
    },
}

/// Runs a `deputy vault` subcommand.
pub async fn run(command: VaultCommand) -> Result<ExitCode, String> {
    match command {
        VaultCommand::Serve {
            config,
            listen,
            allow_remote,
        } => {
            let mut config = match config {
                Some(path) => VaultConfig::from_toml_file(&path).map_err(|e| e.to_string())?,
                None => VaultConfig::development(),
            };
            config.allow_remote |= allow_remote;
            let vault = LocalVault::start(config, listen)
                .await
                .map_err(|e| e.to_string())?;
            println!("deputy local Token Vault listening on {}", vault.endpoint());
            println!("development IdP issuer: {}", vault.idp_issuer());
            println!("\nPoint an AWS SDK at it with:");
            for (name, value) in vault.sdk_env() {
                println!("  export {name}={value}");
            }
            println!("\nCtrl-C stops it.");
            tokio::signal::ctrl_c()
                .await
                .map_err(|e| format!("waiting for Ctrl-C: {e}"))?;
            vault.shutdown().await;
            Ok(ExitCode::SUCCESS)
        }
        VaultCommand::Token {
            user,
            password,
            audience,
            endpoint,
        } => {
            let password = password.unwrap_or_else(|| user.clone());
            let token = fetch_user_token(&endpoint, &user, &password, &audience)
                .await
                .map_err(|e| e.to_string())?;
            println!("{token}");
            Ok(ExitCode::SUCCESS)
        }
    }
}
