//! GitHub App installation tokens through the resolver, against an in-test GitHub.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod github_fake;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use deputy::ResolveError;
use deputy::github_app::{
    AppKeySource, AppPrivateKey, GithubApp, KeyFuture, KeyRequest, VaultApiKeySource,
};
use deputy::repo_auth::{AuthorizeFuture, RepoAuthorizer, RepoDecision};
use deputy::task::Task;
use deputy_core::flow::Flow;
use deputy_core::policy::PolicyTable;
use deputy_core::{Operation, RepoRef};
use deputy_vault_local::config::ApiKeyConfig;
use deputy_vault_local::{LocalVault, RunningVault, Sensitive, VaultConfig};
use github_fake::{APP_ID, AppKey, FakeGithub};

const KEY_PROVIDER: &str = "github-app-key";

struct Setup {
    vault: RunningVault,
    github: FakeGithub,
    key: AppKey,
}

async fn setup(repos: &[&str], permissions: &[(&str, &str)]) -> Setup {
    let key = AppKey::generate();
    let mut config = VaultConfig::development();
    config.api_keys.push(ApiKeyConfig {
        name: KEY_PROVIDER.into(),
        api_key: Sensitive::new(key.pem.clone()),
    });
    let vault = LocalVault::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let github = FakeGithub::start(&key, "octo-org", repos, permissions).await;
    Setup { vault, github, key }
}

const ALL: &[(&str, &str)] = &[
    ("contents", "write"),
    ("metadata", "read"),
    ("pull_requests", "write"),
];

fn app(github: &FakeGithub) -> GithubApp {
    GithubApp::new(APP_ID, Arc::new(VaultApiKeySource::new(KEY_PROVIDER))).base_uri(&github.base)
}

fn resolver(s: &Setup, authorizer: Option<Arc<dyn RepoAuthorizer>>) -> deputy::Resolver {
    let mut builder = common::builder(&s.vault)
        .policy(
            PolicyTable::built_in()
                .unwrap()
                .with_feature("github-app", true)
                .unwrap(),
        )
        .github_app(app(&s.github));
    if let Some(a) = authorizer {
        builder = builder.repo_authorizer(a, Duration::from_secs(300));
    }
    builder.build().unwrap()
}

fn repo(name: &str) -> RepoRef {
    format!("octo-org/{name}").parse().unwrap()
}

struct Fixed(RepoDecision);

impl RepoAuthorizer for Fixed {
    fn authorize<'a>(
        &'a self,
        _p: &'a str,
        _r: &'a RepoRef,
        _op: Operation,
    ) -> AuthorizeFuture<'a> {
        let decision = match &self.0 {
            RepoDecision::Allow { .. } => RepoDecision::Allow {
                decided_at: SystemTime::now(),
            },
            other => other.clone(),
        };
        Box::pin(async move { decision })
    }
}

fn allow() -> Option<Arc<dyn RepoAuthorizer>> {
    Some(Arc::new(Fixed(RepoDecision::Allow {
        decided_at: SystemTime::now(),
    })))
}

#[tokio::test]
async fn a_read_mints_exactly_the_repository_and_the_minimum_permissions() {
    let s = setup(&["app", "infra"], ALL).await;
    let resolver = resolver(&s, None);
    let task = common::headless("triage-1");
    let resolved = resolver
        .resolve_github_token(&task, Operation::Read, &repo("app"))
        .await
        .unwrap();

    assert!(matches!(resolved.flow, Flow::GithubApp { .. }));
    assert_eq!(resolved.rule_id, "github-app-read");
    assert!(
        resolved
            .token
            .expose()
            .starts_with(&format!("ghs_{APP_ID}_"))
    );
    assert!(
        resolved.token.expose().len() > 40,
        "the new format is longer than 40 characters"
    );
    assert_eq!(
        s.github.bodies(),
        vec![serde_json::json!({
            "repositories": ["app"],
            "permissions": { "contents": "read", "metadata": "read" }
        })]
    );
    assert!(
        s.github.jwt_problems().is_empty(),
        "{:?}",
        s.github.jwt_problems()
    );
    let issued = s.github.issued_token(resolved.token.expose());
    assert_eq!(issued.repositories, vec!["app"]);
    // The private key came from the vault's API-key provider.
    assert_eq!(s.vault.call_count("GetResourceApiKey"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_concurrent_cold_resolves_make_one_post() {
    let s = setup(&["app"], ALL).await;
    let resolver = resolver(&s, None);
    let task = common::headless("burst-1");
    let mut handles = Vec::new();
    for _ in 0..8 {
        let (resolver, task) = (resolver.clone(), task.clone());
        handles.push(tokio::spawn(async move {
            resolver
                .resolve_github_token(&task, Operation::Read, &repo("app"))
                .await
                .unwrap()
        }));
    }
    let mut tokens = Vec::new();
    for h in handles {
        tokens.push(h.await.unwrap().token.expose().to_owned());
    }
    tokens.dedup();
    assert_eq!(tokens.len(), 1, "all eight got the one token");
    assert_eq!(s.github.posts(), 1);
    assert_eq!(s.github.installation_gets(), 1);
}

#[tokio::test]
async fn a_token_never_serves_another_task_or_repository() {
    let s = setup(&["app", "infra"], ALL).await;
    let resolver = resolver(&s, None);
    let (a, b) = (common::headless("task-a"), common::headless("task-b"));
    let a_app = resolver
        .resolve_github_token(&a, Operation::Read, &repo("app"))
        .await
        .unwrap();
    let b_app = resolver
        .resolve_github_token(&b, Operation::Read, &repo("app"))
        .await
        .unwrap();
    let a_infra = resolver
        .resolve_github_token(&a, Operation::Read, &repo("infra"))
        .await
        .unwrap();
    let a_app_again = resolver
        .resolve_github_token(&a, Operation::Read, &repo("app"))
        .await
        .unwrap();

    assert_ne!(a_app.token, b_app.token, "another task gets its own token");
    assert_ne!(
        a_app.token, a_infra.token,
        "another repository gets its own token"
    );
    assert_eq!(
        a_app.token, a_app_again.token,
        "the same task and repository reuse it"
    );
    assert_eq!(s.github.posts(), 3);
    assert_eq!(
        s.github.issued_token(a_infra.token.expose()).repositories,
        vec!["infra"]
    );
    assert_eq!(
        s.github.issued_token(b_app.token.expose()).repositories,
        vec!["app"]
    );
    // One installation lookup for the owner, shared by every task.
    assert_eq!(s.github.installation_gets(), 1);

    // A task pinned to one repository cannot ask for another.
    let pinned = Task::new(a.ctx.clone().with_repo(repo("app")), a.wat.clone());
    let err = resolver
        .resolve_github_token(&pinned, Operation::Read, &repo("infra"))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("never serve another repository"),
        "{err}"
    );
}

#[tokio::test]
async fn expires_at_is_respected_with_the_cache_buffer() {
    let s = setup(&["app"], ALL).await;
    let resolver = common::builder(&s.vault)
        .policy(
            PolicyTable::built_in()
                .unwrap()
                .with_feature("github-app", true)
                .unwrap(),
        )
        .github_app(app(&s.github))
        .cache(1000, Duration::from_secs(120))
        .build()
        .unwrap();
    // Expires inside the buffer: never served from the cache.
    s.github.set_expires_in(100);
    let task = common::headless("short-1");
    let first = resolver
        .resolve_github_token(&task, Operation::Read, &repo("app"))
        .await
        .unwrap();
    let second = resolver
        .resolve_github_token(&task, Operation::Read, &repo("app"))
        .await
        .unwrap();
    assert_ne!(first.token, second.token);
    assert_eq!(s.github.posts(), 2);
    // GitHub's expires_at, not the 10-minute default for opaque tokens.
    let left = first.expires_at.duration_since(SystemTime::now()).unwrap();
    assert!(left <= Duration::from_secs(100), "{left:?}");

    // An hour's token is reused.
    s.github.set_expires_in(3600);
    let task = common::headless("long-1");
    let third = resolver
        .resolve_github_token(&task, Operation::Read, &repo("app"))
        .await
        .unwrap();
    let fourth = resolver
        .resolve_github_token(&task, Operation::Read, &repo("app"))
        .await
        .unwrap();
    assert_eq!(third.token, fourth.token);
    assert_eq!(s.github.posts(), 3);
}

#[tokio::test]
async fn writes_need_an_allow_and_fail_closed_without_one() {
    let s = setup(&["app"], ALL).await;
    let denied: [(Option<Arc<dyn RepoAuthorizer>>, &str); 3] = [
        (None, "no RepoAuthorizer is configured"),
        (
            Some(Arc::new(Fixed(RepoDecision::Unknown))),
            "has no decision",
        ),
        (
            Some(Arc::new(Fixed(RepoDecision::Deny {
                reason: "not a maintainer".into(),
            }))),
            "not a maintainer",
        ),
    ];
    for (authorizer, why) in denied {
        let resolver = resolver(&s, authorizer);
        let task = common::interactive(&s.vault, "alice", "write-1");
        let err = resolver
            .resolve_github_token(&task, Operation::Write, &repo("app"))
            .await
            .unwrap_err();
        assert!(
            matches!(err, ResolveError::RepoNotAuthorized { .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains(why), "{err}");
        assert!(err.to_string().contains("octo-org/app"), "{err}");
    }
    // Nothing was minted, no key was read, and no other credential (3LO, a PAT) was tried.
    assert_eq!(s.github.posts(), 0);
    assert_eq!(s.vault.call_count("GetResourceApiKey"), 0);
    assert_eq!(s.vault.call_count("GetResourceOauth2Token"), 0);

    let resolver = resolver(&s, allow());
    let task = common::interactive(&s.vault, "alice", "write-2");
    let resolved = resolver
        .resolve_github_token(&task, Operation::Write, &repo("app"))
        .await
        .unwrap();
    assert_eq!(resolved.rule_id, "github-app-write");
    assert_eq!(
        s.github.bodies(),
        vec![serde_json::json!({
            "repositories": ["app"],
            "permissions": { "contents": "write", "pull_requests": "write" }
        })]
    );
}

#[tokio::test]
async fn closing_task_credentials_revokes_once() {
    let s = setup(&["app", "infra"], ALL).await;
    let resolver = resolver(&s, allow());
    let task = common::headless("session-1");
    let credentials = resolver.task_credentials(task.clone());
    let write = credentials
        .github_token(Operation::Write, &repo("app"))
        .await
        .unwrap();
    let again = credentials
        .github_token(Operation::Write, &repo("app"))
        .await
        .unwrap();
    let read = credentials
        .github_token(Operation::Read, &repo("infra"))
        .await
        .unwrap();
    assert_eq!(write.token, again.token);
    assert_eq!(s.github.posts(), 2);

    let closed = credentials.close().await.unwrap();
    assert_eq!((closed.revoked, closed.already_invalid), (2, 0));
    assert_eq!(s.github.deletes(), 2);
    assert!(s.github.issued_token(write.token.expose()).revoked);
    assert!(s.github.issued_token(read.token.expose()).revoked);

    // Idempotent: nothing left to revoke, no request sent.
    assert_eq!(credentials.close().await.unwrap(), Default::default());
    assert_eq!(s.github.deletes(), 2);
    // Closed: nothing more is handed out.
    let err = credentials
        .github_token(Operation::Read, &repo("infra"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("closed"), "{err}");

    // The revoked tokens left the cache: the same task id mints afresh.
    let reopened = resolver.task_credentials(task);
    let fresh = reopened
        .github_token(Operation::Write, &repo("app"))
        .await
        .unwrap();
    assert_ne!(fresh.token, write.token);
    assert_eq!(s.github.posts(), 3);

    // Revoking a token GitHub no longer accepts is not an error.
    let app = app(&s.github);
    assert_eq!(
        app.revoke(&write.token).await.unwrap(),
        deputy::github_app::Revocation::AlreadyInvalid
    );
    assert_eq!(reopened.close().await.unwrap().revoked, 1);
}

#[tokio::test]
async fn without_an_app_the_rule_fails_with_missing_context() {
    let s = setup(&["app"], ALL).await;
    let resolver = common::builder(&s.vault)
        .policy(
            PolicyTable::built_in()
                .unwrap()
                .with_feature("github-app", true)
                .unwrap(),
        )
        .build()
        .unwrap();
    let err = resolver
        .resolve_github_token(&common::headless("t"), Operation::Read, &repo("app"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ResolveError::MissingContext { .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("no GitHub App configured"),
        "{err}"
    );
    // The 3LO flow stays the default when the feature is off.
    let plain = common::builder(&s.vault).build().unwrap();
    let task = common::interactive(&s.vault, "alice", "t2");
    let err = plain
        .resolve_github_token(&task, Operation::Read, &repo("app"))
        .await
        .unwrap_err();
    assert!(matches!(err, ResolveError::ConsentRequired(..)), "{err:?}");
}

/// A key held in memory, for calling the App directly.
struct InMemory(AppPrivateKey);

impl AppKeySource for InMemory {
    fn load<'a>(&'a self, _request: KeyRequest<'a>) -> KeyFuture<'a> {
        Box::pin(async move { Ok(self.0.clone()) })
    }
    fn describe(&self) -> String {
        "memory".into()
    }
}

#[tokio::test]
async fn github_failures_are_typed_and_name_the_repository_and_permission() {
    use deputy::github_app::GithubAppError as E;
    let s = setup(&["app"], &[("contents", "read"), ("metadata", "read")]).await;
    let vault = common::client(&s.vault);
    let wat = deputy::WorkloadAccessToken::new("unused-by-in-memory-keys");
    let keys = KeyRequest {
        vault: &vault,
        wat: &wat,
    };
    let app = GithubApp::new(
        APP_ID,
        Arc::new(InMemory(AppPrivateKey::new(s.key.pem.clone()))),
    )
    .base_uri(&s.github.base);
    let write: std::collections::BTreeMap<String, deputy_core::flow::PermissionLevel> = [
        (
            "contents".to_owned(),
            deputy_core::flow::PermissionLevel::Write,
        ),
        (
            "pull_requests".to_owned(),
            deputy_core::flow::PermissionLevel::Write,
        ),
    ]
    .into();
    let read: std::collections::BTreeMap<String, deputy_core::flow::PermissionLevel> = [(
        "contents".to_owned(),
        deputy_core::flow::PermissionLevel::Read,
    )]
    .into();

    // The installation grants contents: read only: nothing is minted, the permission is named.
    let err = app.mint(keys, &repo("app"), &write).await.unwrap_err();
    match &err {
        E::MissingPermission {
            repo,
            permission,
            granted,
            ..
        } => {
            assert_eq!(
                (repo.as_str(), permission.as_str()),
                ("octo-org/app", "contents")
            );
            assert_eq!(granted.as_deref(), Some("read"));
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("contents: write"), "{err}");
    assert_eq!(s.github.posts(), 0);

    // 404: the App is not installed on that owner.
    let other_owner: RepoRef = "other-org/app".parse().unwrap();
    let err = app.mint(keys, &other_owner, &read).await.unwrap_err();
    assert!(
        matches!(&err, E::NotInstalled { repo, .. } if repo == "other-org/app"),
        "{err:?}"
    );

    // 422: installed on the owner, but the repository is not in the installation.
    let err = app.mint(keys, &repo("elsewhere"), &read).await.unwrap_err();
    assert!(
        matches!(&err, E::Refused { status: 422, repo, .. } if repo == "octo-org/elsewhere"),
        "{err:?}"
    );

    // 403 and 422 from the mint name the repository and the permissions asked for.
    for (status, message) in [
        (403, "Resource not accessible by integration"),
        (
            422,
            "The permissions requested are not granted to this installation.",
        ),
    ] {
        s.github.fail_mints_with(status, message);
        let err = app.mint(keys, &repo("app"), &read).await.unwrap_err();
        assert!(
            matches!(&err, E::Refused { status: st, repo, .. } if *st == status && repo == "octo-org/app"),
            "{err:?}"
        );
        let text = err.to_string();
        assert!(
            text.contains("contents: read") && text.contains(message),
            "{text}"
        );
    }

    // 401: a key that is not the App's.
    let stranger = AppKey::generate();
    let wrong = GithubApp::new(
        APP_ID,
        Arc::new(InMemory(AppPrivateKey::new(stranger.pem.clone()))),
    )
    .base_uri(&s.github.base);
    let err = wrong.mint(keys, &repo("app"), &read).await.unwrap_err();
    assert!(
        matches!(&err, E::AppRejected { repo, .. } if repo == "octo-org/app"),
        "{err:?}"
    );
    assert!(!s.github.jwt_problems().is_empty());

    // Not a PEM key: the error names the source, never the key.
    let broken = GithubApp::new(
        APP_ID,
        Arc::new(InMemory(AppPrivateKey::new("not-a-key-SECRETVALUE"))),
    )
    .base_uri(&s.github.base);
    let err = broken.mint(keys, &repo("app"), &read).await.unwrap_err();
    assert!(matches!(err, E::Key { .. }), "{err:?}");
    assert!(!format!("{err} {err:?}").contains("SECRETVALUE"));
}

#[tokio::test]
async fn resolver_errors_name_the_repository_and_permission() {
    let s = setup(&["app"], &[("contents", "read"), ("metadata", "read")]).await;
    let resolver = resolver(&s, allow());
    let task = common::interactive(&s.vault, "alice", "w-1");
    let err = resolver
        .resolve_github_token(&task, Operation::Write, &repo("app"))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(err, ResolveError::RepoNotAuthorized { .. }),
        "{err:?}"
    );
    assert!(
        text.contains("octo-org/app") && text.contains("contents: write"),
        "{text}"
    );
    assert_eq!(s.github.posts(), 0);
}

#[tokio::test]
async fn tokens_and_keys_never_reach_debug_or_errors() {
    let s = setup(&["app"], ALL).await;
    let resolver = resolver(&s, allow());
    let task = common::interactive(&s.vault, "alice", "hygiene-1");
    let credentials = resolver.task_credentials(task);
    let resolved = credentials
        .github_token(Operation::Write, &repo("app"))
        .await
        .unwrap();
    let token = resolved.token.expose().to_owned();
    // Any 12-character piece of the token after its public prefix.
    let secret_part = &token[token.len() - 12..];
    let app = app(&s.github);
    let key = AppPrivateKey::new(s.key.pem.clone());
    let shown = format!("{resolved:?} {credentials:?} {resolver:?} {app:?} {key:?}");
    assert!(!shown.contains(secret_part), "{shown}");
    assert!(!shown.contains(&s.key.pem_body_line()), "{shown}");
    assert!(shown.contains(&resolved.fingerprint().to_string()));

    s.github.fail_mints_with(
        422,
        "The permissions requested are not granted to this installation.",
    );
    let other = common::interactive(&s.vault, "alice", "hygiene-2");
    let err = resolver
        .resolve_github_token(&other, Operation::Write, &repo("app"))
        .await
        .unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(
        !text.contains(&s.key.pem_body_line()) && !text.contains(secret_part),
        "{text}"
    );
    credentials.close().await.unwrap();
}
