//! GitHub App failures as typed errors naming the repository and permission, and secret hygiene.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod github_fake;

use std::sync::Arc;

use deputy::ResolveError;
use deputy::github_app::{AppPrivateKey, GithubApp, KeyRequest};
use deputy_core::{Operation, RepoRef};
use github_fake::setup::*;
use github_fake::{APP_ID, AppKey};

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
