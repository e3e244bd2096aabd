use aws_sdk_bedrockagentcore::error::ProvideErrorMetadata;
use deputy_vault_local::config::{FaultRule, SigV4Credentials, StoreConfig};
use deputy_vault_local::{LocalVault, Sensitive, VaultConfig, VaultError};

use crate::common::*;

#[tokio::test]
async fn sigv4_is_verified_when_configured() {
    let mut config = VaultConfig::development();
    config.sigv4 = Some(SigV4Credentials {
        access_key_id: "AKIDLOCAL".into(),
        secret_access_key: Sensitive::new("s3cret"),
    });
    let vault = start_with(config).await;
    let good = data_plane_with(&vault, "AKIDLOCAL", "s3cret", false);
    good.get_workload_access_token()
        .workload_name("deputy-agent")
        .send()
        .await
        .unwrap();
    let bad_secret = data_plane_with(&vault, "AKIDLOCAL", "wrong", false)
        .get_workload_access_token()
        .workload_name("deputy-agent")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(bad_secret.code(), Some("InvalidSignatureException"));
    let bad_key = data_plane_with(&vault, "AKIDOTHER", "s3cret", false)
        .get_workload_access_token()
        .workload_name("deputy-agent")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(bad_key.code(), Some("UnrecognizedClientException"));
    let unsigned = reqwest::Client::new()
        .post(format!(
            "{}/identities/GetWorkloadAccessToken",
            vault.endpoint()
        ))
        .body(r#"{"workloadName":"deputy-agent"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 403);
}

#[tokio::test]
async fn injected_faults_map_to_typed_errors_and_are_retried_by_the_sdk() {
    let mut config = VaultConfig::development();
    config.faults = vec![
        FaultRule {
            operation: Some("GetResourceApiKey".into()),
            latency_ms: 0,
            error_rate: 1.0,
            status: 429,
            times: None,
        },
        FaultRule {
            operation: Some("GetWorkloadAccessTokenForUserId".into()),
            latency_ms: 0,
            error_rate: 1.0,
            status: 500,
            times: None,
        },
    ];
    let vault = start_with(config).await;
    let client = data_plane_with(&vault, "testing", "testing", false);
    let wat = workload_wat(&client).await;
    let err = client
        .get_resource_api_key()
        .workload_identity_token(&wat)
        .resource_credential_provider_name("openai")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_throttling_exception(), "{err:?}");
    assert_eq!(vault.call_count("GetResourceApiKey"), 1);
    let err = data_plane(&vault)
        .get_workload_access_token_for_user_id()
        .workload_name("deputy-agent")
        .user_id("alice")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_internal_server_exception(), "{err:?}");
    assert_eq!(
        vault.call_count("GetWorkloadAccessTokenForUserId"),
        3,
        "standard retry mode makes 3 attempts"
    );
}

#[tokio::test]
async fn non_loopback_binds_need_allow_remote() {
    let refused = LocalVault::start(VaultConfig::development(), "0.0.0.0:0".parse().unwrap())
        .await
        .unwrap_err();
    assert!(matches!(refused, VaultError::RemoteBindRefused(_)));
    assert!(refused.to_string().contains("--allow-remote"));
    let mut config = VaultConfig::development();
    config.allow_remote = true;
    let vault = LocalVault::start(config, "0.0.0.0:0".parse().unwrap())
        .await
        .unwrap();
    assert!(vault.local_addr().ip().is_unspecified());
    vault.shutdown().await;
}

#[tokio::test]
async fn tokens_in_a_file_store_are_encrypted_at_rest() {
    let dir = std::env::temp_dir().join(format!(
        "deputy-vault-test-{}",
        deputy_vault_local::ids::random_token(6)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let mut config = VaultConfig::development();
    config.store = StoreConfig {
        path: Some(dir.join("vault.db")),
        key_file: None,
    };
    let vault = start_with(config).await;
    let client = data_plane(&vault);
    let wat = workload_wat(&client).await;
    let out = token_request(
        &client,
        &wat,
        "github-service",
        aws_sdk_bedrockagentcore::types::Oauth2FlowType::M2M,
    )
    .send()
    .await
    .unwrap();
    let token = out.access_token().unwrap().as_bytes().to_vec();
    let rows = vault.store().raw_rows().unwrap();
    assert!(!rows.is_empty());
    assert!(
        rows.iter()
            .all(|row| !row.windows(40).any(|w| w == &token[..40]))
    );
    vault.shutdown().await;
    let file = std::fs::read(dir.join("vault.db")).unwrap();
    assert!(!file.windows(40).any(|w| w == &token[..40]));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("vault.db.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn sdk_env_names_the_endpoint() {
    let vault = start().await;
    let env = vault.sdk_env();
    let endpoint = vault.endpoint();
    assert!(
        env.iter()
            .any(|(k, v)| k == "AWS_ENDPOINT_URL_BEDROCK_AGENTCORE" && *v == endpoint)
    );
}

#[tokio::test]
async fn oversize_bodies_get_an_aws_shaped_error() {
    let vault = start().await;
    let body = format!(
        r#"{{"workloadName":"{}"}}"#,
        "a".repeat(deputy_vault_local::middleware::MAX_BODY_BYTES)
    );
    let response = reqwest::Client::new()
        .post(format!(
            "{}/identities/GetWorkloadAccessToken",
            vault.endpoint()
        ))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.headers()["x-amzn-ErrorType"],
        "ValidationException"
    );
    let json: serde_json::Value = response.json().await.unwrap();
    assert!(json["message"].as_str().unwrap().contains("exceeds"));
}

#[tokio::test]
async fn fault_rules_stack_per_operation() {
    let mut config = VaultConfig::development();
    config.faults = vec![
        FaultRule {
            operation: Some("GetWorkloadAccessToken".into()),
            latency_ms: 1,
            error_rate: 0.0,
            status: 500,
            times: None,
        },
        FaultRule {
            operation: Some("GetWorkloadAccessToken".into()),
            latency_ms: 0,
            error_rate: 1.0,
            status: 403,
            times: None,
        },
        FaultRule {
            operation: Some("GetResourceApiKey".into()),
            latency_ms: 0,
            error_rate: 1.0,
            status: 500,
            times: None,
        },
    ];
    let vault = start_with(config).await;
    let client = data_plane_with(&vault, "testing", "testing", false);
    let err = client
        .get_workload_access_token()
        .workload_name("deputy-agent")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(
        err.is_access_denied_exception(),
        "the second rule answers: {err:?}"
    );
    client
        .get_workload_access_token_for_user_id()
        .workload_name("deputy-agent")
        .user_id("a")
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn user_tokens_can_be_fetched_over_http_by_other_processes() {
    let vault = start().await;
    let token = deputy_vault_local::fetch_user_token(&vault.endpoint(), "bob", "bob", "deputy")
        .await
        .unwrap();
    wat_for_jwt(&data_plane(&vault), &token).await;
    let err = deputy_vault_local::fetch_user_token(&vault.endpoint(), "bob", "wrong", "deputy")
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("wrong user name or password"),
        "{err}"
    );
}

#[tokio::test]
async fn debug_output_of_a_running_vault_holds_no_token_material() {
    let vault = start().await;
    let client = data_plane(&vault);
    let wat = workload_wat(&client).await;
    let token = token_request(
        &client,
        &wat,
        "github-service",
        aws_sdk_bedrockagentcore::types::Oauth2FlowType::M2M,
    )
    .send()
    .await
    .unwrap()
    .access_token()
    .unwrap()
    .to_owned();
    let debug = format!("{vault:?}");
    assert!(!debug.contains(&token) && !debug.contains(&wat));
    assert!(
        !debug.contains("sk-dev-local-openai-key"),
        "API keys are redacted"
    );
}
