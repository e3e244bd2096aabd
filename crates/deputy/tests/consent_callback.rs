//! The return-URL router: binds a session only for the state the resolver issued, once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use deputy::ResolveError;
use deputy::callback::consent_callback_router;
use deputy_core::Operation;
use deputy_vault_local::complete_consent_as_browser;

#[tokio::test]
async fn the_callback_binds_once_and_refuses_forgeries() {
    let vault = common::vault().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let return_url = format!("http://{}/deputy/callback", listener.local_addr().unwrap());
    let resolver = common::builder(&vault)
        .return_url(&return_url)
        .build()
        .unwrap();
    let app = consent_callback_router(resolver.clone(), "/deputy/callback");
    tokio::spawn(async move { axum::serve(listener, app).await });
    let http = reqwest::Client::new();

    let task = common::interactive(&vault, "alice", "t-callback");
    let Err(ResolveError::ConsentRequired(consent, _)) =
        resolver.resolve_slack_token(&task, Operation::Read).await
    else {
        panic!("expected consent")
    };
    let seen = complete_consent_as_browser(&consent.authorization_url, "alice", "alice")
        .await
        .unwrap();
    assert!(
        seen.return_url.starts_with(&return_url),
        "{}",
        seen.return_url
    );
    assert!(
        seen.return_url.contains("custom_state="),
        "the vault echoes the state"
    );

    // Forged state, and a missing parameter.
    let forged = format!(
        "{return_url}?session_id={}&custom_state=00112233445566778899aabbccddeeff",
        seen.session_id
    );
    assert_eq!(http.get(&forged).send().await.unwrap().status(), 403);
    assert_eq!(
        http.get(format!("{return_url}?session_id=x"))
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
    // The state with another session id is refused and spent.
    let url = reqwest::Url::parse(&seen.return_url).unwrap();
    let state = url
        .query_pairs()
        .find(|(k, _)| k == "custom_state")
        .unwrap()
        .1
        .into_owned();
    let swapped = format!(
        "{return_url}?session_id=urn:ietf:params:oauth:request_uri:other&custom_state={state}"
    );
    assert_eq!(http.get(&swapped).send().await.unwrap().status(), 403);
    assert_eq!(
        resolver
            .resolve_slack_token(&task, Operation::Read)
            .await
            .unwrap_err()
            .kind(),
        "consent_required"
    );

    // A fresh session, bound through the real callback, then replayed.
    let fresh = common::interactive(&vault, "bob", "t-callback-2");
    let Err(ResolveError::ConsentRequired(consent, _)) =
        resolver.resolve_slack_token(&fresh, Operation::Read).await
    else {
        panic!("expected consent")
    };
    let seen = complete_consent_as_browser(&consent.authorization_url, "bob", "bob")
        .await
        .unwrap();
    let ok = http.get(&seen.return_url).send().await.unwrap();
    assert_eq!(ok.status(), 200);
    assert!(ok.text().await.unwrap().contains("Consent recorded"));
    assert_eq!(
        http.get(&seen.return_url).send().await.unwrap().status(),
        403,
        "a state is good once"
    );
    let token = resolver
        .resolve_slack_token(&fresh, Operation::Read)
        .await
        .unwrap();
    assert_eq!(token.provider.as_deref(), Some("slack"));
}
