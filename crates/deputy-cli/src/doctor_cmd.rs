//! `deputy doctor` and `deputy fallback …`: diagnose a deployment; manage the no-downgrade latch.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use deputy::doctor::{Doctor, Status};
use deputy::fallback::{DowngradeLatch, SecretReader, SecretsManagerFallback};

use crate::policy::PolicySource;

/// Arguments of `deputy doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// The workload identity to check.
    #[arg(long, env = "DEPUTY_WORKLOAD", default_value = "deputy-agent")]
    workload: String,
    /// A local vault endpoint; the real AgentCore endpoint of the region when absent.
    #[arg(long, env = "DEPUTY_VAULT_ENDPOINT")]
    endpoint: Option<String>,
    /// The AWS region.
    #[arg(long)]
    region: Option<String>,
    /// A Secrets Manager / STS endpoint (e.g. a local moto) for the fallback checks.
    #[arg(long)]
    secrets_endpoint: Option<String>,
    #[command(flatten)]
    source: PolicySource,
}

/// Runs `deputy doctor`: exit 0 when nothing fails, 1 otherwise.
pub async fn run(args: &DoctorArgs) -> Result<ExitCode, String> {
    let policy = args.source.load()?;
    let vault = crate::sdk::vault_client(args.endpoint.as_deref(), args.region.as_deref()).await;
    let fallback_flag = SecretsManagerFallback::enabled_by_env();
    let has_secrets = policy
        .integrations()
        .iter()
        .any(|i| policy.fallback_secret(i).is_some());
    let reader = if has_secrets {
        Some(SecretReader::new(
            deputy::aws::sdk_config(args.secrets_endpoint.as_deref(), args.region.as_deref()).await,
        ))
    } else {
        None
    };
    let doctor = Doctor {
        policy: &policy,
        vault: &vault,
        workload: &args.workload,
        secrets: reader.as_ref(),
        fallback_flag,
    };
    let findings = doctor.run().await;
    for f in &findings {
        let tag = match f.status {
            Status::Ok => "OK  ",
            Status::Fail => "FAIL",
            Status::Note => "NOTE",
        };
        println!("{tag} {}: {}", f.check, f.detail);
    }
    let failed = findings.iter().filter(|f| f.status == Status::Fail).count();
    println!("\n{} checks, {failed} failed", findings.len());
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `deputy fallback` subcommands.
#[derive(Debug, Subcommand)]
pub enum FallbackCommand {
    /// List the principals the no-downgrade latch keeps on the vault.
    Latched {
        /// The latch file.
        #[arg(long, env = "DEPUTY_FALLBACK_LATCH")]
        latch_file: PathBuf,
    },
    /// Allow the shared secret again for one principal and integration (an operator decision).
    ClearLatch {
        /// The latch file.
        #[arg(long, env = "DEPUTY_FALLBACK_LATCH")]
        latch_file: PathBuf,
        /// The principal, as listed by `deputy fallback latched`.
        #[arg(long)]
        principal: String,
        /// The integration.
        #[arg(long)]
        integration: String,
    },
}

/// Runs a `deputy fallback` subcommand.
pub async fn run_fallback(command: &FallbackCommand) -> Result<ExitCode, String> {
    match command {
        FallbackCommand::Latched { latch_file } => {
            let latch = DowngradeLatch::open(latch_file)
                .await
                .map_err(|e| e.to_string())?;
            for (principal, integration) in latch.entries() {
                println!("{principal}\t{integration}");
            }
            Ok(ExitCode::SUCCESS)
        }
        FallbackCommand::ClearLatch {
            latch_file,
            principal,
            integration,
        } => {
            let latch = DowngradeLatch::open(latch_file)
                .await
                .map_err(|e| e.to_string())?;
            if latch
                .clear(principal, integration)
                .await
                .map_err(|e| e.to_string())?
            {
                println!(
                    "cleared: {principal} may be served from the shared secret for {integration} again during vault outages"
                );
                Ok(ExitCode::SUCCESS)
            } else {
                Err(format!("{principal} is not latched for {integration}"))
            }
        }
    }
}
