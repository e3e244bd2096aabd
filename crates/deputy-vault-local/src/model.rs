//! The AgentCore Identity operations of AWS's service models, each with its HTTP binding, the
//! errors it models and whether the local vault emulates it.
//!
//! Source: botocore 1.44.8, `bedrock-agentcore-control` 2023-06-05 (28 operations under
//! `/identities`, and the 3 tagging operations) and `bedrock-agentcore` 2024-02-28 (7 under
//! `/identities`). An operation that is modelled but not emulated answers
//! [`crate::aws_error::ApiError::not_emulated`].
//!
//! ```
//! use deputy_vault_local::model::{find, operation_for};
//! assert!(find("UpdateApiKeyCredentialProvider").is_some_and(|o| o.emulated));
//! assert_eq!(operation_for("GET", "/tags/arn%3Aaws").map(|o| o.name), Some("ListTagsForResource"));
//! ```

use crate::aws_error::ModelledError::{self, *};

/// One modelled operation.
#[derive(Debug, Clone, Copy)]
pub struct Operation {
    /// Operation name, e.g. `GetTokenVault`.
    pub name: &'static str,
    /// HTTP method.
    pub method: &'static str,
    /// Request path; the tagging operations' `/tags/{resourceArn}` is matched by prefix.
    pub path: &'static str,
    /// Whether the local vault serves it.
    pub emulated: bool,
    /// The errors the model lists for it.
    pub errors: &'static [ModelledError],
}

const BASIC: &[ModelledError] = &[
    Unauthorized,
    Validation,
    AccessDenied,
    ResourceNotFound,
    Throttling,
    InternalServer,
];
const BASIC_CONFLICT: &[ModelledError] = &[
    Unauthorized,
    Validation,
    AccessDenied,
    Conflict,
    ResourceNotFound,
    Throttling,
    InternalServer,
];
const GET_SECRET: &[ModelledError] = &[
    Unauthorized,
    Validation,
    AccessDenied,
    DecryptionFailure,
    ResourceNotFound,
    Throttling,
    InternalServer,
];
const CREATE_SECRET: &[ModelledError] = &[
    ServiceQuotaExceeded,
    Unauthorized,
    ResourceLimitExceeded,
    Validation,
    Conflict,
    AccessDenied,
    DecryptionFailure,
    ResourceNotFound,
    Throttling,
    InternalServer,
    EncryptionFailure,
];
const UPDATE_SECRET: &[ModelledError] = &[
    ServiceQuotaExceeded,
    Unauthorized,
    Validation,
    AccessDenied,
    Conflict,
    DecryptionFailure,
    ResourceNotFound,
    Throttling,
    InternalServer,
    EncryptionFailure,
];
const CREATE_PORTAL: &[ModelledError] = &[
    ServiceQuotaExceeded,
    Unauthorized,
    Validation,
    AccessDenied,
    Conflict,
    ResourceNotFound,
    Throttling,
    InternalServer,
];
const LIST_PORTALS: &[ModelledError] = &[
    Unauthorized,
    Validation,
    AccessDenied,
    Throttling,
    InternalServer,
];
const SET_CMK: &[ModelledError] = &[
    Unauthorized,
    ConcurrentModification,
    Conflict,
    Validation,
    AccessDenied,
    ResourceNotFound,
    Throttling,
    InternalServer,
];
const TAG: &[ModelledError] = &[
    ServiceQuotaExceeded,
    Validation,
    AccessDenied,
    Throttling,
    ResourceNotFound,
    InternalServer,
];
const UNTAG: &[ModelledError] = &[
    Validation,
    AccessDenied,
    Throttling,
    ResourceNotFound,
    InternalServer,
];

const fn op(
    name: &'static str,
    method: &'static str,
    path: &'static str,
    emulated: bool,
    errors: &'static [ModelledError],
) -> Operation {
    Operation {
        name,
        method,
        path,
        emulated,
        errors,
    }
}

/// The prefix of the tagging operations' path.
pub const TAGS_PREFIX: &str = "/tags/";

/// Every AgentCore Identity operation of the models (35 under `/identities`, 3 for tags).
#[rustfmt::skip]
pub const OPERATIONS: &[Operation] = &[
    // bedrock-agentcore (data plane)
    op("GetWorkloadAccessToken", "POST", "/identities/GetWorkloadAccessToken", true, BASIC),
    op("GetWorkloadAccessTokenForJWT", "POST", "/identities/GetWorkloadAccessTokenForJWT", true, BASIC),
    op("GetWorkloadAccessTokenForUserId", "POST", "/identities/GetWorkloadAccessTokenForUserId", true, BASIC),
    op("GetResourceOauth2Token", "POST", "/identities/oauth2/token", true, BASIC),
    op("GetResourceApiKey", "POST", "/identities/api-key", true, BASIC),
    op("CompleteResourceTokenAuth", "POST", "/identities/CompleteResourceTokenAuth", true, BASIC),
    op("GetResourcePaymentToken", "POST", "/identities/payment/token", false, BASIC),
    // bedrock-agentcore-control: workload identities
    op("CreateWorkloadIdentity", "POST", "/identities/CreateWorkloadIdentity", true, BASIC_CONFLICT),
    op("GetWorkloadIdentity", "POST", "/identities/GetWorkloadIdentity", true, BASIC),
    op("UpdateWorkloadIdentity", "POST", "/identities/UpdateWorkloadIdentity", true, BASIC_CONFLICT),
    op("DeleteWorkloadIdentity", "POST", "/identities/DeleteWorkloadIdentity", true, BASIC),
    op("ListWorkloadIdentities", "POST", "/identities/ListWorkloadIdentities", true, BASIC),
    // OAuth2 credential providers
    op("CreateOauth2CredentialProvider", "POST", "/identities/CreateOauth2CredentialProvider", true, CREATE_SECRET),
    op("GetOauth2CredentialProvider", "POST", "/identities/GetOauth2CredentialProvider", true, GET_SECRET),
    op("UpdateOauth2CredentialProvider", "POST", "/identities/UpdateOauth2CredentialProvider", true, UPDATE_SECRET),
    op("DeleteOauth2CredentialProvider", "POST", "/identities/DeleteOauth2CredentialProvider", true, BASIC_CONFLICT),
    op("ListOauth2CredentialProviders", "POST", "/identities/ListOauth2CredentialProviders", true, BASIC),
    // API-key credential providers
    op("CreateApiKeyCredentialProvider", "POST", "/identities/CreateApiKeyCredentialProvider", true, CREATE_SECRET),
    op("GetApiKeyCredentialProvider", "POST", "/identities/GetApiKeyCredentialProvider", true, GET_SECRET),
    op("UpdateApiKeyCredentialProvider", "POST", "/identities/UpdateApiKeyCredentialProvider", true, UPDATE_SECRET),
    op("DeleteApiKeyCredentialProvider", "POST", "/identities/DeleteApiKeyCredentialProvider", true, BASIC),
    op("ListApiKeyCredentialProviders", "POST", "/identities/ListApiKeyCredentialProviders", true, BASIC),
    // The token vault
    op("GetTokenVault", "POST", "/identities/get-token-vault", true, BASIC),
    op("SetTokenVaultCMK", "POST", "/identities/set-token-vault-cmk", true, SET_CMK),
    op("ResetTokenVaultKeyMaterial", "POST", "/identities/reset-token-vault-key-material", false, BASIC_CONFLICT),
    // Payment credential providers
    op("CreatePaymentCredentialProvider", "POST", "/identities/CreatePaymentCredentialProvider", false, CREATE_SECRET),
    op("GetPaymentCredentialProvider", "POST", "/identities/GetPaymentCredentialProvider", false, GET_SECRET),
    op("UpdatePaymentCredentialProvider", "POST", "/identities/UpdatePaymentCredentialProvider", false, UPDATE_SECRET),
    op("DeletePaymentCredentialProvider", "POST", "/identities/DeletePaymentCredentialProvider", false, BASIC),
    op("ListPaymentCredentialProviders", "POST", "/identities/ListPaymentCredentialProviders", false, BASIC),
    // Consent portals
    op("CreateConsentPortal", "POST", "/identities/CreateConsentPortal", false, CREATE_PORTAL),
    op("GetConsentPortal", "POST", "/identities/GetConsentPortal", false, BASIC),
    op("UpdateConsentPortal", "POST", "/identities/UpdateConsentPortal", false, BASIC_CONFLICT),
    op("DeleteConsentPortal", "POST", "/identities/DeleteConsentPortal", false, BASIC_CONFLICT),
    op("ListConsentPortals", "POST", "/identities/ListConsentPortals", false, LIST_PORTALS),
    // Tagging (workload identities and credential providers)
    op("TagResource", "POST", TAGS_PREFIX, true, TAG),
    op("UntagResource", "DELETE", TAGS_PREFIX, true, UNTAG),
    op("ListTagsForResource", "GET", TAGS_PREFIX, true, UNTAG),
];

/// The operation named `name`.
pub fn find(name: &str) -> Option<&'static Operation> {
    OPERATIONS.iter().find(|o| o.name == name)
}

/// The operation a request is for (`None`: not an operation of the models).
pub fn operation_for(method: &str, path: &str) -> Option<&'static Operation> {
    OPERATIONS.iter().find(|o| {
        o.method == method
            && if o.path == TAGS_PREFIX {
                path.strip_prefix(TAGS_PREFIX)
                    .is_some_and(|arn| !arn.is_empty() && !arn.contains('/'))
            } else {
                o.path == path
            }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_has_the_35_identity_operations_and_tagging_once_each() {
        let identities = OPERATIONS
            .iter()
            .filter(|o| o.path.starts_with("/identities/"));
        assert_eq!(identities.count(), 35);
        for o in OPERATIONS {
            assert_eq!(
                OPERATIONS.iter().filter(|p| p.name == o.name).count(),
                1,
                "{}",
                o.name
            );
            assert!(o.errors.contains(&ModelledError::Validation), "{}", o.name);
        }
        assert!(operation_for("POST", "/tags/a/b").is_none());
        assert!(operation_for("PUT", "/tags/arn").is_none());
    }
}
