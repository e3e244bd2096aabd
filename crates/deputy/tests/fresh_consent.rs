//! Issue #19 item 4: webhook write-back as a user needs a fresh consent (`forceAuthentication`),
//! end to end against the local vault; and a session the user denies is `ConsentFailed`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, SystemTime};

use deputy::task::Task;
use deputy::{ResolveError, ResolvedToken, Resolver};
use deputy_core::audit::CredentialSource;
use deputy_core::policy::PolicyTable;
use deputy_core::{Integration, Operation, RepoRef};
use deputy_vault_local::deny_consent_as_browser;

fn repo() -> RepoRef {
    "octo-org/infra".parse().unwrap()
}

async fn write_back(resolver: &Resolver, task: &Task) -> Result<ResolvedToken, ResolveError> {
    resolver
        .resolve_github_token(task, Operation::Write, &repo())
        .await
}

/// A webhook write back returns `ConsentRequired`; the user consents in the browser and the
/// return-URL handler binds the session; the next resolve returns the new token.
async fn consent_then_token(resolver: &Resolver, task: &Task) -> ResolvedToken {
    let err = write_back(resolver, task).await.unwrap_err();
    let ResolveError::ConsentRequired(consent, _) = &err else {
        panic!("expected a fresh consent, got {err}")
    };
    common::approve_and_bind(resolver, task, &Integration::Github, consent).await;
    write_back(resolver, task).await.unwrap()
}

#[tokio::test]
async fn a_webhook_write_back_needs_a_fresh_consent_even_with_a_stored_token() {
    let vault = common::vault().await;
    let first = common::builder_allowing_repos(&vault).build().unwrap();
    let task = common::webhook("alice", "t-hook-1");
    let old = consent_then_token(&first, &task).await;
    assert_eq!(old.source, CredentialSource::Vault);
    assert_eq!(&*old.rule_id, "github-webhook-write");

    // Another deputy (or this one after a restart): the vault still holds Alice's token from
    // that consent, but a webhook write back must not reuse it.
    let later = common::builder_allowing_repos(&vault).build().unwrap();
    let task = common::webhook("alice", "t-hook-2");
    let calls = vault.call_count("GetResourceOauth2Token");
    let fresh = match write_back(&later, &task).await {
        Err(ResolveError::ConsentRequired(..)) => consent_then_token(&later, &task).await,
        Err(other) => panic!("{other}"),
        Ok(token) => panic!(
            "a webhook write back was served the vault's stored token without a fresh consent (same token: {})",
            token.token == old.token
        ),
    };
    assert!(
        vault.call_count("GetResourceOauth2Token") > calls + 1,
        "a new session was started and polled"
    );
    assert_ne!(fresh.token, old.token, "the new consent's token");
    assert_eq!(fresh.source, CredentialSource::Vault);
    assert!(
        fresh.expires_at <= SystemTime::now() + Duration::from_secs(600),
        "served no longer than the consent's max age"
    );
    // Within the max age the new consent's token is reused, from the cache.
    let again = write_back(&later, &common::webhook("alice", "t-hook-3"))
        .await
        .unwrap();
    assert_eq!(
        (again.source, again.token == fresh.token),
        (CredentialSource::Cache, true)
    );
}

#[tokio::test]
async fn past_its_max_age_a_fresh_consent_token_is_never_served_again() {
    let vault = common::vault().await;
    // A one-minute window and a one-minute cache buffer: the token may be used when it
    // arrives, but is never served again.
    let text = PolicyTable::built_in_source().replace(
        "consent = \"fail_closed\"\nconsent_max_age_secs = 600\nrepo_authorization = true",
        "consent = \"fail_closed\"\nconsent_max_age_secs = 60\nrepo_authorization = true",
    );
    let policy = PolicyTable::from_toml("fresh.toml", &text).unwrap();
    let resolver = common::builder_allowing_repos(&vault)
        .policy(policy)
        .cache(1_000, Duration::from_secs(60))
        .build()
        .unwrap();
    let task = common::webhook("alice", "t-hook-short");
    let token = consent_then_token(&resolver, &task).await;
    assert!(token.expires_at <= SystemTime::now() + Duration::from_secs(60));
    let err = write_back(&resolver, &task).await.unwrap_err();
    assert!(
        matches!(err, ResolveError::ConsentRequired(..)),
        "past the window a new consent is needed: {err}"
    );
}

#[tokio::test]
async fn consent_the_user_denies_is_consent_failed_and_the_next_resolve_asks_again() {
    let vault = common::vault().await;
    let resolver = common::builder(&vault).build().unwrap();
    let task = common::interactive(&vault, "alice", "t-denied");
    let err = resolver
        .resolve_linear_token(&task, Operation::Read)
        .await
        .unwrap_err();
    let ResolveError::ConsentRequired(consent, _) = &err else {
        panic!("{err}")
    };
    let said = deny_consent_as_browser(&consent.authorization_url, "alice", "alice")
        .await
        .unwrap();
    assert!(said.contains("did not grant access"), "{said}");
    let err = resolver
        .resolve_linear_token(&task, Operation::Read)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ResolveError::ConsentFailed { integration: Integration::Linear, provider } if provider == "linear"),
        "{err}"
    );
    assert_eq!(err.kind(), "consent_failed");
    // The failed session is forgotten: the next resolve starts a new one.
    let err = resolver
        .resolve_linear_token(&task, Operation::Read)
        .await
        .unwrap_err();
    let ResolveError::ConsentRequired(again, _) = &err else {
        panic!("{err}")
    };
    assert_ne!(again.session_uri, consent.session_uri);
}
