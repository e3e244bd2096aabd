//! `POST /identities/CompleteResourceTokenAuth`: session binding. Only the artifact that
//! minted the WAT which started the session (same userId, or byte-identical JWT) releases
//! the code exchange.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use serde_json::{Value, json};

use super::federation::{INVALID_SESSION, redeem};
use super::identities::{USER_ID, USER_TOKEN};
use super::session::{self, SessionStatus};
use super::token_request::SESSION_URI;
use crate::aws_error::{ApiError, ApiResult};
use crate::sensitive::Sensitive;
use crate::state::AppState;
use crate::validate::{Body, SESSION_URI_PREFIX};

/// A validated CompleteResourceTokenAuth body: the session and exactly one user identifier
/// (no `Debug`: it may hold a user JWT).
///
/// ```
/// use deputy_vault_local::dataplane::complete::CompleteRequest;
/// let body = br#"{"sessionUri":"urn:ietf:params:oauth:request_uri:abc",
///   "userIdentifier":{"userId":"alice"}}"#;
/// let request = CompleteRequest::parse(body).ok().unwrap();
/// assert_eq!(request.user_id.as_deref(), Some("alice"));
/// let both = br#"{"sessionUri":"urn:ietf:params:oauth:request_uri:abc",
///   "userIdentifier":{"userId":"alice","userToken":"a.b.c"}}"#;
/// assert!(CompleteRequest::parse(both).is_err());
/// ```
pub struct CompleteRequest {
    /// `sessionUri`.
    pub session_uri: String,
    /// `userIdentifier.userId`.
    pub user_id: Option<String>,
    /// `userIdentifier.userToken`.
    pub user_token: Option<Sensitive>,
}

impl CompleteRequest {
    /// Parses and validates the raw body.
    pub fn parse(bytes: &[u8]) -> ApiResult<Self> {
        let mut body = Body::parse(bytes)?;
        let session_uri = body.required_string("sessionUri", SESSION_URI);
        let (user_id, user_token) = match body.object("userIdentifier") {
            Some(mut identifier) => {
                identifier.require_exactly_one("userIdentifier", &["userToken", "userId"]);
                let token = identifier.optional_string("userToken", USER_TOKEN);
                let id = identifier.optional_string("userId", USER_ID);
                body.absorb("userIdentifier", identifier);
                (id, token)
            }
            None => {
                body.reject("userIdentifier", "Member must not be null");
                (None, None)
            }
        };
        body.finish()?;
        Ok(CompleteRequest {
            session_uri,
            user_id,
            user_token: user_token.map(Sensitive::new),
        })
    }
}

/// The handler.
pub async fn handler(State(state): State<Arc<AppState>>, body: Bytes) -> ApiResult<Json<Value>> {
    let CompleteRequest {
        session_uri,
        user_id,
        user_token,
    } = CompleteRequest::parse(&body)?;
    let denied = || ApiError::AccessDenied(INVALID_SESSION.into());
    let id = session_uri
        .strip_prefix(SESSION_URI_PREFIX)
        .unwrap_or_default();
    let session = session::load(&state, id)?.ok_or_else(denied)?;
    let ttl = state.session_ttl;
    let mut code = None;
    // Compare-and-set under the store lock: exactly one call moves the session from
    // AwaitingBinding to Exchanging and takes its code; every concurrent call is refused.
    let claimed = session::update(&state, id, |mut s| {
        let bound = s.user.matches_identifier(
            user_id.as_deref(),
            user_token.as_ref().map(Sensitive::expose),
        );
        if s.status != SessionStatus::AwaitingBinding || s.expired(ttl) || !bound {
            return None;
        }
        code = Some(s.code.take()?);
        s.status = SessionStatus::Exchanging;
        Some(s)
    })?;
    let (Some(claimed), Some(code)) = (claimed, code) else {
        tracing::info!(workload = %session.workload, provider = %session.provider, "session binding refused");
        return Err(denied());
    };
    // The exchange runs in its own task: a caller that hangs up mid-exchange does not leave
    // the claimed session stuck in Exchanging.
    let exchanging = Arc::clone(&state);
    tokio::spawn(async move { redeem(&exchanging, claimed, code).await })
        .await
        .map_err(|_| ApiError::Internal("the code exchange stopped unexpectedly".into()))??;
    Ok(Json(json!({})))
}
