//! Issue #19 item 3: a token that can write is only ever served after repository authorization,
//! whatever the operation the caller named.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use deputy::ResolveError;
use deputy::repo_auth::{AuthorizeFuture, RepoAuthorizer, RepoDecision};
use deputy_core::audit::CredentialSource;
use deputy_core::{Integration, Operation, RepoRef};

/// Allows one repository and denies every other, as a maintainers list would.
struct OnlyRepo(RepoRef);

impl RepoAuthorizer for OnlyRepo {
    fn authorize<'a>(&'a self, _: &'a str, repo: &'a RepoRef, _: Operation) -> AuthorizeFuture<'a> {
        let decision = if *repo == self.0 {
            RepoDecision::Allow {
                decided_at: SystemTime::now(),
            }
        } else {
            RepoDecision::Deny {
                reason: "not a collaborator".into(),
            }
        };
        Box::pin(async move { decision })
    }
}

fn allowed() -> RepoRef {
    "octo-org/infra".parse().unwrap()
}

fn denied() -> RepoRef {
    "octo-org/payroll".parse().unwrap()
}

fn refused(result: Result<deputy::ResolvedToken, ResolveError>, what: &str) {
    match result {
        Err(ResolveError::RepoNotAuthorized { repo, reason, .. }) => {
            assert_eq!(repo, denied().to_string(), "{what}");
            assert_eq!(reason, "not a collaborator", "{what}");
        }
        Err(other) => panic!("{what}: expected repo_not_authorized, got {other}"),
        Ok(token) => panic!(
            "{what}: a read on a repository the authorizer denies was served a write-capable token (rule {}, source {:?})",
            token.rule_id, token.source
        ),
    }
}

#[tokio::test]
async fn a_github_read_on_a_denied_repository_gets_no_write_capable_token() {
    let vault = common::vault().await;
    let resolver = common::builder(&vault)
        .repo_authorizer(Arc::new(OnlyRepo(allowed())), Duration::from_secs(60))
        .build()
        .unwrap();
    // The user's own `repo`-scoped token: the read is refused before any consent is asked.
    let alice = common::interactive(&vault, "alice", "t-read-denied");
    refused(
        resolver
            .resolve_github_token(&alice, Operation::Read, &denied())
            .await,
        "interactive read",
    );
    // The service account's token is the one headless writes use.
    refused(
        resolver
            .resolve_github_token(&common::headless("t-svc-read"), Operation::Read, &denied())
            .await,
        "headless read",
    );
    refused(
        resolver
            .resolve_github_token(
                &common::webhook("alice", "t-hook-read"),
                Operation::Read,
                &denied(),
            )
            .await,
        "webhook read",
    );
    assert_eq!(
        vault.call_count("GetResourceOauth2Token"),
        0,
        "no credential was requested for the denied repository"
    );
}

#[tokio::test]
async fn a_cached_write_token_never_serves_a_read_on_another_repository() {
    let vault = common::vault().await;
    let resolver = common::builder(&vault)
        .repo_authorizer(Arc::new(OnlyRepo(allowed())), Duration::from_secs(60))
        .build()
        .unwrap();
    let alice = common::interactive(&vault, "alice", "t-write-then-read");
    let Err(ResolveError::ConsentRequired(consent, _)) = resolver
        .resolve_github_token(&alice, Operation::Write, &allowed())
        .await
    else {
        panic!("expected consent for the first write")
    };
    common::approve_and_bind(&resolver, &alice, &Integration::Github, &consent).await;
    let write = resolver
        .resolve_github_token(&alice, Operation::Write, &allowed())
        .await
        .unwrap();
    assert_eq!(write.source, CredentialSource::Vault);
    // The same token is cached under a key without operation or repository: a read of another
    // repository by the same user must still be refused.
    let other_task = common::interactive(&vault, "alice", "t-read-other");
    refused(
        resolver
            .resolve_github_token(&other_task, Operation::Read, &denied())
            .await,
        "cached read",
    );
    // The allowed repository is still readable, from the cache.
    let read = resolver
        .resolve_github_token(&other_task, Operation::Read, &allowed())
        .await
        .unwrap();
    assert_eq!(read.source, CredentialSource::Cache);
}
