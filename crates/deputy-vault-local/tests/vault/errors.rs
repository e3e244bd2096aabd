use aws_sdk_bedrockagentcore::error::ProvideErrorMetadata;
use aws_sdk_bedrockagentcore::types::{Oauth2FlowType, UserIdentifier, ValidationExceptionReason};
use serde_json::Value;

use crate::common::*;

async fn raw_post(
    vault: &deputy_vault_local::RunningVault,
    path: &str,
    body: &str,
) -> (u16, String, bool, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}{path}", vault.endpoint()))
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let code = response
        .headers()
        .get("x-amzn-ErrorType")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let has_request_id = response.headers().contains_key("x-amzn-RequestId");
    (status, code, has_request_id, response.json().await.unwrap())
}

#[tokio::test]
async fn malformed_json_and_wrong_types_are_validation_exceptions() {
    let vault = start().await;
    let (status, code, request_id, body) =
        raw_post(&vault, "/identities/GetWorkloadAccessToken", "{not json").await;
    assert_eq!(
        (status, code.as_str(), request_id),
        (400, "ValidationException", true)
    );
    assert_eq!(body["reason"], "CannotParse");
    let (status, code, _, body) = raw_post(
        &vault,
        "/identities/GetWorkloadAccessTokenForUserId",
        r#"{"workloadName": 42, "userId": ["x"]}"#,
    )
    .await;
    assert_eq!((status, code.as_str()), (400, "ValidationException"));
    assert_eq!(body["reason"], "FieldValidationFailed");
    let names: Vec<&str> = body["fieldList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["workloadName", "userId"]);
    let (status, _, _, body) = raw_post(&vault, "/identities/oauth2/token", "[]").await;
    assert_eq!(
        (status, body["reason"].as_str()),
        (400, Some("CannotParse"))
    );
}

#[tokio::test]
async fn union_exclusivity_is_enforced() {
    let vault = start().await;
    let uri = "urn:ietf:params:oauth:request_uri:abc";
    let both = format!(
        r#"{{"sessionUri":"{uri}","userIdentifier":{{"userId":"a","userToken":"a.b.c"}}}}"#
    );
    let (status, _, _, body) =
        raw_post(&vault, "/identities/CompleteResourceTokenAuth", &both).await;
    assert_eq!(status, 400);
    assert!(
        body["message"].as_str().unwrap().contains("exactly one"),
        "{body}"
    );
    let neither = format!(r#"{{"sessionUri":"{uri}","userIdentifier":{{}}}}"#);
    let (status, _, _, _) =
        raw_post(&vault, "/identities/CompleteResourceTokenAuth", &neither).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn sdk_sees_typed_validation_errors_for_oversize_missing_and_bad_enum_members() {
    let vault = start().await;
    let client = data_plane(&vault);
    let err = client
        .get_workload_access_token()
        .workload_name("w".repeat(300))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    let aws_sdk_bedrockagentcore::operation::get_workload_access_token::GetWorkloadAccessTokenError::ValidationException(v) = err else {
        panic!("expected ValidationException, got {err:?}");
    };
    assert_eq!(
        v.reason(),
        &ValidationExceptionReason::FieldValidationFailed
    );
    assert_eq!(v.field_list()[0].name(), "workloadName");
    assert!(v.message().contains("less than or equal to 255"));

    let err = client
        .get_workload_access_token()
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(
        err.is_validation_exception(),
        "the Rust SDK sends {{}}; the server must validate"
    );

    let wat = workload_wat(&client).await;
    let err = token_request(
        &client,
        &wat,
        "github-service",
        Oauth2FlowType::from("BOGUS"),
    )
    .send()
    .await
    .unwrap_err()
    .into_service_error();
    assert!(err.is_validation_exception(), "{err:?}");
    assert!(err.message().unwrap().contains("oauth2Flow"));

    let err = token_request(&client, &wat, "github-service", Oauth2FlowType::M2M)
        .session_uri("not-a-session-uri")
        .custom_parameters("bad key!", "v")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(
        err.message()
            .unwrap()
            .starts_with("2 validation errors detected"),
        "{err:?}"
    );

    let err = client
        .complete_resource_token_auth()
        .session_uri("urn:ietf:params:oauth:request_uri:unknown")
        .user_identifier(UserIdentifier::UserToken("not-a-jwt".into()))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(
        err.is_validation_exception(),
        "userToken must match the JWT pattern: {err:?}"
    );
}

#[tokio::test]
async fn unknown_sessions_are_access_denied() {
    let vault = start().await;
    let client = data_plane(&vault);
    let err = client
        .complete_resource_token_auth()
        .session_uri("urn:ietf:params:oauth:request_uri:does-not-exist")
        .user_identifier(UserIdentifier::UserId("alice".into()))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_access_denied_exception(), "{err:?}");
    let wat = wat_for_user_id(&client, "alice").await;
    let err = token_request(&client, &wat, "github", Oauth2FlowType::UserFederation)
        .resource_oauth2_return_url(RETURN_URL)
        .session_uri("urn:ietf:params:oauth:request_uri:does-not-exist")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_access_denied_exception(), "{err:?}");
}

#[tokio::test]
async fn unknown_paths_answer_json_errors() {
    let vault = start().await;
    let (status, code, _, body) = raw_post(&vault, "/identities/NoSuchOperation", "{}").await;
    assert_eq!((status, code.as_str()), (404, "ResourceNotFoundException"));
    assert!(body["message"].is_string());
}
