//! The Token Vault client against the local vault, through the real AWS SDK.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_sdk_bedrockagentcore::config::{BehaviorVersion, Credentials, Region};
use deputy::user_jwt::UserJwt;
use deputy::vault::{OAuth2Outcome, OAuth2Request, TokenVault, VaultErrorKind, WatBinding};
use deputy::{UserToken, WorkloadAccessToken};
use deputy_core::UserId;
use deputy_vault_local::{LocalVault, RunningVault, VaultConfig, complete_consent_as_browser};

async fn start() -> (RunningVault, TokenVault) {
    // SAFETY-free: tests set the variable the SDK reads so nothing probes instance metadata.
    let vault = LocalVault::start(VaultConfig::development(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let config = aws_sdk_bedrockagentcore::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .endpoint_url(vault.endpoint())
        .build();
    (
        vault,
        TokenVault::new(aws_sdk_bedrockagentcore::Client::from_conf(config)),
    )
}

fn request(provider: &str, flow: &'static str) -> OAuth2Request {
    OAuth2Request {
        provider: provider.into(),
        flow,
        scopes: vec!["repo".into()],
        audiences: vec![],
        resources: vec![],
        return_url: None,
        session_uri: None,
        force_authentication: false,
        custom_state: None,
    }
}

#[tokio::test]
async fn m2m_with_a_workload_wat() {
    let (vault, client) = start().await;
    let wat = client
        .workload_access_token("deputy-agent", &WatBinding::Workload)
        .await
        .unwrap();
    let outcome = client
        .oauth2_token(&wat, &request("linear-service", "M2M"))
        .await
        .unwrap();
    let OAuth2Outcome::Token(token) = outcome else {
        panic!("expected a token, got {outcome:?}")
    };
    assert!(!token.expose().is_empty());
    assert_eq!(vault.call_count("GetResourceOauth2Token"), 1);
    vault.shutdown().await;
}

#[tokio::test]
async fn user_federation_consent_binding_and_poll() {
    let (vault, client) = start().await;
    let user = UserId::parse("dev+alice").unwrap();
    let binding = WatBinding::UserId(user);
    let wat = client
        .workload_access_token("deputy-agent", &binding)
        .await
        .unwrap();
    let mut req = request("github", "USER_FEDERATION");
    req.return_url = Some("http://127.0.0.1:9/callback".into());
    let OAuth2Outcome::Consent {
        authorization_url: Some(url),
        session_uri: Some(session),
        failed: false,
    } = client.oauth2_token(&wat, &req).await.unwrap()
    else {
        panic!("expected consent")
    };
    let seen = complete_consent_as_browser(&url, "alice", "alice")
        .await
        .unwrap();
    assert_eq!(seen.session_id, session);
    // Another user cannot bind the session.
    let other = WatBinding::UserId(UserId::parse("dev+bob").unwrap());
    let err = client.complete_consent(&session, &other).await.unwrap_err();
    assert_eq!(err.kind, VaultErrorKind::AccessDenied, "{err}");
    client.complete_consent(&session, &binding).await.unwrap();
    req.session_uri = Some(session);
    let OAuth2Outcome::Token(token) = client.oauth2_token(&wat, &req).await.unwrap() else {
        panic!("expected token")
    };
    assert!(!token.expose().is_empty());
    vault.shutdown().await;
}

#[tokio::test]
async fn obo_needs_a_jwt_bound_wat() {
    let (vault, client) = start().await;
    let mut issuers = deputy_core::IssuerMap::new();
    issuers.insert(&vault.idp_issuer(), "dev").unwrap();
    let jwt = UserJwt::from_verified(
        UserToken::new(vault.mint_user_token("alice", "deputy").unwrap()),
        &issuers,
    )
    .unwrap();
    let wat = client
        .workload_access_token("deputy-agent", &WatBinding::Jwt(jwt))
        .await
        .unwrap();
    let outcome = client
        .oauth2_token(&wat, &request("aws-native", "ON_BEHALF_OF_TOKEN_EXCHANGE"))
        .await
        .unwrap();
    assert!(matches!(outcome, OAuth2Outcome::Token(_)), "{outcome:?}");
    let plain = client
        .workload_access_token("deputy-agent", &WatBinding::Workload)
        .await
        .unwrap();
    let err = client
        .oauth2_token(
            &plain,
            &request("aws-native", "ON_BEHALF_OF_TOKEN_EXCHANGE"),
        )
        .await
        .unwrap_err();
    assert_ne!(err.kind, VaultErrorKind::Unavailable, "{err}");
    vault.shutdown().await;
}

#[tokio::test]
async fn errors_are_classified_with_actionable_messages() {
    let (vault, client) = start().await;
    let wat = client
        .workload_access_token("deputy-agent", &WatBinding::Workload)
        .await
        .unwrap();
    let err = client
        .oauth2_token(&wat, &request("no-such-provider", "M2M"))
        .await
        .unwrap_err();
    assert_eq!(err.kind, VaultErrorKind::NotFound, "{err}");
    assert!(
        err.to_string().contains("credential provider name"),
        "{err}"
    );
    let forged = WorkloadAccessToken::new("forged-wat-value");
    let err = client
        .oauth2_token(&forged, &request("linear-service", "M2M"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err.kind,
            VaultErrorKind::Unauthorized | VaultErrorKind::AccessDenied
        ),
        "{err}"
    );
    assert!(!err.to_string().contains("forged-wat-value"));
    let err = client
        .workload_access_token("no-such-workload", &WatBinding::Workload)
        .await
        .unwrap_err();
    assert_eq!(err.kind, VaultErrorKind::NotFound, "{err}");
    vault.shutdown().await;
    let err = client
        .workload_access_token("deputy-agent", &WatBinding::Workload)
        .await
        .unwrap_err();
    assert_eq!(err.kind, VaultErrorKind::Unavailable, "{err}");
}
