//! A stored token is served only for the same audiences, resources and custom parameters it
//! was minted for (issue #20 item 8).

use aws_sdk_bedrockagentcore::types::Oauth2FlowType;

use crate::common::*;
use crate::counted_idp::{counted_provider, grants};

#[tokio::test]
async fn m2m_tokens_are_keyed_on_audiences_resources_and_custom_parameters() {
    let vault = start().await;
    let proxy = counted_provider(&vault, "keyed").await;
    let client = data_plane(&vault);
    let wat = workload_wat(&client).await;
    let m2m = || token_request(&client, &wat, "keyed", Oauth2FlowType::M2M);

    let for_a = m2m().audiences("api-a").send().await.unwrap();
    let token_a = for_a.access_token().unwrap().to_owned();
    assert_eq!(verify_dev_token(&vault, &token_a).await["aud"], "api-a");
    let for_b = m2m().audiences("api-b").send().await.unwrap();
    let token_b = for_b.access_token().unwrap().to_owned();
    assert_ne!(
        token_a, token_b,
        "audience B must not get audience A's token"
    );
    assert_eq!(verify_dev_token(&vault, &token_b).await["aud"], "api-b");
    assert_eq!(grants(&proxy, "client_credentials"), 2);

    let again_a = m2m().audiences("api-a").send().await.unwrap();
    assert_eq!(
        again_a.access_token(),
        Some(token_a.as_str()),
        "same request, stored token"
    );
    assert_eq!(
        grants(&proxy, "client_credentials"),
        2,
        "no new grant for a repeat"
    );

    let both = m2m()
        .audiences("api-a")
        .audiences("api-b")
        .send()
        .await
        .unwrap();
    let swapped = m2m()
        .audiences("api-b")
        .audiences("api-a")
        .send()
        .await
        .unwrap();
    assert_eq!(
        both.access_token(),
        swapped.access_token(),
        "audiences are a set"
    );
    assert_ne!(both.access_token(), Some(token_a.as_str()));
    assert_eq!(grants(&proxy, "client_credentials"), 3);

    let resource = m2m()
        .audiences("api-a")
        .resources("https://r.example")
        .send()
        .await
        .unwrap();
    assert_ne!(
        resource.access_token(),
        Some(token_a.as_str()),
        "resources are part of the key"
    );
    let custom = m2m()
        .audiences("api-a")
        .custom_parameters("tenant", "t1")
        .custom_parameters("region", "eu")
        .send()
        .await
        .unwrap();
    assert_ne!(
        custom.access_token(),
        Some(token_a.as_str()),
        "custom parameters are part of the key"
    );
    let other_value = m2m()
        .audiences("api-a")
        .custom_parameters("tenant", "t2")
        .custom_parameters("region", "eu")
        .send()
        .await
        .unwrap();
    assert_ne!(other_value.access_token(), custom.access_token());
    let repeat = m2m()
        .audiences("api-a")
        .custom_parameters("region", "eu")
        .custom_parameters("tenant", "t1")
        .send()
        .await
        .unwrap();
    assert_eq!(
        repeat.access_token(),
        custom.access_token(),
        "custom parameters are a map"
    );
    assert_eq!(grants(&proxy, "client_credentials"), 6);
}

#[tokio::test]
async fn user_tokens_are_keyed_on_the_audiences_their_session_asked_for() {
    let vault = start().await;
    let client = data_plane(&vault);
    let wat = wat_for_user_id(&client, "alice").await;
    let request = |audience: &str| {
        token_request(&client, &wat, "github", Oauth2FlowType::UserFederation)
            .resource_oauth2_return_url(RETURN_URL)
            .audiences(audience)
    };
    let started = request("api-a").send().await.unwrap();
    let session_uri = started.session_uri().unwrap().to_owned();
    deputy_vault_local::complete_consent_as_browser(
        started.authorization_url().unwrap(),
        "alice",
        "alice",
    )
    .await
    .unwrap();
    client
        .complete_resource_token_auth()
        .session_uri(&session_uri)
        .user_identifier(aws_sdk_bedrockagentcore::types::UserIdentifier::UserId(
            "alice".into(),
        ))
        .send()
        .await
        .unwrap();
    let stored = request("api-a").send().await.unwrap();
    let token = stored.access_token().expect("audience A's token is stored");
    assert_eq!(verify_dev_token(&vault, token).await["sub"], "alice");

    let other = request("api-b").send().await.unwrap();
    assert!(
        other.access_token().is_none(),
        "audience B needs its own consent"
    );
    assert_ne!(other.session_uri(), Some(session_uri.as_str()));
}
