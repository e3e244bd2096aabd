//! `GET /identities/oauth2/callback/{id}`: where the IdP sends the browser. The code is kept
//! for `CompleteResourceTokenAuth` and the browser goes on to the return URL with `session_id`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::federation::INVALID_SESSION;
use super::session::{self, SessionStatus};
use crate::sensitive::Sensitive;
use crate::state::AppState;

fn bad_request(message: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "message": message }))).into_response()
}

/// The handler.
pub async fn handler(
    State(state): State<Arc<AppState>>,
    Path(callback_id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let code = query.get("code").filter(|c| !c.is_empty());
    let oauth_state = query.get("state").filter(|s| !s.is_empty());
    let Some(oauth_state) = oauth_state else {
        return missing(code.is_none());
    };
    let found = state.store.session_id_by_state(oauth_state).ok().flatten();
    let loaded = found.and_then(|id| session::load(&state, &id).ok().flatten());
    let provider_matches = |provider: &str| {
        state
            .registry()
            .providers
            .get(provider)
            .is_some_and(|p| p.callback_id == callback_id)
    };
    let Some(mut session) = loaded.filter(|s| {
        s.status == SessionStatus::AwaitingUser
            && !s.expired(state.session_ttl)
            && provider_matches(&s.provider)
    }) else {
        return bad_request(INVALID_SESSION);
    };
    let Some(code) = code else {
        if query.contains_key("error") {
            session.status = SessionStatus::Failed;
            if session::save(&state, &session).is_err() {
                return bad_request(INVALID_SESSION);
            }
            return bad_request("The authorization server did not grant access");
        }
        return missing(true);
    };
    session.code = Some(Sensitive::new(code.clone()));
    session.status = SessionStatus::AwaitingBinding;
    if session::save(&state, &session).is_err() {
        return bad_request(INVALID_SESSION);
    }
    let Ok(mut target) = url::Url::parse(&session.return_url) else {
        return bad_request("The return URL is not valid");
    };
    target
        .query_pairs_mut()
        .append_pair("session_id", &session.uri());
    if let Some(custom) = &session.custom_state {
        target
            .query_pairs_mut()
            .append_pair("custom_state", custom.expose());
    }
    let mut response = StatusCode::FOUND.into_response();
    match HeaderValue::from_str(target.as_str()) {
        Ok(location) => {
            response.headers_mut().insert(header::LOCATION, location);
            response
        }
        Err(_) => bad_request("The return URL is not valid"),
    }
}

fn missing(code_missing: bool) -> Response {
    let mut errors = Vec::new();
    if code_missing {
        errors.push(
            "Value at 'authorizationCode' failed to satisfy constraint: Member must not be null",
        );
    }
    errors.push("Value at 'state' failed to satisfy constraint: Member must not be null");
    let noun = if errors.len() == 1 { "error" } else { "errors" };
    bad_request(&format!(
        "{} validation {noun} detected: {}",
        errors.len(),
        errors.join("; ")
    ))
}
