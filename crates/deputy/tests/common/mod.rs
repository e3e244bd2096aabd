//! Shared set-up for tests against the local vault.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use aws_sdk_bedrockagentcore::config::{BehaviorVersion, Credentials, Region};
use deputy::repo_auth::{AuthorizeFuture, RepoAuthorizer, RepoDecision};
use deputy::task::Task;
use deputy::user_jwt::UserJwt;
use deputy::vault::TokenVault;
use deputy::verify::TokenVerifier;
use deputy::{Resolver, ResolverBuilder, UserToken};
use deputy_core::{IssuerMap, Operation, RepoRef, TaskId, UserId};
use deputy_vault_local::{LocalVault, RunningVault, VaultConfig};

pub const WORKLOAD: &str = "deputy-agent";
pub const RETURN_URL: &str = "http://127.0.0.1:9/deputy/callback";

/// Allows every repository: GitHub tokens that can write (reads included) are served only
/// after a repository authorizer allows the repository.
pub struct AllowAll;

impl RepoAuthorizer for AllowAll {
    fn authorize<'a>(&'a self, _: &'a str, _: &'a RepoRef, _: Operation) -> AuthorizeFuture<'a> {
        Box::pin(async {
            RepoDecision::Allow {
                decided_at: std::time::SystemTime::now(),
            }
        })
    }
}

/// `builder` with a repository authorizer that allows every repository.
pub fn builder_allowing_repos(vault: &RunningVault) -> ResolverBuilder {
    builder(vault).repo_authorizer(
        std::sync::Arc::new(AllowAll),
        std::time::Duration::from_secs(60),
    )
}

pub async fn vault() -> RunningVault {
    LocalVault::start(VaultConfig::development(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

pub fn client(vault: &RunningVault) -> TokenVault {
    let config = aws_sdk_bedrockagentcore::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .endpoint_url(vault.endpoint())
        .build();
    TokenVault::new(aws_sdk_bedrockagentcore::Client::from_conf(config))
}

pub fn builder(vault: &RunningVault) -> ResolverBuilder {
    let issuer = vault.idp_issuer();
    Resolver::builder()
        .vault(client(vault))
        .workload(WORKLOAD)
        .orchestrator("orchestrator")
        .return_url(RETURN_URL)
        .verifier(
            "aws-native",
            TokenVerifier::new(issuer.clone(), format!("{issuer}/jwks"), ["aws-native"]),
        )
}

/// The dev IdP's users are namespaced `dev+<name>`.
pub fn issuers(vault: &RunningVault) -> IssuerMap {
    let mut map = IssuerMap::new();
    map.insert(&vault.idp_issuer(), "dev").unwrap();
    map
}

/// A dev IdP user's JWT, with the user taken from its own `iss`+`sub`.
pub fn user_jwt(vault: &RunningVault, user: &str) -> UserJwt {
    let jwt = vault.mint_user_token(user, "deputy").unwrap();
    UserJwt::from_verified(UserToken::new(jwt), &issuers(vault)).unwrap()
}

/// An interactive task for a dev IdP user, with a JWT-bound WAT.
pub fn interactive(vault: &RunningVault, user: &str, task_id: &str) -> Task {
    Task::interactive(TaskId::new(task_id).unwrap(), user_jwt(vault, user))
}

/// A webhook task asserting a user, with a user-id-bound WAT.
pub fn webhook(user: &str, task_id: &str) -> Task {
    Task::webhook(
        TaskId::new(task_id).unwrap(),
        UserId::from_parts("dev", user).unwrap(),
    )
}

/// A headless task with a workload-only WAT.
pub fn headless(task_id: &str) -> Task {
    Task::headless(TaskId::new(task_id).unwrap())
}

/// The dev IdP user a task acts for (what its browser is signed in as).
pub fn user_of(task: &Task) -> UserId {
    task.ctx().user().unwrap().clone()
}

/// The task's user approves `consent` in a scripted browser (dev IdP user, password = name),
/// and the app's return-URL handler, having signed that user in, binds the session.
pub async fn approve_and_bind(
    resolver: &Resolver,
    task: &Task,
    integration: &deputy_core::Integration,
    consent: &deputy::ConsentRequired,
) {
    let user = user_of(task);
    let seen = deputy_vault_local::complete_consent_as_browser(
        &consent.authorization_url,
        user.sub(),
        user.sub(),
    )
    .await
    .unwrap();
    resolver
        .complete_consent(task, integration, &seen.session_id, &user)
        .await
        .unwrap();
}
#[allow(unused_imports)]
pub use deputy_tests::moto;
