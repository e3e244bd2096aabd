//! `deputy resolve`: one resolve against a vault, as an operator runs it.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use deputy::consent::{ConsentHandler, ConsentWait, NotifyFuture};
use deputy::task::Task;
use deputy::user_jwt::UserJwt;
use deputy::{ResolveError, Resolver, UserToken};
use deputy_core::{Integration, Operation, RepoRef, TaskId, UserId};
use deputy_vault_local::fetch_user_token;

use crate::policy::PolicySource;
use crate::sign_in::DevIdp;
use crate::verify_arg::VerifyArg;

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
    /// Interactive task for this development-IdP user (the JWT is fetched from the vault's dev IdP).
    #[arg(long, conflicts_with_all = ["webhook_user", "headless"])]
    user: Option<String>,
    /// Webhook task asserting this user id (`<idp>+<sub>`).
    #[arg(long, conflicts_with = "headless")]
    webhook_user: Option<UserId>,
    /// Headless task (no user).
    #[arg(long)]
    headless: bool,
    /// The task id.
    #[arg(long, default_value = "cli")]
    task_id: String,
    /// The workload identity to act as.
    #[arg(long, env = "DEPUTY_WORKLOAD", default_value = "deputy-agent")]
    workload: String,
    /// A local vault endpoint; the real AgentCore endpoint of the region when absent.
    #[arg(long, env = "DEPUTY_VAULT_ENDPOINT")]
    endpoint: Option<String>,
    /// The AWS region.
    #[arg(long)]
    region: Option<String>,
    #[command(flatten)]
    source: PolicySource,
    /// The consent return URL (must be on the workload's allow-list), e.g.
    /// `http://127.0.0.1:8788/deputy/callback`.
    #[arg(long, env = "DEPUTY_RETURN_URL")]
    return_url: Option<String>,
    /// When consent is needed, serve the return URL locally and wait for it (up to SECONDS).
    #[arg(long, value_name = "SECONDS", requires = "return_url")]
    wait: Option<u64>,
    /// Verify tokens from a provider: `provider=NAME,issuer=URL,audience=AUD[,jwks=URL]`
    /// (repeatable). On-behalf-of tokens are refused unless their provider is verified.
    #[arg(long = "verify", value_name = "SETTINGS")]
    verify: Vec<VerifyArg>,
    /// Declare the actor subject the workload acts as on an on-behalf-of provider:
    /// `PROVIDER=SUBJECT` (repeatable), e.g. `aws-native=0oa1agentclientid`. The resolve then
    /// asserts that subject as the agent, so audit compares the token's `act.sub` with it.
    #[arg(long = "obo-actor", value_name = "PROVIDER=SUBJECT", value_parser = parse_obo_actor)]
    obo_actor: Vec<(String, String)>,
    /// Print the token itself on stdout (only it), for piping into a tool.
    #[arg(long)]
    print_token: bool,
}

/// Runs `deputy resolve`: 0 with a token, 3 when consent is needed, 1 on other errors.
pub async fn run(args: &ResolveArgs) -> Result<ExitCode, String> {
    let policy = args.source.load()?;
    let vault = crate::sdk::vault_client(args.endpoint.as_deref(), args.region.as_deref()).await;
    let mut builder = Resolver::builder()
        .policy(policy)
        .vault(vault)
        .workload(&args.workload);
    if let Some(url) = &args.return_url {
        builder = builder.return_url(url);
    }
    for verify in &args.verify {
        builder = builder.verifier(&verify.provider, verify.verifier());
    }
    for (provider, actor) in &args.obo_actor {
        builder = builder.obo_actor(provider, actor);
    }
    let resolver = builder.build().map_err(|e| e.to_string())?;
    let task = task(args).await?;
    let result = match (args.wait, &args.return_url) {
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
    let endpoint = args.endpoint.as_deref().ok_or(
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

async fn task(args: &ResolveArgs) -> Result<Task, String> {
    let task_id = TaskId::new(&args.task_id).map_err(|e| e.to_string())?;
    let task = if let Some(user) = &args.user {
        let endpoint = args
            .endpoint
            .as_deref()
            .ok_or("--user fetches a dev IdP token and needs --endpoint (a local vault)")?;
        let jwt = fetch_user_token(endpoint, user, user, "deputy")
            .await
            .map_err(|e| e.to_string())?;
        // The user is the verified token's own `iss`+`sub`.
        let idp = DevIdp::discover(endpoint).await?;
        let jwt = UserJwt::verify(UserToken::new(jwt), &idp.verifier(), &idp.issuers()?)
            .await
            .map_err(|e| e.to_string())?;
        Task::interactive(task_id, jwt)
    } else if let Some(user) = &args.webhook_user {
        Task::webhook(task_id, user.clone())
    } else if args.headless {
        Task::headless(task_id)
    } else {
        return Err("say who the task is for: --user NAME, --webhook-user ID or --headless".into());
    };
    Ok(match args.repo.clone() {
        Some(repo) => task.with_repo(repo),
        None => task,
    })
}

/// Parses `--obo-actor PROVIDER=SUBJECT`.
fn parse_obo_actor(value: &str) -> Result<(String, String), String> {
    match value.split_once('=') {
        Some((provider, actor)) if !provider.is_empty() && !actor.is_empty() => {
            Ok((provider.to_owned(), actor.to_owned()))
        }
        _ => Err(format!(
            "`{value}` is not PROVIDER=SUBJECT (e.g. aws-native=0oa1agentclientid)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn obo_actor_arguments_need_a_provider_and_a_subject() {
        assert_eq!(
            parse_obo_actor("aws-native=0oa1agent").unwrap(),
            ("aws-native".to_owned(), "0oa1agent".to_owned())
        );
        for bad in ["aws-native", "=0oa1agent", "aws-native=", ""] {
            assert!(
                parse_obo_actor(bad)
                    .unwrap_err()
                    .contains("PROVIDER=SUBJECT"),
                "{bad}"
            );
        }
    }
}
