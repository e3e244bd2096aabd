//! The spikes' command line.

use std::path::PathBuf;

use clap::Parser;

/// Arguments shared by the three spike binaries.
#[derive(Debug, Clone, Parser)]
#[command(version)]
pub struct Args {
    /// Run against real AWS in this region (credentials from the default chain).
    #[arg(
        long,
        required_unless_present = "endpoint",
        conflicts_with = "endpoint"
    )]
    pub region: Option<String>,
    /// Run against a local vault (`deputy vault serve`) at this URL.
    #[arg(long)]
    pub endpoint: Option<String>,
    /// Write the JSON record here (stdout when absent).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print the calls the spike would make, make none, and write a record of skipped checks.
    #[arg(long)]
    pub dry_run: bool,
    /// 3LO: how long to wait for the consent click, in seconds.
    #[arg(long, default_value_t = 300)]
    pub consent_timeout: u64,
    /// The downstream IdP's discovery URL (default with --endpoint: the local dev IdP).
    #[arg(long)]
    pub discovery_url: Option<String>,
    /// The OAuth client id registered at the IdP (default with --endpoint: a throwaway one).
    #[arg(long)]
    pub client_id: Option<String>,
    /// The OAuth client secret.
    #[arg(long, env = "PHASE0_CLIENT_SECRET", hide_env_values = true)]
    pub client_secret: Option<String>,
    /// OBO (and 3LO, optionally): the inbound user JWT (default with --endpoint: one from the
    /// local dev IdP for --user).
    #[arg(long, env = "PHASE0_USER_JWT", hide_env_values = true)]
    pub user_jwt: Option<String>,
    /// The user: the dev IdP user with --endpoint, and the 3LO session-binding user id.
    #[arg(long, default_value = "alice")]
    pub user: String,
    /// The dev IdP password of --user (defaults to the user name, as the dev IdP does).
    #[arg(long, env = "PHASE0_USER_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// 3LO: the return URL the spike serves for session binding (must be loopback).
    #[arg(long, default_value = "http://127.0.0.1:9090/phase0/callback")]
    pub return_url: String,
    /// Scopes to request from the provider.
    #[arg(long, default_value = "openid")]
    pub scopes: Vec<String>,
    /// OBO with actorTokenContent=M2M: scopes for the actor token.
    #[arg(long, default_value = "agent")]
    pub actor_scopes: Vec<String>,
}

impl Args {
    /// `("region", r)` or `("endpoint", url)`.
    pub fn target(&self) -> (&'static str, String) {
        match (&self.region, &self.endpoint) {
            (Some(region), _) => ("region", region.clone()),
            (None, Some(endpoint)) => ("endpoint", endpoint.clone()),
            (None, None) => ("endpoint", String::new()),
        }
    }

    /// The discovery URL to register, or why there is none.
    pub fn discovery_url(&self) -> Result<String, String> {
        match (&self.discovery_url, &self.endpoint) {
            (Some(url), _) => Ok(url.clone()),
            (None, Some(endpoint)) => Ok(format!(
                "{}/idp/.well-known/openid-configuration",
                endpoint.trim_end_matches('/')
            )),
            (None, None) => Err(
                "--discovery-url is required with --region (the downstream IdP's .well-known URL)"
                    .to_owned(),
            ),
        }
    }
}
