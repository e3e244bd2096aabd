//! `deputy demo`: the whole story on the local vault, in one process.
//!
//! Starts the local Token Vault and its development IdP, then walks through interactive 3LO
//! (consent completed by an HTTP client acting as the browser, or by you with
//! `--interactive`), a cache hit, a webhook read (M2M), a webhook write (the consent gate),
//! on-behalf-of with an `act` chain, a policy denial, and the gateway hops (frontend -> agent ->
//! interceptor -> target); then prints the spans it exported.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use clap::Args;
use deputy::callback::consent_callback_router;
use deputy::consent::{ConsentHandler, ConsentWait, NotifyFuture};
use deputy::repo_auth::{AuthorizeFuture, RepoAuthorizer, RepoDecision};
use deputy::task::{Task, WatSource};
use deputy::vault::{TokenVault, WatBinding};
use deputy::verify::TokenVerifier;
use deputy::{ConsentRequired, ResolveError, ResolvedToken, Resolver, UserToken};
use deputy_core::{Integration, Operation, RepoRef, TaskContext, TaskId, Trigger, UserId};
use deputy_vault_local::{LocalVault, RunningVault, VaultConfig, complete_consent_as_browser};

use crate::span_log::SpanLog;

/// Arguments of `deputy demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Print the consent link for you to open (user alice, password alice) instead of
    /// completing it with a scripted browser.
    #[arg(long)]
    interactive: bool,
}

/// Lets the demo's agent write to its demo organisation only.
struct DemoOrg;

impl RepoAuthorizer for DemoOrg {
    fn authorize<'a>(
        &'a self,
        _principal: &'a str,
        repo: &'a RepoRef,
        _op: Operation,
    ) -> AuthorizeFuture<'a> {
        Box::pin(async move {
            if repo.owner() == "demo-org" {
                RepoDecision::Allow {
                    decided_at: SystemTime::now(),
                }
            } else {
                RepoDecision::Deny {
                    reason: format!("{} is not in demo-org", repo.owner()),
                }
            }
        })
    }
}

/// Completes consent like a person would: open the link, log in, approve, land on the return URL.
struct Consent {
    interactive: bool,
}

impl ConsentHandler for Consent {
    fn notify<'a>(&'a self, consent: &'a ConsentRequired, _task: &'a Task) -> NotifyFuture<'a> {
        Box::pin(async move {
            if self.interactive {
                println!(
                    "    open this link, log in as alice (password alice) and approve:\n    {}",
                    consent.authorization_url
                );
                return;
            }
            println!("    a scripted browser opens the link, logs in as alice and approves");
            match complete_consent_as_browser(&consent.authorization_url, "alice", "alice").await {
                // The browser lands on the return URL: deputy's callback router binds the session.
                Ok(seen) => match reqwest::get(&seen.return_url).await {
                    Ok(r) => println!("    return URL answered {}", r.status()),
                    Err(e) => println!("    return URL failed: {e}"),
                },
                Err(e) => println!("    scripted consent failed: {e}"),
            }
        })
    }
}

/// Runs the demo; spans are recorded by `spans`.
pub async fn run(args: &DemoArgs, spans: &SpanLog) -> Result<(), String> {
    let vault = LocalVault::start(
        VaultConfig::development(),
        "127.0.0.1:0".parse().map_err(|e| format!("{e}"))?,
    )
    .await
    .map_err(|e| e.to_string())?;
    println!(
        "local Token Vault on {} (dev IdP {})",
        vault.endpoint(),
        vault.idp_issuer()
    );
    let callback = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let return_url = format!(
        "http://{}/deputy/callback",
        callback.local_addr().map_err(|e| e.to_string())?
    );
    let resolver = resolver(&vault, &return_url).await?;
    let app = consent_callback_router(resolver.clone(), "/deputy/callback");
    tokio::spawn(async move { axum::serve(callback, app).await });

    let alice_jwt = vault
        .mint_user_token("alice", "deputy")
        .map_err(|e| e.to_string())?;
    let gateway_jwt = alice_jwt.clone();
    let alice = UserId::from_parts("dev", "alice").map_err(|e| e.to_string())?;
    let repo: RepoRef = "demo-org/service"
        .parse()
        .map_err(|e: deputy_core::request::ContextError| e.to_string())?;
    let interactive = task(
        "demo-interactive",
        Trigger::Interactive {
            user: alice.clone(),
        },
        WatBinding::Jwt(UserToken::new(alice_jwt)),
    )?;
    let webhook = task(
        "demo-webhook",
        Trigger::Webhook {
            asserted_user: Some(alice.clone()),
        },
        WatBinding::UserId(alice),
    )?;
    let wait = ConsentWait {
        timeout: Duration::from_secs(if args.interactive { 600 } else { 30 }),
        ..ConsentWait::default()
    };
    let handler = Consent {
        interactive: args.interactive,
    };

    step(
        1,
        "interactive: alice asks the agent to read demo-org/service (GitHub, 3-legged OAuth)",
    );
    let first = resolver
        .resolve_token_waiting(
            &with_repo(&interactive, &repo),
            &Integration::Github,
            Operation::Read,
            &handler,
            wait,
        )
        .await;
    show(&first);
    step(
        2,
        "the same request again: served from the cache, no vault call",
    );
    show(
        &resolver
            .resolve_github_token(&interactive, Operation::Read, &repo)
            .await,
    );
    step(
        3,
        "webhook read: triage a Linear issue with the service account (M2M)",
    );
    show(
        &resolver
            .resolve_linear_token(&webhook, Operation::Read)
            .await,
    );
    step(
        4,
        "webhook write: the webhook only asserts alice, so writing as her needs her fresh consent",
    );
    show(
        &resolver
            .resolve_github_token(&webhook, Operation::Write, &repo)
            .await,
    );
    step(
        5,
        "on-behalf-of: exchange alice's JWT for an AWS-native token that names the agent in `act`",
    );
    show(
        &resolver
            .resolve_aws_native_token(&interactive, Operation::Read)
            .await,
    );
    step(
        6,
        "policy: an AWS-native write from a webhook is denied by the table",
    );
    show(
        &resolver
            .resolve_aws_native_token(&webhook, Operation::Write)
            .await,
    );
    step(
        7,
        "gateway: frontend -> agent -> AgentCore Gateway interceptor (exchange) -> MCP target",
    );
    crate::demo_gateway::run(&vault, &gateway_jwt).await?;

    println!(
        "\nvault calls: GetResourceOauth2Token x{}, GetWorkloadAccessToken* x{}",
        vault.call_count("GetResourceOauth2Token"),
        vault.call_count("GetWorkloadAccessTokenForJWT")
            + vault.call_count("GetWorkloadAccessTokenForUserId")
            + vault.call_count("GetWorkloadAccessToken")
    );
    vault.shutdown().await;
    println!("\nspans exported (deputy.resolve; fingerprints, never tokens):");
    let exported = spans.take();
    for span in &exported {
        println!("{}", serde_json::Value::Object(span.clone()));
    }
    audit(&exported);
    Ok(())
}

async fn resolver(vault: &RunningVault, return_url: &str) -> Result<Resolver, String> {
    let client: TokenVault =
        crate::sdk::vault_client(Some(&vault.endpoint()), Some("us-east-1")).await;
    let issuer = vault.idp_issuer();
    Resolver::builder()
        .vault(client)
        .workload("deputy-agent")
        .orchestrator("demo-orchestrator")
        // The local vault's OBO provider authenticates the agent with its own client id,
        // `aws-native`, so exchanged tokens carry `act.sub = "aws-native"`: declared, the
        // audit compares the token with it instead of with the workload name.
        .obo_actor("aws-native", "aws-native")
        .return_url(return_url)
        .repo_authorizer(Arc::new(DemoOrg), Duration::from_secs(60))
        .verifier(
            "aws-native",
            TokenVerifier::new(issuer.clone(), format!("{issuer}/jwks"), ["aws-native"]),
        )
        .build()
        .map_err(|e| e.to_string())
}

/// Runs the exported spans through the audit pipeline (`deputy audit` does the same with a
/// collector's output) and prints what its invariant checks found.
fn audit(exported: &[serde_json::Map<String, serde_json::Value>]) {
    let mut pipeline = deputy_audit::Pipeline::default();
    let batch = pipeline.spans(&crate::span_log::audit_spans(exported), None);
    println!(
        "\naudit: {} abca.audit.v1 records, {} findings",
        batch.records.len(),
        batch.findings.len()
    );
    for finding in &batch.findings {
        println!("    {}: {}", finding.rule.name(), finding.message);
    }
    for error in &batch.errors {
        println!("    skipped: {error}");
    }
}

fn task(id: &str, trigger: Trigger, binding: WatBinding) -> Result<Task, String> {
    let ctx = TaskContext::new(TaskId::new(id).map_err(|e| e.to_string())?, trigger);
    Ok(Task::new(ctx, WatSource::Mint(binding)))
}

fn with_repo(task: &Task, repo: &RepoRef) -> Task {
    let mut task = task.clone();
    task.ctx.repo = Some(repo.clone());
    task
}

fn step(n: u32, text: &str) {
    println!("\n[{n}] {text}");
}

fn show(result: &Result<ResolvedToken, ResolveError>) {
    match result {
        Ok(t) => {
            println!(
                "    token {} via {} (rule {}), source {}",
                t.fingerprint(),
                t.flow,
                t.rule_id,
                t.source.name()
            );
            if let Some(observed) = &t.observed {
                println!(
                    "    token subject {} acted for by {}",
                    observed.subject, observed.actors
                );
            }
        }
        Err(ResolveError::ConsentRequired(consent, _)) => {
            println!(
                "    fail closed: consent required from provider {:?}; the agent posts the link instead of acting",
                consent.provider
            );
        }
        Err(e) => println!("    refused ({}): {e}", e.kind()),
    }
}
