//! The dev IdP's HTTP routes: discovery, JWKS, the authorization endpoint with its login
//! and consent forms, and the token endpoint (see [`super::grants`]).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

use super::{DevIdp, IssuedCode, PendingAuthorization, pages};
use crate::ids::{now_secs, random_token};
use crate::sensitive::Sensitive;

const PENDING_TTL: u64 = 600;
const CODE_TTL: u64 = 120;

/// The router mounted at `/idp`.
pub fn router(idp: Arc<DevIdp>) -> Router {
    Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/.well-known/oauth-authorization-server", get(discovery))
        .route("/jwks", get(jwks))
        .route("/authorize", get(authorize))
        .route("/login", post(login))
        .route("/consent", post(consent))
        .route("/token", post(super::grants::token))
        .route("/dev/user-token", post(user_token))
        .with_state(idp)
}

async fn discovery(State(idp): State<Arc<DevIdp>>) -> Response {
    Json(idp.discovery()).into_response()
}

async fn jwks(State(idp): State<Arc<DevIdp>>) -> Response {
    Json(idp.keys.jwks()).into_response()
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

fn with_query(base: &str, pairs: &[(&str, &str)]) -> Option<String> {
    let mut url = url::Url::parse(base).ok()?;
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in pairs {
            q.append_pair(k, v);
        }
    }
    Some(url.to_string())
}

async fn authorize(
    State(idp): State<Arc<DevIdp>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let get = |k: &str| q.get(k).map(String::as_str).unwrap_or("");
    let client_id = get("client_id");
    let Some(client) = idp.client(client_id) else {
        return pages::error(StatusCode::BAD_REQUEST, "Unknown client_id");
    };
    let redirect_uri = get("redirect_uri");
    if !client.redirect_uris.iter().any(|u| u == redirect_uri) {
        return pages::error(
            StatusCode::BAD_REQUEST,
            "redirect_uri is not registered for this client",
        );
    }
    let state = q.get("state").cloned();
    let fail = |error: &str, description: &str| {
        let mut pairs = vec![("error", error), ("error_description", description)];
        if let Some(s) = &state {
            pairs.push(("state", s.as_str()));
        }
        match with_query(redirect_uri, &pairs) {
            Some(url) => Redirect::to(&url).into_response(),
            None => pages::error(StatusCode::BAD_REQUEST, description),
        }
    };
    if get("response_type") != "code" {
        return fail(
            "unsupported_response_type",
            "only response_type=code is supported",
        );
    }
    if get("code_challenge").is_empty() || get("code_challenge_method") != "S256" {
        return fail(
            "invalid_request",
            "PKCE with code_challenge_method=S256 is required",
        );
    }
    let request_id = random_token(18);
    let pending = PendingAuthorization {
        client_id: client_id.to_owned(),
        redirect_uri: redirect_uri.to_owned(),
        scope: get("scope").to_owned(),
        state: state.map(Sensitive::new),
        code_challenge: get("code_challenge").to_owned(),
        user: None,
        exp: now_secs() + PENDING_TTL,
    };
    lock(&idp.pending).insert(request_id.clone(), pending);
    pages::login(&request_id, client_id, None)
}

fn pending(idp: &DevIdp, request_id: &str) -> Option<PendingAuthorization> {
    let mut map = lock(&idp.pending);
    map.retain(|_, p| p.exp > now_secs());
    map.get(request_id).cloned()
}

async fn login(
    State(idp): State<Arc<DevIdp>>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let request_id = form.get("request_id").map(String::as_str).unwrap_or("");
    let Some(request) = pending(&idp, request_id) else {
        return pages::error(
            StatusCode::BAD_REQUEST,
            "This sign-in request is unknown or has expired",
        );
    };
    let user = form.get("username").map(String::as_str).unwrap_or("");
    let password = form.get("password").map(String::as_str).unwrap_or("");
    if !idp.password_ok(user, password) {
        return pages::login(
            request_id,
            &request.client_id,
            Some("Wrong user name or password"),
        );
    }
    if let Some(p) = lock(&idp.pending).get_mut(request_id) {
        p.user = Some(user.to_owned());
    }
    pages::consent(request_id, &request.client_id, user, &request.scope)
}

async fn consent(
    State(idp): State<Arc<DevIdp>>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let request_id = form.get("request_id").map(String::as_str).unwrap_or("");
    let request = lock(&idp.pending).remove(request_id);
    let Some(request) = request.filter(|r| r.exp > now_secs()) else {
        return pages::error(
            StatusCode::BAD_REQUEST,
            "This consent request is unknown or has expired",
        );
    };
    let Some(user) = request.user.clone() else {
        return pages::error(StatusCode::BAD_REQUEST, "Sign in before giving consent");
    };
    let state = request.state.as_ref().map(|s| s.expose().to_owned());
    let mut pairs: Vec<(&str, String)> = Vec::new();
    if form.get("decision").map(String::as_str) == Some("allow") {
        let code = random_token(24);
        lock(&idp.codes).insert(
            code.clone(),
            IssuedCode {
                client_id: request.client_id.clone(),
                redirect_uri: request.redirect_uri.clone(),
                user,
                scope: request.scope.clone(),
                code_challenge: request.code_challenge.clone(),
                exp: now_secs() + CODE_TTL,
            },
        );
        pairs.push(("code", code));
    } else {
        pairs.push(("error", "access_denied".into()));
        pairs.push(("error_description", "The user denied consent".into()));
    }
    if let Some(s) = state {
        pairs.push(("state", s));
    }
    let borrowed: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    match with_query(&request.redirect_uri, &borrowed) {
        Some(url) => Redirect::to(&url).into_response(),
        None => pages::error(StatusCode::BAD_REQUEST, "redirect_uri is not a valid URL"),
    }
}

/// `POST /idp/dev/user-token` (form `username`, `password`, `audience`): mints the inbound
/// user JWT that `RunningVault::mint_user_token` returns, for processes outside the vault
/// (`deputy vault token --user alice`). Development only, like the whole IdP.
async fn user_token(
    State(idp): State<Arc<DevIdp>>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    let oauth_error = |status: StatusCode, error: &str, description: &str| {
        (
            status,
            Json(serde_json::json!({ "error": error, "error_description": description })),
        )
            .into_response()
    };
    if !idp.password_ok(field("username"), field("password")) {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_grant",
            "wrong user name or password",
        );
    }
    let audience = match field("audience") {
        "" => "deputy",
        a => a,
    };
    match idp.mint_user_token(field("username"), audience) {
        Ok(token) => {
            Json(serde_json::json!({ "token": token, "token_type": "JWT" })).into_response()
        }
        Err(e) => oauth_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            &e.to_string(),
        ),
    }
}
