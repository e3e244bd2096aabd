//! Issue #19 item 5: the Secrets Manager fallback never swaps a user's token for the shared
//! secret unless the table says so (and the audit record then says it did), and throttling
//! reaches the fallback only once retries have run out within the deadline.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_bedrockagentcore::config::{Credentials, SharedCredentialsProvider};
use common::moto::Moto;
use deputy::Resolver;
use deputy::fallback::{DowngradeLatch, REPLACED_USER, SecretReader, SecretsManagerFallback};
use deputy::vault::{CallPolicy, TokenVault};
use deputy_core::audit::CredentialSource;
use deputy_core::policy::PolicyTable;
use deputy_core::{Operation, attr};
use deputy_tests::spans::SpanLog;
use deputy_vault_local::config::FaultRule;
use deputy_vault_local::{LocalVault, RunningVault, VaultConfig};
use tracing_subscriber::layer::SubscriberExt;

const TOKEN_OP: &str = "GetResourceOauth2Token";
const SHARED: &str = "lin_oauth_SharedLinearTokenForThrottling";

/// Service reads of Linear may fall back; so may interactive Linear, which replaces the user's
/// token and says so.
fn policy() -> PolicyTable {
    let text = PolicyTable::built_in_source()
        .replace(
            "id = \"service-read\"",
            "id = \"service-read\"\nsecrets_manager_fallback = true",
        )
        .replace(
            "id = \"linear-interactive\"",
            "id = \"linear-interactive\"\nsecrets_manager_fallback = true\nfallback_replaces_user = true",
        );
    let text = format!(
        "{text}\n[fallback.linear]\nsecret_id = \"linear-shared\"\nshape = \"raw\"\n[fallback.jira]\nsecret_id = \"jira-shared\"\nshape = \"raw\"\n[fallback.slack]\nsecret_id = \"slack-shared\"\nshape = \"raw\"\n[fallback.aws-native]\nsecret_id = \"aws-shared\"\nshape = \"raw\"\n"
    );
    PolicyTable::from_toml("fallback.toml", &text).unwrap()
}

async fn vault_failing(status: u16, times: Option<u64>) -> RunningVault {
    let mut config = VaultConfig::development();
    config.faults.push(FaultRule {
        operation: Some(TOKEN_OP.into()),
        latency_ms: 0,
        error_rate: 1.0,
        status,
        times,
    });
    LocalVault::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

/// The SDK's standard retries, three attempts per call, with millisecond backoffs.
fn vault_client(vault: &RunningVault) -> TokenVault {
    let sdk = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "testing", "testing", None, None, "test",
        )))
        .endpoint_url(vault.endpoint())
        .build();
    TokenVault::connect(
        &sdk,
        &CallPolicy {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(20),
            ..CallPolicy::default()
        },
    )
}

async fn resolver(moto: &Moto, vault: &RunningVault) -> (Resolver, Arc<SecretsManagerFallback>) {
    let latch = std::env::temp_dir()
        .join(format!(
            "deputy-latch-users-{}-{}",
            std::process::id(),
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ))
        .join("latch.json");
    let fallback = Arc::new(SecretsManagerFallback::new(
        SecretReader::new(moto.sdk().await),
        DowngradeLatch::open(latch).await.unwrap(),
        true,
    ));
    let resolver = common::builder(vault)
        .vault(vault_client(vault))
        .policy(policy())
        .fallback(fallback.clone())
        .deadline(Duration::from_secs(10))
        .build()
        .unwrap();
    (resolver, fallback)
}

#[tokio::test]
async fn throttling_past_the_sdks_retries_is_retried_before_the_fallback_may_serve() {
    let moto = Moto::start().await;
    moto.put_secret("linear-shared", SHARED).await;
    // Three 429s: every attempt of one SDK call (or one attempt, once a caller's flood has
    // drained the SDK's retry quota). The vault answers the next call.
    let vault = vault_failing(429, Some(3)).await;
    let (resolver, fallback) = resolver(&moto, &vault).await;
    let token = resolver
        .resolve_linear_token(&common::headless("t-throttled"), Operation::Read)
        .await
        .unwrap();
    assert_eq!(
        token.source,
        CredentialSource::Vault,
        "a throttled vault was replaced by the shared secret while retries remained: {:?}",
        token.fallback_reason
    );
    assert_ne!(token.token.expose(), SHARED);
    assert_eq!(fallback.issued(), 0);
    assert_eq!(
        vault.call_count(TOKEN_OP),
        4,
        "three throttled attempts, then one served"
    );
}

#[tokio::test]
async fn persistent_throttling_falls_back_once_retries_run_out_within_the_deadline() {
    let moto = Moto::start().await;
    moto.put_secret("linear-shared", SHARED).await;
    let vault = vault_failing(429, None).await;
    let (resolver, fallback) = resolver(&moto, &vault).await;
    let token = resolver
        .resolve_linear_token(&common::headless("t-busy"), Operation::Read)
        .await
        .unwrap();
    assert_eq!(token.source, CredentialSource::SecretsManagerFallback);
    assert!(
        token
            .fallback_reason
            .as_deref()
            .unwrap()
            .contains("Throttled"),
        "{:?}",
        token.fallback_reason
    );
    assert_eq!(
        vault.call_count(TOKEN_OP),
        3 * u64::from(1 + deputy::fallback::THROTTLE_RETRIES),
        "the SDK's attempts, for the first call and each of deputy's retries"
    );
    assert_eq!(fallback.issued(), 1);
    // A rule without the fallback is not retried by deputy: the typed outage comes back.
    let err = resolver
        .resolve_jira_token(
            &common::interactive(&vault, "alice", "t-jira"),
            Operation::Read,
        )
        .await
        .unwrap_err();
    assert!(err.is_vault_unavailable(), "{err}");
    assert_eq!(
        vault.call_count(TOKEN_OP),
        3 * u64::from(2 + deputy::fallback::THROTTLE_RETRIES)
    );
}

#[tokio::test]
async fn a_fallback_that_replaces_a_users_token_says_so_in_its_audit_record() {
    let moto = Moto::start().await;
    moto.put_secret("linear-shared", SHARED).await;
    let vault = vault_failing(500, None).await;
    let (resolver, fallback) = resolver(&moto, &vault).await;
    let log = SpanLog::default();
    let guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(log.layer()));
    let user = resolver
        .resolve_linear_token(
            &common::interactive(&vault, "alice", "t-user"),
            Operation::Read,
        )
        .await
        .unwrap();
    let service = resolver
        .resolve_linear_token(&common::headless("t-service"), Operation::Read)
        .await
        .unwrap();
    drop(guard);
    assert_eq!(fallback.issued(), 2);
    let spans = log.named(attr::SPAN_RESOLVE);
    let reason_of = |rule: &str| {
        spans
            .iter()
            .find(|s| s[attr::RULE_ID] == rule)
            .unwrap_or_else(|| panic!("no span for {rule}: {spans:?}"))[attr::FALLBACK_REASON]
            .clone()
    };
    let (user_reason, service_reason) =
        (reason_of("linear-interactive"), reason_of("service-read"));
    assert!(user_reason.starts_with(REPLACED_USER), "{user_reason}");
    assert!(!service_reason.contains(REPLACED_USER), "{service_reason}");
    assert_eq!(user.fallback_reason.as_deref(), Some(user_reason.as_str()));
    assert_eq!(service.source, CredentialSource::SecretsManagerFallback);
}
