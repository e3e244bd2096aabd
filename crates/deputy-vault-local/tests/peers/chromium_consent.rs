use aws_sdk_bedrockagentcore::types::{Oauth2FlowType, SessionStatus, UserIdentifier};
use deputy_tests::jwks::verify_with_jwks;
use deputy_tests::webdriver::Browser;
use deputy_vault_local::{LocalVault, VaultConfig};

use crate::return_app::ReturnApp;
use crate::support::data_plane;

#[tokio::test]
async fn headless_chromium_completes_the_dev_idp_consent() {
    let vault = LocalVault::start(VaultConfig::development(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let app = ReturnApp::start().await;
    let client = data_plane(&vault.endpoint());
    let wat = client
        .get_workload_access_token_for_user_id()
        .workload_name("deputy-agent")
        .user_id("alice")
        .send()
        .await
        .unwrap()
        .workload_access_token()
        .to_owned();
    let request = || {
        client
            .get_resource_oauth2_token()
            .workload_identity_token(&wat)
            .resource_credential_provider_name("github")
            .scopes("repo")
            .oauth2_flow(Oauth2FlowType::UserFederation)
            .resource_oauth2_return_url(&app.url)
    };
    let started = request().send().await.unwrap();
    assert_eq!(started.session_status(), Some(&SessionStatus::InProgress));
    let session_uri = started.session_uri().unwrap().to_owned();

    let browser = Browser::launch().await;
    browser.goto(started.authorization_url().unwrap()).await;
    browser.type_into("#username", "alice").await;
    browser.type_into("#password", "alice").await;
    browser.click("#sign-in").await;
    browser.find("#allow").await;
    assert!(
        browser.source().await.contains("repo"),
        "consent page lists the scope"
    );
    browser.click("#allow").await;
    let landed = browser.wait_for_url(&app.url).await;
    browser.find("#bound").await;
    browser.close().await;

    assert!(landed.contains("session_id="), "{landed}");
    assert_eq!(app.session_ids(), vec![session_uri.clone()]);
    client
        .complete_resource_token_auth()
        .session_uri(&session_uri)
        .user_identifier(UserIdentifier::UserId("alice".into()))
        .send()
        .await
        .unwrap();
    let done = request().session_uri(&session_uri).send().await.unwrap();
    let issuer = vault.idp_issuer();
    let claims = verify_with_jwks(
        done.access_token().unwrap(),
        &format!("{issuer}/jwks"),
        &issuer,
    )
    .await;
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["scope"], "repo");
    vault.shutdown().await;
}
