//! Concurrent CompleteResourceTokenAuth calls for one session: exactly one redeems the code
//! (issue #20 item 9).

use aws_sdk_bedrockagentcore::error::ProvideErrorMetadata;
use aws_sdk_bedrockagentcore::types::{Oauth2FlowType, UserIdentifier};
use deputy_vault_local::complete_consent_as_browser;

use crate::common::*;
use crate::counted_idp::{counted_provider, grants};

const CALLS: usize = 16;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_completions_redeem_the_code_once_and_one_wins() {
    let vault = start().await;
    let proxy = counted_provider(&vault, "raced").await;
    let client = data_plane(&vault);
    let wat = wat_for_user_id(&client, "alice").await;
    let request = || {
        token_request(&client, &wat, "raced", Oauth2FlowType::UserFederation)
            .resource_oauth2_return_url(RETURN_URL)
    };
    let started = request().send().await.unwrap();
    let session_uri = started.session_uri().unwrap().to_owned();
    complete_consent_as_browser(started.authorization_url().unwrap(), "alice", "alice")
        .await
        .unwrap();

    let calls: Vec<_> = (0..CALLS)
        .map(|_| {
            let complete = client
                .complete_resource_token_auth()
                .session_uri(&session_uri)
                .user_identifier(UserIdentifier::UserId("alice".into()));
            tokio::spawn(complete.send())
        })
        .collect();
    let mut won = 0;
    for call in calls {
        match call.await.unwrap() {
            Ok(_) => won += 1,
            Err(e) => {
                let e = e.into_service_error();
                assert!(e.is_access_denied_exception(), "{e:?}");
                assert_eq!(e.message(), Some("Invalid or expired session"));
            }
        }
    }
    assert_eq!(won, 1, "exactly one completion wins");
    assert_eq!(
        grants(&proxy, "authorization_code"),
        1,
        "the code is redeemed once"
    );

    let done = request().session_uri(&session_uri).send().await.unwrap();
    let token = done.access_token().expect("the session yields its token");
    assert_eq!(verify_dev_token(&vault, token).await["sub"], "alice");
}
