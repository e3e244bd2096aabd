//! Faults between deputy and the Token Vault (and the IdP's JWKS): bounded retries with
//! backoff, the per-operation circuit breaker, timeouts, resets, a stalled JWKS endpoint and
//! a skewed IdP clock. Every resolve must come back, typed, within its deadline.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, SystemTime};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_bedrockagentcore::config::{Credentials, SharedCredentialsProvider};
use deputy::breaker::BreakerPolicy;
use deputy::vault::{CallPolicy, TokenVault};
use deputy::verify::TokenVerifier;
use deputy::{ResolveError, ResolvedToken, Resolver};
use deputy_core::{Operation, attr};
use deputy_tests::chaos::{ChaosProxy, Mode};
use deputy_tests::spans::SpanLog;
use deputy_vault_local::config::FaultRule;
use deputy_vault_local::{LocalVault, RunningVault, VaultConfig};
use tracing_subscriber::layer::SubscriberExt;

const TOKEN_OP: &str = "GetResourceOauth2Token";
/// Longer than any deadline below: a resolve still running by then has hung.
const HUNG: Duration = Duration::from_secs(20);

fn sdk(endpoint: &str) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "testing", "testing", None, None, "test",
        )))
        .endpoint_url(endpoint)
        .build()
}

/// Fast retries and timeouts so the tests take milliseconds, not seconds.
fn policy(failure_threshold: u32, open_for: Duration) -> CallPolicy {
    CallPolicy {
        max_attempts: 3,
        initial_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
        connect_timeout: Duration::from_millis(300),
        attempt_timeout: Duration::from_millis(300),
        operation_timeout: Duration::from_millis(1500),
        breaker: BreakerPolicy {
            failure_threshold,
            open_for,
        },
    }
}

async fn vault_with(faults: Vec<FaultRule>, skew: i64, ttl: u64) -> RunningVault {
    let mut config = VaultConfig::development();
    config.faults = faults;
    config.dev_idp.clock_skew_seconds = skew;
    config.dev_idp.access_token_ttl_seconds = ttl;
    LocalVault::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

fn token_fault(status: u16, times: Option<u64>) -> FaultRule {
    FaultRule {
        operation: Some(TOKEN_OP.into()),
        latency_ms: 0,
        error_rate: 1.0,
        status,
        times,
    }
}

fn resolver(vault: &RunningVault, endpoint: &str, policy: &CallPolicy) -> Resolver {
    common::builder(vault)
        .vault(TokenVault::connect(&sdk(endpoint), policy))
        .deadline(Duration::from_secs(5))
        .build()
        .unwrap()
}

async fn linear(resolver: &Resolver, task: &str) -> Result<ResolvedToken, ResolveError> {
    tokio::time::timeout(
        HUNG,
        resolver.resolve_linear_token(&common::headless(task), Operation::Read),
    )
    .await
    .expect("the resolve hung past its deadline")
}

#[tokio::test]
async fn a_burst_of_server_errors_is_retried_and_the_resolve_recovers() {
    let vault = vault_with(vec![token_fault(500, Some(2))], 0, 3600).await;
    let resolver = resolver(
        &vault,
        &vault.endpoint(),
        &policy(5, Duration::from_secs(30)),
    );
    let token = linear(&resolver, "burst").await.unwrap();
    assert!(token.expires_at > SystemTime::now());
    assert_eq!(
        vault.call_count(TOKEN_OP),
        3,
        "two failed attempts, then one success"
    );
}

#[tokio::test]
async fn retries_are_bounded_then_the_circuit_opens_fails_fast_and_recovers() {
    // Six failures: two resolves of three attempts each; then the vault is healthy again.
    let vault = vault_with(vec![token_fault(500, Some(6))], 0, 3600).await;
    let resolver = resolver(
        &vault,
        &vault.endpoint(),
        &policy(2, Duration::from_millis(400)),
    );
    for task in ["down-1", "down-2"] {
        let err = linear(&resolver, task).await.unwrap_err();
        assert!(err.is_vault_unavailable(), "{err}");
    }
    assert_eq!(
        vault.call_count(TOKEN_OP),
        6,
        "3 attempts per call, no more"
    );

    let err = linear(&resolver, "down-3").await.unwrap_err();
    assert!(
        err.is_vault_unavailable(),
        "an open circuit is still 'unavailable': {err}"
    );
    assert!(err.to_string().contains("circuit breaker is open"), "{err}");
    assert!(
        err.retry_after()
            .is_some_and(|d| d <= Duration::from_millis(400))
    );
    assert_eq!(
        vault.call_count(TOKEN_OP),
        6,
        "the open circuit did not call the vault"
    );
    assert!(
        vault.call_count("GetWorkloadAccessToken") >= 3,
        "other operations keep their own, closed circuit"
    );

    tokio::time::sleep(Duration::from_millis(450)).await;
    let token = linear(&resolver, "probe").await.unwrap();
    assert!(token.expires_at > SystemTime::now());
    assert_eq!(
        vault.call_count(TOKEN_OP),
        7,
        "one probe closed the circuit"
    );
    linear(&resolver, "closed").await.unwrap();
}

#[tokio::test]
async fn throttling_is_retried_but_never_opens_the_circuit() {
    let vault = vault_with(vec![token_fault(429, None)], 0, 3600).await;
    let resolver = resolver(
        &vault,
        &vault.endpoint(),
        &policy(1, Duration::from_secs(30)),
    );
    for (i, task) in ["busy-1", "busy-2"].into_iter().enumerate() {
        let err = linear(&resolver, task).await.unwrap_err();
        assert_eq!(err.retry_after(), Some(Duration::from_secs(1)), "{err}");
        assert!(!err.to_string().contains("circuit"), "{err}");
        assert_eq!(vault.call_count(TOKEN_OP), 3 * (i as u64 + 1));
    }
}

#[tokio::test]
async fn connection_resets_are_retried_boundedly_and_the_client_recovers() {
    let vault = vault_with(Vec::new(), 0, 3600).await;
    let proxy = ChaosProxy::start(vault.local_addr()).await.unwrap();
    let resolver = resolver(
        &vault,
        &proxy.url_for(&vault.endpoint()),
        &policy(100, Duration::from_secs(30)),
    );
    proxy.set(Mode::Reset);
    let err = linear(&resolver, "reset").await.unwrap_err();
    assert!(err.is_vault_unavailable(), "{err}");
    let tried = proxy.connections();
    assert!(
        (1..=3).contains(&tried),
        "the WAT call was attempted at most 3 times, not {tried}"
    );
    proxy.set(Mode::Pass);
    linear(&resolver, "after-reset").await.unwrap();
}

#[tokio::test]
async fn a_vault_that_never_answers_times_out_and_no_task_hangs() {
    let vault = vault_with(Vec::new(), 0, 3600).await;
    let proxy = ChaosProxy::start(vault.local_addr()).await.unwrap();
    let resolver = resolver(
        &vault,
        &proxy.url_for(&vault.endpoint()),
        &policy(1_000, Duration::from_secs(30)),
    );
    proxy.set(Mode::Stall);
    let tasks: Vec<_> = (0..32)
        .map(|i| {
            let resolver = resolver.clone();
            tokio::spawn(async move { linear(&resolver, &format!("stalled-{i}")).await })
        })
        .collect();
    for task in tasks {
        let err = task.await.unwrap().unwrap_err();
        assert!(err.is_vault_unavailable(), "{err}");
        assert!(err.to_string().contains("timed out"), "{err}");
    }
}

#[tokio::test]
async fn a_stalled_jwks_endpoint_ends_at_the_deadline_and_a_dead_idp_fails_verification() {
    let vault = vault_with(Vec::new(), 0, 3600).await;
    let jwks = format!("{}/jwks", vault.idp_issuer());
    let proxy = ChaosProxy::start_for_url(&jwks).await.unwrap();
    // Each phase fetches the JWKS again: no backoff between failed fetches here (that has its
    // own tests in jwks_refresh.rs).
    let verifier = TokenVerifier::new(vault.idp_issuer(), proxy.url_for(&jwks), ["aws-native"])
        .min_refresh(Duration::ZERO);
    let resolver = common::builder(&vault)
        .verifier("aws-native", verifier)
        .deadline(Duration::from_millis(800))
        .build()
        .unwrap();
    let task = common::interactive(&vault, "alice", "obo");
    let resolve = || {
        tokio::time::timeout(
            HUNG,
            resolver.resolve_aws_native_token(&task, Operation::Write),
        )
    };

    proxy.set(Mode::Stall);
    let log = SpanLog::default();
    let guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(log.layer()));
    let err = resolve().await.expect("hung").unwrap_err();
    drop(guard);
    assert!(
        matches!(err, ResolveError::DeadlineExceeded { deadline, .. } if deadline == Duration::from_millis(800)),
        "{err}"
    );
    // The span still says what was decided before time ran out, and why it failed.
    let spans = log.named(attr::SPAN_RESOLVE);
    assert_eq!(spans.len(), 1, "{spans:?}");
    assert_eq!(spans[0][attr::ERROR_KIND], "deadline_exceeded");
    assert_eq!(spans[0][attr::FLOW], "on_behalf_of");
    assert_eq!(spans[0][attr::PROVIDER], "aws-native");
    assert!(
        spans[0][attr::ACTOR_CHAIN_ASSERTED].contains("alice"),
        "{spans:?}"
    );
    assert!(!spans[0].contains_key(attr::TOKEN_FINGERPRINT));

    proxy.set(Mode::Reset);
    let err = resolve().await.expect("hung").unwrap_err();
    assert!(
        matches!(&err, ResolveError::InvalidToken { provider, .. } if provider == "aws-native"),
        "{err}"
    );

    proxy.set(Mode::Pass);
    let token = resolve().await.expect("hung").unwrap();
    assert_eq!(token.observed.unwrap().subject.sub, "alice");
}

#[tokio::test]
async fn an_idp_clock_five_minutes_off_is_tolerated_and_expired_tokens_are_never_served() {
    // Eight-minute tokens: behind, the token's own `exp` (three minutes away) bounds reuse;
    // ahead, deputy's reuse cap (ten minutes) does, not the IdP's far-off `exp`.
    for (skew, reuse) in [(-300, 180), (300, 600)] {
        let vault = vault_with(Vec::new(), skew, 480).await;
        let resolver = common::builder(&vault).build().unwrap();
        let m2m = linear(&resolver, "skewed").await.unwrap();
        let expected = SystemTime::now() + Duration::from_secs(reuse);
        let off = expected
            .duration_since(m2m.expires_at)
            .or_else(|_| m2m.expires_at.duration_since(expected))
            .unwrap();
        assert!(off <= Duration::from_secs(5), "skew {skew}: off by {off:?}");
        let task = common::interactive(&vault, "alice", "skewed-obo");
        let obo = resolver
            .resolve_aws_native_token(&task, Operation::Write)
            .await
            .unwrap_or_else(|e| panic!("skew {skew}: {e}"));
        assert!(obo.observed.is_some());
    }

    // An IdP five minutes behind, issuing four-minute tokens: they arrive expired.
    let vault = vault_with(Vec::new(), -300, 240).await;
    let resolver = common::builder(&vault).build().unwrap();
    for attempt in 1..=2 {
        let err = linear(&resolver, "late").await.unwrap_err();
        assert!(
            matches!(&err, ResolveError::InvalidToken { reason, .. } if reason.contains("already expired")),
            "{err}"
        );
        assert_eq!(
            vault.call_count(TOKEN_OP),
            attempt,
            "an expired token is not cached"
        );
    }
    let task = common::interactive(&vault, "alice", "late-obo");
    let err = resolver
        .resolve_aws_native_token(&task, Operation::Write)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "invalid_token", "{err}");
}

#[tokio::test]
async fn an_idp_behind_the_vault_that_is_down_is_a_clear_error_not_an_outage() {
    // A port nothing listens on: the provider's token endpoint is down.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let token_endpoint = format!("http://{}/token", dead.local_addr().unwrap());
    drop(dead);
    let mut config = VaultConfig::development();
    let provider = config
        .providers
        .iter_mut()
        .find(|p| p.name == "linear-service")
        .unwrap();
    provider.source = deputy_vault_local::config::ProviderSource::Metadata {
        issuer: "http://127.0.0.1:9/idp".into(),
        authorization_endpoint: "http://127.0.0.1:9/idp/authorize".into(),
        token_endpoint,
    };
    provider.client_id = Some("linear-client".into());
    provider.client_secret = Some("linear-secret".into());
    let vault = LocalVault::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let resolver = resolver(
        &vault,
        &vault.endpoint(),
        &policy(1, Duration::from_secs(30)),
    );
    for task in ["idp-down-1", "idp-down-2"] {
        let err = linear(&resolver, task).await.unwrap_err();
        assert_eq!(err.kind(), "vault", "{err}");
        assert!(!err.is_vault_unavailable(), "the vault answered: {err}");
        assert!(err.to_string().contains("could not be reached"), "{err}");
    }
    assert_eq!(
        vault.call_count(TOKEN_OP),
        2,
        "a failing IdP is not retried and does not open the vault's circuit"
    );
}
