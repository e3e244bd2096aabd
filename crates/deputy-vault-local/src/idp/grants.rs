//! The dev IdP's token endpoint: authorization_code (+PKCE S256), client_credentials,
//! refresh_token, RFC 8693 token exchange and RFC 7523 jwt-bearer.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Value, json};

use super::{DevIdp, RefreshGrant};
use crate::ids::{b64url, now_secs, random_token, sha256};

/// RFC 8693 grant type.
pub const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// RFC 7523 grant type.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const TYPE_JWT: &str = "urn:ietf:params:oauth:token-type:jwt";
const TYPE_ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";

struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: String,
}

fn err(error: &'static str, description: impl Into<String>) -> OAuthError {
    let status = if error == "invalid_client" {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::BAD_REQUEST
    };
    OAuthError {
        status,
        error,
        description: description.into(),
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(json!({ "error": self.error, "error_description": self.description })),
        )
            .into_response()
    }
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

/// Authenticates the client from HTTP Basic or form fields; `Ok(None)` when none is given.
fn authenticate(
    idp: &DevIdp,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Result<Option<String>, OAuthError> {
    let basic = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| {
            let (id, secret) = s.split_once(':')?;
            let decode = |x: &str| {
                url::form_urlencoded::parse(format!("x={x}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
            };
            Some((decode(id)?, decode(secret)?))
        });
    let (id, secret) = match (basic, form.get("client_id"), form.get("client_secret")) {
        (Some(pair), _, _) => pair,
        (None, Some(id), Some(secret)) => (id.clone(), secret.clone()),
        (None, Some(_), None) => return Err(err("invalid_client", "client authentication failed")),
        (None, None, _) => return Ok(None),
    };
    match idp.client(&id) {
        Some(c) if c.secret.expose() == secret => Ok(Some(id)),
        _ => Err(err("invalid_client", "client authentication failed")),
    }
}

fn token_response(
    idp: &DevIdp,
    access_token: String,
    scope: &str,
    refresh: Option<String>,
    issued_type: bool,
) -> Response {
    let mut body = json!({
        "access_token": access_token, "token_type": "Bearer",
        "expires_in": idp.access_token_ttl(), "scope": scope,
    });
    if let Some(r) = refresh {
        body["refresh_token"] = json!(r);
    }
    if issued_type {
        body["issued_token_type"] = json!(TYPE_ACCESS_TOKEN);
    }
    Json(body).into_response()
}

fn audience(form: &HashMap<String, String>, client: Option<&str>) -> String {
    form.get("audience")
        .or_else(|| form.get("resource"))
        .cloned()
        .or_else(|| client.map(str::to_owned))
        .unwrap_or_else(|| "deputy-dev-api".into())
}

/// `POST /idp/token`.
pub async fn token(
    State(idp): State<Arc<DevIdp>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    match grant(&idp, &headers, &form) {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

fn grant(
    idp: &DevIdp,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Result<Response, OAuthError> {
    let client = authenticate(idp, headers, form)?;
    let grant_type = form.get("grant_type").map(String::as_str).unwrap_or("");
    let need_client = || {
        client
            .clone()
            .ok_or_else(|| err("invalid_client", "client authentication is required"))
    };
    let issue = |sub: &str, cid: Option<&str>, scope: &str, aud: &str, act: Option<Value>| {
        idp.issue_access_token(sub, cid, scope, aud, act)
            .map_err(|e| err("server_error", e.to_string()))
    };
    match grant_type {
        "authorization_code" => {
            let client = need_client()?;
            let code = form.get("code").map(String::as_str).unwrap_or("");
            let issued = lock(&idp.codes).remove(code).ok_or_else(|| {
                err(
                    "invalid_grant",
                    "the authorization code is invalid, expired or already used",
                )
            })?;
            if issued.client_id != client || issued.exp <= now_secs() {
                return Err(err(
                    "invalid_grant",
                    "the authorization code is invalid, expired or already used",
                ));
            }
            if form.get("redirect_uri") != Some(&issued.redirect_uri) {
                return Err(err(
                    "invalid_grant",
                    "redirect_uri does not match the authorization request",
                ));
            }
            let verifier = form.get("code_verifier").map(String::as_str).unwrap_or("");
            if verifier.is_empty() || b64url(&sha256(verifier.as_bytes())) != issued.code_challenge
            {
                return Err(err("invalid_grant", "PKCE verification failed"));
            }
            let at = issue(
                &issued.user,
                Some(&client),
                &issued.scope,
                &audience(form, Some(&client)),
                None,
            )?;
            let refresh = random_token(32);
            lock(&idp.refresh_tokens).insert(
                refresh.clone(),
                RefreshGrant {
                    client_id: client,
                    user: issued.user,
                    scope: issued.scope.clone(),
                },
            );
            Ok(token_response(idp, at, &issued.scope, Some(refresh), false))
        }
        "client_credentials" => {
            let client = need_client()?;
            let scope = form.get("scope").cloned().unwrap_or_default();
            let at = issue(
                &client,
                Some(&client),
                &scope,
                &audience(form, Some(&client)),
                None,
            )?;
            Ok(token_response(idp, at, &scope, None, false))
        }
        "refresh_token" => {
            let client = need_client()?;
            let presented = form.get("refresh_token").map(String::as_str).unwrap_or("");
            let grant = lock(&idp.refresh_tokens)
                .remove(presented)
                .filter(|g| g.client_id == client)
                .ok_or_else(|| err("invalid_grant", "the refresh token is invalid"))?;
            let at = issue(
                &grant.user,
                Some(&client),
                &grant.scope,
                &audience(form, Some(&client)),
                None,
            )?;
            let rotated = random_token(32);
            let scope = grant.scope.clone();
            lock(&idp.refresh_tokens).insert(rotated.clone(), grant);
            Ok(token_response(idp, at, &scope, Some(rotated), false))
        }
        TOKEN_EXCHANGE => token_exchange(idp, client.as_deref(), form),
        JWT_BEARER => {
            let assertion = form.get("assertion").map(String::as_str).unwrap_or("");
            let subject = idp
                .keys
                .verify(assertion, idp.issuer(), &[])
                .map_err(|e| err("invalid_grant", e))?;
            let sub = subject["sub"].as_str().unwrap_or_default();
            let scope = form.get("scope").cloned().unwrap_or_default();
            let at = issue(
                sub,
                client.as_deref(),
                &scope,
                &audience(form, client.as_deref()),
                None,
            )?;
            Ok(token_response(idp, at, &scope, None, false))
        }
        _ => Err(err(
            "unsupported_grant_type",
            format!("grant_type '{grant_type}' is not supported"),
        )),
    }
}

fn token_exchange(
    idp: &DevIdp,
    client: Option<&str>,
    form: &HashMap<String, String>,
) -> Result<Response, OAuthError> {
    let subject_type = form
        .get("subject_token_type")
        .map(String::as_str)
        .unwrap_or("");
    if subject_type != TYPE_JWT && subject_type != TYPE_ACCESS_TOKEN {
        return Err(err("invalid_request", "unsupported subject_token_type"));
    }
    let subject_token = form.get("subject_token").map(String::as_str).unwrap_or("");
    let subject = idp
        .keys
        .verify(subject_token, idp.issuer(), &[])
        .map_err(|e| err("invalid_grant", format!("subject_token: {e}")))?;
    let actor_sub = match form.get("actor_token") {
        Some(actor_token) => {
            if form.get("actor_token_type").map(String::as_str) != Some(TYPE_ACCESS_TOKEN)
                && form.get("actor_token_type").map(String::as_str) != Some(TYPE_JWT)
            {
                return Err(err(
                    "invalid_request",
                    "actor_token_type is missing or unsupported",
                ));
            }
            let actor = idp
                .keys
                .verify(actor_token, idp.issuer(), &[])
                .map_err(|e| err("invalid_grant", format!("actor_token: {e}")))?;
            actor["sub"].as_str().unwrap_or_default().to_owned()
        }
        None => client.map(str::to_owned).ok_or_else(|| {
            err(
                "invalid_request",
                "an actor_token or client authentication is required",
            )
        })?,
    };
    if let Some(allowed) = subject
        .get("may_act")
        .and_then(|m| m.get("sub"))
        .and_then(Value::as_str)
        && allowed != actor_sub
    {
        return Err(err(
            "invalid_grant",
            format!("may_act does not allow actor '{actor_sub}'"),
        ));
    }
    let mut act = json!({ "sub": actor_sub });
    if let Some(prior) = subject.get("act") {
        act["act"] = prior.clone();
    }
    let sub = subject["sub"].as_str().unwrap_or_default();
    let scope = form.get("scope").cloned().unwrap_or_default();
    let at = idp
        .issue_access_token(sub, client, &scope, &audience(form, client), Some(act))
        .map_err(|e| err("server_error", e.to_string()))?;
    Ok(token_response(idp, at, &scope, None, true))
}
