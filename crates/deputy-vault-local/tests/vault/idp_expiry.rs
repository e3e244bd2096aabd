//! An IdP answering an absurd `expires_in` gets a clear refusal (issue #20 item 15).

use aws_sdk_bedrockagentcore::error::ProvideErrorMetadata;
use aws_sdk_bedrockagentcore::types::Oauth2FlowType;
use serde_json::json;

use crate::common::*;
use crate::counted_idp::{create_provider, scripted_idp};

#[tokio::test]
async fn an_expires_in_past_the_clock_is_refused_not_overflowed() {
    let vault = start().await;
    let (idp, _task) = scripted_idp(json!({
        "access_token": "at-from-a-broken-idp",
        "token_type": "Bearer",
        "expires_in": u64::MAX,
    }))
    .await;
    create_provider(&vault, "forever", &idp, &format!("{idp}/token")).await;
    let client = data_plane_with(&vault, "testing", "testing", false);
    let wat = workload_wat(&client).await;

    let refused = token_request(&client, &wat, "forever", Oauth2FlowType::M2M)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(refused.is_validation_exception(), "{refused:?}");
    let message = refused.message().unwrap();
    assert!(
        message.contains("expires_in = 18446744073709551615"),
        "{message}"
    );
    assert!(message.contains("'forever'"), "{message}");
    assert!(!message.contains("at-from-a-broken-idp"), "{message}");

    let healthy = token_request(&client, &wat, "github-service", Oauth2FlowType::M2M)
        .send()
        .await;
    assert!(healthy.is_ok(), "the vault still answers: {healthy:?}");
}
