//! The `deputy` command.

mod audit_cmd;
mod audit_follow;
mod demo;
mod demo_consent;
mod demo_gateway;
mod doctor_cmd;
mod exec_cmd;
mod explain;
mod gateway_cmd;
mod git_credential;
mod policy;
mod resolve_cmd;
mod sdk;
mod sign_in;
mod span_log;
mod task_args;
mod vault_cmd;
mod verify_arg;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// deputy: per-task, per-user delegated credentials for agent code.
#[derive(Debug, Parser)]
#[command(name = "deputy", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Audit pipeline: receive or read spans, write abca.audit.v1 records, render the HTML report.
    #[command(subcommand)]
    Audit(audit_cmd::AuditCommand),
    /// Run the whole story on a local vault: 3LO, cache, M2M, consent gate, OBO, denial, spans.
    Demo(demo::DemoArgs),
    /// Check a deployment (workload, providers, IAM, fallback secrets) and say how to fix it.
    Doctor(doctor_cmd::DoctorArgs),
    /// Resolve tokens into a command's environment and run it:
    /// `deputy exec --env GITHUB_TOKEN=github:write:acme/app [task options] -- git push`.
    Exec(Box<exec_cmd::ExecArgs>),
    /// Show which flow the decision table picks for a request, and why.
    Explain(explain::ExplainArgs),
    /// Inspect or clear the Secrets Manager fallback's no-downgrade latch.
    #[command(subcommand)]
    Fallback(doctor_cmd::FallbackCommand),
    /// Play the AgentCore Gateway locally around the REQUEST interceptor.
    #[command(subcommand)]
    Gateway(gateway_cmd::GatewayCommand),
    /// git's credential helper: `git config credential.helper 'deputy git-credential'`
    /// answers with a token scoped to the task's repository (configured by DEPUTY_* variables).
    GitCredential(Box<git_credential::GitCredentialArgs>),
    /// Check, show or print decision tables.
    #[command(subcommand)]
    Policy(policy::PolicyCommand),
    /// Resolve one token against a vault.
    Resolve(Box<resolve_cmd::ResolveArgs>),
    /// Run the local Token Vault, or get development user tokens from it.
    #[command(subcommand)]
    Vault(vault_cmd::VaultCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Explain(args) => explain::run(&args),
        Command::Policy(command) => policy::run(&command),
        command => run_async(command),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("deputy: {message}");
            ExitCode::FAILURE
        }
    }
}

/// What a command leaves to do once the async runtime and telemetry are shut down.
enum Outcome {
    Exit(ExitCode),
    Exec(std::process::Command),
}

fn run_async(command: Command) -> Result<ExitCode, String> {
    let runtime = tokio::runtime::Runtime::new()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let spans = span_log::SpanLog::default();
    let export = if deputy::otel::otlp_configured() {
        Some(deputy::otel::otlp_layer().map_err(|e| e.to_string())?)
    } else {
        None
    };
    let (otel_layer, provider) = match export {
        Some(e) => (Some(e.layer), Some(e.provider)),
        None => (None, None),
    };
    tracing_subscriber::registry()
        .with(spans.clone())
        .with(otel_layer)
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_filter(
                    EnvFilter::try_from_env("DEPUTY_LOG").unwrap_or_else(|_| EnvFilter::new("off")),
                )
                .with_filter(deputy::log_filter::secret_dump_caps()),
        )
        .try_init()
        .map_err(|e| format!("cannot install the tracing subscriber: {e}"))?;
    let result = runtime.block_on(async {
        match command {
            Command::Exec(args) => exec_cmd::prepare(&args)
                .await
                .map(|prepared| match prepared {
                    exec_cmd::Prepared::Run(child) => Outcome::Exec(child),
                    exec_cmd::Prepared::Exit(code) => Outcome::Exit(code),
                }),
            command => run_command(command, &spans).await.map(Outcome::Exit),
        }
    });
    if let Some(provider) = provider {
        let _ = provider.shutdown();
    }
    drop(runtime);
    match result? {
        Outcome::Exit(code) => Ok(code),
        Outcome::Exec(child) => Ok(exec_cmd::run(child)),
    }
}

async fn run_command(command: Command, spans: &span_log::SpanLog) -> Result<ExitCode, String> {
    match command {
        Command::Audit(command) => audit_cmd::run(command).await,
        Command::Demo(args) => demo::run(&args, spans).await.map(|()| ExitCode::SUCCESS),
        Command::Resolve(args) => resolve_cmd::run(&args).await,
        Command::Doctor(args) => doctor_cmd::run(&args).await,
        Command::Gateway(command) => gateway_cmd::run(command).await,
        Command::Fallback(command) => doctor_cmd::run_fallback(&command).await,
        Command::GitCredential(args) => git_credential::run(&args).await,
        Command::Vault(command) => vault_cmd::run(command).await,
        Command::Exec(_) | Command::Explain(_) | Command::Policy(_) => Ok(ExitCode::SUCCESS),
    }
}
