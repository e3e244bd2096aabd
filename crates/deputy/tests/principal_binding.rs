//! The user a resolve acts for comes from the WAT's binding alone: a task that names one user
//! and carries another's WAT cannot be built, so it can never meet the first user's cached
//! token; and the cache and consent principal is the binding's own `iss`+`sub` or user id.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use deputy::UserToken;
use deputy::task::{Task, TaskError, WatSource};
use deputy::user_jwt::{UserJwt, UserJwtError};
use deputy::vault::WatBinding;
use deputy_core::{IssuerMap, Operation, TaskContext, TaskId, Trigger, UserId};

fn id(s: &str) -> TaskId {
    TaskId::new(s).unwrap()
}

fn dev(name: &str) -> UserId {
    UserId::from_parts("dev", name).unwrap()
}

/// An unsigned JWT with these claims (for `from_verified`, which reads claims only).
fn claims_jwt(claims: &serde_json::Value) -> UserToken {
    use base64::Engine as _;
    let b64 = |v: &serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    UserToken::new(format!(
        "{}.{}.sig",
        b64(&serde_json::json!({"alg": "RS256"})),
        b64(claims)
    ))
}

#[tokio::test]
async fn a_task_naming_alice_with_bobs_wat_is_refused_when_built_and_never_served_her_token() {
    let vault = common::vault().await;
    let resolver = common::builder(&vault).build().unwrap();
    // Alice consents; her token is cached.
    let alice = common::interactive(&vault, "alice", "t-alice");
    let consent = match resolver.resolve_slack_token(&alice, Operation::Read).await {
        Err(deputy::ResolveError::ConsentRequired(consent, _)) => consent,
        other => panic!("expected consent, got {other:?}"),
    };
    common::approve_and_bind(
        &resolver,
        &alice,
        &deputy_core::Integration::Slack,
        &consent,
    )
    .await;
    resolver
        .resolve_slack_token(&alice, Operation::Read)
        .await
        .unwrap();
    let calls = vault.call_count("GetResourceOauth2Token");

    // A task that says "alice" but carries a WAT bound to bob: refused when built, by JWT and
    // by user id, so there is nothing to resolve and the vault is never asked.
    let says_alice = TaskContext::new(id("t-forged"), Trigger::Interactive { user: dev("alice") });
    let bobs_jwt = WatSource::Mint(WatBinding::Jwt(common::user_jwt(&vault, "bob")));
    let err = Task::new(says_alice.clone(), bobs_jwt).unwrap_err();
    assert_eq!(
        err,
        TaskError::UserMismatch {
            task_id: id("t-forged"),
            asserted: Some(dev("alice")),
            bound: Some(dev("bob")),
        }
    );
    assert!(err.to_string().contains("Task::interactive"), "{err}");
    let webhook_alice = TaskContext::new(
        id("t-forged-2"),
        Trigger::Webhook {
            asserted_user: Some(dev("alice")),
        },
    );
    assert!(matches!(
        Task::new(
            webhook_alice.clone(),
            WatSource::Mint(WatBinding::UserId(dev("bob")))
        ),
        Err(TaskError::UserMismatch { .. })
    ));
    // A Runtime-delivered WAT is held to the same rule.
    assert!(matches!(
        Task::new(
            webhook_alice,
            WatSource::Runtime {
                wat: deputy::WorkloadAccessToken::new("wat-bound-to-bob"),
                bound_to: WatBinding::UserId(dev("bob")),
            }
        ),
        Err(TaskError::UserMismatch { .. })
    ));
    // A user with a workload-only WAT, and a workload task with a user's WAT.
    assert!(matches!(
        Task::new(says_alice, WatSource::Mint(WatBinding::Workload)),
        Err(TaskError::UserMismatch { bound: None, .. })
    ));
    assert!(matches!(
        Task::new(
            TaskContext::new(id("t-headless"), Trigger::Headless),
            WatSource::Mint(WatBinding::UserId(dev("bob")))
        ),
        Err(TaskError::UserMismatch { asserted: None, .. })
    ));
    assert_eq!(vault.call_count("GetResourceOauth2Token"), calls);

    // Bob's own task, built from his binding, misses alice's cached token.
    let bob = common::interactive(&vault, "bob", "t-bob");
    assert_eq!(
        resolver
            .resolve_slack_token(&bob, Operation::Read)
            .await
            .unwrap_err()
            .kind(),
        "consent_required"
    );
}

#[test]
fn the_principal_is_the_bindings_own_issuer_and_subject() {
    // One prefix cannot name two tenants' issuers: their users' ids would collapse.
    let mut issuers = IssuerMap::new();
    issuers.insert("https://tenant-a.example", "dev").unwrap();
    assert!(issuers.insert("https://tenant-b.example", "dev").is_err());
    // Two resolvers configured apart, each mapping its tenant to the same prefix: the user
    // ids are equal, the principals are not.
    let mut other_issuers = IssuerMap::new();
    other_issuers
        .insert("https://tenant-b.example", "dev")
        .unwrap();
    let a = UserJwt::from_verified(
        claims_jwt(&serde_json::json!({"iss": "https://tenant-a.example", "sub": "alice"})),
        &issuers,
    )
    .unwrap();
    let b = UserJwt::from_verified(
        claims_jwt(&serde_json::json!({"iss": "https://tenant-b.example", "sub": "alice"})),
        &other_issuers,
    )
    .unwrap();
    assert_eq!(a.user(), b.user());
    let task_a = Task::interactive(id("t-a"), a);
    let task_b = Task::interactive(id("t-b"), b);
    assert_ne!(task_a.principal(), task_b.principal());
    assert!(task_a.principal().unwrap().starts_with("jwt:"));
    // The same user asserted by a webhook is a different principal from the JWT-proven one.
    let webhook = Task::webhook(id("t-w"), dev("alice"));
    assert_eq!(webhook.principal(), Some("user-id:dev+alice"));
    assert_eq!(Task::headless(id("t-h")).principal(), None);
    // No `iss` or `sub`, or an issuer nobody mapped: no user at all.
    for claims in [
        serde_json::json!({"sub": "alice"}),
        serde_json::json!({"iss": "https://tenant-a.example"}),
        serde_json::json!({"iss": "https://tenant-a.example", "sub": 42}),
    ] {
        assert_eq!(
            UserJwt::from_verified(claims_jwt(&claims), &issuers).unwrap_err(),
            UserJwtError::Malformed
        );
    }
    assert!(matches!(
        UserJwt::from_verified(
            claims_jwt(&serde_json::json!({"iss": "https://evil.example", "sub": "alice"})),
            &issuers
        ),
        Err(UserJwtError::User(_))
    ));
}

#[tokio::test]
async fn a_runtime_wat_takes_its_user_from_the_runtime_user_id_header() {
    let vault = common::vault().await;
    let resolver = common::builder(&vault).build().unwrap();
    // Runtime minted bob's WAT `ForUserId` and says so in its header.
    let wat = common::client(&vault)
        .workload_access_token(common::WORKLOAD, &WatBinding::UserId(dev("bob")))
        .await
        .unwrap();
    let headers = [
        ("X-Amzn-Bedrock-AgentCore-Runtime-User-Id", "dev+bob"),
        ("WorkloadAccessToken", wat.expose()),
    ];
    let task = Task::from_runtime_headers(id("t-runtime"), headers).unwrap();
    assert_eq!(task.ctx().user(), Some(&dev("bob")));
    assert_eq!(task.principal(), Some("user-id:dev+bob"));
    // Its webhook read is served (M2M), with the delivered WAT: no WAT is minted.
    let minted = vault.call_count("GetWorkloadAccessTokenForUserId");
    resolver
        .resolve_linear_token(&task, Operation::Read)
        .await
        .unwrap();
    assert_eq!(vault.call_count("GetWorkloadAccessTokenForUserId"), minted);
    // Without the header the task has no user; a malformed one is refused.
    let anonymous =
        Task::from_runtime_headers(id("t-runtime-2"), [("WorkloadAccessToken", "w")]).unwrap();
    assert_eq!(anonymous.ctx().user(), None);
    let err = Task::from_runtime_headers(
        id("t-runtime-3"),
        [
            ("WorkloadAccessToken", "w"),
            ("x-amzn-bedrock-agentcore-runtime-user-id", "no separator"),
        ],
    )
    .unwrap_err();
    assert!(matches!(err, TaskError::RuntimeUserId { .. }), "{err}");
    assert!(matches!(
        Task::from_runtime_headers(id("t-runtime-4"), [("content-type", "x")]),
        Err(TaskError::RuntimeHeaders { .. })
    ));
}
