//! #20 item 14: every modelled control-plane error can be injected with its real status,
//! and the SDK sees it typed.
use aws_sdk_bedrockagentcorecontrol::operation::create_api_key_credential_provider::CreateApiKeyCredentialProviderError as CreateKeyError;
use aws_sdk_bedrockagentcorecontrol::operation::set_token_vault_cmk::SetTokenVaultCMKError;
use deputy_vault_local::VaultConfig;
use deputy_vault_local::faults::{MAX_PLANNED, MAX_TIMES, PlannedFault};

use crate::common::{control_plane, start, start_with};

fn planned(operation: &str, error: &str, times: u32) -> PlannedFault {
    PlannedFault {
        operation: operation.into(),
        error: error.into(),
        times,
    }
}

#[tokio::test]
async fn every_modelled_control_plane_error_is_injected_typed_with_its_status() {
    let mut config = VaultConfig::development();
    let create = "CreateApiKeyCredentialProvider";
    let errors = [
        ("ServiceQuotaExceededException", 402),
        ("ResourceLimitExceededException", 400),
        ("DecryptionFailure", 400),
        ("EncryptionFailure", 400),
        ("ConflictException", 409),
        ("UnauthorizedException", 401),
        ("AccessDeniedException", 403),
        ("ResourceNotFoundException", 404),
        ("ValidationException", 400),
    ];
    for (error, _) in errors {
        config.fault_plan.push(planned(create, error, 1));
    }
    // Retryable errors: planned for every attempt of the SDK's standard retry (3).
    for error in ["ThrottlingException", "InternalServerException"] {
        config
            .fault_plan
            .push(planned("GetApiKeyCredentialProvider", error, 3));
    }
    config.fault_plan.push(planned(
        "SetTokenVaultCMK",
        "ConcurrentModificationException",
        1,
    ));
    let vault = start_with(config).await;
    let cp = control_plane(&vault);
    for (error, status) in errors {
        let err = cp
            .create_api_key_credential_provider()
            .name("faulty")
            .api_key("k")
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            err.raw_response().unwrap().status().as_u16(),
            status,
            "{error}"
        );
        let typed = err.into_service_error();
        let matches = match error {
            "ServiceQuotaExceededException" => {
                matches!(typed, CreateKeyError::ServiceQuotaExceededException(_))
            }
            "ResourceLimitExceededException" => {
                matches!(typed, CreateKeyError::ResourceLimitExceededException(_))
            }
            "DecryptionFailure" => matches!(typed, CreateKeyError::DecryptionFailure(_)),
            "EncryptionFailure" => matches!(typed, CreateKeyError::EncryptionFailure(_)),
            "ConflictException" => matches!(typed, CreateKeyError::ConflictException(_)),
            "UnauthorizedException" => matches!(typed, CreateKeyError::UnauthorizedException(_)),
            "AccessDeniedException" => matches!(typed, CreateKeyError::AccessDeniedException(_)),
            "ResourceNotFoundException" => {
                matches!(typed, CreateKeyError::ResourceNotFoundException(_))
            }
            _ => matches!(typed, CreateKeyError::ValidationException(_)),
        };
        assert!(matches, "{error}: got {typed:?}");
    }
    for (code, status) in [
        ("ThrottlingException", 429),
        ("InternalServerException", 500),
    ] {
        let err = cp
            .get_api_key_credential_provider()
            .name("openai")
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            err.raw_response().unwrap().status().as_u16(),
            status,
            "{code}"
        );
        let typed = err.into_service_error();
        assert!(
            typed.is_throttling_exception() || typed.is_internal_server_exception(),
            "{code}: {typed:?}"
        );
        assert_eq!(
            aws_sdk_bedrockagentcorecontrol::error::ProvideErrorMetadata::code(&typed),
            Some(code)
        );
    }
    cp.get_api_key_credential_provider()
        .name("openai")
        .send()
        .await
        .unwrap();
    // The plan is spent: the next call runs.
    cp.create_api_key_credential_provider()
        .name("faulty")
        .api_key("k")
        .send()
        .await
        .unwrap();
    let cmk = aws_sdk_bedrockagentcorecontrol::types::KmsConfiguration::builder()
        .key_type(aws_sdk_bedrockagentcorecontrol::types::KeyType::ServiceManagedKey)
        .build()
        .unwrap();
    let err = cp
        .set_token_vault_cmk()
        .kms_configuration(cmk)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.raw_response().unwrap().status().as_u16(), 409);
    assert!(matches!(
        err.into_service_error(),
        SetTokenVaultCMKError::ConcurrentModificationException(_)
    ));
}

#[tokio::test]
async fn the_fault_admin_route_is_off_by_default_and_bounded() {
    let body = serde_json::json!({ "operation": "GetTokenVault", "error": "ThrottlingException", "times": 1 });
    let http = reqwest::Client::new();
    let off = start().await;
    let status = http
        .post(format!("{}/_deputy/faults", off.endpoint()))
        .json(&body)
        .send()
        .await
        .unwrap()
        .status();
    assert_ne!(status, 200, "the admin route must be off by default");
    assert!(off.call_count("GetTokenVault") == 0);

    let mut config = VaultConfig::development();
    config.fault_admin = true;
    let vault = start_with(config).await;
    let url = format!("{}/_deputy/faults", vault.endpoint());
    let ok = http.post(&url).json(&body).send().await.unwrap();
    assert_eq!(ok.status(), 200);
    let cp = control_plane(&vault);
    // Throttling is retried by the SDK: the one planned fault is absorbed by a retry.
    cp.get_token_vault().send().await.unwrap();
    for (bad, why) in [
        (
            serde_json::json!({ "operation": "NoSuchOp", "error": "ThrottlingException", "times": 1 }),
            "not an AgentCore",
        ),
        (
            serde_json::json!({ "operation": "GetTokenVault", "error": "DecryptionFailure", "times": 1 }),
            "does not model",
        ),
        (
            serde_json::json!({ "operation": "GetTokenVault", "error": "ThrottlingException", "times": MAX_TIMES + 1 }),
            "times",
        ),
    ] {
        let r = http.post(&url).json(&bad).send().await.unwrap();
        assert_eq!(r.status(), 400);
        assert!(r.text().await.unwrap().contains(why), "{why}");
    }
    for i in 0..MAX_PLANNED {
        let r = http.post(&url).json(&body).send().await.unwrap();
        assert_eq!(r.status(), 200, "planned fault {i}");
    }
    let full = http.post(&url).json(&body).send().await.unwrap();
    assert_eq!(full.status(), 400);
    assert!(full.text().await.unwrap().contains("at most"));
    // A plan that names an error the operation does not model refuses to start.
    let mut bad = VaultConfig::development();
    bad.fault_plan
        .push(planned("GetTokenVault", "ServiceQuotaExceededException", 1));
    let err = deputy_vault_local::LocalVault::start(bad, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("does not model"), "{err}");
}
