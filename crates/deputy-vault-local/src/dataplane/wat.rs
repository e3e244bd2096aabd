//! Workload access tokens: opaque `AgV4…` strings sealed with the vault's data key, binding
//! a workload to no user, a caller-supplied user id, or a verified JWT (`iss` + `sub` and
//! the JWT itself, needed for OBO and session binding).

use serde::{Deserialize, Serialize};

use crate::aws_error::{ApiError, ApiResult};
use crate::ids::{b64url, b64url_decode, now_secs};
use crate::sensitive::Sensitive;
use crate::store::DataKey;

const PREFIX: &str = "AgV4";
/// Lifetime of WATs not bound to a JWT.
pub const WAT_TTL_SECONDS: u64 = 3600;

/// Who a WAT acts for.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum UserBinding {
    /// `GetWorkloadAccessToken`: the workload itself.
    None,
    /// `GetWorkloadAccessTokenForUserId`.
    UserId {
        /// The caller-supplied user id.
        user_id: String,
    },
    /// `GetWorkloadAccessTokenForJWT`.
    Jwt {
        /// `iss` of the verified JWT.
        iss: String,
        /// `sub` of the verified JWT.
        sub: String,
        /// The JWT itself.
        token: Sensitive,
    },
}

impl UserBinding {
    /// The vault key component for this user (`None` for a user-less WAT).
    pub fn user_key(&self) -> Option<String> {
        match self {
            Self::None => None,
            Self::UserId { user_id } => Some(format!("user-id:{user_id}")),
            Self::Jwt { iss, sub, .. } => Some(format!("jwt:{iss}|{sub}")),
        }
    }

    /// Whether `CompleteResourceTokenAuth`'s identifier is the artifact that minted this binding.
    pub fn matches_identifier(&self, user_id: Option<&str>, user_token: Option<&str>) -> bool {
        match self {
            Self::None => false,
            Self::UserId { user_id: bound } => user_id == Some(bound.as_str()),
            Self::Jwt { token, .. } => user_token == Some(token.expose()),
        }
    }
}

/// The claims sealed inside a WAT.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WatClaims {
    /// Workload name.
    pub workload: String,
    /// The user binding.
    pub user: UserBinding,
    /// Expiry, epoch seconds.
    pub exp: u64,
}

/// Seals claims into an opaque WAT.
pub fn mint(key: &DataKey, claims: &WatClaims) -> ApiResult<String> {
    let json = serde_json::to_vec(claims)
        .map_err(|_| ApiError::Internal("could not encode WAT".into()))?;
    let sealed = key
        .seal(&json)
        .map_err(|_| ApiError::Internal("could not seal WAT".into()))?;
    Ok(format!("{PREFIX}{}", b64url(&sealed)))
}

/// Opens a WAT; invalid or expired ones give `UnauthorizedException`.
pub fn open(key: &DataKey, wat: &str) -> ApiResult<WatClaims> {
    let invalid = || ApiError::Unauthorized("The workload access token is invalid".into());
    let sealed = wat
        .strip_prefix(PREFIX)
        .and_then(b64url_decode)
        .ok_or_else(invalid)?;
    let json = key.open(&sealed).ok_or_else(invalid)?;
    let claims: WatClaims = serde_json::from_slice(&json).map_err(|_| invalid())?;
    if claims.exp <= now_secs() {
        return Err(ApiError::Unauthorized(
            "The workload access token has expired".into(),
        ));
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wats_round_trip_are_opaque_and_reject_forgery() {
        let key = DataKey::random().unwrap();
        let claims = WatClaims {
            workload: "deputy-agent".into(),
            user: UserBinding::UserId {
                user_id: "alice".into(),
            },
            exp: now_secs() + 60,
        };
        let wat = mint(&key, &claims).unwrap();
        assert!(wat.starts_with("AgV4"));
        assert!(!wat.contains("alice") && wat.split('.').count() == 1);
        assert_eq!(open(&key, &wat).unwrap().workload, "deputy-agent");
        assert!(open(&DataKey::random().unwrap(), &wat).is_err());
        assert!(open(&key, "AgV4garbage").is_err());
        let expired = mint(
            &key,
            &WatClaims {
                exp: now_secs() - 1,
                ..claims
            },
        )
        .unwrap();
        assert!(open(&key, &expired).is_err());
    }
}
