//! `deputy demo`: the whole story on the local vault, in one process.
//!
//! Starts the local Token Vault and its development IdP, then walks through interactive 3LO
//! (consent completed by an HTTP client acting as the browser, or by you with
//! `--interactive`), a cache hit, a webhook read (M2M), a webhook write (the consent gate),
//! on-behalf-of with an `act` chain, a policy denial, a forwarded consent link that binds
//! nothing, and the gateway hops (frontend -> agent -> interceptor -> target); then prints the
//! spans it exported.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use clap::Args;
use deputy::consent::ConsentWait;
use deputy::repo_auth::{AuthorizeFuture, RepoAuthorizer, RepoDecision};
use deputy::task::Task;
use deputy::user_jwt::UserJwt;
use deputy::vault::TokenVault;
use deputy::verify::TokenVerifier;
use deputy::{ResolveError, ResolvedToken, Resolver, UserToken};
use deputy_core::{Integration, Operation, RepoRef, TaskId};
use deputy_vault_local::{LocalVault, RunningVault, VaultConfig};

use crate::demo_consent::{Browser, Consent};
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
    let issuer = vault.idp_issuer();
    let idp = crate::sign_in::DevIdp {
        jwks_uri: format!("{issuer}/jwks"),
        issuer,
    };
    let (app, sessions) = crate::sign_in::consent_app(
        resolver.clone(),
        "/deputy/callback",
        &vault.endpoint(),
        &idp,
    )?;
    tokio::spawn(async move { axum::serve(callback, app).await });

    let alice_jwt = vault
        .mint_user_token("alice", "deputy")
        .map_err(|e| e.to_string())?;
    let gateway_jwt = alice_jwt.clone();
    let issuers = idp.issuers()?;
    // The dev IdP minted this token; the user is its own `iss`+`sub`.
    let alice_jwt =
        UserJwt::from_verified(UserToken::new(alice_jwt), &issuers).map_err(|e| e.to_string())?;
    let alice = alice_jwt.user().clone();
    let repo: RepoRef = "demo-org/service"
        .parse()
        .map_err(|e: deputy_core::request::ContextError| e.to_string())?;
    let interactive = Task::interactive(task_id("demo-interactive")?, alice_jwt);
    let webhook = Task::webhook(task_id("demo-webhook")?, alice.clone());
    let alice_browser = Browser::signed_in(&sessions, &alice);
    let wait = ConsentWait {
        timeout: Duration::from_secs(if args.interactive { 600 } else { 30 }),
        ..ConsentWait::default()
    };
    let handler = Consent {
        interactive: args.interactive,
        browser: alice_browser.clone(),
    };

    step(
        1,
        "interactive: alice asks the agent to read demo-org/service (GitHub, 3-legged OAuth)",
    );
    let first = resolver
        .resolve_token_waiting(
            &interactive.clone().with_repo(repo.clone()),
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
        "a forwarded consent link: mallory sends alice the link her own agent asked for",
    );
    crate::demo_consent::forwarded_link(&resolver, &vault, &issuers, &alice_browser, &repo).await?;
    step(
        8,
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
    let refused = batch
        .records
        .iter()
        .filter(|r| r.outcome != deputy_core::audit::Outcome::Issued)
        .count();
    println!(
        "\naudit: {} abca.audit.v1 records ({refused} refused), {} findings",
        batch.records.len(),
        batch.findings.len()
    );
    for record in batch.records.iter().filter(|r| r.source.is_none()) {
        println!(
            "    refused: {} {} {} ({})",
            record.outcome.name(),
            record.integration,
            record.operation,
            record.error_kind.as_deref().unwrap_or("unknown")
        );
    }
    for finding in &batch.findings {
        println!("    {}: {}", finding.rule.name(), finding.message);
    }
    for error in &batch.errors {
        println!("    skipped: {error}");
    }
}

fn task_id(id: &str) -> Result<TaskId, String> {
    TaskId::new(id).map_err(|e| e.to_string())
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
