//! `GetTokenVault` and `SetTokenVaultCMK` on the `default` token vault. The KMS
//! configuration is recorded and reported; the local store keeps its own AES-256-GCM key.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::aws_error::{ApiError, ApiResult};
use crate::ids::now_secs;
use crate::registry::TokenVault;
use crate::state::AppState;
use crate::validate::{Body, Pattern, StringRule};

const VAULT_ID: StringRule = StringRule::pattern(1, 64, Pattern::TokenVaultId);
const KMS_KEY_ARN: StringRule = StringRule::pattern(1, 2048, Pattern::KmsKeyArn);

/// The only token vault.
const DEFAULT: &str = "default";

fn vault_id(body: &mut Body) -> String {
    body.optional_string("tokenVaultId", VAULT_ID)
        .unwrap_or_else(|| DEFAULT.to_owned())
}

fn found(id: &str) -> ApiResult<()> {
    if id == DEFAULT {
        Ok(())
    } else {
        Err(ApiError::NotFound(format!("Token vault '{id}' not found")))
    }
}

fn describe(state: &AppState, vault: Option<&TokenVault>) -> Value {
    let (key_type, arn, modified) = match vault {
        Some(v) => (v.key_type.as_str(), v.kms_key_arn.clone(), v.modified),
        None => ("ServiceManagedKey", None, state.started),
    };
    let mut kms = json!({ "keyType": key_type });
    if let Some(arn) = arn {
        kms["kmsKeyArn"] = json!(arn);
    }
    json!({ "tokenVaultId": DEFAULT, "kmsConfiguration": kms, "lastModifiedDate": modified })
}

/// `GetTokenVault`.
pub async fn get(State(state): State<Arc<AppState>>, body: Bytes) -> ApiResult<Response> {
    let mut body = Body::parse(&body)?;
    let id = vault_id(&mut body);
    body.finish()?;
    found(&id)?;
    let vault = state.registry().token_vault.clone();
    Ok(axum::Json(describe(&state, vault.as_ref())).into_response())
}

/// `SetTokenVaultCMK`: `CustomerManagedKey` needs `kmsKeyArn`; `ServiceManagedKey` takes none.
pub async fn set_cmk(State(state): State<Arc<AppState>>, body: Bytes) -> ApiResult<Response> {
    let mut body = Body::parse(&body)?;
    let id = vault_id(&mut body);
    let config = match body.object("kmsConfiguration") {
        Some(mut kms) => {
            let key_type =
                kms.required_enum("keyType", &["CustomerManagedKey", "ServiceManagedKey"]);
            let arn = kms.optional_string("kmsKeyArn", KMS_KEY_ARN);
            match (key_type.as_str(), &arn) {
                ("CustomerManagedKey", None) if !kms.has("kmsKeyArn") => kms.reject(
                    "kmsKeyArn",
                    "Member must not be null for CustomerManagedKey",
                ),
                ("ServiceManagedKey", _) if kms.has("kmsKeyArn") => {
                    kms.reject("kmsKeyArn", "Member must be null for ServiceManagedKey")
                }
                _ => {}
            }
            body.absorb("kmsConfiguration", kms);
            Some((key_type, arn))
        }
        None => {
            if !body.has("kmsConfiguration") {
                body.reject("kmsConfiguration", "Member must not be null");
            }
            None
        }
    };
    body.finish()?;
    found(&id)?;
    let Some((key_type, kms_key_arn)) = config else {
        return Err(ApiError::validation("kmsConfiguration is incomplete"));
    };
    let vault = TokenVault {
        key_type,
        kms_key_arn,
        modified: now_secs(),
    };
    state.registry_mut().token_vault = Some(vault.clone());
    Ok(axum::Json(describe(&state, Some(&vault))).into_response())
}
