//! GitHub App installation tokens through the resolver, against an in-test GitHub: scope,
//! single-flight caching, expiry, repository authorization and revocation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod github_fake;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use deputy::ResolveError;
use deputy::repo_auth::{RepoAuthorizer, RepoDecision};
use deputy_core::Operation;
use deputy_core::flow::Flow;
use deputy_core::policy::PolicyTable;
use github_fake::APP_ID;
use github_fake::setup::*;

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
    assert_eq!(&*resolved.rule_id, "github-app-read");
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
    let pinned = a.clone().with_repo(repo("app"));
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
    assert_eq!(&*resolved.rule_id, "github-app-write");
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
    let plain = common::builder_allowing_repos(&s.vault).build().unwrap();
    let task = common::interactive(&s.vault, "alice", "t2");
    let err = plain
        .resolve_github_token(&task, Operation::Read, &repo("app"))
        .await
        .unwrap_err();
    assert!(matches!(err, ResolveError::ConsentRequired(..)), "{err:?}");
}
