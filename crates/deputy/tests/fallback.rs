//! The Secrets Manager fallback against a real moto_server and the local vault's fault injection.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::moto::Moto;
use deputy::fallback::{
    DowngradeLatch, SecretReader, SecretsManagerFallback, ServiceCredentials, TokenBroker,
};
use deputy_core::audit::CredentialSource;
use deputy_core::policy::{AssumeRole, PolicyTable};
use deputy_core::{Operation, RepoRef};
use deputy_vault_local::config::FaultRule;
use deputy_vault_local::{LocalVault, RunningVault, VaultConfig};

const CENTRAL_ROLE: &str = "arn:aws:iam::111122223333:role/central-secrets-reader";

fn policy(github_fallback: &str) -> PolicyTable {
    let text = PolicyTable::built_in_source()
        .replace(
            "id = \"github-service-read\"",
            "id = \"github-service-read\"\nsecrets_manager_fallback = true",
        )
        .replace(
            "id = \"github-headless-write\"",
            "id = \"github-headless-write\"\nsecrets_manager_fallback = true",
        )
        .replace(
            "id = \"linear-interactive\"",
            "id = \"linear-interactive\"\nsecrets_manager_fallback = true\nfallback_replaces_user = true",
        );
    let text = format!(
        "{text}\n[fallback.github]\n{github_fallback}\n[fallback.linear]\nsecret_id = \"bgagent-linear-oauth-acme\"\nshape = \"json\"\nexpires_field = \"expires_at\"\n"
    );
    PolicyTable::from_toml("fallback.toml", &text).unwrap()
}

fn raw_github() -> &'static str {
    "secret_id = \"github-pat\"\nshape = \"raw\""
}

async fn vault_with(status: Option<u16>) -> RunningVault {
    let mut config = VaultConfig::development();
    if let Some(status) = status {
        config.faults.push(FaultRule {
            operation: Some("GetResourceOauth2Token".into()),
            latency_ms: 0,
            error_rate: 1.0,
            status,
            times: None,
        });
    }
    LocalVault::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

fn latch_path(name: &str) -> std::path::PathBuf {
    std::env::temp_dir()
        .join(format!(
            "deputy-latch-{}-{name}-{}",
            std::process::id(),
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ))
        .join("latch.json")
}

async fn fallback(
    moto: &Moto,
    latch: &std::path::Path,
    enabled: bool,
) -> Arc<SecretsManagerFallback> {
    let reader = SecretReader::new(moto.sdk().await);
    Arc::new(SecretsManagerFallback::new(
        reader,
        DowngradeLatch::open(latch).await.unwrap(),
        enabled,
    ))
}

async fn seed(moto: &Moto) {
    moto.put_secret("github-pat", "ghp_SharedPatValueForTheFallbackTest000001")
        .await;
    let exp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600;
    moto.put_secret("bgagent-linear-oauth-acme", &format!(r#"{{"access_token":"lin_oauth_SharedLinearToken","refresh_token":"lin_refresh_x","expires_at":{exp},"workspace_slug":"acme"}}"#)).await;
}

#[tokio::test]
async fn vault_outages_are_served_from_the_shared_secret_loudly() {
    let moto = Moto::start().await;
    seed(&moto).await;
    for status in [500, 429] {
        let vault = vault_with(Some(status)).await;
        let fb = fallback(&moto, &latch_path("outage"), true).await;
        let resolver = common::builder_allowing_repos(&vault)
            .policy(policy(raw_github()))
            .fallback(fb.clone())
            .build()
            .unwrap();
        let token = resolver
            .resolve_github_token(
                &common::webhook("alice", "t-outage"),
                Operation::Read,
                &"o/r".parse().unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(
            token.source,
            CredentialSource::SecretsManagerFallback,
            "status {status}"
        );
        assert_eq!(
            token.token.expose(),
            "ghp_SharedPatValueForTheFallbackTest000001"
        );
        assert!(
            token
                .fallback_reason
                .as_deref()
                .unwrap()
                .contains("unavailable")
        );
        assert_eq!(fb.issued(), 1);
        assert!(
            vault.call_count("GetResourceOauth2Token") >= 2,
            "the SDK retried before giving up"
        );
        // JSON shape (Linear-style): the token and its expiry.
        let linear = resolver
            .resolve_linear_token(
                &common::interactive(&vault, "alice", "t-lin"),
                Operation::Read,
            )
            .await
            .unwrap();
        assert_eq!(linear.token.expose(), "lin_oauth_SharedLinearToken");
        assert!(linear.expires_at > SystemTime::now() + Duration::from_secs(3000));
        assert_eq!(fb.issued(), 2);
    }
    // The vault is gone altogether (connection refused).
    let vault = vault_with(None).await;
    let fb = fallback(&moto, &latch_path("down"), true).await;
    let resolver = common::builder_allowing_repos(&vault)
        .policy(policy(raw_github()))
        .fallback(fb.clone())
        .build()
        .unwrap();
    vault.shutdown().await;
    let token = resolver
        .resolve_github_token(
            &common::headless("t-down"),
            Operation::Read,
            &"o/r".parse().unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(token.source, CredentialSource::SecretsManagerFallback);
}

#[tokio::test]
async fn never_for_consent_denials_repo_authorization_or_with_the_flag_off() {
    let moto = Moto::start().await;
    seed(&moto).await;
    let healthy = vault_with(None).await;
    let fb = fallback(&moto, &latch_path("never"), true).await;
    let resolver = common::builder(&healthy)
        .policy(policy(raw_github()))
        .fallback(fb.clone())
        .build()
        .unwrap();
    let err = resolver
        .resolve_linear_token(
            &common::interactive(&healthy, "alice", "t-c"),
            Operation::Read,
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "consent_required");
    let repo: RepoRef = "o/r".parse().unwrap();
    let err = resolver
        .resolve_github_token(&common::headless("t-w"), Operation::Write, &repo)
        .await
        .unwrap_err();
    assert_eq!(
        err.kind(),
        "repo_not_authorized",
        "no PAT fallback for an unauthorized write"
    );

    let denied = vault_with(Some(403)).await;
    let resolver = common::builder_allowing_repos(&denied)
        .policy(policy(raw_github()))
        .fallback(fb.clone())
        .build()
        .unwrap();
    let err = resolver
        .resolve_github_token(&common::headless("t-d"), Operation::Read, &repo)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "access_denied", "{err}");
    assert_eq!(fb.issued(), 0);

    let down = vault_with(Some(500)).await;
    let off = fallback(&moto, &latch_path("off"), false).await;
    let resolver = common::builder_allowing_repos(&down)
        .policy(policy(raw_github()))
        .fallback(off.clone())
        .build()
        .unwrap();
    let err = resolver
        .resolve_github_token(&common::headless("t-off"), Operation::Read, &repo)
        .await
        .unwrap_err();
    assert!(err.is_vault_unavailable(), "{err}");
    assert_eq!(off.issued(), 0);
    // A rule that does not allow the fallback (GitHub webhook write) never uses it.
    let on = fallback(&moto, &latch_path("rule"), true).await;
    let resolver = common::builder_allowing_repos(&down)
        .policy(policy(raw_github()))
        .fallback(on.clone())
        .build()
        .unwrap();
    let err = resolver
        .resolve_slack_token(&common::headless("t-slack"), Operation::Read)
        .await
        .unwrap_err();
    assert!(err.is_vault_unavailable(), "{err}");
    assert_eq!(on.issued(), 0);
}

#[tokio::test]
async fn the_latch_holds_across_restarts_until_an_operator_clears_it() {
    let moto = Moto::start().await;
    seed(&moto).await;
    let path = latch_path("latch");
    let repo: RepoRef = "o/r".parse().unwrap();
    let healthy = vault_with(None).await;
    let resolver = common::builder_allowing_repos(&healthy)
        .policy(policy(raw_github()))
        .fallback(fallback(&moto, &path, true).await)
        .build()
        .unwrap();
    let served = resolver
        .resolve_github_token(&common::headless("t-1"), Operation::Read, &repo)
        .await
        .unwrap();
    assert_eq!(served.source, CredentialSource::Vault);
    assert!(
        std::fs::read_to_string(&path)
            .unwrap()
            .contains("workload:deputy-agent|github")
    );

    // "Restart" against a vault that is now failing: the latch file is read back.
    let down = vault_with(Some(500)).await;
    let fb = fallback(&moto, &path, true).await;
    let resolver = common::builder_allowing_repos(&down)
        .policy(policy(raw_github()))
        .fallback(fb.clone())
        .build()
        .unwrap();
    let err = resolver
        .resolve_github_token(&common::headless("t-2"), Operation::Read, &repo)
        .await
        .unwrap_err();
    assert!(err.is_vault_unavailable(), "{err}");
    assert_eq!(
        fb.issued(),
        0,
        "no downgrade after the vault has served this principal"
    );
    assert!(
        fb.latch()
            .clear("workload:deputy-agent", "github")
            .await
            .unwrap()
    );
    let token = resolver
        .resolve_github_token(&common::headless("t-3"), Operation::Read, &repo)
        .await
        .unwrap();
    assert_eq!(token.source, CredentialSource::SecretsManagerFallback);
}

#[tokio::test]
async fn malformed_secrets_fail_clearly_without_showing_the_value() {
    let moto = Moto::start().await;
    moto.put_secret(
        "bgagent-linear-oauth-acme",
        r#"{"token":"lin_oauth_LeakCanaryValue","expires_at":4102444800}"#,
    )
    .await;
    let down = vault_with(Some(500)).await;
    let resolver = common::builder_allowing_repos(&down)
        .policy(policy(raw_github()))
        .fallback(fallback(&moto, &latch_path("bad"), true).await)
        .build()
        .unwrap();
    let err = resolver
        .resolve_linear_token(
            &common::interactive(&down, "alice", "t-bad"),
            Operation::Read,
        )
        .await
        .unwrap_err();
    let shown = format!("{err} | {err:?}");
    assert_eq!(err.kind(), "fallback_failed");
    assert!(
        shown.contains("bgagent-linear-oauth-acme") && shown.contains("\"access_token\""),
        "{shown}"
    );
    assert!(!shown.contains("LeakCanaryValue"), "{shown}");
    // A secret that does not exist names the secret and what to check.
    let err = resolver
        .resolve_github_token(
            &common::headless("t-missing"),
            Operation::Read,
            &"o/r".parse().unwrap(),
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("github-pat")
            && err.to_string().contains("ResourceNotFoundException"),
        "{err}"
    );
}

#[tokio::test]
async fn central_account_secrets_are_read_through_assume_role() {
    let moto = Moto::start().await;
    moto.put_secret_as_role(
        CENTRAL_ROLE,
        "central-github-pat",
        "ghp_CentralAccountPat00000000000000000001",
    )
    .await;
    let down = vault_with(Some(500)).await;
    let repo: RepoRef = "o/r".parse().unwrap();
    let via_role = format!(
        "secret_id = \"central-github-pat\"\nshape = \"raw\"\nrole_arn = \"{CENTRAL_ROLE}\"\nexternal_id = \"deputy-test\""
    );
    let resolver = common::builder_allowing_repos(&down)
        .policy(policy(&via_role))
        .fallback(fallback(&moto, &latch_path("xacct"), true).await)
        .build()
        .unwrap();
    let token = resolver
        .resolve_github_token(&common::headless("t-x"), Operation::Read, &repo)
        .await
        .unwrap();
    assert_eq!(
        token.token.expose(),
        "ghp_CentralAccountPat00000000000000000001"
    );
    // Without the role the secret is not in this account.
    let local = common::builder_allowing_repos(&down)
        .policy(policy(
            "secret_id = \"central-github-pat\"\nshape = \"raw\"",
        ))
        .fallback(fallback(&moto, &latch_path("xacct-direct"), true).await)
        .build()
        .unwrap();
    let err = local
        .resolve_github_token(&common::headless("t-y"), Operation::Read, &repo)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("ResourceNotFoundException"),
        "{err}"
    );
}

#[tokio::test]
async fn the_token_broker_mints_service_tokens_from_central_client_credentials() {
    let moto = Moto::start().await;
    let mut config = VaultConfig::development();
    config
        .dev_idp
        .clients
        .push(deputy_vault_local::config::DevClient {
            client_id: "mcp-service".into(),
            client_secret: deputy_vault_local::Sensitive::new(
                "service-client-secret-value".to_owned(),
            ),
            redirect_uris: vec![],
        });
    let vault = LocalVault::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    moto.put_secret_as_role(
        CENTRAL_ROLE,
        "mcp-service-client",
        r#"{"client_id":"mcp-service","client_secret":"service-client-secret-value"}"#,
    )
    .await;
    let broker = TokenBroker::new(
        SecretReader::new(moto.sdk().await),
        ServiceCredentials {
            secret_id: "mcp-service-client".into(),
            assume_role: Some(AssumeRole {
                role_arn: CENTRAL_ROLE.into(),
                external_id: None,
            }),
            token_endpoint: format!("{}/token", vault.idp_issuer()),
            scopes: vec!["mcp:invoke".into()],
        },
    );
    let ctx = common::headless("t-broker").ctx().clone();
    let (token, expires_at) = broker.service_token(&ctx).await.unwrap();
    assert!(expires_at > SystemTime::now());
    let (again, _) = broker.service_token(&ctx).await.unwrap();
    assert_eq!(token, again, "cached until shortly before expiry");
    assert!(!format!("{broker:?}").contains("service-client-secret-value"));

    moto.put_secret_as_role(
        CENTRAL_ROLE,
        "wrong-client",
        r#"{"client_id":"mcp-service","client_secret":"nope"}"#,
    )
    .await;
    let wrong = TokenBroker::new(
        SecretReader::new(moto.sdk().await),
        ServiceCredentials {
            secret_id: "wrong-client".into(),
            assume_role: Some(AssumeRole {
                role_arn: CENTRAL_ROLE.into(),
                external_id: None,
            }),
            token_endpoint: format!("{}/token", vault.idp_issuer()),
            scopes: vec![],
        },
    );
    let err = wrong.service_token(&ctx).await.unwrap_err();
    assert!(err.to_string().contains("invalid_client"), "{err}");
    assert!(!err.to_string().contains("nope"));
}

#[tokio::test]
async fn an_open_circuit_fails_fast_to_the_fallback_only_where_policy_allows() {
    let moto = Moto::start().await;
    seed(&moto).await;
    let vault = vault_with(Some(500)).await;
    let fb = fallback(&moto, &latch_path("circuit"), true).await;
    let breaker = deputy::breaker::BreakerPolicy {
        failure_threshold: 1,
        open_for: Duration::from_secs(60),
    };
    let resolver = common::builder_allowing_repos(&vault)
        .vault(common::client(&vault).with_breaker(breaker))
        .policy(policy(raw_github()))
        .fallback(fb.clone())
        .build()
        .unwrap();
    let repo = "o/r".parse().unwrap();
    let (trip, open) = (
        common::webhook("alice", "t-trip"),
        common::webhook("alice", "t-open"),
    );
    let first = resolver
        .resolve_github_token(&trip, Operation::Read, &repo)
        .await
        .unwrap();
    assert_eq!(first.source, CredentialSource::SecretsManagerFallback);
    let calls = vault.call_count("GetResourceOauth2Token");

    // The circuit is open: the next resolve does not wait on the vault at all.
    let second = resolver
        .resolve_github_token(&open, Operation::Read, &repo)
        .await
        .unwrap();
    assert_eq!(second.source, CredentialSource::SecretsManagerFallback);
    assert!(
        second
            .fallback_reason
            .unwrap()
            .contains("circuit breaker is open")
    );
    assert_eq!(vault.call_count("GetResourceOauth2Token"), calls);
    assert_eq!(fb.issued(), 2);

    // A rule without the fallback gets the typed outage, not the shared secret.
    let err = resolver
        .resolve_slack_token(&common::headless("t-slack"), Operation::Read)
        .await
        .unwrap_err();
    assert!(err.is_vault_unavailable(), "{err}");
    assert!(err.to_string().contains("circuit breaker is open"), "{err}");
    assert_eq!(fb.issued(), 2);
    assert_eq!(vault.call_count("GetResourceOauth2Token"), calls);
}
