//! `deputy resolve`: one resolve against a vault, as an operator runs it.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use deputy::consent::{ConsentHandler, ConsentWait, NotifyFuture};
use deputy::task::Task;
use deputy::{ResolveError, Resolver};
use deputy_core::{Integration, Operation, RepoRef};

use crate::sign_in::DevIdp;
use crate::task_args::{ResolverArgs, TaskArgs};

/// Arguments of `deputy resolve`.
#[derive(Debug, Args)]
pub struct ResolveArgs {
    /// The integration: github, linear, jira, slack, aws-native, or a custom one.
    integration: Integration,
    /// read or write.
    #[arg(long = "op")]
    operation: Operation,
    /// The repository (`owner/name`), for GitHub and repository-scoped writes.
    #[arg(long)]
    repo: Option<RepoRef>,
    #[command(flatten)]
    task: TaskArgs,
    #[command(flatten)]
    resolver: ResolverArgs,
    /// When consent is needed, serve the return URL locally and wait for it (up to SECONDS).
    #[arg(long, value_name = "SECONDS", requires = "return_url")]
    wait: Option<u64>,
    /// Print the token itself on stdout (only it), for piping into a tool.
    #[arg(long)]
    print_token: bool,
}

/// Runs `deputy resolve`: 0 with a token, 3 when consent is needed, 1 on other errors.
pub async fn run(args: &ResolveArgs) -> Result<ExitCode, String> {
    let resolver = args.resolver.build().await?;
    let task = args.task.task(args.resolver.endpoint.as_deref()).await?;
    let task = match args.repo.clone() {
        Some(repo) => task.with_repo(repo),
        None => task,
    };
    let result = match (args.wait, &args.resolver.return_url) {
        (Some(seconds), Some(url)) => {
            wait_for_consent(&resolver, &task, args, url, seconds).await?
        }
        _ => {
            resolver
                .resolve_token(&task, &args.integration, args.operation)
                .await
        }
    };
    match result {
        Ok(token) if args.print_token => {
            println!("{}", token.token.expose());
            Ok(ExitCode::SUCCESS)
        }
        Ok(token) => {
            let expires = token
                .expires_at
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            println!(
                "token {} via {} (rule {}, provider {}), source {}, expires at {expires}",
                token.fingerprint(),
                token.flow,
                token.rule_id,
                token.provider.as_deref().unwrap_or("-"),
                token.source.name()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(ResolveError::ConsentRequired(consent, integration)) => {
            eprintln!(
                "{integration}: consent required from provider {:?}. Open:\n{}",
                consent.provider, consent.authorization_url
            );
            Ok(ExitCode::from(3))
        }
        Err(e) => Err(e.to_string()),
    }
}

/// Serves the return URL with deputy's callback router and waits for the user's consent.
async fn wait_for_consent(
    resolver: &Resolver,
    task: &Task,
    args: &ResolveArgs,
    return_url: &str,
    seconds: u64,
) -> Result<Result<deputy::ResolvedToken, ResolveError>, String> {
    let url =
        reqwest::Url::parse(return_url).map_err(|e| format!("--return-url {return_url}: {e}"))?;
    let addr = format!(
        "{}:{}",
        url.host_str().unwrap_or("127.0.0.1"),
        url.port_or_known_default().unwrap_or(80)
    );
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|e| format!("cannot serve the return URL on {addr}: {e}"))?;
    // The return URL binds the consent only for the person signed in on the browser: one who
    // arrives without a sign-in is sent to a dev-IdP sign-in page on this server first.
    let endpoint = args.resolver.endpoint.as_deref().ok_or(
        "--wait signs the browser's user in at the local vault's dev IdP and needs --endpoint",
    )?;
    let idp = DevIdp::discover(endpoint).await?;
    let (app, _) = crate::sign_in::consent_app(resolver.clone(), url.path(), endpoint, &idp)?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    let wait = ConsentWait {
        timeout: Duration::from_secs(seconds),
        ..ConsentWait::default()
    };
    Ok(resolver
        .resolve_token_waiting(task, &args.integration, args.operation, &PrintLink, wait)
        .await)
}

/// Shows the consent link on stderr for the person at the terminal.
struct PrintLink;

impl ConsentHandler for PrintLink {
    fn notify<'a>(
        &'a self,
        consent: &'a deputy::ConsentRequired,
        _task: &'a Task,
    ) -> NotifyFuture<'a> {
        Box::pin(async move {
            eprintln!(
                "consent required from provider {:?}; open this link and approve (back on this machine's page, sign in as yourself: the consent binds only for the user who asked):\n{}",
                consent.provider, consent.authorization_url
            );
        })
    }
}
