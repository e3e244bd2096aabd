use aws_sdk_bedrockagentcore::error::ProvideErrorMetadata;
use aws_sdk_bedrockagentcore::types::{Oauth2FlowType, SessionStatus, UserIdentifier};
use deputy_vault_local::{VaultConfig, complete_consent_as_browser};

use crate::common::*;

#[tokio::test]
async fn three_legged_flow_with_user_id_binding() {
    let vault = start().await;
    let client = data_plane(&vault);
    let wat = wat_for_user_id(&client, "alice").await;
    let request = || {
        token_request(&client, &wat, "github", Oauth2FlowType::UserFederation)
            .resource_oauth2_return_url(RETURN_URL)
    };

    let first = request().send().await.unwrap();
    assert!(first.access_token().is_none());
    assert_eq!(first.session_status(), Some(&SessionStatus::InProgress));
    let session_uri = first.session_uri().unwrap().to_owned();
    assert!(session_uri.starts_with("urn:ietf:params:oauth:request_uri:"));
    let auth_url = first.authorization_url().unwrap().to_owned();
    assert!(auth_url.starts_with(&format!("{}/authorize?", vault.idp_issuer())));
    assert!(auth_url.contains("code_challenge_method=S256"));

    let poll = request().session_uri(&session_uri).send().await.unwrap();
    assert_eq!(poll.session_status(), Some(&SessionStatus::InProgress));
    assert!(
        poll.access_token().is_none(),
        "no stale token before binding"
    );

    let outcome = complete_consent_as_browser(&auth_url, "alice", "alice")
        .await
        .unwrap();
    assert_eq!(outcome.session_id, session_uri);
    assert!(outcome.return_url.starts_with(RETURN_URL));

    let poll = request().session_uri(&session_uri).send().await.unwrap();
    assert!(
        poll.access_token().is_none(),
        "the code is not exchanged before CompleteResourceTokenAuth"
    );

    let wrong = client
        .complete_resource_token_auth()
        .session_uri(&session_uri)
        .user_identifier(UserIdentifier::UserId("bob".into()))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(wrong.is_access_denied_exception(), "{wrong:?}");
    assert_eq!(wrong.message(), Some("Invalid or expired session"));

    client
        .complete_resource_token_auth()
        .session_uri(&session_uri)
        .user_identifier(UserIdentifier::UserId("alice".into()))
        .send()
        .await
        .unwrap();
    let done = request().session_uri(&session_uri).send().await.unwrap();
    let token = done.access_token().unwrap().to_owned();
    let claims = verify_dev_token(&vault, &token).await;
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["client_id"], "github");

    let again = request().send().await.unwrap();
    assert_eq!(
        again.access_token(),
        Some(token.as_str()),
        "the vault now holds the token"
    );
    let forced = request().force_authentication(true).send().await.unwrap();
    assert_eq!(forced.session_status(), Some(&SessionStatus::InProgress));
    assert_ne!(forced.session_uri().unwrap(), session_uri);

    let replay = client
        .complete_resource_token_auth()
        .session_uri(&session_uri)
        .user_identifier(UserIdentifier::UserId("alice".into()))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(
        replay.is_access_denied_exception(),
        "a session completes once: {replay:?}"
    );
}

#[tokio::test]
async fn force_authentication_needs_a_new_consent_whose_token_replaces_the_stored_one() {
    let vault = start().await;
    let client = data_plane(&vault);
    let wat = wat_for_user_id(&client, "alice").await;
    let request = || {
        token_request(&client, &wat, "github", Oauth2FlowType::UserFederation)
            .resource_oauth2_return_url(RETURN_URL)
    };
    let consent = |session_uri: String, auth_url: String| {
        let client = client.clone();
        async move {
            complete_consent_as_browser(&auth_url, "alice", "alice")
                .await
                .unwrap();
            client
                .complete_resource_token_auth()
                .session_uri(&session_uri)
                .user_identifier(UserIdentifier::UserId("alice".into()))
                .send()
                .await
                .unwrap();
        }
    };
    let first = request().send().await.unwrap();
    let first_uri = first.session_uri().unwrap().to_owned();
    consent(
        first_uri.clone(),
        first.authorization_url().unwrap().to_owned(),
    )
    .await;
    let stored = request()
        .session_uri(&first_uri)
        .send()
        .await
        .unwrap()
        .access_token()
        .unwrap()
        .to_owned();

    // Forced: the stored token is not returned; a new session waits for the user.
    let forced = request().force_authentication(true).send().await.unwrap();
    assert!(
        forced.access_token().is_none(),
        "the stored token is not returned"
    );
    let forced_uri = forced.session_uri().unwrap().to_owned();
    assert_ne!(forced_uri, first_uri);
    // Forcing again while polling would start yet another session: the poll is not forced.
    let poll = request().session_uri(&forced_uri).send().await.unwrap();
    assert_eq!(poll.session_status(), Some(&SessionStatus::InProgress));
    assert!(poll.access_token().is_none());
    consent(
        forced_uri.clone(),
        forced.authorization_url().unwrap().to_owned(),
    )
    .await;
    let done = request().session_uri(&forced_uri).send().await.unwrap();
    let renewed = done.access_token().unwrap().to_owned();
    assert_ne!(renewed, stored, "the new consent's token");
    assert_eq!(
        request().send().await.unwrap().access_token(),
        Some(renewed.as_str()),
        "the new token replaced the stored one"
    );
}

#[tokio::test]
async fn jwt_binding_needs_the_identical_token() {
    let vault = start().await;
    let client = data_plane(&vault);
    let jwt = vault.mint_user_token("bob", "deputy").unwrap();
    let wat = wat_for_jwt(&client, &jwt).await;
    let first = token_request(&client, &wat, "linear", Oauth2FlowType::UserFederation)
        .resource_oauth2_return_url(RETURN_URL)
        .send()
        .await
        .unwrap();
    let session_uri = first.session_uri().unwrap();
    complete_consent_as_browser(first.authorization_url().unwrap(), "bob", "bob")
        .await
        .unwrap();
    let fresh = vault.mint_user_token("bob", "deputy").unwrap();
    assert_ne!(fresh, jwt);
    let err = client
        .complete_resource_token_auth()
        .session_uri(session_uri)
        .user_identifier(UserIdentifier::UserToken(fresh))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_access_denied_exception(), "{err:?}");
    client
        .complete_resource_token_auth()
        .session_uri(session_uri)
        .user_identifier(UserIdentifier::UserToken(jwt.clone()))
        .send()
        .await
        .unwrap();
    let done = token_request(&client, &wat, "linear", Oauth2FlowType::UserFederation)
        .resource_oauth2_return_url(RETURN_URL)
        .session_uri(session_uri)
        .send()
        .await
        .unwrap();
    assert_eq!(
        verify_dev_token(&vault, done.access_token().unwrap()).await["sub"],
        "bob"
    );
}

#[tokio::test]
async fn return_url_rules_use_the_real_messages() {
    let vault = start().await;
    let client = data_plane(&vault);
    let wat = wat_for_user_id(&client, "alice").await;
    let missing = token_request(&client, &wat, "github", Oauth2FlowType::UserFederation)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(missing.is_validation_exception());
    assert_eq!(
        missing.message(),
        Some("You must provide a ResourceOauth2ReturnUrl to proceed with this flow")
    );
    let unlisted = token_request(&client, &wat, "github", Oauth2FlowType::UserFederation)
        .resource_oauth2_return_url("https://attacker.example/cb")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(unlisted.is_validation_exception(), "{unlisted:?}");

    control_plane(&vault)
        .create_workload_identity()
        .name("no-urls")
        .send()
        .await
        .unwrap();
    let bare = client
        .get_workload_access_token_for_user_id()
        .workload_name("no-urls")
        .user_id("alice")
        .send()
        .await
        .unwrap();
    let err = token_request(
        &client,
        bare.workload_access_token(),
        "github",
        Oauth2FlowType::UserFederation,
    )
    .resource_oauth2_return_url(RETURN_URL)
    .send()
    .await
    .unwrap_err()
    .into_service_error();
    assert_eq!(
        err.message(),
        Some(
            "You must register and use at least one ResourceOauth2ReturnUrl on your workload identity to use this flow"
        )
    );
}

#[tokio::test]
async fn user_federation_needs_a_user_bound_wat() {
    let vault = start().await;
    let client = data_plane(&vault);
    let wat = workload_wat(&client).await;
    let err = token_request(&client, &wat, "github", Oauth2FlowType::UserFederation)
        .resource_oauth2_return_url(RETURN_URL)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_validation_exception(), "{err:?}");
}

#[tokio::test]
async fn expired_sessions_fail_and_cannot_be_completed() {
    let mut config = VaultConfig::development();
    config.session_ttl_seconds = 0;
    let vault = start_with(config).await;
    let client = data_plane(&vault);
    let wat = wat_for_user_id(&client, "alice").await;
    let request = || {
        token_request(&client, &wat, "jira", Oauth2FlowType::UserFederation)
            .resource_oauth2_return_url(RETURN_URL)
    };
    let first = request().send().await.unwrap();
    let session_uri = first.session_uri().unwrap().to_owned();
    let poll = request().session_uri(&session_uri).send().await.unwrap();
    assert_eq!(poll.session_status(), Some(&SessionStatus::Failed));
    assert!(poll.access_token().is_none());
    let browser =
        complete_consent_as_browser(first.authorization_url().unwrap(), "alice", "alice").await;
    assert!(browser.is_err(), "the callback refuses an expired session");
    let err = client
        .complete_resource_token_auth()
        .session_uri(&session_uri)
        .user_identifier(UserIdentifier::UserId("alice".into()))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_access_denied_exception());
}

#[tokio::test]
async fn callback_replay_and_missing_parameters_are_rejected() {
    let vault = start().await;
    let client = data_plane(&vault);
    let wat = wat_for_user_id(&client, "alice").await;
    let first = token_request(&client, &wat, "slack", Oauth2FlowType::UserFederation)
        .resource_oauth2_return_url(RETURN_URL)
        .custom_state("csrf-123")
        .send()
        .await
        .unwrap();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let login_page = http
        .get(first.authorization_url().unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let marker = "name=\"request_id\" value=\"";
    let start_at = login_page.find(marker).unwrap() + marker.len();
    let request_id = &login_page[start_at..start_at + login_page[start_at..].find('"').unwrap()];
    let idp = vault.idp_issuer();
    let wrong = http
        .post(format!("{idp}/login"))
        .form(&[
            ("request_id", request_id),
            ("username", "alice"),
            ("password", "nope"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    http.post(format!("{idp}/login"))
        .form(&[
            ("request_id", request_id),
            ("username", "alice"),
            ("password", "alice"),
        ])
        .send()
        .await
        .unwrap();
    let consent = http
        .post(format!("{idp}/consent"))
        .form(&[("request_id", request_id), ("decision", "allow")])
        .send()
        .await
        .unwrap();
    let callback = consent.headers()["location"].to_str().unwrap().to_owned();
    let first_hit = http.get(&callback).send().await.unwrap();
    assert_eq!(first_hit.status(), 302);
    let location = first_hit.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.contains("custom_state=csrf-123"), "{location}");
    let replay = http.get(&callback).send().await.unwrap();
    assert_eq!(replay.status(), 400);
    let body: serde_json::Value = replay.json().await.unwrap();
    assert_eq!(body["message"], "Invalid or expired session");

    let bare = callback.split('?').next().unwrap();
    let missing = http.get(bare).send().await.unwrap();
    assert_eq!(missing.status(), 400);
    let body: serde_json::Value = missing.json().await.unwrap();
    assert_eq!(
        body["message"],
        "2 validation errors detected: Value at 'authorizationCode' failed to satisfy constraint: Member must not be null; Value at 'state' failed to satisfy constraint: Member must not be null"
    );
}

#[tokio::test]
async fn expired_vault_tokens_are_refreshed_without_a_new_session() {
    let mut config = VaultConfig::development();
    config.dev_idp.access_token_ttl_seconds = 5; // below the vault's 30 s reuse margin
    let vault = start_with(config).await;
    let client = data_plane(&vault);
    let wat = wat_for_user_id(&client, "alice").await;
    let request = || {
        token_request(&client, &wat, "github", Oauth2FlowType::UserFederation)
            .resource_oauth2_return_url(RETURN_URL)
            .custom_parameters("prompt", "consent")
    };
    let started = request().send().await.unwrap();
    let auth_url = started.authorization_url().unwrap();
    assert!(
        auth_url.contains("prompt=consent"),
        "custom parameters reach the IdP: {auth_url}"
    );
    let outcome = complete_consent_as_browser(auth_url, "alice", "alice")
        .await
        .unwrap();
    client
        .complete_resource_token_auth()
        .session_uri(&outcome.session_id)
        .user_identifier(UserIdentifier::UserId("alice".into()))
        .send()
        .await
        .unwrap();
    let first = request()
        .session_uri(&outcome.session_id)
        .send()
        .await
        .unwrap();
    let first_token = first.access_token().unwrap().to_owned();
    let refreshed = request().send().await.unwrap();
    let second_token = refreshed
        .access_token()
        .expect("refreshed, not a new session");
    assert_ne!(second_token, first_token);
    assert!(refreshed.session_uri().is_none());
    assert_eq!(verify_dev_token(&vault, second_token).await["sub"], "alice");
}
