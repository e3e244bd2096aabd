//! #20 item 12: every AgentCore Identity operation of the models is emulated or answers the
//! "not emulated by deputy" `ValidationException`, never `ResourceNotFoundException`.
use aws_sdk_bedrockagentcore::error::ProvideErrorMetadata;

use crate::common::{control_plane, data_plane, start};

/// The 35 operations under `/identities` in botocore 1.44.8's models
/// (`bedrock-agentcore-control` 2023-06-05: 28; `bedrock-agentcore` 2024-02-28: 7), plus the
/// control plane's 3 tagging operations. `true`: emulated.
const MODEL: &[(&str, bool)] = &[
    ("GetWorkloadAccessToken", true),
    ("GetWorkloadAccessTokenForJWT", true),
    ("GetWorkloadAccessTokenForUserId", true),
    ("GetResourceOauth2Token", true),
    ("GetResourceApiKey", true),
    ("CompleteResourceTokenAuth", true),
    ("GetResourcePaymentToken", false),
    ("CreateWorkloadIdentity", true),
    ("GetWorkloadIdentity", true),
    ("UpdateWorkloadIdentity", true),
    ("DeleteWorkloadIdentity", true),
    ("ListWorkloadIdentities", true),
    ("CreateOauth2CredentialProvider", true),
    ("GetOauth2CredentialProvider", true),
    ("UpdateOauth2CredentialProvider", true),
    ("DeleteOauth2CredentialProvider", true),
    ("ListOauth2CredentialProviders", true),
    ("CreateApiKeyCredentialProvider", true),
    ("GetApiKeyCredentialProvider", true),
    ("UpdateApiKeyCredentialProvider", true),
    ("DeleteApiKeyCredentialProvider", true),
    ("ListApiKeyCredentialProviders", true),
    ("GetTokenVault", true),
    ("SetTokenVaultCMK", true),
    ("ResetTokenVaultKeyMaterial", false),
    ("CreatePaymentCredentialProvider", false),
    ("GetPaymentCredentialProvider", false),
    ("UpdatePaymentCredentialProvider", false),
    ("DeletePaymentCredentialProvider", false),
    ("ListPaymentCredentialProviders", false),
    ("CreateConsentPortal", false),
    ("GetConsentPortal", false),
    ("UpdateConsentPortal", false),
    ("DeleteConsentPortal", false),
    ("ListConsentPortals", false),
    ("TagResource", true),
    ("UntagResource", true),
    ("ListTagsForResource", true),
];

/// `None` on success, else the error's code, message and HTTP status.
type Outcome = Option<(String, String, u16)>;

macro_rules! outcome {
    ($call:expr) => {
        match $call.send().await {
            Ok(_) => None,
            Err(e) => Some((
                e.code().unwrap_or("-").to_owned(),
                e.message().unwrap_or("").to_owned(),
                e.raw_response().map(|r| r.status().as_u16()).unwrap_or(0),
            )),
        }
    };
}

const ARN: &str = "arn:aws:bedrock-agentcore:us-east-1:123456789012:workload-identity-directory/default/workload-identity/deputy-agent";

async fn call(
    dp: &aws_sdk_bedrockagentcore::Client,
    cp: &aws_sdk_bedrockagentcorecontrol::Client,
    name: &str,
) -> Outcome {
    let wat = "AgV4.not-a-real-wat";
    match name {
        "GetWorkloadAccessToken" => {
            outcome!(dp.get_workload_access_token().workload_name("deputy-agent"))
        }
        "GetWorkloadAccessTokenForJWT" => outcome!(
            dp.get_workload_access_token_for_jwt()
                .workload_name("deputy-agent")
                .user_token("a.b.c")
        ),
        "GetWorkloadAccessTokenForUserId" => outcome!(
            dp.get_workload_access_token_for_user_id()
                .workload_name("deputy-agent")
                .user_id("alice")
        ),
        "GetResourceOauth2Token" => outcome!(
            dp.get_resource_oauth2_token()
                .workload_identity_token(wat)
                .resource_credential_provider_name("github-service")
                .scopes("x")
                .oauth2_flow(aws_sdk_bedrockagentcore::types::Oauth2FlowType::M2M)
        ),
        "GetResourceApiKey" => outcome!(
            dp.get_resource_api_key()
                .workload_identity_token(wat)
                .resource_credential_provider_name("openai")
        ),
        "CompleteResourceTokenAuth" => outcome!(
            dp.complete_resource_token_auth()
                .session_uri("urn:ietf:params:oauth:request_uri:x")
                .user_identifier(aws_sdk_bedrockagentcore::types::UserIdentifier::UserId(
                    "alice".into()
                ))
        ),
        "GetResourcePaymentToken" => outcome!(
            dp.get_resource_payment_token()
                .workload_identity_token(wat)
                .resource_credential_provider_name("pay")
        ),
        "CreateWorkloadIdentity" => outcome!(cp.create_workload_identity().name("coverage-agent")),
        "GetWorkloadIdentity" => outcome!(cp.get_workload_identity().name("deputy-agent")),
        "UpdateWorkloadIdentity" => outcome!(cp.update_workload_identity().name("coverage-agent")),
        "DeleteWorkloadIdentity" => outcome!(cp.delete_workload_identity().name("coverage-agent")),
        "ListWorkloadIdentities" => outcome!(cp.list_workload_identities()),
        "CreateOauth2CredentialProvider" => {
            outcome!(cp.create_oauth2_credential_provider().name("cov"))
        }
        "GetOauth2CredentialProvider" => {
            outcome!(cp.get_oauth2_credential_provider().name("github"))
        }
        "UpdateOauth2CredentialProvider" => {
            outcome!(cp.update_oauth2_credential_provider().name("cov"))
        }
        "DeleteOauth2CredentialProvider" => {
            outcome!(cp.delete_oauth2_credential_provider().name("cov"))
        }
        "ListOauth2CredentialProviders" => outcome!(cp.list_oauth2_credential_providers()),
        "CreateApiKeyCredentialProvider" => outcome!(
            cp.create_api_key_credential_provider()
                .name("cov-key")
                .api_key("k")
        ),
        "GetApiKeyCredentialProvider" => {
            outcome!(cp.get_api_key_credential_provider().name("openai"))
        }
        "UpdateApiKeyCredentialProvider" => outcome!(
            cp.update_api_key_credential_provider()
                .name("cov-key")
                .api_key("k2")
        ),
        "DeleteApiKeyCredentialProvider" => {
            outcome!(cp.delete_api_key_credential_provider().name("cov-key"))
        }
        "ListApiKeyCredentialProviders" => outcome!(cp.list_api_key_credential_providers()),
        "GetTokenVault" => outcome!(cp.get_token_vault()),
        "SetTokenVaultCMK" => outcome!(
            cp.set_token_vault_cmk().kms_configuration(
                aws_sdk_bedrockagentcorecontrol::types::KmsConfiguration::builder()
                    .key_type(aws_sdk_bedrockagentcorecontrol::types::KeyType::ServiceManagedKey)
                    .build()
                    .unwrap()
            )
        ),
        "ResetTokenVaultKeyMaterial" => outcome!(
            cp.reset_token_vault_key_material()
                .token_vault_id("default")
        ),
        "CreatePaymentCredentialProvider" => {
            outcome!(cp.create_payment_credential_provider().name("pay"))
        }
        "GetPaymentCredentialProvider" => {
            outcome!(cp.get_payment_credential_provider().name("pay"))
        }
        "UpdatePaymentCredentialProvider" => {
            outcome!(cp.update_payment_credential_provider().name("pay"))
        }
        "DeletePaymentCredentialProvider" => {
            outcome!(cp.delete_payment_credential_provider().name("pay"))
        }
        "ListPaymentCredentialProviders" => outcome!(cp.list_payment_credential_providers()),
        "CreateConsentPortal" => outcome!(cp.create_consent_portal().name("portal")),
        "GetConsentPortal" => outcome!(cp.get_consent_portal().consent_portal_identifier("portal")),
        "UpdateConsentPortal" => outcome!(
            cp.update_consent_portal()
                .consent_portal_identifier("portal")
        ),
        "DeleteConsentPortal" => outcome!(
            cp.delete_consent_portal()
                .consent_portal_identifier("portal")
        ),
        "ListConsentPortals" => outcome!(cp.list_consent_portals()),
        "TagResource" => outcome!(cp.tag_resource().resource_arn(ARN).tags("team", "identity")),
        "UntagResource" => outcome!(cp.untag_resource().resource_arn(ARN).tag_keys("team")),
        "ListTagsForResource" => outcome!(cp.list_tags_for_resource().resource_arn(ARN)),
        other => panic!("no SDK call written for {other}"),
    }
}

#[tokio::test]
async fn every_model_operation_is_emulated_or_answers_not_emulated() {
    let vault = start().await;
    let (dp, cp) = (data_plane(&vault), control_plane(&vault));
    assert_eq!(
        MODEL
            .iter()
            .filter(|(n, _)| !n.ends_with("Resource"))
            .count(),
        35
    );
    for (name, emulated) in MODEL {
        let outcome = call(&dp, &cp, name).await;
        if *emulated {
            if let Some((code, message, _)) = &outcome {
                assert!(
                    !message.contains("not emulated") && !message.starts_with("Unknown operation"),
                    "{name} must be emulated, got {code}: {message}"
                );
            }
        } else {
            let (code, message, status) =
                outcome.unwrap_or_else(|| panic!("{name} is not emulated but succeeded"));
            assert_eq!(code, "ValidationException", "{name}: {message}");
            assert_eq!(status, 400, "{name}");
            assert!(
                message.contains(name) && message.contains("not emulated by deputy"),
                "{name}: {message}"
            );
        }
    }
}
