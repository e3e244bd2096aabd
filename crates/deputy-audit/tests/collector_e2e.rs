//! Spans from real resolver runs go through a real OTLP collector (rotel, forwarding
//! OTLP/HTTP protobuf with gzip) into `deputy-audit`'s receiver, and the records match what
//! the resolver returned. The SDK gets a region and static credentials explicitly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_bedrockagentcore::config::{BehaviorVersion, Credentials, Region};
use deputy::repo_auth::{AuthorizeFuture, RepoAuthorizer, RepoDecision};
use deputy::task::Task;
use deputy::user_jwt::UserJwt;
use deputy::vault::TokenVault;
use deputy::verify::TokenVerifier;
use deputy::{ResolveError, Resolver, UserToken};
use deputy_audit::pipeline::JsonLinesSink;
use deputy_audit::{Finding, Pipeline};
use deputy_core::audit::{AuditRecord, ConsentOutcome, CredentialSource, Outcome};
use deputy_core::{IssuerMap, Operation, RepoRef, TaskId};
use deputy_tests::process;
use deputy_vault_local::{LocalVault, RunningVault, VaultConfig};
use tracing_subscriber::layer::SubscriberExt;

type Shared = Arc<Mutex<(Pipeline, JsonLinesSink<Vec<u8>, Vec<u8>>)>>;

fn resolver(vault: &RunningVault) -> Resolver {
    let config = aws_sdk_bedrockagentcore::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .endpoint_url(vault.endpoint())
        .build();
    let issuer = vault.idp_issuer();
    Resolver::builder()
        .vault(TokenVault::new(
            aws_sdk_bedrockagentcore::Client::from_conf(config),
        ))
        .workload("deputy-agent")
        .orchestrator("orchestrator")
        .return_url("http://127.0.0.1:9/deputy/callback")
        .verifier(
            "aws-native",
            TokenVerifier::new(issuer.clone(), format!("{issuer}/jwks"), ["aws-native"]),
        )
        // GitHub's `repo` scope can write, so even reads need the repository allowed.
        .repo_authorizer(Arc::new(AllowAll), Duration::from_secs(60))
        .build()
        .unwrap()
}

/// Allows every repository (this test is about the audit pipeline, not authorization).
struct AllowAll;

impl RepoAuthorizer for AllowAll {
    fn authorize<'a>(&'a self, _: &'a str, _: &'a RepoRef, _: Operation) -> AuthorizeFuture<'a> {
        Box::pin(async {
            RepoDecision::Allow {
                decided_at: std::time::SystemTime::now(),
            }
        })
    }
}

fn interactive(vault: &RunningVault, user: &str, task: &str) -> Task {
    let jwt = vault.mint_user_token(user, "deputy").unwrap();
    let mut issuers = IssuerMap::new();
    issuers.insert(&vault.idp_issuer(), "dev").unwrap();
    let jwt = UserJwt::from_verified(UserToken::new(jwt), &issuers).unwrap();
    Task::interactive(TaskId::new(task).unwrap(), jwt)
}

fn headless(task: &str) -> Task {
    Task::headless(TaskId::new(task).unwrap())
}

fn output(shared: &Shared) -> (Vec<AuditRecord>, Vec<Finding>, usize) {
    let guard = shared.lock().unwrap();
    let parse = |bytes: &[u8]| -> Vec<String> {
        String::from_utf8(bytes.to_vec())
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    };
    (
        parse(&guard.1.records)
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect(),
        parse(&guard.1.findings)
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect(),
        guard.1.errors.len(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolver_spans_through_rotel_become_matching_records() {
    let rotel = process::rotel();

    // The audit receiver.
    let shared: Shared = Arc::new(Mutex::new((
        Pipeline::default(),
        JsonLinesSink::new(Vec::new(), Vec::new()),
    )));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let receiver = format!("http://{}", listener.local_addr().unwrap());
    let app = deputy_audit::receiver::router(shared.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });

    // The collector: OTLP/HTTP in, OTLP/HTTP (protobuf, gzip) out to the receiver.
    let (grpc, http) = (process::free_port(), process::free_port());
    let dir =
        std::env::temp_dir().join(format!("deputy-audit-rotel-{}-{http}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let _collector = process::spawn(
        Command::new(&rotel)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .arg("start")
            .args(["--otlp-grpc-endpoint", &format!("127.0.0.1:{grpc}")])
            .args(["--otlp-http-endpoint", &format!("127.0.0.1:{http}")])
            .args([
                "--exporter",
                "otlp",
                "--otlp-exporter-protocol",
                "http",
                "--otlp-exporter-compression",
                "gzip",
            ])
            .args(["--otlp-exporter-endpoint", &receiver])
            .args(["--batch-timeout", "100ms"])
            .arg("--pid-file")
            .arg(dir.join("rotel.pid"))
            .arg("--log-file")
            .arg(dir.join("rotel.log")),
    );
    process::wait_for_port(http, "rotel").await;

    let export =
        deputy::otel::otlp_layer_to(&format!("http://127.0.0.1:{http}/v1/traces")).unwrap();
    let subscriber = tracing_subscriber::registry().with(export.layer);
    let _guard = tracing::subscriber::set_default(subscriber);

    let vault = LocalVault::start(VaultConfig::development(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let resolver = resolver(&vault);
    let obo = resolver
        .resolve_aws_native_token(&interactive(&vault, "alice", "e2e-obo"), Operation::Write)
        .await
        .unwrap();
    let m2m = resolver
        .resolve_linear_token(&headless("e2e-nightly-1"), Operation::Read)
        .await
        .unwrap();
    let cached = resolver
        .resolve_linear_token(&headless("e2e-nightly-2"), Operation::Read)
        .await
        .unwrap();
    let consent = resolver
        .resolve_github_token(
            &interactive(&vault, "bob", "e2e-consent"),
            Operation::Read,
            &"octo-org/infra".parse().unwrap(),
        )
        .await;
    assert!(
        matches!(consent, Err(ResolveError::ConsentRequired(..))),
        "{consent:?}"
    );
    assert_eq!(cached.source, CredentialSource::Cache);

    let provider = export.provider.clone();
    tokio::task::spawn_blocking(move || provider.force_flush())
        .await
        .unwrap()
        .unwrap();
    // rotel batches for up to 100 ms before it forwards; wait for the four records (three
    // issued, one refused).
    for _ in 0..300 {
        if output(&shared).0.len() >= 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (records, findings, errors) = output(&shared);
    assert_eq!(errors, 0);
    let log = std::fs::read_to_string(dir.join("rotel.log")).unwrap_or_default();
    assert_eq!(records.len(), 4, "records: {records:#?}\nrotel log:\n{log}");

    let find = |task: &str| {
        records
            .iter()
            .find(|r| r.correlation.task_id.as_str() == task)
            .unwrap_or_else(|| panic!("no record for {task}"))
    };
    for (task, token) in [
        ("e2e-obo", &obo),
        ("e2e-nightly-1", &m2m),
        ("e2e-nightly-2", &cached),
    ] {
        let record = find(task);
        assert_eq!(record.flow.as_deref(), Some(token.flow.name()), "{task}");
        assert_eq!(record.source, Some(token.source), "{task}");
        assert_eq!(record.rule_id.as_deref(), Some(&*token.rule_id), "{task}");
        assert_eq!(record.outcome, Outcome::Issued, "{task}");
        assert_eq!(
            record.provider.as_deref(),
            token.provider.as_deref(),
            "{task}"
        );
        assert_eq!(
            record.token_fingerprint.as_ref(),
            Some(&token.fingerprint()),
            "{task}"
        );
        assert_eq!(record.observed_delegation, token.observed, "{task}");
        let exp = token
            .expires_at
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert_eq!(record.expires_at, Some(exp), "{task}");
        let trace = record
            .correlation
            .trace_id
            .as_ref()
            .expect("joined to its trace");
        assert_eq!(trace.as_str().len(), 32);
    }
    // The refused resolve is a record too: who asked for what, and why nothing was issued.
    let refused = find("e2e-consent");
    assert_eq!(
        (
            refused.outcome,
            refused.error_kind.as_deref(),
            refused.consent,
            refused.source,
            refused.token_fingerprint.as_ref(),
        ),
        (
            Outcome::ConsentPending,
            Some("consent_required"),
            Some(ConsentOutcome::Pending),
            None,
            None
        )
    );
    assert_eq!(
        refused.correlation.user_id.as_ref().map(|u| u.as_str()),
        Some("dev+bob")
    );
    assert_eq!(
        (refused.integration.name(), refused.operation),
        ("github", Operation::Read)
    );
    let obo_record = find("e2e-obo");
    assert_eq!(
        obo_record.correlation.user_id.as_ref().unwrap().as_str(),
        "dev+alice"
    );
    let asserted = obo_record.asserted_chain.as_ref().unwrap();
    assert_eq!(
        (
            asserted.user.as_ref().unwrap().as_str(),
            asserted.orchestrator.as_deref(),
            asserted.agent.as_str()
        ),
        ("dev+alice", Some("orchestrator"), "deputy-agent")
    );
    assert!(
        find("e2e-nightly-1")
            .asserted_chain
            .as_ref()
            .unwrap()
            .user
            .is_none()
    );
    // Separate resolves are separate traces.
    assert_ne!(
        find("e2e-nightly-1").correlation.trace_id,
        find("e2e-nightly-2").correlation.trace_id
    );

    // Nothing here is wrong, so the invariants find nothing: the cached M2M token serving a
    // second task is what the cache is for, and the OBO token's `act` naming the provider's
    // actor client (`aws-native`) rather than the workload name is the first actor seen for
    // that agent and provider.
    assert!(findings.is_empty(), "{findings:#?}");
    {
        let guard = shared.lock().unwrap();
        let stats = guard.0.stats();
        assert_eq!(
            stats.unissued.get("consent_required"),
            Some(&1),
            "{stats:?}"
        );
        assert_eq!(stats.records, 4);
    }
    // No token went anywhere.
    let all = {
        let g = shared.lock().unwrap();
        [g.1.records.clone(), g.1.findings.clone()].concat()
    };
    let all = String::from_utf8(all).unwrap();
    for token in [&obo, &m2m] {
        assert!(!all.contains(token.token.expose()));
    }

    tokio::task::spawn_blocking(move || export.provider.shutdown())
        .await
        .unwrap()
        .unwrap();
    vault.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
