//! The secret-hygiene canary on the paths the first canary (`secret_hygiene.rs`) does not walk:
//! a GitHub App installation token, the Secrets Manager fallback, a webhook's consent, the
//! return-URL router (with its session cookie), and a Runtime-delivered WAT. Every WAT, token,
//! key, session URI and `customState` the run handled is searched for in every log line (TRACE,
//! every crate), every span field, and the `Debug` and `Display` of every value returned.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod github_fake;

use std::sync::Arc;

use deputy::callback::{SignedSessionCookie, consent_callback_router};
use deputy::fallback::{DowngradeLatch, SecretReader, SecretsManagerFallback};
use deputy::task::Task;
use deputy::{ResolveError, UserToken};
use deputy_core::policy::PolicyTable;
use deputy_core::{Operation, TaskId, UserId};
use deputy_tests::canary::Canary;
use deputy_tests::captured::Captured;
use deputy_tests::moto::Moto;
use deputy_tests::recording_proxy::RecordingProxy;
use deputy_tests::spans::SpanLog;
use deputy_vault_local::config::FaultRule;
use deputy_vault_local::{LocalVault, VaultConfig, complete_consent_as_browser};
use tracing_subscriber::layer::SubscriberExt;

const PAT: &str = "ghp_SharedPatCanaryValueForTheHygieneTest01";

/// The built-in table with the Secrets Manager fallback on GitHub service reads.
fn fallback_policy() -> PolicyTable {
    let text = PolicyTable::built_in_source().replace(
        "id = \"github-service-read\"",
        "id = \"github-service-read\"\nsecrets_manager_fallback = true",
    );
    let text = format!("{text}\n[fallback.github]\nsecret_id = \"github-pat\"\nshape = \"raw\"\n");
    PolicyTable::from_toml("fallback.toml", &text).unwrap()
}

#[tokio::test]
async fn no_secret_leaks_on_the_app_fallback_webhook_callback_and_runtime_paths() {
    let captured = Captured::default();
    let writer = captured.clone();
    let log = SpanLog::default();
    let subscriber = tracing_subscriber::registry()
        .with(log.layer())
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(move || writer.clone())
                .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
                .with_ansi(false),
        )
        // Everything at TRACE, but the dependencies' capability dumps that every deputy
        // binary caps (`deputy::log_filter`): the SDK's orchestrator prints session URIs.
        .with(tracing_subscriber::EnvFilter::new("trace"))
        .with(deputy::log_filter::secret_dump_caps());
    let _guard = tracing::subscriber::set_default(subscriber);
    let mut canary = Canary::default();
    let mut shown: Vec<String> = Vec::new();

    // The GitHub App: its private key and the installation token it mints.
    let app = github_fake::setup::setup(&["app"], github_fake::setup::ALL).await;
    canary.add("github app private key", &app.key.pem);
    let allow = Arc::new(github_fake::setup::Fixed(
        deputy::repo_auth::RepoDecision::Allow {
            decided_at: std::time::SystemTime::now(),
        },
    ));
    let app_resolver = github_fake::setup::resolver(&app, Some(allow));
    let installation = app_resolver
        .resolve_github_token(
            &common::headless("hygiene-app"),
            Operation::Write,
            &github_fake::setup::repo("app"),
        )
        .await
        .unwrap();
    canary.add("installation token", installation.token.expose());
    shown.push(format!("{installation:?}"));

    // The fallback: the vault fails, the shared PAT is served (loudly).
    let moto = Moto::start().await;
    moto.put_secret("github-pat", PAT).await;
    canary.add("fallback PAT", PAT);
    let mut config = VaultConfig::development();
    config.faults.push(FaultRule {
        operation: Some("GetResourceOauth2Token".into()),
        latency_ms: 0,
        error_rate: 1.0,
        status: 500,
        times: None,
    });
    let failing = LocalVault::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let latch = std::env::temp_dir().join(format!(
        "deputy-hygiene-latch-{}/latch.json",
        std::process::id()
    ));
    let fallback = Arc::new(SecretsManagerFallback::new(
        SecretReader::new(moto.sdk().await),
        DowngradeLatch::open(&latch).await.unwrap(),
        true,
    ));
    let fallback_resolver = common::builder_allowing_repos(&failing)
        .policy(fallback_policy())
        .fallback(fallback)
        .build()
        .unwrap();
    let served = fallback_resolver
        .resolve_github_token(
            &common::headless("hygiene-fallback"),
            Operation::Read,
            &github_fake::setup::repo("app"),
        )
        .await
        .unwrap();
    assert_eq!(served.token.expose(), PAT);
    shown.push(format!("{served:?}"));

    // The vault behind a recording proxy: every WAT and token it hands out is learned there.
    let vault = common::vault().await;
    let proxy = RecordingProxy::start(&vault.endpoint()).await;
    let cookies = Arc::new(
        SignedSessionCookie::new(b"hygiene test key, 32 bytes long!".to_vec())
            .unwrap()
            .secure(false),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let return_url = format!("http://{}/deputy/callback", listener.local_addr().unwrap());
    let sdk = aws_sdk_bedrockagentcore::Config::builder()
        .behavior_version(aws_sdk_bedrockagentcore::config::BehaviorVersion::latest())
        .region(aws_sdk_bedrockagentcore::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_bedrockagentcore::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .endpoint_url(&proxy.endpoint)
        .build();
    let client = deputy::vault::TokenVault::new(aws_sdk_bedrockagentcore::Client::from_conf(sdk));
    let resolver = common::builder(&vault)
        .vault(client.clone())
        .return_url(&return_url)
        .build()
        .unwrap();
    let router = consent_callback_router(resolver.clone(), "/deputy/callback", cookies.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });

    // A webhook write: the consent link is posted, never logged.
    let webhook = resolver
        .resolve_slack_token(&common::webhook("bob", "hygiene-webhook"), Operation::Write)
        .await
        .unwrap_err();
    let ResolveError::ConsentRequired(consent, _) = &webhook else {
        panic!("{webhook}")
    };
    canary.add("webhook consent URL", &consent.authorization_url);
    canary.add("webhook session URI", &consent.session_uri);
    shown.push(format!("{webhook} {webhook:?}"));

    // The return-URL router: the session, its state and the browser's session cookie.
    let alice = common::interactive(&vault, "alice", "hygiene-callback");
    if let deputy::vault::WatBinding::Jwt(jwt) = alice.wat().binding() {
        canary.add("alice's JWT", jwt.token().expose());
    }
    let pending = resolver
        .resolve_slack_token(&alice, Operation::Read)
        .await
        .unwrap_err();
    let ResolveError::ConsentRequired(consent, _) = &pending else {
        panic!("{pending}")
    };
    canary.add("callback consent URL", &consent.authorization_url);
    canary.add("callback session URI", &consent.session_uri);
    let seen = complete_consent_as_browser(&consent.authorization_url, "alice", "alice")
        .await
        .unwrap();
    let state = reqwest::Url::parse(&seen.return_url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "custom_state")
        .unwrap()
        .1
        .into_owned();
    canary.add("customState", &state);
    let cookie = cookies.issue(&UserId::from_parts("dev", "alice").unwrap());
    canary.add("session cookie", &cookie);
    let bound = reqwest::Client::new()
        .get(&seen.return_url)
        .header("cookie", format!("deputy_session={cookie}"))
        .send()
        .await
        .unwrap();
    assert_eq!(bound.status(), 200);
    let three_lo = resolver
        .resolve_slack_token(&alice, Operation::Read)
        .await
        .unwrap();
    shown.push(format!("{three_lo:?}"));

    // A Runtime-delivered WAT.
    let wat = client
        .workload_access_token(
            common::WORKLOAD,
            &deputy::vault::WatBinding::UserId(UserId::from_parts("dev", "bob").unwrap()),
        )
        .await
        .unwrap();
    let runtime = Task::from_runtime_headers(
        TaskId::new("hygiene-runtime").unwrap(),
        [
            ("WorkloadAccessToken", wat.expose()),
            ("X-Amzn-Bedrock-AgentCore-Runtime-User-Id", "dev+bob"),
        ],
    )
    .unwrap();
    shown.push(format!("{runtime:?}"));
    let m2m = resolver
        .resolve_linear_token(&runtime, Operation::Read)
        .await
        .unwrap();
    shown.push(format!("{m2m:?} {resolver:?}"));
    shown.push(format!("{:?}", UserToken::new(cookie.clone())));

    canary.merge(&proxy.canary());
    for label in [".workloadAccessToken", ".accessToken"] {
        assert!(
            canary.labels().iter().any(|l| l.contains(label)),
            "the proxy saw a {label}: {:?}",
            canary.labels()
        );
    }
    let text = captured.text();
    assert!(
        text.contains("deputy.consent_callback"),
        "the router's span was captured"
    );
    let haystack = format!("{text}\n{:?}\n{}", log.closed(), shown.join("\n"));
    canary.assert_clean("logs, spans, Debug and errors", &haystack);
}
