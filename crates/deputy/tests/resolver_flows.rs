//! Every flow and error class of the resolver, end to end against the local vault.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use deputy::ResolveError;
use deputy::consent::{ConsentHandler, ConsentWait, NotifyFuture};
use deputy::error::ConsentRequired;
use deputy::repo_auth::{AuthorizeFuture, RepoAuthorizer, RepoDecision};
use deputy::task::Task;
use deputy_core::audit::CredentialSource;
use deputy_core::flow::Flow;
use deputy_core::policy::PolicyTable;
use deputy_core::{Integration, Operation, RepoRef};
use deputy_vault_local::complete_consent_as_browser;

struct Fixed(RepoDecision);

impl RepoAuthorizer for Fixed {
    fn authorize<'a>(&'a self, _: &'a str, _: &'a RepoRef, _: Operation) -> AuthorizeFuture<'a> {
        Box::pin(async move { self.0.clone() })
    }
}

fn repo() -> RepoRef {
    "octo-org/infra".parse().unwrap()
}

#[tokio::test]
async fn m2m_resolves_then_hits_the_cache() {
    let vault = common::vault().await;
    let resolver = common::builder(&vault).build().unwrap();
    let task = common::headless("nightly-1");
    let first = resolver
        .resolve_linear_token(&task, Operation::Read)
        .await
        .unwrap();
    assert_eq!(
        (first.flow.clone(), first.source, &*first.rule_id),
        (Flow::M2m, CredentialSource::Vault, "service-read")
    );
    assert_eq!(first.provider.as_deref(), Some("linear-service"));
    assert!(first.expires_at > SystemTime::now());
    let second = resolver
        .resolve_linear_token(&common::headless("nightly-2"), Operation::Read)
        .await
        .unwrap();
    assert_eq!(second.source, CredentialSource::Cache);
    assert_eq!(second.token, first.token);
    assert_eq!(vault.call_count("GetResourceOauth2Token"), 1);
    assert_eq!(
        vault.call_count("GetWorkloadAccessToken"),
        1,
        "a cache hit needs no WAT"
    );
}

#[tokio::test]
async fn user_federation_returns_one_consent_then_the_token() {
    let vault = common::vault().await;
    let resolver = common::builder_allowing_repos(&vault).build().unwrap();
    let task = common::interactive(&vault, "alice", "t-3lo");
    let Err(ResolveError::ConsentRequired(consent, Integration::Github)) = resolver
        .resolve_github_token(&task, Operation::Read, &repo())
        .await
    else {
        panic!("expected consent")
    };
    assert_eq!(consent.provider, "github");
    assert_eq!(consent.scopes, ["repo"]);
    assert!(consent.expires_at > SystemTime::now() + Duration::from_secs(500));
    assert!(
        !format!("{consent:?}").contains(&consent.authorization_url),
        "Debug must not show the URL"
    );
    // A concurrent task of the same user gets the same session, not a new one.
    let other_task = common::interactive(&vault, "alice", "t-3lo-b");
    let Err(ResolveError::ConsentRequired(again, _)) = resolver
        .resolve_github_token(&other_task, Operation::Read, &repo())
        .await
    else {
        panic!("expected consent")
    };
    assert_eq!(again.session_uri, consent.session_uri);
    assert_eq!(again.authorization_url, consent.authorization_url);

    let seen = complete_consent_as_browser(&consent.authorization_url, "alice", "alice")
        .await
        .unwrap();
    assert!(seen.return_url.starts_with(common::RETURN_URL));
    // Bob cannot bind Alice's session.
    let bob = common::interactive(&vault, "bob", "t-bob");
    let err = resolver
        .complete_consent(
            &bob,
            &Integration::Github,
            &seen.session_id,
            &common::user_of(&bob),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "access_denied", "{err}");
    resolver
        .complete_consent(
            &task,
            &Integration::Github,
            &seen.session_id,
            &common::user_of(&task),
        )
        .await
        .unwrap();
    let token = resolver
        .resolve_github_token(&task, Operation::Read, &repo())
        .await
        .unwrap();
    assert_eq!(
        (token.flow, token.source),
        (Flow::UserFederation, CredentialSource::Vault)
    );
    // Bob has no consent of his own: his resolve must not see Alice's token.
    let err = resolver
        .resolve_github_token(&bob, Operation::Read, &repo())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "consent_required");
}

struct BrowserConsent {
    resolver: deputy::Resolver,
}

impl ConsentHandler for BrowserConsent {
    fn notify<'a>(&'a self, consent: &'a ConsentRequired, task: &'a Task) -> NotifyFuture<'a> {
        Box::pin(async move {
            let seen = complete_consent_as_browser(&consent.authorization_url, "alice", "alice")
                .await
                .unwrap();
            self.resolver
                .complete_consent(
                    task,
                    &Integration::Linear,
                    &seen.session_id,
                    &common::user_of(task),
                )
                .await
                .unwrap();
        })
    }
}

#[tokio::test]
async fn a_consent_handler_waits_with_backoff_until_the_token() {
    let vault = common::vault().await;
    let resolver = common::builder(&vault).build().unwrap();
    let task = common::interactive(&vault, "alice", "t-wait");
    let handler = BrowserConsent {
        resolver: resolver.clone(),
    };
    let wait = ConsentWait {
        timeout: Duration::from_secs(20),
        initial_delay: Duration::from_millis(50),
        max_delay: Duration::from_millis(200),
    };
    let token = resolver
        .resolve_token_waiting(
            &task,
            &Integration::Linear,
            Operation::Write,
            &handler,
            wait,
        )
        .await
        .unwrap();
    assert_eq!(token.flow, Flow::UserFederation);
}

struct Silent;

impl ConsentHandler for Silent {
    fn notify<'a>(&'a self, _: &'a ConsentRequired, _: &'a Task) -> NotifyFuture<'a> {
        Box::pin(async {})
    }
}

#[tokio::test]
async fn waiting_gives_up_at_the_deadline() {
    let vault = common::vault().await;
    let resolver = common::builder(&vault).build().unwrap();
    let task = common::interactive(&vault, "alice", "t-timeout");
    let wait = ConsentWait {
        timeout: Duration::from_millis(300),
        initial_delay: Duration::from_millis(50),
        max_delay: Duration::from_millis(100),
    };
    let err = resolver
        .resolve_token_waiting(&task, &Integration::Slack, Operation::Read, &Silent, wait)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "consent_required");
}

#[tokio::test]
async fn webhook_writes_fail_closed_and_never_downgrade() {
    let vault = common::vault().await;
    let allow = Arc::new(Fixed(RepoDecision::Allow {
        decided_at: SystemTime::now(),
    }));
    let resolver = common::builder(&vault)
        .repo_authorizer(allow, Duration::from_secs(60))
        .build()
        .unwrap();
    let task = common::webhook("alice", "t-webhook");
    let err = resolver
        .resolve_github_token(&task, Operation::Write, &repo())
        .await
        .unwrap_err();
    let ResolveError::ConsentRequired(consent, _) = &err else {
        panic!("{err}")
    };
    assert_eq!(
        consent.provider, "github",
        "a webhook write must ask the user, not use github-service"
    );
    // The read is M2M with the service account.
    let read = resolver
        .resolve_github_token(&task, Operation::Read, &repo())
        .await
        .unwrap();
    assert_eq!(
        (read.flow, read.provider.as_deref()),
        (Flow::M2m, Some("github-service"))
    );
}

#[tokio::test]
async fn repository_authorization_fails_closed() {
    let vault = common::vault().await;
    let task = common::interactive(&vault, "alice", "t-repo");
    let none = common::builder(&vault).build().unwrap();
    let err = none
        .resolve_github_token(&task, Operation::Write, &repo())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ResolveError::RepoNotAuthorized { reason, .. } if reason.contains("no RepoAuthorizer")),
        "{err}"
    );
    for (decision, expected) in [
        (
            RepoDecision::Deny {
                reason: "not a maintainer".into(),
            },
            "not a maintainer",
        ),
        (RepoDecision::Unknown, "no decision"),
        (
            RepoDecision::Allow {
                decided_at: SystemTime::now() - Duration::from_secs(3600),
            },
            "3600s old",
        ),
    ] {
        let resolver = common::builder(&vault)
            .repo_authorizer(Arc::new(Fixed(decision)), Duration::from_secs(60))
            .build()
            .unwrap();
        let err = resolver
            .resolve_github_token(&task, Operation::Write, &repo())
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains(expected) && err.to_string().contains("octo-org/infra"),
            "{err}"
        );
    }
    assert_eq!(
        vault.call_count("GetResourceOauth2Token"),
        0,
        "no credential was requested"
    );
    let other: RepoRef = "octo-org/other".parse().unwrap();
    let pinned = common::interactive(&vault, "alice", "t-pinned").with_repo(repo());
    let err = none
        .resolve_github_token(&pinned, Operation::Read, &other)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "missing_context");
}

/// Allows until told to deny, counting the questions.
#[derive(Default)]
struct Revocable {
    denied: std::sync::atomic::AtomicBool,
    asked: std::sync::atomic::AtomicUsize,
}

impl RepoAuthorizer for Revocable {
    fn authorize<'a>(&'a self, _: &'a str, _: &'a RepoRef, _: Operation) -> AuthorizeFuture<'a> {
        use std::sync::atomic::Ordering::SeqCst;
        self.asked.fetch_add(1, SeqCst);
        let decision = if self.denied.load(SeqCst) {
            RepoDecision::Deny {
                reason: "access revoked".into(),
            }
        } else {
            RepoDecision::Allow {
                decided_at: SystemTime::now(),
            }
        };
        Box::pin(async move { decision })
    }
}

#[tokio::test]
async fn a_cached_write_token_is_authorized_again_on_every_resolve() {
    use std::sync::atomic::Ordering::SeqCst;
    let vault = common::vault().await;
    let authorizer = Arc::new(Revocable::default());
    let resolver = common::builder(&vault)
        .repo_authorizer(authorizer.clone(), Duration::from_secs(60))
        .build()
        .unwrap();
    let task = common::headless("t-revoked");
    let first = resolver
        .resolve_github_token(&task, Operation::Write, &repo())
        .await
        .unwrap();
    let second = resolver
        .resolve_github_token(&task, Operation::Write, &repo())
        .await
        .unwrap();
    assert_eq!(
        (first.source, second.source),
        (CredentialSource::Vault, CredentialSource::Cache)
    );
    assert_eq!(authorizer.asked.load(SeqCst), 2, "a hit is authorized too");
    authorizer.denied.store(true, SeqCst);
    let err = resolver
        .resolve_github_token(&task, Operation::Write, &repo())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ResolveError::RepoNotAuthorized { reason, .. } if reason == "access revoked"),
        "the cached token is not served once the write is denied: {err}"
    );
    assert_eq!(vault.call_count("GetResourceOauth2Token"), 1);
}

#[tokio::test]
async fn on_behalf_of_is_verified_and_records_the_act_chain() {
    let vault = common::vault().await;
    let resolver = common::builder(&vault).build().unwrap();
    let task = common::interactive(&vault, "alice", "t-obo");
    let token = resolver
        .resolve_aws_native_token(&task, Operation::Write)
        .await
        .unwrap();
    let observed = token.observed.unwrap();
    assert_eq!(observed.subject.sub, "alice");
    assert_eq!(observed.actors.current().unwrap().sub, "aws-native");
    // Without a verifier the token is refused, not passed through unverified.
    let unverified = deputy::Resolver::builder()
        .vault(common::client(&vault))
        .workload(common::WORKLOAD)
        .build()
        .unwrap();
    let err = unverified
        .resolve_aws_native_token(&task, Operation::Write)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "invalid_token");
    // A verifier for another audience refuses the token.
    let issuer = vault.idp_issuer();
    let wrong_aud = deputy::Resolver::builder()
        .vault(common::client(&vault))
        .workload(common::WORKLOAD)
        .verifier(
            "aws-native",
            deputy::verify::TokenVerifier::new(
                issuer.clone(),
                format!("{issuer}/jwks"),
                ["someone-else"],
            ),
        )
        .build()
        .unwrap();
    let err = wrong_aud
        .resolve_aws_native_token(&task, Operation::Write)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("InvalidAudience"), "{err}");
    // An interactive task with a user-id-bound WAT (which on-behalf-of could not use) cannot
    // even be built: its user would not be JWT-proven.
    let by_id = deputy::task::Task::new(
        task.ctx().clone(),
        deputy::task::WatSource::Mint(deputy::vault::WatBinding::UserId(
            deputy_core::UserId::parse("dev+alice").unwrap(),
        )),
    );
    assert!(
        matches!(
            by_id,
            Err(deputy::task::TaskError::UnverifiedInteractive { .. })
        ),
        "{by_id:?}"
    );
}

#[tokio::test]
async fn policy_denials_and_vault_error_classes() {
    let vault = common::vault().await;
    let resolver = common::builder(&vault).build().unwrap();
    let err = resolver
        .resolve_aws_native_token(&common::webhook("alice", "t-deny"), Operation::Write)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ResolveError::PolicyDenied { rule_id, .. } if rule_id == "aws-native-webhook-write"),
        "{err}"
    );

    let policy = PolicyTable::from_toml(
        "test.toml",
        "version = 1\n[[rule]]\nid = \"all\"\nintegrations = [\"*\"]\ntriggers = [\"*\"]\noperations = [\"read\"]\nflow = \"m2m\"\nprovider = \"{integration}-missing\"\n[[rule]]\nid = \"writes\"\nintegrations = [\"*\"]\ntriggers = [\"*\"]\noperations = [\"write\"]\nflow = \"deny\"\nreason = \"read-only test\"\n",
    )
    .unwrap();
    let missing = common::builder(&vault).policy(policy).build().unwrap();
    let err = missing
        .resolve_slack_token(&common::headless("t-nf"), Operation::Read)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "not_found", "{err}");
    assert!(
        err.to_string().contains("slack") && err.to_string().contains("provider name"),
        "{err}"
    );

    let unknown_workload = deputy::Resolver::builder()
        .vault(common::client(&vault))
        .workload("no-such-workload")
        .build()
        .unwrap();
    let err = unknown_workload
        .resolve_jira_token(&common::headless("t-nw"), Operation::Read)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "not_found", "{err}");

    let err = resolver
        .resolve_token(
            &common::headless("t-x"),
            &"pagerduty".parse().unwrap(),
            Operation::Read,
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "no_rule");

    vault.shutdown().await;
    let err = resolver
        .resolve_jira_token(&common::headless("t-down"), Operation::Read)
        .await
        .unwrap_err();
    assert!(err.is_vault_unavailable(), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_resolves_make_one_vault_call_per_key() {
    let vault = common::vault().await;
    let resolver = common::builder(&vault).build().unwrap();
    let mut handles = Vec::new();
    for i in 0..1_000 {
        let resolver = resolver.clone();
        handles.push(tokio::spawn(async move {
            resolver
                .resolve_linear_token(&common::headless(&format!("t{i}")), Operation::Read)
                .await
                .unwrap()
        }));
    }
    let mut fingerprints = std::collections::HashSet::new();
    for handle in handles {
        fingerprints.insert(handle.await.unwrap().fingerprint());
    }
    assert_eq!(fingerprints.len(), 1);
    assert_eq!(vault.call_count("GetResourceOauth2Token"), 1);

    // 100 distinct keys: 100 custom integrations, each its own scope.
    let mut text = String::from("version = 1\n");
    for i in 0..100 {
        text.push_str(&format!(
            "[[rule]]\nid = \"c{i}\"\nintegrations = [\"c{i}\"]\ntriggers = [\"*\"]\noperations = [\"*\"]\nflow = \"m2m\"\nprovider = \"linear-service\"\nscopes = [\"s{i}\"]\n"
        ));
    }
    text.push_str("[[rule]]\nid = \"builtins\"\nintegrations = [\"github\", \"linear\", \"jira\", \"slack\", \"aws-native\"]\ntriggers = [\"*\"]\noperations = [\"*\"]\nflow = \"deny\"\nreason = \"unused\"\n");
    let many = common::builder(&vault)
        .policy(PolicyTable::from_toml("many.toml", &text).unwrap())
        .build()
        .unwrap();
    let mut handles = Vec::new();
    for i in 0..1_000 {
        let many = many.clone();
        let integration: Integration = format!("c{}", i % 100).parse().unwrap();
        handles.push(tokio::spawn(async move {
            many.resolve_token(&common::headless("t"), &integration, Operation::Read)
                .await
                .unwrap()
        }));
    }
    for handle in handles {
        handle.await.unwrap();
    }
    assert_eq!(vault.call_count("GetResourceOauth2Token"), 1 + 100);
}

#[tokio::test]
async fn every_cell_of_the_built_in_table_works_on_the_development_vault() {
    let vault = common::vault().await;
    let allow = Arc::new(Fixed(RepoDecision::Allow {
        decided_at: SystemTime::now(),
    }));
    let resolver = common::builder(&vault)
        .repo_authorizer(allow, Duration::from_secs(60))
        .build()
        .unwrap();
    let tasks = [
        common::interactive(&vault, "alice", "cell-i"),
        common::webhook("alice", "cell-w"),
        common::headless("cell-h"),
    ];
    for integration in Integration::BUILT_IN {
        for task in &tasks {
            let task = task.clone().with_repo(repo());
            for op in Operation::ALL {
                match resolver.resolve_token(&task, &integration, op).await {
                    Ok(token) => assert!(!token.token.expose().is_empty()),
                    Err(ResolveError::ConsentRequired(..) | ResolveError::PolicyDenied { .. }) => {}
                    Err(other) => {
                        panic!(
                            "{integration} {:?} {op}: {other}",
                            task.ctx().trigger.kind()
                        )
                    }
                }
            }
        }
    }
}

#[tokio::test]
async fn an_asserted_user_never_gets_the_verified_users_token() {
    let vault = common::vault().await;
    let resolver = common::builder(&vault).build().unwrap();
    let verified = common::interactive(&vault, "alice", "t-verified");
    let Err(ResolveError::ConsentRequired(consent, _)) = resolver
        .resolve_linear_token(&verified, Operation::Write)
        .await
    else {
        panic!("expected consent")
    };
    let seen = complete_consent_as_browser(&consent.authorization_url, "alice", "alice")
        .await
        .unwrap();
    resolver
        .complete_consent(
            &verified,
            &Integration::Linear,
            &seen.session_id,
            &common::user_of(&verified),
        )
        .await
        .unwrap();
    let token = resolver
        .resolve_linear_token(&verified, Operation::Write)
        .await
        .unwrap();
    // A webhook that merely claims to be Alice gets neither the cached token nor her session.
    let asserted = common::webhook("alice", "t-asserted");
    let err = resolver
        .resolve_linear_token(&asserted, Operation::Write)
        .await
        .unwrap_err();
    let ResolveError::ConsentRequired(own, _) = &err else {
        panic!("{err}")
    };
    assert_ne!(own.session_uri, consent.session_uri);
    let again = resolver
        .resolve_linear_token(&verified, Operation::Write)
        .await
        .unwrap();
    assert_eq!(again.token, token.token);
}

#[tokio::test]
async fn a_rotated_signing_key_is_fetched_on_the_unknown_kid() {
    let vault = common::vault().await;
    let issuer = vault.idp_issuer();
    let verifier = deputy::verify::TokenVerifier::new(
        issuer.clone(),
        format!("{issuer}/jwks"),
        ["aws-native"],
    )
    .min_refresh(Duration::ZERO);
    let resolver = deputy::Resolver::builder()
        .vault(common::client(&vault))
        .workload(common::WORKLOAD)
        .verifier("aws-native", verifier)
        .build()
        .unwrap();
    resolver
        .resolve_aws_native_token(
            &common::interactive(&vault, "alice", "rot-1"),
            Operation::Read,
        )
        .await
        .unwrap();
    vault.rotate_idp_key().unwrap();
    let after = resolver
        .resolve_aws_native_token(
            &common::interactive(&vault, "bob", "rot-2"),
            Operation::Read,
        )
        .await;
    assert!(after.is_ok(), "{after:?}");
}

#[tokio::test]
async fn rfc_9068_typ_is_enforced_when_configured() {
    let vault = common::vault().await;
    let issuer = vault.idp_issuer();
    let strict = || {
        deputy::verify::TokenVerifier::new(
            issuer.clone(),
            format!("{issuer}/jwks"),
            ["aws-native", "deputy"],
        )
        .require_at_jwt(true)
    };
    let resolver = deputy::Resolver::builder()
        .vault(common::client(&vault))
        .workload(common::WORKLOAD)
        .verifier("aws-native", strict())
        .build()
        .unwrap();
    let token = resolver
        .resolve_aws_native_token(
            &common::interactive(&vault, "alice", "typ-1"),
            Operation::Read,
        )
        .await
        .unwrap();
    assert!(token.observed.is_some(), "the exchanged token is an at+jwt");
    // A plain user JWT (typ JWT) is not an access token under RFC 9068.
    let user_jwt = vault.mint_user_token("alice", "deputy").unwrap();
    let err = strict().verify(&user_jwt).await.unwrap_err();
    assert!(err.contains("is not at+jwt"), "{err}");
}

#[tokio::test]
async fn throttling_is_retryable_and_carries_retry_after() {
    let mut config = deputy_vault_local::VaultConfig::development();
    config.faults.push(deputy_vault_local::config::FaultRule {
        operation: Some("GetResourceOauth2Token".into()),
        latency_ms: 0,
        error_rate: 1.0,
        status: 429,
        times: None,
    });
    let vault = deputy_vault_local::LocalVault::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let resolver = common::builder(&vault).build().unwrap();
    let err = resolver
        .resolve_linear_token(&common::headless("t-429"), Operation::Read)
        .await
        .unwrap_err();
    assert!(err.is_vault_unavailable(), "{err}");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(1)), "{err}");
    assert!(err.to_string().contains("Throttled"), "{err}");
}

#[tokio::test]
async fn forgotten_users_and_providers_are_fetched_again() {
    let vault = common::vault().await;
    let resolver = common::builder(&vault).build().unwrap();
    let task = common::headless("forget-m2m");
    let calls = || vault.call_count("GetResourceOauth2Token");
    for _ in 0..2 {
        resolver
            .resolve_linear_token(&task, Operation::Read)
            .await
            .unwrap();
    }
    assert_eq!(calls(), 1, "the second resolve was a cache hit");
    resolver.forget_provider("jira-service");
    resolver
        .resolve_linear_token(&task, Operation::Read)
        .await
        .unwrap();
    assert_eq!(calls(), 1, "another provider's tokens are kept");
    resolver.forget_provider("linear-service");
    resolver
        .resolve_linear_token(&task, Operation::Read)
        .await
        .unwrap();
    assert_eq!(calls(), 2);

    let alice = common::interactive(&vault, "alice", "forget-obo");
    for _ in 0..2 {
        resolver
            .resolve_aws_native_token(&alice, Operation::Write)
            .await
            .unwrap();
    }
    assert_eq!(calls(), 3);
    resolver.forget_user(&deputy_core::UserId::parse("dev+bob").unwrap());
    resolver
        .resolve_aws_native_token(&alice, Operation::Write)
        .await
        .unwrap();
    assert_eq!(calls(), 3, "bob's sign-out keeps alice's token");
    resolver.forget_user(&deputy_core::UserId::parse("dev+alice").unwrap());
    resolver
        .resolve_aws_native_token(&alice, Operation::Write)
        .await
        .unwrap();
    assert_eq!(calls(), 4, "alice's JWT-proven token was dropped");
}
