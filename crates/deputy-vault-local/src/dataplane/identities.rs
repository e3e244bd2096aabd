//! `GetWorkloadAccessToken`, `…ForJWT` and `…ForUserId`.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use serde_json::{Value, json};

use super::wat::{self, UserBinding, WAT_TTL_SECONDS, WatClaims};
use crate::aws_error::{ApiError, ApiResult};
use crate::ids::now_secs;
use crate::sensitive::Sensitive;
use crate::state::AppState;
use crate::validate::{Body, Pattern, StringRule};

/// `workloadName`.
pub const WORKLOAD_NAME: StringRule = StringRule::pattern(3, 255, Pattern::WorkloadName);
/// `userToken`.
pub const USER_TOKEN: StringRule = StringRule::pattern(1, 131_072, Pattern::Jwt);
/// `userId`.
pub const USER_ID: StringRule = StringRule::len(1, 128);

fn respond(
    state: &AppState,
    workload: &str,
    user: UserBinding,
    exp: u64,
) -> ApiResult<Json<Value>> {
    state.workload(workload)?;
    let token = wat::mint(
        state.store.key(),
        &WatClaims {
            workload: workload.to_owned(),
            user,
            exp,
        },
    )?;
    Ok(Json(json!({ "workloadAccessToken": token })))
}

/// Which `GetWorkloadAccessToken*` operation a body is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatOperation {
    /// `GetWorkloadAccessToken`: the workload alone.
    Workload,
    /// `GetWorkloadAccessTokenForUserId`.
    ForUserId,
    /// `GetWorkloadAccessTokenForJWT`.
    ForJwt,
}

/// The user a WAT request names.
pub enum RequestedUser {
    /// None (`GetWorkloadAccessToken`).
    None,
    /// `userId`.
    UserId(String),
    /// `userToken`, not yet verified.
    Jwt(Sensitive),
}

/// A validated `GetWorkloadAccessToken*` body (no `Debug`: it may hold a user JWT).
///
/// ```
/// use deputy_vault_local::dataplane::identities::{RequestedUser, WatOperation, WatRequest};
/// let body = br#"{"workloadName":"deputy-agent","userId":"alice"}"#;
/// let request = WatRequest::parse(WatOperation::ForUserId, body).ok().unwrap();
/// assert_eq!(request.workload_name, "deputy-agent");
/// assert!(matches!(request.user, RequestedUser::UserId(ref id) if id == "alice"));
/// assert!(WatRequest::parse(WatOperation::ForJwt, body).is_err());
/// ```
pub struct WatRequest {
    /// `workloadName`.
    pub workload_name: String,
    /// The user, per operation.
    pub user: RequestedUser,
}

impl WatRequest {
    /// Parses and validates the raw body of `operation`.
    pub fn parse(operation: WatOperation, bytes: &[u8]) -> ApiResult<Self> {
        let mut body = Body::parse(bytes)?;
        let workload_name = body.required_string("workloadName", WORKLOAD_NAME);
        let user = match operation {
            WatOperation::Workload => RequestedUser::None,
            WatOperation::ForUserId => {
                RequestedUser::UserId(body.required_string("userId", USER_ID))
            }
            WatOperation::ForJwt => RequestedUser::Jwt(Sensitive::new(
                body.required_string("userToken", USER_TOKEN),
            )),
        };
        body.finish()?;
        Ok(WatRequest {
            workload_name,
            user,
        })
    }
}

/// `POST /identities/GetWorkloadAccessToken`.
pub async fn for_workload(
    State(state): State<Arc<AppState>>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    issue(&state, WatRequest::parse(WatOperation::Workload, &body)?).await
}

/// `POST /identities/GetWorkloadAccessTokenForUserId`.
pub async fn for_user_id(
    State(state): State<Arc<AppState>>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    issue(&state, WatRequest::parse(WatOperation::ForUserId, &body)?).await
}

/// `POST /identities/GetWorkloadAccessTokenForJWT`.
pub async fn for_jwt(State(state): State<Arc<AppState>>, body: Bytes) -> ApiResult<Json<Value>> {
    issue(&state, WatRequest::parse(WatOperation::ForJwt, &body)?).await
}

/// Mints the WAT a validated request asks for; a user JWT is verified first.
async fn issue(state: &AppState, request: WatRequest) -> ApiResult<Json<Value>> {
    let workload = request.workload_name;
    let ttl_exp = now_secs() + WAT_TTL_SECONDS;
    match request.user {
        RequestedUser::None => respond(state, &workload, UserBinding::None, ttl_exp),
        RequestedUser::UserId(user_id) => {
            respond(state, &workload, UserBinding::UserId { user_id }, ttl_exp)
        }
        RequestedUser::Jwt(user_token) => {
            state.workload(&workload)?;
            let claims = verify_user_jwt(state, user_token.expose()).await?;
            let text = |k: &str| {
                claims
                    .get(k)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            let exp = claims.get("exp").and_then(Value::as_u64).unwrap_or(0);
            let binding = UserBinding::Jwt {
                iss: text("iss"),
                sub: text("sub"),
                token: user_token,
            };
            respond(
                state,
                &workload,
                binding,
                exp.min(now_secs() + WAT_TTL_SECONDS),
            )
        }
    }
}

/// Verifies an inbound user JWT against the dev IdP or a configured issuer's JWKS
/// (signature, `exp`, `iss`, `aud`); failures are `UnauthorizedException`.
pub async fn verify_user_jwt(state: &AppState, token: &str) -> ApiResult<Value> {
    let unauthorized = |why: String| {
        ApiError::Unauthorized(format!("The user token could not be verified: {why}"))
    };
    let issuer = unverified_issuer(token)
        .ok_or_else(|| unauthorized("it is not a JWT with an iss claim".into()))?;
    if issuer == state.idp.issuer() {
        return state
            .idp
            .keys
            .verify(token, &issuer, &state.dev_audiences)
            .map_err(unauthorized);
    }
    let config = state
        .inbound_issuers
        .iter()
        .find(|i| i.issuer == issuer)
        .ok_or_else(|| {
            unauthorized(format!(
                "issuer '{issuer}' is not a configured inbound issuer"
            ))
        })?;
    let header = jsonwebtoken::decode_header(token).map_err(|e| unauthorized(e.to_string()))?;
    let kid = header.kid.unwrap_or_default();
    // The cache is never locked across the fetch: a hung JWKS delays only its own issuer.
    let cached = state
        .jwks_cache
        .get(&issuer)
        .and_then(|set| set.find(&kid).cloned());
    let jwk = match cached {
        Some(jwk) => jwk,
        None => {
            let set: jsonwebtoken::jwk::JwkSet = state
                .http
                .fetch_json(state.http.client().get(&config.jwks_url))
                .await
                .map_err(|e| unauthorized(format!("fetching the issuer's JWKS failed: {e}")))?;
            let found = set.find(&kid).cloned();
            state.jwks_cache.put(&issuer, set);
            found.ok_or_else(|| unauthorized("no JWKS key matches the token's kid".into()))?
        }
    };
    let key = jsonwebtoken::DecodingKey::from_jwk(&jwk).map_err(|e| unauthorized(e.to_string()))?;
    let mut validation = jsonwebtoken::Validation::new(header.alg);
    validation.set_issuer(&[&issuer]);
    validation.set_audience(&config.audiences);
    validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .map(|d| d.claims)
        .map_err(|e| unauthorized(e.to_string()))
}

fn unverified_issuer(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = crate::ids::b64url_decode(payload.trim_end_matches('='))?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("iss")?.as_str().map(str::to_owned)
}
