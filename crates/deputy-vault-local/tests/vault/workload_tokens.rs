use aws_sdk_bedrockagentcore::error::ProvideErrorMetadata;

use crate::common::*;

#[tokio::test]
async fn all_three_wat_kinds_are_opaque_and_bound() {
    let vault = start().await;
    let client = data_plane(&vault);
    let plain = workload_wat(&client).await;
    let by_id = wat_for_user_id(&client, "alice").await;
    let jwt = vault.mint_user_token("alice", "deputy").unwrap();
    let by_jwt = wat_for_jwt(&client, &jwt).await;
    for wat in [&plain, &by_id, &by_jwt] {
        assert!(wat.starts_with("AgV4"), "{wat}");
        assert!(
            jsonwebtoken::decode_header(wat).is_err(),
            "a WAT must not be a JWT"
        );
        assert!(!wat.contains("alice"));
    }
    assert_ne!(plain, by_id);
    assert_eq!(vault.call_count("GetWorkloadAccessToken"), 1);
    assert_eq!(vault.call_count("GetWorkloadAccessTokenForJWT"), 1);
    assert_eq!(vault.call_count("GetWorkloadAccessTokenForUserId"), 1);
}

#[tokio::test]
async fn unknown_workload_is_resource_not_found() {
    let vault = start().await;
    let err = data_plane(&vault)
        .get_workload_access_token()
        .workload_name("no-such-workload")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_resource_not_found_exception(), "{err:?}");
    assert!(err.message().unwrap().contains("no-such-workload"));
}

#[tokio::test]
async fn for_jwt_rejects_wrong_audience_tampering_and_foreign_issuers() {
    let vault = start().await;
    let client = data_plane(&vault);
    let wrong_aud = vault.mint_user_token("alice", "someone-else").unwrap();
    let good = vault.mint_user_token("alice", "deputy").unwrap();
    let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    parts[2] = format!("{}AA", &parts[2][..parts[2].len() - 2]);
    let tampered = parts.join(".");
    let foreign = {
        let keys = deputy_vault_local::idp::SigningKeys::generate().unwrap();
        let claims = serde_json::json!({"iss": "https://evil.example", "sub": "alice", "aud": "deputy", "exp": 4_000_000_000u64});
        keys.sign(&claims, "JWT").unwrap()
    };
    for token in [&wrong_aud, &tampered, &foreign] {
        let err = client
            .get_workload_access_token_for_jwt()
            .workload_name("deputy-agent")
            .user_token(token)
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert!(err.is_unauthorized_exception(), "{err:?}");
    }
}

#[tokio::test]
async fn jwts_signed_before_a_key_rotation_still_verify() {
    let vault = start().await;
    let client = data_plane(&vault);
    let before = vault.mint_user_token("bob", "deputy").unwrap();
    let new_kid = vault.rotate_idp_key().unwrap();
    let after = vault.mint_user_token("bob", "deputy").unwrap();
    assert_eq!(
        jsonwebtoken::decode_header(&after).unwrap().kid.unwrap(),
        new_kid
    );
    assert_ne!(
        jsonwebtoken::decode_header(&before).unwrap().kid.unwrap(),
        new_kid
    );
    wat_for_jwt(&client, &before).await;
    wat_for_jwt(&client, &after).await;
}

#[tokio::test]
async fn unknown_dev_user_is_an_error() {
    let vault = start().await;
    let err = vault.mint_user_token("eve", "deputy").unwrap_err();
    assert!(err.to_string().contains("eve"));
}
