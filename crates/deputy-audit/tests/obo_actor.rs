//! A declared OBO actor (`ResolverBuilder::obo_actor`) is what the resolver asserts for
//! on-behalf-of decisions: a legitimate exchange audits clean, and a token whose `act.sub` is
//! not the declared actor is still flagged. Real resolves against the local vault, exported
//! over OTLP/HTTP to the audit receiver. The SDK gets a region and static credentials.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_bedrockagentcore::config::{BehaviorVersion, Credentials, Region};
use deputy::task::Task;
use deputy::user_jwt::UserJwt;
use deputy::vault::TokenVault;
use deputy::verify::TokenVerifier;
use deputy::{ResolvedToken, UserToken};
use deputy_audit::pipeline::JsonLinesSink;
use deputy_audit::{Finding, Pipeline, Rule};
use deputy_core::audit::AuditRecord;
use deputy_core::{IssuerMap, Operation, TaskId};
use deputy_vault_local::{LocalVault, VaultConfig};
use tracing_subscriber::layer::SubscriberExt;

type Shared = Arc<Mutex<(Pipeline, JsonLinesSink<Vec<u8>, Vec<u8>>)>>;

/// Resolves one AWS-native (OBO) token for alice with `actor` declared for the provider, and
/// returns the token with what the audit pipeline made of its span.
async fn audited_obo(actor: &str) -> (ResolvedToken, AuditRecord, Vec<Finding>) {
    let shared: Shared = Arc::new(Mutex::new((
        Pipeline::default(),
        JsonLinesSink::new(Vec::new(), Vec::new()),
    )));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let receiver = format!("http://{}/v1/traces", listener.local_addr().unwrap());
    let app = deputy_audit::receiver::router(shared.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let export = deputy::otel::otlp_layer_to(&receiver).unwrap();
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(export.layer));

    let vault = LocalVault::start(VaultConfig::development(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let sdk = aws_sdk_bedrockagentcore::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .endpoint_url(vault.endpoint())
        .build();
    let issuer = vault.idp_issuer();
    let resolver = deputy::Resolver::builder()
        .vault(TokenVault::new(
            aws_sdk_bedrockagentcore::Client::from_conf(sdk),
        ))
        .workload("deputy-agent")
        .orchestrator("orchestrator")
        .obo_actor("aws-native", actor)
        .verifier(
            "aws-native",
            TokenVerifier::new(issuer.clone(), format!("{issuer}/jwks"), ["aws-native"]),
        )
        .build()
        .unwrap();
    let jwt = vault.mint_user_token("alice", "deputy").unwrap();
    let mut issuers = IssuerMap::new();
    issuers.insert(&vault.idp_issuer(), "dev").unwrap();
    let task = Task::interactive(
        TaskId::new("obo-task").unwrap(),
        UserJwt::from_verified(UserToken::new(jwt), &issuers).unwrap(),
    );
    let token = resolver
        .resolve_aws_native_token(&task, Operation::Write)
        .await
        .unwrap();

    let provider = export.provider.clone();
    tokio::task::spawn_blocking(move || provider.force_flush())
        .await
        .unwrap()
        .unwrap();
    let mut records = Vec::new();
    for _ in 0..100 {
        records = lines::<AuditRecord>(&shared.lock().unwrap().1.records);
        if !records.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let findings = lines::<Finding>(&shared.lock().unwrap().1.findings);
    tokio::task::spawn_blocking(move || export.provider.shutdown())
        .await
        .unwrap()
        .unwrap();
    vault.shutdown().await;
    let [record] = &records[..] else {
        panic!("expected one record, got {records:#?}")
    };
    (token, record.clone(), findings)
}

fn lines<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Vec<T> {
    std::str::from_utf8(bytes)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declared_obo_actor_that_the_token_names_audits_clean() {
    // The local vault's OBO provider authenticates the agent as its own client, `aws-native`.
    let (token, record, findings) = audited_obo("aws-native").await;
    let observed = token
        .observed
        .as_ref()
        .expect("an OBO token records delegation");
    assert_eq!(observed.actors.actors()[0].sub, "aws-native");
    let asserted = record.asserted_chain.as_ref().unwrap();
    assert_eq!(asserted.agent, "aws-native");
    assert_eq!(asserted.workload.as_deref(), Some("deputy-agent"));
    assert_eq!(asserted.user.as_ref().unwrap().as_str(), "dev+alice");
    assert_eq!(record.observed_delegation.as_ref(), Some(observed));
    assert!(
        findings.iter().all(|f| f.rule != Rule::ChainDisagreement),
        "{findings:#?}"
    );
    assert!(findings.is_empty(), "{findings:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_acting_as_someone_other_than_the_declared_actor_is_flagged() {
    let (_, record, findings) = audited_obo("agent-client-7").await;
    let asserted = record.asserted_chain.as_ref().unwrap();
    assert_eq!(asserted.agent, "agent-client-7");
    assert_eq!(asserted.workload.as_deref(), Some("deputy-agent"));
    let [finding] = &findings[..] else {
        panic!("expected one finding, got {findings:#?}")
    };
    assert_eq!(finding.rule, Rule::ChainDisagreement);
    assert_eq!(finding.task_id(), Some("obo-task"));
    assert!(
        finding.message.contains("\"aws-native\"")
            && finding.message.contains("\"agent-client-7\""),
        "{}",
        finding.message
    );
}
